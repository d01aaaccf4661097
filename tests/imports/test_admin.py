"""The admin: batch list with progress, upload screen that queues the file, batch page with the
error report, cancel and resume through the same services, and the exports page."""

import io

import pytest
from django.test import Client
from django.urls import reverse

from imports.models import ImportBatch
from imports.services import process_batch
from memberships.models import Membership
from tests.factories import StaffUserFactory
from tests.imports.conftest import IMPORTS, csv_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    client = Client()
    client.force_login(StaffUserFactory())
    return client


def upload(staff, content: bytes, import_type="memberships"):
    file = io.BytesIO(content)
    file.name = "members.csv"
    return staff.post(reverse("admin:imports_importbatch_upload"), {"import_type": import_type, "file": file})


def test_the_upload_screen_lists_the_types_and_queues_a_file(staff, program, django_capture_on_commit_callbacks):
    page = staff.get(reverse("admin:imports_importbatch_upload"))
    assert page.status_code == 200 and b"pointAdjustments" in page.content and b"firstName" in page.content
    content = csv_bytes(
        [["firstName", "lastName", "email"], ["A", "B", "a@example.com"], ["C", "D", "broken"]], bom=True
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(staff, content)
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{batch.pk}/change/")
    assert batch.source == "admin" and batch.actor_label.startswith("user:")
    assert Membership.objects.count() == 1

    page = staff.get(response["Location"])
    text = page.content.decode()
    assert "<progress" in text and 'id="failed-count">1<' in text and "Error report" in text
    assert (
        "<strong>email</strong>: Enter a valid email address." in text
        and f"/api/v1/imports/{batch.key}?format=csv" in text
    )


def test_an_unusable_file_is_refused_on_the_form(staff, program):
    response = upload(staff, csv_bytes([["shoeSize"], ["42"]]))
    assert response.status_code == 200 and b"unknown_columns" in response.content
    assert not ImportBatch.objects.exists()


def test_cancel_and_resume_buttons_call_the_services(staff, api, program, django_capture_on_commit_callbacks):
    key = api.post(
        f"{IMPORTS}/memberships", [{"firstName": "A", "lastName": "B", "email": "ab@example.com"}], format="json"
    ).json()["key"]
    batch = ImportBatch.objects.get(key=key)
    page = staff.get(reverse("admin:imports_importbatch_change", args=[batch.pk])).content.decode()
    assert 'id="cancel-batch"' in page and 'http-equiv="refresh"' in page
    staff.post(reverse("admin:imports_importbatch_cancel", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == "cancelled"
    page = staff.get(reverse("admin:imports_importbatch_change", args=[batch.pk])).content.decode()
    assert 'id="resume-batch"' in page
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(reverse("admin:imports_importbatch_resume", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == "completed" and Membership.objects.count() == 1
    assert (
        staff.get(reverse("admin:imports_importbatch_cancel", args=[batch.pk])).status_code == 403
    )  # GET changes nothing


def test_the_batch_list_and_the_exports_page_render(staff, api, program):
    key = api.post(f"{IMPORTS}/memberships", [{"firstName": "A"}], format="json").json()["key"]
    process_batch(ImportBatch.objects.get(key=key).pk)
    listing = staff.get(reverse("admin:imports_importbatch_changelist")).content.decode()
    assert key in listing and "<progress" in listing and "Upload an import file" in listing
    exports = staff.get(reverse("admin:imports_exports")).content.decode()
    assert "/api/v1/exports/memberships?format=xlsx" in exports and "Sponsor liability" in exports
    assert staff.get("/api/v1/exports/memberships?format=csv").status_code == 200  # staff session works


def test_people_without_staff_rights_cannot_upload(program):
    client = Client()
    response = client.get(reverse("admin:imports_importbatch_upload"))
    assert response.status_code == 302 and "/login/" in response["Location"]
