"""The dashboard's figures: each app's selectors, read for one period and optionally one sponsor.

Figures over time come from the daily summaries (loyalty.rollups) plus today's rows read live; the
member counts read the memberships table in one pass; nothing reads the ledger's postings in bulk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from imports.models import ImportBatch
from imports.selectors import batches_needing_attention
from ledger.models import PointType
from ledger.selectors import points_ahead, points_per_day
from loyalty.models import AuditEntry, Sponsor, Tier
from loyalty.rollups import day_start
from loyalty.selectors import audit_entries
from memberships.selectors import enrollments_per_day, member_counts
from promotions.models import Channel
from promotions.selectors import budgets_of
from transactions.selectors import buyers, points_by_promotion, sales_between
from vouchers.selectors import issued_and_converted

PERIODS = {"7d": "Last 7 days", "30d": "Last 30 days", "90d": "Last 90 days", "12m": "Last 12 months"}
DEFAULT_PERIOD = "30d"
TOP_PROMOTIONS = 5
RECENT_ACTIONS = 10


@dataclass(frozen=True)
class Period:
    """Whole days of the program's time zone, the last one today; 12 months start on a month's first."""

    key: str
    label: str
    first: date
    last: date
    tz: ZoneInfo

    @property
    def start_at(self) -> datetime:
        return day_start(self.first, self.tz)

    @property
    def end_at(self) -> datetime:
        return day_start(self.last + timedelta(days=1), self.tz)

    @property
    def monthly(self) -> bool:
        return self.key == "12m"

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def period_of(key: str, now: datetime, tz: ZoneInfo) -> Period:
    key = key if key in PERIODS else DEFAULT_PERIOD
    today = now.astimezone(tz).date()
    if key == "12m":
        month = today.year * 12 + today.month - 1 - 11
        first = date(month // 12, month % 12 + 1, 1)
    else:
        first = today - timedelta(days=int(key[:-1]) - 1)
    return Period(key=key, label=PERIODS[key], first=first, last=today, tz=tz)


@dataclass
class Figures:
    period: Period
    point_type: PointType
    sponsor: Sponsor | None
    members: dict[str, Any]
    buyers: int
    enrollments: dict[date, int]
    flows: dict[date, dict[str, int]]
    owed_before: dict[int, int]
    owed_change: dict[date, dict[int, int]]
    ahead: dict[str, Any]
    sales_per_day: dict[date, dict[str, Any]]
    channels: list[dict[str, Any]]
    promotions: list[dict[str, Any]]
    vouchers: dict[str, int]
    imports: list[ImportBatch]
    recent: list[AuditEntry]
    names: dict[str, dict[Any, Any]] = field(default_factory=dict)


def dashboard_choices() -> tuple[list[Sponsor], list[PointType]]:
    """What the dashboard can be narrowed to: sponsors, and the point types with the main one first."""
    sponsors = list(Sponsor.objects.order_by("name"))
    point_types = sorted(PointType.objects.filter(active=True), key=lambda p: (not p.is_main, p.name))
    return sponsors, point_types


def figures(period: Period, point_type: PointType, sponsor: Sponsor | None, now: datetime) -> Figures:
    sponsor_id = sponsor.pk if sponsor else None
    flows, owed_before, owed_change = points_per_day(period.first, period.last, point_type.pk, sponsor_id, period.tz)
    per_day, channels = sales_between(period.first, period.last, sponsor_id, period.tz)
    given = points_by_promotion(period.first, period.last, sponsor_id, period.tz)
    promotions = [p for p in given if p["point_type"] == point_type.key][:TOP_PROMOTIONS]
    budgets = budgets_of([p["promotion_key"] for p in promotions])
    for promo in promotions:
        promo.update(budgets.get(promo["promotion_key"], {"name": promo["promotion_key"], "budget": None, "used": 0}))
    members = member_counts(period.start_at, period.end_at, sponsor_id)
    return Figures(
        period=period,
        point_type=point_type,
        sponsor=sponsor,
        members=members,
        buyers=buyers(period.start_at, period.end_at, sponsor_id),
        enrollments=enrollments_per_day(period.start_at, period.end_at, period.tz, sponsor_id),
        flows=flows,
        owed_before=owed_before,
        owed_change=owed_change,
        ahead=points_ahead(now, point_type.pk, sponsor_id),
        sales_per_day=per_day,
        channels=channels,
        promotions=promotions,
        vouchers=issued_and_converted(period.start_at, period.end_at, sponsor_id),
        imports=batches_needing_attention(period.start_at),
        recent=list(audit_entries()[:RECENT_ACTIONS]),
        names={
            "sponsors": dict(Sponsor.objects.values_list("pk", "name")),
            "tiers": dict(Tier.objects.values_list("pk", "name")),
            "channels": dict(Channel.objects.values_list("key", "name")),
        },
    )
