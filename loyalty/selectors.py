"""Reads of the audit log and the event feed."""

from django.db import connection
from django.db.models import F, Q, QuerySet
from django.db.models.expressions import RawSQL

from loyalty.models import AuditEntry, Event, EventCursor, MembershipType, Program, Sponsor, Tier


def program_time_zone() -> str:
    """The program's time zone, read without creating the program row (Program.current() would)."""
    return Program.objects.values_list("time_zone", flat=True).first() or "UTC"


# API clients and keys are how one reaches a program, not part of it: a key made before the demo is loaded
# leaves the program empty.
_ACCESS_OBJECTS = ("loyalty.apiclient", "loyalty.apikey")


def program_is_empty() -> bool:
    """Nothing was ever set up or recorded in the program: no sponsor, membership type or tier, and no audit
    entry but of API access (every service writes one, so any change a manager, an integrator, an import or
    the demo made shows). The demo loads only into an empty program, so it never overwrites anyone's work."""
    configured = Sponsor.objects.exists() or MembershipType.objects.exists() or Tier.objects.exists()
    return not configured and not AuditEntry.objects.exclude(object_type__in=_ACCESS_OBJECTS).exists()


def audit_entries() -> QuerySet[AuditEntry]:
    return AuditEntry.objects.select_related("actor_user", "actor_client").order_by("-id")


def events() -> QuerySet[Event]:
    return Event.objects.all()


def event_horizon() -> int | None:
    """The oldest transaction still running (PostgreSQL), read before this one takes a lock.

    Ids are taken at insert, commits happen later: a feed that reads "id > cursor" would skip an
    event whose transaction commits after a younger one. So the feed hands out only events
    written by transactions older than every running one (and this transaction's own).
    SQLite has one writer at a time, so there ids commit in order and no horizon is needed.
    """
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        return cursor.fetchone()[0]


def settled_events(horizon: int | None) -> QuerySet[Event]:
    qs = Event.objects.all()
    if horizon is not None:
        own = RawSQL("pg_current_xact_id_if_assigned()::text::bigint", [])
        qs = qs.alias(own=own).filter(Q(txid__isnull=True) | Q(txid__lt=horizon) | Q(txid=F("own")))
    return qs


def next_events(*, after_id: int, limit: int, horizon: int | None) -> list[Event]:
    return list(settled_events(horizon).filter(id__gt=after_id).order_by("id")[:limit])


def acknowledged_id_of(client_id: int) -> int:
    return EventCursor.objects.filter(client_id=client_id).values_list("acknowledged_id", flat=True).first() or 0
