"""Fixtures of the import and export tests: a program with sponsors, point types, a catalog with a
base promotion, members, and helpers that queue a batch and run its worker."""

import csv
import io

import pytest
from django.test.utils import CaptureQueriesContext

from imports.models import ImportBatch
from loyalty.models import MembershipType
from loyalty.services import save_configuration
from promotions.services import save_promotion

# The ledger's fixtures (program, members, earning), shared rather than copied.
from tests.ledger.conftest import ACTOR, earn, ledger_program, make_member, member  # noqa: F401
from tests.promotions.factories import CategoryValueFactory, ChannelFactory, MasterCategoryFactory, ProductFactory

IMPORTS = "/api/v1/imports"
CSV_IMPORTS = "/api/v1/csvimports"
EXPORTS = "/api/v1/exports"

BASE_PROMOTION = {
    "pointType": "points",
    "base": True,
    "effects": [{"type": "perAmount", "points": "1", "per": "1", "lines": "all"}],
}


@pytest.fixture
def program(ledger_program):  # noqa: F811
    """The ledger's program plus a company type, a web shop with two products and a base promotion."""
    save_configuration(MembershipType(key="business", name="Business", is_company=True), actor=ACTOR)
    webshop = ChannelFactory(key="webshop", name="Web shop", kind="webshop", sponsor=ledger_program.shop)
    department = MasterCategoryFactory(key="department", name="Department")
    CategoryValueFactory(master=department, channel=webshop, key="coffee", name="Coffee")
    ProductFactory(channel=webshop, key="COF-001", name="Espresso")
    ProductFactory(channel=webshop, key="TEA-001", name="Tea")
    save_promotion(key="base", name="1 point per euro", definition=BASE_PROMOTION, actor=ACTOR)
    ledger_program.webshop = webshop
    return ledger_program


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """run(call): make the request and run the worker it queues (tasks are eager in tests)."""

    def do(call):
        with django_capture_on_commit_callbacks(execute=True):
            return call()

    return do


@pytest.fixture
def import_json(api, run):
    """import_json(type, records) -> (response, batch): queue a JSON import and run it."""

    def do(import_type, records, client=None):
        response = run(lambda: (client or api).post(f"{IMPORTS}/{import_type}", records, format="json"))
        batch = (
            ImportBatch.objects.filter(key=response.json().get("key")).first() if response.status_code == 202 else None
        )
        return response, batch

    return do


def csv_bytes(rows: list[list[str]], *, delimiter: str = ",", bom: bool = False, encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode(encoding)


@pytest.fixture
def import_csv(api, run):
    """import_csv(type, content_bytes) -> response: upload as multipart field `file` and run it."""

    def do(import_type, content: bytes, name="upload.csv"):
        upload = io.BytesIO(content)
        upload.name = name
        return run(lambda: api.post(f"{CSV_IMPORTS}/{import_type}", {"file": upload}, format="multipart"))

    return do


def records_by_line(batch):
    return {r.line: r for r in batch.records.order_by("line")}


def queries(call) -> int:
    from django.db import connection

    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured)


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Export files go to a temporary folder, not the project's media folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def eager_tasks(request):
    """The worker runs in the test's own thread, with or without a broker configured; the tests
    marked `celery_worker` use the real one."""
    if "celery_worker" in request.keywords:
        yield
        return
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = before
