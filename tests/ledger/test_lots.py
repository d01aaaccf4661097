"""Lots, maturation, expiry and reversals, one booking at a time (LEDGER.md)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from ledger.errors import AlreadyReversed, InsufficientPoints, NotRedeemable, NotTransferable
from ledger.models import Booking, Lot
from ledger.selectors import balance_of
from ledger.services import (
    adjust_points,
    expire_due,
    redeem_points,
    reverse_earn,
    reverse_redemption,
    transfer_points,
)
from ledger.verify import verify
from tests.ledger.conftest import ACTOR

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ledger_stays_consistent(db):
    yield
    assert verify() == []


def redeem(member, points, program, **kwargs):
    return redeem_points(
        membership=member, points=points, point_type=program.points, sponsor=program.shop, actor=ACTOR, **kwargs
    )


def lots(member):
    return list(Lot.objects.filter(account__membership=member, state="active", remaining__gt=0).order_by("pk"))


def test_redeem_takes_the_lot_that_expires_first(member, earn, ledger_program):
    march = datetime(2031, 3, 1, tzinfo=UTC)
    january = datetime(2031, 1, 1, tzinfo=UTC)
    earn(member, 15000, expires_at=march)
    earn(member, 10000, expires_at=january)
    redeem(member, 12000, ledger_program)
    by_expiry = {lot.expires_at: lot.remaining for lot in Lot.objects.filter(account__membership=member)}
    assert by_expiry == {january: 0, march: 13000}
    assert balance_of(member, ledger_program.points).balance == 13000


def test_points_that_never_expire_are_spent_last(member, earn, ledger_program):
    earn(member, 500, expires_at=None)
    earn(member, 500, expires_at=datetime(2031, 1, 1, tzinfo=UTC))
    redeem(member, 600, ledger_program)
    assert [lot.remaining for lot in Lot.objects.filter(account__membership=member).order_by("pk")] == [400, 0]


def test_blocked_points_count_in_the_balance_but_cannot_be_spent_until_they_mature(member, earn, ledger_program):
    earn(member, 5000, matures_in_days=14)
    balance = balance_of(member, ledger_program.points)
    assert (balance.balance, balance.blocked, balance.redeemable) == (5000, 5000, 0)
    with pytest.raises(InsufficientPoints):
        redeem(member, 100, ledger_program)
    with time_machine.travel(timezone.now() + timedelta(days=14, seconds=1)):
        redeem(member, 100, ledger_program)
        assert balance_of(member, ledger_program.points).redeemable == 4900


def test_a_redeem_beyond_the_redeemable_balance_is_refused_and_books_nothing(member, earn, ledger_program):
    earn(member, 10000)
    with pytest.raises(InsufficientPoints) as refused:
        redeem(member, 15000, ledger_program)
    assert refused.value.code == "insufficient_points"
    assert not Booking.objects.filter(kind="redeem").exists()
    assert balance_of(member, ledger_program.points).balance == 10000


def test_reversing_a_spent_earn_leaves_a_debt_the_next_earn_pays_first(member, earn, ledger_program):
    first = earn(member, 10000)
    redeem(member, 7000, ledger_program)
    reverse_earn(booking=first, actor=ACTOR)
    balance = balance_of(member, ledger_program.points)
    assert balance.balance == -7000 and balance.redeemable == 0
    earn(member, 10000)
    balance = balance_of(member, ledger_program.points)
    assert balance.balance == 3000 and balance.redeemable == 3000
    assert [lot.remaining for lot in lots(member)] == [3000]


def test_an_earn_is_reversed_once_whole_or_once_per_line(member, ledger_program):
    from ledger.services import EarnLine, earn_points

    booking = earn_points(
        membership=member,
        sponsor=ledger_program.shop,
        lines=[EarnLine(ledger_program.points, 1000, "1"), EarnLine(ledger_program.points, 2500, "2")],
        receipt_id="R-1",
        actor=ACTOR,
    )
    [first] = reverse_earn(booking=booking, actor=ACTOR, line_refs=["2"])
    assert first.line_ref == "2"
    assert balance_of(member, ledger_program.points).balance == 1000
    with pytest.raises(AlreadyReversed):
        reverse_earn(booking=booking, actor=ACTOR, line_refs=["2"])
    [rest] = reverse_earn(booking=booking, actor=ACTOR)  # whole: only what is left
    assert rest.line_ref == "1"
    assert balance_of(member, ledger_program.points).balance == 0
    with pytest.raises(AlreadyReversed):
        reverse_earn(booking=booking, actor=ACTOR)


def test_a_redemption_reversal_restores_the_lots_once(member, earn, ledger_program):
    earn(member, 10000, expires_at=datetime(2031, 1, 1, tzinfo=UTC))
    booking = redeem(member, 4000, ledger_program)
    reverse_redemption(receipt_id=booking.receipt_id, actor=ACTOR)
    assert [lot.remaining for lot in lots(member)] == [10000]
    with pytest.raises(AlreadyReversed):
        reverse_redemption(receipt_id=booking.receipt_id, actor=ACTOR)


def test_a_reversed_share_of_an_expired_lot_comes_back_with_its_old_expiry(member, earn, ledger_program):
    soon = timezone.now() + timedelta(days=1)
    earn(member, 1000, expires_at=soon)
    booking = redeem(member, 400, ledger_program)
    with time_machine.travel(soon + timedelta(hours=1)):
        expire_due(actor=ACTOR)
        reverse_redemption(receipt_id=booking.receipt_id, actor=ACTOR)
        returned = Lot.objects.filter(account__membership=member).order_by("-pk").first()
        assert returned.expires_at == soon and returned.remaining == 400
        assert balance_of(member, ledger_program.points).redeemable == 0
        expire_due(actor=ACTOR)
        assert balance_of(member, ledger_program.points).balance == 0


def test_expiry_books_each_lot_once_however_often_it_runs(member, earn, ledger_program):
    soon = timezone.now() + timedelta(days=1)
    earn(member, 1000, expires_at=soon)
    earn(member, 700, expires_at=soon + timedelta(days=30))
    with time_machine.travel(soon + timedelta(hours=1)):
        assert expire_due(actor=ACTOR) == 1
        assert expire_due(actor=ACTOR) == 0
        call_command("run_job", "expire_points", stdout=None)
    assert Booking.objects.filter(kind="expire").count() == 1
    assert balance_of(member, ledger_program.points).balance == 700


def test_an_overdue_lot_expires_when_the_account_is_touched(member, earn, ledger_program):
    soon = timezone.now() + timedelta(days=1)
    earn(member, 1000, expires_at=soon)
    earn(member, 500)
    with time_machine.travel(soon + timedelta(hours=1)):
        with pytest.raises(InsufficientPoints):
            redeem(member, 1200, ledger_program)
        redeem(member, 500, ledger_program)
    assert Booking.objects.filter(kind="expire").count() == 1
    assert balance_of(member, ledger_program.points).balance == 0


def test_a_transfer_keeps_each_slice_s_expiry_and_issuer(make_member, earn, ledger_program):
    giver, taker = make_member(), make_member()
    expiry = datetime(2031, 6, 1, tzinfo=UTC)
    earn(giver, 3000, expires_at=expiry, sponsor=ledger_program.fuel)
    transfer_points(source=giver, target=taker, points=2000, point_type=ledger_program.points, actor=ACTOR)
    [lot] = lots(taker)
    assert (lot.remaining, lot.expires_at, lot.sponsor_id) == (2000, expiry, ledger_program.fuel.pk)
    assert balance_of(giver, ledger_program.points).balance == 1000


def test_status_points_cannot_be_redeemed_or_transferred(make_member, earn, ledger_program):
    giver, taker = make_member(), make_member()
    earn(giver, 50, point_type=ledger_program.status)
    assert balance_of(giver, ledger_program.status).redeemable == 0
    with pytest.raises(NotRedeemable):
        redeem_points(
            membership=giver, points=10, point_type=ledger_program.status, sponsor=ledger_program.shop, actor=ACTOR
        )
    with pytest.raises(NotTransferable):
        transfer_points(source=giver, target=taker, points=10, point_type=ledger_program.status, actor=ACTOR)


def test_adjustments_credit_at_once_and_debit_without_overdraft(member, ledger_program):
    adjust_points(
        membership=member,
        points=2500,
        point_type=ledger_program.points,
        sponsor=ledger_program.fuel,
        reason="goodwill",
        actor=ACTOR,
    )
    assert balance_of(member, ledger_program.points).redeemable == 2500
    adjust_points(
        membership=member,
        points=-500,
        point_type=ledger_program.points,
        sponsor=ledger_program.fuel,
        reason="correction",
        actor=ACTOR,
    )
    with pytest.raises(InsufficientPoints):
        adjust_points(
            membership=member,
            points=-5000,
            point_type=ledger_program.points,
            sponsor=ledger_program.fuel,
            reason="too much",
            actor=ACTOR,
        )
    assert balance_of(member, ledger_program.points).balance == 2000


def test_the_same_idempotency_key_books_once(member, earn, ledger_program):
    earn(member, 1000)
    first = redeem(member, 100, ledger_program, idempotency_key="k-1")
    again = redeem(member, 100, ledger_program, idempotency_key="k-1")
    assert first.pk == again.pk
    assert balance_of(member, ledger_program.points).balance == 900


def test_the_alike_lines_of_one_earn_make_one_lot_and_still_reverse_per_line(member, ledger_program):
    from ledger.services import EarnLine, earn_points

    later = timezone.now() + timedelta(days=30)
    booking = earn_points(
        membership=member,
        sponsor=ledger_program.shop,
        lines=[
            EarnLine(ledger_program.points, 1000, "a"),
            EarnLine(ledger_program.points, 2500, "b"),
            EarnLine(ledger_program.points, 700, "c", matures_at=later),  # blocked longer: a lot of its own
            EarnLine(ledger_program.status, 40, "a"),
        ],
        receipt_id="R-FOLD",
        actor=ACTOR,
    )
    made = sorted((lot.account.point_type.key, lot.original, lot.line_ref) for lot in booking.lots.all())
    assert made == [("points", 700, "c"), ("points", 3500, ""), ("status", 40, "a")]
    [back] = reverse_earn(booking=booking, actor=ACTOR, line_refs=["b"])
    assert back.line_ref == "b"
    assert balance_of(member, ledger_program.points).balance == 1700
    assert verify() == []
