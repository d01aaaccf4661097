"""Reads of the audit log and the event feed."""

from django.db import connection
from django.db.models import F, Q, QuerySet
from django.db.models.expressions import RawSQL

from loyalty.models import AuditEntry, Event, EventCursor


def audit_entries() -> QuerySet[AuditEntry]:
    return AuditEntry.objects.select_related("actor_user", "actor_client").order_by("-id")


def events() -> QuerySet[Event]:
    return Event.objects.all()


def settled_events() -> QuerySet[Event]:
    """Events no running transaction can still precede.

    Ids are taken at insert, commits happen later: a feed that reads "id > cursor" would skip an
    event whose transaction commits after a younger one. On PostgreSQL only events written by
    transactions older than every running one are handed out; SQLite has one writer at a time.
    """
    qs = Event.objects.all()
    if connection.vendor == "postgresql":
        horizon = RawSQL("pg_snapshot_xmin(pg_current_snapshot())::text::bigint", [])
        qs = qs.alias(horizon=horizon).filter(Q(txid__isnull=True) | Q(txid__lt=F("horizon")))
    return qs


def next_events(*, after_id: int, limit: int) -> list[Event]:
    return list(settled_events().filter(id__gt=after_id).order_by("id")[:limit])


def acknowledged_id_of(client_id: int) -> int:
    return EventCursor.objects.filter(client_id=client_id).values_list("acknowledged_id", flat=True).first() or 0
