"""The member page in headless Chromium, as a program manager uses it: find a member by a card number,
see the points as GET /memberships/{key}/accounts gives them, adjust them from there and come back
to the new balance."""

import pytest
from playwright.sync_api import expect

from ledger.selectors import balance_of
from memberships.services.enrollment import enroll_membership
from memberships.services.identifiers import issue_card
from tests.ledger.conftest import ACTOR

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_finds_a_member_by_card_and_adjusts_points_from_the_member_page(
    admin_page, member, earn, ledger_program, api, screens
):
    issue_card(membership=member, number="6010001234", actor=ACTOR)
    earn(member, 255_453, receipt="R-100")
    earn(member, 10_000, matures_in_days=14, receipt="R-101")
    page = admin_page
    page.set_viewport_size({"width": 1366, "height": 900})

    enroll_membership(  # a long name and e-mail address must not widen the list past the screen
        actor=ACTOR,
        first_name="Maximiliane",
        last_name="Oberhuber-Schwarzenegger",
        email="maximiliane.oberhuber-schwarzenegger@northwind-example.com",
    )
    page.goto("/admin/memberships/membership/")
    row = page.locator("#result_list tbody tr").filter(has_text=member.number)
    expect(row).to_contain_text("2,654.53")  # the points column: the main point type's balance
    page.screenshot(path=screens / "members.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    fits = (
        "(() => { const r = document.querySelector('#changelist .results'); return r.scrollWidth <= r.clientWidth; })()"
    )
    assert page.evaluate(fits), "the list is wider than its place on a 1,366-px screen"
    page.fill("#searchbar", "6010001234")
    page.press("#searchbar", "Enter")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    page.locator("#result_list tbody tr th a").first.click()

    expect(page.locator(".member-header")).to_have_text(
        f"{member.full_name} · {member.number} · Active · Consumer · no tier"
    )
    panel = page.locator("#panel-points")
    accounts = {a["name"]: a for a in api.get(f"/api/v1/memberships/{member.number}/accounts").json()}
    expect(panel).to_contain_text("2,654.53")  # accounts["Points"]["balance"] is "2654.53"
    assert accounts["Points"]["balance"] == "2654.53" and accounts["Points"]["redeemable"] == "2554.53"
    expect(panel).to_contain_text("2,554.53 redeemable")
    expect(panel).to_contain_text("100.00 blocked until")
    # The tabs: the statement first, one panel at a time, the member data behind its own tab.
    statement = page.locator("#panel-statement")
    expect(statement.locator("tbody tr")).to_have_count(2)
    expect(page.locator("#panel-transactions")).to_be_hidden()
    expect(page.locator("#member-data")).to_be_hidden()
    page.locator(".member-overview").screenshot(path=screens / "member-page.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    page.get_by_role("tab", name="Transactions").click()
    expect(page.locator("#panel-transactions")).to_contain_text("0 purchases")
    expect(statement).to_be_hidden()
    page.get_by_role("tab", name="Member data, cards and remarks").click()
    expect(page.locator("#member-data")).to_contain_text("6010001234")  # the card, among the member data
    page.get_by_role("tab", name="Statement").click()
    statement.get_by_role("link", name="Whole statement").click()
    expect(page.locator("table.statement tbody tr")).to_have_count(2)
    expect(page.locator("#content")).to_contain_text("2 booking lines, newest first")
    page.screenshot(path=screens / "statement.png")
    page.go_back()

    panel.get_by_role("link", name="Adjust points").click()
    expect(page.locator("#content")).to_contain_text("2,554.53")  # what the member has, on the form
    page.select_option("#id_point_type", label="Points")
    page.select_option("#id_sponsor", label="Shop")
    page.fill("#id_points", "-54.53")
    page.fill("#id_reason", "Goodwill correction")
    page.locator("#content").screenshot(path=screens / "adjust-points.png")
    page.click("input[type=submit]")

    expect(page.locator(".messagelist .success")).to_contain_text("Booked -54.53 Points")
    expect(page.locator("#panel-points")).to_contain_text("2,600.00")
    expect(page.locator("#panel-statement tbody tr").first).to_contain_text("Adjustment: Goodwill correction")
    assert balance_of(member, ledger_program.points).balance == 260_000

    # Cancel from the member page: the confirmation says, in points, what the member loses.
    page.get_by_role("link", name="Cancel membership").click()
    expect(page.locator(".messagelist")).to_contain_text("2,600.00 Points will be forfeited")
    page.locator("#content").screenshot(path=screens / "cancel-membership.png")
    page.fill("#id_reason", "Moved abroad")
    page.click("input[type=submit]")
    expect(page.locator(".messagelist .success")).to_contain_text(f"Cancelled {member.number}")
    expect(page.locator(".member-header")).to_contain_text("Cancelled")
    expect(page.locator("#panel-points .figure").first).to_contain_text("0.00")
    assert balance_of(member, ledger_program.points).balance == 0


def test_an_adjustment_that_waits_too_long_for_the_database_says_so_in_words(
    admin_page, member, ledger_program, screens, monkeypatch
):
    """The wait itself is tested on PostgreSQL (tests/loyalty/test_bounded_waits.py); here the service fails as
    a lock timeout makes it fail, and the manager sees what happened and what to do."""
    from django.db import OperationalError

    class LockNotAvailable(Exception):
        sqlstate = "55P03"

    def busy(**_):
        raise OperationalError("canceling statement due to lock timeout") from LockNotAvailable()

    monkeypatch.setattr("ledger.admin.adjust_points", busy)
    page = admin_page
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"/admin/ledger/booking/adjust/?membership={member.number}")
    page.select_option("#id_point_type", label="Points")
    page.select_option("#id_sponsor", label="Shop")
    page.fill("#id_points", "10")
    page.fill("#id_reason", "Goodwill")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("input[type=submit]")
    assert posted.value.status == 503
    expect(page.locator("h1")).to_have_text("The database is busy")
    expect(page.locator(".errornote")).to_contain_text("Nothing was saved.")
    expect(page.locator("#nav-sidebar")).to_be_attached()  # still the admin, with its navigation
    page.screenshot(path=screens / "busy.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
