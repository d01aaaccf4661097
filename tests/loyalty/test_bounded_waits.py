"""Bounded waits: requests run with a lock and a statement timeout; running out of either answers 503 `busy`;
an import holds a member's lock only for a short batch of records."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections, transaction

from config.settings.env import timeouts_option
from imports.registry import get_type
from imports.services import processing
from imports.services.processing import process_batch
from loyalty.dbtimeouts import is_timeout, use_worker_timeouts
from memberships.models import AlternateId, Membership
from tests.promotions.conftest import ACTOR, catalog, member, program, purchase, sponsor, tx_program  # noqa: F401
from transactions.models import Transaction

ROOT = Path(__file__).resolve().parents[2]


def show(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return cursor.fetchone()[0]


def test_web_processes_bound_waits_and_commands_do_not():
    assert timeouts_option("web", lock=5, statement=25) == "-c lock_timeout=5000 -c statement_timeout=25000"
    assert timeouts_option("command", lock=5, statement=25) == ""
    assert settings.DATABASE_LOCK_TIMEOUT == 5.0 and settings.DATABASE_STATEMENT_TIMEOUT == 25.0
    assert settings.DATABASE_STATEMENT_TIMEOUT < 30  # gunicorn's timeout


def timeouts_in_a_new_process(role: str | None) -> list[str]:
    """What a fresh process of the role shows (this test process may have run an embedded Celery worker,
    which switched its own connections to the worker's timeouts)."""
    env = {k: v for k, v in os.environ.items() if k != "LOYALTY_PROCESS_ROLE"}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    db = connection.settings_dict  # the test database
    env["DATABASE_URL"] = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    if role:
        env["LOYALTY_PROCESS_ROLE"] = role
    script = (
        "import django; django.setup(); from django.db import connection; c = connection.cursor(); "
        "c.execute('SHOW lock_timeout'); a = c.fetchone()[0]; c.execute('SHOW statement_timeout'); "
        "print(a, c.fetchone()[0])"
    )
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.split()


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_web_process_waits_5_s_for_a_lock_and_runs_a_statement_25_s_at_most_and_a_command_has_no_limit():
    assert timeouts_in_a_new_process(None) == ["5s", "25s"]
    assert timeouts_in_a_new_process("command") == ["0", "0"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_waits_and_runs_longer():
    options = dict(connection.settings_dict["OPTIONS"])
    try:
        use_worker_timeouts()
        assert (show("lock_timeout"), show("statement_timeout")) == ("1min", "10min")
        assert "jit=off" in connection.settings_dict["OPTIONS"]["options"]
    finally:
        connection.settings_dict["OPTIONS"] = options
        connection.close()


def hold_member_lock(membership_id: int, seconds: float, held: threading.Event) -> threading.Thread:
    """Another connection holds the member's row, as a long transaction would."""

    def run() -> None:
        try:
            with transaction.atomic():
                Membership.objects.select_for_update().get(pk=membership_id)
                held.set()
                time.sleep(seconds)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    assert held.wait(10)
    return thread


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "timeouts",
    ["SET lock_timeout = '300ms'", "SET lock_timeout = 0; SET statement_timeout = '300ms'"],
    ids=["lock_timeout", "statement_timeout"],
)
def test_a_request_that_waits_too_long_answers_503_busy_and_books_nothing(api, member, timeouts):  # noqa: F811
    thread = hold_member_lock(member.pk, 2.0, threading.Event())
    try:
        with connection.cursor() as cursor:
            cursor.execute(timeouts)  # this test's connection is the request's: shorter than 5 s / 25 s
        started = time.monotonic()
        response = api.post("/api/v1/tx", purchase(member, tx_id="busy-1"), format="json")
        waited = time.monotonic() - started
    finally:
        thread.join()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout; RESET statement_timeout")
    assert response.status_code == 503, response.content
    assert response.json() == {
        "status": 503,
        "code": "busy",
        "detail": "The server is busy: what this request needs is in use; nothing was changed, retry shortly.",
        "errors": [],
    }
    assert response["Retry-After"] == "1"
    assert waited < 1.5
    assert not Transaction.objects.filter(tx_id="busy-1").exists()
    again = api.post("/api/v1/tx", purchase(member, tx_id="busy-1"), format="json")  # the retry books
    assert again.status_code == 201


def test_only_lock_and_statement_timeouts_are_busy():
    from django.db import OperationalError

    class Cause(Exception):
        def __init__(self, sqlstate):
            self.sqlstate = sqlstate

    def error(sqlstate):
        exc = OperationalError("x")
        exc.__cause__ = Cause(sqlstate)
        return exc

    assert is_timeout(error("55P03")) and is_timeout(error("57014"))
    assert not is_timeout(error("40P01")) and not is_timeout(error(None)) and not is_timeout(ValueError())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_import_for_one_member_holds_its_lock_briefly_so_its_tx_answer_fast(
    api,
    member,  # noqa: F811
    monkeypatch,
):
    """3,000 alternate ids for one member (each record locks the member): POST /tx for that member meanwhile
    answers in under a second every time. Before, the worker applied 2,000 records in one transaction."""
    from imports.services.queueing import queue_batch

    monkeypatch.setattr("imports.services.queueing.enqueue", lambda batch: None)
    records = [
        (line, {"membershipKey": member.number, "type": "legacy", "value": f"L{line:06d}"}) for line in range(1, 3001)
    ]
    batch = queue_batch(import_type=get_type("alternateIds"), records=records, actor=ACTOR, source="json")
    result: dict = {}

    def work() -> None:
        try:
            result.update(process_batch(batch.pk))
        finally:
            connections.close_all()

    worker = threading.Thread(target=work)
    worker.start()
    latencies = []
    try:
        time.sleep(0.3)
        for n in range(15):
            if not worker.is_alive():
                break
            started = time.monotonic()
            response = api.post("/api/v1/tx", purchase(member, tx_id=f"during-{n}"), format="json")
            latencies.append(time.monotonic() - started)
            assert response.status_code == 201, response.content
    finally:
        worker.join()
    assert result["status"] == "completed"
    assert AlternateId.objects.filter(membership=member).count() == 3000
    assert len(latencies) >= 5, "the import finished before the requests ran"
    assert max(latencies) < 1.0, latencies


def test_the_lock_budget_is_100_ms_by_default():
    from imports import conf

    assert conf.lock_budget() == 0.1
    assert {"55P03"} <= processing.RETRYABLE_PG_CODES  # a worker's lock timeout: the chunk runs again


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_admin_page_that_waits_too_long_says_the_database_is_busy_and_saves_nothing(member):  # noqa: F811
    from django.test import Client

    from ledger.models import PointType, Posting
    from loyalty.models import Sponsor
    from tests.factories import StaffUserFactory

    staff = Client()
    staff.force_login(StaffUserFactory(is_superuser=True))
    postings = Posting.objects.count()
    thread = hold_member_lock(member.pk, 2.0, threading.Event())
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
        response = staff.post(
            "/admin/ledger/booking/adjust/",
            {
                "membership": member.number,
                "point_type": PointType.objects.get(key="points").pk,
                "sponsor": Sponsor.objects.get(is_default=True).pk,
                "points": "10",
                "reason": "goodwill",
            },
        )
    finally:
        thread.join()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    page = response.content.decode()
    assert "The database is busy" in page and "Nothing was saved." in page
    assert Posting.objects.count() == postings
