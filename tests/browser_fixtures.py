"""Playwright fixtures for admin tests in headless Chromium (Debian's `chromium` package).

The contract every app's browser tests use:

    @pytest.mark.browser
    @pytest.mark.django_db(transaction=True)
    def test_something(admin_page, live_server):
        admin_page.goto(f"{live_server.url}/admin/...")

- `browser` (session): a Playwright sync Chromium, launched from Debian's binary
  (`playwright install` cannot download browsers here).
- `admin_page` (function): a Page logged in to the admin at `{live_server.url}/admin/login/` as a
  new superuser; its browser context (cookies, pages) is closed after the test.
- `admin_page_user` (function): that superuser, for assertions about who did what.

Every browser context made from `browser` reports Content-Security-Policy violations (a
`securitypolicyviolation` event in a page, or Chromium's "Content Security Policy" error in the console):
a browser test during which any page had one fails, so no admin or docs page breaks the policy unseen
(CONTENT_SECURITY_POLICY, config/settings/security.py).

The `browser` marker skips these tests when chromium is not installed (tests/conftest.py), and
they run after all other tests: from its start until the end of the session Playwright's sync API
keeps an event loop running in the main thread, so Django's database calls need
DJANGO_ALLOW_ASYNC_UNSAFE, which other tests must not inherit (`manage.py check --deploy` in a
subprocess warns about it).
"""

import os
import shutil

import pytest

PASSWORD = "correct-horse-battery"  # tests.factories.StaffUserFactory sets it
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 15_000

# Runs in every page before its own scripts; the binding reports to the test process.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__reportCspViolation(`${location.pathname}: ${e.effectiveDirective} refused ${e.blockedURI || "?"}`
    + ` at ${e.sourceFile || "?"}:${e.lineNumber} ${e.sample ? "(" + e.sample + ")" : ""}`);
});
"""
CSP_VIOLATIONS: list[str] = []  # of the running test


def _report(violation: str) -> None:
    CSP_VIOLATIONS.append(violation)


def _watch_console(message) -> None:
    if message.type == "error" and "Content Security Policy" in message.text:
        CSP_VIOLATIONS.append(f"console: {message.text}")


class WatchedBrowser:
    """The Playwright browser, whose every new context reports CSP violations into CSP_VIOLATIONS."""

    def __init__(self, browser):
        self._browser = browser

    def __getattr__(self, name):
        return getattr(self._browser, name)

    def new_context(self, **kwargs):
        context = self._browser.new_context(**kwargs)
        context.expose_function("__reportCspViolation", _report)
        context.add_init_script(REPORT_VIOLATIONS)
        context.on("console", _watch_console)
        return context

    def new_page(self, **kwargs):
        return self.new_context(**kwargs).new_page()


def pytest_collection_modifyitems(config, items):
    """Browser tests last (a stable sort keeps the order within each group)."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("needs Debian's chromium package (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread while it is open, and
    # Django refuses database calls from a thread with a running loop; the calls of the tests
    # themselves are still synchronous.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
            try:
                yield WatchedBrowser(chromium)
            finally:
                chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A browser test fails on any CSP violation seen while it ran."""
    CSP_VIOLATIONS.clear()
    result = yield
    if item.get_closest_marker("browser") is not None and CSP_VIOLATIONS:
        raise AssertionError("Content-Security-Policy violations:\n" + "\n".join(dict.fromkeys(CSP_VIOLATIONS)))
    return result


@pytest.fixture
def admin_page_user(transactional_db):
    from tests.factories import StaffUserFactory

    return StaffUserFactory()


@pytest.fixture
def admin_page(browser, live_server, admin_page_user):
    from playwright.sync_api import expect

    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", admin_page_user.username)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        expect(page).to_have_url(f"{live_server.url}/admin/")
        expect(page.locator("#logout-form")).to_be_attached()
        yield page
    finally:
        context.close()


@pytest.fixture
def screens(tmp_path):
    """Where a browser test saves its screenshots: docs/screens/ under `make screens` (SCREENS_DIR),
    which docs/admin.md shows; else the test's own temporary folder."""
    from pathlib import Path

    folder = Path(os.environ.get("SCREENS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
