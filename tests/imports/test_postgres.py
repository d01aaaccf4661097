"""Workers racing on one batch, on PostgreSQL with real threads and connections."""

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.test import override_settings
from django.utils import timezone

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
    """Its claim has timed out, but it holds the rows' locks: a second worker skips them."""
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
    ImportRecord.objects.filter(batch=batch).update(claimed_at=timezone.now() - timedelta(hours=1))
    second = process_batch(batch.pk)  # finds the chunk locked: claims nothing
    release.set()
    thread.join(30)
    assert second["processed"] == 0 and outcome["first"]["processed"] == 4
    assert Membership.objects.count() == 4
    assert not ImportRecord.objects.exclude(status=RecordStatus.OK).exists()
    assert ImportBatch.objects.get(pk=batch.pk).status == BatchStatus.COMPLETED
