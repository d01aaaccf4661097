from __future__ import annotations

from collections import defaultdict
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
    announce_many,
    check_status,
    expiry_for,
    fingerprint,
    ledger_transaction,
    locked_member_accounts,
    locked_member_accounts_of,
    maturity_for,
    now,
    replay,
    require_status,
    system_accounts,
    write_drafts,
)
from loyalty.actors import Actor
from loyalty.errors import Conflict
from loyalty.models import Sponsor
from loyalty.prepared import Prepared

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


@dataclass(frozen=True)
class Earn:
    """One earn of a bulk call (earn_many): the arguments of earn_points for one receipt."""

    membership: Any
    sponsor: Sponsor
    lines: list[EarnLine]
    receipt_id: str = ""
    tx_id: str = ""
    reason: str = ""
    metadata: dict[str, Any] | None = None
    earned_at: datetime | None = None


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
    member_locked: bool = False,
) -> Booking:
    """Credit earned points: issued by the sponsor, blocked until maturity, expiring by policy.

    `earned_at` (default now) is when the purchase happened: maturity and expiry count from it,
    so a late-arriving or imported transaction does not earn fresher points than it should.
    `member_locked`: the caller holds the membership's row lock (lock_membership) and checked its
    status under it; every status change takes that lock, so reading the status again is skipped.
    """
    earn = Earn(membership, sponsor, _positive(lines), receipt_id, tx_id, reason, metadata, earned_at)
    request_hash = _request_hash(earn)
    point_types = {line.point_type.pk: line.point_type for line in earn.lines}
    accounts = locked_member_accounts(membership, point_types.values())
    if not member_locked:
        require_status(membership, EARNING_STATUSES)
    if existing := replay(idempotency_key, request_hash):
        return existing
    if receipt_id and _earn_of_receipt.first(sponsor.pk, receipt_id) is not None:
        raise ReceiptAlreadyBooked(f"Receipt {receipt_id!r} of {sponsor.key} is already booked.")
    issued = system_accounts(sponsor, point_types.values(), Account.Kind.ISSUED)
    draft = _draft(earn, actor, now(), idempotency_key)
    draft.load_debts(accounts.values())
    _credit(draft, earn, accounts, issued)
    [booking] = write_drafts([draft])
    announce(booking, actor=actor, event_type=events.POINTS_EARNED, membership=membership, payload=_payload(earn))
    return booking


_earn_of_receipt: Prepared[int] = Prepared(
    lambda sponsor_id, receipt_id: Booking.objects.filter(
        kind=Booking.Kind.EARN, sponsor_id=sponsor_id, receipt_id=receipt_id
    ).values_list("pk", flat=True)[:1]
)


@ledger_transaction
def earn_many(earns: list[Earn], *, actor: Actor) -> list[Booking]:
    """earn_points for many receipts at once (an import chunk): the same bookings, lots, audit entries
    and events, with one statement per table instead of one set per receipt.

    The caller has locked the memberships (ascending id) and checked that they earn and that no
    receipt is booked yet; this re-checks both and refuses the whole call otherwise.
    """
    earns = [Earn(e.membership, e.sponsor, _positive(e.lines), *_rest(e)) for e in earns]
    if not earns:
        return []
    pairs = {(e.membership.pk, line.point_type.pk): (e.membership, line.point_type) for e in earns for line in e.lines}
    accounts = locked_member_accounts_of(list(pairs.values()))
    statuses = dict(
        type(earns[0].membership).objects.filter(pk__in={e.membership.pk for e in earns}).values_list("pk", "status")
    )
    for e in earns:
        check_status(e.membership.number, statuses.get(e.membership.pk), EARNING_STATUSES)
    receipts = [e for e in earns if e.receipt_id]
    if receipts:
        taken = set(
            Booking.objects.filter(
                kind=Booking.Kind.EARN,
                sponsor_id__in={e.sponsor.pk for e in receipts},
                receipt_id__in={e.receipt_id for e in receipts},
            ).values_list("sponsor_id", "receipt_id")
        )
        for e in receipts:
            if (e.sponsor.pk, e.receipt_id) in taken:
                raise ReceiptAlreadyBooked(f"Receipt {e.receipt_id!r} of {e.sponsor.key} is already booked.")
    issued: dict[int, dict[int, Account]] = {}
    for e in earns:
        types = {line.point_type.pk: line.point_type for line in e.lines}
        known = issued.setdefault(e.sponsor.pk, {})
        if set(types) - known.keys():
            known.update(system_accounts(e.sponsor, types.values(), Account.Kind.ISSUED))
    moment = now()
    drafts = []
    shared: dict[str, dict] = {"debts": {}, "debt_lots": {}, "debt_paid": defaultdict(int)}
    for e in earns:
        draft = _draft(e, actor, moment, "")
        # Earns of one account pay its debt lots in turn: they share what each has paid.
        draft.debts, draft.debt_lots, draft.debt_paid = shared["debts"], shared["debt_lots"], shared["debt_paid"]
        drafts.append(draft)
    drafts[0].load_debts({a.pk: a for a in accounts.values()}.values())
    for draft, e in zip(drafts, earns, strict=True):
        mine = {line.point_type.pk: accounts[(e.membership.pk, line.point_type.pk)] for line in e.lines}
        _credit(draft, e, mine, issued[e.sponsor.pk])
    bookings = write_drafts(drafts)
    announce_many(
        [
            (booking, events.POINTS_EARNED, e.membership, _payload(e))
            for booking, e in zip(bookings, earns, strict=True)
        ],
        actor=actor,
    )
    return bookings


def _positive(lines: list[EarnLine]) -> list[EarnLine]:
    lines = [line for line in lines if line.amount]
    if not lines or any(line.amount < 0 for line in lines):
        raise InvalidAmount("Earned points must be positive.")
    return lines


def _rest(e: Earn) -> tuple:
    return e.receipt_id, e.tx_id, e.reason, e.metadata, e.earned_at


def _request_hash(e: Earn) -> str:
    return fingerprint(
        membership=e.membership.pk,
        sponsor=e.sponsor.pk,
        receipt=e.receipt_id,
        lines=[(line.point_type.pk, line.amount, line.line_ref) for line in e.lines],
    )


def _draft(e: Earn, actor: Actor, moment: datetime, key: str) -> Draft:
    draft = Draft(
        kind=Booking.Kind.EARN,
        effective_at=min(e.earned_at or moment, moment),
        sponsor=e.sponsor,
        actor=actor,
        now=moment,
        membership=e.membership,
        idempotency_key=key,
        request_hash=_request_hash(e),
        receipt_id=e.receipt_id,
        tx_id=e.tx_id,
        reason=e.reason,
        fold_alike_credits=True,
        metadata={
            **(e.metadata or {}),
            "lines": [
                {"line_ref": line.line_ref, "point_type": line.point_type.pk, "amount": line.amount} for line in e.lines
            ],
        },
    )
    return draft


def _credit(draft: Draft, e: Earn, accounts: dict[int, Account], issued: dict[int, Account]) -> None:
    earned = draft.effective_at
    for line in e.lines:
        draft.post(issued[line.point_type.pk], -line.amount)
        draft.credit(
            accounts[line.point_type.pk],
            line.amount,
            sponsor=e.sponsor,
            matures_at=line.matures_at or maturity_for(line.point_type, earned),
            expires_at=expiry_for(line.point_type, earned) if line.expires_at is USE_POLICY else line.expires_at,
            line_ref=line.line_ref,
        )


def _payload(e: Earn) -> dict[str, Any]:
    totals: dict[str, int] = {}
    for line in e.lines:
        totals[line.point_type.key] = totals.get(line.point_type.key, 0) + line.amount
    return {
        "points": [
            {"point_type": key, "amount": to_points(amount, _precision(e.lines, key))} for key, amount in totals.items()
        ],
        "tx_id": e.tx_id,
    }


def _precision(lines: list[EarnLine], key: str) -> int:
    return next(line.point_type.precision for line in lines if line.point_type.key == key)
