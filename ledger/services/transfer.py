from __future__ import annotations

from typing import Any

from ledger import events
from ledger.amounts import to_points
from ledger.errors import InvalidAmount, NotTransferable, SameMembership
from ledger.models import Booking, PointType
from ledger.services.core import (
    EARNING_STATUSES,
    SPENDING_STATUSES,
    Draft,
    announce,
    default_sponsor,
    fingerprint,
    ledger_transaction,
    lock_accounts,
    member_account,
    new_receipt_id,
    now,
    replay,
    require_status,
    take,
)
from ledger.services.expiry import expire_due_lots
from loyalty.actors import Actor
from loyalty.outbox import emit_event


@ledger_transaction
def transfer_points(
    *,
    source: Any,
    target: Any,
    points: int,
    point_type: PointType,
    actor: Actor,
    idempotency_key: str = "",
) -> Booking:
    """Move redeemable points between members; each slice keeps its maturity, expiry and issuer."""
    if points <= 0:
        raise InvalidAmount("Transfer a positive number of points.")
    if source.pk == target.pk:
        raise SameMembership()
    if not point_type.transferable:
        raise NotTransferable(f"{point_type.name} cannot be transferred.")
    request_hash = fingerprint(s=source.pk, t=target.pk, p=points, pt=point_type.pk)
    source_account = member_account(source, point_type)
    target_account = member_account(target, point_type)
    locked = lock_accounts([source_account, target_account])
    source_account, target_account = locked[source_account.pk], locked[target_account.pk]
    require_status(source, SPENDING_STATUSES)
    require_status(target, EARNING_STATUSES)
    if existing := replay(idempotency_key, request_hash):
        return existing
    moment = now()
    expire_due_lots(source_account, moment, actor)
    slices = take(source_account, points, moment)
    draft = Draft(
        kind=Booking.Kind.TRANSFER,
        sponsor=default_sponsor(),
        actor=actor,
        now=moment,
        membership=source,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        receipt_id=new_receipt_id("T"),
        metadata={"target": target.number},
    )
    for piece in slices:
        draft.movements.append((piece.lot, -piece.amount))
        draft.post(source_account, -piece.amount)
        draft.credit(
            target_account,
            piece.amount,
            sponsor=piece.lot.sponsor_id,
            matures_at=piece.lot.matures_at,
            expires_at=piece.lot.expires_at,
        )
    booking = draft.write()
    amount = to_points(points, point_type.precision)
    announce(
        booking,
        actor=actor,
        event_type=events.POINTS_TRANSFERRED,
        membership=source,
        payload={"point_type": point_type.key, "amount": amount, "to": target.number},
    )
    emit_event(
        events.POINTS_TRANSFERRED,
        membership_number=target.number,
        payload={"booking": booking.pk, "point_type": point_type.key, "amount": amount, "from": source.number},
    )
    return booking
