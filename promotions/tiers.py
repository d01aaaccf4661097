"""The tier engine: status points in a window qualify members for tiers.

Upgrades happen at once (after each booking); downgrades only at the scheduled assessment, after the
program's grace period of being under-qualified.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.utils import timezone

from ledger.amounts import to_minor
from ledger.models import Account, Booking, PointType, Posting
from loyalty.actors import Actor
from loyalty.models import Program, Tier
from loyalty.prepared import server_cursor
from memberships.models import Membership

COUNTED = [Booking.Kind.EARN, Booking.Kind.REVERSAL, Booking.Kind.ADJUST, Booking.Kind.MERGE]


@dataclass(frozen=True)
class TierStanding:
    tier: Tier | None
    qualified: Tier | None
    status_points: int
    point_type: PointType | None
    window_start: datetime | None
    next_tier: Tier | None
    to_next: int | None  # minor units still needed to reach the next tier
    to_keep: int | None  # minor units still needed to keep the current tier


def tier_point_type() -> PointType | None:
    from ledger.services.core import point_types_by_key

    return next((pt for pt in point_types_by_key().values() if pt.counts_for_tiers), None)


def all_tiers() -> list[Tier]:
    """By rank: cached per process and configuration generation, copied once per unit of work."""
    from loyalty.configuration import cached, copies
    from loyalty.memo import memoized

    load = lambda: dict(enumerate(Tier.objects.order_by("rank")))  # noqa: E731
    return memoized("tiers", lambda: list(copies(cached("tiers", load)).values()))


def window_start(at: datetime, tiers: list[Tier]) -> datetime:
    program = Program.current()
    local = at.astimezone(ZoneInfo(program.time_zone))
    if program.tier_window == "calendar_year":
        return local.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    months = max((t.qualification_window_months for t in tiers), default=12)
    from ledger.services.core import _add_months

    return _add_months(local, -months)


def status_points(membership: Any, point_type: PointType, since: datetime) -> int:
    """The status points of the member and of every membership merged into it, transitively (their
    history is its history: memberships.selectors.membership_and_merged_ids), in one query: every
    booking that counts for tiers asks this."""
    kinds = ", ".join(["%s"] * len(COUNTED))
    # The member kind written out, not a parameter, so the partial unique index on member accounts
    # (membership, point type) serves a prepared statement's generic plan; the ids of the merged
    # memberships as an array on PostgreSQL (ANY), so the planner looks the accounts up by that
    # index instead of scanning every account of the point type and joining.
    postgresql = connection.vendor == "postgresql"
    merged = "= ANY(ARRAY(SELECT id FROM merged))" if postgresql else "IN (SELECT id FROM merged)"
    sql = f"""
        WITH RECURSIVE merged(id) AS (
            SELECT CAST(%s AS BIGINT)
            UNION SELECT m.id FROM {Membership._meta.db_table} m JOIN merged ON m.merged_into_id = merged.id
        )
        SELECT SUM(p.amount) FROM {Account._meta.db_table} a
        JOIN {Posting._meta.db_table} p ON p.account_id = a.id
        JOIN {Booking._meta.db_table} b ON b.id = p.booking_id
        WHERE a.kind = '{Account.Kind.MEMBER}' AND a.point_type_id = %s
          AND a.membership_id {merged}
          AND b.effective_at >= %s AND b.kind IN ({kinds})
    """  # noqa: S608 - table names and the member kind from the models, values as parameters
    params = [membership.pk, point_type.pk, connection.ops.adapt_datetimefield_value(since)]
    with server_cursor() as cursor:  # prepared on PostgreSQL: planning it cost more than running it
        cursor.execute(sql, [*params, *COUNTED])
        (total,) = cursor.fetchone()
    return int(total or 0)


def standing(membership: Any, at: datetime | None = None) -> TierStanding:
    moment = at or timezone.now()
    tiers = all_tiers()
    point_type = tier_point_type()
    current = next((t for t in tiers if t.pk == membership.tier_id), None)  # the cached tiers: no query
    if point_type is None or not tiers:
        return TierStanding(current, None, 0, point_type, None, None, None, None)
    since = window_start(moment, tiers)
    points = status_points(membership, point_type, since)
    thresholds = {t.pk: to_minor(t.qualification_threshold, point_type.precision) for t in tiers}
    qualified = None
    for tier in tiers:
        if points >= thresholds[tier.pk]:
            qualified = tier
    reference = current or qualified
    higher = [t for t in tiers if reference is None or t.rank > reference.rank]
    next_tier = higher[0] if higher else None
    return TierStanding(
        tier=current,
        qualified=qualified,
        status_points=points,
        point_type=point_type,
        window_start=since,
        next_tier=next_tier,
        to_next=max(0, thresholds[next_tier.pk] - points) if next_tier else None,
        to_keep=max(0, thresholds[current.pk] - points) if current else None,
    )


def upgrade_if_qualified(membership: Any, *, actor: Actor, at: datetime | None = None) -> bool:
    """Called in the booking's transaction: a member who crossed a threshold moves up at once."""
    from memberships.services.tiers import change_tier

    tiers = all_tiers()
    if not tiers or (membership.tier_id is not None and membership.tier_id == tiers[-1].pk):
        return False  # nothing above
    result = standing(membership, at)
    if result.qualified and (result.tier is None or result.qualified.rank > result.tier.rank):
        change_tier(membership=membership, tier=result.qualified, reason="upgrade", actor=actor)
        return True
    return False


def assess(membership: Any, *, actor: Actor, at: datetime | None = None) -> str:
    """The scheduled assessment of one member: upgrade, start or continue grace, or downgrade."""
    from memberships.services.tiers import change_tier, mark_below_tier

    moment = at or timezone.now()
    result = standing(membership, moment)
    current, qualified = result.tier, result.qualified
    if qualified and (current is None or qualified.rank > current.rank):
        change_tier(membership=membership, tier=qualified, reason="upgrade", actor=actor)
        return "upgraded"
    if current is None or (qualified and qualified.rank >= current.rank):
        if membership.tier_below_since:
            mark_below_tier(membership=membership, since=None)
        return "kept"
    grace = timedelta(days=Program.current().tier_grace_days)
    if membership.tier_below_since is None:
        mark_below_tier(membership=membership, since=moment)
        if grace:
            return "grace"
    elif moment - membership.tier_below_since < grace:
        return "grace"
    change_tier(membership=membership, tier=qualified, reason="downgrade", actor=actor)
    return "downgraded"


def assess_all(*, actor: Actor, at: datetime | None = None, batch_size: int = 1000) -> dict[str, int]:
    from memberships.models import Membership

    counts: dict[str, int] = {}
    qs = Membership.objects.filter(status__in=["active", "anonymous"]).select_related("tier").order_by("pk")
    last = 0
    while True:
        batch = list(qs.filter(pk__gt=last)[:batch_size])
        if not batch:
            return counts
        for membership in batch:
            outcome = assess(membership, actor=actor, at=at)
            counts[outcome] = counts.get(outcome, 0) + 1
        last = batch[-1].pk


def standing_summary(membership: Any) -> dict[str, Any] | None:
    """What the member's details show: status points in the window, what the next tier takes."""
    from ledger.amounts import to_points

    result = standing(membership)
    if result.point_type is None or result.window_start is None:  # no tiers or no status point type
        return None
    show = lambda minor: None if minor is None else to_points(minor, result.point_type.precision)  # noqa: E731
    return {
        "tier": result.tier.key if result.tier else None,
        "qualified_tier": result.qualified.key if result.qualified else None,
        "point_type": result.point_type.key,
        "status_points": show(result.status_points),
        "window_start": result.window_start,
        "next_tier": result.next_tier.key if result.next_tier else None,
        "points_to_next_tier": show(result.to_next),
        "points_to_keep_tier": show(result.to_keep),
        "below_tier_since": membership.tier_below_since,
    }
