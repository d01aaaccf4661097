"""The backtest in a manager's terms: the window it ran over and why it is narrower than asked, what a draft
changes against the promotions live now (purchases affected, extra points per day), and the extra liability
in money at the program's point value."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from loyalty.models import Program
from promotions.backtest import backtest, backtest_window
from promotions.models import Promotion
from promotions.services import save_promotion
from tests.factories import StaffUserFactory
from tests.promotions.conftest import ACTOR, buy, new_member

pytestmark = pytest.mark.django_db
UTC = timezone.get_fixed_timezone(0)


def test_the_window_is_clipped_to_the_promotions_dates_and_names_its_weekdays_and_hours():
    from zoneinfo import ZoneInfo

    now = timezone.now()
    since = now - timedelta(days=30)
    starts = (now - timedelta(days=10)).replace(microsecond=0)
    definition = {
        "validity": {"from": starts.isoformat(), "weekdays": [1, 5], "hours": {"from": "07:00", "to": "12:00"}}
    }
    start, end, reasons = backtest_window(definition, since, now, ZoneInfo("UTC"))
    assert (start, end) == (starts, now)
    assert reasons[0].startswith("the promotion starts ") and reasons[0].endswith(", so the window begins there")
    assert reasons[1:] == ["it applies on Mon, Fri only", "it applies from 07:00 to 12:00 only"]
    assert backtest_window({}, since, now, ZoneInfo("UTC")) == (since, now, [])


def test_a_draft_is_compared_with_the_live_promotions(tx_program):
    alice, bob = new_member(), new_member()
    buy(alice, [("COF-001", "2", "6.49")], days_ago=2)  # coffee: 12.98 base, 12.98 more by coffee-double
    buy(bob, [("TEA-001", "1", "2.89")], days_ago=1)  # no coffee
    coffee = Promotion.objects.get(key="coffee-double")
    # A draft version of coffee-double that triples: only the coffee purchase changes, by 12.98 more.
    tripled = {**coffee.definition, "effects": [{"type": "multiplier", "factor": "3"}]}
    draft = save_promotion(key="coffee-triple", name="Triple coffee", definition=tripled, active=False, actor=ACTOR)
    result = backtest(draft, days=30)
    assert (result.scanned, result.affected) == (2, 1)
    assert result.extra == "25.96"  # its own ×3 stacks on coffee-double's ×2: 2 × 12.98 more than live
    day = (timezone.now() - timedelta(days=2)).astimezone(UTC).date()
    assert result.extra_per_day == {day: 2596}
    live = backtest(coffee, days=30)  # the live version against itself changes nothing
    assert (live.affected, live.extra) == (0, "0.00")


def test_the_page_states_the_window_and_the_extra_liability_in_money(tx_program):
    program = Program.current()
    program.point_value = Decimal("0.01")
    program.save()
    buy(new_member(), [("COF-001", "2", "6.49")], days_ago=2)
    coffee = Promotion.objects.get(key="coffee-double")
    starts = (timezone.now() - timedelta(days=5)).replace(microsecond=0)
    extra = {**coffee.definition, "validity": {"from": starts.isoformat()}}
    draft = save_promotion(key="coffee-extra", name="Extra coffee", definition=extra, active=False, actor=ACTOR)
    client = Client()
    client.force_login(StaffUserFactory())
    page = client.get(f"/admin/promotions/promotion/{draft.pk}/backtest/", {"days": "30"}).content.decode()
    assert "Narrower than asked: the promotion starts " in page
    assert '<td class="affected">1</td>' in page and "12.98 points" in page
    assert '<td class="money">0.13 EUR</td>' in page  # 12.98 points at 0.01 EUR
    assert "Extra points per day" in page and "<svg" in page


@pytest.fixture
def eager(settings):
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def test_a_long_window_runs_on_a_worker_and_the_page_follows_it(
    tx_program, monkeypatch, eager, django_capture_on_commit_callbacks
):
    from promotions import backtest as module
    from promotions.models import BacktestRun

    for days_ago in (1, 2, 3):
        buy(new_member(), [("COF-001", "1", "6.49")], days_ago=days_ago)
    monkeypatch.setattr(module, "INLINE_LIMIT", 2)  # three purchases are "many" here
    monkeypatch.setattr(module, "PROGRESS_EVERY", 1)
    coffee = Promotion.objects.get(key="coffee-double")
    client = Client()
    client.force_login(StaffUserFactory())
    url = f"/admin/promotions/promotion/{coffee.pk}/backtest/"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(url, {"days": "30"})
    run = BacktestRun.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"?run={run.pk}")
    assert (run.status, run.expected, run.scanned) == ("done", 3, 3)
    page = client.get(response["Location"]).content.decode()
    inline = backtest(coffee, days=30, now=run.until)
    assert f'<td class="scanned">{inline.scanned}</td>' in page and f"{inline.points} points" in page

    waiting = BacktestRun.objects.create(promotion=coffee, days=30, until=run.until, expected=10, scanned=4)
    page = client.get(url, {"run": waiting.pk}).content.decode()
    assert "4 of about 10 purchases (40 %)" in page and 'http-equiv="refresh"' in page


def test_a_run_result_reads_back_as_it_was(tx_program):
    from promotions.backtest import result_from_json, result_to_json

    buy(new_member(), [("COF-001", "2", "6.49")], days_ago=2)
    result = backtest(Promotion.objects.get(key="coffee-double"), days=30)
    assert result_from_json(result_to_json(result)) == result
