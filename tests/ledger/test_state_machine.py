"""The ledger against a simple in-memory model, one random sequence of bookings at a time.

A Hypothesis `RuleBasedStateMachine` earns (maturation, expiry by date or by policy, late
earns, one or two lines), redeems, adjusts both ways, transfers between three members, reverses
earns (whole or per line) and redemptions, retries with the same idempotency key, reuses a key
for another request, moves the clock (to random times and exactly onto lot boundaries) and runs
expiry. After every step: `verify() == []`, and each member's balance, blocked and redeemable
points, lots and debt equal the model's; every refusal happens exactly when the model says so.

Each example runs in a savepoint rolled back at its end, inside the test's transaction, with
the clock frozen by time_machine at the machine's own "now". `HYPOTHESIS_PROFILE=ci` selects the
long run (tests/ledger/hypothesis_profiles.py).
"""

from __future__ import annotations

import calendar
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ledger.errors import AlreadyReversed, InsufficientPoints, NotRedeemable, NotTransferable, SameMembership
from ledger.models import Booking, Lot, PointType
from ledger.selectors import balance_of
from ledger.services import (
    EarnLine,
    adjust_points,
    earn_points,
    expire_due,
    redeem_points,
    reverse_earn,
    reverse_redemption,
    transfer_points,
)
from ledger.services.earn import USE_POLICY, ReceiptAlreadyBooked
from ledger.verify import verify
from loyalty.errors import IdempotencyKeyReused
from loyalty.models import Program
from loyalty.services import save_configuration
from tests.ledger.conftest import ACTOR
from tests.ledger.hypothesis_profiles import ledger_settings

pytestmark = pytest.mark.django_db

TIME_ZONE = "Europe/Amsterdam"
# Three days before the end of March and the switch to summer time: month ends and DST come early.
START = datetime(2031, 3, 27, 21, 30, tzinfo=UTC)
MATURATION_DAYS = 2  # the main type's policy; earns may also name their own maturity
EXPIRY_MONTHS = 1  # ... and expiry: end of the month after next-month (END_OF_MONTH)
MEMBERS = 3
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


# The model ------------------------------------------------------------------------------------


class Refused(Exception):
    """The model refuses: the service must raise `error` and book nothing."""

    def __init__(self, error: type[Exception]) -> None:
        super().__init__(error.__name__)
        self.error = error


@dataclass
class MLot:
    seq: int  # creation order, the same as the database's ids
    account: tuple[int, str]  # (member index, point type key)
    remaining: int
    matures_at: datetime
    expires_at: datetime | None
    source: tuple[str, int]  # ("earn", earn index) for an earn's own lots
    state: str = "active"

    def order(self) -> tuple:
        """First-to-expire: expiry (none last), then maturity, then id."""
        return (self.expires_at is None, self.expires_at or START, self.matures_at, self.seq)

    def alive(self, now: datetime) -> bool:
        return self.state == "active" and (self.expires_at is None or self.expires_at > now)


@dataclass
class MEarn:
    member: int
    sponsor: str
    receipt: str
    lines: list[tuple[str, int, str]]  # (point type key, amount, line ref)
    booking: Booking
    reversed_refs: set[str] = field(default_factory=set)


@dataclass
class MRedemption:
    member: int
    point_type: str
    receipt: str
    slices: list[tuple[MLot, int]]
    reversed: bool = False


@dataclass
class Call:
    """A booked call with an idempotency key: retried, it must answer the same booking."""

    fn: Any
    kwargs: dict[str, Any]
    booking_pk: int
    other: dict[str, Any]  # the same key with another request


def model_expiry(policy: str, months: int, earned: datetime, tz: ZoneInfo) -> datetime | None:
    """The point type's expiry, written independently of ledger.services.core.expiry_for."""
    if policy == PointType.Expiry.NEVER:
        return None
    local = earned.astimezone(tz)
    year, month0 = divmod(local.year * 12 + local.month - 1 + months, 12)
    day = min(local.day, calendar.monthrange(year, month0 + 1)[1])
    moment = local.replace(year=year, month=month0 + 1, day=day)
    if policy == PointType.Expiry.MONTHS:
        return moment
    period = {"end_of_month": 1, "end_of_quarter": 3, "end_of_year": 12}[policy]
    end = moment.year * 12 + (moment.month - 1) // period * period + period
    return datetime(end // 12, end % 12 + 1, 1, tzinfo=tz)


class Model:
    """Lots and debts per (member, point type), as LEDGER.md describes them."""

    def __init__(self, point_types: dict[str, PointType], tz: ZoneInfo) -> None:
        self.point_types = point_types
        self.tz = tz
        self.lots: list[MLot] = []
        self.debt: dict[tuple[int, str], int] = {}
        self.seq = itertools.count()
        self.earns: list[MEarn] = []
        self.redemptions: list[MRedemption] = []

    # reads
    def lots_of(self, account: tuple[int, str]) -> list[MLot]:
        return [lot for lot in self.lots if lot.account == account]

    def balance(self, account: tuple[int, str]) -> int:
        return sum(lot.remaining for lot in self.lots_of(account)) + self.debt.get(account, 0)

    def blocked(self, account: tuple[int, str], now: datetime) -> int:
        return sum(lot.remaining for lot in self.lots_of(account) if lot.state == "active" and lot.matures_at > now)

    def available(self, account: tuple[int, str], now: datetime) -> int:
        """Matured, unexpired points minus debt (may be negative)."""
        spendable = sum(lot.remaining for lot in self.consumable(account, now, matured_only=True))
        return spendable + self.debt.get(account, 0)

    def redeemable(self, account: tuple[int, str], now: datetime) -> int:
        if not self.point_types[account[1]].redeemable:
            return 0
        return max(0, self.available(account, now))

    def consumable(self, account: tuple[int, str], now: datetime, *, matured_only: bool) -> list[MLot]:
        lots = [
            lot
            for lot in self.lots_of(account)
            if lot.alive(now) and lot.remaining > 0 and (lot.matures_at <= now or not matured_only)
        ]
        return sorted(lots, key=MLot.order)

    # writes
    def new_lot(self, account, amount, matures_at, expires_at, source) -> MLot:
        lot = MLot(next(self.seq), account, amount, matures_at, expires_at, source)
        self.lots.append(lot)
        return lot

    def credit(self, account, amount, matures_at, expires_at, source) -> None:
        """A credit pays off the debt first; the rest becomes a lot, or joins the lot an earlier line
        of the same booking made with the same maturity and expiry."""
        owed = -self.debt.get(account, 0)
        paid = min(owed, amount)
        if paid:
            event("a credit pays off a debt")
        self.debt[account] = -(owed - paid)
        if amount > paid:
            alike = next(
                (
                    lot
                    for lot in self.lots
                    if source[0] == "earn"
                    and (lot.source, lot.account, lot.matures_at, lot.expires_at, lot.state)
                    == (source, account, matures_at, expires_at, "active")
                ),
                None,
            )
            if alike is not None:
                event("two lines of one earn make one lot")
                alike.remaining += amount - paid
            else:
                self.new_lot(account, amount - paid, matures_at, expires_at, source)

    def expire(self, account: tuple[int, str] | None, now: datetime) -> int:
        count = 0
        for lot in self.lots:
            due = lot.expires_at is not None and lot.expires_at <= now
            if (account is None or lot.account == account) and lot.state == "active" and lot.remaining > 0 and due:
                lot.state, lot.remaining = "expired", 0
                count += 1
        return count

    def take(self, account, amount: int, now: datetime) -> list[tuple[MLot, int]]:
        """Expire on touch, then consume first-to-expire; refuse (changing nothing) beyond the redeemable."""
        if amount > self.available(account, now):
            raise Refused(InsufficientPoints)
        self.expire(account, now)
        slices, left = [], amount
        for lot in self.consumable(account, now, matured_only=True):
            if left == 0:
                break
            share = min(lot.remaining, left)
            lot.remaining -= share
            slices.append((lot, share))
            left -= share
        return slices

    def earn(self, member, sponsor, receipt, lines, now, earned_at) -> MEarn:
        if any(e.sponsor == sponsor and e.receipt == receipt for e in self.earns):
            raise Refused(ReceiptAlreadyBooked)
        earned = min(earned_at or now, now)
        index = len(self.earns)
        for key, amount, _ref, matures_at, expires_at in lines:
            point_type = self.point_types[key]
            self.credit(
                (member, key),
                amount,
                matures_at or earned + timedelta(days=point_type.maturation_days),
                model_expiry(point_type.expiry_policy, point_type.expiry_months, earned, self.tz)
                if expires_at is USE_POLICY
                else expires_at,
                ("earn", index),
            )
        record = MEarn(member, sponsor, receipt, [(k, a, r) for k, a, r, _m, _e in lines], booking=None)
        self.earns.append(record)
        return record

    def redeem(self, member, key, points, now) -> MRedemption:
        if not self.point_types[key].redeemable:
            raise Refused(NotRedeemable)
        slices = self.take((member, key), points, now)
        record = MRedemption(member, key, receipt="", slices=slices)
        self.redemptions.append(record)
        return record

    def adjust(self, member, key, points, now) -> None:
        if points > 0:
            point_type = self.point_types[key]
            expires = model_expiry(point_type.expiry_policy, point_type.expiry_months, now, self.tz)
            self.credit((member, key), points, now, expires, ("adjust", 0))
        else:
            self.take((member, key), -points, now)

    def transfer(self, source, target, key, points, now) -> None:
        if source == target:
            raise Refused(SameMembership)
        if not self.point_types[key].transferable:
            raise Refused(NotTransferable)
        slices = self.take((source, key), points, now)
        if len(slices) > 1 and self.debt.get((target, key)):
            event("a transfer of several slices to a member who owes points")
        for lot, share in slices:
            self.credit((target, key), share, lot.matures_at, lot.expires_at, ("transfer", 0))

    def reverse_earn(self, index: int, line_refs: list[str] | None, now: datetime) -> int:
        """LEDGER.md: the earn's own lots first, then others first-to-expire; a shortfall is a debt."""
        earn = self.earns[index]
        done = earn.reversed_refs
        known = {ref for _k, _a, ref in earn.lines}
        if "" in done:
            raise Refused(AlreadyReversed)
        wanted = set(line_refs) if line_refs is not None else known - done
        if (wanted & done) or not wanted:
            raise Refused(AlreadyReversed)
        groups = (
            [("", earn.lines)]
            if line_refs is None and not done
            else [(ref, [line for line in earn.lines if line[2] == ref]) for ref in sorted(wanted)]
        )
        for key in {k for k, _a, _r in earn.lines}:
            self.expire((earn.member, key), now)
        for ref, group in groups:
            amounts: dict[str, int] = {}
            for key, amount, _ref in group:
                amounts[key] = amounts.get(key, 0) + amount
            for key, amount in amounts.items():
                account = (earn.member, key)
                lots = self.consumable(account, now, matured_only=False)
                # As built: "own" is every lot of the earn, whichever line is reversed, so reversing a
                # blocked line may take a matured line's points first (reported to the lead).
                own = [lot for lot in lots if lot.source == ("earn", index)]
                left = amount
                for lot in own + [lot for lot in lots if lot.source != ("earn", index)]:
                    share = min(lot.remaining, left)
                    lot.remaining -= share
                    left -= share
                if left:
                    event("an earn reversal leaves a debt")
                self.debt[account] = self.debt.get(account, 0) - left
            done.add(ref)
        return len(groups)

    def reverse_redemption(self, index: int, now: datetime) -> None:
        """Each share goes back to its lot; a share of an expired lot comes back as a new lot, old expiry."""
        redemption = self.redemptions[index]
        if redemption.reversed:
            raise Refused(AlreadyReversed)
        for lot, share in redemption.slices:
            if lot.alive(now):
                # As built: a share restored into its live lot pays no debt off, unlike a credit, so
                # the member can owe points once that lot expires (reported to the lead).
                lot.remaining += share
            else:
                event("a redemption reversal re-issues a share of an expired lot")
                self.credit(lot.account, share, lot.matures_at, lot.expires_at, ("reversal", 0))
        redemption.reversed = True


# The machine ----------------------------------------------------------------------------------


@dataclass
class World:
    """What every example shares, made once per test: members, point types, sponsors."""

    members: list[Any]
    point_types: dict[str, PointType]
    sponsors: dict[str, Any]
    tz: ZoneInfo


amounts = st.integers(min_value=1, max_value=1000)
members = st.integers(min_value=0, max_value=MEMBERS - 1)
sponsor_keys = st.sampled_from(["shop", "fuel"])
line_strategy = st.tuples(
    st.sampled_from(["points", "points", "points", "status"]),
    amounts,
    st.one_of(st.none(), st.just(0), st.integers(min_value=0, max_value=30 * 24)),  # maturity in hours; None: policy
    st.one_of(st.just("policy"), st.none(), st.integers(min_value=1, max_value=90 * 24)),  # expiry in hours
)


class LedgerMachine(RuleBasedStateMachine):
    world: World  # set by the test before the run

    earns = Bundle("earns")
    redemptions = Bundle("redemptions")

    def __init__(self) -> None:
        super().__init__()
        self.model = Model(self.world.point_types, self.world.tz)
        self.now = START
        self.keys = itertools.count(1)
        self.receipts = itertools.count(1)
        self.keyed_calls: list[Call] = []
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.clock = time_machine.travel(self.now, tick=False)
        self.traveller = self.clock.start()

    def teardown(self) -> None:
        self.clock.stop()
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    # helpers
    def member(self, index: int) -> Any:
        return self.world.members[index]

    def new_key(self, use: bool) -> str:
        return f"sm-{next(self.keys)}" if use else ""

    def attempt(self, expected: type[Exception] | None, fn, **kwargs) -> Any:
        """Call a service; it must refuse exactly when the model refused, and then book nothing."""
        event(f"{fn.__name__}: " + (f"refused, {expected.__name__}" if expected else "booked"))
        before = Booking.objects.count()
        try:
            result = fn(**kwargs)
        except Exception as exc:
            if expected is None or not isinstance(exc, expected):
                raise AssertionError(f"{fn.__name__} raised {exc!r}; the model expected {expected}") from exc
            assert Booking.objects.count() == before, f"a refused {fn.__name__} booked something"
            return None
        assert expected is None, f"{fn.__name__} booked; the model expected {expected.__name__}"
        return result

    def model_step(self, fn, *args) -> tuple[Any, type[Exception] | None]:
        try:
            return fn(*args), None
        except Refused as refused:
            return None, refused.error

    def remember(self, key: str, fn, kwargs: dict[str, Any], booking: Booking | None, other: dict[str, Any]) -> None:
        """A booked call with a key: later retried (same answer) or reused for another request (409)."""
        if key and booking is not None:
            self.keyed_calls.append(Call(fn, kwargs, booking.pk, {**kwargs, **other}))

    # earn
    @initialize(
        target=earns,
        amounts=st.lists(st.integers(min_value=100, max_value=3000), min_size=MEMBERS, max_size=MEMBERS),
        expiry=st.sampled_from(["policy", None]),
        first_member_owes=st.booleans(),
    )
    def every_member_starts_with_points(self, amounts, expiry, first_member_owes):
        """Points from the first step, so spending and transfers come sooner; sometimes the first
        member starts owing points instead (spent them, then the earn was reversed): credits to a
        member in debt are where the mechanics are subtlest."""
        earns = [
            self._earn(member, "shop", [("points", n, 0, expiry), ("points", n // 2, None, expiry)], None, False)
            for member, n in enumerate(amounts)
        ]
        if first_member_owes:
            self._redeem(0, "points", self.model.redeemable((0, "points"), self.now), "shop", False)
            self._reverse_earn(earns[0], None)
        return multiple(*earns)

    @rule(
        target=earns,
        member=members,
        sponsor=sponsor_keys,
        raw_lines=st.lists(line_strategy, min_size=1, max_size=2),
        late_hours=st.one_of(st.none(), st.integers(min_value=0, max_value=40 * 24)),
        keyed=st.booleans(),
    )
    def earn(self, member, sponsor, raw_lines, late_hours, keyed):
        return self._earn(member, sponsor, raw_lines, late_hours, keyed)

    def _earn(self, member, sponsor, raw_lines, late_hours, keyed) -> int:
        lines = []
        for i, (key, amount, matures_in, expires_in) in enumerate(raw_lines):
            matures_at = None if matures_in is None else self.now + matures_in * HOUR
            if expires_in == "policy":
                expires_at = USE_POLICY
            else:
                expires_at = None if expires_in is None else self.now + expires_in * HOUR
            ref = str(i + 1) if len(raw_lines) > 1 else ""
            lines.append((key, amount, ref, matures_at, expires_at))
        earned_at = None if late_hours is None else self.now - late_hours * HOUR
        receipt = f"RC-{next(self.receipts)}"
        record, expected = self.model_step(self.model.earn, member, sponsor, receipt, lines, self.now, earned_at)
        key = self.new_key(keyed)
        kwargs = {
            "membership": self.member(member),
            "sponsor": self.world.sponsors[sponsor],
            "lines": [EarnLine(self.world.point_types[k], a, r, m, e) for k, a, r, m, e in lines],
            "receipt_id": receipt,
            "actor": ACTOR,
            "idempotency_key": key,
            "earned_at": earned_at,
        }
        booking = self.attempt(expected, earn_points, **kwargs)
        assert booking is not None
        record.booking = booking
        self.remember(key, earn_points, kwargs, booking, {"receipt_id": receipt + "-other"})
        return len(self.model.earns) - 1

    @rule(earn=earns, raw_lines=st.lists(line_strategy, min_size=1, max_size=1))
    def earn_the_same_receipt_again(self, earn, raw_lines):
        record = self.model.earns[earn]
        key, amount, _m, _e = raw_lines[0]
        lines = [(key, amount, "", None, None)]
        _, expected = self.model_step(
            self.model.earn, record.member, record.sponsor, record.receipt, lines, self.now, None
        )
        assert expected is ReceiptAlreadyBooked
        self.attempt(
            expected,
            earn_points,
            membership=self.member(record.member),
            sponsor=self.world.sponsors[record.sponsor],
            lines=[EarnLine(self.world.point_types[key], amount)],
            receipt_id=record.receipt,
            actor=ACTOR,
        )

    # spend
    def _redeem(self, member, key, points, sponsor, keyed):
        record, expected = self.model_step(self.model.redeem, member, key, points, self.now)
        idem = self.new_key(keyed)
        kwargs = {
            "membership": self.member(member),
            "points": points,
            "point_type": self.world.point_types[key],
            "sponsor": self.world.sponsors[sponsor],
            "actor": ACTOR,
            "idempotency_key": idem,
        }
        booking = self.attempt(expected, redeem_points, **kwargs)
        if booking is None:
            return multiple()
        record.receipt = booking.receipt_id
        self.remember(idem, redeem_points, kwargs, booking, {"points": points + 1})
        return len(self.model.redemptions) - 1

    @rule(target=redemptions, member=members, points=st.integers(1, 1500), sponsor=sponsor_keys, keyed=st.booleans())
    def redeem(self, member, points, sponsor, keyed):
        return self._redeem(member, "points", points, sponsor, keyed)

    @rule(target=redemptions, member=members, delta=st.sampled_from([-1, 0, 1]), keyed=st.booleans())
    def redeem_at_the_edge(self, member, delta, keyed):
        """Exactly the redeemable balance, one less, one more: where off-by-one bugs live."""
        points = self.model.redeemable((member, "points"), self.now) + delta
        if points <= 0:
            return multiple()
        return self._redeem(member, "points", points, "shop", keyed)

    @rule(member=members, points=amounts)
    def redeem_status_points(self, member, points):
        self._redeem(member, "status", points, "shop", False)

    @rule(
        member=members,
        key=st.sampled_from(["points", "points", "status"]),
        points=st.integers(-800, 800).filter(bool),
        sponsor=sponsor_keys,
        keyed=st.booleans(),
    )
    def adjust(self, member, key, points, sponsor, keyed):
        _, expected = self.model_step(self.model.adjust, member, key, points, self.now)
        idem = self.new_key(keyed)
        kwargs = {
            "membership": self.member(member),
            "points": points,
            "point_type": self.world.point_types[key],
            "sponsor": self.world.sponsors[sponsor],
            "reason": "state machine",
            "actor": ACTOR,
            "idempotency_key": idem,
        }
        booking = self.attempt(expected, adjust_points, **kwargs)
        self.remember(idem, adjust_points, kwargs, booking, {"reason": "another reason"})

    @rule(
        giver=members,
        step=st.sampled_from([1, 2, 1, 2, 0]),  # 0: to oneself, refused
        key=st.sampled_from(["points", "points", "points", "status"]),
        points=st.one_of(st.integers(min_value=1, max_value=500), st.sampled_from(["all", "half"])),
        keyed=st.booleans(),
    )
    def transfer(self, giver, step, key, points, keyed):
        taker = (giver + step) % MEMBERS
        if points in ("all", "half"):
            available = self.model.available((giver, key), self.now)
            points = available if points == "all" else available // 2
            if points <= 0:
                return
        _, expected = self.model_step(self.model.transfer, giver, taker, key, points, self.now)
        idem = self.new_key(keyed)
        kwargs = {
            "source": self.member(giver),
            "target": self.member(taker),
            "points": points,
            "point_type": self.world.point_types[key],
            "actor": ACTOR,
            "idempotency_key": idem,
        }
        booking = self.attempt(expected, transfer_points, **kwargs)
        self.remember(idem, transfer_points, kwargs, booking, {"points": points + 1})

    # reversals
    @rule(earn=earns, data=st.data())
    def reverse_an_earn(self, earn, data):
        refs = sorted({ref for _k, _a, ref in self.model.earns[earn].lines})
        self._reverse_earn(earn, data.draw(st.one_of(st.none(), st.sampled_from(refs).map(lambda ref: [ref]))))

    @rule(earn=earns)
    def spend_everything_then_reverse_an_earn(self, earn):
        """The road to a debt: the member spends all they can, then the earn is taken back."""
        member = self.model.earns[earn].member
        points = self.model.redeemable((member, "points"), self.now)
        if points > 0:
            self._redeem(member, "points", points, "shop", False)
        self._reverse_earn(earn, None)

    def _reverse_earn(self, earn: int, line_refs: list[str] | None) -> None:
        count, expected = self.model_step(self.model.reverse_earn, earn, line_refs, self.now)
        booking = self.model.earns[earn].booking
        created = self.attempt(expected, reverse_earn, booking=booking, actor=ACTOR, line_refs=line_refs)
        if created is not None:
            assert len(created) == count

    @rule(redemption=redemptions, keyed=st.booleans())
    def reverse_a_redemption(self, redemption, keyed):
        _, expected = self.model_step(self.model.reverse_redemption, redemption, self.now)
        idem = self.new_key(keyed)
        kwargs = {"receipt_id": self.model.redemptions[redemption].receipt, "actor": ACTOR, "idempotency_key": idem}
        booking = self.attempt(expected, reverse_redemption, **kwargs)
        if booking is not None and idem:
            other = next((r.receipt for r in self.model.redemptions if r.receipt != kwargs["receipt_id"]), None)
            if other:
                self.remember(idem, reverse_redemption, kwargs, booking, {"receipt_id": other})

    # idempotency
    @precondition(lambda self: self.keyed_calls)
    @rule(data=st.data())
    def retry_with_the_same_key(self, data):
        call = data.draw(st.sampled_from(self.keyed_calls))
        before = Booking.objects.count()
        again = call.fn(**call.kwargs)
        assert again.pk == call.booking_pk, "a retry with the same key booked anew"
        assert Booking.objects.count() == before, "a retry with the same key booked something"

    @precondition(lambda self: self.keyed_calls)
    @rule(data=st.data())
    def reuse_a_key_for_another_request(self, data):
        call = data.draw(st.sampled_from(self.keyed_calls))
        self.attempt(IdempotencyKeyReused, call.fn, **call.other)

    # time
    @rule(hours=st.integers(min_value=1, max_value=24 * 20))
    def advance_the_clock(self, hours):
        self.move_to(self.now + hours * HOUR)

    @rule(data=st.data())
    def advance_onto_a_lot_boundary(self, data):
        """Exactly a lot's maturity or expiry: blocked until, expired at."""
        moments = sorted(
            {lot.matures_at for lot in self.model.lots if lot.matures_at > self.now}
            | {lot.expires_at for lot in self.model.lots if lot.expires_at and lot.expires_at > self.now}
        )
        if moments:
            self.move_to(data.draw(st.sampled_from(moments)))

    def move_to(self, moment: datetime) -> None:
        self.now = moment
        self.traveller.move_to(moment)

    @rule()
    def run_expiry(self):
        expected = self.model.expire(None, self.now)
        assert expire_due(actor=ACTOR) == expected

    # checks after every step
    @invariant()
    def the_ledger_matches_its_model(self):
        """I1-I10 hold, and balances, blocked and redeemable points, lots and debts are the model's."""
        assert datetime.now(UTC) == self.now, "the clock left the machine's time"
        assert verify() == []
        for index, membership in enumerate(self.world.members):
            for key, point_type in self.world.point_types.items():
                account = (index, key)
                got = balance_of(membership, point_type)
                want = (
                    self.model.balance(account),
                    self.model.blocked(account, self.now),
                    self.model.redeemable(account, self.now),
                )
                assert (got.balance, got.blocked, got.redeemable) == want, (
                    f"member {index} {key}: balance, blocked, redeemable"
                )
        accounts = {}
        for index, membership in enumerate(self.world.members):
            for key, point_type in self.world.point_types.items():
                accounts[(membership.pk, point_type.pk)] = (index, key)
        got_lots, got_debt = [], {}
        rows = Lot.objects.filter(account__kind="member").values_list(
            "account__membership_id", "account__point_type_id", "state", "remaining", "matures_at", "expires_at"
        )
        for membership_id, point_type_id, state, remaining, matures_at, expires_at in rows:
            account = accounts[(membership_id, point_type_id)]
            if state == Lot.State.DEBT:
                got_debt[account] = got_debt.get(account, 0) + remaining
            elif state == Lot.State.ACTIVE and remaining:
                got_lots.append((account, remaining, matures_at, expires_at))
        want_lots = [
            (lot.account, lot.remaining, lot.matures_at, lot.expires_at)
            for lot in self.model.lots
            if lot.state == "active" and lot.remaining
        ]
        want_debt = {account: debt for account, debt in self.model.debt.items() if debt}
        assert sorted(got_lots, key=repr) == sorted(want_lots, key=repr), "lots (member, remaining, matures, expires)"
        assert {a: d for a, d in got_debt.items() if d} == want_debt, "debts"
        if want_debt:
            event("a member owes points")
        if any(lot.matures_at > self.now for lot in self.model.lots if lot.remaining):
            event("blocked points")


@pytest.fixture
def world(make_member, ledger_program) -> World:
    program = Program.current()
    program.time_zone = TIME_ZONE
    save_configuration(program, actor=ACTOR)
    points = ledger_program.points
    points.expiry_policy = PointType.Expiry.END_OF_MONTH
    points.expiry_months = EXPIRY_MONTHS
    points.maturation_days = MATURATION_DAYS
    save_configuration(points, actor=ACTOR)
    return World(
        members=[make_member() for _ in range(MEMBERS)],
        point_types={"points": points, "status": ledger_program.status},
        sponsors={"shop": ledger_program.shop, "fuel": ledger_program.fuel},
        tz=ZoneInfo(TIME_ZONE),
    )


def test_the_ledger_behaves_like_its_model(world):
    LedgerMachine.world = world
    run_state_machine_as_test(LedgerMachine, settings=ledger_settings())
