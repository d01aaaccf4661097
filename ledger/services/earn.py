from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger import events
from ledger.amounts import to_points
from ledger.errors import InvalidAmount
from ledger.models import Account, Booking, PointType
from ledger.services.core import (
    EARNING_STATUSES,
    Draft,
    announce,
    expiry_for,
    fingerprint,
    ledger_transaction,
    locked_member_accounts,
    maturity_for,
    now,
    replay,
    require_status,
    system_accounts,
)
from loyalty.actors import Actor
from loyalty.errors import Conflict
from loyalty.models import Sponsor

USE_POLICY = object()


class ReceiptAlreadyBooked(Conflict):
    code = "receipt_already_booked"
    default_detail = "This sponsor already booked points for this receipt."


@dataclass(frozen=True)
class EarnLine:
    """Points of one type for one line item; maturity and expiry default to the point type's policy."""

    point_type: PointType
    amount: int
    line_ref: str = ""
    matures_at: datetime | None = None
    expires_at: Any = USE_POLICY


@ledger_transaction
def earn_points(
    *,
    membership: Any,
    sponsor: Sponsor,
    lines: list[EarnLine],
    actor: Actor,
    receipt_id: str = "",
    tx_id: str = "",
    idempotency_key: str = "",
    reason: str = "",
    metadata: dict[str, Any] | None = None,
    earned_at: datetime | None = None,
) -> Booking:
    """Credit earned points: issued by the sponsor, blocked until maturity, expiring by policy.

    `earned_at` (default now) is when the purchase happened: maturity and expiry count from it,
    so a late-arriving or imported transaction does not earn fresher points than it should.
    """
    lines = [line for line in lines if line.amount]
    if not lines or any(line.amount < 0 for line in lines):
        raise InvalidAmount("Earned points must be positive.")
    request_hash = fingerprint(
        membership=membership.pk,
        sponsor=sponsor.pk,
        receipt=receipt_id,
        lines=[(line.point_type.pk, line.amount, line.line_ref) for line in lines],
    )
    point_types = {line.point_type.pk: line.point_type for line in lines}
    accounts = locked_member_accounts(membership, point_types.values())
    require_status(membership, EARNING_STATUSES)
    if existing := replay(idempotency_key, request_hash):
        return existing
    if receipt_id and Booking.objects.filter(kind=Booking.Kind.EARN, sponsor=sponsor, receipt_id=receipt_id).exists():
        raise ReceiptAlreadyBooked(f"Receipt {receipt_id!r} of {sponsor.key} is already booked.")
    moment = now()
    earned = min(earned_at or moment, moment)
    draft = Draft(
        kind=Booking.Kind.EARN,
        effective_at=earned,
        sponsor=sponsor,
        actor=actor,
        now=moment,
        membership=membership,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        receipt_id=receipt_id,
        tx_id=tx_id,
        reason=reason,
        fold_alike_credits=True,
        metadata={
            **(metadata or {}),
            "lines": [
                {"line_ref": line.line_ref, "point_type": line.point_type.pk, "amount": line.amount} for line in lines
            ],
        },
    )
    issued = system_accounts(sponsor, point_types.values(), Account.Kind.ISSUED)
    draft.load_debts(accounts.values())
    for line in lines:
        account = accounts[line.point_type.pk]
        draft.post(issued[line.point_type.pk], -line.amount)
        draft.credit(
            account,
            line.amount,
            sponsor=sponsor,
            matures_at=line.matures_at or maturity_for(line.point_type, earned),
            expires_at=expiry_for(line.point_type, earned) if line.expires_at is USE_POLICY else line.expires_at,
            line_ref=line.line_ref,
        )
    booking = draft.write()
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.point_type.key] = totals.get(line.point_type.key, 0) + line.amount
    announce(
        booking,
        actor=actor,
        event_type=events.POINTS_EARNED,
        membership=membership,
        payload={
            "points": [
                {"point_type": key, "amount": to_points(amount, _precision(lines, key))}
                for key, amount in totals.items()
            ],
            "tx_id": tx_id,
        },
    )
    return booking


def _precision(lines: list[EarnLine], key: str) -> int:
    return next(line.point_type.precision for line in lines if line.point_type.key == key)
