"""Export template of the vouchers app."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from imports.exports import ExportTemplate, register_export
from loyalty.api.serializers import StrictInputSerializer
from vouchers.models import Voucher, VoucherStatus

FIELDS = [
    ("token", "token"),
    ("voucherType", "voucher_type__key"),
    ("status", "status"),
    ("recipient", "recipient__number"),
    ("usesTotal", "uses_total"),
    ("usesLeft", "uses_left"),
    ("validFrom", "valid_from"),
    ("validUntil", "valid_until"),
    ("issuedAt", "issued_at"),
    ("source", "source"),
    ("reference", "reference"),
    ("revokedAt", "revoked_at"),
]


class VoucherExportFilters(StrictInputSerializer):
    voucher_type = serializers.CharField(required=False, max_length=40, help_text="A voucher type key.")
    status = serializers.ChoiceField(choices=VoucherStatus.choices, required=False)
    recipient = serializers.CharField(required=False, max_length=100, help_text="A membership number.")
    since = serializers.DateTimeField(required=False, help_text="Issued at or after.")
    until = serializers.DateTimeField(required=False, help_text="Issued before.")


def _queryset(filters: dict[str, Any]):
    qs = Voucher.objects.all()
    for name, path in (("voucher_type", "voucher_type__key"), ("status", "status"), ("recipient", "recipient__number")):
        if filters.get(name):
            qs = qs.filter(**{path: filters[name]})
    if filters.get("since"):
        qs = qs.filter(issued_at__gte=filters["since"])
    if filters.get("until"):
        qs = qs.filter(issued_at__lt=filters["until"])
    return qs


def rows(filters: dict[str, Any], ordering: list[str]):
    return _queryset(filters).order_by(*ordering).values_list(*[p for _, p in FIELDS]).iterator(chunk_size=2000)


register_export(
    ExportTemplate(
        key="vouchers",
        title="Vouchers",
        description="Issued vouchers with their status, recipient and validity.",
        columns=[name for name, _ in FIELDS],
        rows=rows,
        filters=VoucherExportFilters,
        sort={"issuedAt": ["issued_at", "id"], "-issuedAt": ["-issued_at", "-id"], "token": ["token"]},
        default_sort="issuedAt",
        count=lambda filters: _queryset(filters).count(),
    )
)
