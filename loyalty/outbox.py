"""The event outbox. Services call emit_event inside their own transaction."""

from typing import Any

from django.db import connection
from django.db.models.expressions import RawSQL

from loyalty.audit import json_value
from loyalty.models import Event


def current_txid_expression() -> RawSQL | None:
    if connection.vendor == "postgresql":
        return RawSQL("pg_current_xact_id()::text::bigint", [])
    return None


def emit_event(
    event_type: str,
    *,
    membership_number: str = "",
    payload: dict[str, Any] | None = None,
) -> Event:
    return Event.objects.create(
        type=event_type,
        membership_number=membership_number,
        payload=json_value(payload or {}),
        txid=current_txid_expression(),
    )
