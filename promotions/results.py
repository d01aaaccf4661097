"""A promotion's results page: what it gave over a period (points per day or month, rewards, budget used as
it went), from the daily summary of booked rewards (transactions registers the source), so the page reads a
few hundred summary rows however many purchases there were."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.utils import timezone

from ledger.amounts import show_points
from ledger.models import PointType
from loyalty.charts import Series, line_chart
from loyalty.rollups import Period
from promotions.hooks import members_reached, rewards_per_day
from promotions.models import Promotion


def promotion_results(promotion: Promotion, period: Period) -> dict[str, Any]:
    definition = promotion.definition
    point_type = PointType.objects.filter(key=definition.get("pointType", "")).first()
    precision = point_type.precision if point_type else 0
    name = point_type.name if point_type else definition.get("pointType", "points")
    rows = [
        r
        for r in rewards_per_day(promotion.key, period.first, period.last)
        if r["point_type"] == definition.get("pointType")
    ]
    amount = {r["day"]: r["amount"] for r in rows}
    rewards = {r["day"]: r["rewards"] for r in rows}
    groups = period.buckets()
    labels = [label for label, _ in groups]

    def per_bucket(values: dict[date, int]) -> list[int]:
        return [sum(values.get(d, 0) for d in days) for _, days in groups]

    def axis(value: float) -> str:
        return f"{Decimal(value).scaleb(-precision):,.0f}" if precision else f"{value:,.0f}"

    given = per_bucket(amount)
    charts = [
        ("Points given", line_chart(labels, [Series(name, given)], title=f"{name} given", fmt=axis)),
        (
            "Rewards",
            line_chart(labels, [Series("Rewards", per_bucket(rewards))], title="Rewards", fmt=lambda v: f"{v:,.0f}"),
        ),
    ]
    cap = (definition.get("caps") or {}).get("budget")
    budget_note = ""
    if cap is not None:
        budget = int(Decimal(str(cap)).scaleb(precision))
        used_now = promotion.budget.used if hasattr(promotion, "budget") else 0
        # The budget used at the end of each bucket: what is used now less what was given after it.
        after, levels = sum(given), []
        for value in given:
            after -= value
            levels.append(used_now - after)
        share = [100 * level / budget if budget else 0 for level in levels]
        charts.append(
            (
                "Budget used",
                line_chart(labels, [Series("Budget used, %", share)], title="Budget used", fmt=lambda v: f"{v:.0f} %"),
            )
        )
        if budget:
            used, whole = show_points(used_now, precision), show_points(budget, precision)
            budget_note = f"{used} of {whole} used ({100 * used_now / budget:.1f} %)"
    reached = members_reached(promotion.key, period, timezone.now())
    return {
        "reached": f"{reached[0]:,}" if reached else "",
        "reached_as_of": reached[1] if reached else None,
        "point_type": name,
        "given": show_points(sum(given), precision),
        "rewards": f"{sum(rewards.values()):,}",
        "budget": budget_note,
        "charts": charts,
    }


def backtest_report(result: Any) -> dict[str, Any]:
    """A backtest in the manager's terms: the window in the program's days, why it was narrowed, the extra
    points against the promotions live now per day (a chart), and the extra liability in money when the
    program says what a point is worth."""
    from loyalty.models import Program
    from loyalty.rollups import program_zone

    program = Program.current()
    zone = program_zone()
    first = result.since.astimezone(zone).date()
    last = (result.until or result.since).astimezone(zone).date()
    days = [first.fromordinal(n) for n in range(first.toordinal(), last.toordinal() + 1)] if first <= last else []
    point_type = PointType.objects.filter(key=result.point_type).first()
    precision = point_type.precision if point_type else 0
    name = point_type.name if point_type else result.point_type

    def axis(value: float) -> str:
        return f"{Decimal(value).scaleb(-precision):,.0f}" if precision else f"{value:,.0f}"

    extra = [result.extra_per_day.get(d, 0) for d in days]
    chart = (
        line_chart(
            [f"{d.day} {d:%b}" for d in days], [Series("Extra points", extra)], title="Extra points per day", fmt=axis
        )
        if days
        else ""
    )
    start, end = result.since.astimezone(zone), (result.until or result.since).astimezone(zone)
    money = ""
    if program.point_value is not None and point_type is not None and point_type.is_main:
        worth = Decimal(result.extra_minor).scaleb(-precision) * program.point_value
        money = f"{worth:,.2f} {program.currency}"
    return {
        "window": f"{start:%-d %b %Y %H:%M} – {end:%-d %b %Y %H:%M} ({zone.key})",
        "clipped": result.clipped,
        "point_type": name,
        "extra": show_points(result.extra_minor, precision),
        "money": money,
        "chart": chart,
    }
