"""The admin's preview of a small upload (django-import-export dry run): the first records run
through the import type's checks and services and are rolled back, so the manager sees what would
fail and why; nothing is written until the file is queued, and then only by the queue."""

import io
from datetime import timedelta

import pytest
import tablib
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from imports.models import ImportBatch, ImportRecord
from imports.preview import LINE, STORAGE_FOLDER, PreviewResource
from imports.registry import get_type
from loyalty.actors import Actor
from loyalty.models import AuditEntry, Event
from memberships.models import Membership
from tests.factories import StaffUserFactory
from tests.imports.conftest import csv_bytes
from tests.vouchers.factories import VoucherTypeFactory, issue
from vouchers.models import Voucher

pytestmark = pytest.mark.django_db

MEMBERS = [["firstName", "lastName", "email"], ["Ann", "Smith", "ann@example.com"], ["Bob", "NoMail", "not-a-mail"]]


@pytest.fixture
def staff():
    client = Client()
    client.force_login(StaffUserFactory())
    return client


def upload(client, content: bytes, import_type="memberships", preview=True, name="members.csv"):
    file = io.BytesIO(content)
    file.name = name
    data = {"import_type": import_type, "file": file}
    if preview:
        data["preview"] = "on"
    return client.post(reverse("admin:imports_importbatch_upload"), data)


def confirm(client, page, action="queue"):
    ticket = page.context["ticket"]
    return client.post(reverse("admin:imports_importbatch_upload_confirm"), {"ticket": ticket, action: "x"})


def written() -> dict[str, int]:
    return {
        "batches": ImportBatch.objects.count(),
        "records": ImportRecord.objects.count(),
        "members": Membership.objects.count(),
        "vouchers": Voucher.objects.count(),
        "audit": AuditEntry.objects.count(),
        "events": Event.objects.count(),
    }


def stored_previews(settings) -> list:
    folder = settings.MEDIA_ROOT / STORAGE_FOLDER
    return list(folder.iterdir()) if folder.exists() else []


def test_a_small_file_is_previewed_without_writing_then_queued(staff, program, settings, run):
    before = written()
    page = upload(staff, csv_bytes(MEMBERS, delimiter=";", bom=True))
    assert page.status_code == 200 and page.templates[0].name == "admin/imports/importbatch/preview.html"
    checked = page.context["preview"]
    assert (checked.total, checked.checked, checked.ok, checked.failed) == (2, 2, 1, 1)
    bad = checked.rows[1]
    assert bad.line == 3 and not bad.ok and bad.error_code == "validation_error" and "email" in bad.error_message
    text = page.content.decode()
    assert "would be applied" in text and "would fail" in text and "Queue all 2 records" in text
    assert written() == before  # the dry run rolled back: no member, batch, audit entry or event
    assert len(stored_previews(settings)) == 1

    response = run(lambda: confirm(staff, page))
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{batch.pk}/change/")
    batch.refresh_from_db()
    assert (batch.source, batch.filename, batch.total, batch.ok_count, batch.failed_count) == (
        "admin",
        "members.csv",
        2,
        1,
        1,
    )
    assert Membership.objects.get().email == "ann@example.com" and batch.actor_label.startswith("user:")
    assert stored_previews(settings) == []

    again = confirm(staff, page)  # a second click queues nothing
    assert again.status_code == 302 and ImportBatch.objects.count() == 1


def test_the_preview_shows_what_only_the_service_refuses(staff, program, settings):
    VoucherTypeFactory(key="flyer")
    taken = issue(VoucherTypeFactory(key="other"))
    before = written()
    content = csv_bytes(
        [
            ["voucherType", "code"],
            ["flyer", "PREVIEW-0000-0001"],
            ["flyer", taken.token],
            ["flyer", "preview-0000-0001"],  # the first row's code, applied in the dry run
            ["nope", "PREVIEW-0000-0002"],
        ]
    )
    page = upload(staff, content, import_type="voucherCodes")
    rows = page.context["preview"].rows
    assert [(r.line, r.ok, r.error_code) for r in rows] == [
        (2, True, ""),
        (3, False, "voucher_code_taken"),
        (4, False, "voucher_code_taken"),
        (5, False, "voucher_type_not_found"),
    ]
    assert written() == before and not Voucher.objects.filter(token="PREVIEW-0000-0001").exists()


def test_only_the_first_rows_are_run(staff, program, settings):
    settings.IMPORT_PREVIEW_ROWS = 2
    rows = [*MEMBERS, ["Cy", "Jones", "cy@example.com"]]
    page = upload(staff, csv_bytes(rows))
    checked = page.context["preview"]
    assert (checked.total, checked.checked, checked.unchecked) == (3, 2, 1)
    assert "The other 1 are checked when the worker runs them" in page.content.decode()


def test_discard_removes_the_file_and_queues_nothing(staff, program, settings):
    page = upload(staff, csv_bytes(MEMBERS))
    response = confirm(staff, page, action="discard")
    assert response.status_code == 302 and "?type=memberships" in response["Location"]
    assert stored_previews(settings) == [] and not ImportBatch.objects.exists()
    assert confirm(staff, page).status_code == 302 and not ImportBatch.objects.exists()


def test_a_large_file_skips_the_preview_and_is_queued(staff, program, settings, run):
    settings.IMPORT_PREVIEW_MAX_BYTES = 10
    response = run(lambda: upload(staff, csv_bytes(MEMBERS)))
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and batch.total == 2 and stored_previews(settings) == []


def test_a_file_unusable_as_a_whole_is_refused_before_the_preview(staff, program, settings):
    response = upload(staff, csv_bytes([["shoeSize"], ["42"]]))
    assert response.status_code == 200 and b"unknown_columns" in response.content
    assert stored_previews(settings) == [] and "preview" not in response.context


def test_only_the_uploader_can_queue_a_preview_and_tickets_are_signed(staff, program, settings):
    page = upload(staff, csv_bytes(MEMBERS))
    other = Client()
    other.force_login(StaffUserFactory())
    assert confirm(other, page).status_code == 403
    forged = staff.post(reverse("admin:imports_importbatch_upload_confirm"), {"ticket": "x:y:z", "queue": "x"})
    assert forged.status_code == 302 and not ImportBatch.objects.exists()
    assert staff.get(reverse("admin:imports_importbatch_upload_confirm")).status_code == 403


def test_the_preview_resource_never_saves_outside_a_dry_run(program):
    resource = PreviewResource(get_type("memberships"), Actor.for_system("tests"))
    dataset = tablib.Dataset(headers=[LINE, "firstName", "lastName", "email", "__row_error__"])
    dataset.append([2, "Ann", "Smith", "ann@example.com", ""])
    result = resource.import_data(dataset, dry_run=False, use_transactions=True)
    assert result.has_errors() and not Membership.objects.exists()


def test_a_second_confirm_that_still_finds_the_file_queues_nothing(staff, program, settings, run, monkeypatch):
    """Two confirms racing both read the kept file before either removes it: the batch key, derived
    from the file, lets only one of them queue."""
    from imports import preview

    page = upload(staff, csv_bytes(MEMBERS, delimiter=";", bom=True))
    monkeypatch.setattr(preview, "drop_file", lambda name: None)  # as if the second read came first
    run(lambda: confirm(staff, page))
    again = confirm(staff, page)
    assert again.status_code == 302 and ImportBatch.objects.count() == 1
    assert Membership.objects.count() == 1


def test_a_preview_of_transactions_books_nothing_and_reports_refusals(staff, program, settings):
    from transactions.models import Transaction

    recent = (timezone.now() - timedelta(days=30)).isoformat()  # within TX_MAX_AGE_DAYS
    rows = [
        [
            "txId",
            "receiptId",
            "membershipKey",
            "channel",
            "occurredAt",
            "totalAmount",
            "currency",
            "productKey",
            "quantity",
            "unitPrice",
            "amount",
        ],
        [
            "P-1",
            "R-P-1",
            "no-member",
            "webshop",
            recent,
            "6.49",
            "EUR",
            "COF-001",
            "1",
            "6.49",
            "6.49",
        ],
        [
            "P-2",
            "R-P-2",
            "no-member",
            "webshop",
            recent,
            "6.49",
            "USD",
            "COF-001",
            "1",
            "6.49",
            "6.49",
        ],
    ]
    page = upload(staff, csv_bytes(rows), import_type="transactions")
    checked = page.context["preview"]
    assert (checked.checked, checked.failed) == (2, 1)
    assert checked.rows[1].error_code == "wrong_currency"
    assert not Transaction.objects.exists()
