"""The admin in headless Chromium: a program manager edits the program and finds it in the audit log."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from loyalty.actors import Actor
from loyalty.models import AuditEntry, Program
from loyalty.services import save_configuration

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OLD_NAME = "Northwind Rewards"
NEW_NAME = "Northwind Rewards Plus"


def test_a_manager_renames_the_program_and_the_audit_log_shows_it(admin_page, admin_page_user, live_server, screens):
    program = save_configuration(Program(name=OLD_NAME), actor=Actor.for_system("tests"))
    page = admin_page

    # The program settings, reached the way a manager does: index, Programs, the program.
    page.goto(reverse("admin:index"))
    page.get_by_role("link", name="Programs").first.click()
    page.get_by_role("link", name=OLD_NAME).click()
    expect(page).to_have_url(f"{live_server.url}{reverse('admin:loyalty_program_change', args=[program.pk])}")

    page.fill("#id_name", NEW_NAME)
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_contain_text("was changed successfully")

    program.refresh_from_db()
    assert program.name == NEW_NAME
    entry = AuditEntry.objects.get(action="program.updated")
    assert entry.actor_user_id == admin_page_user.pk
    assert entry.changes == {"name": [OLD_NAME, NEW_NAME]}
    assert entry.request_id

    # The audit log: the entry, by this user, and what it changed.
    page.goto(reverse("admin:loyalty_auditentry_changelist"))
    row = page.locator("#result_list tbody tr").filter(has_text="Program updated")  # the action in words
    expect(row).to_have_count(1)
    expect(row).to_contain_text(f"user:{admin_page_user.username}")
    expect(row).to_contain_text(f"name: {OLD_NAME} → {NEW_NAME}")
    page.screenshot(path=screens / "audit-log.png")
    row.get_by_role("link").first.click()
    expect(page.locator("#content")).to_contain_text("Program updated")
    expect(page.locator("#content")).to_contain_text(OLD_NAME)
    expect(page.locator("#content")).to_contain_text(NEW_NAME)
