"""Daily summaries (loyalty.rollups): a closed day is summed once, today is read live, and what a
reader sees is the same whether the job has run or not."""

from datetime import date, timedelta

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ledger.models import DailyPoints
from ledger.rollups import DAILY_POINTS
from ledger.services import redeem_points
from loyalty import rollups
from loyalty.models import Program, RollupState
from tests.backoffice.conftest import local
from tests.ledger.conftest import ACTOR


def book_three_days(make_member, earn, ledger_program):
    member = make_member()
    with time_machine.travel(local(2026, 12, 1, 10, 0), tick=False):
        earn(member, 10_000)
    with time_machine.travel(local(2026, 12, 2, 0, 30), tick=False):  # 23:30 UTC on the 1st
        earn(member, 5_000, sponsor=ledger_program.fuel)
        redeem_points(
            membership=member, points=3_000, point_type=ledger_program.points, sponsor=ledger_program.shop, actor=ACTOR
        )
    with time_machine.travel(local(2026, 12, 3, 9, 0), tick=False):
        earn(member, 700)
    return member


def issued(rows):
    return {(r.get("day"), r["sponsor_id"]): r["amount"] for r in rows if r["kind"] == "issued"}


def test_closed_days_are_summed_once_and_read_the_same_as_live(amsterdam, make_member, earn, ledger_program):
    book_three_days(make_member, earn, ledger_program)
    shop, fuel = ledger_program.shop.pk, ledger_program.fuel.pk
    points = {"point_type_id": ledger_program.points.pk}
    live = rollups.read(DAILY_POINTS, date(2026, 12, 1), date(2026, 12, 3), **points)
    assert issued(live) == {
        (date(2026, 12, 1), shop): -10_000,
        (date(2026, 12, 2), fuel): -5_000,  # Amsterdam's 2 December, though UTC's 1 December
        (date(2026, 12, 3), shop): -700,
    }

    summed = rollups.roll_up(DAILY_POINTS, now=local(2026, 12, 3, 12, 0))

    assert summed == 2  # the 1st and the 2nd have ended; the 3rd has not
    assert sorted(set(DailyPoints.objects.values_list("day", flat=True))) == [date(2026, 12, 1), date(2026, 12, 2)]
    assert RollupState.objects.get(name=DAILY_POINTS.name).through == date(2026, 12, 2)
    with CaptureQueriesContext(connection) as queries:
        after = rollups.read(DAILY_POINTS, date(2026, 12, 1), date(2026, 12, 3), tz=amsterdam, **points)
    # How far summed, the summed days; the live rest: the system accounts, the bookings' id range, the sum.
    assert len(queries) == 5
    key = lambda r: (r["day"], r["sponsor_id"], r["kind"])  # noqa: E731
    assert sorted(after, key=key) == sorted(live, key=key)
    assert rollups.roll_up(DAILY_POINTS, now=local(2026, 12, 3, 12, 0)) == 0  # nothing new has ended

    total = rollups.read(DAILY_POINTS, None, date(2026, 12, 3), by_day=False, **points)
    assert sum(r["amount"] for r in total) == 0 - 10_000 - 5_000 - 700 + 3_000


def test_a_day_is_summed_only_once_it_ended_some_minutes_ago(amsterdam, make_member, earn, ledger_program):
    book_three_days(make_member, earn, ledger_program)
    assert rollups.roll_up(DAILY_POINTS, now=local(2026, 12, 3, 0, 5)) == 1  # the 2nd ended 5 minutes ago
    assert RollupState.objects.get(name=DAILY_POINTS.name).through == date(2026, 12, 1)
    assert rollups.roll_up(DAILY_POINTS, now=local(2026, 12, 3, 0, 20)) == 1


def test_a_new_time_zone_sums_every_day_again(amsterdam, make_member, earn, ledger_program):
    book_three_days(make_member, earn, ledger_program)
    rollups.roll_up(DAILY_POINTS, now=local(2026, 12, 3, 12, 0))
    program = Program.current()
    program.time_zone = "UTC"
    program.save()

    rollups.roll_up(DAILY_POINTS, now=local(2026, 12, 3, 12, 0))

    state = RollupState.objects.get(name=DAILY_POINTS.name)
    assert (state.time_zone, state.through) == ("UTC", date(2026, 12, 2))
    rows = rollups.read(DAILY_POINTS, date(2026, 12, 1), date(2026, 12, 1), point_type_id=ledger_program.points.pk)
    assert issued(rows) == {  # in UTC both earlier bookings fall on the 1st
        (date(2026, 12, 1), ledger_program.shop.pk): -10_000,
        (date(2026, 12, 1), ledger_program.fuel.pk): -5_000,
    }


def test_without_any_booking_every_closed_day_counts_as_summed(amsterdam):
    now = local(2026, 12, 3, 12, 0)
    assert rollups.roll_up(DAILY_POINTS, now=now) == 0
    assert RollupState.objects.get(name=DAILY_POINTS.name).through == date(2026, 12, 2)
    assert rollups.read(DAILY_POINTS, date(2026, 11, 1), date(2026, 12, 3)) == []


def test_the_job_sums_every_registered_summary(amsterdam, make_member, earn, ledger_program):
    from loyalty.tasks import roll_up_days

    book_three_days(make_member, earn, ledger_program)
    with time_machine.travel(local(2026, 12, 3, 12, 0) + timedelta(days=1), tick=False):
        summed = roll_up_days()
    assert summed["ledger.daily_points"] == 3
    assert {"transactions.daily_sales", "transactions.daily_rewards"} <= summed.keys()


def test_points_ahead_are_read_from_the_hourly_snapshot_with_its_time(amsterdam, make_member, earn, ledger_program):
    from ledger.rollups import POINTS_AHEAD
    from ledger.selectors import points_ahead
    from loyalty.rollups import take_snapshot

    member = make_member()
    now = local(2026, 12, 3, 12, 0)
    with time_machine.travel(now, tick=False):
        earn(member, 1_000, expires_at=now + timedelta(days=20))
        earn(member, 2_000, expires_at=now + timedelta(days=60), sponsor=ledger_program.fuel)
        earn(member, 4_000, matures_in_days=14)
    pt = ledger_program.points.pk

    live = points_ahead(now, pt)
    assert live["expiring"] == {30: 1_000, 90: 3_000} and live["blocked"] == 4_000
    assert live["blocked_until"] == now + timedelta(days=14) and live["as_of"] == now
    assert points_ahead(now, pt, ledger_program.fuel.pk)["expiring"] == {30: 0, 90: 2_000}

    take_snapshot(POINTS_AHEAD, now)
    with time_machine.travel(now, tick=False):
        earn(member, 500, expires_at=now + timedelta(days=10))  # after the snapshot
    later = now + timedelta(minutes=30)
    seen = points_ahead(later, pt)
    assert seen["as_of"] == now and seen["expiring"][30] == 1_000  # the snapshot's figure, with its time
    assert points_ahead(now + timedelta(hours=3), pt)["expiring"][30] == 1_500  # too old: computed now


def test_blocked_points_per_day_rise_with_blocked_lots_and_fall_with_returns_and_releases(
    amsterdam, make_member, earn, ledger_program
):
    """Blocked at the end of each day, from the daily changes, equals the lots still blocked then (the
    hourly snapshot's figure), whether the days are summed or read live."""
    from ledger.models import DailyBlocked
    from ledger.rollups import DAILY_BLOCKED, points_ahead_now
    from ledger.selectors import blocked_per_day
    from ledger.services.reversal import reverse_earn_amounts

    anna, bert = make_member(), make_member()
    points = ledger_program.points.pk
    truth = {}  # the snapshot's blocked figure at the end of each day

    def blocked_now(day: date) -> int:
        with time_machine.travel(local(day.year, day.month, day.day, 23, 59), tick=False):
            rows = points_ahead_now(local(day.year, day.month, day.day, 23, 59, 59))
        return sum(r["blocked"] for r in rows if r["point_type"] == points)

    with time_machine.travel(local(2026, 12, 1, 10, 0), tick=False):
        first = earn(anna, 10_000, matures_in_days=3)  # blocked until 4 December, 10:00
        earn(anna, 500)  # not blocked
    truth[date(2026, 12, 1)] = blocked_now(date(2026, 12, 1))
    with time_machine.travel(local(2026, 12, 2, 15, 0), tick=False):
        reverse_earn_amounts(booking=first, amounts={"points": 2_500}, reference="return-1", actor=ACTOR)
        earn(bert, 4_000, sponsor=ledger_program.fuel, matures_in_days=1)  # until the 3rd, 15:00
    for day in (2, 3, 4, 5):
        truth[date(2026, 12, day)] = blocked_now(date(2026, 12, day))
    assert list(truth.values()) == [10_000, 11_500, 7_500, 0, 0]

    def levels() -> list[int]:
        with time_machine.travel(local(2026, 12, 5, 12, 0), tick=False):
            before, change = blocked_per_day(date(2026, 12, 2), date(2026, 12, 5), points, tz=amsterdam)
        assert before == truth[date(2026, 12, 1)]
        level, out = before, []
        for day in (2, 3, 4, 5):
            level += change.get(date(2026, 12, day), 0)
            out.append(level)
        return out

    expected = [truth[date(2026, 12, day)] for day in (2, 3, 4, 5)]
    assert levels() == expected  # every day read live
    with time_machine.travel(local(2026, 12, 5, 12, 0), tick=False):
        assert rollups.roll_up(DAILY_BLOCKED) == 4  # the 1st to the 4th have ended
    assert DailyBlocked.objects.exists()
    assert levels() == expected  # summed days and today live: the same
    with time_machine.travel(local(2026, 12, 5, 12, 0), tick=False):
        fuel_only = blocked_per_day(date(2026, 12, 3), date(2026, 12, 3), points, ledger_program.fuel.pk, amsterdam)
    assert fuel_only == (4_000, {date(2026, 12, 3): -4_000})
