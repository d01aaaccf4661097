"""A real Celery worker (broker from CELERY_BROKER_URL) runs a queued CSV import and a background
export; skipped when tasks are eager."""

import io
import time

import pytest

from imports.models import ImportBatch
from memberships.models import Membership
from tests.imports.conftest import CSV_IMPORTS, EXPORTS, csv_bytes

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

WAIT_SECONDS = 60


def wait_for(check, what):
    deadline = time.monotonic() + WAIT_SECONDS
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"the worker did not {what} within {WAIT_SECONDS} s")
        time.sleep(0.1)


def test_the_worker_applies_a_csv_import_and_runs_a_background_export(celery_app, celery_worker, api, program):
    assert not celery_app.conf.task_always_eager
    rows = [["firstName", "lastName", "email"]] + [["W", f"N{i}", f"w{i}@example.com"] for i in range(30)]
    upload = io.BytesIO(csv_bytes(rows, delimiter=";", bom=True))
    upload.name = "members.csv"
    response = api.post(f"{CSV_IMPORTS}/memberships", {"file": upload}, format="multipart")
    assert response.status_code == 202 and response.json()["status"] == "queued"
    batch = ImportBatch.objects.get(key=response.json()["key"])
    wait_for(lambda: ImportBatch.objects.get(pk=batch.pk).status == "completed", "complete the batch")
    assert Membership.objects.count() == 30

    job = api.get(f"{EXPORTS}/memberships", {"async": "true", "format": "csv"}).json()
    wait_for(lambda: api.get(job["pollUrl"]).json()["status"] == "completed", "finish the export")
    download = api.get(api.get(job["pollUrl"]).json()["downloadUrl"])
    assert len(b"".join(download.streaming_content).decode("utf-8-sig").splitlines()) == 31
