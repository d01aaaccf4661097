"""Joining the program: enrollment, anonymous memberships, claiming one, and updating details."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from loyalty.actors import Actor
from loyalty.audit import diff_fields, record_audit
from loyalty.errors import InvalidInput
from loyalty.models import MembershipType, Program, Sponsor
from loyalty.outbox import emit_event
from memberships import errors, events, hooks
from memberships.errors import CardTaken, KeyTaken, MembershipNotFound, NotAnonymous
from memberships.models import Card, Membership, MembershipStatus
from memberships.numbers import generate_membership_number
from memberships.services.common import (
    DETAIL_FIELDS,
    ENROLLED_FIELDS,
    PERSONAL_FIELDS,
    clean_identity,
    consent_values,
    enrolled_changes,
    ensure_email_free,
    ensure_identified,
    ensure_not_closed,
    insert_alternate_id,
    insert_card,
    lock_membership,
    lock_memberships,
    membership_type_for_enrollment,
    snapshot,
)
from memberships.services.keys import claim_key
from memberships.validation import (
    clean_alternate_id_type,
    clean_alternate_id_value,
    clean_card_number,
    clean_channel,
    clean_fields,
)

NUMBER_ATTEMPTS = 8


class _NumberInUse(Exception):
    """The drawn number is another holder's card number or alternate id: draw again."""


def _insert_membership(**values: Any) -> Membership:
    """Insert with a fresh random number, claimed in the one key space in the same savepoint; draw
    again on the rare collision with another membership's number, a card or an alternate id."""
    for _ in range(NUMBER_ATTEMPTS):
        number = generate_membership_number()
        try:
            with transaction.atomic():
                membership = Membership.objects.create(number=number, **values)
                if not claim_key(number, membership=membership):
                    raise _NumberInUse(number)
                return membership
        except _NumberInUse:
            continue
        except IntegrityError:
            if not Membership.objects.filter(number=number).exists():
                raise
    raise RuntimeError("Could not draw a free membership number; the number space is nearly full.")


CARD_TYPES = frozenset(Card.Type.values)  # Type.values builds a new list on each access


def _clean_card(card_number: str, card_type: str) -> tuple[str, str]:
    try:
        number = clean_card_number(card_number)
    except ValidationError as exc:
        raise InvalidInput(
            f"cardNumber: {exc.messages[0]}",
            errors=[{"field": "cardNumber", "code": "invalid", "message": exc.messages[0]}],
        ) from exc
    if card_type not in CARD_TYPES:
        raise InvalidInput(f"Unknown card type {card_type!r}.", code="invalid_input")
    return number, card_type


def _clean_alternate_ids(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    cleaned = []
    for index, (type_, value) in enumerate(pairs):
        try:
            pair = (clean_alternate_id_type(type_), clean_alternate_id_value(value))
        except ValidationError as exc:
            raise InvalidInput(
                f"alternateIds.{index}: {exc.messages[0]}",
                errors=[{"field": f"alternateIds.{index}", "code": "invalid", "message": exc.messages[0]}],
            ) from exc
        if pair in cleaned:
            raise InvalidInput(f"The alternate id {pair[0]}:{pair[1]} is given twice.", code="invalid_input")
        cleaned.append(pair)
    return cleaned


@transaction.atomic
def enroll_membership(
    *,
    actor: Actor,
    first_name: str,
    last_name: str,
    email: str,
    phone: str = "",
    birth_date: date | None = None,
    membership_type: MembershipType | None = None,
    card_number: str = "",
    card_type: str = Card.Type.PHYSICAL,
    alternate_ids: Iterable[tuple[str, str]] = (),
    marketing_consent: bool | None = None,
    consent_source: str = "",
    street: str = "",
    postal_code: str = "",
    city: str = "",
    country: str = "",
    language: str = "",
    properties: dict[str, Any] | None = None,
    channel: str = "",
    sponsor: Sponsor | None = None,
    enrolled_at: datetime | None = None,
) -> Membership:
    """A new active membership, optionally with a card and alternate ids.

    Refuses a card or alternate id already in use (`card_taken`, `alternate_id_taken`), a card number
    or alternate id value that is another member's number, card or alternate id (`key_taken`) and,
    with the program setting, an e-mail address another live membership holds (`email_taken`). The
    database's unique constraints decide races: two concurrent enrollments with one card make
    exactly one membership.
    """
    identity = clean_identity(
        {
            "first_name": first_name,
            "last_name": last_name,
            "email": email,
            "phone": phone,
            "birth_date": birth_date,
            "street": street,
            "postal_code": postal_code,
            "city": city,
            "country": country,
            "language": language,
            "properties": properties,
            "consent_source": consent_source,
        },
        required=True,
    )
    channel = _clean_channel(channel)
    membership_type = membership_type or membership_type_for_enrollment(None)
    if not membership_type.active:
        membership_type = membership_type_for_enrollment(membership_type.key)  # raises
    card = _clean_card(card_number, card_type) if card_number else None
    pairs = _clean_alternate_ids(alternate_ids)
    source = identity.pop("consent_source")

    ensure_email_free(identity["email"])
    membership = _insert_membership(
        membership_type=membership_type,
        status=MembershipStatus.ACTIVE,
        enrolled_at=enrolled_at or timezone.now(),
        channel=channel,
        sponsor=sponsor,
        **identity,
        **consent_values(marketing_consent, source, actor=actor, channel=channel),
    )
    issued = insert_card(membership=membership, number=card[0], type=card[1], field="cardNumber") if card else None
    added = [
        insert_alternate_id(membership, type_, value, field=f"alternateIds.{index}.value")
        for index, (type_, value) in enumerate(pairs)
    ]

    record_audit(
        actor,
        events.MEMBERSHIP_ENROLLED,
        membership,
        changes=enrolled_changes(snapshot(membership, ENROLLED_FIELDS)),
    )
    emit_event(
        events.MEMBERSHIP_ENROLLED,
        membership_number=membership.number,
        payload={
            "membershipNumber": membership.number,
            "status": membership.status,
            "membershipType": membership_type.key,
            "channel": channel,
            "sponsor": sponsor.key if sponsor else None,
            "cardNumber": issued.number if issued else None,
            "alternateIds": [{"type": a.type, "value": a.value} for a in added],
            "marketingConsent": membership.marketing_consent,
        },
    )
    if issued:
        _card_issued(issued, actor)
    return membership


def _clean_channel(channel: str) -> str:
    """A channel key of the catalog or one of the enrollment sources; refused otherwise, so reports
    per channel add up (a typo such as "webshpo" would be a channel of its own)."""
    try:
        channel = clean_channel(channel)
    except ValidationError as exc:
        raise InvalidInput(
            f"channel: {exc.messages[0]}",
            errors=[{"field": "channel", "code": "invalid", "message": exc.messages[0]}],
        ) from exc
    if channel and not hooks.enrollment_channel_known(channel):
        sources = ", ".join(hooks.ENROLLMENT_SOURCES)
        message = f"No channel {channel!r}: use a channel of the catalog or one of {sources}."
        raise errors.UnknownChannel(
            message, errors=[{"field": "channel", "code": "unknown_channel", "message": message}]
        )
    return channel


def _card_issued(card: Card, actor: Actor) -> None:
    holder = card.membership or card.legal_entity
    record_audit(
        actor,
        events.CARD_ISSUED,
        card,
        changes={"holder": [None, str(holder)], "type": [None, card.type], "status": [None, card.status]},
    )
    emit_event(
        events.CARD_ISSUED,
        membership_number=card.membership.number if card.membership else "",
        payload={
            "cardNumber": card.number,
            "membershipNumber": card.membership.number if card.membership else None,
            "legalEntity": card.legal_entity.registration_number if card.legal_entity else None,
            "type": card.type,
        },
    )


@transaction.atomic
def create_anonymous_membership(
    *,
    card_number: str,
    actor: Actor,
    membership_type: MembershipType | None = None,
    card_type: str = Card.Type.PHYSICAL,
    channel: str = "",
    sponsor: Sponsor | None = None,
) -> Membership:
    """A membership without personal data behind a card handed out unregistered (or first seen in a
    transaction). It collects points until someone claims it."""
    number, card_type = _clean_card(card_number, card_type)
    channel = _clean_channel(channel)
    membership_type = membership_type or membership_type_for_enrollment(None)
    membership = _insert_membership(
        membership_type=membership_type,
        status=MembershipStatus.ANONYMOUS,
        enrolled_at=timezone.now(),
        channel=channel,
        sponsor=sponsor,
    )
    card = insert_card(membership=membership, number=number, type=card_type, field="cardNumber")
    record_audit(
        actor,
        events.MEMBERSHIP_ANONYMOUS_CREATED,
        membership,
        changes={"status": [None, membership.status], "card": [None, card.number]},
    )
    emit_event(
        events.MEMBERSHIP_ANONYMOUS_CREATED,
        membership_number=membership.number,
        payload={"membershipNumber": membership.number, "status": membership.status, "cardNumber": card.number},
    )
    _card_issued(card, actor)
    return membership


def resolve_or_create_anonymous(key: str, *, actor: Actor, channel: str = "") -> Membership:
    """For the transaction flow: the membership `key` names, or, for an unknown card and with the
    program setting "anonymous on unknown card" on, a new anonymous membership behind that card.

    Two concurrent transactions with the same new card create one membership: the loser of the
    insert race reads the winner's.
    """
    from memberships.selectors import resolve_membership

    try:
        return resolve_membership(key)
    except MembershipNotFound:
        _anonymous_card(key)
    try:
        return create_anonymous_membership(card_number=key, actor=actor, channel=channel)
    except (CardTaken, KeyTaken):
        # Another transaction created it first (we waited for it), the card is deactivated, or the
        # number just became another member's alternate id: what the key resolves to now is the answer.
        return resolve_membership(key)


def resolve_or_plan_anonymous(key: str) -> Membership:
    """For a dry run of the transaction flow: the membership `key` names, or the anonymous one
    resolve_or_create_anonymous would create for it, unsaved (no number yet). Refused exactly where
    creating it would be refused, so a dry run answers as the booking does; nothing is written."""
    from memberships.selectors import resolve_membership

    try:
        return resolve_membership(key)
    except MembershipNotFound:
        number = _anonymous_card(key)
    membership_type = membership_type_for_enrollment(None)
    if Card.objects.filter(number=number).exists():  # a deactivated card: creating it is CardTaken, then not found
        raise MembershipNotFound()
    return Membership(
        number="", membership_type=membership_type, status=MembershipStatus.ANONYMOUS, enrolled_at=timezone.now()
    )


def _anonymous_card(key: str) -> str:
    """The card number an unknown `key` would get an anonymous membership under; MembershipNotFound
    when the program makes none or `key` is no card number."""
    if not Program.current().anonymous_on_unknown_card:
        raise MembershipNotFound()
    try:
        return clean_card_number(key)
    except ValidationError as exc:
        raise MembershipNotFound() from exc


@transaction.atomic
def claim_membership(
    *,
    membership: Membership,
    actor: Actor,
    into: Membership | None = None,
    identity: dict[str, Any] | None = None,
    marketing_consent: bool | None = None,
    consent_source: str = "",
) -> Membership:
    """Give an anonymous membership its holder: attach identity and consents and activate it, or,
    when the holder already has a membership (`into`), merge the anonymous one into that.

    Returns the membership the holder now has (the claimed one, or `into`).
    """
    from memberships.services.lifecycle import merge_memberships

    if into is not None and into.pk != membership.pk:
        membership, into = lock_memberships(membership, into)  # ascending id order, as merges lock
    else:
        membership = lock_membership(membership)
    if membership.status != MembershipStatus.ANONYMOUS:
        raise NotAnonymous(f"Membership {membership.number} is {membership.status}, not anonymous: it is claimed.")
    if into is not None:
        survivor = merge_memberships(source=membership, target=into, actor=actor)
        record_audit(actor, events.MEMBERSHIP_CLAIMED, membership, changes={"merged_into": [None, survivor.number]})
        emit_event(
            events.MEMBERSHIP_CLAIMED,
            membership_number=membership.number,
            payload={"membershipNumber": membership.number, "status": "merged", "mergedInto": survivor.number},
        )
        return survivor

    values = clean_identity({**(identity or {}), "consent_source": consent_source}, required=True)
    source = values.pop("consent_source")
    unknown = sorted(set(values) - set(DETAIL_FIELDS))
    if unknown:
        raise InvalidInput(f"Unknown fields: {', '.join(unknown)}.")
    ensure_email_free(values["email"], exclude=membership)
    before = snapshot(membership, ("status", *DETAIL_FIELDS))
    for name, value in {**values, **consent_values(marketing_consent, source, actor=actor)}.items():
        setattr(membership, name, value)
    membership.status = MembershipStatus.ACTIVE
    membership.claimed_at = timezone.now()
    membership.save()
    record_audit(
        actor,
        events.MEMBERSHIP_CLAIMED,
        membership,
        changes=diff_fields(before, snapshot(membership, ("status", *DETAIL_FIELDS))),
    )
    emit_event(
        events.MEMBERSHIP_CLAIMED,
        membership_number=membership.number,
        payload={
            "membershipNumber": membership.number,
            "status": membership.status,
            "mergedInto": None,
            "marketingConsent": membership.marketing_consent,
        },
    )
    return membership


@transaction.atomic
def update_membership(
    *,
    membership: Membership,
    actor: Actor,
    changes: dict[str, Any],
    membership_type: MembershipType | None = None,
    marketing_consent: bool | None = None,
    consent_source: str = "",
) -> Membership:
    """Change details (partial: only the given fields), validated like enrollment.

    Refused for a cancelled or merged membership (`membership_not_active`) and for an anonymous one
    (`membership_anonymous`: claiming gives it personal data). Nothing changed, nothing recorded.
    """
    membership = lock_membership(membership)
    ensure_not_closed(membership, "be changed")
    ensure_identified(membership)
    unknown = sorted(set(changes) - set(DETAIL_FIELDS))
    if unknown:
        raise InvalidInput(f"Unknown fields: {', '.join(unknown)}.")
    values = clean_fields(changes)
    if consent_source:
        clean_fields({"consent_source": consent_source})
    if "email" in values and values["email"] != membership.email:
        ensure_email_free(values["email"], exclude=membership)
    if membership_type is not None and membership_type.pk != membership.membership_type_id:
        membership_type_for_enrollment(membership_type.key)  # refuses an inactive type
        values["membership_type_id"] = membership_type.pk
    if marketing_consent is not None and marketing_consent != membership.marketing_consent:
        values.update(consent_values(marketing_consent, consent_source, actor=actor))

    tracked = ("membership_type_id", "marketing_consent", *DETAIL_FIELDS)
    before = snapshot(membership, tracked)
    for name, value in values.items():
        setattr(membership, name, value)
    changed = diff_fields(before, snapshot(membership, tracked))
    if not changed:
        return membership
    membership.save()
    record_audit(actor, events.MEMBERSHIP_UPDATED, membership, changes=changed)
    emit_event(
        events.MEMBERSHIP_UPDATED,
        membership_number=membership.number,
        payload={
            "membershipNumber": membership.number,
            "fields": sorted(changed),
            "personalData": any(name in PERSONAL_FIELDS for name in changed),
        },
    )
    return membership


__all__ = [
    "claim_membership",
    "create_anonymous_membership",
    "enroll_membership",
    "resolve_or_create_anonymous",
    "resolve_or_plan_anonymous",
    "update_membership",
]
