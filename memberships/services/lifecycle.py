"""Status changes: merge, cancel, reactivate, block and unblock.

Statuses: anonymous -> active (claim) -> cancelled (cancel) -> active (reactivate, admin only);
active or anonymous <-> blocked (admin); anonymous or active -> merged (merge, final).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from loyalty.actors import Actor
from loyalty.audit import record_audit
from loyalty.errors import InvalidInput
from loyalty.outbox import emit_event
from memberships import events, hooks
from memberships.errors import InvalidMerge, InvalidTransition, MembershipNotActive, MergeIntoSelf
from memberships.models import AlternateId, Card, DeactivationReason, Membership, MembershipStatus, Remark
from memberships.services.common import ensure_email_free, lock_membership, lock_memberships
from memberships.services.keys import move_claims

MERGEABLE = (MembershipStatus.ACTIVE, MembershipStatus.ANONYMOUS)
CANCELLABLE = (MembershipStatus.ACTIVE, MembershipStatus.ANONYMOUS, MembershipStatus.BLOCKED)


def _status_after_reopening(membership: Membership) -> str:
    return MembershipStatus.ACTIVE if membership.has_identity else MembershipStatus.ANONYMOUS


@transaction.atomic
def merge_memberships(*, source: Membership, target: Membership, actor: Actor) -> Membership:
    """Fold `source` into `target`: its cards, alternate ids and remarks (and its claims in the key
    space) move to the target, the registered merge hooks move what later apps keep (point accounts,
    lots, vouchers) in this same transaction, and the source becomes `merged`: its number resolves to
    the target from now on.

    Refused for a membership merged into itself (`merge_into_self`) and when either side is
    cancelled, blocked or already merged (`invalid_merge`).
    """
    if source.pk == target.pk:
        raise MergeIntoSelf(f"Membership {source.number} cannot be merged into itself.")
    source, target = lock_memberships(source, target)
    for role, member in (("source", source), ("target", target)):
        if member.status not in MERGEABLE:
            raise InvalidMerge(f"The {role} membership {member.number} is {member.status}: it cannot be merged.")

    cards = list(Card.objects.filter(membership=source).values_list("number", flat=True))
    alternate_ids = list(AlternateId.objects.filter(membership=source).values_list("type", "value"))
    merged_numbers = list(Membership.objects.filter(merged_into=source).values_list("number", flat=True))
    Card.objects.filter(membership=source).update(membership=target)
    AlternateId.objects.filter(membership=source).update(membership=target)
    remarks = Remark.objects.filter(membership=source).update(membership=target)
    # Keep every merge chain one step long: what was merged into the source now leads to the target.
    Membership.objects.filter(merged_into=source).update(merged_into=target)
    # The source's values of the key space are the target's now (its number leads there).
    move_claims(
        source=source, target=target, values=[source.number, *merged_numbers, *cards, *(v for _, v in alternate_ids)]
    )

    now = timezone.now()
    before = source.status
    source.status = MembershipStatus.MERGED
    source.merged_into = target
    source.merged_at = now
    source.save(update_fields=["status", "merged_into", "merged_at", "updated_at"])
    Remark.objects.create(
        membership=target,
        text=f"Membership {source.number} was merged into this one.",
        author=actor.label[:200],
        author_user=actor.user if actor.kind == "user" else None,
    )
    target.save(update_fields=["updated_at"])

    hooks.run_merge_hooks(source, target, actor)

    moved = {
        "cards": cards,
        "alternate_ids": [f"{t}:{v}" for t, v in alternate_ids],
        "remarks": remarks,
    }
    record_audit(
        actor,
        events.MEMBERSHIP_MERGED,
        source,
        changes={"status": [before, source.status], "merged_into": [None, target.number], **moved},
    )
    record_audit(actor, "membership.merge_received", target, changes={"merged_from": source.number, **moved})
    emit_event(
        events.MEMBERSHIP_MERGED,
        membership_number=source.number,
        payload={
            "membershipNumber": source.number,
            "mergedInto": target.number,
            "cards": cards,
            "alternateIds": [{"type": t, "value": v} for t, v in alternate_ids],
            "remarks": remarks,
        },
    )
    return target


@transaction.atomic
def cancel_membership(*, membership: Membership, reason: str, actor: Actor) -> Membership:
    """End a membership: its cards are deactivated, the cancel hooks settle what later apps hold
    (the ledger forfeits the points), and nothing is deleted. Only reactivation in the admin
    opens it again."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            "Give a reason for the cancellation.",
            errors=[{"field": "reason", "code": "blank", "message": "This field may not be blank."}],
        )
    if len(reason) > 500:
        raise InvalidInput(
            "The reason is too long.",
            errors=[{"field": "reason", "code": "max_length", "message": "Use at most 500 characters."}],
        )
    membership = lock_membership(membership)
    if membership.status not in CANCELLABLE:
        raise MembershipNotActive(f"Membership {membership.number} is {membership.status}: it cannot be cancelled.")
    now = timezone.now()
    before = membership.status
    cards = list(Card.objects.filter(membership=membership, status=Card.Status.ACTIVE).values_list("number", flat=True))
    Card.objects.filter(membership=membership, status=Card.Status.ACTIVE).update(
        status=Card.Status.INACTIVE,
        deactivated_at=now,
        deactivation_reason=DeactivationReason.MEMBERSHIP_CANCELLED,
    )
    membership.status = MembershipStatus.CANCELLED
    membership.cancelled_at = now
    membership.cancel_reason = reason
    membership.save(update_fields=["status", "cancelled_at", "cancel_reason", "updated_at"])

    hooks.run_cancel_hooks(membership, actor)

    record_audit(
        actor,
        events.MEMBERSHIP_CANCELLED,
        membership,
        changes={"status": [before, membership.status], "cancel_reason": [None, reason], "cards_deactivated": cards},
    )
    emit_event(
        events.MEMBERSHIP_CANCELLED,
        membership_number=membership.number,
        payload={"membershipNumber": membership.number, "reason": reason, "cardsDeactivated": cards},
    )
    return membership


@transaction.atomic
def reactivate_membership(*, membership: Membership, actor: Actor) -> Membership:
    """Open a cancelled membership again (admin): the cards its cancellation deactivated come back.
    Points forfeited at the cancellation stay forfeited."""
    membership = lock_membership(membership)
    if membership.status != MembershipStatus.CANCELLED:
        raise InvalidTransition(f"Membership {membership.number} is {membership.status}, not cancelled.")
    ensure_email_free(membership.email, exclude=membership)
    cards = list(
        Card.objects.filter(
            membership=membership, deactivation_reason=DeactivationReason.MEMBERSHIP_CANCELLED
        ).values_list("number", flat=True)
    )
    Card.objects.filter(membership=membership, deactivation_reason=DeactivationReason.MEMBERSHIP_CANCELLED).update(
        status=Card.Status.ACTIVE, deactivated_at=None, deactivation_reason=""
    )
    before = (membership.status, membership.cancel_reason)
    membership.status = _status_after_reopening(membership)
    membership.cancelled_at = None
    membership.cancel_reason = ""
    membership.save(update_fields=["status", "cancelled_at", "cancel_reason", "updated_at"])
    record_audit(
        actor,
        events.MEMBERSHIP_REACTIVATED,
        membership,
        changes={
            "status": [before[0], membership.status],
            "cancel_reason": [before[1], ""],
            "cards_reactivated": cards,
        },
    )
    emit_event(
        events.MEMBERSHIP_REACTIVATED,
        membership_number=membership.number,
        payload={"membershipNumber": membership.number, "status": membership.status, "cardsReactivated": cards},
    )
    return membership


@transaction.atomic
def block_membership(*, membership: Membership, actor: Actor, reason: str = "") -> Membership:
    """Stop a membership for now (suspected fraud, a dispute); unblocking restores it."""
    membership = lock_membership(membership)
    if membership.status not in MERGEABLE:
        raise InvalidTransition(f"Membership {membership.number} is {membership.status}: it cannot be blocked.")
    before = membership.status
    membership.status = MembershipStatus.BLOCKED
    membership.blocked_at = timezone.now()
    membership.save(update_fields=["status", "blocked_at", "updated_at"])
    record_audit(
        actor, events.MEMBERSHIP_BLOCKED, membership, changes={"status": [before, membership.status], "reason": reason}
    )
    emit_event(
        events.MEMBERSHIP_BLOCKED, membership_number=membership.number, payload={"membershipNumber": membership.number}
    )
    return membership


@transaction.atomic
def unblock_membership(*, membership: Membership, actor: Actor) -> Membership:
    membership = lock_membership(membership)
    if membership.status != MembershipStatus.BLOCKED:
        raise InvalidTransition(f"Membership {membership.number} is {membership.status}, not blocked.")
    membership.status = _status_after_reopening(membership)
    membership.blocked_at = None
    membership.save(update_fields=["status", "blocked_at", "updated_at"])
    record_audit(actor, events.MEMBERSHIP_UNBLOCKED, membership, changes={"status": ["blocked", membership.status]})
    emit_event(
        events.MEMBERSHIP_UNBLOCKED,
        membership_number=membership.number,
        payload={"membershipNumber": membership.number, "status": membership.status},
    )
    return membership
