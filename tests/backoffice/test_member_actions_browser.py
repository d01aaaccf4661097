"""Transferring points from the member page in headless Chromium: the form, the confirmation in points,
then both members' balances; the page fits a 1,366-px screen."""

import pytest
from playwright.sync_api import expect

from ledger.selectors import balance_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_transfers_points_to_another_member_after_a_confirmation(
    admin_page, make_member, earn, ledger_program, screens
):
    anna, bert = make_member(), make_member()
    earn(anna, 14_250)
    page = admin_page
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"/admin/memberships/membership/{anna.pk}/change/")

    page.get_by_role("link", name="Transfer points").click()
    page.fill("#id_target", bert.number)
    page.select_option("#id_point_type", label="Points")
    page.fill("#id_points", "142.50")
    page.get_by_role("button", name="Transfer points").click()

    expect(page.locator("#confirmation")).to_contain_text(
        f"142.50 Points will move from {anna.number} (142.50 redeemable now) to {bert.number}"
    )
    assert balance_of(bert, ledger_program.points).balance == 0
    page.screenshot(path=screens / "member-transfer.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    page.get_by_role("button", name="Yes, transfer points").click()

    expect(page.locator(".messagelist")).to_contain_text(f"Moved 142.50 Points from {anna.number} to {bert.number}")
    expect(page.locator("#panel-points")).to_contain_text("0.00")
    assert balance_of(bert, ledger_program.points).balance == 14_250
