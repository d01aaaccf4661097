"""Reads of the audit log and the event feed."""

from django.db import connection
from django.db.models import F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

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


Position = tuple[int, int]  # (writing transaction, event id): the feed's order


def after_position(position: Position) -> Q:
    """Events after a position in the feed's order (a transaction id of 0: none stored, as on SQLite)."""
    txid, event_id = position
    return Q(feed_txid__gt=txid) | Q(feed_txid=txid, id__gt=event_id)


def next_events(*, after: Position, limit: int, horizon: int | None) -> list[Event]:
    """The next settled events in the order of the transactions that wrote them, then of their ids.

    By id alone a settled event of an older transaction (a higher id) could be handed out and acknowledged
    while a lower id, written by a younger transaction that already committed, still waits above the
    horizon; that one would then never be handed out. Every event below the horizon is final, so reading in
    transaction order misses none (the webhooks' fan-out reads the same way)."""
    events = settled_events(horizon).alias(feed_txid=Coalesce("txid", 0))
    return list(events.filter(after_position(after)).order_by("feed_txid", "id")[:limit])


def position_of(event_id: int) -> Position | None:
    """Where an event stands in the feed's order, or None when there is no such event."""
    txid = Event.objects.filter(pk=event_id).values_list("txid", flat=True).first()
    if txid is None and not Event.objects.filter(pk=event_id).exists():
        return None
    return (txid or 0, event_id)


def acknowledged_position_of(client_id: int) -> Position:
    row = EventCursor.objects.filter(client_id=client_id).values_list("acknowledged_txid", "acknowledged_id").first()
    return (row[0], row[1]) if row else (0, 0)


def acknowledged_events(client_id: int) -> Q:
    """The events this client has acknowledged: every one up to its position in the feed's order."""
    return ~after_position(acknowledged_position_of(client_id))
