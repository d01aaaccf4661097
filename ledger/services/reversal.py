from __future__ import annotations

from collections import defaultdict

from django.db import IntegrityError, transaction
from django.db.models import F, Q

from ledger import events
from ledger.amounts import to_points
from ledger.errors import AlreadyReversed
from ledger.models import Account, Booking, Lot, PointType
from ledger.services.core import (
    Draft,
    Slice,
    announce,
    holder_of,
    ledger_transaction,
    lock_accounts,
    member_account,
    new_receipt_id,
    now,
    system_account,
)
from ledger.services.expiry import expire_due_lots
from loyalty.actors import Actor
from loyalty.errors import InvalidInput


def _reversal_slices(account: Account, amount: int, own_lot_ids: set[int], moment) -> tuple[list[Slice], int]:
    """The earn's own lots first, then any other points first-to-expire; the rest is a shortfall."""
    lots = list(
        Lot.objects.select_for_update()
        .filter(account=account, state=Lot.State.ACTIVE, remaining__gt=0)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=moment))
        .order_by(F("expires_at").asc(nulls_last=True), "matures_at", "pk")
    )
    ordered = [lot for lot in lots if lot.pk in own_lot_ids] + [lot for lot in lots if lot.pk not in own_lot_ids]
    slices, left = [], amount
    for lot in ordered:
        if left == 0:
            break
        share = min(lot.remaining, left)
        slices.append(Slice(lot, share))
        left -= share
    return slices, left


@ledger_transaction
def reverse_earn(*, booking: Booking, actor: Actor, line_refs: list[str] | None = None) -> list[Booking]:
    """Take back what an earn credited, whole or for some line items; always books.

    After a merge the points are taken from the survivor, where the earn's lots went.

    One booking per reversed line (or one for the whole earn), each unique in the database, so
    a line is never reversed twice. Points already spent leave a debt that later credits pay.
    """
    if booking.kind != Booking.Kind.EARN:
        raise InvalidInput("Only an earn booking can be reversed this way.", code="not_an_earn")
    lines = booking.metadata.get("lines", [])
    known = {line["line_ref"] for line in lines}
    if line_refs is not None:
        unknown = sorted(set(line_refs) - known)
        if unknown or not line_refs:
            raise InvalidInput(f"Unknown line items: {', '.join(unknown) or 'none given'}.", code="unknown_line")
    point_types = {pt.pk: pt for pt in PointType.objects.filter(pk__in={line["point_type"] for line in lines})}
    holder = holder_of(booking.membership)
    accounts = {pk: member_account(holder, pt) for pk, pt in point_types.items()}
    locked = lock_accounts(accounts.values())
    done = list(Booking.objects.filter(reverses=booking).values_list("line_ref", flat=True))
    if "" in done:
        raise AlreadyReversed("This earn was already reversed.")
    wanted = set(line_refs) if line_refs is not None else known - set(done)
    already = wanted & set(done)
    if already or not wanted:
        raise AlreadyReversed(f"Already reversed: {', '.join(sorted(already)) or 'every line'}.")
    # Whole and untouched: one booking; otherwise one booking per line.
    groups = (
        [("", lines)]
        if line_refs is None and not done
        else [(ref, [line for line in lines if line["line_ref"] == ref]) for ref in sorted(wanted)]
    )
    amounts_by_ref = []
    for line_ref, group in groups:
        amounts: dict[int, int] = defaultdict(int)
        for line in group:
            amounts[line["point_type"]] += line["amount"]
        amounts_by_ref.append((line_ref, amounts))
    return [
        _book_reversal(booking, amounts, line_ref, actor, locked, accounts, point_types)
        for line_ref, amounts in amounts_by_ref
    ]


@ledger_transaction
def reverse_earn_amounts(*, booking: Booking, amounts: dict[str, int], reference: str, actor: Actor) -> Booking | None:
    """Take back given amounts (minor units per point type key) of an earn, once per `reference`.

    For returns whose points are recomputed (thresholds, multipliers and caps that no longer
    apply): the caller decides how much; the ledger books it like any earn reversal.
    """
    if booking.kind != Booking.Kind.EARN:
        raise InvalidInput("Only an earn booking can be reversed this way.", code="not_an_earn")
    if not reference:
        raise InvalidInput("A partial reversal needs a reference.", code="reference_required")
    point_types = {pt.pk: pt for pt in PointType.objects.filter(key__in=[k for k, v in amounts.items() if v])}
    if not point_types:
        return None
    by_id = {pt.pk: amounts[pt.key] for pt in point_types.values()}
    holder = holder_of(booking.membership)
    accounts = {pk: member_account(holder, pt) for pk, pt in point_types.items()}
    locked = lock_accounts(accounts.values())
    if Booking.objects.filter(reverses=booking, line_ref__in=["", reference]).exists():
        raise AlreadyReversed(f"Already reversed: {reference}.")
    return _book_reversal(booking, by_id, reference, actor, locked, accounts, point_types)


def _book_reversal(booking, amounts, line_ref, actor, locked, accounts, point_types) -> Booking:
    moment = now()
    for account in locked.values():
        expire_due_lots(account, moment, actor)
    own_lots = set(booking.lots.values_list("pk", flat=True))
    draft = Draft(
        kind=Booking.Kind.REVERSAL,
        sponsor=booking.sponsor,
        actor=actor,
        now=moment,
        membership=holder_of(booking.membership),
        receipt_id=new_receipt_id("V"),
        tx_id=booking.tx_id,
        reverses=booking,
        line_ref=line_ref,
    )
    for point_type_id, amount in amounts.items():
        account = locked[accounts[point_type_id].pk]
        draft.post(system_account(booking.sponsor, point_type_id, Account.Kind.ISSUED), amount)
        slices, shortfall = _reversal_slices(account, amount, own_lots, moment)
        for piece in slices:
            draft.movements.append((piece.lot, -piece.amount))
            draft.post(account, -piece.amount)
        if shortfall:
            draft.post(account, -shortfall)
            draft.debt(account, shortfall, sponsor=booking.sponsor)
    try:
        with transaction.atomic():
            reversal = draft.write()
    except IntegrityError as exc:
        raise AlreadyReversed("This earn was reversed concurrently.") from exc
    announce(
        reversal,
        actor=actor,
        event_type=events.POINTS_REVERSED,
        membership=draft.membership,
        payload={
            "reverses": booking.pk,
            "line_ref": line_ref,
            "points": [
                {"point_type": point_types[pk].key, "amount": to_points(-a, point_types[pk].precision)}
                for pk, a in amounts.items()
            ],
        },
    )
    return reversal
