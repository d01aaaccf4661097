"""The bulk paths (memberships, cards, products) give exactly what the one-by-one path gives: the
same outcome and error code per record, the same rows, audit entries and events,
whatever the chunk holds (refusals, duplicates within the chunk, keys taken before or while it is
written). Each import runs inside a savepoint that is rolled back, so both ways start from the same
database."""

import json
import random
from typing import Any

import pytest
from django.db import transaction
from rest_framework.exceptions import ValidationError

from imports.registry import check, get_type
from loyalty.actors import Actor
from loyalty.models import AuditEntry, Event, Program
from memberships.import_types import MembershipRecord, fast_membership_record
from memberships.models import AlternateId, Card, Membership
from memberships.services import cancel_membership
from promotions.models import Product
from tests.imports.conftest import records_by_line

pytestmark = pytest.mark.django_db

VOLATILE = {"id", "created_at", "updated_at", "enrolled_at", "marketing_consent_at", "issued_at", "occurred_at"}


def _replace(value: Any, names: dict[str, str]) -> Any:
    """Membership numbers are drawn at random: name them by the line that made them."""
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, list | tuple):
        return [_replace(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _replace(v, names) for k, v in value.items() if k not in VOLATILE}
    return value


def snapshot(import_json, import_type: str, records: list[dict], *, one_by_one: bool, monkeypatch) -> dict:
    kind = get_type(import_type)
    with monkeypatch.context() as patch:
        if one_by_one:
            patch.setattr(kind, "apply_bulk", None)
            patch.setattr(kind, "fast_validate", None)
        with transaction.atomic():
            last_audit = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
            last_event = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
            known = set(Membership.objects.values_list("id", flat=True))
            known_cards = set(Card.objects.values_list("id", flat=True))
            known_products = set(Product.objects.values_list("id", flat=True))
            _, batch = import_json(import_type, records)
            outcomes = records_by_line(batch)
            names = {
                r.result["membershipNumber"]: f"M{line}"
                for line, r in outcomes.items()
                if r.result.get("membershipNumber")
            }
            members = Membership.objects.exclude(id__in=known).order_by("id")
            state = {
                "outcomes": {
                    line: (r.status, r.error_code, r.error_message, r.errors, r.result) for line, r in outcomes.items()
                },
                "members": list(members.values()),
                "cards": list(
                    Card.objects.exclude(id__in=known_cards)
                    .order_by("id")
                    .values("number", "type", "membership__number")
                ),
                "alternate_ids": list(
                    AlternateId.objects.filter(membership__in=members).order_by("id").values("type", "value")
                ),
                "products": list(Product.objects.exclude(id__in=known_products).order_by("id").values()),
                "audits": list(
                    AuditEntry.objects.filter(id__gt=last_audit)
                    .exclude(action__startswith="import.")
                    .order_by("id")
                    .values("action", "object_type", "object_repr", "changes", "actor_label", "actor_type")
                ),
                "events": list(
                    Event.objects.filter(id__gt=last_event)
                    .exclude(type__startswith="import.")
                    .order_by("id")
                    .values("type", "membership_number", "payload")
                ),
            }
            transaction.set_rollback(True)
    state = _replace(state, names)
    # Within a chunk the bulk-written records get their rows (ids, outbox positions) before the ones
    # left to the service: compare the rows as sets, the outcomes line by line.
    for name in ("members", "cards", "alternate_ids", "products", "audits", "events"):
        state[name] = sorted(state[name], key=lambda row: json.dumps(row, sort_keys=True, default=str))
    return state


def both_ways(import_json, import_type, records, monkeypatch):
    bulk = snapshot(import_json, import_type, records, one_by_one=False, monkeypatch=monkeypatch)
    reference = snapshot(import_json, import_type, records, one_by_one=True, monkeypatch=monkeypatch)
    return bulk, reference


MEMBER = {"firstName": "Ada", "lastName": "Lovelace"}
MEMBERSHIP_RECORDS = [
    {**MEMBER, "email": "a1@example.com", "cardNumber": "6001000000001", "birthDate": "1990-12-10", "city": "Delft"},
    {**MEMBER, "email": " A2@Example.com ", "phone": "+31 6 1234 5678", "country": "nl", "language": "en"},
    {**MEMBER, "email": "a3@example.com", "cardNumber": "6001000000001"},  # the card of line 1 again
    {**MEMBER, "email": "a1@example.com"},  # line 1's e-mail again (unique e-mail is on)
    {**MEMBER, "email": "taken@example.com"},  # held by a stored member
    {**MEMBER, "email": "a6@example.com", "cardNumber": "6009999999999"},  # a stored card
    {**MEMBER, "email": "a7@example.com", "alternateIdType": "crm", "alternateIdValue": "TAKEN"},
    {**MEMBER, "email": "a8@example.com", "alternateIdType": "crm", "alternateIdValue": "C-8"},
    {**MEMBER, "email": "a9@example.com", "channel": "Not A Key!"},
    {**MEMBER, "email": "a10@example.com", "membershipType": "nope"},
    {**MEMBER, "email": "not an address"},
    {"firstName": "Ada", "email": "a12@example.com"},
    {**MEMBER, "email": "a13@example.com", "marketingConsent": True, "consentSource": "shop", "channel": "webshop"},
    {**MEMBER, "email": "a14@example.com", "properties": {"shoe": "42"}, "alternateIds": [{"type": "x", "value": "1"}]},
    {**MEMBER, "email": "a15@example.com", "marketingConsent": "false", "sponsor": "fuel", "cardType": "virtual"},
    {**MEMBER, "email": "a16@example.com", "enrolledAt": "2020-01-02T03:04:05+01:00", "birthDate": "2999-01-01"},
    {**MEMBER, "email": "a17@example.com", "sponsor": "nope"},
    {**MEMBER, "email": "a18@example.com", "cardNumber": "card"},  # reserved by the API's paths
    {**MEMBER, "email": "a19@example.com", "alternateIdType": "crm", "alternateIdValue": "C-8"},  # line 8's id
    {**MEMBER, "email": "a20@example.com", "bogus": "x"},
]


@pytest.fixture
def stored(program, make_member):
    Program.current()
    Program.objects.update(unique_email=True)
    holder = make_member(card_number="6009999999999")
    Membership.objects.filter(pk=holder.pk).update(email="taken@example.com")
    AlternateId.objects.create(membership=holder, type="crm", value="TAKEN")
    return holder


def test_memberships_in_bulk_match_the_service_one_by_one(stored, import_json, monkeypatch):
    bulk, reference = both_ways(import_json, "memberships", MEMBERSHIP_RECORDS, monkeypatch)
    assert bulk == reference
    codes = {line: tuple(outcome[:2]) for line, outcome in bulk["outcomes"].items()}
    assert codes[3] == ("failed", "card_taken") and codes[4] == ("failed", "email_taken")
    assert codes[6] == ("failed", "card_taken") and codes[7] == ("failed", "alternate_id_taken")
    assert codes[10] == ("failed", "unknown_membership_type") and codes[11] == ("failed", "validation_error")
    assert codes[19] == ("failed", "alternate_id_taken") and codes[20] == ("failed", "validation_error")
    assert sum(1 for status, _ in codes.values() if status == "ok") == 6


def test_a_key_taken_while_the_chunk_is_written_sends_the_chunk_one_by_one(stored, import_json, monkeypatch):
    """A concurrent writer takes a card after the bulk checks ran: the insert fails, the chunk's bulk
    write rolls back, and every record goes through the service, which refuses that one."""
    from memberships.services import bulk as bulk_module

    reference = snapshot(import_json, "memberships", MEMBERSHIP_RECORDS, one_by_one=True, monkeypatch=monkeypatch)
    monkeypatch.setattr(bulk_module, "_blocked", lambda prepared, unique_email: set())  # the checks see nothing
    records = [r for r in MEMBERSHIP_RECORDS if r.get("email") not in ("a1@example.com", "taken@example.com")]
    blind = snapshot(import_json, "memberships", records, one_by_one=False, monkeypatch=monkeypatch)
    reference = snapshot(import_json, "memberships", records, one_by_one=True, monkeypatch=monkeypatch)
    assert blind == reference
    assert ("failed", "card_taken") in {tuple(outcome[:2]) for outcome in blind["outcomes"].values()}


def test_cards_in_bulk_match_the_service_one_by_one(stored, make_member, import_json, monkeypatch):
    other = make_member()
    closed = make_member()
    cancel_membership(membership=closed, reason="test", actor=Actor.for_system("tests"))
    records = [
        {"membershipKey": other.number, "number": "7001", "type": "virtual"},
        {"membershipKey": stored.number, "number": "7002", "validFrom": "2025-01-01", "validUntil": "2026-01-01"},
        {"membershipKey": other.number, "number": "7001"},  # line 1's number again
        {"membershipKey": other.number, "number": "6009999999999"},  # a stored card
        {"membershipKey": "0000000000", "number": "7005"},
        {"membershipKey": closed.number, "number": "7006"},
        {"membershipKey": other.number, "number": "x y"},
        {"membershipKey": other.number, "number": "7008", "validFrom": "2026-01-01", "validUntil": "2025-01-01"},
        {"membershipKey": "6009999999999", "number": "7009"},  # by card number
        {"membershipKey": other.number, "number": "7010", "type": "plastic"},
    ]
    bulk, reference = both_ways(import_json, "cards", records, monkeypatch)
    assert bulk == reference
    codes = [tuple(outcome[:2]) for outcome in bulk["outcomes"].values()]
    assert codes.count(("ok", "")) == 3
    assert ("failed", "card_taken") in codes and ("failed", "membership_not_active") in codes


def test_products_in_bulk_match_the_service_one_by_one(program, import_json, monkeypatch):
    records = [
        {"channel": "webshop", "key": "NEW-1", "name": "New one", "price": "1.50", "attributes": {"size": "1l"}},
        {"channel": "webshop", "key": "NEW-2", "name": "New two", "brand": "B", "active": False},
        {"channel": "webshop", "key": "COF-001", "name": "Espresso, renamed"},  # an update
        {"channel": "webshop", "key": "NEW-1", "name": "New one again"},  # line 1's key again
        {"channel": "webshop", "key": "bad key!", "name": "Bad"},
        {"channel": "nowhere", "key": "NEW-6", "name": "Lost"},
        {"channel": "webshop", "key": "NEW-7", "name": "Classified", "categories": "department:coffee"},
        {"channel": "webshop", "key": "NEW-8", "name": "Cheap", "price": "-1"},
        {"channel": "webshop", "key": "NEW-9", "name": "Odd", "attributes": ["not", "an", "object"]},
        {"channel": "webshop", "key": "NEW-10", "name": "x" * 200, "brand": "y" * 100},
    ]
    bulk, reference = both_ways(import_json, "products", records, monkeypatch)
    assert bulk == reference
    codes = [tuple(outcome[:2]) for outcome in bulk["outcomes"].values()]
    assert codes.count(("ok", "")) == 6


def test_the_fast_membership_validator_gives_what_the_serializer_gives():
    """On thousands of random records: whenever the fast validator answers, it is the serializer's
    answer; when the serializer would refuse, the fast validator never answers."""
    choices = {
        "first_name": ["Ada", " Ada ", "", "  ", "x" * 100, "x" * 101, "A\x00b", "Zoë"],
        "last_name": ["Lovelace", " L"],
        "email": ["ada@example.com", "ADA@Example.COM ", "bad", "a@b", "x" * 250 + "@e.com", ""],
        "phone": ["+31 6 1234 5678", "", "12", "0031612345678", "1" * 33],
        "birth_date": ["1990-12-10", "1890-01-01", "2990-01-01", " 1990-12-10", "19901210", "1990-13-01", ""],
        "street": ["Main 1", "", "x" * 201],
        "postal_code": ["1011 AB", "x" * 21],
        "city": ["Amsterdam", " "],
        "country": ["nl", "NL", "NLD", "1A", ""],
        "language": ["en", "de-AT", "EN", "english"],
        "membership_type": ["consumer", "x" * 41, ""],
        "card_number": ["6001000000001", "12", "card", "a b", " 6001 "],
        "card_type": ["physical", "virtual", "Physical", " physical", ""],
        "alternate_id_type": ["crm", "CRM", "x" * 41],
        "alternate_id_value": ["C-1", "a/b", "merge", "x" * 101],
        "marketing_consent": ["true", "false", "1", "0", "yes", "null", "maybe", "True", " true", True],
        "consent_source": ["shop", "", "x" * 101],
        "channel": ["webshop", "Web", ""],
        "sponsor": ["shop", ""],
        "properties": [{"a": 1}],
        "enrolled_at": ["2024-01-01T00:00:00Z"],
        "bogus": ["x"],
    }
    rng = random.Random(7)
    answered = 0
    for _ in range(5000):
        record = {"first_name": "Ada", "last_name": "L", "email": "a@example.com"}
        for name in rng.sample(list(choices), rng.randint(0, 6)):
            record[name] = rng.choice(choices[name])
        if rng.random() < 0.1:
            record.pop(rng.choice(["first_name", "last_name", "email"]))
        fast = fast_membership_record(dict(record))
        if fast is None:
            continue
        answered += 1
        try:
            expected = check(MembershipRecord, dict(record))
        except ValidationError as exc:  # pragma: no cover - the failure message says which record
            raise AssertionError(f"fast validator accepted {record!r}, the serializer refuses: {exc.detail}") from None
        assert fast == expected, record
    assert answered > 500
