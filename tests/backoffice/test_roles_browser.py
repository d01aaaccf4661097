"""A support agent in headless Chromium: finds a member from the sidebar, adds a remark, adjusts within
the program's limit, is refused above it, and cannot open the program settings."""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from backoffice.roles import SUPPORT_AGENT
from ledger.models import Booking
from ledger.selectors import balance_of
from tests.browser_fixtures import PASSWORD, TIMEOUT_MS
from tests.factories import StaffUserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def agent_page(browser, live_server):
    user = StaffUserFactory(is_superuser=False, username="agent")
    user.groups.add(Group.objects.get(name=SUPPORT_AGENT))
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto("/admin/login/")
    page.fill("#id_username", "agent")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    yield page
    context.close()


def test_a_support_agent_helps_a_member_within_the_limit(agent_page, make_member, ledger_program, screens):
    member = make_member()
    page = agent_page
    expect(page.locator("h1")).to_have_text("Dashboard")

    page.fill("#find-member", member.email.upper()[:6])  # part of the e-mail, any case
    page.press("#find-member", "Enter")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    page.locator("#result_list tbody tr th a").first.click()
    expect(page.locator(".member-header")).to_contain_text(member.full_name)
    expect(page.get_by_role("link", name="Cancel membership")).to_have_count(0)

    page.get_by_role("link", name="Add a remark").click()
    page.fill("#id_text", "Asked why the points of last week are missing")
    page.get_by_role("button", name="Add a remark").click()
    expect(page.locator(".messagelist")).to_contain_text("Remark added")

    page.get_by_role("link", name="Adjust points").click()
    expect(page.locator("#content")).to_contain_text("at most 100 points in one adjustment")
    page.select_option("#id_point_type", label="Points")
    page.select_option("#id_sponsor", label="Shop")
    page.fill("#id_points", "250")
    page.fill("#id_reason", "Missing points of last week")
    page.get_by_role("button", name="Book").click()
    expect(page.locator(".errornote, .errorlist")).to_contain_text("You may adjust at most 100.00 Points at once")
    page.screenshot(path=screens / "support-agent-limit.png")
    assert not Booking.objects.filter(kind="adjust").exists()

    page.fill("#id_points", "80")
    page.get_by_role("button", name="Book").click()
    expect(page.locator(".messagelist")).to_contain_text("Booked 80.00 Points")
    assert balance_of(member, ledger_program.points).balance == 8_000

    response = page.goto("/admin/loyalty/program/")
    assert response.status == 403
    page.goto("/admin/")
    expect(page.locator("#nav-sidebar")).to_contain_text("Members")
    expect(page.locator("#nav-sidebar")).not_to_contain_text("Program settings")
