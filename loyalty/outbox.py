"""The event outbox. Services call emit_event inside their own transaction."""

from typing import Any

from django.db import connection
from django.db.models.expressions import RawSQL

from loyalty.audit import json_value
from loyalty.models import AuditEntry, Event

TXID_SQL = "pg_current_xact_id()::text::bigint"


def current_txid_expression() -> RawSQL | None:
    if connection.vendor == "postgresql":
        return RawSQL(TXID_SQL, [])  # noqa: S611 - a constant
    return None


def emit_event(
    event_type: str,
    *,
    membership_number: str = "",
    payload: dict[str, Any] | None = None,
) -> Event:
    from loyalty.bulk import insert_models

    event = event_row(event_type, membership_number=membership_number, payload=payload)
    # The writing transaction's id, in the insert itself (a fraction of create()'s CPU).
    insert_models([event], ids=True, expressions={"txid": TXID_SQL} if connection.vendor == "postgresql" else None)
    return event


def event_row(event_type: str, *, membership_number: str = "", payload: dict[str, Any] | None = None) -> Event:
    """The event emit_event writes, unsaved (for emit_events)."""
    return Event(type=event_type, membership_number=membership_number, payload=json_value(payload or {}))


def emit_events(events: list[Event]) -> None:
    """Many events of this transaction in one insert, with its id as emit_event stores it."""
    if not events:
        return
    from loyalty.bulk import current_txid, insert_models

    txid = current_txid()
    for event in events:
        event.txid = txid
    insert_models(events)


def record_and_emit(
    actor: Any,
    action: str,
    obj: Any = None,
    *,
    event_type: str,
    membership_number: str = "",
    payload: dict[str, Any] | None = None,
    **audit_fields: Any,
) -> None:
    """record_audit and emit_event side by side, in one statement on PostgreSQL (a booking writes
    two or three such pairs). The rows are the ones those two write; their ids are not returned."""
    from loyalty.bulk import insert_models, insert_together, model_rows

    entry, event = audit_and_event(
        actor, action, obj, event_type=event_type, membership_number=membership_number, payload=payload, **audit_fields
    )
    if connection.vendor != "postgresql":
        insert_models([entry])
        insert_models([event])
        return
    insert_together((AuditEntry, model_rows([entry]), None), (Event, model_rows([event]), {"txid": TXID_SQL}))


def audit_and_event(
    actor: Any,
    action: str,
    obj: Any = None,
    *,
    event_type: str,
    membership_number: str = "",
    payload: dict[str, Any] | None = None,
    **audit_fields: Any,
) -> tuple[AuditEntry, Event]:
    """The unsaved audit entry and event record_and_emit writes."""
    from loyalty.audit import audit_entry

    entry = audit_entry(actor, action, obj, **audit_fields)
    return entry, event_row(event_type, membership_number=membership_number, payload=payload)


def outbox_groups(entry: AuditEntry, event: Event, *, link: str | None) -> tuple[tuple, tuple]:
    """The two as loyalty.bulk.insert_with_children's child groups: the event with this transaction's
    id, and `link` (an audit column, object_id) taking the parent's new id."""
    from loyalty.bulk import model_rows

    txid = {"txid": TXID_SQL} if connection.vendor == "postgresql" else None
    return (AuditEntry, model_rows([entry]), link, None), (Event, model_rows([event]), None, txid)
