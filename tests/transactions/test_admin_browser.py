"""The transactions screens in headless Chromium, as a program manager reaches them: from the admin's
index to the list, a search by receipt, and one transaction with its rewards and why."""

import pytest
from playwright.sync_api import expect

from tests.promotions.conftest import buy, new_member
from transactions.models import Transaction

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_finds_a_transaction_by_its_receipt_and_sees_what_it_earned(admin_page, tx_program, screens):
    member = new_member()
    buy(member, [("COF-001", "2", "6.49"), ("TEA-001", "1", "2.89")])
    buy(new_member(), [("TEA-001", "1", "2.89")])
    tx = Transaction.objects.get(membership=member)
    page = admin_page
    page.set_viewport_size({"width": 1366, "height": 900})

    page.goto("/admin/")
    section = page.locator("#nav-sidebar .app-purchases")  # the dashboard is the first page
    expect(section.locator("caption")).to_contain_text("Purchases")
    section.locator("#purchases-transaction a").first.click()
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    page.screenshot(path=screens / "transactions.png")
    fits = (
        "(() => { const r = document.querySelector('#changelist .results'); return r.scrollWidth <= r.clientWidth; })()"
    )
    assert page.evaluate(fits), "the list is wider than its place on a 1,366-px screen"

    page.fill("#searchbar", tx.receipt_id)
    page.press("#searchbar", "Enter")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    page.locator("#result_list tbody tr th a").first.click()
    expect(page.locator("#content h2").first).to_be_visible()
    content = page.locator("#content")
    expect(content).to_contain_text(tx.tx_id)
    expect(content).to_contain_text("coffee-double")
    expect(content).to_contain_text("15.87")
    page.locator("#content").screenshot(path=screens / "transaction.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366

    # The program's currency, now that it has purchases: asked first, saved when confirmed.
    page.goto("/admin/loyalty/program/")
    page.locator("#result_list tbody tr th a").first.click()
    page.fill("#id_currency", "USD")
    page.click("input[name=_save]")
    expect(page.locator("#content")).to_contain_text("2 purchases were booked in EUR")
    page.locator("#content").screenshot(path=screens / "program-change.png")
    page.click("input[value='Yes, change it']")
    expect(page.locator(".messagelist .success")).to_be_visible()
    from loyalty.models import Program

    assert Program.current().currency == "USD"
