"""The dashboard's figures in words and pictures: pure functions from backoffice.selectors.Figures to
what the template shows (points in points, names instead of keys, dates of the program's time zone)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from backoffice.selectors import Figures
from imports.registry import all_types
from ledger.amounts import show_points
from loyalty.audit import action_in_words
from loyalty.charts import Series, legend, line_chart, share

STATUS_WORDS = {"active": "Active", "anonymous": "Anonymous", "blocked": "Blocked", "cancelled": "Cancelled"}


def count(n: int) -> str:
    return f"{n:,}"


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "n/a"


def money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def buckets(figs: Figures) -> list[tuple[str, list[date]]]:
    """The chart's x positions: each day, or each month for the 12-month period."""
    return figs.period.buckets()


def _per_bucket(groups: list[tuple[str, list[date]]], value: Any) -> list[int]:
    return [sum(value(d) for d in ds) for _, ds in groups]


def present(figs: Figures) -> dict[str, Any]:
    pt = figs.point_type
    precision = pt.precision

    def points(minor: int) -> str:
        return show_points(minor, precision)

    def axis_points(value: float) -> str:
        whole = value % 10**precision == 0
        return f"{value / 10**precision:,.{0 if whole else precision}f}"

    groups = buckets(figs)
    labels = [label for label, _ in groups]
    totals = {kind: sum(day.get(kind, 0) for day in figs.flows.values()) for kind in ("issued", "redeemed", "expired")}
    totals["forfeited"] = sum(day.get("forfeited", 0) for day in figs.flows.values())
    totals["adjusted"] = sum(day.get("adjusted", 0) for day in figs.flows.values())

    flow_series = [
        Series(name, _per_bucket(groups, lambda d, k=kind: figs.flows.get(d, {}).get(k, 0)))
        for name, kind in (("Earned", "issued"), ("Redeemed", "redeemed"), ("Expired", "expired"))
    ]
    liability, liability_series = _liability(figs, groups)
    blocked_series = [Series("Blocked", _levels(groups, figs.blocked_before, figs.blocked_change))]
    tx_series = [
        Series("Purchases", _per_bucket(groups, lambda d: figs.sales_per_day.get(d, {}).get("transactions", 0)))
    ]
    member_series = [Series("New members", _per_bucket(groups, lambda d: figs.enrollments.get(d, 0)))]

    members = figs.members
    active = members["by_status"].get("active", 0)
    transactions = sum(c["transactions"] for c in figs.channels)
    top_channel = max((c["transactions"] for c in figs.channels), default=0)
    top_tier = max(members["by_tier"].values(), default=0)
    first_promo = figs.promotions[0]["amount"] if figs.promotions else 0
    return {
        "kpis": [
            {
                "label": "Members",
                "value": count(members["total"]),
                "note": f"{count(active)} active, {_as_of(members['as_of'], figs)}",
            },
            {"label": "New members", "value": count(sum(figs.enrollments.values())), "note": figs.period.label.lower()},
            {
                "label": "Members who bought",
                "value": count(figs.buyers),
                "note": f"{count(max(members['total'] - figs.buyers, 0))} did not, {_as_of(figs.buyers_as_of, figs)}",
            },
            {"label": "Purchases", "value": count(transactions), "note": _sales_note(figs.channels)},
            {"label": f"{pt.name} earned", "value": points(totals["issued"]), "note": "issued by sponsors"},
            {
                "label": f"{pt.name} redeemed",
                "value": points(totals["redeemed"]),
                "note": f"redemption rate {percent(totals['redeemed'], totals['issued'])}",
            },
            {"label": f"{pt.name} expired", "value": points(totals["expired"]), "note": _forfeit_note(totals, points)},
            {
                "label": "Outstanding liability",
                "value": points(sum(row["owed_minor"] for row in liability)),
                "note": f"{pt.name} members hold now",
            },
            {
                "label": "Expiring in 30 days",
                "value": points(figs.ahead["expiring"][30]),
                "note": f"{points(figs.ahead['expiring'][90])} in 90 days, {_as_of(figs.ahead['as_of'], figs)}",
            },
            {
                "label": "Blocked",
                "value": points(figs.ahead["blocked"]),
                "note": _blocked_note(figs),
            },
            {
                "label": "Vouchers issued",
                "value": count(figs.vouchers["issued"]),
                "note": f"{count(figs.vouchers['converted'])} used",
            },
        ],
        "points_chart": line_chart(labels, flow_series, title=f"{pt.name} per day", fmt=axis_points),
        "points_legend": legend(flow_series),
        "liability_chart": line_chart(labels, liability_series, title="Liability per sponsor", fmt=axis_points),
        "liability_legend": legend(liability_series),
        "blocked_chart": line_chart(labels, blocked_series, title=f"Blocked {pt.name}", fmt=axis_points),
        "purchases_chart": line_chart(labels, tx_series, title="Purchases", fmt=lambda v: f"{v:,.0f}"),
        "members_chart": line_chart(labels, member_series, title="New members", fmt=lambda v: f"{v:,.0f}"),
        "liability": liability,
        "channels": [
            {
                "name": figs.names["channels"].get(c["channel"], c["channel"] or "No channel"),
                "transactions": count(c["transactions"]),
                "sales": money(c["sales"], c["currency"]),
                "average": money(c["sales"] / c["transactions"], c["currency"]) if c["transactions"] else "",
                "bar": share(c["transactions"], top_channel),
            }
            for c in figs.channels
        ],
        "tiers": [
            {
                "name": figs.names["tiers"].get(tier_id, "No tier") if tier_id else "No tier",
                "members": count(n),
                "bar": share(n, top_tier),
            }
            for tier_id, n in sorted(members["by_tier"].items(), key=lambda item: -item[1])
        ],
        "statuses": [
            {"name": STATUS_WORDS.get(status, status.capitalize()), "members": count(n)}
            for status, n in sorted(members["by_status"].items())
        ],
        "promotions": [_promotion(p, precision, first_promo) for p in figs.promotions],
        "imports": list(_imports(figs.imports)),
        "recent": [
            {
                "when": entry.created_at,
                "who": entry.actor_label,
                "what": action_in_words(entry.action),
                "object": entry.object_repr,
                "pk": entry.pk,
            }
            for entry in figs.recent
        ],
    }


def _liability(figs: Figures, groups: list[tuple[str, list[date]]]) -> tuple[list[dict[str, Any]], list[Series]]:
    """What each sponsor owes now, and its trend: the amount owed at the end of each bucket."""
    sponsors = set(figs.owed_before)
    for change in figs.owed_change.values():
        sponsors.update(change)
    names = figs.names["sponsors"]
    precision = figs.point_type.precision
    rows, series = [], []
    for sponsor_id in sorted(sponsors, key=lambda pk: names.get(pk, "")):
        owed = figs.owed_before.get(sponsor_id, 0)
        trend = []
        for _, days in groups:
            owed += sum(figs.owed_change.get(d, {}).get(sponsor_id, 0) for d in days)
            trend.append(owed)
        rows.append(
            {
                "name": names.get(sponsor_id, "?"),
                "owed_minor": owed,
                "owed": show_points(owed, precision),
                "change": show_points(owed - figs.owed_before.get(sponsor_id, 0), precision),
            }
        )
        series.append(Series(names.get(sponsor_id, "?"), trend))
    return rows, series


def _levels(groups: list[tuple[str, list[date]]], before: int, change: dict[date, int]) -> list[int]:
    """A level at the end of each bucket, from the level before the first and the daily changes."""
    level, levels = before, []
    for _, days in groups:
        level += sum(change.get(d, 0) for d in days)
        levels.append(level)
    return levels


def _sales_note(channels: list[dict[str, Any]]) -> str:
    per_currency: dict[str, Decimal] = defaultdict(Decimal)
    for c in channels:
        per_currency[c["currency"]] += c["sales"]
    return ", ".join(money(amount, cur) for cur, amount in sorted(per_currency.items())) or "no sales"


def _forfeit_note(totals: dict[str, int], points: Any) -> str:
    return f"{points(totals['forfeited'])} forfeited, {points(totals['adjusted'])} adjusted"


def _as_of(moment: Any, figs: Figures) -> str:
    """When a figure about now was taken (the hourly snapshot), in the program's time zone."""
    return f"as of {moment.astimezone(figs.period.tz):%H:%M}"


def _blocked_note(figs: Figures) -> str:
    until = figs.ahead["blocked_until"]
    if not figs.ahead["blocked"] or until is None:
        return "nothing waiting to mature"
    return f"all released by {until.astimezone(figs.period.tz):%-d %b %Y}"


def _promotion(p: dict[str, Any], precision: int, top: int) -> dict[str, Any]:
    budget = p.get("budget")
    return {
        "name": p.get("name") or p["promotion_key"],
        "rewards": count(p["rewards"]),
        "points": show_points(p["amount"], precision),
        "budget": (
            f"{show_points(p.get('used', 0), precision)} of {show_points(budget, precision)} "
            f"({percent(p.get('used', 0), budget)})"
            if budget
            else "no budget"
        ),
        "bar": share(p["amount"], top),
    }


def _imports(batches: Iterable[Any]) -> Iterable[dict[str, Any]]:
    titles = {t.key: t.title for t in all_types()}
    for batch in batches:
        yield {
            "pk": batch.pk,
            "key": batch.key,
            "what": titles.get(batch.import_type, batch.import_type),
            "status": batch.get_status_display(),
            "progress": f"{count(batch.ok_count + batch.failed_count)} of {count(batch.total)}",
            "failed": count(batch.failed_count),
            "when": batch.created_at,
        }
