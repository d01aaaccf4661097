from __future__ import annotations

from typing import Any

from ledger import events
from ledger.amounts import show_points, to_points
from ledger.errors import AdjustmentAboveLimit, InvalidAmount
from ledger.models import Account, Booking, PointType
from ledger.services.core import (
    Draft,
    announce,
    expiry_for,
    fingerprint,
    ledger_transaction,
    lock_accounts,
    member_account,
    now,
    replay,
    require_status,
    system_account,
    take,
)
from ledger.services.expiry import expire_due_lots
from loyalty.actors import Actor
from loyalty.models import Sponsor

ADJUSTABLE_STATUSES = {"active", "anonymous", "blocked"}


@ledger_transaction
def adjust_points(
    *,
    membership: Any,
    points: int,
    point_type: PointType,
    sponsor: Sponsor,
    reason: str,
    actor: Actor,
    idempotency_key: str = "",
    limit: int | None = None,
) -> Booking:
    """A manual credit (positive) or debit (negative) with a reason, booked against a sponsor.

    A credit is available at once and expires by the point type's policy; a debit consumes
    redeemable points like a redemption and never overdraws. `limit` (minor units) caps the size
    of the adjustment for actors whose role has one (support agents in the admin).
    """
    if points == 0:
        raise InvalidAmount("An adjustment must not be zero.")
    if limit is not None and abs(points) > limit:
        raise AdjustmentAboveLimit(
            f"You may adjust at most {show_points(limit, point_type.precision)} {point_type.name} at once; "
            f"{show_points(abs(points), point_type.precision)} asked. A program manager can make larger adjustments."
        )
    if not reason.strip():
        raise InvalidAmount("An adjustment needs a reason.", code="reason_required")
    request_hash = fingerprint(m=membership.pk, p=points, t=point_type.pk, s=sponsor.pk, r=reason)
    account = member_account(membership, point_type)
    account = lock_accounts([account])[account.pk]
    require_status(membership, ADJUSTABLE_STATUSES)
    if existing := replay(idempotency_key, request_hash):
        return existing
    moment = now()
    draft = Draft(
        kind=Booking.Kind.ADJUST,
        sponsor=sponsor,
        actor=actor,
        now=moment,
        membership=membership,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        reason=reason,
    )
    if points > 0:
        draft.post(system_account(sponsor, point_type, Account.Kind.ADJUSTED), -points)
        draft.credit(account, points, sponsor=sponsor, matures_at=moment, expires_at=expiry_for(point_type, moment))
    else:
        expire_due_lots(account, moment, actor)
        slices = take(account, -points, moment)
        draft.consume(slices, lambda lot: system_account(lot.sponsor_id, point_type, Account.Kind.ADJUSTED))
    booking = draft.write()
    announce(
        booking,
        actor=actor,
        event_type=events.POINTS_ADJUSTED,
        membership=membership,
        payload={"point_type": point_type.key, "amount": to_points(points, point_type.precision), "reason": reason},
    )
    return booking
