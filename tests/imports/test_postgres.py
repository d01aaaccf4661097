"""Workers racing on one batch, on PostgreSQL with real threads and connections."""

import threading

import pytest
from django.db import connections
from django.test import override_settings

from imports.models import BatchStatus, ImportBatch, ImportRecord, RecordStatus
from imports.registry import get_type
from imports.services import process_batch, queue_batch
from ledger.models import Booking
from ledger.selectors import balance_of
from ledger.verify import verify
from loyalty.models import Event
from memberships.models import Membership
from tests.conftest import run_in_threads
from tests.ledger.conftest import ACTOR

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def no_automatic_worker(monkeypatch):
    """The test starts the workers itself."""
    monkeypatch.setattr("imports.services.queueing.enqueue", lambda batch: None)


def queue(import_type, records):
    return queue_batch(
        import_type=get_type(import_type), records=enumerate(records, start=1), actor=ACTOR, source="json"
    )


@override_settings(IMPORT_CHUNK_SIZE=5)
def test_four_workers_racing_on_one_batch_apply_every_record_exactly_once(program):
    people = [{"firstName": "P", "lastName": f"N{i}", "email": f"race{i}@example.com"} for i in range(80)]
    batch = queue("memberships", people)
    results = run_in_threads(4, lambda _: process_batch(batch.pk))
    assert all(isinstance(r, dict) for r in results), results
    assert sum(r["processed"] for r in results) == 80
    batch.refresh_from_db()
    assert (batch.status, batch.ok_count, batch.failed_count) == (BatchStatus.COMPLETED, 80, 0)
    assert Membership.objects.count() == 80
    assert Event.objects.filter(type="membership.enrolled").count() == 80
    assert Event.objects.filter(type="import.completed").count() == 1


@override_settings(IMPORT_LEDGER_CHUNK_SIZE=3)
def test_workers_racing_on_point_adjustments_book_each_once(program, make_member):
    members = [make_member() for _ in range(4)]
    records = [{"membershipKey": members[i % 4].number, "points": "1.00", "reason": f"r{i}"} for i in range(40)]
    batch = queue("pointAdjustments", records)
    results = run_in_threads(4, lambda _: process_batch(batch.pk))
    assert sum(r["processed"] for r in results) == 40, results
    assert Booking.objects.filter(kind="adjust").count() == 40
    assert [balance_of(m, program.points).balance for m in members] == [1000] * 4
    assert verify() == []


@override_settings(IMPORT_CHUNK_SIZE=4)
def test_a_slow_workers_chunk_is_not_taken_over_while_it_still_works(program, monkeypatch):
    """It holds the rows' locks while it works on them: a second worker skips them, and takes nothing."""
    batch = queue(
        "memberships", [{"firstName": "S", "lastName": f"N{i}", "email": f"slow{i}@example.com"} for i in range(4)]
    )
    memberships = get_type("memberships")
    original = memberships.apply
    inside, release = threading.Event(), threading.Event()

    def slow(data, context):
        if context.line == 1:
            inside.set()
            release.wait(30)
        return original(data, context)

    monkeypatch.setattr(memberships, "apply", slow)
    monkeypatch.setattr(memberships, "apply_bulk", None)  # one record at a time, to stall inside a chunk
    outcome = {}

    def first():
        try:
            outcome["first"] = process_batch(batch.pk)
        finally:
            connections.close_all()

    thread = threading.Thread(target=first)
    thread.start()
    assert inside.wait(30)
    second = process_batch(batch.pk)  # finds the chunk locked: claims nothing
    release.set()
    thread.join(30)
    assert second["processed"] == 0 and outcome["first"]["processed"] == 4
    assert Membership.objects.count() == 4
    assert not ImportRecord.objects.exclude(status=RecordStatus.OK).exists()
    assert ImportBatch.objects.get(pk=batch.pk).status == BatchStatus.COMPLETED


STALLING_WORKER = """
import sys, time
import django
django.setup()
from imports.registry import get_type
from imports.services import process_batch
memberships = get_type("memberships")
write = memberships.apply_bulk
def stall(items):
    write(items)  # the chunk is written, not yet committed
    print("written", flush=True)
    time.sleep(120)
memberships.apply_bulk = stall
process_batch(int(sys.argv[1]))
"""


@override_settings(IMPORT_CHUNK_SIZE=4)
def test_a_worker_process_killed_mid_chunk_frees_its_records_for_another_at_once(program, tmp_path):
    """A real worker process writes its chunk, is killed before it commits: the rows it had locked
    are pending again, and the next worker finishes the batch, each record once."""
    import os
    import signal
    import subprocess
    import sys

    from django.conf import settings

    batch = queue(
        "memberships", [{"firstName": "K", "lastName": f"N{i}", "email": f"k{i}@example.com"} for i in range(6)]
    )
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "IMPORT_CHUNK_SIZE": "4", "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("CELERY_BROKER_URL", None)
    worker = subprocess.Popen(
        [sys.executable, "-c", STALLING_WORKER, str(batch.pk)],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        line = worker.stdout.readline()
        assert line.strip() == "written", line
        assert Membership.objects.count() == 0  # not committed
        assert ImportRecord.objects.filter(batch=batch, status=RecordStatus.PENDING).count() == 6
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
    result = process_batch(batch.pk)  # no claim timeout to wait for
    assert result == {"processed": 6, "status": BatchStatus.COMPLETED}
    batch.refresh_from_db()
    assert (batch.ok_count, batch.failed_count) == (6, 0)
    assert Membership.objects.count() == 6
    assert Event.objects.filter(type="membership.enrolled").count() == 6


@override_settings(IMPORT_CHUNK_SIZE=2)
def test_a_worker_looks_again_from_the_start_for_records_freed_behind_it(program, monkeypatch):
    """A worker goes forward through the file; records another worker held when it passed them, and
    that worker's rollback freed later, are taken in a last pass from the start."""
    from django.db import transaction

    from imports.services import processing

    batch = queue(
        "memberships", [{"firstName": "B", "lastName": f"N{i}", "email": f"b{i}@example.com"} for i in range(4)]
    )
    held, release = threading.Event(), threading.Event()

    def dying_worker():
        try:
            with transaction.atomic():
                records = ImportRecord.objects.filter(batch=batch, line__lte=2).order_by("line")
                list(records.select_for_update(of=("self",)))
                held.set()
                release.wait(30)
                transaction.set_rollback(True)  # it dies: nothing of its chunk is applied
        finally:
            connections.close_all()

    thread = threading.Thread(target=dying_worker)
    thread.start()
    assert held.wait(30)
    lock_and_apply = processing._lock_and_apply

    def first_the_other_worker_dies(batch, import_type, size, cache, after=0):
        applied, last = lock_and_apply(batch, import_type, size, cache, after)
        if not applied and after:
            release.set()
            thread.join(30)
        return applied, last

    monkeypatch.setattr(processing, "_lock_and_apply", first_the_other_worker_dies)
    assert process_batch(batch.pk) == {"processed": 4, "status": BatchStatus.COMPLETED}
    assert Membership.objects.count() == 4


def test_resuming_beside_a_worker_that_holds_claimed_records_does_not_deadlock(program, make_member, monkeypatch):
    """A worker holds its claimed records locked and then counts its outcomes on the batch row; a resume
    locks the batch row and releases claimed records. It skips the records a live worker holds instead
    of waiting for them (waiting was a lock cycle: PostgreSQL's deadlock error, a 500 to the caller)."""
    from django.db import transaction

    from imports.services import cancel_batch, resume_batch
    from imports.services.processing import claim_chunk

    monkeypatch.setattr("imports.services.control.enqueue", lambda batch: None)
    member = make_member()
    records = [{"membershipKey": member.number, "points": "1.00", "reason": f"r{i}"} for i in range(6)]
    batch = queue("pointAdjustments", records)
    ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING)
    _, held = claim_chunk(batch, 3)
    _, dead = claim_chunk(batch, 3)  # a chunk a dead worker claimed
    cancel_batch(batch=batch, actor=ACTOR)
    locked, resumed = threading.Event(), threading.Event()
    outcome = {}

    def worker():
        try:
            with transaction.atomic():
                list(ImportRecord.objects.select_for_update().filter(pk__in=held).order_by("line"))  # as _apply_chunk
                locked.set()
                resumed.wait(10)
                ImportBatch.objects.filter(pk=batch.pk).update(ok_count=3)  # as _count does
            outcome["worker"] = "ok"
        except Exception as exc:  # the test reports what happened
            outcome["worker"] = repr(exc)
        finally:
            connections.close_all()

    def resume():
        locked.wait(10)
        try:
            with transaction.atomic():
                resume_batch(batch=batch, actor=ACTOR)
                resumed.set()
                # the worker now waits for the batch row this transaction holds; the resume commits
            outcome["resume"] = "ok"
        except Exception as exc:
            resumed.set()
            outcome["resume"] = repr(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker), threading.Thread(target=resume)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcome == {"worker": "ok", "resume": "ok"}
    statuses = dict(ImportRecord.objects.filter(batch_id=batch.pk).values_list("pk", "status"))
    assert {statuses[pk] for pk in held} == {RecordStatus.CLAIMED}  # the live worker's records stay its own
    assert {statuses[pk] for pk in dead} == {RecordStatus.PENDING}  # the dead worker's go back
