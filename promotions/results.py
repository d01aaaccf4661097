"""A promotion's results page: what it gave over a period (points per day or month, rewards, budget used as
it went), from the daily summary of booked rewards (transactions registers the source), so the page reads a
few hundred summary rows however many purchases there were."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from ledger.amounts import show_points
from ledger.models import PointType
from loyalty.charts import Series, line_chart
from loyalty.rollups import Period
from promotions.hooks import rewards_per_day
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
    return {
        "point_type": name,
        "given": show_points(sum(given), precision),
        "rewards": f"{sum(rewards.values()):,}",
        "budget": budget_note,
        "charts": charts,
    }
