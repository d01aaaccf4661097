from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from ledger import events
from ledger.amounts import to_points
from ledger.errors import AlreadyReversed, InvalidAmount, NotRedeemable, ReceiptNotFound
from ledger.models import Account, Booking, LotMovement, PointType
from ledger.services.core import (
    SPENDING_STATUSES,
    Draft,
    announce,
    fingerprint,
    holder_of,
    ledger_transaction,
    lock_accounts,
    member_account,
    new_receipt_id,
    now,
    replay,
    require_status,
    system_account,
    take,
)
from ledger.services.expiry import expire_due_lots
from loyalty.actors import Actor
from loyalty.models import Sponsor


@ledger_transaction
def redeem_points(
    *,
    membership: Any,
    points: int,
    point_type: PointType,
    sponsor: Sponsor,
    actor: Actor,
    reference: str = "",
    idempotency_key: str = "",
) -> Booking:
    """Spend matured points, first-to-expire first, at a sponsor. Never overdraws."""
    if points <= 0:
        raise InvalidAmount("Redeem a positive number of points.")
    if not point_type.redeemable:
        raise NotRedeemable(f"{point_type.name} cannot be redeemed.")
    request_hash = fingerprint(m=membership.pk, p=points, t=point_type.pk, s=sponsor.pk, r=reference)
    account = member_account(membership, point_type)
    account = lock_accounts([account])[account.pk]
    require_status(membership, SPENDING_STATUSES)
    if existing := replay(idempotency_key, request_hash):
        return existing
    moment = now()
    expire_due_lots(account, moment, actor)
    slices = take(account, points, moment)
    draft = Draft(
        kind=Booking.Kind.REDEEM,
        sponsor=sponsor,
        actor=actor,
        now=moment,
        membership=membership,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        receipt_id=new_receipt_id("R"),
        reference=reference,
    )
    # The points go back to the sponsor that issued each lot; the booking names who redeemed them.
    draft.consume(slices, lambda lot: system_account(lot.sponsor_id, point_type, Account.Kind.REDEEMED))
    booking = draft.write()
    announce(
        booking,
        actor=actor,
        event_type=events.POINTS_REDEEMED,
        membership=membership,
        payload={
            "point_type": point_type.key,
            "amount": to_points(points, point_type.precision),
            "sponsor": sponsor.key,
        },
    )
    return booking


@ledger_transaction
def reverse_redemption(*, receipt_id: str, actor: Actor, idempotency_key: str = "") -> Booking:
    """Give redeemed points back to the lots they came from; at most once per receipt.

    A share whose lot has expired since comes back as a new lot with the original expiry, so it
    expires again at once: a reversal never makes points fresher.
    """
    original = Booking.objects.filter(kind=Booking.Kind.REDEEM, receipt_id=receipt_id).first()
    if original is None:
        raise ReceiptNotFound(f"No redemption has receipt {receipt_id!r}.")
    request_hash = fingerprint(reverses=original.pk)
    movements = list(
        LotMovement.objects.filter(booking=original, amount__lt=0).select_related("lot", "lot__account__point_type")
    )
    # After a merge the source's lots are closed and its points live with the survivor: refund there.
    holder = holder_of(original.membership)
    targets = {
        m.lot.account_id: (
            m.lot.account
            if holder is None or m.lot.account.membership_id == holder.pk
            else member_account(holder, m.lot.account.point_type)
        )
        for m in movements
    }
    accounts = lock_accounts({m.lot.account for m in movements} | set(targets.values()))
    if existing := replay(idempotency_key, request_hash):
        return existing
    if Booking.objects.filter(reverses=original).exists():
        raise AlreadyReversed(f"Receipt {receipt_id} was already reversed.")
    moment = now()
    draft = Draft(
        kind=Booking.Kind.REVERSAL,
        sponsor=original.sponsor,
        actor=actor,
        now=moment,
        membership=holder or original.membership,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        receipt_id=new_receipt_id("V"),
        reverses=original,
    )
    total = 0
    for movement in movements:
        lot, amount = movement.lot, -movement.amount
        account = accounts[targets[lot.account_id].pk]
        draft.post(system_account(lot.sponsor_id, account.point_type_id, Account.Kind.REDEEMED), -amount)
        if (
            lot.account_id == account.pk
            and lot.state == lot.State.ACTIVE
            and (lot.expires_at is None or lot.expires_at > moment)
        ):
            draft.post(account, amount)
            draft.movements.append((lot, amount))
        else:
            draft.credit(account, amount, sponsor=lot.sponsor_id, matures_at=lot.matures_at, expires_at=lot.expires_at)
        total += amount
    try:
        with transaction.atomic():
            booking = draft.write()
    except IntegrityError as exc:  # a concurrent reversal committed first
        raise AlreadyReversed(f"Receipt {receipt_id} was already reversed.") from exc
    point_type = movements[0].lot.account.point_type if movements else None
    announce(
        booking,
        actor=actor,
        event_type=events.POINTS_REVERSED,
        membership=draft.membership,
        payload={
            "reverses": original.pk,
            "point_type": point_type.key if point_type else "",
            "amount": to_points(total, point_type.precision) if point_type else "0",
        },
    )
    return booking
