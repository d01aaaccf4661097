"""The engine's answer and a promotion's effects in plain words, for the admin's try-it panel, the
promotion editor and the transactions screen. Pure."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from promotions.engine import round_whole

OPERATOR_WORDS = {
    "eq": "equal",
    "ne": "differ from",
    "gt": "be above",
    "gte": "be at least",
    "lt": "be below",
    "lte": "be at most",
    "between": "be between",
    "in": "be one of",
    "notIn": "be none of",
    "contains": "contain",
    "containsAny": "contain any of",
    "startsWith": "start with",
    "exists": "be present",
}
QUANTIFIER_WORDS = {"any": "at least one line", "every": "every line", "none": "no line"}


def _value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if value is None or value == "":
        return "(nothing)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def describe_step(step: dict[str, Any]) -> dict[str, Any]:
    """One trace step as {"held": bool, "where": node path, "text": a sentence}.

    `held` says whether the step helped the promotion: under a `not`, a test that is true is what
    makes the condition fail."""
    negated = bool(step.get("negated"))
    result = bool(step.get("result"))
    helped = result != negated
    must = "must not" if negated else "must"
    if "lines" in step:
        matched = step.get("matched") or []
        found = f"lines {', '.join(str(i) for i in matched)} matched" if matched else "no line matched"
        text = f"{QUANTIFIER_WORDS.get(step['lines'], step['lines'])} {must} match: {found}"
    else:
        words = OPERATOR_WORDS.get(step.get("op", ""), step.get("op", ""))
        expected = "" if step.get("op") == "exists" else f" {_value(step.get('expected'))}"
        text = f"{step.get('fact')} {must} {words}{expected}: it is {_value(step.get('actual'))}"
    return {"held": helped, "where": step.get("node", ""), "text": text}


def describe_cap(capped: dict[str, Any] | None, show=str) -> str:
    """`capped` as the engine gives it (minor units); `show` formats an amount of points."""
    if not capped:
        return ""
    return (
        f"Cut by the {capped['cap']} cap of {show(capped['limit'])} "
        f"(already used {show(capped['used'])}): {show(capped['before'])} became {show(capped['after'])}."
    )


def describe_not_applied(entry: dict[str, Any]) -> str:
    reasons = {
        "validity": "Not valid at that time",
        "scope": "Out of scope",
        "condition": "The condition does not hold",
        "stacking": "Left out by stacking",
    }
    return f"{reasons.get(entry.get('reason'), entry.get('reason'))}: {entry.get('detail', '')}"


def present(evaluation: Any, show, *, only: set[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """An engine Evaluation as rows a template prints: `show(amount, point_type)` formats points;
    `only` limits the promotions shown (None: all)."""
    rewards = []
    for reward in evaluation.rewards:
        if only is not None and reward.promotion not in only:
            continue
        fmt = lambda amount, pt=reward.point_type: show(amount, pt)  # noqa: E731
        rewards.append(
            {
                "promotion": reward.promotion,
                "version": reward.version,
                "base": reward.base,
                "point_type": reward.point_type,
                "amount": fmt(reward.amount),
                "lines": [f"line {i}: {fmt(a)}" for i, a in sorted(reward.lines.items())],
                "capped": describe_cap(reward.capped, fmt),
                "vouchers": list(reward.voucher_types),
                "steps": [describe_step(step) for step in reward.trace],
            }
        )
    not_applied = [
        {
            "promotion": entry["promotion"],
            "version": entry.get("version"),
            "text": describe_not_applied(entry),
            "steps": [describe_step(step) for step in entry.get("trace") or []],
        }
        for entry in evaluation.not_applied
        if only is None or entry["promotion"] in only
    ]
    return {"rewards": rewards, "not_applied": not_applied}


# Effects in words, each with a worked example on one line of 10 currency units -----------------------

EXAMPLE_AMOUNT = Decimal("10.00")
EXAMPLE_ITEMS = 3


def _minor(value: Fraction, precision: int, rounding: str) -> int:
    scaled = value * 10**precision
    return round_whole(scaled.numerator, scaled.denominator, rounding)


def _shown(minor: int, precision: int) -> str:
    return f"{Decimal(minor).scaleb(-precision):,.{precision}f}"


def _points(value: Fraction, precision: int, rounding: str) -> str:
    """Points as the engine rounds them (to the point type's precision), with separators."""
    return _shown(_minor(value, precision, rounding), precision)


def base_rate(base_effects: list[dict[str, Any]]) -> Fraction:
    """Points per currency unit that the base promotions' amount effects give a line (their per-item and
    fixed effects do not grow with the amount and are left out of the example)."""
    return sum(
        (Fraction(str(e["points"])) / Fraction(str(e["per"])) for e in base_effects if e.get("type") == "perAmount"),
        Fraction(0),
    )


def effect_in_words(
    effect: dict[str, Any],
    *,
    point_type: str,
    precision: int,
    currency: str,
    rounding: str = "down",
    base_effects: list[dict[str, Any]] | None = None,
    voucher_names: dict[str, str] | None = None,
) -> dict[str, str]:
    """{"gives": what the effect gives, "example": what it gives one example line}. A multiplier's factor
    is the line's total over its base: ×2 doubles what the base earning gave (it adds the base once)."""
    kind = effect.get("type")
    amount = f"{EXAMPLE_AMOUNT} {currency}"
    spent = Fraction(EXAMPLE_AMOUNT)
    show = lambda value: _points(value, precision, rounding)  # noqa: E731
    lines = "every line" if effect.get("lines") == "all" else "the lines the condition matched"
    if kind == "perAmount":
        rate = Fraction(str(effect["points"])) / Fraction(str(effect["per"]))
        per = Decimal(str(effect["per"])).quantize(Decimal("0.01"))
        return {
            "gives": f"{show(Fraction(str(effect['points'])))} {point_type} per {per} {currency} spent on {lines}",
            "example": f"a line of {amount} earns {show(spent * rate)} {point_type}",
        }
    if kind == "perItem":
        each = Fraction(str(effect["points"]))
        return {
            "gives": f"{show(each)} {point_type} per item on {lines}",
            "example": f"a line of {EXAMPLE_ITEMS} items earns {show(EXAMPLE_ITEMS * each)} {point_type}",
        }
    if kind == "fixed":
        return {
            "gives": f"{show(Fraction(str(effect['points'])))} {point_type} once per purchase",
            "example": "the same whatever the lines",
        }
    if kind == "multiplier":
        factor = Fraction(str(effect["factor"]))
        rate = base_rate(base_effects or [])
        gives = f"×{effect['factor']} on the base earning of {lines}"
        if not rate:
            return {"gives": gives, "example": "no active base promotion earns per amount: nothing to multiply now"}
        base = spent * rate
        # As the engine books it: the base rounded, and this promotion's extra (factor - 1) rounded.
        base_minor = _minor(base, precision, rounding)
        extra_minor = _minor(base * (factor - 1), precision, rounding)
        return {
            "gives": gives,
            "example": f"a line of {amount} that earns {_shown(base_minor, precision)} base earns "
            f"{_shown(base_minor + extra_minor, precision)} {point_type} in all "
            f"({_shown(extra_minor, precision)} from this promotion)",
        }
    if kind == "issueVoucher":
        key = effect.get("voucherType", "")
        return {"gives": f"a voucher: {(voucher_names or {}).get(key, key)}", "example": "one per purchase"}
    return {"gives": str(kind), "example": ""}


# What a new version changed --------------------------------------------------------------------------


def _flat(value: Any, path: str = "") -> dict[str, Any]:
    """A definition as {path: leaf}: "validity.until", "effects 1.factor", "condition.all 1.value"."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flat(item, f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(value, list) and value and any(isinstance(item, dict | list) for item in value):
        out = {}
        for index, item in enumerate(value, start=1):
            out.update(_flat(item, f"{path} {index}"))
        return out
    return {path: value}


def _leaf(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_leaf(v) for v in value) or "(none)"
    if value is None or value == "" or value == {}:
        return "(empty)"
    return _value(value)


def definition_changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    """What a version changed against the one before, a line per rule that differs: "effects 1.factor:
    2 → 3", "scope.channels: webshop → webshop, store-amsterdam", "caps.budget: (empty) → 1000"."""
    old, new = _flat(before or {}), _flat(after)
    lines = []
    for path in [*new, *(p for p in old if p not in new)]:
        if old.get(path) != new.get(path):
            lines.append(f"{path}: {_leaf(old.get(path))} → {_leaf(new.get(path))}")
    return lines


# Stacking in the simulator -----------------------------------------------------------------------------


def _line_list(indexes: list[int]) -> str:
    return ("line " if len(indexes) == 1 else "lines ") + ", ".join(str(i) for i in indexes)


def stacking_warnings(rewards: list[Any], key: str, names: dict[str, str]) -> list[str]:
    """Where the promotion `key` gives points on the same lines as other (non-base) promotions: which, on
    which lines, and what those lines then earn over their base ("×3 their base earning"). `rewards` are
    the engine's (promotion, point_type, lines {index: minor}, base)."""
    own = [r for r in rewards if r.promotion == key and r.lines]
    if not own:
        return []
    own_lines = {i for r in own for i, amount in r.lines.items() if amount}
    point_types = {r.point_type for r in own}
    warnings = []
    shared: set[int] = set()
    for reward in rewards:
        if reward.promotion == key or reward.base or not reward.lines:
            continue
        lines = sorted(i for i, amount in reward.lines.items() if amount and i in own_lines)
        if lines:
            shared.update(lines)
            name = names.get(reward.promotion, reward.promotion)
            warnings.append(f"Also applies: {name} ({reward.promotion}) on {_line_list(lines)}.")
    if shared:
        base = sum(
            amount
            for r in rewards
            if r.base and r.point_type in point_types
            for i, amount in r.lines.items()
            if i in shared
        )
        total = sum(
            amount for r in rewards if r.point_type in point_types for i, amount in r.lines.items() if i in shared
        )
        if base:
            ratio = Decimal(total) / Decimal(base)
            times = f"{ratio.quantize(Decimal('0.1')).normalize():f}"
            verb = "earns" if len(shared) == 1 else "earn"
            warnings.append(f"Together, {_line_list(sorted(shared))} {verb} ×{times} the base earning.")
    return warnings
