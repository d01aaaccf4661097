"""Every write of the webhooks app: endpoints and their secrets, the fan-out of outbox events into deliveries, and
the sending of deliveries with their retries. The API, the admin and the Celery tasks call these only.

Delivery is at least once: a delivery is claimed for a while (LEASE) before it is sent and its result recorded
afterwards, so a worker that dies mid-send leaves it to be sent again after the lease, never lost.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from loyalty.actors import Actor
from loyalty.audit import record_audit
from loyalty.models import ApiClient, Event
from loyalty.outbox import emit_event
from loyalty.selectors import event_horizon
from webhooks import events, signing
from webhooks.errors import EndpointDisabled, InvalidEndpoint
from webhooks.event_types import pattern_problem
from webhooks.guard import AddressRefused, check_url
from webhooks.models import Delivery, DeliveryAttempt, DispatchCursor, Endpoint, EndpointSecret
from webhooks.sender import Answer, Sender

# Audit actions.
ENDPOINT_CREATED = "webhook_endpoint.created"
ENDPOINT_UPDATED = "webhook_endpoint.updated"
ENDPOINT_DELETED = "webhook_endpoint.deleted"
ENDPOINT_TESTED = "webhook_endpoint.tested"
ENDPOINT_DISABLED = "webhook_endpoint.disabled"
SECRET_ROTATED = "webhook_endpoint.rotated"  # noqa: S105 (an audit action, not a password)
DELIVERY_RETRIED = "webhook_delivery.retried"

LEASE = timedelta(minutes=2)  # a claimed delivery is sent again after this if its worker never reported back
MAX_HEADERS = 20
RESERVED_HEADERS = {"host", "content-type", "content-length", "user-agent", "connection", "transfer-encoding"}
# Past every transaction id: a cursor at (horizon - 1, END) has read everything below the horizon.
END = 2**62


# Endpoints ---------------------------------------------------------------------------------------------------


def _host_problem(url: str) -> str | None:
    allowed = [h.lower() for h in settings.WEBHOOKS_ALLOWED_HOSTS]
    if allowed and (urlsplit(url).hostname or "").lower() not in allowed:
        return f"Webhook URLs may only name these hosts: {', '.join(allowed)}."
    return None


def _url_problem(url: str) -> str | None:
    problem = _host_problem(url)
    if problem:
        return problem
    try:
        check_url(url, allow_private=settings.WEBHOOKS_ALLOW_PRIVATE, require_https=settings.WEBHOOKS_REQUIRE_HTTPS)
    except (AddressRefused, ValueError) as exc:
        return str(exc)
    return None


def clean_endpoint(url: str, event_types: list[str], headers: dict[str, str]) -> tuple[str, list[str], dict[str, str]]:
    """The endpoint's fields as stored, or InvalidEndpoint naming every field at fault."""
    errors: list[dict[str, str]] = []
    url = (url or "").strip()
    problem = _url_problem(url) if url else "A URL is required."
    if problem:
        errors.append({"field": "url", "code": "invalid", "message": problem})
    types = list(dict.fromkeys(t.strip() for t in event_types or []))
    if not types:
        errors.append({"field": "eventTypes", "code": "required", "message": "Subscribe to at least one event type."})
    for pattern in types:
        problem = pattern_problem(pattern)
        if problem:
            errors.append({"field": "eventTypes", "code": "unknown_event_type", "message": problem})
    headers = dict(headers or {})
    if len(headers) > MAX_HEADERS:
        errors.append({"field": "headers", "code": "invalid", "message": f"At most {MAX_HEADERS} headers."})
    for name, value in headers.items():
        lower = name.lower()
        if lower in RESERVED_HEADERS or lower.startswith("webhook-"):
            words = f"The header {name} is set by the sender."
            errors.append({"field": "headers", "code": "invalid", "message": words})
        elif not name or len(name) > 100 or not all(c.isascii() and (c.isalnum() or c in "-_") for c in name):
            errors.append({"field": "headers", "code": "invalid", "message": f"{name!r} is not a header name."})
        elif not isinstance(value, str) or len(value) > 1000 or any(c in value for c in "\r\n\0"):
            errors.append({"field": "headers", "code": "invalid", "message": f"The value of {name} is not valid."})
    if errors:
        raise InvalidEndpoint(errors[0]["message"] if len(errors) == 1 else None, errors=errors)
    return url, types, headers


@transaction.atomic
def create_endpoint(
    *,
    url: str,
    event_types: list[str],
    actor: Actor,
    client: ApiClient | None = None,
    description: str = "",
    headers: dict[str, str] | None = None,
    enabled: bool = True,
) -> tuple[Endpoint, str]:
    """A new endpoint and its first signing secret, which the caller sees this once."""
    url, types, headers = clean_endpoint(url, event_types, headers or {})
    endpoint = Endpoint.objects.create(
        client=client, url=url, event_types=types, description=description.strip(), headers=headers, enabled=enabled
    )
    secret = signing.new_secret()
    EndpointSecret.objects.create(endpoint=endpoint, secret=secret)
    _start_cursor()
    record_audit(actor, ENDPOINT_CREATED, endpoint, changes=_described(endpoint))
    return endpoint, secret


@transaction.atomic
def update_endpoint(
    *,
    endpoint: Endpoint,
    actor: Actor,
    url: str | None = None,
    event_types: list[str] | None = None,
    description: str | None = None,
    headers: dict[str, str] | None = None,
    enabled: bool | None = None,
) -> Endpoint:
    """Change what is given. Enabling a disabled endpoint forgets why it was disabled and its failures; its
    waiting deliveries go out again."""
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    before = _described(endpoint)
    url, types, headers = clean_endpoint(
        endpoint.url if url is None else url,
        endpoint.event_types if event_types is None else event_types,
        endpoint.headers if headers is None else headers,
    )
    endpoint.url, endpoint.event_types, endpoint.headers = url, types, headers
    if description is not None:
        endpoint.description = description.strip()
    if enabled is not None and enabled != endpoint.enabled:
        endpoint.enabled = enabled
        endpoint.disabled_reason = "" if enabled else "Disabled by hand."
        endpoint.failing_since = None
        if enabled:
            endpoint.deliveries.filter(status=Delivery.Status.PENDING).update(next_attempt_at=timezone.now())
            _send_soon()
    endpoint.save()
    after = _described(endpoint)
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changes:
        record_audit(actor, ENDPOINT_UPDATED, endpoint, changes=changes)
    return endpoint


@transaction.atomic
def delete_endpoint(*, endpoint: Endpoint, actor: Actor) -> None:
    """The endpoint, its secrets and its delivery log go; the events stay in the outbox."""
    record_audit(actor, ENDPOINT_DELETED, endpoint, changes=_described(endpoint))
    endpoint.delete()


@transaction.atomic
def rotate_secret(*, endpoint: Endpoint, actor: Actor) -> tuple[str, datetime]:
    """A new secret signs from now on; the current ones keep signing beside it until the overlap ends, so a
    receiver can switch without refusing a delivery. Returns the new secret and when the old ones stop."""
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    now = timezone.now()
    until = now + timedelta(hours=settings.WEBHOOKS_ROTATION_OVERLAP_HOURS)
    endpoint.secrets.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=until)).update(expires_at=until)
    secret = signing.new_secret()
    EndpointSecret.objects.create(endpoint=endpoint, secret=secret, created_at=now)
    record_audit(actor, SECRET_ROTATED, endpoint, changes={"previousSecretsExpireAt": until.isoformat()})
    return secret, until


def active_secrets(endpoint: Endpoint, now: datetime | None = None) -> list[str]:
    now = now or timezone.now()
    return [s.secret for s in endpoint.secrets.all() if s.expires_at is None or s.expires_at > now]


@transaction.atomic
def send_test(*, endpoint: Endpoint, actor: Actor) -> Delivery:
    """A `webhook.test` delivery to this endpoint only, sent at once (on commit) and logged like any other."""
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk)
    if not endpoint.enabled:
        raise EndpointDisabled()
    delivery = Delivery.objects.create(
        endpoint=endpoint,
        message_id=f"test_{signing.new_secret()[6:22].replace('/', '_').replace('+', '-')}",
        event_type=events.WEBHOOK_TEST,
        payload={"endpoint": endpoint.pk, "message": "A test event, sent on request."},
        next_attempt_at=timezone.now(),
    )
    record_audit(actor, ENDPOINT_TESTED, endpoint, changes={"delivery": delivery.pk})
    _send_soon()
    return delivery


@transaction.atomic
def retry_delivery(*, delivery: Delivery, actor: Actor) -> Delivery:
    """Send again now, whatever its state (a delivered one too: the receiver asked for it again). The log keeps
    every attempt; an automatic retry follows only while the schedule has attempts left."""
    delivery = Delivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
    if not delivery.endpoint.enabled:
        raise EndpointDisabled()
    delivery.status = Delivery.Status.PENDING
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "next_attempt_at"])
    record_audit(actor, DELIVERY_RETRIED, delivery, changes={"attempts": delivery.attempts})
    _send_soon()
    return delivery


def _described(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "url": endpoint.url,
        "eventTypes": list(endpoint.event_types),
        "description": endpoint.description,
        "headers": sorted(endpoint.headers),  # names only: values may be credentials
        "enabled": endpoint.enabled,
    }


def _send_soon() -> None:
    """Queue the sender once this transaction commits (named, not imported: webhooks.tasks uses this module;
    WebhooksConfig.ready() registers the tasks in every process)."""
    transaction.on_commit(lambda: current_app.tasks["webhooks.tasks.send_deliveries"].delay())


# Fan-out -----------------------------------------------------------------------------------------------------


def subscribed(patterns: Iterable[str], event_type: str) -> bool:
    """`*` is every type, `points.*` every type under `points.`, anything else the exact name."""
    for pattern in patterns:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def _position_now() -> tuple[int, int]:
    """The cursor of an outbox read to its end: below the horizon of running transactions (PostgreSQL), or
    the last event (SQLite)."""
    horizon = event_horizon()
    if horizon is None:
        return 0, Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    return horizon - 1, END


def _start_cursor() -> None:
    """The dispatcher starts where the outbox is when the first endpoint appears: no endpoint gets the history."""
    if not DispatchCursor.objects.exists():
        last_txid, last_event_id = _position_now()
        DispatchCursor.objects.bulk_create(
            [DispatchCursor(last_txid=last_txid, last_event_id=last_event_id)], ignore_conflicts=True
        )


@dataclass
class Dispatched:
    events: int = 0
    deliveries: int = 0
    more: bool = False


def dispatch(*, limit: int = 2000) -> Dispatched:
    """Turn the outbox's next settled events into deliveries for every enabled endpoint subscribed to them.

    On PostgreSQL the cursor is (writing transaction, event id) and only events of transactions that have
    ended (below the horizon, pg_snapshot_xmin) are read: an event id is taken at insert but becomes visible
    at commit, so a cursor by id alone would pass over an event a slower transaction commits later. Every
    event below the horizon is final, so reading them in that order misses none. An endpoint gets the events
    that occurred since it was created."""
    _start_cursor()
    with transaction.atomic():
        horizon = event_horizon()
        cursor = DispatchCursor.objects.select_for_update().get()
        endpoints = [e for e in Endpoint.objects.filter(enabled=True) if e.event_types]
        if not endpoints:
            cursor.last_txid, cursor.last_event_id = _position_now()
            cursor.save()
            return Dispatched()
        if horizon is None:
            batch = list(Event.objects.filter(id__gt=cursor.last_event_id).order_by("id")[: limit + 1])
        else:
            batch = list(
                Event.objects.filter(txid__gte=cursor.last_txid, txid__lt=horizon)
                .exclude(txid=cursor.last_txid, id__lte=cursor.last_event_id)
                .order_by("txid", "id")
                .defer("payload")[: limit + 1]
            )
        more = len(batch) > limit
        batch = batch[:limit]
        now = timezone.now()
        deliveries = [
            Delivery(
                endpoint=endpoint,
                event_id=event.id,
                message_id=str(event.id),
                event_type=event.type,
                next_attempt_at=now,
                created_at=now,
            )
            for event in batch
            for endpoint in endpoints
            if event.occurred_at >= endpoint.created_at and subscribed(endpoint.event_types, event.type)
        ]
        for start in range(0, len(deliveries), 1000):
            Delivery.objects.bulk_create(deliveries[start : start + 1000], ignore_conflicts=True)
        if batch:
            cursor.last_txid, cursor.last_event_id = batch[-1].txid or 0, batch[-1].id
        elif horizon is not None:
            cursor.last_txid, cursor.last_event_id = max(cursor.last_txid, horizon - 1), END
        cursor.save()
        if deliveries:
            _send_soon()
        return Dispatched(events=len(batch), deliveries=len(deliveries), more=more)


# Sending -----------------------------------------------------------------------------------------------------

_sender: Sender | None = None


def sender() -> Sender:
    """One per process: its connection pools keep receivers' connections open between deliveries."""
    global _sender
    if _sender is None:
        _sender = Sender(pool_size=settings.WEBHOOKS_CONCURRENCY)  # a connection per request in flight
    return _sender


def retry_delay(attempts: int, rand: Callable[[], float] | None = None) -> timedelta | None:
    """After `attempts` failed attempts, the wait before the next (+-20 % so that many deliveries failed at
    once do not all come back at once), or None when the schedule is used up."""
    delays = settings.WEBHOOKS_RETRY_DELAYS
    if attempts > len(delays):
        return None
    return timedelta(seconds=delays[attempts - 1] * (0.8 + 0.4 * (rand or random.random)()))


def claim_due(limit: int) -> list[Delivery]:
    """Due deliveries of enabled endpoints, leased to this worker (another worker skips them)."""
    now = timezone.now()
    with transaction.atomic():
        due = Delivery.objects.filter(
            status=Delivery.Status.PENDING, next_attempt_at__lte=now, endpoint__enabled=True
        ).order_by("next_attempt_at")
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True, of=("self",))
        ids = list(due.values_list("id", flat=True)[:limit])
        if ids:
            Delivery.objects.filter(id__in=ids).update(next_attempt_at=now + LEASE)
    if not ids:
        return []
    return list(
        Delivery.objects.filter(id__in=ids)
        .select_related("endpoint", "event")
        .prefetch_related("endpoint__secrets")
        .order_by("id")
    )


def message(delivery: Delivery) -> bytes:
    """The body: the event as the pull feed shows it, under the Standard Webhooks envelope."""
    event = delivery.event
    if event is None:
        occurred = delivery.created_at
        data = {
            "id": delivery.message_id,
            "type": delivery.event_type,
            "occurredAt": occurred.isoformat(),
            "membershipNumber": "",
            "payload": delivery.payload or {},
        }
    else:
        occurred = event.occurred_at
        data = {
            "id": event.id,
            "type": event.type,
            "occurredAt": occurred.isoformat(),
            "membershipNumber": event.membership_number,
            "payload": event.payload,
        }
    body = {"type": delivery.event_type, "timestamp": occurred.isoformat(), "data": data}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _attempt(delivery: Delivery, now: datetime) -> tuple[Delivery, dict[str, str], Answer]:
    endpoint = delivery.endpoint
    body = message(delivery)
    headers = {
        **endpoint.headers,
        **signing.headers(active_secrets(endpoint, now), delivery.message_id, int(time.time()), body),
    }
    refused = _host_problem(endpoint.url)
    if refused:  # WEBHOOKS_ALLOWED_HOSTS changed since the endpoint was saved
        return delivery, headers, Answer(None, {}, "", 0, error=refused, error_code="webhook_address_refused")
    try:
        answer = sender().post(
            endpoint.url,
            body,
            headers,
            timeout=settings.WEBHOOKS_TIMEOUT,
            allow_private=settings.WEBHOOKS_ALLOW_PRIVATE,
        )
    except ValueError as exc:  # a URL the settings refuse now (https required since it was saved, say)
        answer = Answer(status=None, headers={}, body="", duration_ms=0, error=str(exc), error_code="invalid_url")
    return delivery, headers, answer


def send_batch(deliveries: list[Delivery]) -> dict[str, int]:
    """Send claimed deliveries side by side and record what happened to each."""
    if not deliveries:
        return {}
    now = timezone.now()
    workers = min(settings.WEBHOOKS_CONCURRENCY, len(deliveries))
    if workers == 1:
        results = [_attempt(deliveries[0], now)]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(lambda d: _attempt(d, now), deliveries))
    return record_results(results, started=now)


def _redacted(headers: dict[str, str], endpoint: Endpoint) -> dict[str, str]:
    """The request's headers as logged: the endpoint's own header values may be credentials."""
    return {k: ("(set on the endpoint)" if k in endpoint.headers else v) for k, v in headers.items()}


@transaction.atomic
def record_results(results: list[tuple[Delivery, dict[str, str], Answer]], *, started: datetime) -> dict[str, int]:
    """Each delivery's attempt, its new state, and what the answers mean for their endpoints."""
    now = timezone.now()
    counts = {"delivered": 0, "retrying": 0, "failed": 0}
    attempts, changed = [], []
    succeeded: set[int] = set()
    failed_at: dict[int, Endpoint] = {}
    gone: dict[int, Endpoint] = {}
    for delivery, headers, answer in results:
        delivery.attempts += 1
        delivery.last_attempt_at = started
        attempts.append(
            DeliveryAttempt(
                delivery=delivery,
                number=delivery.attempts,
                started_at=started,
                duration_ms=answer.duration_ms,
                url=delivery.endpoint.url,
                request_headers=_redacted(headers, delivery.endpoint),
                response_status=answer.status,
                response_headers=answer.headers,
                response_body=answer.body,
                error=answer.error[:300],
            )
        )
        if answer.status is not None and 200 <= answer.status < 300:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = Delivery.Status.DELIVERED, now, None
            succeeded.add(delivery.endpoint_id)
            counts["delivered"] += 1
        elif answer.status == 410:
            delivery.status, delivery.next_attempt_at = Delivery.Status.FAILED, None
            gone[delivery.endpoint_id] = delivery.endpoint
            counts["failed"] += 1
        else:
            wait = retry_delay(delivery.attempts)
            if wait is None:
                delivery.status, delivery.next_attempt_at = Delivery.Status.FAILED, None
                counts["failed"] += 1
            else:
                delivery.next_attempt_at = now + wait
                counts["retrying"] += 1
            failed_at[delivery.endpoint_id] = delivery.endpoint
        changed.append(delivery)
    DeliveryAttempt.objects.bulk_create(attempts, batch_size=500)
    _store_states(changed)
    if succeeded:
        Endpoint.objects.filter(pk__in=succeeded, failing_since__isnull=False).update(failing_since=None)
    for endpoint in gone.values():
        _disable(endpoint, "The receiver answered 410 Gone: it asked for no more deliveries.")
    streak = timedelta(days=settings.WEBHOOKS_DISABLE_AFTER_DAYS)
    for endpoint_id in set(failed_at) - succeeded - set(gone):
        Endpoint.objects.filter(pk=endpoint_id, failing_since__isnull=True).update(failing_since=started)
        since = Endpoint.objects.filter(pk=endpoint_id).values_list("failing_since", flat=True).first()
        if since is not None and now - since >= streak:
            days = settings.WEBHOOKS_DISABLE_AFTER_DAYS
            _disable(failed_at[endpoint_id], f"Every delivery failed for {days:g} days in a row.")
    return counts


def _store_states(deliveries: list[Delivery]) -> None:
    """Each delivery's new state: one parameterised UPDATE run for all rows (psycopg pipelines executemany).
    Django's bulk_update builds a CASE per column and row, which cost more CPU than the sending itself."""
    table = Delivery._meta.db_table
    sql = (
        f"UPDATE {table} SET status = %s, attempts = %s, last_attempt_at = %s, delivered_at = %s, "  # noqa: S608
        "next_attempt_at = %s WHERE id = %s"
    )
    moment = connection.ops.adapt_datetimefield_value  # as the ORM would store it (SQLite keeps text)
    rows = [
        (d.status, d.attempts, moment(d.last_attempt_at), moment(d.delivered_at), moment(d.next_attempt_at), d.pk)
        for d in deliveries
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _disable(endpoint: Endpoint, reason: str) -> None:
    updated = Endpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
        enabled=False, disabled_reason=reason, updated_at=timezone.now()
    )
    if not updated:
        return
    record_audit(Actor.for_system("webhooks"), ENDPOINT_DISABLED, endpoint, changes={"reason": reason})
    emit_event(events.ENDPOINT_DISABLED, payload={"endpoint": endpoint.pk, "url": endpoint.url, "reason": reason})


def send_due(*, budget_seconds: float = 20.0, batch: int | None = None) -> dict[str, int]:
    """Send what is due, batch after batch, until nothing is due or the budget is spent."""
    batch = batch or settings.WEBHOOKS_BATCH
    totals = {"delivered": 0, "retrying": 0, "failed": 0, "more": 0}
    stop = time.monotonic() + budget_seconds
    while time.monotonic() < stop:
        claimed = claim_due(batch)
        if not claimed:
            return totals
        for key, value in send_batch(claimed).items():
            totals[key] += value
    totals["more"] = 1
    return totals
