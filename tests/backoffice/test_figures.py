"""Every dashboard figure against rows built for it (purchases through /tx's service, a redemption,
vouchers, a failed import), the same before and after the daily summaries are filled."""

from decimal import Decimal

import time_machine

from backoffice.selectors import figures, period_of
from ledger.models import PointType
from ledger.selectors import balance_of
from loyalty.models import Sponsor
from loyalty.tasks import roll_up_days
from tests.backoffice.conftest import AMSTERDAM, NOW, local
from transactions.models import Transaction, TransactionReward


def dashboard(period_key: str = "7d"):
    points = PointType.objects.get(key="points")
    with time_machine.travel(NOW, tick=False):
        return figures(period_of(period_key, NOW, AMSTERDAM), points, None, NOW)


def test_every_figure_matches_the_rows_built_for_it(shop):
    figs = dashboard("7d")
    points = PointType.objects.get(key="points")
    held = sum(balance_of(m, points).balance for m in (shop["anna"], shop["bert"]))
    in_period = Transaction.objects.filter(created_at__gte=local(2026, 12, 1))
    earned_in_period = sum(
        r.amount for r in TransactionReward.objects.filter(transaction__in=in_period, point_type="points")
    )

    assert (figs.period.first.isoformat(), figs.period.last.isoformat()) == ("2026-12-01", "2026-12-07")
    assert figs.members["total"] == 3
    assert figs.members["by_status"] == {"active": 2, "cancelled": 1}
    assert figs.buyers == 2
    assert sum(figs.enrollments.values()) == 2
    issued = sum(day["issued"] for day in figs.flows.values())
    assert issued == earned_in_period > 0
    assert sum(day["redeemed"] for day in figs.flows.values()) == 300
    owed_now = sum(figs.owed_before.values()) + sum(sum(c.values()) for c in figs.owed_change.values())
    assert owed_now == held  # what the sponsors owe is what members hold
    assert figs.owed_before == {Sponsor.objects.get(key="northwind").pk: held - issued + 300}
    assert [(c["channel"], c["transactions"], c["sales"]) for c in figs.channels] == [
        ("webshop", 2, sum(t.total_amount for t in in_period))
    ]
    assert figs.channels[0]["sales"] == Decimal("12.98") + Decimal("15.87")
    by_key = {p["promotion_key"]: p for p in figs.promotions}
    assert by_key.keys() == {"base", "coffee-double"}
    assert sum(p["amount"] for p in figs.promotions) == earned_in_period
    assert figs.vouchers == {"issued": 2, "converted": 1}
    assert [b.failed_count for b in figs.imports] == [2]
    assert figs.recent[0].action  # the latest audit entries, newest first
    assert figs.recent == sorted(figs.recent, key=lambda e: -e.pk)


def test_the_figures_are_the_same_once_the_days_are_summed(shop):
    before = dashboard("30d")
    with time_machine.travel(NOW, tick=False):
        assert roll_up_days()["ledger.daily_points"] > 0
    after = dashboard("30d")
    assert after.buyers == before.buyers and after.buyers_as_of == NOW  # from the snapshot the job took
    assert after.members == before.members and after.ahead == before.ahead
    for name in ("flows", "owed_before", "owed_change", "channels", "promotions", "sales_per_day"):
        assert getattr(after, name) == getattr(before, name), name


def test_a_sponsor_narrows_the_figures(shop):
    other = Sponsor.objects.create(key="elsewhere", name="Elsewhere")
    points = PointType.objects.get(key="points")
    with time_machine.travel(NOW, tick=False):
        figs = figures(period_of("30d", NOW, AMSTERDAM), points, other, NOW)
    assert figs.flows == {} and figs.channels == [] and figs.buyers == 0 and figs.members["total"] == 0


def test_twelve_months_start_on_the_first_of_a_month_and_unknown_periods_mean_thirty_days():
    assert period_of("12m", NOW, AMSTERDAM).first.isoformat() == "2026-01-01"
    fallback = period_of("forever", NOW, AMSTERDAM)
    assert (fallback.key, fallback.first.isoformat()) == ("30d", "2026-11-08")
