"""Reads of the vouchers app: lookups by key and code, lists, history, per-type counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from vouchers.codes import normalize
from vouchers.errors import VoucherNotFound, VoucherTypeNotFound
from vouchers.models import Conversion, Voucher, VoucherStatus, VoucherType


def voucher_types() -> QuerySet[VoucherType]:
    return VoucherType.objects.select_related("sponsor", "point_type", "stock_row")


def voucher_type_by_key(key: str) -> VoucherType:
    usable = isinstance(key, str) and 0 < len(key) <= 40 and key.isprintable()
    voucher_type = voucher_types().filter(key=key).first() if usable else None
    if voucher_type is None:
        raise VoucherTypeNotFound(f"No voucher type has the key {key!r}.")
    return voucher_type


def vouchers() -> QuerySet[Voucher]:
    return Voucher.objects.select_related("voucher_type", "recipient", "point_type").order_by("-id")


def voucher_by_token(token: str) -> Voucher:
    code = normalize(token)
    voucher = vouchers().filter(token=code).first() if code else None
    if voucher is None:
        raise VoucherNotFound(f"No voucher has the code {token!r}.")
    return voucher


def with_status(queryset: QuerySet[Voucher], statuses: list[str], moment: datetime | None = None):
    """Filter by the status callers see: an issued voucher past its end counts as expired."""
    moment = moment or timezone.now()
    running = Q(valid_until__isnull=True) | Q(valid_until__gt=moment)
    conditions = {
        VoucherStatus.ISSUED: Q(status=VoucherStatus.ISSUED) & running,
        VoucherStatus.EXPIRED: Q(status=VoucherStatus.EXPIRED) | (Q(status=VoucherStatus.ISSUED) & ~running),
        VoucherStatus.CONVERTED: Q(status=VoucherStatus.CONVERTED),
        VoucherStatus.REVOKED: Q(status=VoucherStatus.REVOKED),
    }
    combined = Q()
    for status in statuses:
        combined |= conditions[status]
    return queryset.filter(combined)


def valid_at(queryset: QuerySet[Voucher], moment: datetime) -> QuerySet[Voucher]:
    """Vouchers whose validity covers `moment` (whatever their status)."""
    return queryset.filter(valid_from__lte=moment).filter(Q(valid_until__isnull=True) | Q(valid_until__gt=moment))


def history_of(voucher: Voucher) -> list[dict[str, Any]]:
    """Issued, each conversion (channel, transaction reference, member), then revoked or expired."""
    entries: list[dict[str, Any]] = [
        {
            "action": "issued",
            "at": voucher.issued_at,
            "membership": voucher.recipient.number if voucher.recipient else None,
            "channel": "",
            "reference": voucher.reference,
            "reason": voucher.source,
            "actor": voucher.actor_label,
        }
    ]
    for conversion in Conversion.objects.filter(voucher=voucher).select_related("membership").order_by("id"):
        entries.append(
            {
                "action": "converted",
                "at": conversion.converted_at,
                "membership": conversion.membership.number if conversion.membership else None,
                "channel": conversion.channel,
                "reference": conversion.reference,
                "reason": "",
                "actor": conversion.actor_label,
            }
        )
    if voucher.revoked_at:
        entries.append(
            {
                "action": "revoked",
                "at": voucher.revoked_at,
                "membership": None,
                "channel": "",
                "reference": voucher.refund_receipt_id,
                "reason": voucher.revoke_reason,
                "actor": "",
            }
        )
    elif voucher.status == VoucherStatus.EXPIRED or (
        voucher.status == VoucherStatus.ISSUED and voucher.valid_until and voucher.valid_until <= timezone.now()
    ):
        entries.append(
            {
                "action": "expired",
                "at": voucher.valid_until,
                "membership": None,
                "channel": "",
                "reference": "",
                "reason": "",
                "actor": "",
            }
        )
    return entries


def type_counts(type_ids: list[int] | None = None, moment: datetime | None = None) -> dict[int, dict[str, int]]:
    """Per type: vouchers ever issued, converted (used up), revoked, expired, and still open. One query."""
    moment = moment or timezone.now()
    running = Q(valid_until__isnull=True) | Q(valid_until__gt=moment)
    queryset = Voucher.objects.all()
    if type_ids is not None:
        queryset = queryset.filter(voucher_type_id__in=type_ids)
    rows = (
        queryset.values("voucher_type_id")
        .annotate(
            issued=Count("id"),
            converted=Count("id", filter=Q(status=VoucherStatus.CONVERTED)),
            revoked=Count("id", filter=Q(status=VoucherStatus.REVOKED)),
            expired=Count("id", filter=Q(status=VoucherStatus.EXPIRED) | (Q(status=VoucherStatus.ISSUED) & ~running)),
            open=Count("id", filter=Q(status=VoucherStatus.ISSUED) & running),
        )
        .order_by()
    )
    return {row.pop("voucher_type_id"): row for row in rows}


def stock_left(voucher_type: VoucherType) -> int | None:
    if voucher_type.stock is None:
        return None
    stock = getattr(voucher_type, "stock_row", None)
    return max(voucher_type.stock - (stock.issued if stock else 0), 0)


def issued_and_converted(start: datetime, end: datetime, sponsor_id: int | None = None) -> dict[str, int]:
    """Vouchers issued in [start, end), and uses (conversions) in it, optionally of one sponsor's types."""
    issued = Voucher.objects.filter(issued_at__gte=start, issued_at__lt=end)
    used = Conversion.objects.filter(converted_at__gte=start, converted_at__lt=end)
    if sponsor_id is not None:
        issued = issued.filter(voucher_type__sponsor_id=sponsor_id)
        used = used.filter(voucher__voucher_type__sponsor_id=sponsor_id)
    return {"issued": issued.count(), "converted": used.count()}
