"""The mechanics every ledger service shares: accounts, locks, lots, bookings (LEDGER.md).

Order on every path: (1) idempotency key, (2) member accounts locked in ascending id, (3) their
lots locked, ordered by expiry, (4) booking, postings, lot movements, balances, audit, event.
"""

from __future__ import annotations

import calendar
import functools
import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from ledger.amounts import show_points
from ledger.errors import InsufficientPoints, UnknownPointType, UnknownSponsor
from ledger.models import Account, Booking, Lot, LotMovement, PointType, Posting
from loyalty.actors import Actor
from loyalty.atomic import atomic
from loyalty.errors import IdempotencyKeyReused
from loyalty.memo import reads_once
from loyalty.models import Program, Sponsor
from loyalty.prepared import Prepared, server_cursor
from memberships.errors import MembershipNotActive

P = ParamSpec("P")
R = TypeVar("R")

EARNING_STATUSES = {"active", "anonymous"}
SPENDING_STATUSES = {"active"}
RETRYABLE_PG_CODES = {"40001", "40P01"}  # serialization failure, deadlock


def ledger_transaction(fn: Callable[P, R]) -> Callable[P, R]:
    """One atomic block; retried a few times on a deadlock or serialization failure when outermost."""

    @functools.wraps(fn)
    @reads_once
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        attempts = 1 if connection.in_atomic_block else 4
        for attempt in range(attempts):
            try:
                with atomic():  # no savepoint inside a caller's whole_or_nothing() (loyalty.atomic)
                    return fn(*args, **kwargs)
            except OperationalError as exc:
                code = getattr(getattr(exc, "__cause__", None), "sqlstate", None)
                if code not in RETRYABLE_PG_CODES or attempt == attempts - 1:
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    return wrapper


# Lookups -------------------------------------------------------------------------------------


def point_types_by_key() -> dict[str, PointType]:
    """Every point type in id order: cached per process and configuration generation, copied once per
    unit of work (see loyalty.memo, loyalty.configuration)."""
    from loyalty.configuration import cached, copies
    from loyalty.memo import memoized

    load = lambda: {pt.key: pt for pt in PointType.objects.order_by("pk")}  # noqa: E731
    return memoized("point_types", lambda: copies(cached("point_types", load)))


def main_point_type() -> PointType:
    point_type = PointType.objects.filter(is_main=True).first()
    if point_type is None:
        raise UnknownPointType("The program has no main point type; name one with `pointType`.")
    return point_type


def point_type_by_key(key: str | None) -> PointType:
    if not key:
        return main_point_type()
    point_type = PointType.objects.filter(key=key).first()
    if point_type is None:
        raise UnknownPointType(f"No point type {key!r}.")
    return point_type


def _sponsors() -> dict[str, Sponsor]:
    """Every sponsor by key, in key order (the default is the first default by key): cached per
    process and configuration generation, copied once per unit of work (see loyalty.memo,
    loyalty.configuration)."""
    from loyalty.configuration import cached, copies
    from loyalty.memo import memoized

    load = lambda: {s.key: s for s in Sponsor.objects.order_by("key")}  # noqa: E731
    return memoized("sponsors", lambda: copies(cached("sponsors", load)))


def default_sponsor() -> Sponsor:
    sponsor = next((s for s in _sponsors().values() if s.is_default), None)
    if sponsor is None:
        raise UnknownSponsor("The program has no default sponsor; name one with `sponsor`.")
    return sponsor


def sponsor_by_key(key: str | None) -> Sponsor:
    if not key:
        return default_sponsor()
    sponsor = _sponsors().get(key)
    if sponsor is None:
        raise UnknownSponsor(f"No sponsor {key!r}.")
    return sponsor


def require_status(membership: Any, allowed: set[str]) -> None:
    """Checked after the accounts are locked, on the stored status: a cancel that committed a moment
    ago wins over the caller's stale copy."""
    status = type(membership).objects.filter(pk=membership.pk).values_list("status", flat=True).first()
    check_status(membership.number, status, allowed)


def check_status(number: str, status: str | None, allowed: set[str]) -> None:
    """For a status read under the membership's own row lock, which no cancel can have overtaken."""
    if status not in allowed:
        raise MembershipNotActive(f"Membership {number} is {status}.")


# Accounts ------------------------------------------------------------------------------------


def _get_or_create(lookup: dict[str, Any]) -> Account:
    account = Account.objects.filter(**lookup).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return Account.objects.create(**lookup)
    except IntegrityError:  # created concurrently: theirs is as good as ours
        return Account.objects.get(**lookup)


def holder_of(membership: Any) -> Any:
    """Where a membership's points live now: a merged membership's went to its survivor.

    Read from the database, not the instance: a caller's copy may predate the merge.
    """
    from memberships.selectors import membership_by_id

    return membership_by_id(membership.pk) if membership is not None else None


def member_account(membership: Any, point_type: PointType) -> Account:
    return _get_or_create({"kind": Account.Kind.MEMBER, "membership": membership, "point_type": point_type})


def locked_member_accounts(membership: Any, point_types: Iterable[PointType]) -> dict[int, Account]:
    """The member's accounts of these point types by point type id, locked in ascending id; missing
    ones are created. One query when they all exist (the common case)."""
    wanted = {pt.pk: pt for pt in point_types}
    found = {a.point_type_id: a for a in _locked_member_accounts.all(membership.pk, list(wanted))}
    if len(found) < len(wanted):
        # Nobody else sees a row we insert before we commit, and whoever holds the others of this
        # member locks them first: creating the missing ones now cannot deadlock.
        Account.objects.bulk_create(
            [
                Account(kind=Account.Kind.MEMBER, membership=membership, point_type=point_type)
                for pk, point_type in sorted(wanted.items())  # one order for every creator
                if pk not in found
            ],
            ignore_conflicts=True,
        )
        found = {a.point_type_id: a for a in _locked_member_accounts.all(membership.pk, list(wanted))}
    return found


_locked_member_accounts: Prepared[Account] = Prepared(
    lambda membership_id, point_type_ids: (
        Account.objects.select_for_update()
        .filter(kind=Account.Kind.MEMBER, membership_id=membership_id, point_type_id__in=point_type_ids)
        .order_by("pk")
    )
)


def locked_member_accounts_of(pairs: list[tuple[Any, PointType]]) -> dict[tuple[int, int], Account]:
    """locked_member_accounts for many memberships: {(membership id, point type id): account}, all
    locked in ascending id in one statement (missing ones created first)."""
    wanted = {(m.pk, pt.pk): (m, pt) for m, pt in pairs}
    qs = Account.objects.select_for_update().filter(
        kind=Account.Kind.MEMBER,
        membership_id__in={m for m, _ in wanted},
        point_type_id__in={pt for _, pt in wanted},
    )
    found = {(a.membership_id, a.point_type_id): a for a in qs.order_by("pk")}
    missing = [pair for key, pair in sorted(wanted.items()) if key not in found]  # one order for every creator
    if missing:
        Account.objects.bulk_create(
            [Account(kind=Account.Kind.MEMBER, membership=m, point_type=pt) for m, pt in missing],
            ignore_conflicts=True,
        )
        found = {(a.membership_id, a.point_type_id): a for a in qs.order_by("pk")}
    return {key: found[key] for key in wanted}


def system_accounts(sponsor: Sponsor, point_types: Iterable[PointType], kind: str) -> dict[int, Account]:
    """A sponsor's system accounts of one kind by point type id (not locked: no balance is kept).

    Kept per process once committed (a system account is never changed or deleted; only its id is
    used), so a booking usually reads none: one row created by a transaction that then rolls back
    must never be remembered, hence on_commit."""
    from loyalty.configuration import cached

    known: dict[tuple[str, int, int], Account] = cached("system_accounts", dict)
    wanted = {pt.pk: pt for pt in point_types}
    found = {pk: known[(kind, sponsor.pk, pk)] for pk in wanted if (kind, sponsor.pk, pk) in known}
    if len(found) == len(wanted):
        return found
    read = {
        a.point_type_id: a for a in _system_accounts.all(kind, sponsor.pk, [pk for pk in wanted if pk not in found])
    }
    for pk, point_type in wanted.items():
        if pk not in found and pk not in read:
            read[pk] = system_account(sponsor, point_type, kind)
    found.update(read)
    transaction.on_commit(lambda: known.update({(kind, sponsor.pk, pk): a for pk, a in read.items()}))
    return found


_system_accounts: Prepared[Account] = Prepared(
    lambda kind, sponsor_id, point_type_ids: Account.objects.filter(
        kind=kind, sponsor_id=sponsor_id, point_type_id__in=point_type_ids
    )
)


def system_account(sponsor: Sponsor | int, point_type: PointType | int, kind: str) -> Account:
    sponsor_id = sponsor if isinstance(sponsor, int) else sponsor.pk
    point_type_id = point_type if isinstance(point_type, int) else point_type.pk
    return _get_or_create({"kind": kind, "sponsor_id": sponsor_id, "point_type_id": point_type_id})


def lock_accounts(accounts: Iterable[Account]) -> dict[int, Account]:
    """Member accounts, locked in ascending id: two bookings never wait on each other in a cycle."""
    ids = sorted({a.pk for a in accounts})
    locked = Account.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    return {a.pk: a for a in locked}


# Time ----------------------------------------------------------------------------------------


def _add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def expiry_for(point_type: PointType, earned_at: datetime) -> datetime | None:
    """Expiry by the point type's policy, in the program's time zone."""
    policy = point_type.expiry_policy
    if policy == PointType.Expiry.NEVER:
        return None
    local = earned_at.astimezone(ZoneInfo(Program.current().time_zone))
    moment = _add_months(local, point_type.expiry_months)
    if policy == PointType.Expiry.MONTHS:
        return moment
    if policy == PointType.Expiry.END_OF_MONTH:
        period_months = 1
    elif policy == PointType.Expiry.END_OF_QUARTER:
        period_months = 3
    else:
        period_months = 12
    start_month = ((moment.month - 1) // period_months) * period_months + 1
    period_start = moment.replace(month=start_month, day=1, hour=0, minute=0, second=0, microsecond=0)
    return _add_months(period_start, period_months)


def maturity_for(point_type: PointType, earned_at: datetime) -> datetime:
    return earned_at + timedelta(days=point_type.maturation_days)


# Lots ----------------------------------------------------------------------------------------


@dataclass
class Slice:
    """A share taken from a lot: transfers and merges carry its maturity and expiry along."""

    lot: Lot
    amount: int


def _consumable(account: Account, now: datetime, *, matured_only: bool) -> list[Lot]:
    qs = Lot.objects.select_for_update().filter(account=account, state=Lot.State.ACTIVE, remaining__gt=0)
    qs = qs.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    if matured_only:
        qs = qs.filter(matures_at__lte=now)
    return list(qs.order_by(F("expires_at").asc(nulls_last=True), "matures_at", "pk"))


def debt_of(account: Account) -> int:
    return (
        Lot.objects.filter(account=account, state=Lot.State.DEBT, remaining__lt=0).aggregate(s=Sum("remaining"))["s"]
        or 0
    )


def take(account: Account, amount: int, now: datetime) -> list[Slice]:
    """Consume matured, unexpired points first-to-expire first; never overdraws."""
    lots = _consumable(account, now, matured_only=True)
    available = sum(lot.remaining for lot in lots) + debt_of(account)
    if amount > available:
        point_type = account.point_type
        redeemable, asked = (
            show_points(max(available, 0), point_type.precision),
            show_points(amount, point_type.precision),
        )
        raise InsufficientPoints(f"Only {redeemable} {point_type.name} are redeemable; {asked} asked.")
    return _take_from(lots, amount)


def _take_from(lots: list[Lot], amount: int) -> list[Slice]:
    slices, left = [], amount
    for lot in lots:
        if left == 0:
            break
        share = min(lot.remaining, left)
        slices.append(Slice(lot, share))
        left -= share
    return slices


@dataclass
class Draft:
    """A booking being assembled: postings per account, lot changes, new lots."""

    kind: str
    sponsor: Sponsor
    actor: Actor
    now: datetime
    membership: Any = None
    idempotency_key: str = ""
    request_hash: str = ""
    receipt_id: str = ""
    tx_id: str = ""
    reverses: Booking | None = None
    line_ref: str = ""
    reason: str = ""
    reference: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    effective_at: datetime | None = None
    postings: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    accounts: dict[int, Account] = field(default_factory=dict)
    movements: list[tuple[Lot, int]] = field(default_factory=list)
    new_lots: list[Lot] = field(default_factory=list)
    debts: dict[int, Lot] = field(default_factory=dict)
    debt_paid: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    debt_lots: dict[int, list[Lot]] = field(default_factory=dict)  # per account, read once per draft
    # An earn's reward lines alike (account, sponsor, maturity, expiry) make one lot: they are only
    # ever consumed together, and a 20-line basket need not write 20 lots.
    fold_alike_credits: bool = False

    def post(self, account: Account, amount: int) -> None:
        self.accounts[account.pk] = account
        self.postings[account.pk] += amount

    def consume(self, slices: list[Slice], counter: Callable[[Lot], Account]) -> None:
        """Debit each slice from its lot and member account; credit `counter(lot)`."""
        for piece in slices:
            self.movements.append((piece.lot, -piece.amount))
            self.post(piece.lot.account, -piece.amount)
            self.post(counter(piece.lot), piece.amount)

    def credit(
        self,
        account: Account,
        amount: int,
        *,
        sponsor: Sponsor | int,
        matures_at: datetime,
        expires_at: datetime | None,
        line_ref: str = "",
    ) -> None:
        """A credit pays off a debt lot first, then becomes a lot of its own."""
        self.post(account, amount)
        left = amount
        if account.pk not in self.debt_lots:
            self.load_debts([account])
        for found in self.debt_lots[account.pk]:
            # One instance per debt lot, and what earlier credits of this draft already paid, so that
            # two credits in one booking never pay the same debt twice.
            debt = self.debts.setdefault(found.pk, found)
            share = min(-debt.remaining - self.debt_paid[debt.pk], left)
            if share > 0:
                self.movements.append((debt, share))
                self.debt_paid[debt.pk] += share
                left -= share
            if not left:
                break
        if left > 0:
            sponsor_id = sponsor if isinstance(sponsor, int) else sponsor.pk
            for lot in self.new_lots if self.fold_alike_credits else ():
                if (
                    lot.state == Lot.State.ACTIVE
                    and lot.account_id == account.pk
                    and lot.sponsor_id == sponsor_id
                    and lot.matures_at == matures_at
                    and lot.expires_at == expires_at
                ):
                    lot.original += left
                    lot.remaining += left
                    if lot.line_ref != line_ref:
                        lot.line_ref = ""
                    return
            self.new_lots.append(
                Lot(
                    account=account,
                    sponsor_id=sponsor_id,
                    line_ref=line_ref,
                    original=left,
                    remaining=left,
                    matures_at=matures_at,
                    expires_at=expires_at,
                    created_at=self.now,
                )
            )

    def load_debts(self, accounts: Iterable[Account]) -> None:
        """Lock and read the debt lots of these accounts in one query (credits pay them first)."""
        wanted = [a.pk for a in accounts if a.pk not in self.debt_lots]
        if not wanted:
            return
        for pk in wanted:
            self.debt_lots[pk] = []
        for lot in _locked_debt_lots.all(wanted):
            self.debt_lots[lot.account_id].append(lot)

    def debt(self, account: Account, amount: int, *, sponsor: Sponsor | int) -> None:
        """A shortfall that a reversal may not refuse: a negative lot later credits pay off."""
        sponsor_id = sponsor if isinstance(sponsor, int) else sponsor.pk
        self.new_lots.append(
            Lot(
                account=account,
                sponsor_id=sponsor_id,
                original=0,
                remaining=-amount,
                matures_at=self.now,
                state=Lot.State.DEBT,
                created_at=self.now,
            )
        )

    def write(self) -> Booking:
        return write_drafts([self])[0]

    def booking_row(self) -> Booking:
        return Booking(
            kind=self.kind,
            sponsor=self.sponsor,
            membership=self.membership,
            idempotency_key=self.idempotency_key,
            request_hash=self.request_hash,
            receipt_id=self.receipt_id,
            tx_id=self.tx_id,
            reverses=self.reverses,
            line_ref=self.line_ref,
            reason=self.reason,
            reference=self.reference,
            actor_label=self.actor.label[:200],
            metadata=self.metadata,
            created_at=self.now,
            effective_at=self.effective_at or self.now,
        )


def write_drafts(drafts: list[Draft]) -> list[Booking]:
    """Write bookings with their postings, lots, lot movements and cached balances: one statement per
    table whatever the number of drafts (a booking of /tx, or a chunk of imported ones).

    Drafts of one account may share debt lots (the same instances): each movement is applied in turn.
    """
    from loyalty.bulk import insert_models

    bookings = [draft.booking_row() for draft in drafts]
    insert_models(bookings, ids=True)
    insert_models(
        [
            Posting(booking=booking, account_id=pk, amount=amount)
            for draft, booking in zip(drafts, bookings, strict=True)
            for pk, amount in draft.postings.items()
            if amount
        ]
    )
    new_lots = []
    for draft, booking in zip(drafts, bookings, strict=True):
        for lot in draft.new_lots:
            lot.booking = booking
            new_lots.append(lot)
    insert_models(new_lots, ids=True)
    changed: dict[int, Lot] = {}
    movements = []
    for draft, booking in zip(drafts, bookings, strict=True):
        for lot, amount in draft.movements:
            lot.remaining += amount
            if lot.state == Lot.State.DEBT and lot.remaining == 0:
                lot.state = Lot.State.CLOSED
            changed[lot.pk] = lot
            movements.append(LotMovement(lot=lot, booking=booking, amount=amount))
        movements += [
            LotMovement(lot=lot, booking=booking, amount=lot.original if lot.original else lot.remaining)
            for lot in draft.new_lots
        ]
    insert_models(movements)
    if changed:
        Lot.objects.bulk_update(changed.values(), ["remaining", "state"])
    deltas: dict[int, int] = defaultdict(int)
    accounts: dict[int, list[Account]] = defaultdict(list)
    for draft in drafts:
        for pk, amount in draft.postings.items():
            account = draft.accounts[pk]
            if account.kind == Account.Kind.MEMBER and amount:
                deltas[pk] += amount
                accounts[pk].append(account)
    for pk, balance in _add_to_balances({pk: d for pk, d in deltas.items() if d}).items():
        for account in accounts[pk]:
            account.balance = balance
    return bookings


def _add_to_balances(deltas: dict[int, int]) -> dict[int, int]:
    """Add to the cached balances of member accounts (locked by the caller); the new balances."""
    table = Account._meta.db_table
    with server_cursor() as cursor:
        if connection.vendor == "postgresql" and len(deltas) > 1:
            cursor.execute(
                f"UPDATE {table} AS a SET balance = a.balance + v.delta "  # noqa: S608
                "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, delta) WHERE a.id = v.id RETURNING a.id, a.balance",
                [list(deltas), list(deltas.values())],
            )
            return dict(cursor.fetchall())
        found = {}
        for pk, delta in deltas.items():
            cursor.execute(
                f"UPDATE {table} SET balance = balance + %s WHERE id = %s RETURNING balance",  # noqa: S608
                [delta, pk],
            )
            found[pk] = cursor.fetchone()[0]
        return found


# Idempotency ---------------------------------------------------------------------------------


def fingerprint(**fields: Any) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def replay(idempotency_key: str, request_hash: str) -> Booking | None:
    """The booking already made under this key (same request), or a 409 for another request."""
    if not idempotency_key:
        return None
    booking = Booking.objects.filter(idempotency_key=idempotency_key).first()
    if booking is None:
        return None
    if booking.request_hash != request_hash:
        raise IdempotencyKeyReused(f"Idempotency key {idempotency_key!r} was used for another request.")
    return booking


def now() -> datetime:
    return timezone.now()


def announce(
    booking: Booking, *, actor: Actor, event_type: str, membership: Any = None, payload: dict[str, Any]
) -> None:
    """The audit entry and the outbox event of a booking, in its transaction."""
    from loyalty.outbox import record_and_emit

    number = getattr(membership, "number", "") if membership is not None else ""
    record_and_emit(
        actor,
        event_type,
        booking,
        object_repr=f"{booking.kind} {booking.pk} {number}".strip(),
        changes=payload,
        event_type=event_type,
        membership_number=number,
        payload={"booking": booking.pk, "kind": booking.kind, "receipt_id": booking.receipt_id, **payload},
    )


def announce_many(items: list[tuple[Booking, str, Any, dict[str, Any]]], *, actor: Actor) -> None:
    """announce() for many bookings at once: (booking, event type, membership, payload) each; one
    insert for the audit entries and one for the events."""
    from loyalty.audit import audit_entry, record_audits
    from loyalty.outbox import emit_events, event_row

    entries, rows = [], []
    for booking, event_type, membership, payload in items:
        number = getattr(membership, "number", "") if membership is not None else ""
        entries.append(
            audit_entry(
                actor,
                event_type,
                booking,
                object_repr=f"{booking.kind} {booking.pk} {number}".strip(),
                changes=payload,
            )
        )
        rows.append(
            event_row(
                event_type,
                membership_number=number,
                payload={"booking": booking.pk, "kind": booking.kind, "receipt_id": booking.receipt_id, **payload},
            )
        )
    record_audits(entries)
    emit_events(rows)


def new_receipt_id(prefix: str) -> str:
    import secrets

    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(16))


_locked_debt_lots: Prepared[Lot] = Prepared(
    lambda account_ids: (
        Lot.objects.select_for_update()
        .filter(account_id__in=account_ids, state=Lot.State.DEBT, remaining__lt=0)
        .order_by("pk")
    )
)
