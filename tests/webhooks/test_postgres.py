"""On PostgreSQL, with real concurrent transactions: the fan-out never passes over an event that commits late,
and two workers sending at once send each delivery once."""

from __future__ import annotations

import threading

import pytest
from django.db import connections, transaction

from loyalty.actors import Actor
from loyalty.outbox import emit_event
from webhooks import services
from webhooks.models import Delivery

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ACTOR = Actor.for_system("tests")


@pytest.fixture(autouse=True)
def _send_when_the_test_says(monkeypatch):
    monkeypatch.setattr("webhooks.services._send_soon", lambda: None)  # the tests send, with the workers they want


def in_thread(work) -> tuple[threading.Thread, threading.Event, threading.Event]:
    """Run `work` in a transaction of its own connection, held open until `release` is set."""
    written, release = threading.Event(), threading.Event()

    def run() -> None:
        try:
            with transaction.atomic():
                work()
                written.set()
                assert release.wait(20)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    assert written.wait(20)
    return thread, written, release


def test_an_event_that_commits_after_a_younger_one_is_delivered_and_nothing_twice(receiver):
    services.create_endpoint(url=f"{receiver.url}/in", event_types=["*"], actor=ACTOR)
    before = emit_event("points.earned", payload={"n": 0})

    def old_transaction() -> None:
        emit_event("tier.changed", payload={"n": 1})  # takes its transaction id now...

    thread, _, release = in_thread(old_transaction)
    younger = emit_event("points.earned", payload={"n": 2})  # ...and this one, younger, commits first
    services.dispatch()
    got = set(Delivery.objects.values_list("event_id", flat=True))
    assert got == {before.pk}  # the younger event waits while an older transaction is running
    release.set()
    thread.join()
    services.dispatch()
    services.dispatch()
    events = list(Delivery.objects.order_by("id").values_list("event_id", flat=True))
    assert len(events) == 3 and len(set(events)) == 3 and younger.pk in events


def test_an_old_transaction_writing_its_event_late_is_not_passed_over(receiver):
    """The case a cursor by event id gets wrong: the older transaction's event gets the higher id."""
    services.create_endpoint(url=f"{receiver.url}/in", event_types=["*"], actor=ACTOR)
    started, go, late = threading.Event(), threading.Event(), []

    def old_transaction() -> None:
        try:
            with transaction.atomic():
                with connections["default"].cursor() as cursor:
                    cursor.execute("SELECT pg_current_xact_id()")  # its transaction id is taken now
                started.set()
                assert go.wait(20)
                late.append(emit_event("tier.changed", payload={}))  # its event, written last
        finally:
            connections.close_all()

    thread = threading.Thread(target=old_transaction)
    thread.start()
    assert started.wait(20)
    younger = emit_event("points.earned", payload={})  # a younger transaction's event, committed first
    services.dispatch()
    assert not Delivery.objects.exists()  # held back while the older transaction may still write one
    go.set()
    thread.join()
    assert late[0].pk > younger.pk
    services.dispatch()
    assert set(Delivery.objects.values_list("event_id", flat=True)) == {younger.pk, late[0].pk}


def test_two_workers_sending_at_once_send_each_delivery_once(receiver, settings):
    settings.WEBHOOKS_BATCH = 20
    services.create_endpoint(url=f"{receiver.url}/in", event_types=["*"], actor=ACTOR)
    for n in range(200):
        emit_event("points.earned", payload={"n": n})
    services.dispatch()
    results = []

    def worker() -> None:
        try:
            results.append(services.send_due(budget_seconds=20))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r["delivered"] for r in results) == 200
    assert all(r["delivered"] > 0 for r in results)  # both took a share
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert len(ids) == 200 and len(set(ids)) == 200
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}
