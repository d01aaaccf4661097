"""The engine's answer in plain words, for the admin's try-it panel and the transactions screen. Pure."""

from __future__ import annotations

from typing import Any

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
