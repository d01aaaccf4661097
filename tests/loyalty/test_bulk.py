"""loyalty.bulk: a few rows in one INSERT ... VALUES, many by COPY, the same rows either way."""

import pytest
from django.db import connection, transaction

from loyalty import bulk
from loyalty.actors import Actor
from loyalty.audit import audit_entry, record_audit
from loyalty.models import AuditEntry, Event
from loyalty.outbox import TXID_SQL, emit_event

ACTOR = Actor.for_system("tests")


def _txid() -> int | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {TXID_SQL}")
        return cursor.fetchone()[0]


@pytest.mark.django_db
@pytest.mark.parametrize("copy_from", [50, 1])  # VALUES, and COPY for every insert
def test_rows_get_their_own_ids_in_order_and_read_back_as_written(monkeypatch, copy_from):
    monkeypatch.setattr(bulk, "COPY_FROM", copy_from)
    entries = [
        audit_entry(ACTOR, f"test.action{n}", object_type="test", object_id=str(n), changes={"n": [n, n + 1]})
        for n in range(7)
    ]
    bulk.insert_models(entries, ids=True)
    assert [e.pk for e in entries] == sorted(e.pk for e in entries)
    stored = {e.pk: e for e in AuditEntry.objects.filter(pk__in=[e.pk for e in entries])}
    for n, entry in enumerate(entries):
        row = stored[entry.pk]
        assert (row.action, row.object_id, row.changes, row.actor_label) == (
            f"test.action{n}",
            str(n),
            {"n": [n, n + 1]},
            "system:tests",
        )
        assert row.created_at is not None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("copy_from", [50, 1])
def test_events_carry_the_writing_transactions_id(monkeypatch, copy_from):
    monkeypatch.setattr(bulk, "COPY_FROM", copy_from)
    with transaction.atomic():
        event = emit_event("test.happened", membership_number="123", payload={"a": 1})
        many = [Event(type="test.many", payload={"n": n}) for n in range(3)]
        bulk.insert_models(
            many, ids=True, expressions={"txid": TXID_SQL} if connection.vendor == "postgresql" else None
        )
        expected = _txid()
    stored = Event.objects.get(pk=event.pk)
    assert (stored.type, stored.membership_number, stored.payload, stored.txid) == (
        "test.happened",
        "123",
        {"a": 1},
        expected,
    )
    assert list(Event.objects.filter(type="test.many").order_by("pk").values_list("payload", "txid")) == [
        ({"n": n}, expected) for n in range(3)
    ]


@pytest.mark.django_db
def test_record_audit_returns_the_saved_entry(system_actor):
    entry = record_audit(system_actor, "test.recorded", object_type="test", object_id="1")
    assert entry.pk is not None
    assert AuditEntry.objects.get(pk=entry.pk).action == "test.recorded"


@pytest.mark.django_db(transaction=True)
def test_an_audit_entry_and_its_event_go_in_together_as_each_would_alone(system_actor):
    from django.test.utils import CaptureQueriesContext

    from loyalty.outbox import record_and_emit

    with transaction.atomic():
        alone = record_audit(system_actor, "test.pair", object_type="test", object_id="7", changes={"x": 1})
        alone_event = emit_event("test.pair", membership_number="42", payload={"x": 1})
        with CaptureQueriesContext(connection) as queries:
            record_and_emit(
                system_actor,
                "test.pair",
                object_type="test",
                object_id="7",
                changes={"x": 1},
                event_type="test.pair",
                membership_number="42",
                payload={"x": 1},
            )
        expected = _txid()
    if connection.vendor == "postgresql":
        assert len(queries) == 1
    entries = list(AuditEntry.objects.filter(action="test.pair").order_by("pk"))
    events = list(Event.objects.filter(type="test.pair").order_by("pk"))
    assert entries[0].pk == alone.pk and events[0].pk == alone_event.pk
    fields = ("actor_label", "object_type", "object_id", "changes", "actor_type")
    assert [tuple(getattr(e, f) for f in fields) for e in entries] == [
        ("system:tests", "test", "7", {"x": 1}, "system")
    ] * 2
    assert [(e.membership_number, e.payload, e.txid) for e in events] == [("42", {"x": 1}, expected)] * 2
