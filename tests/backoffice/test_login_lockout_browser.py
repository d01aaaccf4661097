"""Admin sign-in in headless Chromium: five wrong passwords pause the user name from this address, the
pause page says so in words, an administrator sees the pause under Login lockouts and lets them sign in
again, after which the right password works."""

import pytest
from playwright.sync_api import expect

from tests.browser_fixtures import PASSWORD, TIMEOUT_MS
from tests.factories import StaffUserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, username: str, password: str) -> None:
    page.goto("/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")


def test_a_paused_sign_in_is_seen_and_released_in_the_admin(browser, admin_page, live_server, settings, screens):
    settings.AXES_FAILURE_LIMIT = 5
    StaffUserFactory(is_superuser=False, username="cashier")
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    guesser = context.new_page()
    for attempt in range(5):
        sign_in(guesser, "cashier", f"guess-{attempt}")
    expect(guesser.locator("body")).to_contain_text("paused")
    guesser.screenshot(path=screens / "login-paused.png")
    sign_in(guesser, "cashier", PASSWORD)  # the right password does not help while paused
    expect(guesser.locator("body")).to_contain_text("paused")

    admin_page.goto(f"{live_server.url}/admin/backoffice/loginlockout/")
    row = admin_page.locator("#result_list tbody tr", has_text="cashier")
    expect(row).to_contain_text("paused until")
    expect(row.locator("td.field-failures")).to_have_text("6")  # five guesses and the try while paused
    admin_page.screenshot(path=screens / "login-lockouts.png", full_page=True)
    row.locator("input[type=checkbox]").check()
    admin_page.select_option("select[name=action]", label="Let them sign in again")
    admin_page.click("button[name=index]")
    expect(admin_page.locator(".messagelist")).to_contain_text("may sign in again now")

    sign_in(guesser, "cashier", PASSWORD)
    expect(guesser.locator("h1")).to_have_text("Dashboard")
    context.close()
