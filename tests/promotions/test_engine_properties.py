"""Properties of the rules engine over generated transactions and generated valid promotion sets.

Transactions have 1-20 lines with random amounts, quantities, categories and custom categories;
promotion sets mix conditions (transaction and member facts, line scopes, all/any/not), every
effect, caps with random usage, validity windows, scopes, priorities, stacking and base promotions.
Every generated definition passes `validate_definition` first (the generators only make valid ones).

Derandomized (the same examples on every run, no example database) so CI is stable; the default
run takes a few seconds, `HYPOTHESIS_PROFILE=ci` runs five times as many examples.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promotions.engine import CapUsage, CompiledPromotion, Evaluation, compile_promotion, evaluate
from promotions.rules import Facts, Line, Member, Tx, comparator, compare, line_fact, validate_definition


@pytest.fixture(autouse=True)
def program():
    """tests/promotions/conftest.py gives every test the program, and so the database; the engine is
    pure and needs neither."""


EXAMPLES = 400 if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else 50
SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

DEPARTMENTS = ["coffee", "tea", "bakery", "dairy"]
BRANDS = ["acme", "brewco", ""]
CUSTOM = ["organic", "local", "new"]
PRODUCTS = ["sku-1", "sku-2", "sku-3", "gift-card"]
CHANNELS = ["web", "store", "app"]
TIERS = ["", "silver", "gold"]
PERIODS = ["day", "month", "lifetime"]
PRECISIONS = {"POINTS": 2, "STATUS": 0, "MILES": 3}
ROUNDINGS = ["down", "up", "half_up", "half_even"]
TIME_ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]

# Transactions --------------------------------------------------------------------------------

# One line in five is free (amount 0): free lines and free transactions need their attribution too.
cents = st.integers(min_value=0, max_value=4).flatmap(
    lambda k: (
        st.just(Decimal("0.00"))
        if k == 0
        else st.integers(min_value=1, max_value=50_000).map(lambda c: Decimal(c).scaleb(-2))
    )
)
quantities = st.sampled_from(["1", "1", "2", "3", "0.5", "1.25", "12"]).map(Decimal)


@st.composite
def lines_of(draw, count: int) -> tuple[Line, ...]:
    result = []
    for index in range(1, count + 1):
        quantity, amount = draw(quantities), draw(cents)
        result.append(
            Line(
                index=index,
                product_key=draw(st.sampled_from(PRODUCTS)),
                quantity=quantity,
                unit_price=(amount / quantity).quantize(Decimal("0.01")),
                amount=amount,
                known=draw(st.booleans()),
                categories={"department": draw(st.sampled_from(DEPARTMENTS))},
                custom_categories=frozenset(draw(st.sets(st.sampled_from(CUSTOM), max_size=2))),
                brand=draw(st.sampled_from(BRANDS)),
            )
        )
    return tuple(result)


@st.composite
def transactions(draw) -> Tx:
    lines = draw(st.integers(min_value=1, max_value=20).flatmap(lines_of))
    return Tx(
        occurred_at=draw(
            st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))
        ),
        total_amount=sum((line.amount for line in lines), Decimal(0)),
        currency="EUR",
        channel=draw(st.sampled_from(CHANNELS)),
        sponsor=draw(st.sampled_from(["retail", "fuel"])),
        lines=lines,
        payment_method=draw(st.sampled_from(["card", "cash", "voucher"])),
        properties=draw(st.fixed_dictionaries({}, optional={"campaign": st.sampled_from(["spring", "summer"])})),
    )


members = st.builds(
    Member,
    tier=st.sampled_from(TIERS),
    type=st.sampled_from(["person", "company"]),
    days_since_enrollment=st.one_of(st.none(), st.integers(min_value=0, max_value=1000)),
    is_birthday=st.booleans(),
)

# Conditions ----------------------------------------------------------------------------------

money = st.integers(min_value=0, max_value=40_000).map(lambda c: str(Decimal(c).scaleb(-2)))


def number_leaf(fact: str, values: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.builds(
            lambda op, v: {"fact": fact, "op": op, "value": v},
            st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"]),
            values,
        ),
        st.builds(lambda a, b: {"fact": fact, "op": "between", "value": sorted([a, b], key=Decimal)}, values, values),
        st.builds(
            lambda vs, op: {"fact": fact, "op": op, "value": vs},
            st.lists(values, min_size=1, max_size=3),
            st.sampled_from(["in", "notIn"]),
        ),
        st.just({"fact": fact, "op": "exists"}),
    )


def text_leaf(fact: str, choices: list[str]) -> st.SearchStrategy:
    value = st.sampled_from(choices)
    return st.one_of(
        st.builds(
            lambda op, v: {"fact": fact, "op": op, "value": v},
            st.sampled_from(["eq", "ne", "contains", "startsWith"]),
            value,
        ),
        st.builds(
            lambda vs, op: {"fact": fact, "op": op, "value": vs},
            st.lists(value, min_size=1, max_size=3),
            st.sampled_from(["in", "notIn"]),
        ),
        st.just({"fact": fact, "op": "exists"}),
    )


def bool_leaf(fact: str) -> st.SearchStrategy:
    return st.builds(lambda op, v: {"fact": fact, "op": op, "value": v}, st.sampled_from(["eq", "ne"]), st.booleans())


tx_leaves = st.one_of(
    number_leaf("tx.totalAmount", money),
    number_leaf("tx.weekday", st.integers(min_value=1, max_value=7).map(str)),
    number_leaf("tx.hour", st.integers(min_value=0, max_value=23)),
    number_leaf("tx.itemCount", st.integers(min_value=0, max_value=30).map(str)),
    number_leaf("member.daysSinceEnrollment", st.integers(min_value=0, max_value=1000).map(str)),
    text_leaf("tx.channel", CHANNELS),
    text_leaf("tx.paymentMethod", ["card", "cash", "voucher"]),
    text_leaf("member.tier", ["silver", "gold"]),
    text_leaf("tx.properties.campaign", ["spring", "summer"]),
    bool_leaf("member.isBirthday"),
)
line_leaves = st.one_of(
    text_leaf("line.category.department", DEPARTMENTS),
    text_leaf("line.brand", BRANDS[:-1]),
    text_leaf("line.productKey", PRODUCTS),
    number_leaf("line.amount", money),
    number_leaf("line.quantity", st.sampled_from(["0.5", "1", "2", "3"])),
    st.builds(lambda v: {"fact": "line.customCategories", "op": "contains", "value": v}, st.sampled_from(CUSTOM)),
    st.builds(
        lambda vs: {"fact": "line.customCategories", "op": "containsAny", "value": vs},
        st.lists(st.sampled_from(CUSTOM), min_size=1, max_size=2),
    ),
    bool_leaf("line.known"),
    text_leaf("tx.channel", CHANNELS),  # a transaction fact inside a line scope
)


def trees(leaves: st.SearchStrategy, max_leaves: int) -> st.SearchStrategy:
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, min_size=1, max_size=3).map(lambda c: {"all": c}),
            st.lists(children, min_size=1, max_size=3).map(lambda c: {"any": c}),
            children.map(lambda c: {"not": c}),
        ),
        max_leaves=max_leaves,
    )


line_scopes = st.builds(
    lambda q, w: {"lines": q, "where": w}, st.sampled_from(["any", "any", "every", "none"]), trees(line_leaves, 3)
)
conditions = st.one_of(st.none(), trees(st.one_of(tx_leaves, line_scopes), 5))

# Effects, caps, definitions --------------------------------------------------------------------

points = st.sampled_from(["0", "0.01", "1", "2.5", "0.333", "10", "125.125"])
line_choice = st.sampled_from(["all", "qualifying"])
per_amount = st.builds(
    lambda p, per, lines: {"type": "perAmount", "points": p, "per": per, "lines": lines},
    points,
    st.sampled_from(["1", "3", "2.50", "0.07", "9"]),
    line_choice,
)
per_item = st.builds(lambda p, lines: {"type": "perItem", "points": p, "lines": lines}, points, line_choice)
fixed = st.builds(lambda p: {"type": "fixed", "points": p}, points)
multiplier = st.builds(
    lambda f, lines: {"type": "multiplier", "factor": f, "lines": lines},
    st.sampled_from(["1", "1.5", "2", "3"]),
    line_choice,
)
voucher = st.just({"type": "issueVoucher", "voucherType": "free-coffee"})
base_effects = st.lists(st.one_of(per_amount, per_item), min_size=1, max_size=2)
other_effects = st.lists(st.one_of(per_amount, per_item, fixed, multiplier, voucher), min_size=1, max_size=3)

cap_points = st.sampled_from(["0", "0.5", "1", "5", "12.34", "100", "1000"])
caps = st.fixed_dictionaries(
    {},
    optional={
        "perTransaction": cap_points,
        "perMember": st.lists(st.sampled_from(PERIODS), min_size=1, max_size=3, unique=True).flatmap(
            lambda periods: st.tuples(*(cap_points for _ in periods)).map(
                lambda values: [{"period": p, "points": v} for p, v in zip(periods, values, strict=True)]
            )
        ),
        "budget": cap_points,
    },
)
validities = st.fixed_dictionaries(
    {},
    optional={
        "from": st.sampled_from(
            ["2026-01-01T00:00:00+01:00", "2026-07-01T00:00:00+00:00", "2027-06-01T00:00:00-05:00"]
        ),
        "weekdays": st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=7, unique=True),
        "hours": st.sampled_from([["07:00", "12:00"], ["09:00", "21:00"], ["22:00", "03:00"]]),
        "timeZone": st.sampled_from(["Europe/Berlin", "America/New_York"]),
    },
)
scopes = st.fixed_dictionaries(
    {},
    optional={
        "channels": st.lists(st.sampled_from(CHANNELS), max_size=2, unique=True),
        "tiers": st.lists(st.sampled_from(TIERS[1:]), max_size=2, unique=True),
        "sponsors": st.lists(st.sampled_from(["retail", "fuel"]), max_size=1),
        "membershipTypes": st.lists(st.sampled_from(["person", "company"]), max_size=1),
    },
)


def drop_empty(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v not in (None, {})}


@st.composite
def definitions(draw, *, is_base: bool | None = None, stacking: st.SearchStrategy | None = None) -> dict[str, Any]:
    is_base = draw(st.sampled_from([True, False, False, False])) if is_base is None else is_base
    definition = drop_empty(
        {
            "pointType": draw(st.sampled_from(list(PRECISIONS))),
            "base": is_base,
            "effects": draw(base_effects if is_base else other_effects),
            "condition": draw(conditions),
            "caps": draw(st.one_of(st.just({}), caps)),
            "validity": draw(st.one_of(st.just({}), validities)),
            "scope": draw(st.one_of(st.just({}), scopes)),
            "priority": draw(st.integers(min_value=-3, max_value=3)),
            "stacking": draw(
                stacking if stacking is not None else st.sampled_from(["combinable", "combinable", "exclusive", "stop"])
            ),
        }
    )
    return validate_definition(definition)  # the generators make only valid definitions


def compile_all(defs: list[dict[str, Any]]) -> list[CompiledPromotion]:
    return [
        compile_promotion(
            key=f"promo-{i:02d}",
            version=1,
            version_id=i + 1,
            name=f"Promotion {i}",
            definition=d,
            precision=PRECISIONS[d["pointType"]],
        )
        for i, d in enumerate(defs)
    ]


def promotion_sets(stacking: st.SearchStrategy | None = None, max_size: int = 10) -> st.SearchStrategy:
    return st.lists(definitions(stacking=stacking), min_size=1, max_size=max_size).map(compile_all)


@st.composite
def usages(draw, promotions: list[CompiledPromotion]) -> CapUsage:
    used = st.integers(min_value=0, max_value=200_000)
    budget = {p.key: draw(used) for p in promotions if draw(st.booleans())}
    member = {(p.key, period): draw(used) for p in promotions for period in PERIODS if draw(st.booleans())}
    return CapUsage(budget=budget, member=member)


@st.composite
def scenarios(draw, stacking: st.SearchStrategy | None = None):
    promotions = draw(promotion_sets(stacking))
    return (
        draw(transactions()),
        draw(members),
        promotions,
        draw(usages(promotions)),
        draw(st.sampled_from(ROUNDINGS)),
        draw(st.sampled_from(TIME_ZONES)),
    )


def run(tx, member, promotions, usage, rounding, time_zone) -> Evaluation:
    return evaluate(tx, member, promotions, usage, rounding=rounding, time_zone=time_zone)


def minor(points: str, precision: int) -> int:
    return int(Decimal(points).scaleb(precision).to_integral_value(rounding=ROUND_DOWN))


# Properties ----------------------------------------------------------------------------------


@SETTINGS
@given(scenarios())
def test_totals_are_never_negative_and_each_reward_is_attributed_exactly_to_its_lines(scenario):
    tx = scenario[0]
    result = run(*scenario)
    assert all(amount >= 0 for amount in result.points().values())
    indexes = {line.index for line in tx.lines}
    for reward in result.rewards:
        assert reward.amount >= 0
        assert set(reward.lines) <= indexes
        assert all(share > 0 for share in reward.lines.values())
        assert sum(reward.lines.values()) == reward.amount
    given_keys = [r.promotion for r in result.rewards] + [e["promotion"] for e in result.not_applied]
    assert sorted(given_keys) == sorted(p.key for p in scenario[2])  # each promotion is answered for once


@SETTINGS
@given(scenarios())
def test_no_reward_exceeds_any_of_its_caps_given_the_usage(scenario):
    _, _, promotions, usage, _, _ = scenario
    result = run(*scenario)
    by_key = {p.key: p for p in promotions}
    for reward in result.rewards:
        promo = by_key[reward.promotion]
        caps = promo.definition["caps"]
        rooms = {}
        if "perTransaction" in caps:
            rooms["perTransaction"] = minor(caps["perTransaction"], promo.precision)
        for cap in caps.get("perMember", []):
            used = usage.member.get((promo.key, cap["period"]), 0)
            rooms[f"perMember.{cap['period']}"] = max(0, minor(cap["points"], promo.precision) - used)
        if "budget" in caps:
            rooms["budget"] = max(0, minor(caps["budget"], promo.precision) - usage.budget.get(promo.key, 0))
        assert all(reward.amount <= room for room in rooms.values()), (reward, rooms)
        if reward.capped is not None:
            # the trace names the tightest cap and says by how much it cut
            assert reward.capped["after"] == reward.amount == rooms[reward.capped["cap"]] == min(rooms.values())
            assert reward.capped["before"] > reward.amount


@SETTINGS
@given(scenarios(stacking=st.just("combinable")), st.randoms(use_true_random=False))
def test_the_order_of_combinable_promotions_never_changes_the_result(scenario, rnd):
    tx, member, promotions, usage, rounding, time_zone = scenario
    expected = run(*scenario)
    shuffled = list(promotions)
    rnd.shuffle(shuffled)
    again = run(tx, member, shuffled, usage, rounding, time_zone)
    assert again.rewards == expected.rewards
    assert again.not_applied == expected.not_applied


@SETTINGS
@given(scenarios(), st.randoms(use_true_random=False))
def test_the_order_of_any_promotions_never_changes_the_result(scenario, rnd):
    tx, member, promotions, usage, rounding, time_zone = scenario
    expected = run(*scenario)
    shuffled = list(promotions)
    rnd.shuffle(shuffled)
    again = run(tx, member, shuffled, usage, rounding, time_zone)
    assert again.rewards == expected.rewards
    assert again.not_applied == expected.not_applied


@SETTINGS
@given(scenarios(stacking=st.just("combinable")))
def test_combinable_promotions_add_up_each_earning_what_it_earns_alone(scenario):
    tx, member, promotions, usage, rounding, time_zone = scenario
    together = {r.promotion: r for r in run(*scenario).rewards}
    bases = [p for p in promotions if p.base]
    for promo in promotions:
        if promo.base:
            continue
        alone = {r.promotion: r for r in run(tx, member, [*bases, promo], usage, rounding, time_zone).rewards}
        assert alone.get(promo.key) == together.get(promo.key)


monotone_conditions = st.one_of(
    st.none(),
    st.builds(lambda v: {"fact": "tx.totalAmount", "op": "gte", "value": v}, money),
    st.builds(
        lambda d: {"lines": "any", "where": {"fact": "line.category.department", "op": "eq", "value": d}},
        st.sampled_from(DEPARTMENTS),
    ),
)


@st.composite
def base_per_amount(draw) -> CompiledPromotion:
    definition = drop_empty(
        {
            "base": True,
            "pointType": draw(st.sampled_from(list(PRECISIONS))),
            "effects": [draw(per_amount)],
            "condition": draw(monotone_conditions),
            "caps": draw(st.one_of(st.just({}), caps)),
        }
    )
    return compile_all([validate_definition(definition)])[0]


@SETTINGS
@given(
    tx=transactions(),
    promo=base_per_amount(),
    rounding=st.sampled_from(ROUNDINGS),
    extra=st.lists(
        st.tuples(st.integers(min_value=0, max_value=19), st.integers(min_value=0, max_value=20_000)),
        min_size=1,
        max_size=5,
    ),
    used=st.integers(min_value=0, max_value=100_000),
)
def test_more_spent_never_earns_less_from_a_per_amount_base_promotion(tx, promo, rounding, extra, used):
    usage = CapUsage(budget={promo.key: used}, member={(promo.key, period): used for period in PERIODS})
    lines = list(tx.lines)
    for position, cents_more in extra:
        index = position % len(lines)
        lines[index] = replace(lines[index], amount=lines[index].amount + Decimal(cents_more).scaleb(-2))
    more = replace(tx, lines=tuple(lines), total_amount=sum((x.amount for x in lines), Decimal(0)))

    def earned(t: Tx) -> int:
        return sum(r.amount for r in evaluate(t, Member(), [promo], usage, rounding=rounding).rewards)

    assert earned(more) >= earned(tx)


@SETTINGS
@given(scenarios())
def test_evaluation_is_deterministic_and_leaves_its_input_alone(scenario):
    promotions = scenario[2]
    definitions_before = [repr(p.definition) for p in promotions]
    first, second = run(*scenario), run(*scenario)
    assert first == second
    assert [repr(p.definition) for p in promotions] == definitions_before


# The compiled conditions against a direct reading of the rules ------------------------------------


def reference_holds(node: dict[str, Any], facts: Facts, line: Line | None = None) -> bool:
    """The condition read straight from RULES.md with `compare` and `line_fact`: no compilation,
    no shortcuts, no caching."""
    if "all" in node:
        return all(reference_holds(child, facts, line) for child in node["all"])
    if "any" in node:
        return any(reference_holds(child, facts, line) for child in node["any"])
    if "not" in node:
        return not reference_holds(node["not"], facts, line)
    if "lines" in node:
        matched = [x for x in facts.tx.lines if reference_holds(node["where"], facts, x)]
        return {
            "any": bool(matched),
            "every": bool(facts.tx.lines) and len(matched) == len(facts.tx.lines),
            "none": not matched,
        }[node["lines"]]
    name = node["fact"]
    actual = line_fact(line, name) if name.startswith("line.") else facts.get(name)
    return compare(node["op"], actual, node.get("value"))


def reference_scopes(node: dict[str, Any], facts: Facts, path: str = "condition") -> dict[str, list[int]]:
    """The lines each line scope of the tree matches, by the scope's path in the trace."""
    if "all" in node or "any" in node:
        kind = "all" if "all" in node else "any"
        found: dict[str, list[int]] = {}
        for i, child in enumerate(node[kind]):
            found.update(reference_scopes(child, facts, f"{path}.{kind}[{i}]"))
        return found
    if "not" in node:
        return reference_scopes(node["not"], facts, f"{path}.not")
    if "lines" in node:
        return {path: [x.index for x in facts.tx.lines if reference_holds(node["where"], facts, x)]}
    return {}


@SETTINGS
@given(transactions(), members, st.lists(trees(st.one_of(tx_leaves, line_scopes), 5), min_size=1, max_size=6))
def test_compiled_conditions_agree_with_a_direct_reading_of_the_rules(tx, member, trees_):
    promotions = compile_all(
        [
            validate_definition(
                {"condition": tree, "effects": [{"type": "fixed", "points": "1"}], "pointType": "POINTS"}
            )
            for tree in trees_
        ]
    )
    result = evaluate(tx, member, promotions, CapUsage(), time_zone="Europe/Berlin")
    facts = Facts(tx, member, tx.occurred_at.astimezone(ZoneInfo("Europe/Berlin")))
    applied = {r.promotion: r.trace for r in result.rewards}
    refused = {e["promotion"]: e["trace"] for e in result.not_applied}
    for promo, tree in zip(promotions, trees_, strict=True):
        assert (promo.key in applied) is reference_holds(tree, facts)
        trace = applied.get(promo.key) or refused[promo.key]
        scopes = {step["node"]: step["matched"] for step in trace if "lines" in step}
        assert scopes == reference_scopes(tree, facts)


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-20, max_value=20),
    st.text(alphabet="07ab.-e ", max_size=4),
    st.decimals(allow_nan=True, places=2, min_value=-100, max_value=100),
    st.lists(st.sampled_from(["a", "b", "1"]), max_size=3),
    st.floats(allow_nan=False, width=32),
)
OPERATOR_NAMES = [
    "eq",
    "ne",
    "in",
    "notIn",
    "gt",
    "gte",
    "lt",
    "lte",
    "between",
    "contains",
    "containsAny",
    "startsWith",
    "exists",
]


@settings(SETTINGS, max_examples=EXAMPLES * 6)
@given(st.sampled_from(OPERATOR_NAMES), values, values, values)
def test_prepared_comparators_agree_with_compare(op, actual, first, second):
    """The engine tests facts with comparators prepared at compile time; `compare` is the definition."""
    expected = [first, second] if op in ("in", "notIn", "containsAny", "between") else first

    def outcome(test):
        try:
            return test()
        except Exception as error:  # the same failure on both sides counts as agreement
            return type(error)

    assert outcome(lambda: comparator(op, expected)(actual)) == outcome(lambda: compare(op, actual, expected))
