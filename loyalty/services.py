"""Every write of program configuration and API clients. Admin and commands call these."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models, transaction
from django.utils import timezone

from loyalty import events
from loyalty.actors import Actor
from loyalty.audit import diff_fields, record_audit
from loyalty.errors import InvalidAcknowledgement, InvalidInput
from loyalty.models import (
    ApiClient,
    ApiKey,
    Event,
    EventCursor,
    IdempotencyRecord,
    MembershipType,
    Program,
    Sponsor,
    Tier,
)
from loyalty.models.clients import Scope
from loyalty.outbox import emit_event
from loyalty.ratelimit import validate_rate
from loyalty.selectors import event_horizon, next_events, position_of

CONFIGURATION_MODELS: list[type[models.Model]] = [Program, Sponsor, MembershipType, Tier, ApiClient]


def register_configuration_model(model: type[models.Model]) -> None:
    """Other apps' configuration (point types, channels, ...) saved and audited the same way."""
    if model not in CONFIGURATION_MODELS:
        CONFIGURATION_MODELS.append(model)


def _field_values(instance: models.Model) -> dict[str, Any]:
    """The fields a manager edits: keys, timestamps and internal flags are left out of the diff."""
    return {
        f.attname: getattr(instance, f.attname)
        for f in instance._meta.concrete_fields
        if f.editable
        and not f.primary_key
        and not getattr(f, "auto_now", False)
        and not getattr(f, "auto_now_add", False)
    }


def _validation_errors(exc: DjangoValidationError) -> list[dict[str, Any]]:
    return [
        {"field": field, "code": "invalid", "message": str(message)}
        for field, messages in exc.message_dict.items()
        for message in messages
    ]


@transaction.atomic
def save_configuration(instance: models.Model, *, actor: Actor) -> models.Model:
    """Create or update a configuration object, with its audit entry and event.

    A sponsor or membership type saved as the default takes the default flag from the others
    (any flag a model lists in `exclusive_flags`, e.g. a point type's `is_main`).
    """
    if not isinstance(instance, tuple(CONFIGURATION_MODELS)):
        raise TypeError(f"{type(instance).__name__} is not program configuration")
    model = type(instance)
    before: dict[str, Any] = {}
    if instance.pk is not None:
        stored = model.objects.select_for_update().filter(pk=instance.pk).first()
        before = _field_values(stored) if stored else {}
    creating = not before
    for flag in getattr(model, "exclusive_flags", ("is_default",)):
        if getattr(instance, flag, False):
            model.objects.filter(**{flag: True}).exclude(pk=instance.pk).update(**{flag: False})
    try:
        instance.full_clean()
    except DjangoValidationError as exc:
        raise InvalidInput("The configuration is not valid.", errors=_validation_errors(exc)) from exc
    instance.save()
    changes = diff_fields(before, _field_values(instance))
    if not creating and not changes:
        return instance
    verb = "created" if creating else "updated"
    name = model._meta.model_name
    record_audit(actor, f"{name}.{verb}", instance, changes=changes)
    emit_event(
        f"{name}.{verb}",
        payload={"id": instance.pk, "object": str(instance), "changes": changes},
    )
    return instance


@transaction.atomic
def delete_configuration(instance: models.Model, *, actor: Actor) -> None:
    if not isinstance(instance, tuple(CONFIGURATION_MODELS)) or isinstance(instance, Program):
        raise TypeError(f"{type(instance).__name__} cannot be deleted")
    name = instance._meta.model_name
    pk, label = instance.pk, str(instance)
    try:
        instance.delete()
    except models.ProtectedError as exc:
        raise InvalidInput(f"{label} is still in use and cannot be deleted.", code="in_use") from exc
    record_audit(
        actor,
        f"{name}.deleted",
        object_type=instance._meta.label_lower,
        object_id=str(pk),
        object_repr=label,
    )
    emit_event(f"{name}.deleted", payload={"id": pk, "object": label})


def _clean_scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise InvalidInput(f"Unknown scopes: {', '.join(unknown)}.", code="unknown_scope")
    return [s for s in Scope.values if s in scopes]


@transaction.atomic
def create_api_client(*, name: str, scopes: list[str], actor: Actor, description: str = "") -> ApiClient:
    if ApiClient.objects.filter(name=name).exists():
        raise InvalidInput(f"An API client named {name!r} exists.", code="duplicate_client")
    client = ApiClient(name=name, scopes=_clean_scopes(scopes), description=description)
    return save_configuration(client, actor=actor)


@transaction.atomic
def issue_api_key(
    *,
    client: ApiClient,
    actor: Actor,
    name: str = "",
    expiry_date: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Returns the key row and the raw key, which is shown once and never stored."""
    api_key, raw_key = ApiKey.objects.create_key(
        client=client, name=name or f"{client.name} key", expiry_date=expiry_date
    )
    record_audit(
        actor,
        events.API_KEY_ISSUED,
        api_key,
        object_id=api_key.prefix,
        object_repr=f"{client.name}: {api_key.prefix}",
    )
    emit_event(events.API_KEY_ISSUED, payload={"client": client.name, "prefix": api_key.prefix})
    return api_key, raw_key


@transaction.atomic
def revoke_api_key(*, api_key: ApiKey, actor: Actor) -> ApiKey:
    if api_key.revoked:
        return api_key
    ApiKey.objects.filter(pk=api_key.pk).update(revoked=True)
    api_key.revoked = True
    record_audit(
        actor,
        events.API_KEY_REVOKED,
        api_key,
        object_id=api_key.prefix,
        object_repr=f"{api_key.client.name}: {api_key.prefix}",
        changes={"revoked": [False, True]},
    )
    emit_event(
        events.API_KEY_REVOKED,
        payload={"client": api_key.client.name, "prefix": api_key.prefix},
    )
    return api_key


@transaction.atomic
def set_api_key_rate_limits(*, api_key: ApiKey, rate_limit: str, imports_rate_limit: str, actor: Actor) -> ApiKey:
    """Override a key's rate limits (blank: the settings' defaults). Audited, since a raised limit lets one
    integrator take more of the servers than the others."""
    changes = {}
    for field, value in (("rate_limit", rate_limit), ("imports_rate_limit", imports_rate_limit)):
        value = (value or "").strip()
        try:
            validate_rate(value)
        except DjangoValidationError as exc:
            raise InvalidInput(exc.messages[0], code="invalid_rate") from exc
        if getattr(api_key, field) != value:
            changes[field] = [getattr(api_key, field), value]
            setattr(api_key, field, value)
    if changes:
        ApiKey.objects.filter(pk=api_key.pk).update(**{field: new for field, (_, new) in changes.items()})
        record_audit(
            actor,
            events.API_KEY_LIMITED,
            api_key,
            object_id=api_key.prefix,
            object_repr=f"{api_key.client.name}: {api_key.prefix}",
            changes=changes,
        )
    return api_key


def touch_api_key(api_key: ApiKey) -> None:
    """Record use at most once a minute: a write per request would serialize a busy client."""
    now = timezone.now()
    if api_key.last_used_at and (now - api_key.last_used_at).total_seconds() < 60:
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    ApiClient.objects.filter(pk=api_key.client_id).update(last_used_at=now)
    api_key.last_used_at = now


@transaction.atomic
def acknowledge_events(*, client: ApiClient, ack: int | None, limit: int) -> tuple[EventCursor, list[Event], bool]:
    """Move the client's cursor to `ack` (what it says it got), then hand out the next events.

    Without `ack` nothing is acknowledged and the unacknowledged events come again: delivery is
    at-least-once, so a lost response loses nothing.
    """
    horizon = event_horizon()
    EventCursor.objects.get_or_create(client=client)
    cursor = EventCursor.objects.select_for_update().get(client=client)
    acknowledged = (cursor.acknowledged_txid, cursor.acknowledged_id)
    delivered = (cursor.delivered_txid, cursor.delivered_id)
    if ack and ack != cursor.acknowledged_id:  # the same ack again is always harmless
        position = position_of(ack)
        if position is None or position > delivered:
            raise InvalidAcknowledgement(
                f"Event {ack} was never delivered to this client; the last delivered is {cursor.delivered_id}."
            )
        acknowledged = max(acknowledged, position)
    batch = next_events(after=acknowledged, limit=limit + 1, horizon=horizon)
    more = len(batch) > limit
    batch = batch[:limit]
    if batch:
        delivered = max(delivered, (batch[-1].txid or 0, batch[-1].id))
    cursor.acknowledged_txid, cursor.acknowledged_id = acknowledged
    cursor.delivered_txid, cursor.delivered_id = delivered
    cursor.save(update_fields=["acknowledged_id", "acknowledged_txid", "delivered_id", "delivered_txid", "updated_at"])
    return cursor, batch, more


def purge_idempotency_records(*, older_than_days: int | None = None) -> int:
    """Stored answers are kept for the retention window (a client retries within hours, not months)."""
    days = settings.IDEMPOTENCY_RETENTION_DAYS if older_than_days is None else older_than_days
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - timedelta(days=days)).delete()
    return deleted
