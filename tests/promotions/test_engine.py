"""The rules engine and the rule format (promotions/engine.py, promotions/rules.py), table-driven.

Pure functions: no database. Amounts of rewards are minor units (precision 2: 100 = 1.00 point).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from promotions.engine import CapUsage, Evaluation, compile_promotion, evaluate
from promotions.rules import Line, Member, RuleErrors, Tx, validate_definition

WEDNESDAY = datetime(2026, 3, 4, 10, 30, tzinfo=UTC)  # isoweekday 3


@pytest.fixture(autouse=True)
def program():
    """tests/promotions/conftest.py gives every test the program, and so the database; the engine is
    pure and needs neither."""


FIXED_ONE = [{"type": "fixed", "points": "1"}]


def line(
    index: int,
    amount: str,
    quantity: str = "1",
    *,
    product: str | None = None,
    department: str | None = None,
    custom: tuple[str, ...] = (),
    brand: str = "",
    known: bool = True,
    **categories: str,
) -> Line:
    if department is not None:
        categories["department"] = department
    return Line(
        index=index,
        product_key=product or f"sku-{index}",
        quantity=Decimal(quantity),
        unit_price=(Decimal(amount) / Decimal(quantity)).quantize(Decimal("0.01")),
        amount=Decimal(amount),
        known=known,
        categories=categories,
        custom_categories=frozenset(custom),
        brand=brand,
        attributes={"color": "red"} if index == 1 else {},
    )


def make_tx(*lines: Line, at: datetime = WEDNESDAY, total: str | None = None, **fields: Any) -> Tx:
    fields.setdefault("channel", "web")
    fields.setdefault("sponsor", "retail")
    fields.setdefault("payment_method", "card")
    return Tx(
        occurred_at=at,
        total_amount=Decimal(total) if total is not None else sum((x.amount for x in lines), Decimal(0)),
        currency="EUR",
        lines=tuple(lines),
        **fields,
    )


DEFAULT_TX = make_tx(
    line(1, "10.00", "2", department="coffee", custom=("organic", "fair-trade"), brand="acme"),
    line(2, "5.50", department="tea", brand="brewco"),
    line(3, "10.00", "4", product="gift-card", known=False),
)  # total 25.50, 7 items
DEFAULT_MEMBER = Member(
    tier="gold", type="person", days_since_enrollment=30, is_birthday=True, properties={"newsletter": True}
)


def promo(key: str = "p", *, precision: int = 2, version: int = 1, **definition: Any):
    definition.setdefault("effects", FIXED_ONE)
    definition.setdefault("pointType", "POINTS")
    return compile_promotion(
        key=key,
        version=version,
        version_id=version * 1000 + len(key),
        name=key.title(),
        definition=validate_definition(definition),
        precision=precision,
    )


def base(key: str = "base", **definition: Any):
    definition.setdefault("effects", [{"type": "perAmount", "points": "1", "per": "1", "lines": "all"}])
    return promo(key, base=True, **definition)


def run(
    tx: Tx = DEFAULT_TX,
    promotions: list | None = None,
    *,
    member: Member = DEFAULT_MEMBER,
    usage: CapUsage | None = None,
    rounding: str = "down",
    time_zone: str = "UTC",
) -> Evaluation:
    return evaluate(tx, member, promotions or [], usage or CapUsage(), rounding=rounding, time_zone=time_zone)


def amounts(result: Evaluation) -> dict[str, int]:
    return {r.promotion: r.amount for r in result.rewards}


def holds(condition: dict, tx: Tx = DEFAULT_TX, member: Member = DEFAULT_MEMBER, time_zone: str = "UTC") -> bool:
    result = run(tx, [promo(condition=condition)], member=member, time_zone=time_zone)
    assert len(result.rewards) + len(result.not_applied) == 1
    return bool(result.rewards)


def leaf(fact: str, op: str, value: Any = None) -> dict[str, Any]:
    node = {"fact": fact, "op": op}
    if op != "exists":
        node["value"] = value
    return node


def in_lines(where: dict, quantifier: str = "any") -> dict[str, Any]:
    return {"lines": quantifier, "where": where}


# Operators ------------------------------------------------------------------------------------

PROPS = {"count": 7, "text": "7", "code": "007", "word": "abc", "tags": ["a", "b"], "flag": True, "empty": ""}
PROPS_TX = make_tx(line(1, "25.50"), properties=PROPS)

OPERATOR_CASES = [
    # numbers: tx.totalAmount is 25.50
    ("tx.totalAmount", "eq", "25.5", True),
    ("tx.totalAmount", "eq", "25.50", True),
    ("tx.totalAmount", "eq", 25.5, True),
    ("tx.totalAmount", "eq", "25", False),
    ("tx.totalAmount", "ne", "25", True),
    ("tx.totalAmount", "ne", "25.50", False),
    ("tx.totalAmount", "in", ["10", "25.5"], True),
    ("tx.totalAmount", "in", ["10", "20"], False),
    ("tx.totalAmount", "notIn", ["10", "20"], True),
    ("tx.totalAmount", "notIn", ["25.50"], False),
    ("tx.totalAmount", "gt", "25", True),
    ("tx.totalAmount", "gt", "25.50", False),
    ("tx.totalAmount", "gte", "25.50", True),
    ("tx.totalAmount", "gte", "25.51", False),
    ("tx.totalAmount", "lt", "26", True),
    ("tx.totalAmount", "lt", "25.5", False),
    ("tx.totalAmount", "lte", "25.5", True),
    ("tx.totalAmount", "lte", "25.49", False),
    ("tx.totalAmount", "between", ["20", "30"], True),
    ("tx.totalAmount", "between", ["25.5", "25.5"], True),  # both ends included
    ("tx.totalAmount", "between", ["26", "30"], False),
    ("tx.totalAmount", "between", ["10", "25.49"], False),
    ("tx.totalAmount", "exists", None, True),
    # strings: tx.channel is "web", tx.paymentMethod "card"
    ("tx.channel", "eq", "web", True),
    ("tx.channel", "eq", "Web", False),  # case counts
    ("tx.channel", "ne", "store", True),
    ("tx.channel", "ne", "web", False),
    ("tx.channel", "in", ["store", "web"], True),
    ("tx.channel", "in", ["store"], False),
    ("tx.channel", "notIn", ["store"], True),
    ("tx.channel", "notIn", ["web"], False),
    ("tx.channel", "contains", "e", True),
    ("tx.channel", "contains", "x", False),
    ("tx.channel", "startsWith", "we", True),
    ("tx.channel", "startsWith", "eb", False),
    ("tx.channel", "exists", None, True),
    ("tx.paymentMethod", "startsWith", "ca", True),
    # booleans: member.isBirthday is true
    ("member.isBirthday", "eq", True, True),
    ("member.isBirthday", "eq", False, False),
    ("member.isBirthday", "ne", False, True),
    ("member.isBirthday", "ne", True, False),
    ("member.isBirthday", "exists", None, True),
    # properties (any type): numbers compare as numbers when both sides are numbers, else as text
    ("tx.properties.count", "eq", "7", True),
    ("tx.properties.count", "gt", "5", True),
    ("tx.properties.count", "lte", 6, False),
    ("tx.properties.count", "between", ["7", "9"], True),
    ("tx.properties.count", "in", ["1", "7"], True),
    ("tx.properties.text", "gte", "7", True),
    ("tx.properties.code", "eq", "7", True),  # "007" and "7" are both numbers
    ("tx.properties.code", "startsWith", "00", True),
    ("tx.properties.word", "eq", "abc", True),
    ("tx.properties.word", "contains", "bc", True),
    ("tx.properties.word", "gt", "5", False),  # ordering is for numbers: text is neither above nor below
    ("tx.properties.word", "lt", "5", False),
    ("tx.properties.word", "between", ["1", "9"], False),
    ("tx.properties.tags", "contains", "a", True),
    ("tx.properties.tags", "contains", "c", False),
    ("tx.properties.flag", "eq", True, True),
    ("tx.properties.flag", "ne", True, False),
    ("tx.properties.empty", "exists", None, False),  # empty text counts as absent
    ("member.properties.newsletter", "eq", True, True),
    ("member.properties.newsletter", "exists", None, True),
    # missing facts: only ne / notIn hold, exists is false
    ("tx.properties.nope", "eq", "x", False),
    ("tx.properties.nope", "ne", "x", True),
    ("tx.properties.nope", "in", ["x"], False),
    ("tx.properties.nope", "notIn", ["x"], True),
    ("tx.properties.nope", "gt", "0", False),
    ("tx.properties.nope", "gte", "0", False),
    ("tx.properties.nope", "lt", "0", False),
    ("tx.properties.nope", "lte", "0", False),
    ("tx.properties.nope", "between", ["-1", "1"], False),
    ("tx.properties.nope", "contains", "x", False),
    ("tx.properties.nope", "startsWith", "x", False),
    ("tx.properties.nope", "exists", None, False),
    ("member.properties.nope", "exists", None, False),
]


@pytest.mark.parametrize(("fact", "op", "value", "expected"), OPERATOR_CASES)
def test_operators_on_transaction_and_member_facts(fact, op, value, expected):
    tx = PROPS_TX if fact.startswith("tx.properties.") else make_tx(line(1, "25.50"))
    assert holds(leaf(fact, op, value), tx) is expected


LIST_CASES = [
    # line.customCategories: line 1 is organic + fair-trade, the others have none
    ("contains", "organic", [1]),
    ("contains", "org", []),  # whole elements, not text
    ("containsAny", ["local", "fair-trade"], [1]),
    ("containsAny", ["local"], []),
    ("exists", None, [1]),  # an empty list counts as absent
]


@pytest.mark.parametrize(("op", "value", "matched"), LIST_CASES)
def test_operators_on_lists(op, value, matched):
    result = run(promotions=[promo(condition=in_lines(leaf("line.customCategories", op, value)))])
    entries = result.rewards[0].trace if result.rewards else result.not_applied[0]["trace"]
    assert entries == [{"node": "condition", "lines": "any", "matched": matched, "result": bool(matched)}]


def test_missing_member_fact_only_passes_ne():
    member = Member(days_since_enrollment=None)
    assert holds(leaf("member.daysSinceEnrollment", "lte", "100"), member=member) is False
    assert holds(leaf("member.daysSinceEnrollment", "gte", "0"), member=member) is False
    assert holds(leaf("member.daysSinceEnrollment", "ne", "5"), member=member) is True
    assert holds(leaf("member.daysSinceEnrollment", "exists"), member=member) is False


# Facts ---------------------------------------------------------------------------------------

TX_FACT_CASES = [
    ("tx.totalAmount", "25.50"),
    ("tx.channel", "web"),
    ("tx.sponsor", "retail"),
    ("tx.paymentMethod", "card"),
    ("tx.currency", "EUR"),
    ("tx.hour", "11"),  # 10:30 UTC is 11:30 in Berlin, the program's time zone in this test
    ("tx.weekday", "3"),
    ("tx.itemCount", "7"),
    ("tx.properties.campaign", "spring"),
    ("member.tier", "gold"),
    ("member.type", "person"),
    ("member.daysSinceEnrollment", "30"),
    ("member.isBirthday", True),
    ("member.status", "active"),
    ("member.properties.newsletter", True),
]


@pytest.mark.parametrize(("fact", "actual"), TX_FACT_CASES)
def test_every_transaction_and_member_fact_is_computed_and_traced(fact, actual):
    tx = make_tx(*DEFAULT_TX.lines, properties={"campaign": "spring"})
    result = run(tx, [promo(condition=leaf(fact, "eq", actual))], time_zone="Europe/Berlin")
    assert [r.promotion for r in result.rewards] == ["p"]
    (step,) = result.rewards[0].trace
    assert step == {"node": "condition", "fact": fact, "op": "eq", "expected": actual, "actual": actual, "result": True}


LINE_FACT_CASES = [
    ("line.productKey", "eq", "gift-card", [3]),
    ("line.quantity", "gte", "2", [1, 3]),
    ("line.amount", "eq", "5.50", [2]),
    ("line.unitPrice", "eq", "5", [1]),  # 10.00 for 2
    ("line.unitPrice", "lt", "5", [3]),  # 2.50
    ("line.brand", "eq", "acme", [1]),
    ("line.known", "eq", False, [3]),
    ("line.category.department", "eq", "coffee", [1]),
    ("line.category.department", "in", ["coffee", "tea"], [1, 2]),
    ("line.category.department", "exists", None, [1, 2]),
    ("line.category.season", "exists", None, []),
    ("line.customCategories", "contains", "fair-trade", [1]),
    ("line.attributes.color", "eq", "red", [1]),
    ("tx.channel", "eq", "web", [1, 2, 3]),  # a transaction fact inside a line scope holds for every line
]


@pytest.mark.parametrize(("fact", "op", "value", "matched"), LINE_FACT_CASES)
def test_every_line_fact_selects_its_lines(fact, op, value, matched):
    result = run(promotions=[promo(condition=in_lines(leaf(fact, op, value)))])
    trace = result.rewards[0].trace if result.rewards else result.not_applied[0]["trace"]
    assert trace == [{"node": "condition", "lines": "any", "matched": matched, "result": bool(matched)}]


# Condition trees ------------------------------------------------------------------------------

T = leaf("tx.channel", "eq", "web")
F = leaf("tx.channel", "eq", "store")

TREE_CASES = [
    ({"all": [T]}, True),
    ({"all": [T, T]}, True),
    ({"all": [T, F]}, False),
    ({"any": [F, T]}, True),
    ({"any": [F, F]}, False),
    ({"not": F}, True),
    ({"not": T}, False),
    ({"not": {"not": T}}, True),
    ({"all": [T, {"not": F}, {"any": [F, T]}]}, True),
    ({"any": [{"all": [T, F]}, {"not": {"any": [F, F]}}]}, True),
    ({"all": [{"any": [F, {"not": T}]}, T]}, False),
    ({"not": {"all": [T, F]}}, True),
    ({"not": {"any": [T, F]}}, False),
]


@pytest.mark.parametrize(("condition", "expected"), TREE_CASES)
def test_all_any_not_nesting(condition, expected):
    assert holds(condition) is expected


def test_the_trace_lists_every_leaf_with_its_path_even_when_the_answer_is_known_early():
    result = run(promotions=[promo(condition={"any": [T, {"all": [F, {"not": T}]}]})])
    assert [(s["node"], s["result"]) for s in result.rewards[0].trace] == [
        ("condition.any[0]", True),
        ("condition.any[1].all[0]", False),
        ("condition.any[1].all[1].not", True),
    ]
    assert result.rewards[0].trace[2]["negated"] is True  # the leaf under `not` says so


# Line scopes and qualifying lines ---------------------------------------------------------------

COFFEE = leaf("line.category.department", "eq", "coffee")
TEA = leaf("line.category.department", "eq", "tea")
KNOWN = leaf("line.known", "eq", True)
PER_AMOUNT_QUALIFYING = [{"type": "perAmount", "points": "1", "per": "1", "lines": "qualifying"}]

SCOPE_CASES = [
    # (condition, holds, earning lines) on DEFAULT_TX: 1 coffee 10.00, 2 tea 5.50, 3 unknown gift card 10.00
    (in_lines(COFFEE), True, {1: 1000}),
    (in_lines({"any": [COFFEE, TEA]}), True, {1: 1000, 2: 550}),
    (in_lines(KNOWN, "every"), False, None),
    (in_lines(leaf("line.amount", "gt", "1"), "every"), True, {1: 1000, 2: 550, 3: 1000}),
    (in_lines(leaf("line.brand", "eq", "nordic"), "any"), False, None),
    # `none` yields no qualifying lines of its own: effects use every line
    (in_lines(leaf("line.brand", "eq", "nordic"), "none"), True, {1: 1000, 2: 550, 3: 1000}),
    (in_lines(COFFEE, "none"), False, None),
    # all: the qualifying lines of the scopes intersect; any: the holding scopes' lines add up
    ({"all": [in_lines(KNOWN), in_lines(COFFEE)]}, True, {1: 1000}),
    ({"any": [in_lines(TEA), in_lines(COFFEE)]}, True, {1: 1000, 2: 550}),
    ({"any": [in_lines(TEA), in_lines(leaf("line.brand", "eq", "nordic"))]}, True, {2: 550}),
    # a test on the transaction does not narrow the lines
    ({"all": [T, in_lines(TEA)]}, True, {2: 550}),
    # an alternative that holds without naming lines lets every line qualify
    ({"any": [T, in_lines(TEA)]}, True, {1: 1000, 2: 550, 3: 1000}),
    ({"any": [F, in_lines(TEA)]}, True, {2: 550}),
    ({"not": in_lines(leaf("line.brand", "eq", "nordic"))}, True, {1: 1000, 2: 550, 3: 1000}),
]


@pytest.mark.parametrize(("condition", "ok", "earning"), SCOPE_CASES)
def test_line_scopes_and_the_qualifying_lines_they_yield(condition, ok, earning):
    result = run(promotions=[promo(condition=condition, effects=PER_AMOUNT_QUALIFYING)])
    assert bool(result.rewards) is ok
    if ok:
        assert result.rewards[0].lines == earning
        assert result.rewards[0].amount == sum(earning.values())


def test_a_line_scope_traces_the_lines_it_matched():
    result = run(promotions=[promo(condition={"all": [T, in_lines({"any": [COFFEE, TEA]}, "any")]})])
    assert result.rewards[0].trace[1] == {"node": "condition.all[1]", "lines": "any", "matched": [1, 2], "result": True}


def test_every_on_a_transaction_without_lines_does_not_hold():
    empty = make_tx(total="0")
    assert holds(in_lines(KNOWN, "every"), empty) is False
    assert holds(in_lines(KNOWN, "none"), empty) is True


# Validity ------------------------------------------------------------------------------------

VALIDITY_CASES = [
    # (validity, program time zone, applies, detail when not) at Wednesday 2026-03-04 10:30 UTC
    ({"from": "2026-03-04T10:30:00+00:00"}, "UTC", True, None),  # from is inclusive
    ({"from": "2026-03-04T10:30:01+00:00"}, "UTC", False, "starts 2026-03-04T10:30:01+00:00"),
    ({"from": "2026-03-04T11:00:00+01:00"}, "UTC", True, None),  # the same moment as 10:00 UTC
    ({"until": "2026-03-04T10:30:00+00:00"}, "UTC", False, "ended 2026-03-04T10:30:00+00:00"),  # until: exclusive
    ({"until": "2026-03-04T12:00:00+01:00", "from": "2026-03-01T00:00:00+01:00"}, "UTC", True, None),
    ({"until": None, "from": None}, "UTC", True, None),
    ({"weekdays": [3]}, "UTC", True, None),
    ({"weekdays": [6, 7]}, "UTC", False, "weekday 3 not in [6, 7]"),
    ({"hours": ["10:30", "11:00"]}, "UTC", True, None),  # start inclusive
    ({"hours": ["07:00", "10:30"]}, "UTC", False, "time 10:30 outside 07:00-10:30"),  # end exclusive
    ({"hours": ["22:00", "11:00"]}, "UTC", True, None),  # end before start: overnight
    ({"hours": ["22:00", "10:00"]}, "UTC", False, "time 10:30 outside 22:00-10:00"),
    # program time zone: 10:30 UTC is 11:30 in Berlin and 05:30 in New York
    ({"hours": ["11:00", "12:00"]}, "Europe/Berlin", True, None),
    ({"hours": ["11:00", "12:00"]}, "UTC", False, "time 10:30 outside 11:00-12:00"),
    # the promotion's own time zone wins over the program's
    ({"hours": ["05:00", "06:00"], "timeZone": "America/New_York"}, "Europe/Berlin", True, None),
    ({"hours": ["11:00", "12:00"], "timeZone": "America/New_York"}, "Europe/Berlin", False, "time 05:30 outside"),
]


@pytest.mark.parametrize(("validity", "time_zone", "applies", "detail"), VALIDITY_CASES)
def test_validity(validity, time_zone, applies, detail):
    result = run(promotions=[promo(validity=validity)], time_zone=time_zone)
    assert bool(result.rewards) is applies
    if not applies:
        (entry,) = result.not_applied
        assert entry["reason"] == "validity"
        assert entry["detail"].startswith(detail)


def test_weekdays_are_those_of_the_time_zone():
    late = datetime(2026, 3, 4, 23, 30, tzinfo=UTC)  # Wednesday in UTC, Thursday 00:30 in Berlin
    tx = make_tx(line(1, "5"), at=late)
    assert amounts(run(tx, [promo(validity={"weekdays": [4]})], time_zone="Europe/Berlin")) == {"p": 100}
    assert amounts(run(tx, [promo(validity={"weekdays": [4]})], time_zone="UTC")) == {}
    assert amounts(run(tx, [promo(validity={"weekdays": [4], "timeZone": "Europe/Berlin"})])) == {"p": 100}


# Scope ---------------------------------------------------------------------------------------

SCOPE_RULE_CASES = [
    ({}, True, None),
    ({"sponsors": [], "channels": [], "tiers": [], "membershipTypes": []}, True, None),  # empty lists: all
    ({"sponsors": ["retail", "fuel"]}, True, None),
    ({"sponsors": ["fuel"]}, False, "sponsor retail not in ['fuel']"),
    ({"channels": ["web"]}, True, None),
    ({"channels": ["store-berlin"]}, False, "channel web not in ['store-berlin']"),
    ({"tiers": ["gold", "silver"]}, True, None),
    ({"tiers": ["silver"]}, False, "member tier gold not in ['silver']"),
    ({"membershipTypes": ["person"]}, True, None),
    ({"membershipTypes": ["company"]}, False, "membership type person not in ['company']"),
    ({"channels": ["web"], "tiers": ["silver"]}, False, "member tier gold not in ['silver']"),
]


@pytest.mark.parametrize(("scope", "applies", "detail"), SCOPE_RULE_CASES)
def test_scope(scope, applies, detail):
    result = run(promotions=[promo(scope=scope)])
    assert bool(result.rewards) is applies
    if not applies:
        assert result.not_applied == [{"promotion": "p", "version": 1, "reason": "scope", "detail": detail}]


def test_scope_names_a_member_without_a_tier():
    result = run(promotions=[promo(scope={"tiers": ["gold"]})], member=Member())
    assert result.not_applied[0]["detail"] == "member tier (none) not in ['gold']"


# Effects -------------------------------------------------------------------------------------

EFFECT_CASES = [
    # (effects, base effects or None, expected amount, expected lines) on DEFAULT_TX with `lines any coffee`
    ([{"type": "perAmount", "points": "1", "per": "1", "lines": "all"}], None, 2550, {1: 1000, 2: 550, 3: 1000}),
    ([{"type": "perAmount", "points": "1", "per": "1", "lines": "qualifying"}], None, 1000, {1: 1000}),
    ([{"type": "perAmount", "points": "1", "per": "1"}], None, 1000, {1: 1000}),  # default: qualifying
    ([{"type": "perAmount", "points": "3", "per": "2.50", "lines": "all"}], None, 3060, {1: 1200, 2: 660, 3: 1200}),
    ([{"type": "perItem", "points": "5", "lines": "qualifying"}], None, 1000, {1: 1000}),  # 2 items
    ([{"type": "perItem", "points": "5", "lines": "all"}], None, 3500, {1: 1000, 2: 500, 3: 2000}),
    # fixed: once per transaction, attributed to the lines by amount
    ([{"type": "fixed", "points": "51"}], None, 5100, {1: 2000, 2: 1100, 3: 2000}),
    # multiplier: the extra on what the base earned on the lines
    ([{"type": "multiplier", "factor": "2", "lines": "qualifying"}], "all", 1000, {1: 1000}),
    ([{"type": "multiplier", "factor": "3", "lines": "all"}], "all", 5100, {1: 2000, 2: 1100, 3: 2000}),
    ([{"type": "multiplier", "factor": "1.5", "lines": "all"}], "known", 775, {1: 500, 2: 275}),
    ([{"type": "multiplier", "factor": "1", "lines": "all"}], "all", 0, {}),
    ([{"type": "multiplier", "factor": "2"}], None, 0, {}),  # no base promotion: nothing to multiply
    # several effects add up
    (
        [{"type": "fixed", "points": "2.55"}, {"type": "perItem", "points": "1", "lines": "qualifying"}],
        None,
        455,
        {1: 300, 2: 55, 3: 100},
    ),
]


@pytest.mark.parametrize(("effects", "base_lines", "amount", "lines"), EFFECT_CASES)
def test_effects(effects, base_lines, amount, lines):
    promotions = [promo(condition=in_lines(COFFEE), effects=effects)]
    if base_lines == "all":
        promotions.append(base())
    elif base_lines == "known":
        promotions.append(base(condition=in_lines(KNOWN), effects=PER_AMOUNT_QUALIFYING))
    result = run(promotions=promotions)
    reward = next(r for r in result.rewards if r.promotion == "p")
    assert (reward.amount, reward.lines) == (amount, lines)
    assert reward.capped is None and reward.voucher_types == [] and reward.base is False


def test_issue_voucher_gives_a_voucher_type_and_no_points():
    result = run(promotions=[promo(effects=[{"type": "issueVoucher", "voucherType": "coffee-free"}]), base()])
    reward = next(r for r in result.rewards if r.promotion == "p")
    assert (reward.amount, reward.lines, reward.voucher_types) == (0, {}, ["coffee-free"])
    assert result.points() == {"POINTS": 2550}


def test_issue_voucher_beside_points():
    effects = [{"type": "issueVoucher", "voucherType": "a"}, {"type": "fixed", "points": "1"}]
    effects.append({"type": "issueVoucher", "voucherType": "b"})
    reward = run(promotions=[promo(effects=effects)]).rewards[0]
    assert (reward.amount, reward.voucher_types) == (100, ["a", "b"])


def test_multipliers_multiply_the_base_of_their_own_point_type_before_caps():
    promotions = [
        base("base", caps={"perTransaction": "1"}),
        base("status", pointType="STATUS", effects=[{"type": "perItem", "points": "1", "lines": "all"}]),
        promo("double", effects=[{"type": "multiplier", "factor": "2", "lines": "all"}]),
        promo("status-double", pointType="STATUS", effects=[{"type": "multiplier", "factor": "2", "lines": "all"}]),
    ]
    result = run(promotions=promotions)
    assert amounts(result) == {"base": 100, "status": 700, "double": 2550, "status-double": 700}
    assert result.points() == {"POINTS": 2650, "STATUS": 1400}
    assert [r.base for r in result.rewards] == [True, True, False, False]


def test_base_promotions_are_evaluated_first_whatever_their_priority():
    promotions = [promo("double", priority=1000, effects=[{"type": "multiplier", "factor": "2", "lines": "all"}])]
    result = run(promotions=[*promotions, base(priority=-5)])
    assert [(r.promotion, r.amount) for r in result.rewards] == [("base", 2550), ("double", 2550)]


# Rounding: once per effect, by the program's rule ---------------------------------------------

ROUNDING_CASES = [
    # (effects, base needed, rounding, minor units) on a single 0.25 line: the raw reward is 12.5 minor units
    ([{"type": "perAmount", "points": "1", "per": "2", "lines": "all"}], False, "down", 12),
    ([{"type": "perAmount", "points": "1", "per": "2", "lines": "all"}], False, "up", 13),
    ([{"type": "perAmount", "points": "1", "per": "2", "lines": "all"}], False, "half_up", 13),
    ([{"type": "perAmount", "points": "1", "per": "2", "lines": "all"}], False, "half_even", 12),
    ([{"type": "perItem", "points": "0.125", "lines": "all"}], False, "down", 12),
    ([{"type": "perItem", "points": "0.125", "lines": "all"}], False, "up", 13),
    ([{"type": "perItem", "points": "0.125", "lines": "all"}], False, "half_up", 13),
    ([{"type": "perItem", "points": "0.125", "lines": "all"}], False, "half_even", 12),
    ([{"type": "fixed", "points": "0.135"}], False, "down", 13),
    ([{"type": "fixed", "points": "0.135"}], False, "up", 14),
    ([{"type": "fixed", "points": "0.135"}], False, "half_up", 14),
    ([{"type": "fixed", "points": "0.135"}], False, "half_even", 14),
    ([{"type": "multiplier", "factor": "1.5", "lines": "all"}], True, "down", 12),
    ([{"type": "multiplier", "factor": "1.5", "lines": "all"}], True, "up", 13),
    ([{"type": "multiplier", "factor": "1.5", "lines": "all"}], True, "half_up", 13),
    ([{"type": "multiplier", "factor": "1.5", "lines": "all"}], True, "half_even", 12),
]


@pytest.mark.parametrize(("effects", "needs_base", "rounding", "expected"), ROUNDING_CASES)
def test_rounding_modes_per_effect(effects, needs_base, rounding, expected):
    promotions = [promo(effects=effects)]
    if needs_base:
        promotions.append(base())  # 0.25 points on the line
    result = run(make_tx(line(1, "0.25")), promotions, rounding=rounding)
    assert amounts(result)["p"] == expected


def test_rounding_happens_once_per_effect_not_per_line():
    tx = make_tx(line(1, "0.004"), line(2, "0.004"), line(3, "0.004"))
    per_amount = [{"type": "perAmount", "points": "1", "per": "1", "lines": "all"}]
    assert amounts(run(tx, [promo(effects=per_amount)]))["p"] == 1  # 0.012 points -> 1 minor unit
    two_effects = [{"type": "fixed", "points": "0.006"}, {"type": "fixed", "points": "0.006"}]
    assert amounts(run(tx, [promo(effects=two_effects)]))["p"] == 0  # each effect rounds down on its own
    assert amounts(run(tx, [promo(effects=two_effects)], rounding="half_up"))["p"] == 2


THIRDS = [{"type": "perAmount", "points": "1", "per": "3", "lines": "all"}]

DIVISION_CASES = [
    # (line amounts, effects, with a base of 1 per 3.00, expected) -- exact results must not lose a minor unit
    (["1.00", "1.00", "1.00"], THIRDS, False, 100),
    (["3.00", "3.00", "3.00"], [{"type": "perAmount", "points": "1", "per": "9", "lines": "all"}], False, 100),
    (["0.70", "0.70", "0.70"], [{"type": "perAmount", "points": "10", "per": "0.21", "lines": "all"}], False, 10000),
    (["1.00", "1.00", "1.00"], [{"type": "multiplier", "factor": "2", "lines": "all"}], True, 100),
    (["1.00", "1.00", "1.00"], [{"type": "multiplier", "factor": "4", "lines": "all"}], True, 300),
]


@pytest.mark.parametrize(("lines", "effects", "with_base", "expected"), DIVISION_CASES)
def test_division_tails_do_not_cost_a_minor_unit_when_rounding_down(lines, effects, with_base, expected):
    tx = make_tx(*(line(i, amount) for i, amount in enumerate(lines, start=1)))
    promotions = [promo(effects=effects)] + ([base(effects=THIRDS)] if with_base else [])
    result = run(tx, promotions, rounding="down")
    assert amounts(result)["p"] == expected
    assert sum(result.rewards[-1].lines.values()) == expected


@pytest.mark.parametrize(("precision", "expected"), [(0, 10), (2, 1099), (3, 10990)])
def test_the_point_type_precision_sets_the_minor_unit(precision, expected):
    per_amount = [{"type": "perAmount", "points": "1", "per": "1", "lines": "all"}]
    assert amounts(run(make_tx(line(1, "10.99")), [promo(effects=per_amount, precision=precision)]))["p"] == expected


# Caps ----------------------------------------------------------------------------------------

TEN_POINTS = [{"type": "fixed", "points": "10"}]  # 1000 minor units

CAP_CASES = [
    # (caps, usage, amount, capped)
    ({"perTransaction": "5"}, CapUsage(), 500, ("perTransaction", 500, 0)),
    ({"perTransaction": "10"}, CapUsage(), 1000, None),  # exactly at the cap: not cut
    ({"perTransaction": "0"}, CapUsage(), 0, ("perTransaction", 0, 0)),
    (
        {"perMember": {"period": "day", "points": "8"}},
        CapUsage(member={("p", "day"): 500}),
        300,
        ("perMember.day", 800, 500),
    ),
    (
        {"perMember": [{"period": "month", "points": "20"}]},
        CapUsage(member={("p", "month"): 1500}),
        500,
        ("perMember.month", 2000, 1500),
    ),
    ({"perMember": [{"period": "lifetime", "points": "12"}]}, CapUsage(), 1000, None),
    (
        {"perMember": [{"period": "lifetime", "points": "12"}]},
        CapUsage(member={("p", "lifetime"): 1199}),
        1,
        ("perMember.lifetime", 1200, 1199),
    ),
    (
        {"perMember": [{"period": "lifetime", "points": "12"}]},
        CapUsage(member={("p", "lifetime"): 5000}),
        0,
        ("perMember.lifetime", 1200, 5000),
    ),
    (
        {"perMember": [{"period": "day", "points": "8"}]},
        CapUsage(member={("other", "day"): 800, ("p", "month"): 800}),
        800,
        ("perMember.day", 800, 0),
    ),
    ({"budget": "100"}, CapUsage(budget={"p": 9950}), 50, ("budget", 10000, 9950)),
    ({"budget": "100"}, CapUsage(budget={"p": 10000}), 0, ("budget", 10000, 10000)),
    ({"budget": "100"}, CapUsage(budget={"other": 10000}), 1000, None),
    # the tightest cap wins
    (
        {"perTransaction": "6", "perMember": [{"period": "day", "points": "10"}], "budget": "100"},
        CapUsage(member={("p", "day"): 500}, budget={"p": 9300}),
        500,
        ("perMember.day", 1000, 500),
    ),
    (
        {"perTransaction": "6", "perMember": [{"period": "day", "points": "10"}], "budget": "100"},
        CapUsage(member={("p", "day"): 300}, budget={"p": 9700}),
        300,
        ("budget", 10000, 9700),
    ),
    (
        {"perTransaction": "6", "perMember": [{"period": "day", "points": "10"}, {"period": "month", "points": "50"}]},
        CapUsage(member={("p", "day"): 100, ("p", "month"): 4800}),
        200,
        ("perMember.month", 5000, 4800),
    ),
    ({"perTransaction": "6", "budget": "100"}, CapUsage(budget={"p": 100}), 600, ("perTransaction", 600, 0)),
]


@pytest.mark.parametrize(("caps", "usage", "amount", "capped"), CAP_CASES)
def test_caps(caps, usage, amount, capped):
    reward = run(promotions=[promo(caps=caps, effects=TEN_POINTS)], usage=usage).rewards[0]
    assert reward.amount == amount
    assert sum(reward.lines.values()) == amount
    if capped is None:
        assert reward.capped is None
    else:
        name, limit, used = capped
        assert reward.capped == {"cap": name, "limit": limit, "used": used, "before": 1000, "after": amount}


def test_caps_cut_the_sum_of_the_effects_after_rounding():
    effects = [{"type": "fixed", "points": "2.009"}, {"type": "perAmount", "points": "1", "per": "1", "lines": "all"}]
    reward = run(promotions=[promo(effects=effects, caps={"perTransaction": "20.005"})]).rewards[0]
    assert reward.capped == {"cap": "perTransaction", "limit": 2000, "used": 0, "before": 2750, "after": 2000}
    assert sum(reward.lines.values()) == 2000


# Stacking ------------------------------------------------------------------------------------


def p(key: str, priority: int, stacking: str = "combinable", points: str = "1", **definition: Any):
    return promo(key, priority=priority, stacking=stacking, effects=[{"type": "fixed", "points": points}], **definition)


NEVER = {"condition": leaf("tx.totalAmount", "gt", "1000")}

STACKING_CASES = [
    # (promotions, applied in order, skipped {key: detail})
    ([p("a", 10), p("b", 20)], ["base", "b", "a"], {}),
    ([p("a", 50), p("x", 10, "exclusive"), p("b", 5)], ["base", "x"], {"a": "x is exclusive", "b": "x is exclusive"}),
    ([p("x", 10, "exclusive"), p("y", 20, "exclusive")], ["base", "y"], {"x": "y is exclusive"}),
    ([p("a", 50), p("x", 10, "exclusive", **NEVER)], ["base", "a"], {}),  # an exclusive that does not match: no effect
    (
        [p("a", 100), p("s", 50, "stop"), p("b", 10), p("c", 5)],
        ["base", "a", "s"],
        {"b": "s stops lower priorities", "c": "s stops lower priorities"},
    ),
    ([p("a", 100), p("s", 50, "stop", **NEVER), p("b", 10)], ["base", "a", "b"], {}),
    ([p("s", 100, "stop"), p("t", 50, "stop")], ["base", "s"], {"t": "s stops lower priorities"}),
    # priority order decides between stop and exclusive
    ([p("s", 100, "stop"), p("x", 50, "exclusive")], ["base", "s"], {"x": "s stops lower priorities"}),
    (
        [p("a", 200), p("s", 100, "stop"), p("x", 50, "exclusive")],
        ["base", "a", "s"],
        {"x": "s stops lower priorities"},
    ),
    ([p("x", 100, "exclusive"), p("s", 50, "stop")], ["base", "x"], {"s": "x is exclusive"}),
    # equal priorities: the key decides, so the result never depends on the order given
    ([p("b", 10, "stop"), p("a", 10)], ["base", "a", "b"], {}),
    ([p("a", 10, "stop"), p("b", 10)], ["base", "a"], {"b": "a stops lower priorities"}),
]


@pytest.mark.parametrize(("promotions", "applied", "skipped"), STACKING_CASES)
def test_stacking(promotions, applied, skipped):
    result = run(promotions=[*promotions, base(priority=0)])
    assert [r.promotion for r in result.rewards] == applied
    assert {e["promotion"]: e["detail"] for e in result.not_applied if e["reason"] == "stacking"} == skipped
    assert sum(r.amount for r in result.rewards) == 2550 + 100 * (len(applied) - 1)


def test_base_promotions_always_apply_and_never_exclude():
    promotions = [
        p("x", 10, "exclusive"),
        base("base-exclusive", stacking="exclusive", priority=100),
        base("base-stop", stacking="stop", priority=50),
        p("s", 5, "stop"),
    ]
    result = run(promotions=promotions)
    assert [r.promotion for r in result.rewards] == ["base-exclusive", "base-stop", "x"]
    assert result.not_applied == [{"promotion": "s", "version": 1, "reason": "stacking", "detail": "x is exclusive"}]


def test_a_promotion_that_does_not_match_is_not_applied_for_its_own_reason_not_stacking():
    result = run(promotions=[p("x", 10, "exclusive"), p("a", 5, scope={"channels": ["store"]})])
    assert [(e["promotion"], e["reason"]) for e in result.not_applied] == [("a", "scope")]


# Not applied: reasons and details --------------------------------------------------------------

NOT_APPLIED_CASES = [
    (
        {"validity": {"weekdays": [6, 7]}},
        {"reason": "validity", "detail": "weekday 3 not in [6, 7]"},
    ),
    (
        {"scope": {"channels": ["store"]}},
        {"reason": "scope", "detail": "channel web not in ['store']"},
    ),
    (
        {"condition": leaf("tx.totalAmount", "gte", "100")},
        {"reason": "condition", "detail": "tx.totalAmount gte '100' is false (actual '25.50')"},
    ),
    (
        {"condition": {"all": [leaf("tx.totalAmount", "gte", "10"), leaf("member.tier", "in", ["silver", "bronze"])]}},
        {"reason": "condition", "detail": "member.tier in ['silver', 'bronze'] is false (actual 'gold')"},
    ),
    (
        {"condition": {"any": [leaf("tx.channel", "eq", "store"), leaf("tx.properties.coupon", "exists")]}},
        {
            "reason": "condition",
            "detail": "tx.channel eq 'store' is false (actual 'web'); "
            "tx.properties.coupon exists None is false (actual None)",
        },
    ),
    (
        {"condition": {"not": leaf("tx.paymentMethod", "eq", "card")}},
        {"reason": "condition", "detail": "tx.paymentMethod eq 'card' is true but must not be (actual 'card')"},
    ),
    (
        {"condition": {"all": [T, in_lines(leaf("line.brand", "eq", "nordic"))]}},
        {"reason": "condition", "detail": "condition.all[1]: any line(s) must match, matched none"},
    ),
    (
        {"condition": in_lines(KNOWN, "every")},
        {"reason": "condition", "detail": "condition: every line(s) must match, matched [1, 2]"},
    ),
    (
        {"condition": {"not": in_lines(COFFEE)}},
        {"reason": "condition", "detail": "condition.not: any line(s) must not match, matched [1]"},
    ),
    (
        {"condition": {"all": [{"not": F}, leaf("tx.currency", "eq", "USD")]}},
        {
            "reason": "condition",
            "detail": "tx.currency eq 'USD' is false (actual 'EUR')",
        },  # the holding `not` is no reason
    ),
]


@pytest.mark.parametrize(("definition", "expected"), NOT_APPLIED_CASES)
def test_not_applied_reasons_and_details(definition, expected):
    result = run(promotions=[promo("gold-bonus", version=3, **definition)])
    assert result.rewards == []
    (entry,) = result.not_applied
    assert entry["promotion"] == "gold-bonus" and entry["version"] == 3
    assert {k: entry[k] for k in ("reason", "detail")} == expected
    if expected["reason"] == "condition":
        assert entry["trace"] and all("node" in step and "result" in step for step in entry["trace"])


def test_validity_is_checked_before_scope_and_scope_before_the_condition():
    everything_wrong = promo(validity={"weekdays": [7]}, scope={"channels": ["store"]}, condition=F)
    assert run(promotions=[everything_wrong]).not_applied[0]["reason"] == "validity"
    wrong_scope_and_condition = promo(scope={"channels": ["store"]}, condition=F)
    assert run(promotions=[wrong_scope_and_condition]).not_applied[0]["reason"] == "scope"


def test_a_reward_keeps_the_trace_of_why_it_was_given():
    definition = {"condition": {"all": [leaf("tx.totalAmount", "gte", "10.00"), in_lines(COFFEE)]}}
    reward = run(promotions=[promo("weekend", version=4, **definition)]).rewards[0]
    assert (reward.promotion, reward.version, reward.version_id, reward.point_type) == ("weekend", 4, 4007, "POINTS")
    assert reward.trace == [
        {
            "node": "condition.all[0]",
            "fact": "tx.totalAmount",
            "op": "gte",
            "expected": "10.00",
            "actual": "25.50",
            "result": True,
        },
        {"node": "condition.all[1]", "lines": "any", "matched": [1], "result": True},
    ]


# Attribution ---------------------------------------------------------------------------------

ATTRIBUTION_CASES = [
    # (lines, effects, expected lines)
    ([("1", "1"), ("1", "1"), ("1", "1")], [{"type": "fixed", "points": "1"}], {1: 34, 2: 33, 3: 33}),
    ([("1", "1"), ("2", "1")], [{"type": "fixed", "points": "0.01"}], {2: 1}),
    (
        [("3", "1"), ("3", "1"), ("3", "1")],
        [{"type": "perAmount", "points": "1", "per": "9", "lines": "all"}],
        {1: 34, 2: 33, 3: 33},
    ),
    ([("0", "1"), ("0", "3")], [{"type": "fixed", "points": "5"}], {1: 250, 2: 250}),  # free lines: evenly
    ([("0", "1"), ("0", "3")], [{"type": "perItem", "points": "1", "lines": "all"}], {1: 100, 2: 300}),
    (
        [("1", "1"), ("0", "1")],
        [{"type": "fixed", "points": "1"}, {"type": "perItem", "points": "1", "lines": "all"}],
        {1: 200, 2: 100},
    ),
    ([("7", "1"), ("0.01", "1")], [{"type": "perAmount", "points": "1", "per": "3", "lines": "all"}], {1: 233}),
]


@pytest.mark.parametrize(("lines", "effects", "expected"), ATTRIBUTION_CASES)
def test_per_line_attribution_sums_exactly_to_the_reward(lines, effects, expected):
    tx = make_tx(*(line(i, amount, quantity) for i, (amount, quantity) in enumerate(lines, start=1)))
    reward = run(tx, [promo(effects=effects)]).rewards[0]
    assert reward.lines == expected
    assert sum(reward.lines.values()) == reward.amount


# Determinism ---------------------------------------------------------------------------------


def test_the_same_input_gives_the_same_answer_whatever_the_order_of_the_promotions():
    promotions = [
        base(),
        promo("double", condition=in_lines(COFFEE), effects=[{"type": "multiplier", "factor": "2"}], priority=40),
        p("a", 30, caps={"perTransaction": "0.5"}),
        p("b", 30, points="2.5"),
        p("x", 20, "exclusive", **NEVER),
        p("s", 10, "stop"),
        p("c", 5),
        promo("weekend", validity={"weekdays": [6, 7]}),
        promo("tier", scope={"tiers": ["silver"]}),
    ]
    first = run(promotions=promotions)
    assert [r.promotion for r in first.rewards] == ["base", "double", "a", "b", "s"]
    shuffled = list(promotions)
    for seed in range(20):
        random.Random(seed).shuffle(shuffled)
        again = run(promotions=shuffled)
        assert again.rewards == first.rewards
        assert again.not_applied == first.not_applied


# validate_definition -------------------------------------------------------------------------


def errors_of(**definition: Any) -> list[dict[str, str]]:
    definition.setdefault("effects", FIXED_ONE)
    definition.setdefault("pointType", "POINTS")
    with pytest.raises(RuleErrors) as caught:
        validate_definition(definition)
    return caught.value.errors


REFUSALS = [
    # (definition, field, message fragment)
    ({"condition": leaf("tx.nope", "eq", "x")}, "condition.fact", "Unknown fact 'tx.nope'"),
    ({"condition": leaf("tx.properties.", "eq", "x")}, "condition.fact", "Unknown fact"),
    ({"condition": leaf("line.productKey", "eq", "x")}, "condition.fact", "belong inside a line scope"),
    (
        {"condition": {"all": [T, in_lines(leaf("line.size", "eq", "x"))]}},
        "condition.all[1].where.fact",
        "Unknown fact 'line.size'",
    ),
    ({"condition": in_lines(in_lines(COFFEE))}, "condition.where", "cannot be nested"),
    ({"condition": {"lines": "some", "where": COFFEE}}, "condition.lines", "any, every or none"),
    ({"condition": {"lines": "any"}}, "condition.where", "required"),
    ({"condition": {"fact": 5, "op": "eq", "value": 1}}, "condition.fact", "Name a fact"),
    ({"condition": {"op": "eq", "value": 1}}, "condition.fact", "required"),
    ({"condition": {}}, "condition", "A condition is an object"),
    ({"condition": {"all": []}}, "condition.all", "non-empty list"),
    ({"condition": {"any": T}}, "condition.any", "non-empty list"),
    ({"condition": {"not": "x"}}, "condition.not", "A condition is an object"),
    # wrong operator for the type
    ({"condition": leaf("tx.totalAmount", "contains", "1")}, "condition.op", "tx.totalAmount can be tested with"),
    ({"condition": leaf("tx.channel", "gt", "a")}, "condition.op", "not 'gt'"),
    ({"condition": leaf("tx.channel", "between", ["a", "b"])}, "condition.op", "not 'between'"),
    (
        {"condition": leaf("member.isBirthday", "gt", True)},
        "condition.op",
        "member.isBirthday can be tested with eq, exists, ne",
    ),
    (
        {"condition": in_lines(leaf("line.customCategories", "eq", "x"))},
        "condition.where.op",
        "contains, containsAny, exists",
    ),
    ({"condition": leaf("tx.channel", "containsAny", ["a"])}, "condition.op", "not 'containsAny'"),
    ({"condition": leaf("tx.channel", "matches", "a")}, "condition.op", "not 'matches'"),
    ({"condition": leaf("tx.channel", ["eq"], "a")}, "condition.op", "tx.channel can be tested with"),
    # wrong value types
    ({"condition": leaf("tx.totalAmount", "gte", "ten")}, "condition.value", "Give a number, not 'ten'"),
    ({"condition": leaf("tx.totalAmount", "eq", True)}, "condition.value", "Give a number"),
    ({"condition": leaf("tx.totalAmount", "eq", "NaN")}, "condition.value", "Give a number"),
    ({"condition": leaf("tx.totalAmount", "in", "10")}, "condition.value", "non-empty list"),
    ({"condition": leaf("tx.totalAmount", "in", ["10", "x"])}, "condition.value[1]", "Give a number"),
    ({"condition": leaf("tx.channel", "notIn", [])}, "condition.value", "non-empty list"),
    ({"condition": leaf("tx.totalAmount", "between", ["1"])}, "condition.value", "[low, high]"),
    ({"condition": leaf("tx.totalAmount", "between", ["1", "z"])}, "condition.value[1]", "Give a number"),
    ({"condition": leaf("tx.properties.x", "gt", "abc")}, "condition.value", "Give a number"),
    ({"condition": leaf("member.isBirthday", "eq", "yes")}, "condition.value", "Give true or false"),
    ({"condition": leaf("tx.channel", "eq", 5)}, "condition.value", "Give a text value"),
    (
        {"condition": in_lines(leaf("line.customCategories", "containsAny", "a"))},
        "condition.where.value",
        "non-empty list",
    ),
    ({"condition": {"fact": "tx.channel", "op": "eq"}}, "condition.value", "needs a value"),
    (
        {"condition": {"fact": "tx.channel", "op": "eq", "value": "a", "values": ["b"]}},
        "condition.values",
        "Unknown setting 'values'",
    ),
    # validity
    ({"validity": {"weekdays": [0, 1]}}, "validity.weekdays", "1 (Monday) to 7 (Sunday)"),
    ({"validity": {"weekdays": [8]}}, "validity.weekdays", "1 (Monday) to 7 (Sunday)"),
    ({"validity": {"weekdays": "sat"}}, "validity.weekdays", "1 (Monday) to 7 (Sunday)"),
    ({"validity": {"weekdays": [True]}}, "validity.weekdays", "1 (Monday) to 7 (Sunday)"),
    ({"validity": {"hours": ["7:00", "12:00"]}}, "validity.hours", '["07:00", "12:00"]'),
    ({"validity": {"hours": ["07:00"]}}, "validity.hours", '["07:00", "12:00"]'),
    ({"validity": {"hours": ["24:00", "25:00"]}}, "validity.hours", '["07:00", "12:00"]'),
    ({"validity": {"hours": ["07:00", "07:00"]}}, "validity.hours", "start and end at the same time"),
    ({"validity": {"timeZone": "Mars/Olympus"}}, "validity.timeZone", "IANA time zone"),
    ({"validity": {"timeZone": 1}}, "validity.timeZone", "IANA time zone"),
    ({"validity": {"from": "2026-12-01T00:00:00"}}, "validity.from", "with its offset"),
    ({"validity": {"until": "next week"}}, "validity.until", "ISO 8601"),
    (
        {"validity": {"from": "2026-12-01T00:00:00+01:00", "until": "2026-11-30T23:00:00Z"}},
        "validity.until",
        "after the start",
    ),
    ({"validity": {"days": [1]}}, "validity.days", "Unknown setting 'days'"),
    ({"validity": "always"}, "validity", "Give an object"),
    # scope
    ({"scope": {"stores": ["x"]}}, "scope.stores", "Unknown setting 'stores'"),
    ({"scope": {"tiers": "gold"}}, "scope.tiers", "Give a list of keys"),
    ({"scope": {"channels": [1]}}, "scope.channels", "Give a list of keys"),
    # unknown keys, missing effects and point type
    ({"colour": "red"}, "colour", "Unknown setting 'colour'"),
    ({"effects": []}, "effects", "at least one effect"),
    ({"effects": "fixed"}, "effects", "at least one effect"),
    ({"pointType": ""}, "pointType", "Name the point type"),
    ({"pointType": 3}, "pointType", "Name the point type"),
    # effects
    ({"effects": [{"type": "cashback", "points": "1"}]}, "effects[0].type", "Choose an effect type"),
    ({"effects": [{"type": ["fixed"]}]}, "effects[0].type", "Choose an effect type"),
    ({"effects": [{"points": "1"}]}, "effects[0].type", "Choose an effect type"),
    ({"effects": ["fixed"]}, "effects[0]", "An effect is an object"),
    ({"effects": [{"type": "fixed"}]}, "effects[0].points", "required"),
    ({"effects": [{"type": "perAmount", "points": "1"}]}, "effects[0].per", "required"),
    ({"effects": [{"type": "perAmount", "points": "1", "per": "0"}]}, "effects[0].per", "above 0"),
    ({"effects": [{"type": "fixed", "points": "-1"}]}, "effects[0].points", "at least 0"),
    ({"effects": [{"type": "perItem", "points": "-0.01"}]}, "effects[0].points", "at least 0"),
    ({"effects": [{"type": "fixed", "points": "lots"}]}, "effects[0].points", "Give a number, not 'lots'"),
    ({"effects": [{"type": "fixed", "points": "1e13"}]}, "effects[0].points", "at most 1,000,000,000,000"),
    ({"effects": [{"type": "fixed", "points": "1", "lines": "all"}]}, "effects[0].lines", "Unknown setting 'lines'"),
    ({"effects": [{"type": "perItem", "points": "1", "lines": "some"}]}, "effects[0].lines", "all or qualifying"),
    ({"effects": [{"type": "multiplier", "factor": "0.5"}]}, "effects[0].factor", "at least 1"),
    ({"effects": [{"type": "multiplier", "factor": "-2"}]}, "effects[0].factor", "at least 1"),
    (
        {"effects": [{"type": "multiplier", "factor": "2"}], "base": True},
        "effects[0].type",
        "base promotion cannot multiply",
    ),
    ({"effects": [{"type": "issueVoucher"}]}, "effects[0].voucherType", "required"),
    ({"effects": [{"type": "issueVoucher", "voucherType": 7}]}, "effects[0].voucherType", "Name the voucher type"),
    ({"effects": [FIXED_ONE[0], {"type": "fixed", "points": "x"}]}, "effects[1].points", "Give a number"),
    # caps
    ({"caps": {"perTransaction": "-1"}}, "caps.perTransaction", "at least 0"),
    ({"caps": {"budget": "much"}}, "caps.budget", "Give a number"),
    ({"caps": {"budget": "1e20"}}, "caps.budget", "at most"),
    ({"caps": {"perYear": "1"}}, "caps.perYear", "Unknown setting 'perYear'"),
    ({"caps": {"perMember": {"period": "year", "points": "5"}}}, "caps.perMember[0].period", "day, month or lifetime"),
    (
        {"caps": {"perMember": [{"period": ["day"], "points": "5"}]}},
        "caps.perMember[0].period",
        "day, month or lifetime",
    ),
    ({"caps": {"perMember": [{"period": "day"}]}}, "caps.perMember[0].points", "required"),
    ({"caps": {"perMember": [{"period": "day", "points": "-5"}]}}, "caps.perMember[0].points", "at least 0"),
    (
        {"caps": {"perMember": [{"period": "day", "points": "5", "reset": "x"}]}},
        "caps.perMember[0].reset",
        "Unknown setting",
    ),
    ({"caps": {"perMember": "lots"}}, "caps.perMember", "Give ["),
    ({"caps": ["perTransaction"]}, "caps", "Give an object"),
    # the rest
    ({"priority": "high"}, "priority", "whole number"),
    ({"priority": True}, "priority", "whole number"),
    ({"stacking": "first"}, "stacking", "combinable, exclusive or stop"),
    ({"stacking": ["stop"]}, "stacking", "combinable, exclusive or stop"),
    ({"base": "yes"}, "base", "true or false"),
    ({"maturationDays": 400}, "maturationDays", "0 to 365"),
    ({"maturationDays": True}, "maturationDays", "0 to 365"),
    ({"expiresAt": "2027-01-01T00:00:00"}, "expiresAt", "with its offset"),
    ({"expiresAt": "soon"}, "expiresAt", "ISO 8601"),
]


@pytest.mark.parametrize(("definition", "field", "message"), REFUSALS)
def test_validate_definition_refuses_with_the_field_path_in_plain_words(definition, field, message):
    errors = errors_of(**definition)
    matching = [e for e in errors if e["field"] == field]
    assert matching, errors
    assert any(message in e["message"] for e in matching), matching
    for error in errors:
        assert set(error) == {"field", "code", "message"}
        assert error["message"].endswith(".") and "Traceback" not in error["message"]


def test_missing_effects_and_point_type_are_both_required():
    with pytest.raises(RuleErrors) as caught:
        validate_definition({})
    assert [(e["field"], e["code"]) for e in caught.value.errors] == [
        ("effects", "required"),
        ("pointType", "required"),
    ]


@pytest.mark.parametrize("definition", [None, [], "promotion"])
def test_a_definition_is_an_object(definition):
    with pytest.raises(RuleErrors) as caught:
        validate_definition(definition)
    assert caught.value.errors == [{"field": "", "code": "invalid", "message": "Give an object."}]


def test_every_problem_is_listed_at_once():
    errors = errors_of(
        condition={"all": [leaf("tx.nope", "eq", 1), leaf("tx.totalAmount", "gte", "x")]},
        effects=[{"type": "fixed", "points": "-1"}],
        caps={"perTransaction": "x"},
        stacking="no",
    )
    assert [(e["field"], e["code"]) for e in errors] == [
        ("condition.all[0].fact", "unknown_fact"),
        ("condition.all[1].value", "invalid"),
        ("effects[0].points", "invalid"),
        ("caps.perTransaction", "invalid"),
        ("stacking", "invalid"),
    ]
    assert str(RuleErrors(errors)).startswith("condition.all[0].fact: Unknown fact 'tx.nope'")


def test_a_valid_definition_comes_back_with_defaults_filled_in():
    result = validate_definition(
        {"effects": FIXED_ONE, "pointType": "POINTS", "caps": {"perMember": {"period": "day", "points": "5"}}}
    )
    assert result == {
        "effects": FIXED_ONE,
        "pointType": "POINTS",
        "validity": {},
        "scope": {},
        "condition": None,
        "caps": {"perMember": [{"period": "day", "points": "5"}]},  # one cap becomes a list of one
        "priority": 0,
        "stacking": "combinable",
        "base": False,
        "maturationDays": None,
        "expiresAt": None,
    }


VALID = [
    {"condition": leaf("tx.properties.anything", "startsWith", "x")},
    {"condition": leaf("tx.properties.x", "between", [1, "2.5"])},
    {"condition": in_lines({"all": [leaf("tx.channel", "eq", "web"), leaf("line.attributes.size", "gte", 3)]})},
    {"condition": in_lines({"not": leaf("line.customCategories", "containsAny", ["a", "b"])}, "none")},
    {
        "validity": {
            "from": "2026-12-01T00:00:00+01:00",
            "until": None,
            "weekdays": [6, 7],
            "hours": ["22:00", "02:00"],
            "timeZone": "Europe/Berlin",
        }
    },
    {"effects": [{"type": "fixed", "points": 0}], "caps": {"perTransaction": 0, "budget": "1000000000000"}},
    {"effects": [{"type": "multiplier", "factor": 1}], "maturationDays": 0, "expiresAt": "2027-01-01T00:00:00Z"},
]


@pytest.mark.parametrize("definition", VALID)
def test_valid_definitions_pass(definition):
    validate_definition({"effects": FIXED_ONE, "pointType": "POINTS", **definition})
