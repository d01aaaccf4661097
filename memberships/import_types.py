"""Import types of the memberships app: memberships, cards, alternate ids, legal entities.

Records are flat (one CSV column per field). Each is validated by the same input serializer as
the matching API endpoint (memberships: a faster equivalent first, see fast_membership_record) and
applied by the same service; memberships and cards are written per chunk by the services' bulk
forms (enroll_many, issue_cards), which leave anything the service might refuse to it.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from rest_framework import serializers

from imports.registry import ApplyContext, BulkItem, ImportType, check, register
from loyalty.api.serializers import StrictInputSerializer
from memberships import selectors, services
from memberships.models import Card
from memberships.serializers import (
    MAX_KEY_LENGTH,
    AlternateIdInput,
    EnrollMembershipInput,
    LegalEntityInput,
    identity_values,
    legal_entity_values,
)
from memberships.services.common import membership_type_for_enrollment, sponsor_for_enrollment

ADDRESS = ("street", "postal_code", "city", "country")
CARD_TYPES = frozenset(Card.Type.values)
UNTRIMMED = {"card_type", "birth_date", "marketing_consent"}  # fields DRF takes as sent
BLANK_ALLOWED = {"phone", "street", "postal_code", "city", "country", "language", "consent_source"}


def _lift(errors: Any) -> Any:
    """The API serializer's nested errors (address.city) as the flat record's fields (city)."""
    if isinstance(errors, dict):
        flat: dict[str, Any] = {}
        for name, value in errors.items():
            if name in ("address", "consents") and isinstance(value, dict):
                for inner, detail in value.items():
                    flat["marketing_consent" if inner == "marketing" else inner] = detail
            else:
                flat[name] = value
        return flat
    return errors


def _check(serializer_class, data: dict[str, Any]) -> dict[str, Any]:
    try:
        return check(serializer_class, data)
    except serializers.ValidationError as exc:
        raise serializers.ValidationError(_lift(exc.detail)) from None


# Memberships -------------------------------------------------------------------------------------


class MembershipRecord(StrictInputSerializer):
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    email = serializers.EmailField(max_length=254)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    birth_date = serializers.DateField(required=False, allow_null=True)
    street = serializers.CharField(max_length=200, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    country = serializers.CharField(max_length=2, required=False, allow_blank=True, help_text="ISO 3166 alpha-2.")
    language = serializers.CharField(max_length=10, required=False, allow_blank=True)
    membership_type = serializers.CharField(max_length=40, required=False, help_text="Default: the program's default.")
    card_number = serializers.CharField(max_length=40, required=False, help_text="A card to issue with it.")
    card_type = serializers.ChoiceField(choices=Card.Type.choices, required=False)
    alternate_id_type = serializers.CharField(max_length=40, required=False, help_text="With alternateIdValue.")
    alternate_id_value = serializers.CharField(max_length=100, required=False)
    alternate_ids = AlternateIdInput(many=True, required=False, help_text="More ids: a JSON array of {type, value}.")
    marketing_consent = serializers.BooleanField(required=False, allow_null=True, default=None)
    consent_source = serializers.CharField(max_length=100, required=False, allow_blank=True)
    channel = serializers.CharField(max_length=40, required=False)
    sponsor = serializers.CharField(max_length=40, required=False)
    enrolled_at = serializers.DateTimeField(required=False, help_text="When the member joined; default: now.")
    properties = serializers.JSONField(required=False, help_text="Custom properties: a JSON object.")

    def validate(self, attrs):
        data = {k: v for k, v in attrs.items() if k not in (*ADDRESS, "alternate_id_type", "alternate_id_value")}
        for name in ("marketing_consent", "consent_source", "enrolled_at"):
            data.pop(name, None)
        address = {k: attrs[k] for k in ADDRESS if k in attrs}
        if address:
            data["address"] = address
        if attrs.get("marketing_consent") is not None:
            data["consents"] = {"marketing": attrs["marketing_consent"], "source": attrs.get("consent_source", "")}
        pairs = [dict(item) for item in attrs.get("alternate_ids", [])]
        if ("alternate_id_type" in attrs) != ("alternate_id_value" in attrs):
            raise serializers.ValidationError({"alternate_id_value": ["Give alternateIdType and alternateIdValue."]})
        if "alternate_id_type" in attrs:
            pairs.insert(0, {"type": attrs["alternate_id_type"], "value": attrs["alternate_id_value"]})
        if pairs:
            data["alternate_ids"] = pairs
        else:
            data.pop("alternate_ids", None)
        validated = dict(_check(EnrollMembershipInput, data))
        validated["enrolled_at"] = attrs.get("enrolled_at")
        return validated


# What MembershipRecord returns, computed without DRF for the plain records of a CSV file (text
# cells only, no JSON columns, no enrolledAt): the same cleaners and limits, so the result is the
# same (tests/imports/test_bulk_equivalence.py compares both on many records). Anything else, or anything it
# would refuse, returns None and goes through the serializer, which reports it with its errors.
_TEXT_LIMITS = {
    "first_name": 100,
    "last_name": 100,
    "email": 254,
    "phone": 32,
    "street": 200,
    "postal_code": 20,
    "city": 100,
    "country": 2,
    "language": 10,
    "membership_type": 40,
    "card_number": 40,
    "card_type": 10,
    "alternate_id_type": 40,
    "alternate_id_value": 100,
    "marketing_consent": 10,
    "consent_source": 100,
    "channel": 40,
    "sponsor": 40,
    "birth_date": 10,
}
_UNSAFE_TEXT = re.compile("[\x00\ud800-\udfff]")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def fast_membership_record(values: dict[str, Any]) -> dict[str, Any] | None:
    from django.core.exceptions import ValidationError as DjangoValidationError

    from memberships import validation

    record: dict[str, Any] = {}
    for name, value in values.items():
        limit = _TEXT_LIMITS.get(name)
        if limit is None or not isinstance(value, str):
            return None
        if name in UNTRIMMED:
            if value != value.strip():
                return None
        else:
            value = value.strip()
        if (not value and name not in BLANK_ALLOWED) or len(value) > limit or _UNSAFE_TEXT.search(value):
            return None
        record[name] = value
    if not ("first_name" in record and "last_name" in record and "email" in record):
        return None
    try:
        data: dict[str, Any] = {
            "first_name": record["first_name"],
            "last_name": record["last_name"],
            "email": validation.clean_email(record["email"]),
        }
        if "phone" in record:
            data["phone"] = validation.clean_phone(record["phone"]) if record["phone"] else ""
        if "birth_date" in record:
            if not _ISO_DATE.match(record["birth_date"]):
                return None
            data["birth_date"] = validation.clean_birth_date(date.fromisoformat(record["birth_date"]))
        address = {name: record[name] for name in ADDRESS if name in record}
        if "country" in address:
            address["country"] = validation.clean_country(address["country"])
        if address:
            data["address"] = address
        if "language" in record:
            data["language"] = validation.clean_language(record["language"])
        if "membership_type" in record:
            data["membership_type"] = record["membership_type"]
        if "card_number" in record:
            data["card_number"] = validation.clean_card_number(record["card_number"])
        card_type = record.get("card_type", Card.Type.PHYSICAL)
        if card_type not in CARD_TYPES:
            return None
        data["card_type"] = card_type
        if ("alternate_id_type" in record) != ("alternate_id_value" in record):
            return None
        if "alternate_id_type" in record:
            data["alternate_ids"] = [
                {
                    "type": validation.clean_alternate_id_type(record["alternate_id_type"]),
                    "value": validation.clean_alternate_id_value(record["alternate_id_value"]),
                }
            ]
        if "channel" in record:
            data["channel"] = validation.clean_channel(record["channel"])
        if "sponsor" in record:
            data["sponsor"] = record["sponsor"]
        if "marketing_consent" in record:
            consent = record["marketing_consent"]
            if consent in serializers.BooleanField.TRUE_VALUES:
                data["consents"] = {"marketing": True, "source": record.get("consent_source", "")}
            elif consent in serializers.BooleanField.FALSE_VALUES:
                data["consents"] = {"marketing": False, "source": record.get("consent_source", "")}
            elif consent not in serializers.BooleanField.NULL_VALUES:
                return None
    except (DjangoValidationError, ValueError):
        return None
    data["enrolled_at"] = None
    return data


def _enroll_arguments(data: dict[str, Any], context: ApplyContext) -> dict[str, Any]:
    """A validated record as enroll_membership's keyword arguments (without the actor)."""
    return dict(
        membership_type=context.cached(
            "membership_type",
            data.get("membership_type"),
            lambda: membership_type_for_enrollment(data.get("membership_type")),
        ),
        card_number=data.get("card_number", ""),
        card_type=data["card_type"],
        alternate_ids=[(item["type"], item["value"]) for item in data.get("alternate_ids", [])],
        channel=data.get("channel", ""),
        sponsor=context.cached("sponsor", data.get("sponsor"), lambda: sponsor_for_enrollment(data.get("sponsor"))),
        enrolled_at=data.get("enrolled_at"),
        marketing_consent=(data.get("consents") or {}).get("marketing"),
        consent_source=(data.get("consents") or {}).get("source", ""),
        **identity_values(data),
    )


def apply_membership(data: dict[str, Any], context: ApplyContext) -> dict[str, Any]:
    membership = services.enroll_membership(actor=context.actor, **_enroll_arguments(data, context))
    return {"membershipNumber": membership.number}


MEMBERSHIPS = register(
    ImportType(
        key="memberships",
        title="Memberships",
        description="Enroll members (as POST /memberships), optionally with a card and alternate ids.",
        serializer=MembershipRecord,
        apply=apply_membership,
        app="memberships",
        example={
            "firstName": "Ada",
            "lastName": "Lovelace",
            "email": "ada@example.com",
            "phone": "+31612345678",
            "birthDate": "1990-12-10",
            "city": "Amsterdam",
            "country": "NL",
            "cardNumber": "6001000000001",
            "alternateIdType": "crm",
            "alternateIdValue": "C-1001",
            "marketingConsent": True,
        },
    )
)


# Cards -------------------------------------------------------------------------------------------


class CardRecord(StrictInputSerializer):
    membership_key = serializers.CharField(max_length=MAX_KEY_LENGTH, help_text="Number, card or alternate id.")
    number = serializers.CharField(max_length=40, help_text="The new card's number.")
    type = serializers.ChoiceField(choices=Card.Type.choices, default=Card.Type.PHYSICAL)
    valid_from = serializers.DateField(required=False, allow_null=True)
    valid_until = serializers.DateField(required=False, allow_null=True)


def apply_card(data: dict[str, Any], context: ApplyContext) -> dict[str, Any]:
    card = services.issue_card(
        membership=selectors.resolve_membership(data["membership_key"]),
        number=data["number"],
        card_type=data["type"],
        valid_from=data.get("valid_from"),
        valid_until=data.get("valid_until"),
        actor=context.actor,
    )
    return {"cardNumber": card.number}


def bulk_cards(items: list[BulkItem]) -> None:
    """A chunk of cards through memberships.services.issue_cards; what it leaves (None), and keys
    that do not resolve, go to apply_card one by one, so refusals come from the service."""
    from loyalty.errors import DomainError

    by_actor: dict[int, list[tuple[BulkItem, dict[str, Any]]]] = {}
    for item in items:
        data = item.values
        try:
            membership = selectors.resolve_membership(data["membership_key"])
        except DomainError:
            continue
        card = {
            "membership": membership,
            "number": data["number"],
            "card_type": data["type"],
            "valid_from": data.get("valid_from"),
            "valid_until": data.get("valid_until"),
        }
        by_actor.setdefault(id(item.context.actor), []).append((item, card))
    for group in by_actor.values():
        numbers = services.issue_cards(actor=group[0][0].context.actor, cards=[card for _, card in group])
        for (item, _), number in zip(group, numbers, strict=True):
            if number is not None:
                item.result = {"cardNumber": number}


register(
    ImportType(
        key="cards",
        title="Cards",
        description="Issue a card to an existing membership.",
        serializer=CardRecord,
        apply=apply_card,
        apply_bulk=bulk_cards,
        parallel=True,
        app="memberships",
        example={"membershipKey": "100000001", "number": "6001000000002", "type": "physical"},
    )
)


# Alternate ids -------------------------------------------------------------------------------------


class AlternateIdRecord(AlternateIdInput):
    membership_key = serializers.CharField(max_length=MAX_KEY_LENGTH, help_text="Number, card or alternate id.")


def apply_alternate_id(data: dict[str, Any], context: ApplyContext) -> dict[str, Any]:
    alternate_id = services.add_alternate_id(
        membership=selectors.resolve_membership(data["membership_key"]),
        id_type=data["type"],
        value=data["value"],
        actor=context.actor,
    )
    return {"type": alternate_id.type, "value": alternate_id.value}


register(
    ImportType(
        key="alternateIds",
        title="Alternate ids",
        description="Link another system's id to a membership (type + value, unique per type).",
        serializer=AlternateIdRecord,
        apply=apply_alternate_id,
        parallel=True,
        app="memberships",
        example={"membershipKey": "100000001", "type": "crm", "value": "C-1002"},
    )
)


# Legal entities ----------------------------------------------------------------------------------


class LegalEntityRecord(StrictInputSerializer):
    membership_type = serializers.CharField(max_length=40, help_text="A company membership type key.")
    registration_number = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=200)
    vat_number = serializers.CharField(max_length=40, required=False, allow_blank=True)
    street = serializers.CharField(max_length=200, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    country = serializers.CharField(max_length=2, required=False, allow_blank=True)
    users = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="Membership keys of its member users, separated by `|`; given: exactly these. Left out (or an "
        "empty CSV cell): unchanged; null (JSON): it has none.",
    )

    def validate(self, attrs):
        data = {k: attrs[k] for k in ("registration_number", "name", "vat_number") if k in attrs}
        address = {k: attrs[k] for k in ADDRESS if k in attrs}
        if address:
            data["address"] = address
        if "users" in attrs:
            data["users"] = [key.strip() for key in (attrs["users"] or "").split("|") if key.strip()]
        validated = dict(_check(LegalEntityInput, data))
        validated["membership_type"] = attrs["membership_type"]
        return validated


def apply_legal_entity(data: dict[str, Any], context: ApplyContext) -> dict[str, Any]:
    users = None
    if "users" in data:
        users = [selectors.resolve_membership(key) for key in dict.fromkeys(data["users"] or [])]
    legal_entity, created = services.save_legal_entity(
        membership_type=selectors.membership_type_by_key(data["membership_type"]),
        registration_number=data["registration_number"],
        name=data["name"],
        users=users,
        actor=context.actor,
        **legal_entity_values(data),
    )
    return {"registrationNumber": legal_entity.registration_number, "created": created}


register(
    ImportType(
        key="legalEntities",
        title="Legal entities",
        description="Create or update companies of a company membership type.",
        serializer=LegalEntityRecord,
        apply=apply_legal_entity,
        app="memberships",
        example={"membershipType": "business", "registrationNumber": "KVK-1234", "name": "Northwind BV"},
    )
)


# Memberships in bulk -------------------------------------------------------------------------------
# A chunk of new members goes to memberships.services.enroll_many, which writes with one statement
# per table what enroll_membership writes for each, for the members nothing could refuse; the
# others (result None) are left to apply_membership, one by one, so a refusal comes from the
# service with its own code. tests/imports/test_bulk.py and test_bulk_equivalence.py check that
# both ways write the same rows, audit entries and events.


def bulk_memberships(items: list[BulkItem]) -> None:
    from loyalty.errors import DomainError

    by_actor: dict[int, list[tuple[BulkItem, dict[str, Any]]]] = {}
    for item in items:
        try:
            arguments = _enroll_arguments(item.values, item.context)
        except DomainError:  # unknown membership type or sponsor: the service refuses it
            continue
        by_actor.setdefault(id(item.context.actor), []).append((item, arguments))
    for group in by_actor.values():
        actor = group[0][0].context.actor
        numbers = services.enroll_many(actor=actor, members=[arguments for _, arguments in group])
        for (item, _), number in zip(group, numbers, strict=True):
            if number is not None:
                item.result = {"membershipNumber": number}


MEMBERSHIPS.apply_bulk = bulk_memberships
MEMBERSHIPS.parallel = True
MEMBERSHIPS.fast_validate = fast_membership_record
