"""Export templates of the ledger: bookings (statement lines), sponsor liability, expiry forecast."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from rest_framework import serializers

from imports.exports import ExportTemplate, register_export
from ledger.models import Account, Booking, Lot, PointType, Posting
from ledger.selectors import sponsor_liability
from loyalty.api.serializers import StrictInputSerializer


def _points(minor: int | None, precision: int) -> str:
    return str(Decimal(minor or 0).scaleb(-precision).quantize(Decimal(1).scaleb(-precision)))


# Bookings ----------------------------------------------------------------------------------------


class BookingExportFilters(StrictInputSerializer):
    since = serializers.DateTimeField(required=False, help_text="Booked at or after.")
    until = serializers.DateTimeField(required=False, help_text="Booked before.")
    membership = serializers.CharField(required=False, max_length=100, help_text="A membership number.")
    point_type = serializers.CharField(required=False, max_length=40, help_text="A point type key.")
    kind = serializers.ChoiceField(choices=Booking.Kind.choices, required=False)
    sponsor = serializers.CharField(required=False, max_length=40, help_text="A sponsor key.")


BOOKING_FIELDS = [
    ("bookingId", "booking_id"),
    ("receiptId", "booking__receipt_id"),
    ("kind", "booking__kind"),
    ("createdAt", "booking__created_at"),
    ("membershipNumber", "account__membership__number"),
    ("pointType", "account__point_type__key"),
    ("points", "amount"),
    ("sponsor", "booking__sponsor__key"),
    ("txId", "booking__tx_id"),
    ("reason", "booking__reason"),
    ("reference", "booking__reference"),
]


def _postings(filters: dict[str, Any]):
    qs = Posting.objects.filter(account__kind=Account.Kind.MEMBER)
    if filters.get("since"):
        qs = qs.filter(booking__created_at__gte=filters["since"])
    if filters.get("until"):
        qs = qs.filter(booking__created_at__lt=filters["until"])
    for name, path in (
        ("membership", "account__membership__number"),
        ("point_type", "account__point_type__key"),
        ("kind", "booking__kind"),
        ("sponsor", "booking__sponsor__key"),
    ):
        if filters.get(name):
            qs = qs.filter(**{path: filters[name]})
    return qs


def booking_rows(filters: dict[str, Any], ordering: list[str]):
    precisions = dict(PointType.objects.values_list("key", "precision"))
    position = [path for _, path in BOOKING_FIELDS].index("amount")
    qs = _postings(filters).order_by(*ordering).values_list(*[path for _, path in BOOKING_FIELDS])
    for row in qs.iterator(chunk_size=2000):
        row = list(row)
        row[position] = _points(row[position], precisions.get(row[5], 0))
        yield row


register_export(
    ExportTemplate(
        key="bookings",
        title="Bookings (statement lines)",
        description="Every posting on a member account: one statement line per booking and member account.",
        columns=[name for name, _ in BOOKING_FIELDS],
        rows=booking_rows,
        filters=BookingExportFilters,
        sort={"createdAt": ["booking__created_at", "id"], "-createdAt": ["-booking__created_at", "-id"]},
        default_sort="createdAt",
        count=lambda filters: _postings(filters).count(),
    )
)


# Sponsor liability -------------------------------------------------------------------------------


class PeriodFilters(StrictInputSerializer):
    since = serializers.DateTimeField(required=False, help_text="Start of the period.")
    until = serializers.DateTimeField(required=False, help_text="End of the period (exclusive).")


def liability_rows(filters: dict[str, Any], ordering: list[str]):
    for item in sponsor_liability(filters.get("since"), filters.get("until")):
        p = item.point_type.precision
        yield [
            item.sponsor_key,
            item.sponsor_name,
            item.point_type.key,
            _points(item.issued, p),
            _points(item.redeemed, p),
            _points(item.expired, p),
            _points(item.forfeited, p),
            _points(item.adjusted, p),
            _points(item.outstanding, p),
        ]


register_export(
    ExportTemplate(
        key="sponsorLiability",
        title="Sponsor liability and settlement",
        description="Per sponsor and point type: issued, redeemed, expired, forfeited and adjusted in the period, "
        "and what it owes at the period's end (outstanding).",
        columns=[
            "sponsor",
            "sponsorName",
            "pointType",
            "issued",
            "redeemed",
            "expired",
            "forfeited",
            "adjusted",
            "outstanding",
        ],
        rows=liability_rows,
        filters=PeriodFilters,
        sort={"sponsor": []},
        default_sort="sponsor",
    )
)


# Expiry forecast ---------------------------------------------------------------------------------


class ExpiryFilters(StrictInputSerializer):
    months = serializers.IntegerField(required=False, min_value=1, max_value=60, default=12, help_text="Months ahead.")
    point_type = serializers.CharField(required=False, max_length=40, help_text="A point type key.")


def expiry_rows(filters: dict[str, Any], ordering: list[str]):
    now = timezone.now()
    until = now + timedelta(days=31 * filters.get("months", 12))
    qs = Lot.objects.filter(
        state=Lot.State.ACTIVE, remaining__gt=0, expires_at__gt=now, expires_at__lt=until, account__kind="member"
    )
    if filters.get("point_type"):
        qs = qs.filter(account__point_type__key=filters["point_type"])
    rows = (
        qs.annotate(month=TruncMonth("expires_at"))
        .values("month", "account__point_type__key", "account__point_type__precision")
        .annotate(amount=Sum("remaining"), lots=Count("id"), members=Count("account", distinct=True))
        .order_by("month", "account__point_type__key")
    )
    for row in rows:
        yield [
            row["month"].strftime("%Y-%m"),
            row["account__point_type__key"],
            _points(row["amount"], row["account__point_type__precision"]),
            row["lots"],
            row["members"],
        ]


register_export(
    ExportTemplate(
        key="expiryForecast",
        title="Expiry forecast",
        description="Points that will expire, per month (UTC) and point type, with lot and member counts.",
        columns=["month", "pointType", "points", "lots", "members"],
        rows=expiry_rows,
        filters=ExpiryFilters,
        sort={"month": []},
        default_sort="month",
    )
)
