"""Legal entities (companies): create or update, their member users, their cards, cancel."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from loyalty.actors import Actor
from loyalty.audit import diff_fields, record_audit
from loyalty.errors import InvalidInput
from loyalty.models import MembershipType
from loyalty.outbox import emit_event
from memberships import events
from memberships.errors import CardTaken, LegalEntityNotActive, MemberOfOtherLegalEntity, NotCompanyType
from memberships.models import Card, DeactivationReason, LegalEntity, Membership, MembershipStatus
from memberships.services.common import insert_card, lock_legal_entity
from memberships.services.enrollment import _card_issued
from memberships.services.identifiers import clean_card_values
from memberships.validation import clean_fields

ENTITY_FIELDS = ("name", "vat_number", "street", "postal_code", "city", "country")
ADDRESS_FIELDS = ("street", "postal_code", "city", "country")


def _clean_entity(registration_number: str, values: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Clean the registration number and the fields given (`values` holds only those)."""
    errors = []
    registration_number = (registration_number or "").strip()
    if not registration_number or len(registration_number) > 40 or not registration_number.isprintable():
        errors.append(
            {"field": "registrationNumber", "code": "invalid", "message": "Give 1 to 40 printable characters."}
        )
    name = (values.get("name") or "").strip()
    if not name or len(name) > 200:
        errors.append({"field": "name", "code": "invalid", "message": "Give a name of 1 to 200 characters."})
    cleaned: dict[str, Any] = {"name": name}
    if "vat_number" in values:
        cleaned["vat_number"] = (values["vat_number"] or "").strip().upper().replace(" ", "")
        if len(cleaned["vat_number"]) > 40:
            errors.append({"field": "vatNumber", "code": "max_length", "message": "Use at most 40 characters."})
    if errors:
        raise InvalidInput("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)
    address = clean_fields({k: values[k] or "" for k in ADDRESS_FIELDS if k in values})
    return registration_number, {**cleaned, **address}


def _snapshot(legal_entity: LegalEntity) -> dict[str, Any]:
    return {
        "membership_type": legal_entity.membership_type.key,
        **{name: getattr(legal_entity, name) for name in ENTITY_FIELDS},
    }


@transaction.atomic
def save_legal_entity(
    *,
    membership_type: MembershipType,
    registration_number: str,
    actor: Actor,
    name: str,
    vat_number: str | None = None,
    street: str | None = None,
    postal_code: str | None = None,
    city: str | None = None,
    country: str | None = None,
    users: list[Membership] | None = None,
) -> tuple[LegalEntity, bool]:
    """Create the legal entity with this registration number, or update it. A field left None keeps
    its value (a new entity: empty), "" clears it; with `users`, exactly those memberships become
    its member users (others are released), None keeps them. Returns (entity, created)."""
    if not membership_type.is_company:
        raise NotCompanyType(f"The membership type {membership_type.key!r} is not a company type.")
    given = {"vat_number": vat_number, "street": street, "postal_code": postal_code, "city": city, "country": country}
    registration_number, values = _clean_entity(
        registration_number, {"name": name, **{k: v for k, v in given.items() if v is not None}}
    )
    legal_entity = LegalEntity.objects.filter(registration_number=registration_number).first()
    created = legal_entity is None
    if created:
        try:
            with transaction.atomic():
                legal_entity = LegalEntity.objects.create(
                    registration_number=registration_number, membership_type=membership_type, **values
                )
        except IntegrityError:
            created = False  # a concurrent request created it: update that one
            legal_entity = LegalEntity.objects.get(registration_number=registration_number)
    before: dict[str, Any] = {}
    if not created:
        legal_entity = lock_legal_entity(legal_entity)
        if legal_entity.status != LegalEntity.Status.ACTIVE:
            raise LegalEntityNotActive(f"The legal entity {registration_number} is cancelled.")
        before = _snapshot(legal_entity)
        legal_entity.membership_type = membership_type
        for field, value in values.items():
            setattr(legal_entity, field, value)
        legal_entity.save()
    changes = diff_fields(before, _snapshot(legal_entity))
    if users is not None:
        changes.update(_set_users(legal_entity, users))
    if not created and not changes:
        return legal_entity, False
    action = events.LEGAL_ENTITY_CREATED if created else events.LEGAL_ENTITY_UPDATED
    record_audit(actor, action, legal_entity, changes=changes)
    emit_event(
        action,
        payload={
            "registrationNumber": legal_entity.registration_number,
            "membershipType": membership_type.key,
            "fields": sorted(changes),
        },
    )
    return legal_entity, created


def _set_users(legal_entity: LegalEntity, users: list[Membership]) -> dict[str, Any]:
    wanted = {m.pk: m for m in users}
    locked = list(Membership.objects.select_for_update(of=("self",), no_key=True).filter(pk__in=wanted).order_by("pk"))
    for membership in locked:
        if membership.legal_entity_id not in (None, legal_entity.pk):
            raise MemberOfOtherLegalEntity(
                f"Membership {membership.number} is a user of another legal entity; release it there first."
            )
        if membership.status in (MembershipStatus.CANCELLED, MembershipStatus.MERGED):
            raise InvalidInput(
                f"Membership {membership.number} is {membership.status} and cannot become a user.",
                code="membership_not_active",
            )
    current = set(Membership.objects.filter(legal_entity=legal_entity).values_list("number", flat=True))
    target = {m.number for m in locked}
    Membership.objects.filter(legal_entity=legal_entity).exclude(pk__in=wanted).update(legal_entity=None)
    Membership.objects.filter(pk__in=wanted).update(legal_entity=legal_entity)
    if current == target:
        return {}
    return {"users": [sorted(current), sorted(target)]}


@transaction.atomic
def cancel_legal_entity(*, legal_entity: LegalEntity, reason: str, actor: Actor) -> LegalEntity:
    """End a legal entity: its cards are deactivated; its users keep their own memberships."""
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise InvalidInput(
            "Give a reason of 1 to 500 characters.",
            errors=[{"field": "reason", "code": "invalid", "message": "Give a reason of 1 to 500 characters."}],
        )
    legal_entity = lock_legal_entity(legal_entity)
    if legal_entity.status != LegalEntity.Status.ACTIVE:
        raise LegalEntityNotActive(f"The legal entity {legal_entity.registration_number} is already cancelled.")
    now = timezone.now()
    active_cards = Card.objects.filter(legal_entity=legal_entity, status=Card.Status.ACTIVE)
    cards = list(active_cards.values_list("number", flat=True))
    active_cards.update(
        status=Card.Status.INACTIVE, deactivated_at=now, deactivation_reason=DeactivationReason.LEGAL_ENTITY_CANCELLED
    )
    legal_entity.status = LegalEntity.Status.CANCELLED
    legal_entity.cancelled_at = now
    legal_entity.cancel_reason = reason
    legal_entity.save(update_fields=["status", "cancelled_at", "cancel_reason", "updated_at"])
    record_audit(
        actor,
        events.LEGAL_ENTITY_CANCELLED,
        legal_entity,
        changes={"status": ["active", "cancelled"], "cancel_reason": [None, reason], "cards_deactivated": cards},
    )
    emit_event(
        events.LEGAL_ENTITY_CANCELLED,
        payload={"registrationNumber": legal_entity.registration_number, "reason": reason, "cardsDeactivated": cards},
    )
    return legal_entity


@transaction.atomic
def reactivate_legal_entity(*, legal_entity: LegalEntity, actor: Actor) -> LegalEntity:
    legal_entity = lock_legal_entity(legal_entity)
    if legal_entity.status != LegalEntity.Status.CANCELLED:
        raise LegalEntityNotActive(f"The legal entity {legal_entity.registration_number} is not cancelled.")
    revived = Card.objects.filter(
        legal_entity=legal_entity, deactivation_reason=DeactivationReason.LEGAL_ENTITY_CANCELLED
    )
    cards = list(revived.values_list("number", flat=True))
    revived.update(status=Card.Status.ACTIVE, deactivated_at=None, deactivation_reason="")
    legal_entity.status = LegalEntity.Status.ACTIVE
    legal_entity.cancelled_at = None
    legal_entity.cancel_reason = ""
    legal_entity.save(update_fields=["status", "cancelled_at", "cancel_reason", "updated_at"])
    record_audit(
        actor,
        events.LEGAL_ENTITY_REACTIVATED,
        legal_entity,
        changes={"status": ["cancelled", "active"], "cards_reactivated": cards},
    )
    emit_event(
        events.LEGAL_ENTITY_REACTIVATED,
        payload={"registrationNumber": legal_entity.registration_number, "cardsReactivated": cards},
    )
    return legal_entity


@transaction.atomic
def save_legal_entity_card(
    *,
    legal_entity: LegalEntity,
    number: str,
    actor: Actor,
    card_type: str = Card.Type.PHYSICAL,
    valid_from: date | None = None,
    valid_until: date | None = None,
) -> tuple[Card, bool]:
    """Issue a card to the legal entity, or update its card with this number (a deactivated one of
    its own comes back active). A card number held by anyone else is `card_taken`; a member's number
    or alternate id is `key_taken`."""
    number = clean_card_values(number, card_type, valid_from, valid_until)
    legal_entity = lock_legal_entity(legal_entity)
    if legal_entity.status != LegalEntity.Status.ACTIVE:
        raise LegalEntityNotActive(f"The legal entity {legal_entity.registration_number} is cancelled.")
    card = Card.objects.select_for_update(of=("self",)).filter(number=number).first()
    if card is None:
        card = insert_card(
            legal_entity=legal_entity, number=number, type=card_type, valid_from=valid_from, valid_until=valid_until
        )
        _card_issued(card, actor)
        return card, True
    if card.legal_entity_id != legal_entity.pk:
        raise CardTaken(f"The card number {number} belongs to someone else.")
    fields = ("type", "status", "valid_from", "valid_until", "deactivation_reason")
    before = {name: getattr(card, name) for name in fields}
    card.type = card_type
    card.valid_from = valid_from
    card.valid_until = valid_until
    card.status = Card.Status.ACTIVE
    card.deactivated_at = None
    card.deactivation_reason = ""
    changes = diff_fields(before, {name: getattr(card, name) for name in fields})
    if changes:
        card.save()
        record_audit(actor, events.CARD_UPDATED, card, changes=changes)
        emit_event(
            events.CARD_UPDATED,
            payload={
                "cardNumber": card.number,
                "legalEntity": legal_entity.registration_number,
                "fields": sorted(changes),
            },
        )
    return card, False
