"""Helpers the membership services share: locking, lookups of configuration, uniqueness checks."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from loyalty.actors import Actor
from loyalty.audit import json_value
from loyalty.models import MembershipType, Program, Sponsor
from loyalty.prepared import Prepared
from memberships.errors import (
    AlternateIdTaken,
    CardTaken,
    EmailTaken,
    MembershipAnonymous,
    MembershipNotActive,
    UnknownMembershipType,
    UnknownSponsor,
)
from memberships.models import (
    EMAIL_HOLDING_STATUSES,
    AlternateId,
    Card,
    LegalEntity,
    Membership,
    MembershipStatus,
)
from memberships.services.keys import alternate_id_refusal, card_refusal, claim_key
from memberships.validation import clean_fields

PERSONAL_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "birth_date",
    "street",
    "postal_code",
    "city",
    "country",
)
DETAIL_FIELDS = (*PERSONAL_FIELDS, "language", "properties")
REQUIRED_IDENTITY = ("first_name", "last_name", "email")


def lock_membership(membership: Membership) -> Membership:
    """The row again, locked until the transaction ends (the membership only, not what it joins).

    FOR NO KEY UPDATE: it serializes the services that lock the member, but not the foreign-key checks
    of rows that name the member (a booking's, checked at commit). FOR UPDATE would make those wait
    for the member while their own transaction holds the member's accounts: a deadlock with a
    service that holds the member and waits for the accounts (a voucher bought with points)."""
    locked = _locked_membership.first(membership.pk)
    if locked is None:
        raise Membership.DoesNotExist(f"Membership {membership.pk} does not exist.")
    return locked


_locked_membership: Prepared[Membership] = Prepared(
    lambda pk: (
        Membership.objects.select_for_update(of=("self",), no_key=True).select_related("membership_type").filter(pk=pk)
    )
)


def lock_memberships(*members: Membership) -> list[Membership]:
    """Lock several memberships in ascending id order (the same order everywhere: no deadlocks)."""
    locked = {m.pk: lock_membership(m) for m in sorted(members, key=lambda m: m.pk)}
    return [locked[m.pk] for m in members]


def lock_legal_entity(legal_entity: LegalEntity) -> LegalEntity:
    return LegalEntity.objects.select_for_update(of=("self",)).get(pk=legal_entity.pk)


def membership_type_for_enrollment(key: str | None) -> MembershipType:
    """The named type, or the program's default type; refused when unknown or inactive."""
    if key:
        membership_type = MembershipType.objects.filter(key=key).first()
        if membership_type is None:
            raise UnknownMembershipType(f"No membership type has the key {key!r}.")
    else:
        membership_type = MembershipType.objects.filter(is_default=True).first()
        if membership_type is None:
            raise UnknownMembershipType("Name a membershipType: the program has no default membership type.")
    if not membership_type.active:
        raise UnknownMembershipType(f"The membership type {membership_type.key!r} takes no new enrollments.")
    return membership_type


def sponsor_for_enrollment(key: str | None) -> Sponsor | None:
    if not key:
        return Sponsor.objects.filter(is_default=True).first()
    sponsor = Sponsor.objects.filter(key=key, active=True).first()
    if sponsor is None:
        raise UnknownSponsor(f"No active sponsor has the key {key!r}.")
    return sponsor


def ensure_open(membership: Membership, action: str) -> None:
    """Refuse a change to a cancelled, blocked or merged membership."""
    if membership.status not in (MembershipStatus.ACTIVE, MembershipStatus.ANONYMOUS):
        raise MembershipNotActive(f"Membership {membership.number} is {membership.status}: it cannot {action}.")


def ensure_not_closed(membership: Membership, action: str) -> None:
    """Refuse a change to a cancelled or merged membership (a blocked one may still be corrected)."""
    if membership.status in (MembershipStatus.CANCELLED, MembershipStatus.MERGED):
        raise MembershipNotActive(f"Membership {membership.number} is {membership.status}: it cannot {action}.")


def ensure_identified(membership: Membership) -> None:
    if membership.status == MembershipStatus.ANONYMOUS:
        raise MembershipAnonymous(f"Membership {membership.number} is anonymous: claim it to give it personal data.")


def ensure_email_free(email: str, *, exclude: Membership | None = None) -> None:
    """With the program setting "unique e-mail", refuse an address another live membership holds.

    On PostgreSQL a transaction-scoped advisory lock on the address serializes the check with the
    insert, so two concurrent enrollments with one address cannot both pass it.
    """
    if not email or not Program.current().unique_email:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"membership-email:{email}"])
    holders = Membership.objects.filter(email=email, status__in=EMAIL_HOLDING_STATUSES)
    if exclude is not None:
        holders = holders.exclude(pk=exclude.pk)
    if holders.exists():
        raise EmailTaken(f"Another membership already uses {email}.")


def ensure_card_free(number: str) -> None:
    if Card.objects.filter(number=number).exists():
        raise CardTaken(f"The card number {number} is already in use.")


def ensure_alternate_id_free(type_: str, value: str) -> None:
    if AlternateId.objects.filter(type=type_, value=value).exists():
        raise AlternateIdTaken(f"The alternate id {type_}:{value} is already in use.")


def insert_card(*, field: str = "number", **values: Any) -> Card:
    """Insert a card after claiming its number for the holder in the one key space. A number the card
    table has (any holder, ever) is `card_taken`; another holder's membership number or alternate id
    is `key_taken` (`field` names the request field). A concurrent holder of the number makes this a
    refusal too: the database decides."""
    number = values["number"]
    ensure_card_free(number)
    if not claim_key(number, membership=values.get("membership"), legal_entity=values.get("legal_entity")):
        raise card_refusal(number, field)
    try:
        with transaction.atomic():
            return Card.objects.create(**values)
    except IntegrityError as exc:
        if Card.objects.filter(number=number).exists():
            raise CardTaken(f"The card number {number} is already in use.") from exc
        raise


def insert_alternate_id(membership: Membership, type_: str, value: str, *, field: str = "value") -> AlternateId:
    """Insert an alternate id after claiming its value for the member in the one key space: the same
    type and value linked already is `alternate_id_taken`, the value held by another holder (under any
    type, or as a number or card) `key_taken`."""
    ensure_alternate_id_free(type_, value)
    if not claim_key(value, membership=membership):
        raise alternate_id_refusal(type_, value, field)
    try:
        with transaction.atomic():
            return AlternateId.objects.create(membership=membership, type=type_, value=value)
    except IntegrityError as exc:
        if AlternateId.objects.filter(type=type_, value=value).exists():
            raise AlternateIdTaken(f"The alternate id {type_}:{value} is already in use.") from exc
        raise


def clean_identity(values: dict[str, Any], *, required: bool) -> dict[str, Any]:
    """Validate personal data the way enrollment does; `required` demands names and e-mail."""
    cleaned = clean_fields(values)
    if required:
        missing = [name for name in REQUIRED_IDENTITY if not cleaned.get(name)]
        if missing:
            clean_fields(dict.fromkeys(missing, ""))  # raises with the same field errors
    return cleaned


ENROLLED_FIELDS = ("status", "membership_type_id", "channel", *DETAIL_FIELDS)


def enrolled_changes(values: dict[str, Any]) -> dict[str, list[Any]]:
    """The audit changes of a new membership: each value it was enrolled with, from nothing. Fields left
    empty are not named (an enrollment without a phone number changed no phone number)."""
    return {name: [None, json_value(value)] for name, value in values.items() if value not in (None, "", {})}


def consent_values(marketing: bool | None, source: str, *, actor: Actor, channel: str = "") -> dict[str, Any]:
    """The consent columns for a consent given (True) or withdrawn (False); nothing when None."""
    if marketing is None:
        return {}
    return {
        "marketing_consent": marketing,
        "marketing_consent_at": timezone.now(),
        "marketing_consent_source": (source or channel or actor.label)[:100],
    }


def snapshot(membership: Membership, fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {name: getattr(membership, name) for name in fields}
