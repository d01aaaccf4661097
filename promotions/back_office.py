"""The member page's tier panel (memberships.hooks): the tier, the status points in the qualification
window and what the next tier takes, in points."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from ledger.amounts import show_points
from loyalty.configuration import cached
from loyalty.models import Program
from promotions.models import Channel
from promotions.tiers import standing


def tier_panel(membership: Any, request: Any) -> dict[str, Any] | None:
    if membership.status in ("cancelled", "merged"):
        return None
    result = standing(membership)
    if result.point_type is None or result.window_start is None:  # no tiers, or no status point type
        return None
    precision = result.point_type.precision
    earned = result.status_points
    goal = earned + result.to_next if result.next_tier is not None and result.to_next is not None else None
    return {
        "tier": result.tier.name if result.tier else "No tier yet",
        "point_type": result.point_type.name,
        "status_points": show_points(earned, precision),
        "since": result.window_start.astimezone(ZoneInfo(Program.current().time_zone)),
        "next_tier": result.next_tier.name if result.next_tier else None,
        "to_next": show_points(result.to_next, precision) if result.to_next is not None else None,
        "to_keep": show_points(result.to_keep, precision) if result.to_keep else None,
        "percent": min(100, round(100 * earned / goal)) if goal else 100,
        "below_since": membership.tier_below_since,
    }


def channel_known(key: str) -> bool:
    """For the memberships app's enrollment check: the catalog's channel keys, cached per process
    and configuration generation (loyalty.configuration), so an import of many members asks once."""
    return key in cached("channel keys", lambda: set(Channel.objects.values_list("key", flat=True)))
