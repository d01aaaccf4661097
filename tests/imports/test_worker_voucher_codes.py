"""A real Celery worker (broker from CELERY_BROKER_URL) registers codes made elsewhere from a CSV
upload, in bulk chunks, and reports the duplicates; skipped when tasks are eager."""

import io

import pytest

from imports.models import ImportBatch
from tests.imports.conftest import CSV_IMPORTS, csv_bytes
from tests.imports.test_worker import wait_for
from tests.vouchers.factories import VoucherTypeFactory
from vouchers.models import Voucher

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def test_the_worker_registers_printed_codes_and_reports_duplicates(celery_app, celery_worker, api, program):
    assert not celery_app.conf.task_always_eager
    VoucherTypeFactory(key="printed")
    codes = [f"PRINTED-{i:06d}" for i in range(40)]
    rows = [["voucherType", "code"]] + [["printed", c] for c in codes] + [["printed", codes[0].lower()]]
    upload = io.BytesIO(csv_bytes(rows))
    upload.name = "codes.csv"
    response = api.post(f"{CSV_IMPORTS}/voucherCodes", {"file": upload}, format="multipart")
    assert response.status_code == 202, response.json()
    batch = ImportBatch.objects.get(key=response.json()["key"])
    wait_for(lambda: ImportBatch.objects.get(pk=batch.pk).status == "completed", "complete the batch")
    batch.refresh_from_db()
    assert (batch.ok_count, batch.failed_count) == (40, 1)
    assert batch.records.get(status="failed").error_code == "voucher_code_taken"
    assert set(Voucher.objects.values_list("token", flat=True)) == set(codes)
