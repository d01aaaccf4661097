"""Import types of the memberships app: memberships, cards, alternate ids, legal entities.

Records are flat (one CSV column per field). Each is validated by the same input serializer as
the matching API endpoint and applied by the same service.
"""

from __future__ import annotations

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
)
from memberships.services.common import membership_type_for_enrollment, sponsor_for_enrollment

ADDRESS = ("street", "postal_code", "city", "country")


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


def apply_membership(data: dict[str, Any], context: ApplyContext) -> dict[str, Any]:
    membership = services.enroll_membership(
        actor=context.actor,
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


register(
    ImportType(
        key="cards",
        title="Cards",
        description="Issue a card to an existing membership.",
        serializer=CardRecord,
        apply=apply_card,
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
        required=False, help_text="Membership keys of its member users, separated by `|`; given: exactly these."
    )

    def validate(self, attrs):
        data = {k: attrs[k] for k in ("registration_number", "name", "vat_number") if k in attrs}
        address = {k: attrs[k] for k in ADDRESS if k in attrs}
        if address:
            data["address"] = address
        if "users" in attrs:
            data["users"] = [key.strip() for key in attrs["users"].split("|") if key.strip()]
        validated = dict(_check(LegalEntityInput, data))
        validated["membership_type"] = attrs["membership_type"]
        return validated


def apply_legal_entity(data: dict[str, Any], context: ApplyContext) -> dict[str, Any]:
    users = None
    if "users" in data:
        users = [selectors.resolve_membership(key) for key in dict.fromkeys(data["users"])]
    legal_entity, created = services.save_legal_entity(
        membership_type=selectors.membership_type_by_key(data["membership_type"]),
        registration_number=data["registration_number"],
        name=data["name"],
        vat_number=data.get("vat_number", ""),
        users=users,
        actor=context.actor,
        **(data.get("address") or {}),
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
# A chunk of new members is plain rows: memberships, their cards and alternate ids, with the audit
# entries and events enroll_membership writes, inserted with one statement per table. Only records
# that cannot be refused go this way: every value is cleaned by the service's own cleaners, and a
# record whose e-mail, card or alternate id is taken (or shared with another record of the chunk),
# or that any cleaner refuses, is left to enroll_membership, which refuses it with its own code.
# tests/imports/test_bulk.py checks that both ways write the same rows, audit entries and events.


def _bulk_prepare(item: BulkItem) -> dict[str, Any] | None:
    from django.core.exceptions import ValidationError as DjangoValidationError

    from loyalty.errors import DomainError
    from memberships.services.common import clean_identity
    from memberships.services.enrollment import _clean_alternate_ids, _clean_card, _clean_channel

    data, context = item.values, item.context
    try:
        identity = clean_identity(
            {
                **identity_values(data),
                "consent_source": (data.get("consents") or {}).get("source", ""),
            },
            required=True,
        )
        membership_type = context.cached(
            "membership_type",
            data.get("membership_type"),
            lambda: membership_type_for_enrollment(data.get("membership_type")),
        )
        return {
            "identity": identity,
            "source": identity.pop("consent_source"),
            "channel": _clean_channel(data.get("channel", "")),
            "membership_type": membership_type,
            "sponsor": context.cached(
                "sponsor", data.get("sponsor"), lambda: sponsor_for_enrollment(data.get("sponsor"))
            ),
            "card": _clean_card(data["card_number"], data["card_type"]) if data.get("card_number") else None,
            "pairs": _clean_alternate_ids((a["type"], a["value"]) for a in data.get("alternate_ids", [])),
            "marketing": (data.get("consents") or {}).get("marketing"),
            "enrolled_at": data.get("enrolled_at"),
        }
    except (DomainError, DjangoValidationError):
        return None


def _shared(keys: list[Any]) -> set[Any]:
    seen: set[Any] = set()
    twice: set[Any] = set()
    for key in keys:
        (twice if key in seen else seen).add(key)
    return twice


def _lock_emails(emails: list[str]) -> None:
    """The advisory locks ensure_email_free takes, for a chunk at once and in a fixed order."""
    from django.db import connection

    if connection.vendor != "postgresql" or not emails:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(h)) FROM (SELECT hashtextextended('membership-email:' || e, 0) AS h "
            "FROM unnest(%s::text[]) AS e ORDER BY 1) AS locks",
            [sorted(set(emails))],
        )


def _free_numbers(count: int) -> list[str]:
    from memberships.models import Membership
    from memberships.numbers import generate_membership_number

    numbers: list[str] = []
    while len(numbers) < count:
        fresh = list(dict.fromkeys(generate_membership_number() for _ in range(count - len(numbers))))
        taken = set(Membership.objects.filter(number__in=fresh).values_list("number", flat=True))
        numbers += [n for n in fresh if n not in taken and n not in numbers]
    return numbers


def bulk_memberships(items: list[BulkItem]) -> None:
    from django.db import connection
    from django.utils import timezone

    from loyalty.audit import diff_fields, json_value
    from loyalty.models import AuditEntry, Event, Program
    from memberships import events
    from memberships.models import EMAIL_HOLDING_STATUSES, AlternateId, Membership, MembershipStatus
    from memberships.services.common import DETAIL_FIELDS, consent_values, snapshot

    prepared = [(item, p) for item in items if (p := _bulk_prepare(item)) is not None]
    if not prepared:
        return
    unique_email = Program.current().unique_email
    emails = [p["identity"]["email"] for _, p in prepared]
    cards = [p["card"][0] for _, p in prepared if p["card"]]
    pairs = [pair for _, p in prepared for pair in p["pairs"]]
    blocked = {("card", n) for n in _shared(cards)} | {("alt", pair) for pair in _shared(pairs)}
    blocked |= {("card", n) for n in Card.objects.filter(number__in=cards).values_list("number", flat=True)}
    if pairs:
        stored = AlternateId.objects.filter(value__in=[v for _, v in pairs]).values_list("type", "value")
        blocked |= {("alt", pair) for pair in stored}
    if unique_email:
        _lock_emails(emails)
        blocked |= {("email", e) for e in _shared(emails)}
        held = Membership.objects.filter(email__in=emails, status__in=EMAIL_HOLDING_STATUSES)
        blocked |= {("email", e) for e in held.values_list("email", flat=True)}

    def clear(p: dict[str, Any]) -> bool:
        keys = {("email", p["identity"]["email"])} if unique_email else set()
        keys |= {("card", p["card"][0])} if p["card"] else set()
        keys |= {("alt", pair) for pair in p["pairs"]}
        return not keys & blocked

    prepared = [(item, p) for item, p in prepared if clear(p)]
    if not prepared:
        return
    now = timezone.now()
    members = [
        Membership(
            number=number,
            membership_type=p["membership_type"],
            status=MembershipStatus.ACTIVE,
            enrolled_at=p["enrolled_at"] or now,
            channel=p["channel"],
            sponsor=p["sponsor"],
            **p["identity"],
            **consent_values(p["marketing"], p["source"], actor=item.context.actor, channel=p["channel"]),
        )
        for (item, p), number in zip(prepared, _free_numbers(len(prepared)), strict=True)
    ]
    Membership.objects.bulk_create(members)
    issued = {}
    for (_, p), member in zip(prepared, members, strict=True):
        if p["card"]:
            issued[member.number] = Card(membership=member, number=p["card"][0], type=p["card"][1])
    Card.objects.bulk_create(list(issued.values()))
    added = {
        m.number: [AlternateId(membership=m, type=t, value=v) for t, v in p["pairs"]]
        for (_, p), m in zip(prepared, members, strict=True)
    }
    AlternateId.objects.bulk_create([a for ids in added.values() for a in ids])

    txid = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()::text::bigint")
            txid = cursor.fetchone()[0]
    audits, outbox = [], []
    fields = ("status", "membership_type_id", "channel", *DETAIL_FIELDS)
    for (item, p), member in zip(prepared, members, strict=True):
        actor = item.context.actor
        audit = {
            "actor_type": actor.kind,
            "actor_user": actor.user,
            "actor_client": actor.client,
            "actor_label": actor.label[:200],
            "request_id": actor.request_id[:64],
            "remote_addr": actor.remote_addr,
        }
        audits.append(
            AuditEntry(
                **audit,
                action=events.MEMBERSHIP_ENROLLED,
                object_type=Membership._meta.label_lower,
                object_id=str(member.pk),
                object_repr=str(member)[:200],
                changes=json_value(diff_fields({}, snapshot(member, fields))),
            )
        )
        card = issued.get(member.number)
        outbox.append(
            Event(
                type=events.MEMBERSHIP_ENROLLED,
                membership_number=member.number,
                txid=txid,
                payload=json_value(
                    {
                        "membershipNumber": member.number,
                        "status": member.status,
                        "membershipType": p["membership_type"].key,
                        "channel": p["channel"],
                        "sponsor": p["sponsor"].key if p["sponsor"] else None,
                        "cardNumber": card.number if card else None,
                        "alternateIds": [{"type": a.type, "value": a.value} for a in added[member.number]],
                        "marketingConsent": member.marketing_consent,
                    }
                ),
            )
        )
        if card:
            audits.append(
                AuditEntry(
                    **audit,
                    action=events.CARD_ISSUED,
                    object_type=Card._meta.label_lower,
                    object_id=str(card.pk),
                    object_repr=str(card)[:200],
                    changes=json_value(
                        {"holder": [None, str(member)], "type": [None, card.type], "status": [None, card.status]}
                    ),
                )
            )
            outbox.append(
                Event(
                    type=events.CARD_ISSUED,
                    membership_number=member.number,
                    txid=txid,
                    payload={
                        "cardNumber": card.number,
                        "membershipNumber": member.number,
                        "legalEntity": None,
                        "type": card.type,
                    },
                )
            )
        item.result = {"membershipNumber": member.number}
    AuditEntry.objects.bulk_create(audits)
    Event.objects.bulk_create(outbox)


MEMBERSHIPS.apply_bulk = bulk_memberships
