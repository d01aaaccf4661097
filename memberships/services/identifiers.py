"""Cards, alternate ids and remarks of a membership."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from loyalty.actors import Actor
from loyalty.audit import record_audit
from loyalty.errors import InvalidInput
from loyalty.outbox import emit_event
from memberships import events
from memberships.errors import AlternateIdNotFound, AmbiguousAlternateId
from memberships.models import AlternateId, Card, DeactivationReason, Membership, Remark
from memberships.services.common import (
    ensure_not_closed,
    ensure_open,
    insert_alternate_id,
    insert_card,
    lock_membership,
)
from memberships.services.enrollment import _card_issued
from memberships.services.keys import release_key
from memberships.validation import (
    clean_alternate_id_type,
    clean_alternate_id_value,
    clean_card_number,
)

MAX_REMARK_LENGTH = 4000


def _field_error(field: str, exc: ValidationError) -> InvalidInput:
    message = exc.messages[0]
    return InvalidInput(
        f"{field}: {message}", errors=[{"field": field, "code": exc.code or "invalid", "message": message}]
    )


def clean_card_values(number: str, card_type: str, valid_from: date | None, valid_until: date | None) -> str:
    try:
        number = clean_card_number(number)
    except ValidationError as exc:
        raise _field_error("number", exc) from exc
    if card_type not in Card.Type.values:
        raise InvalidInput(
            f"Unknown card type {card_type!r}.",
            errors=[
                {"field": "type", "code": "invalid_choice", "message": f"Use one of {', '.join(Card.Type.values)}."}
            ],
        )
    if valid_from and valid_until and valid_until < valid_from:
        raise InvalidInput(
            "validUntil lies before validFrom.",
            errors=[{"field": "validUntil", "code": "invalid", "message": "Give a date on or after validFrom."}],
        )
    return number


@transaction.atomic
def issue_card(
    *,
    membership: Membership,
    number: str,
    actor: Actor,
    card_type: str = Card.Type.PHYSICAL,
    valid_from: date | None = None,
    valid_until: date | None = None,
) -> Card:
    """A new card for an anonymous or active membership (`card_taken` when the number is a card
    already, `key_taken` when it is another member's number or alternate id)."""
    number = clean_card_values(number, card_type, valid_from, valid_until)
    membership = lock_membership(membership)
    ensure_open(membership, "get a card")
    card = insert_card(
        membership=membership, number=number, type=card_type, valid_from=valid_from, valid_until=valid_until
    )
    _card_issued(card, actor)
    return card


@transaction.atomic
def delete_card(*, card: Card, actor: Actor) -> Card:
    """Deactivate a card: it no longer identifies anyone, its number is never issued again, and its
    history stays. Deleting an inactive card changes nothing."""
    card = Card.objects.select_for_update(of=("self",)).select_related("membership", "legal_entity").get(pk=card.pk)
    if card.status != Card.Status.ACTIVE:
        return card
    card.status = Card.Status.INACTIVE
    card.deactivated_at = timezone.now()
    card.deactivation_reason = DeactivationReason.DELETED
    card.save(update_fields=["status", "deactivated_at", "deactivation_reason"])
    record_audit(actor, events.CARD_DELETED, card, changes={"status": [Card.Status.ACTIVE, card.status]})
    emit_event(
        events.CARD_DELETED,
        membership_number=card.membership.number if card.membership else "",
        payload={
            "cardNumber": card.number,
            "membershipNumber": card.membership.number if card.membership else None,
            "legalEntity": card.legal_entity.registration_number if card.legal_entity else None,
        },
    )
    return card


@transaction.atomic
def add_alternate_id(*, membership: Membership, id_type: str, value: str, actor: Actor) -> AlternateId:
    """Link another system's id (`alternate_id_taken` when that type and value are linked already,
    `key_taken` when the value is another member's number, card or alternate id of another type)."""
    try:
        id_type = clean_alternate_id_type(id_type)
    except ValidationError as exc:
        raise _field_error("type", exc) from exc
    try:
        value = clean_alternate_id_value(value)
    except ValidationError as exc:
        raise _field_error("value", exc) from exc
    membership = lock_membership(membership)
    ensure_not_closed(membership, "take an alternate id")
    alternate_id = insert_alternate_id(membership, id_type, value)
    record_audit(actor, events.ALTERNATE_ID_ADDED, membership, changes={"alternate_id": [None, str(alternate_id)]})
    emit_event(
        events.ALTERNATE_ID_ADDED,
        membership_number=membership.number,
        payload={"membershipNumber": membership.number, "type": id_type, "value": value},
    )
    return alternate_id


@transaction.atomic
def delete_alternate_id(*, membership: Membership, value: str, actor: Actor, id_type: str = "") -> None:
    """Unlink an alternate id, named by its value (and its type when the value occurs under several).
    The value is free for others again, unless the member still uses it (its number, a card, the
    value under another type)."""
    membership = lock_membership(membership)
    ensure_not_closed(membership, "lose an alternate id")
    matches = AlternateId.objects.filter(membership=membership, value=value)
    if id_type:
        matches = matches.filter(type=id_type)
    found = list(matches)
    if not found:
        raise AlternateIdNotFound(f"Membership {membership.number} has no alternate id {value!r}.")
    if len(found) > 1:
        raise AmbiguousAlternateId(
            f"Membership {membership.number} has {value!r} as {', '.join(a.type for a in found)}: pass ?type=."
        )
    alternate_id = found[0]
    alternate_id.delete()
    release_key(alternate_id.value)
    record_audit(actor, events.ALTERNATE_ID_DELETED, membership, changes={"alternate_id": [str(alternate_id), None]})
    emit_event(
        events.ALTERNATE_ID_DELETED,
        membership_number=membership.number,
        payload={"membershipNumber": membership.number, "type": alternate_id.type, "value": alternate_id.value},
    )


@transaction.atomic
def add_remark(*, membership: Membership, text: str, actor: Actor) -> Remark:
    """A customer-service note. Any membership takes remarks, a cancelled one too."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput(
            "A remark needs text.",
            errors=[{"field": "text", "code": "blank", "message": "This field may not be blank."}],
        )
    if len(text) > MAX_REMARK_LENGTH:
        raise InvalidInput(
            "The remark is too long.",
            errors=[{"field": "text", "code": "max_length", "message": f"Use at most {MAX_REMARK_LENGTH} characters."}],
        )
    remark = Remark.objects.create(
        membership=membership,
        text=text,
        author=actor.label[:200],
        author_user=actor.user if actor.kind == "user" else None,
    )
    record_audit(actor, events.REMARK_ADDED, membership, changes={"remark": [None, remark.pk]})
    emit_event(
        events.REMARK_ADDED,
        membership_number=membership.number,
        payload={"membershipNumber": membership.number, "remarkId": remark.pk},
    )
    return remark
