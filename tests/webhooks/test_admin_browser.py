"""Webhooks in the admin, in headless Chromium: an administrator registers an endpoint, sends a test event,
reads what the receiver answered and delivers again; the dashboard names an endpoint that was disabled."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from loyalty.outbox import emit_event
from webhooks import services
from webhooks.models import Delivery, Endpoint

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_administrator_registers_an_endpoint_tests_it_and_delivers_again(admin_page, receiver, screens):
    page = admin_page
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/admin/webhooks/endpoint/add/")
    page.fill("#id_url", f"{receiver.url}/crm")
    page.fill("#id_description", "CRM")
    page.fill("#id_subscriptions", "points.*\ntier.changed")
    page.fill("#id_extra_headers", "X-Shop: north")
    page.locator("#content").screenshot(path=screens / "webhook-endpoint-add.png")
    page.click("input[name=_save]")
    warning = page.locator(".messagelist .warning")
    expect(warning).to_contain_text("The signing secret of this endpoint: whsec_")
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", warning.inner_text()).group(0)
    endpoint = Endpoint.objects.get()
    assert endpoint.event_types == ["points.*", "tier.changed"] and endpoint.headers == {"X-Shop": "north"}
    assert services.active_secrets(endpoint) == [secret]
    row = page.locator("#result_list tbody tr").filter(has_text="CRM")
    expect(row).to_contain_text("Receiving")
    expect(row).to_contain_text("0 delivered, 0 waiting, 0 failed")
    page.screenshot(path=screens / "webhook-endpoints.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366

    row.locator("input.action-select").check()
    page.select_option("select[name=action]", "send_test")
    page.click("button[name=index]")
    expect(page.locator(".messagelist")).to_contain_text("A test event is on its way to CRM")
    assert len(receiver.requests) == 1  # sent when the action's transaction committed (no broker: in-process)
    page.get_by_role("link", name="see what it answers").click()
    expect(page.locator("#content")).to_contain_text("webhook.test")
    expect(page.locator(".inline-group")).to_contain_text("200 (accepted)")
    page.screenshot(path=screens / "webhook-delivery.png")

    receiver.status = 500
    page.get_by_role("button", name="Deliver again now").click()
    expect(page.locator(".messagelist")).to_contain_text("is being delivered again")
    expect(page.locator(".inline-group")).to_contain_text("500 (refused)")
    assert Delivery.objects.get().attempts == 2 and len(receiver.requests) == 2


def test_the_dashboard_names_an_endpoint_that_was_disabled(admin_page, receiver, screens):
    receiver.status = 410
    endpoint, _ = services.create_endpoint(
        url=f"{receiver.url}/gone", event_types=["*"], description="Old CRM", actor=services.Actor.for_system("t")
    )
    emit_event("points.earned", payload={})
    services.dispatch()
    services.send_due(budget_seconds=5)
    page = admin_page
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/admin/")
    notice = page.locator(".webhook-notice")
    expect(notice).to_contain_text("A webhook endpoint no longer receives events: what happens")
    expect(notice).to_contain_text("Old CRM: The receiver answered 410 Gone")
    notice.screenshot(path=screens / "webhook-dashboard-notice.png")
    notice.get_by_role("link", name="Old CRM").click()
    expect(page.locator(".field-state")).to_contain_text("Disabled. The receiver answered 410 Gone")
    assert not Endpoint.objects.get(pk=endpoint.pk).enabled
