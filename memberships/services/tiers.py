"""Tier changes. The tier engine (promotions.tiers) decides; these functions write, audit and announce."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from loyalty.actors import Actor
from loyalty.atomic import atomic
from loyalty.models import Tier
from loyalty.outbox import record_and_emit
from memberships import events
from memberships.models import Membership
from memberships.services.common import lock_membership


def change_tier(*, membership: Membership, tier: Tier | None, reason: str, actor: Actor) -> Membership:
    """Move a member to `tier` (None: no tier). The grace clock stops: the new tier is earned."""
    with atomic():  # no savepoint inside a booking's whole_or_nothing() (loyalty.atomic)
        return _change_tier(membership, tier, reason, actor)


def _change_tier(membership: Membership, tier: Tier | None, reason: str, actor: Actor) -> Membership:
    locked = lock_membership(membership)
    before = locked.tier
    if before == tier:
        return locked
    locked.tier = tier
    locked.tier_below_since = None
    locked.save(update_fields=["tier", "tier_below_since", "updated_at"])
    membership.tier, membership.tier_below_since = tier, None
    old, new = (before.key if before else None), (tier.key if tier else None)
    record_and_emit(
        actor,
        events.TIER_CHANGED,
        locked,
        changes={"tier": [old, new], "reason": reason},
        event_type=events.TIER_CHANGED,
        membership_number=locked.number,
        payload={"membershipNumber": locked.number, "from": old, "to": new, "reason": reason},
    )
    return locked


@transaction.atomic
def mark_below_tier(*, membership: Membership, since: datetime | None) -> Membership:
    """Start (or, with None, stop) the grace period of a member who no longer qualifies for their tier."""
    locked = lock_membership(membership)
    locked.tier_below_since = since
    locked.save(update_fields=["tier_below_since", "updated_at"])
    membership.tier_below_since = since
    return locked
