"""Export template of the /tx flow: transactions with the rewards they earned."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Prefetch
from rest_framework import serializers

from imports.exports import ExportTemplate, register_export
from ledger.models import PointType
from loyalty.api.serializers import StrictInputSerializer
from transactions.models import Transaction, TransactionReward

COLUMNS = [
    "txId",
    "receiptId",
    "membershipNumber",
    "sponsor",
    "channel",
    "occurredAt",
    "totalAmount",
    "currency",
    "paymentMethod",
    "status",
    "points",
    "rewards",
]


class TransactionExportFilters(StrictInputSerializer):
    since = serializers.DateTimeField(required=False, help_text="Occurred at or after.")
    until = serializers.DateTimeField(required=False, help_text="Occurred before.")
    channel = serializers.CharField(required=False, max_length=60)
    sponsor = serializers.CharField(required=False, max_length=40, help_text="A sponsor key.")
    membership = serializers.CharField(required=False, max_length=100, help_text="A membership number.")
    status = serializers.ChoiceField(choices=Transaction.Status.choices, required=False)


def _queryset(filters: dict[str, Any]):
    qs = Transaction.objects.all()
    if filters.get("since"):
        qs = qs.filter(occurred_at__gte=filters["since"])
    if filters.get("until"):
        qs = qs.filter(occurred_at__lt=filters["until"])
    for name, path in (("channel", "channel"), ("sponsor", "sponsor__key"), ("membership", "membership__number")):
        if filters.get(name):
            qs = qs.filter(**{path: filters[name]})
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    return qs


def rows(filters: dict[str, Any], ordering: list[str]):
    precisions = dict(PointType.objects.values_list("key", "precision"))

    def points(minor: int, key: str) -> str:
        precision = precisions.get(key, 0)
        return str(Decimal(minor).scaleb(-precision).quantize(Decimal(1).scaleb(-precision)))

    qs = (
        _queryset(filters)
        .select_related("membership", "sponsor")
        .prefetch_related(Prefetch("rewards", TransactionReward.objects.order_by("id")))
        .order_by(*ordering)
    )
    for tx in qs.iterator(chunk_size=2000):
        totals: dict[str, int] = {}
        rewards = []
        for reward in tx.rewards.all():
            totals[reward.point_type] = totals.get(reward.point_type, 0) + reward.amount
            rewards.append(f"{reward.promotion_key}:{reward.point_type}:{points(reward.amount, reward.point_type)}")
        yield [
            tx.tx_id,
            tx.receipt_id,
            tx.membership.number,
            tx.sponsor.key,
            tx.channel,
            tx.occurred_at,
            tx.total_amount,
            tx.currency,
            tx.payment_method,
            tx.status,
            "|".join(f"{k}:{points(v, k)}" for k, v in sorted(totals.items())),
            "|".join(rewards),
        ]


register_export(
    ExportTemplate(
        key="transactions",
        title="Transactions with rewards",
        description="Booked transactions, the points they earned per point type, and each promotion's reward "
        "(`promotion:pointType:amount`, separated by `|`).",
        columns=COLUMNS,
        rows=rows,
        filters=TransactionExportFilters,
        sort={"occurredAt": ["occurred_at", "id"], "-occurredAt": ["-occurred_at", "-id"]},
        default_sort="occurredAt",
        count=lambda filters: _queryset(filters).count(),
    )
)
