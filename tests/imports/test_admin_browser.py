"""The admin in headless Chromium: a manager uploads a CSV, previews it (a dry run that writes
nothing), queues it, and sees the batch's progress and the error report with the bad row."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from imports.models import ImportBatch
from memberships.models import Membership
from tests.imports.conftest import csv_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_uploads_a_csv_and_sees_progress_and_errors(admin_page, program, tmp_path):
    rows = [["firstName", "lastName", "email"], ["Ann", "Smith", "ann@example.com"], ["Bob", "NoMail", "not-a-mail"]]
    path = tmp_path / "members.csv"
    path.write_bytes(csv_bytes(rows, delimiter=";", bom=True))
    page = admin_page

    page.goto(reverse("admin:imports_importbatch_changelist"))
    page.get_by_role("link", name="Upload an import file").click()
    expect(page.locator("#content")).to_contain_text("firstName")
    page.select_option("select[name=import_type]", "memberships")
    page.set_input_files("input[name=file]", str(path))
    expect(page.locator("input[name=preview]")).to_be_checked()
    page.click("input[type=submit][value='Upload']")

    # The preview: the first records run as a dry run, the bad one shown with its reason.
    expect(page.locator("#preview-ok")).to_have_text("1")
    expect(page.locator("#preview-failed")).to_have_text("1")
    bad = page.locator("#preview-rows tr.preview-failed")
    expect(bad).to_contain_text("Enter a valid email address")  # the reason in words, not its code
    expect(bad).to_contain_text("not-a-mail")
    assert not Membership.objects.exists() and not ImportBatch.objects.exists()
    page.click("input[type=submit][value='Queue all 2 records']")

    expect(page.locator(".messagelist .success")).to_contain_text("Queued 2 records")
    expect(page.locator("#batch-status")).to_have_text("completed")  # eager worker; the page refreshes while running
    expect(page.locator("#ok-count")).to_have_text("1")
    expect(page.locator("#failed-count")).to_have_text("1")
    report = page.locator("#error-report")
    expect(report.locator("tbody td").nth(1)).to_contain_text("email: Enter a valid email address")  # column: message
    expect(report).to_contain_text("email: not-a-mail")  # the record as the file had it, not a Python dict
    expect(report).not_to_contain_text("{")
    batch = ImportBatch.objects.get()
    assert batch.actor_label.startswith("user:") and Membership.objects.get().email == "ann@example.com"
