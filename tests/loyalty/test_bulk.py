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


def _unsaved_transaction(tx_id: str):
    from tests.factories import SponsorFactory
    from tests.memberships.factories import MembershipFactory
    from transactions.models import Transaction

    membership = MembershipFactory()
    return Transaction(
        tx_id=tx_id,
        receipt_id=f"R-{tx_id}",
        membership=membership,
        sponsor=SponsorFactory(),
        occurred_at=membership.enrolled_at,
        total_amount="3.00",
        currency="EUR",
        request_hash="h",
        response={"booked": True},
    )


@pytest.mark.django_db
@pytest.mark.parametrize("copy_from", [50, 2])  # one statement; the parent, then each group (many rows)
def test_a_parent_and_the_rows_that_name_it_go_in_together(monkeypatch, copy_from, system_actor):
    from django.test.utils import CaptureQueriesContext

    from loyalty.outbox import audit_and_event, outbox_groups
    from transactions.models import Transaction, TransactionLine, TransactionReward

    monkeypatch.setattr(bulk, "COPY_FROM", copy_from)
    tx = _unsaved_transaction("T-1")
    lines = [
        {"transaction_id": None, "position": p, "product_key": f"P-{p}", "quantity": 1, "unit_price": 1, "amount": 1}
        for p in (1, 2, 3)
    ]
    entry, event = audit_and_event(system_actor, "tx.test", tx, event_type="tx.test", payload={"txId": "T-1"})
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries:
            bulk.insert_with_children(
                tx,
                (TransactionLine, lines, "transaction_id", None),
                (TransactionReward, [], "transaction_id", None),  # an empty group is left out
                *outbox_groups(entry, event, link="object_id"),
            )
        expected_txid = _txid()
    if connection.vendor == "postgresql" and copy_from == 50:
        assert len(queries) == 1
    assert tx.pk is not None and not tx._state.adding
    stored = Transaction.objects.get(pk=tx.pk)
    assert (stored.tx_id, stored.response, stored.membership_id) == ("T-1", {"booked": True}, tx.membership_id)
    assert list(stored.lines.order_by("position").values_list("position", "product_key")) == [
        (1, "P-1"),
        (2, "P-2"),
        (3, "P-3"),
    ]
    audit = AuditEntry.objects.get(action="tx.test")
    assert (audit.object_type, audit.object_id) == ("transactions.transaction", str(tx.pk))
    stored_event = Event.objects.get(type="tx.test")
    assert (stored_event.payload, stored_event.txid) == ({"txId": "T-1"}, expected_txid)


@pytest.mark.django_db(transaction=True)
def test_a_failing_child_row_leaves_no_parent():
    from django.db import IntegrityError

    from transactions.models import Transaction, TransactionLine

    tx = _unsaved_transaction("T-2")
    same_position = {"position": 1, "product_key": "P", "quantity": 1, "unit_price": 1, "amount": 1}
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk.insert_with_children(tx, (TransactionLine, [same_position, same_position], "transaction_id", None))
    assert not Transaction.objects.filter(tx_id="T-2").exists()
