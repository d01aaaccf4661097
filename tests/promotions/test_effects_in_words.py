"""A promotion's effects in plain words, each with a worked example on one line, and the examples
agree with what the engine gives that line (promotions/explain.py: effect_in_words)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from promotions.explain import EXAMPLE_AMOUNT, EXAMPLE_ITEMS, effect_in_words
from tests.promotions.test_engine import amounts, base, line, make_tx, promo, run

BASE = [{"type": "perAmount", "points": "1", "per": "1", "lines": "all"}]


def words(effect, **kwargs):
    kwargs.setdefault("base_effects", BASE)
    return effect_in_words(effect, point_type="Points", precision=2, currency="EUR", **kwargs)


def test_each_kind_of_effect_reads_as_a_sentence_with_an_example():
    assert words({"type": "perAmount", "points": "1", "per": "2", "lines": "all"}) == {
        "gives": "1.00 Points per 2.00 EUR spent on every line",
        "example": "a line of 10.00 EUR earns 5.00 Points",
    }
    assert words({"type": "perItem", "points": "0.5"}) == {
        "gives": "0.50 Points per item on the lines the condition matched",
        "example": "a line of 3 items earns 1.50 Points",
    }
    assert words({"type": "fixed", "points": "250"})["gives"] == "250.00 Points once per purchase"
    assert words({"type": "issueVoucher", "voucherType": "coffee"}, voucher_names={"coffee": "Free coffee"}) == {
        "gives": "a voucher: Free coffee",
        "example": "one per purchase",
    }


def test_a_multiplier_says_the_line_earns_factor_times_its_base_in_all():
    """The wording that was misread: ×2 doubles the base, so the promotion itself adds the base once."""
    assert words({"type": "multiplier", "factor": "2"}) == {
        "gives": "×2 on the base earning of the lines the condition matched",
        "example": "a line of 10.00 EUR that earns 10.00 base earns 20.00 Points in all (10.00 from this promotion)",
    }
    assert "nothing to multiply" in words({"type": "multiplier", "factor": "2"}, base_effects=[])["example"]


@pytest.mark.parametrize(
    ("effect", "base_points"),
    [
        ({"type": "multiplier", "factor": "2", "lines": "all"}, "1"),
        ({"type": "multiplier", "factor": "1.5", "lines": "all"}, "0.37"),
        ({"type": "multiplier", "factor": "3", "lines": "all"}, "1.13"),
        ({"type": "perAmount", "points": "3", "per": "7", "lines": "all"}, "1"),
    ],
)
def test_the_examples_are_what_the_engine_gives_that_line(effect, base_points):
    base_effects = [{"type": "perAmount", "points": base_points, "per": "1", "lines": "all"}]
    said = words(effect, base_effects=base_effects)
    given = amounts(
        run(make_tx(line(1, str(EXAMPLE_AMOUNT))), [base(effects=base_effects), promo("draft", effects=[effect])])
    )
    shown = lambda minor: f"{Decimal(minor) / 100:,.2f}"  # noqa: E731
    if effect["type"] == "multiplier":
        assert f"earns {shown(given['base'])} base" in said["example"]
        assert f"earns {shown(given['base'] + given['draft'])} Points in all" in said["example"]
        assert f"({shown(given['draft'])} from this promotion)" in said["example"]
    else:
        assert said["example"].endswith(f"earns {shown(given['draft'])} Points")


def test_a_per_item_example_is_what_the_engine_gives_that_many_items():
    effect = {"type": "perItem", "points": "0.35", "lines": "all"}
    given = amounts(run(make_tx(line(1, "6.00", str(EXAMPLE_ITEMS))), [promo("draft", effects=[effect])]))
    assert words(effect)["example"] == f"a line of 3 items earns {Decimal(given['draft']) / 100:,.2f} Points"


def test_a_new_version_says_what_changed_rule_by_rule():
    from promotions.explain import definition_changes

    before = {
        "pointType": "points",
        "validity": {"from": "2026-12-01T00:00:00+01:00"},
        "scope": {"channels": ["webshop"]},
        "condition": {"all": [{"fact": "line.category.department", "op": "eq", "value": "coffee"}]},
        "effects": [{"type": "multiplier", "factor": "2"}],
    }
    after = {
        "pointType": "points",
        "validity": {"from": "2026-12-01T00:00:00+01:00", "until": "2026-12-31T00:00:00+01:00"},
        "scope": {"channels": ["webshop", "store-amsterdam"]},
        "condition": {"all": [{"fact": "line.category.department", "op": "eq", "value": "tea"}]},
        "effects": [{"type": "multiplier", "factor": "3"}],
    }
    assert definition_changes(before, after) == [
        "validity.until: (empty) → 2026-12-31T00:00:00+01:00",
        "scope.channels: webshop → webshop, store-amsterdam",
        "condition.all 1.value: coffee → tea",
        "effects 1.factor: 2 → 3",
    ]
    assert definition_changes(after, after) == []
