"""The condition builder in headless Chromium: a manager writes "double points on coffee at Northwind this
week" with clicks and pickers only, the simulator warns that it stacks with coffee-double, the basket is kept
as a test that passes, and once active
the API's dry run of that basket gives the simulator's points. Any rule survives a trip through the builder."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from playwright.sync_api import expect

from promotions.admin_forms import CONDITION_EXAMPLES
from promotions.models import Promotion
from tests.promotions.conftest import points, purchase
from transactions.demo import PROMOTIONS as DEMO_PROMOTIONS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
COFFEE = {"lines": "any", "where": {"fact": "line.category.department", "op": "eq", "value": "coffee"}}


def test_a_manager_writes_a_coffee_promotion_with_clicks_and_simulates_it(admin_page, tx_program, api, screens):
    page = admin_page
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/admin/promotions/promotion/add/")
    page.fill("#id_key", "coffee-week")
    page.fill("#id_name", "Double points on coffee this week")
    page.uncheck("#id_active")
    today = timezone.localdate()
    page.fill("#id_valid_from_0", today.isoformat())
    page.fill("#id_valid_from_1", "00:00")
    page.fill("#id_valid_until_0", (today + timedelta(days=7)).isoformat())
    page.fill("#id_valid_until_1", "00:00")
    page.get_by_label("Northwind").check()  # the scope's sponsor, by name
    page.select_option("#id_point_type", "points")

    builder = page.locator("#condition-builder")
    expect(builder).to_contain_text("No condition")
    expect(page.locator("textarea[name=condition]")).to_be_hidden()  # the JSON only under Advanced
    builder.get_by_role("button", name="+ Line test").click()
    test = builder.locator(".cb-test")
    test.get_by_label("Fact").select_option(label="Department (category)")
    test.get_by_label("Value").select_option(label="Coffee")
    expect(test).to_contain_text("The product's department in the catalog.")
    page.select_option("#id_effects-0-type", label="Multiply the base earning")
    page.fill("#id_effects-0-factor", "2")
    page.locator("fieldset:has(h2:text('Condition'))").screenshot(path=screens / "promotion-condition-builder.png")
    # A second test of the same line makes the line's tests a group; removing it again leaves the one test.
    builder.locator(".cb-scope > .cb-add").get_by_role("button", name="+ Test").click()
    expect(builder.locator(".cb-scope .cb-group .cb-test")).to_have_count(2)
    builder.locator(".cb-scope .cb-test").nth(1).get_by_role("button", name="Remove").click()
    expect(builder.locator(".cb-scope .cb-test")).to_have_count(1)
    page.get_by_role("button", name="Advanced: JSON").click()
    assert json.loads(page.locator("textarea[name=condition]").input_value()) == COFFEE
    page.get_by_role("button", name="Back to the builder").click()
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist .success")).to_be_visible()

    draft = Promotion.objects.get(key="coffee-week")
    assert draft.definition["condition"] == COFFEE and draft.definition["scope"] == {"sponsors": ["northwind"]}
    assert draft.definition["effects"] == [{"type": "multiplier", "factor": "2"}]
    expect(page.locator("#condition-builder .cb-test")).to_have_count(1)  # the saved rule, back in the builder

    member = api.post(
        "/api/v1/memberships", {"firstName": "A", "lastName": "B", "email": "ab@example.com"}, format="json"
    )
    number = member.json()["membershipNumber"]
    page.goto(f"/admin/promotions/promotion/{draft.pk}/try/")
    page.fill("#id_membership", number)
    page.select_option("#id_channel", "webshop")
    page.fill("#id_lines-0-product_key", "espr")  # the product picker suggests from the catalog
    expect(page.locator("#simulator-products option[value='COF-001']")).to_have_count(1)
    page.fill("#id_lines-0-product_key", "COF-001")
    page.press("#id_lines-0-product_key", "Tab")
    expect(page.locator("#id_lines-0-unit_price")).to_have_value("6.49")  # the catalog price, filled in
    page.fill("#id_lines-0-quantity", "2")
    page.get_by_role("button", name="Evaluate").click()
    expect(page.locator("#stacking")).to_contain_text("Also applies: Double on coffee (coffee-double) on line 1.")
    expect(page.locator("#stacking")).to_contain_text("×3 the base earning")
    total = page.locator("#answer p").first.inner_text()
    page.locator("#answer").screenshot(path=screens / "promotion-simulator.png")
    page.fill("#id_basket_name", "Two bags of espresso")
    page.get_by_role("button", name="Save as a test basket").click()
    expect(page.locator(".messagelist .success")).to_contain_text("Saved as a test basket")

    page.goto(f"/admin/promotions/promotion/{draft.pk}/change/")
    expect(page.locator("#baskets")).to_contain_text("Two bags of espresso")
    expect(page.locator("#baskets")).to_contain_text("✓ passes")
    page.check("#id_active")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_be_visible()
    items = [{"productKey": "COF-001", "quantity": "2", "unitPrice": "6.49", "amount": "12.98"}]
    dry_run = api.post("/api/v1/tx", purchase(number, items=items), format="json").json()
    assert f"Total: {points(dry_run)} points" in total  # 12.98 base, twice more from the two coffee promotions

    page.goto("/admin/promotions/promotion/")
    row = page.locator("#result_list tbody tr").filter(has_text="coffee-week")
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text("Sponsors: Northwind")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    page.screenshot(path=screens / "promotions-list.png")
    page.goto(f"/admin/promotions/promotion/{draft.pk}/results/")
    expect(page.locator(".results-figures")).to_contain_text("Rewards")
    page.screenshot(path=screens / "promotion-results.png")


def test_a_refused_condition_is_shown_at_its_test(admin_page, tx_program):
    page = admin_page
    promotion = Promotion.objects.get(key="coffee-double")
    page.goto(f"/admin/promotions/promotion/{promotion.pk}/change/")
    test = page.locator("#condition-builder .cb-test")
    test.get_by_label("Fact").select_option(label="Total amount")
    test.get_by_label("Operator").select_option(label="is between")
    test.get_by_label("From").fill("20")  # no upper end
    page.click("input[name=_continue]")
    refused = page.locator("#condition-builder .cb-test .errorlist")
    expect(refused).to_be_visible()  # the message sits at the test it is about
    expect(page.locator("#condition-builder .cb-test")).to_have_count(1)


def conditions(in_line: bool = False, depth: int = 0):
    """Random conditions of the rule format (valid or not: the builder must keep whatever it is given)."""
    tests = st.fixed_dictionaries(
        {
            "fact": st.sampled_from(
                ["line.productKey", "line.amount", "line.category.department"]
                if in_line
                else ["tx.totalAmount", "tx.channel", "member.tier", "tx.weekday", "member.isBirthday"]
            ),
            "op": st.sampled_from(["eq", "ne", "in", "gte", "between", "exists"]),
            "value": st.one_of(st.text(max_size=5), st.booleans(), st.lists(st.text(max_size=3), max_size=3)),
        }
    )
    if depth >= 2:
        return tests
    inner = conditions(in_line, depth + 1)
    options = [
        tests,
        st.fixed_dictionaries({"all": st.lists(inner, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"any": st.lists(inner, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"not": inner}),
    ]
    if not in_line:
        options.append(
            st.fixed_dictionaries(
                {"lines": st.sampled_from(["any", "every", "none"]), "where": conditions(True, depth + 1)}
            )
        )
    return st.one_of(options)


def test_any_rule_comes_out_of_the_builder_as_it_went_in(admin_page, tx_program):
    page = admin_page
    page.goto("/admin/promotions/promotion/add/")
    expect(page.locator("#condition-builder")).to_be_visible()

    def round_trip(condition):
        page.evaluate("(value) => window.conditionBuilder.load(value)", condition)
        assert page.evaluate("() => JSON.parse(document.querySelector('textarea[name=condition]').value)") == condition
        assert page.evaluate("() => window.conditionBuilder.dump()") == condition

    for _, example in CONDITION_EXAMPLES:
        round_trip(example)
    for key, _, _, definition in DEMO_PROMOTIONS:  # every demo promotion's condition, shown in full
        if "condition" in definition:
            round_trip(definition["condition"])
            assert page.locator("#condition-builder .cb-unknown").count() == 0, key

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(conditions())
    def random_rules(condition):
        round_trip(condition)

    random_rules()
