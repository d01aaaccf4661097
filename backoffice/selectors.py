"""The dashboard's figures: each app's selectors, read for one period and optionally one sponsor.

Figures over time come from the daily summaries (loyalty.rollups) plus today's rows read live; the
member counts read the memberships table in one pass; nothing reads the ledger's postings in bulk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from imports.models import ImportBatch
from imports.selectors import batches_needing_attention
from ledger.models import PointType
from ledger.selectors import blocked_per_day, points_ahead, points_per_day
from loyalty.models import AuditEntry, Sponsor, Tier
from loyalty.rollups import PERIODS, Period, period_of  # noqa: F401 - the dashboard's periods
from loyalty.selectors import audit_entries
from memberships.selectors import enrollments_per_day, member_counts
from promotions.models import Channel
from promotions.selectors import budgets_of
from transactions.selectors import buyers, points_by_promotion, sales_between
from vouchers.selectors import issued_and_converted

TOP_PROMOTIONS = 5
RECENT_ACTIONS = 10


@dataclass
class Figures:
    period: Period
    point_type: PointType
    sponsor: Sponsor | None
    members: dict[str, Any]
    buyers: int
    buyers_as_of: datetime
    enrollments: dict[date, int]
    flows: dict[date, dict[str, int]]
    owed_before: dict[int, int]
    owed_change: dict[date, dict[int, int]]
    blocked_before: int
    blocked_change: dict[date, int]
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
    blocked_before, blocked_change = blocked_per_day(period.first, period.last, point_type.pk, sponsor_id, period.tz)
    per_day, channels = sales_between(period.first, period.last, sponsor_id, period.tz)
    given = points_by_promotion(period.first, period.last, sponsor_id, period.tz)
    promotions = [p for p in given if p["point_type"] == point_type.key][:TOP_PROMOTIONS]
    budgets = budgets_of([p["promotion_key"] for p in promotions])
    for promo in promotions:
        promo.update(budgets.get(promo["promotion_key"], {"name": promo["promotion_key"], "budget": None, "used": 0}))
    members = member_counts(period.start_at, period.end_at, sponsor_id, now)
    buyers_count, buyers_as_of = buyers(period, sponsor_id, now)
    return Figures(
        period=period,
        point_type=point_type,
        sponsor=sponsor,
        members=members,
        buyers=buyers_count,
        buyers_as_of=buyers_as_of,
        enrollments=enrollments_per_day(period.start_at, period.end_at, period.tz, sponsor_id),
        flows=flows,
        owed_before=owed_before,
        owed_change=owed_change,
        blocked_before=blocked_before,
        blocked_change=blocked_change,
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
