"""The API docs (Swagger UI and Redoc) load everything from this server: nothing from another host
(no web fonts, no logos), so they work offline and leak nothing about who reads them."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_api_docs_ask_no_other_host_for_anything(admin_page, live_server):
    page = admin_page
    here = urlsplit(live_server.url).netloc
    elsewhere: list[str] = []

    def stand_in(route):  # what would have gone out to another host; this sandbox has no network
        elsewhere.append(route.request.url)
        route.fulfill(status=204)

    page.route(lambda url: urlsplit(url).netloc not in (here, ""), stand_in)
    page.goto("/api/redoc/")
    expect(page.locator("h1").first).to_be_visible(timeout=60_000)  # Redoc renders the whole schema
    page.wait_for_load_state("networkidle")
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .information-container")).to_be_visible(timeout=60_000)
    page.wait_for_load_state("networkidle")
    assert elsewhere == []
