"""Reads of the ledger: balances, statements, liability."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from ledger.models import Account, Booking, Lot, PointType, Posting
from ledger.rollups import DAILY_BLOCKED, DAILY_POINTS, POINTS_AHEAD
from loyalty import rollups
from memberships.selectors import membership_and_merged_ids


@dataclass(frozen=True)
class Balance:
    point_type: PointType
    balance: int
    blocked: int
    redeemable: int


def balance_of(membership: Any, point_type: PointType, at: datetime | None = None) -> Balance:
    moment = at or timezone.now()
    account = Account.objects.filter(kind=Account.Kind.MEMBER, membership=membership, point_type=point_type).first()
    if account is None:
        return Balance(point_type, 0, 0, 0)
    lots = Lot.objects.filter(account=account).exclude(remaining=0)
    totals = lots.aggregate(
        blocked=Sum("remaining", filter=Q(state=Lot.State.ACTIVE, matures_at__gt=moment)),
        spendable=Sum(
            "remaining",
            filter=Q(state=Lot.State.ACTIVE, matures_at__lte=moment)
            & (Q(expires_at__isnull=True) | Q(expires_at__gt=moment)),
        ),
        debt=Sum("remaining", filter=Q(state=Lot.State.DEBT)),
    )
    blocked = totals["blocked"] or 0
    redeemable = max(0, (totals["spendable"] or 0) + (totals["debt"] or 0)) if point_type.redeemable else 0
    return Balance(point_type, account.balance, blocked, redeemable)


def balances_of(membership: Any) -> list[Balance]:
    """One balance per point type the program has, in a constant number of queries."""
    moment = timezone.now()
    point_types = list(PointType.objects.filter(active=True).order_by("-is_main", "key"))
    accounts = {
        a.point_type_id: a
        for a in Account.objects.filter(kind=Account.Kind.MEMBER, membership=membership, point_type__in=point_types)
    }
    rows = (
        Lot.objects.filter(account__in=accounts.values())
        .exclude(remaining=0)
        .values("account__point_type_id")
        .annotate(
            blocked=Sum("remaining", filter=Q(state=Lot.State.ACTIVE, matures_at__gt=moment)),
            spendable=Sum(
                "remaining",
                filter=Q(state=Lot.State.ACTIVE, matures_at__lte=moment)
                & (Q(expires_at__isnull=True) | Q(expires_at__gt=moment)),
            ),
            debt=Sum("remaining", filter=Q(state=Lot.State.DEBT)),
        )
    )
    sums = {row["account__point_type_id"]: row for row in rows}
    result = []
    for point_type in point_types:
        account, row = accounts.get(point_type.pk), sums.get(point_type.pk, {})
        spendable = (row.get("spendable") or 0) + (row.get("debt") or 0)
        result.append(
            Balance(
                point_type,
                account.balance if account else 0,
                row.get("blocked") or 0,
                max(0, spendable) if point_type.redeemable else 0,
            )
        )
    return result


def account_summaries(membership: Any) -> list:
    from memberships.hooks import AccountSummary

    def dec(minor: int, precision: int) -> Decimal:
        return Decimal(minor).scaleb(-precision).quantize(Decimal(1).scaleb(-precision))

    return [
        AccountSummary(
            point_type=b.point_type.key,
            name=b.point_type.name,
            redeemable_type=b.point_type.redeemable,
            balance=dec(b.balance, b.point_type.precision),
            blocked=dec(b.blocked, b.point_type.precision),
            redeemable=dec(b.redeemable, b.point_type.precision),
        )
        for b in balances_of(membership)
    ]


# Statement -----------------------------------------------------------------------------------


def statement_accounts(membership: Any, point_type: PointType) -> list[int]:
    return list(
        Account.objects.filter(
            kind=Account.Kind.MEMBER, membership_id__in=membership_and_merged_ids(membership), point_type=point_type
        ).values_list("pk", flat=True)
    )


def statement_postings(account_ids: list[int], start: datetime | None, end: datetime | None) -> QuerySet[Posting]:
    qs = Posting.objects.filter(account_id__in=account_ids)
    if start:
        qs = qs.filter(booking__created_at__gte=start)
    if end:
        qs = qs.filter(booking__created_at__lt=end)
    return qs.select_related("booking", "booking__sponsor")


def sum_postings(account_ids: list[int], **filters: Any) -> int:
    return Posting.objects.filter(account_id__in=account_ids, **filters).aggregate(s=Sum("amount"))["s"] or 0


def blocked_lots(account_ids: list[int], at: datetime) -> list[dict[str, Any]]:
    rows = (
        Lot.objects.filter(account_id__in=account_ids, state=Lot.State.ACTIVE, remaining__gt=0, matures_at__gt=at)
        .values("matures_at")
        .annotate(amount=Sum("remaining"))
        .order_by("matures_at")
    )
    return list(rows)


def expiring_by_month(account_ids: list[int], at: datetime, months: int, tz) -> list[dict[str, Any]]:
    """Points expiring in each of the next `months` months (program time), soonest first."""
    from ledger.services.core import _add_months

    local = at.astimezone(tz)
    until = _add_months(local.replace(day=1, hour=0, minute=0, second=0, microsecond=0), months + 1)
    lots = Lot.objects.filter(
        account_id__in=account_ids, state=Lot.State.ACTIVE, remaining__gt=0, expires_at__gt=at, expires_at__lt=until
    ).values_list("expires_at", "remaining")
    buckets: dict[str, int] = defaultdict(int)
    for expires_at, remaining in lots:
        buckets[expires_at.astimezone(tz).strftime("%Y-%m")] += remaining
    return [{"month": month, "amount": amount} for month, amount in sorted(buckets.items())]


# Liability -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Liability:
    sponsor_key: str
    sponsor_name: str
    point_type: PointType
    issued: int
    redeemed: int
    expired: int
    forfeited: int
    adjusted: int
    outstanding: int


def sponsor_liability(start: datetime | None = None, end: datetime | None = None) -> list[Liability]:
    """Per sponsor and point type: what it issued, what was redeemed, expired, forfeited, adjusted
    in the period, and what it owes at the period's end (outstanding)."""
    from loyalty.models import Sponsor

    period = Q()
    if start:
        period &= Q(booking__created_at__gte=start)
    if end:
        period &= Q(booking__created_at__lt=end)
    upto = Q(booking__created_at__lt=end) if end else Q()
    rows = (
        Posting.objects.filter(account__kind__in=[k for k in Account.Kind.values if k != "member"])
        .values("account__sponsor_id", "account__point_type_id", "account__kind")
        .annotate(in_period=Sum("amount", filter=period), until_end=Sum("amount", filter=upto))
    )
    table: dict[tuple[int, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        cell = table[(row["account__sponsor_id"], row["account__point_type_id"])]
        cell[row["account__kind"]] += row["in_period"] or 0
        cell["outstanding"] -= row["until_end"] or 0
    sponsors = Sponsor.objects.in_bulk([s for s, _ in table])
    point_types = PointType.objects.in_bulk([p for _, p in table])
    result = []
    for (sponsor_id, point_type_id), cell in sorted(table.items()):
        sponsor = sponsors[sponsor_id]
        result.append(
            Liability(
                sponsor_key=sponsor.key,
                sponsor_name=sponsor.name,
                point_type=point_types[point_type_id],
                issued=-cell["issued"],
                redeemed=cell["redeemed"],
                expired=cell["expired"],
                forfeited=cell["forfeited"],
                adjusted=-cell["adjusted"],
                outstanding=cell["outstanding"],
            )
        )
    return result


def booking_by_receipt(receipt_id: str) -> Booking | None:
    return Booking.objects.filter(receipt_id=receipt_id).first()


# What a day's postings on each kind of system account mean for the dashboard, in points (sign fixed):
# earned = issued to members, redeemed, expired, forfeited; adjusted = net given by adjustments.
FLOW_SIGNS = {"issued": -1, "redeemed": 1, "expired": 1, "forfeited": 1, "adjusted": -1}


def points_per_day(
    start: date, end: date, point_type_id: int, sponsor_id: int | None = None, tz: ZoneInfo | None = None
) -> tuple[dict[date, dict[str, int]], dict[int, int], dict[date, dict[int, int]]]:
    """For one point type over the days start..end, from the daily summary:
    - flows per day: {day: {issued, redeemed, expired, forfeited, adjusted}} in minor units, signs fixed;
    - what each sponsor owed when the period began ({sponsor id: minor units});
    - the change of each sponsor's liability per day ({day: {sponsor id: minor units}}).
    """
    filters: dict[str, Any] = {"point_type_id": point_type_id}
    if sponsor_id is not None:
        filters["sponsor_id"] = sponsor_id
    flows: dict[date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FLOW_SIGNS, 0))
    owed_change: dict[date, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for row in rollups.read(DAILY_POINTS, start, end, tz=tz, **filters):
        flows[row["day"]][row["kind"]] += FLOW_SIGNS[row["kind"]] * row["amount"]
        owed_change[row["day"]][row["sponsor_id"]] -= row["amount"]
    owed_before: dict[int, int] = defaultdict(int)
    for row in rollups.read(DAILY_POINTS, None, start - timedelta(days=1), by_day=False, tz=tz, **filters):
        owed_before[row["sponsor_id"]] -= row["amount"]
    return dict(flows), dict(owed_before), {day: dict(change) for day, change in owed_change.items()}


def blocked_per_day(
    start: date, end: date, point_type_id: int, sponsor_id: int | None = None, tz: ZoneInfo | None = None
) -> tuple[int, dict[date, int]]:
    """Points of one type (optionally issued by one sponsor) blocked when the period began, and how the
    blocked points changed on each day start..end (minor units), from the daily summary."""
    filters: dict[str, Any] = {"point_type_id": point_type_id}
    if sponsor_id is not None:
        filters["sponsor_id"] = sponsor_id
    change: dict[date, int] = defaultdict(int)
    for row in rollups.read(DAILY_BLOCKED, start, end, tz=tz, **filters):
        change[row["day"]] += row["change"]
    before = sum(
        row["change"]
        for row in rollups.read(DAILY_BLOCKED, None, start - timedelta(days=1), by_day=False, tz=tz, **filters)
    )
    return before, dict(change)


def points_ahead(now: datetime, point_type_id: int, sponsor_id: int | None = None) -> dict[str, Any]:
    """Points of one type (optionally issued by one sponsor) that expire within 30 and 90 days, and those
    still blocked with when the last is released, as of the hourly snapshot (`as_of`), or computed now
    when there is no recent one."""
    rows, as_of = rollups.snapshot_value(POINTS_AHEAD, now)
    mine = [r for r in rows if r["point_type"] == point_type_id and sponsor_id in (None, r["sponsor"])]
    until = max((r["blocked_until"] for r in mine if r["blocked_until"]), default=None)
    return {
        "expiring": {30: sum(r["within_30"] for r in mine), 90: sum(r["within_90"] for r in mine)},
        "blocked": sum(r["blocked"] for r in mine),
        "blocked_until": datetime.fromisoformat(until) if until else None,
        "as_of": as_of,
    }
