"""The rules engine: a pure function from (transaction, member, promotions, cap usage) to rewards,
with an explanation per promotion. No database access, no clock: everything comes in as data."""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from promotions.rules import Facts, Line, Member, Predicate, Tx, compile_condition, parse_hours

ROUNDING = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "down": ROUND_DOWN, "up": ROUND_UP}


@dataclass(frozen=True)
class CompiledPromotion:
    key: str
    version: int
    version_id: int
    name: str
    definition: dict[str, Any]
    point_type: str
    precision: int
    condition: Predicate
    priority: int
    stacking: str
    base: bool
    starts: datetime | None
    ends: datetime | None
    weekdays: frozenset[int]
    hours: tuple | None
    time_zone: str | None
    # Prepared once by compile_promotion, so evaluation does no parsing:
    # effects: (type, points per unit / points / factor - 1 as (numerator, denominator) or voucher type, all lines)
    plan: tuple[tuple[str, Any, bool], ...] = ()
    # (what, label, allowed, allowed as shown) for each non-empty scope list
    scope_rules: tuple[tuple[str, str, list[str], str], ...] = ()
    cap_limits: tuple[tuple[str, int, str | None], ...] = ()  # (cap, limit in minor units, usage period / "budget")
    promotion_id: int = 0  # the Promotion row, where cap usage is counted (0: not stored, as in a try-it run)

    @property
    def effects(self) -> list[dict[str, Any]]:
        return self.definition["effects"]


def compile_promotion(
    *,
    key: str,
    version: int,
    version_id: int,
    name: str,
    definition: dict[str, Any],
    precision: int,
    promotion_id: int = 0,
) -> CompiledPromotion:
    """`definition` must have passed rules.validate_definition."""
    validity = definition.get("validity") or {}
    parse = lambda v: datetime.fromisoformat(v) if v else None  # noqa: E731
    return CompiledPromotion(
        key=key,
        version=version,
        version_id=version_id,
        name=name,
        definition=definition,
        point_type=definition["pointType"],
        precision=precision,
        condition=compile_condition(definition.get("condition")),
        priority=definition.get("priority", 0),
        stacking=definition.get("stacking", "combinable"),
        base=bool(definition.get("base")),
        starts=parse(validity.get("from")),
        ends=parse(validity.get("until")),
        weekdays=frozenset(validity.get("weekdays") or []),
        hours=parse_hours(validity.get("hours")),
        time_zone=validity.get("timeZone"),
        plan=tuple(_plan(effect) for effect in definition["effects"]),
        scope_rules=tuple(
            (what, label, list(scope[key]), str(list(scope[key])))
            for key, what, label in _SCOPE_CHECKS
            if (scope := definition.get("scope") or {}).get(key)
        ),
        cap_limits=_cap_limits(definition.get("caps") or {}, precision),
        promotion_id=promotion_id,
    )


_SCOPE_CHECKS = [
    ("sponsors", "sponsor", "sponsor"),
    ("channels", "channel", "channel"),
    ("tiers", "tier", "member tier"),
    ("membershipTypes", "type", "membership type"),
]


def _ratio(value: Any) -> tuple[int, int]:
    return Decimal(str(value)).as_integer_ratio()


def _plan(effect: dict[str, Any]) -> tuple[str, Any, bool]:
    """An effect with its numbers as exact fractions (numerator, denominator > 0)."""
    kind, every = effect["type"], effect.get("lines", "qualifying") == "all"
    if kind == "perAmount":
        (pn, pd), (qn, qd) = _ratio(effect["points"]), _ratio(effect["per"])
        common = math.gcd(pn * qd, pd * qn)
        return kind, (pn * qd // common, pd * qn // common), every  # points per currency unit
    if kind in ("perItem", "fixed"):
        return kind, _ratio(effect["points"]), every
    if kind == "multiplier":
        fn, fd = _ratio(effect["factor"])
        return kind, (fn - fd, fd), every  # what the multiplier adds: factor - 1
    return kind, effect.get("voucherType"), every


def _cap_limits(caps: dict[str, Any], precision: int) -> tuple[tuple[str, int, str | None], ...]:
    limits: list[tuple[str, int, str | None]] = []
    if "perTransaction" in caps:
        limits.append(("perTransaction", _minor(caps["perTransaction"], precision), None))
    for cap in caps.get("perMember") or []:
        limits.append((f"perMember.{cap['period']}", _minor(cap["points"], precision), cap["period"]))
    if "budget" in caps:
        limits.append(("budget", _minor(caps["budget"], precision), "budget"))
    return tuple(limits)


@dataclass(frozen=True)
class CapUsage:
    """Points already given (minor units), per promotion key: budget, and per member per period."""

    budget: dict[str, int] = field(default_factory=dict)
    member: dict[tuple[str, str], int] = field(default_factory=dict)  # (promotion, "day"|"month"|"lifetime")


@dataclass
class Reward:
    promotion: str
    version: int
    version_id: int
    point_type: str
    amount: int  # minor units
    lines: dict[int, int]  # line index -> minor units of this reward attributed to it
    trace: list[dict[str, Any]]
    capped: dict[str, Any] | None = None
    voucher_types: list[str] = field(default_factory=list)
    base: bool = False


@dataclass
class Evaluation:
    rewards: list[Reward]
    not_applied: list[dict[str, Any]]

    def points(self) -> dict[str, int]:
        totals: dict[str, int] = defaultdict(int)
        for reward in self.rewards:
            if reward.amount:
                totals[reward.point_type] += reward.amount
        return dict(totals)


def _distribute(total: int, weights: dict[int, int]) -> dict[int, int]:
    """Split `total` minor units over lines in proportion to `weights` (integers: numerators over one
    common denominator), exactly: floors, then the largest remainders (ties: the first line)."""
    if not total:
        return {}
    weight_sum = sum(weights.values())
    if weight_sum <= 0:  # e.g. a fixed bonus on free lines: split evenly so the lines still sum to the total
        weights, weight_sum = dict.fromkeys(weights, 1), len(weights)
    result, order = {}, []
    for i, w in weights.items():
        result[i], rest = divmod(total * w, weight_sum)
        order.append((-rest, i))
    left = total - sum(result.values())
    if left:
        order.sort()
        for _, i in order[:left]:
            result[i] += 1
    return {i: v for i, v in result.items() if v}  # lines that get nothing are left out


def _round(numerator: int, denominator: int, rounding: str) -> int:
    """numerator / denominator (> 0) to a whole number, as Decimal's rounding modes do."""
    whole, rest = divmod(numerator, denominator)  # floor
    if not rest:
        return whole
    positive = numerator > 0
    if rounding == "down":  # towards zero
        return whole if positive else whole + 1
    if rounding == "up":  # away from zero
        return whole + 1 if positive else whole
    if 2 * rest != denominator:
        return whole + 1 if 2 * rest > denominator else whole
    if rounding == "half_up":  # a tie goes away from zero
        return whole + 1 if positive else whole
    return whole + (whole % 2)  # half_even: a tie goes to the even neighbour


round_whole = _round  # for the admin's worked examples: the engine's rounding, not a copy


def _minor(value: Any, precision: int) -> int:
    return int((Decimal(str(value)) * (Decimal(10) ** precision)).to_integral_value(rounding=ROUND_DOWN))


@functools.lru_cache(maxsize=1024)
def _iso(moment: datetime) -> str:
    return moment.isoformat()


@functools.lru_cache(maxsize=1024)
def _sorted_text(values: frozenset[int]) -> str:
    return str(sorted(values))


@functools.lru_cache(maxsize=1024)
def _hours_text(start: time, end: time) -> str:
    return f"{start.strftime('%H:%M')}-{end.strftime('%H:%M')}"


def _in_validity(
    promo: CompiledPromotion, occurred_at: datetime, default_tz: str, local_times: dict[str, datetime]
) -> str | None:
    if promo.starts and occurred_at < promo.starts:
        return f"starts {_iso(promo.starts)}"
    if promo.ends and occurred_at >= promo.ends:
        return f"ended {_iso(promo.ends)}"
    if not promo.weekdays and not promo.hours:
        return None
    zone = promo.time_zone or default_tz
    local = local_times.get(zone)
    if local is None:
        local = local_times[zone] = occurred_at.astimezone(ZoneInfo(zone))
    if promo.weekdays and local.isoweekday() not in promo.weekdays:
        return f"weekday {local.isoweekday()} not in {_sorted_text(promo.weekdays)}"
    if promo.hours:
        start, end = promo.hours
        now = local.time().replace(tzinfo=None)
        if not (start <= now < end if start < end else (now >= start or now < end)):  # end before start: overnight
            return f"time {now.strftime('%H:%M')} outside {_hours_text(start, end)}"
    return None


def _out_of_scope(promo: CompiledPromotion, tx: Tx, member: Member) -> str | None:
    for what, label, allowed, shown in promo.scope_rules:
        value = tx.sponsor if what == "sponsor" else tx.channel if what == "channel" else getattr(member, what)
        if value not in allowed:
            return f"{label} {value or '(none)'} not in {shown}"
    return None


class _LineNumbers:
    """The lines' amounts and quantities as integers over one denominator each (exact, made once)."""

    def __init__(self, tx: Tx):
        self.indexes = [line.index for line in tx.lines]
        self.amounts, self.amount_unit = self._integers([(line.index, line.amount) for line in tx.lines])
        self.quantities, self.quantity_unit = self._integers([(line.index, line.quantity) for line in tx.lines])

    @staticmethod
    def _integers(values: list[tuple[int, Decimal]]) -> tuple[dict[int, int], int]:
        ratios = [(index, value.as_integer_ratio()) for index, value in values]
        unit = math.lcm(*(d for _, (_, d) in ratios)) if ratios else 1
        return {index: n * (unit // d) for index, (n, d) in ratios}, unit


LinePoints = tuple[int, dict[int, int]]  # (denominator, numerator per line)


def _effect_points(
    effect: tuple[str, Any, bool], numbers: _LineNumbers, qualifying: set[int] | None, base: LinePoints | None
) -> LinePoints:
    """Raw (unrounded, exact) points per line of one planned per-line effect. `qualifying` None: every line."""
    kind, (num, den), every = effect
    indexes = numbers.indexes if every or qualifying is None else [i for i in numbers.indexes if i in qualifying]
    if kind == "perAmount":
        amounts = numbers.amounts
        return den * numbers.amount_unit, {i: amounts[i] * num for i in indexes}
    if kind == "perItem":
        quantities = numbers.quantities
        return den * numbers.quantity_unit, {i: quantities[i] * num for i in indexes}
    base_den, base_nums = base if base is not None else (1, {})  # multiplier: the extra on the base
    return base_den * den, {i: base_nums.get(i, 0) * num for i in indexes}


def _add(a: LinePoints | None, b: LinePoints) -> LinePoints:
    if a is None:
        return b
    (da, na), (db, nb) = a, b
    if da == db:
        total = dict(na)
        for i, v in nb.items():
            total[i] = total.get(i, 0) + v
        return da, total
    unit = math.lcm(da, db)
    fa, fb = unit // da, unit // db
    total = {i: v * fa for i, v in na.items()}
    for i, v in nb.items():
        total[i] = total.get(i, 0) + v * fb
    return unit, total


def evaluate(
    tx: Tx,
    member: Member,
    promotions: list[CompiledPromotion],
    usage: CapUsage,
    *,
    rounding: str = "down",
    time_zone: str = "UTC",
) -> Evaluation:
    """What the transaction earns. Deterministic: the same input gives the same answer."""
    not_applied: list[dict[str, Any]] = []
    matched: list[tuple[CompiledPromotion, list[dict[str, Any]], set[int] | None]] = []
    facts = Facts(tx, member, tx.occurred_at.astimezone(ZoneInfo(time_zone)))
    local_times = {time_zone: facts.local}

    ordered = sorted(promotions, key=lambda p: (not p.base, -p.priority, p.key))
    for promo in ordered:
        reason = (promo.starts or promo.ends or promo.weekdays or promo.hours) and _in_validity(
            promo, tx.occurred_at, time_zone, local_times
        )
        if reason:
            not_applied.append(
                {"promotion": promo.key, "version": promo.version, "reason": "validity", "detail": reason}
            )
            continue
        reason = promo.scope_rules and _out_of_scope(promo, tx, member)
        if reason:
            not_applied.append({"promotion": promo.key, "version": promo.version, "reason": "scope", "detail": reason})
            continue
        trace: list[dict[str, Any]] = []
        ok, qualifying = promo.condition(facts, None, trace)
        if not ok:
            failed = [t for t in trace if t["result"] == t.get("negated", False)]
            not_applied.append(
                {
                    "promotion": promo.key,
                    "version": promo.version,
                    "reason": "condition",
                    "detail": "; ".join(_describe(t) for t in failed) or "the condition does not hold",
                    "trace": trace,
                }
            )
            continue
        matched.append((promo, trace, qualifying))

    # Stacking among the non-base promotions: an exclusive one that matches keeps only itself;
    # a `stop` one keeps itself and everything above it.
    # Priority order decides: an exclusive one below a `stop` one is skipped, not applied.
    exclusive = None
    for m in matched:
        if not m[0].base and m[0].stacking in ("exclusive", "stop"):
            exclusive = m if m[0].stacking == "exclusive" else None
            break
    kept = []
    stopped_by = None
    for entry in matched:
        promo = entry[0]
        if promo.base:
            kept.append(entry)
        elif stopped_by:
            not_applied.append(_skipped(promo, "stacking", f"{stopped_by} stops lower priorities"))
        elif exclusive and entry is not exclusive:
            not_applied.append(_skipped(promo, "stacking", f"{exclusive[0].key} is exclusive"))
        else:
            kept.append(entry)
            if promo.stacking == "stop":
                stopped_by = promo.key

    # The arithmetic is exact: points as fractions of integers, rounded once per effect.
    numbers = _LineNumbers(tx) if kept else None
    base_lines: dict[str, LinePoints] = {}
    rewards = []
    for promo, trace, qualifying in kept:
        raw: LinePoints | None = None
        whole_num, whole_den = 0, 1  # points for the transaction as a whole
        amount = 0
        vouchers = []
        scale = 10**promo.precision
        for effect in promo.plan:
            kind = effect[0]
            if kind == "issueVoucher":
                vouchers.append(effect[1])
            elif kind == "fixed":
                num, den = effect[1]
                amount += max(0, _round(num * scale, den, rounding))
                whole_num, whole_den = whole_num * den + num * whole_den, whole_den * den
            else:
                points = _effect_points(effect, numbers, qualifying, base_lines.get(promo.point_type))
                amount += max(0, _round(sum(points[1].values()) * scale, points[0], rounding))
                raw = _add(raw, points)
        if promo.base and raw is not None:
            base_lines[promo.point_type] = _add(base_lines.get(promo.point_type), raw)
        weights = {i: v for i, v in raw[1].items() if v > 0} if raw is not None else {}
        if not weights:
            # Whole-transaction points only: attributed to the lines by amount (for returns).
            weights = dict(numbers.amounts)
        elif whole_num > 0:
            # Per-line points plus whole-transaction points shared by amount: raw + amount x points / total,
            # all over one denominator.
            total_num, total_den = max(tx.total_amount, Decimal("0.01")).as_integer_ratio()
            raw_factor = numbers.amount_unit * whole_den * total_num
            amount_factor = whole_num * total_den * raw[0]
            weights = {i: weights.get(i, 0) * raw_factor + numbers.amounts[i] * amount_factor for i in numbers.indexes}
        capped = _cap(promo, amount, usage)
        if capped:
            amount = capped["after"]
        lines = _distribute(amount, weights) if weights and amount else {}
        rewards.append(
            Reward(
                promotion=promo.key,
                version=promo.version,
                version_id=promo.version_id,
                point_type=promo.point_type,
                amount=amount,
                lines=lines,
                trace=trace,
                capped=capped,
                voucher_types=vouchers,
                base=promo.base,
            )
        )
    return Evaluation(rewards=rewards, not_applied=not_applied)


def _cap(promo: CompiledPromotion, amount: int, usage: CapUsage) -> dict[str, Any] | None:
    """The tightest cap that cuts the reward, as {cap, limit, before, after}; None when none does."""
    best = None
    for name, limit, period in promo.cap_limits:
        if period is None:
            used = 0
        elif period == "budget":
            used = usage.budget.get(promo.key, 0)
        else:
            used = usage.member.get((promo.key, period), 0)
        room = max(0, limit - used)
        if amount > room and (best is None or room < best["after"]):
            best = {"cap": name, "limit": limit, "used": used, "before": amount, "after": room}
    return best


def _skipped(promo: CompiledPromotion, reason: str, detail: str) -> dict[str, Any]:
    return {"promotion": promo.key, "version": promo.version, "reason": reason, "detail": detail}


def _describe(step: dict[str, Any]) -> str:
    must = "must not" if step.get("negated") else "must"
    if "lines" in step:
        return f"{step['node']}: {step['lines']} line(s) {must} match, matched {step['matched'] or 'none'}"
    holds = "is true but must not be" if step.get("negated") else "is false"
    return f"{step['fact']} {step['op']} {step['expected']!r} {holds} (actual {step['actual']!r})"


__all__ = [
    "CapUsage",
    "CompiledPromotion",
    "Evaluation",
    "Line",
    "Member",
    "Reward",
    "Tx",
    "compile_promotion",
    "evaluate",
]
