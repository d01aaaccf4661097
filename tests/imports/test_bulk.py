"""Memberships are written in bulk per chunk: the same rows, audit entries and events as the
enrollment service writes, and every record the service would refuse is left to the service."""

import pytest

from imports.models import ImportBatch
from loyalty.models import AuditEntry, Event, Program
from memberships.models import AlternateId, Card, KeyClaim, Membership
from memberships.services.enrollment import enroll_membership
from tests.imports.conftest import IMPORTS, records_by_line

pytestmark = pytest.mark.django_db

RECORD = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "email": "ADA@Example.com",
    "phone": "+31 6 1234 5678",
    "birthDate": "1990-12-10",
    "street": "Main 1",
    "postalCode": "1011 AB",
    "city": "Amsterdam",
    "country": "nl",
    "language": "en",
    "cardNumber": "6001000000001",
    "alternateIdType": "crm",
    "alternateIdValue": "C-1",
    "marketingConsent": True,
    "consentSource": "shop-form",
    "channel": "webshop",
    "properties": {"shoe": "42"},
}
IGNORED = {"id", "number", "created_at", "updated_at", "enrolled_at", "marketing_consent_at"}


def row(member):
    return {k: v for k, v in Membership.objects.filter(pk=member.pk).values()[0].items() if k not in IGNORED}


def trail(member):
    objects = {("memberships.membership", str(member.pk))}
    objects |= {("memberships.card", str(pk)) for pk in member.cards.values_list("pk", flat=True)}
    audits = [
        (a.action, a.actor_label, {k: v for k, v in a.changes.items() if k != "holder"})
        for a in AuditEntry.objects.filter(action__in=["membership.enrolled", "card.issued"]).order_by("id")
        if (a.object_type, a.object_id) in objects
    ]
    events = [
        (e.type, {k: v for k, v in e.payload.items() if k != "membershipNumber"})
        for e in Event.objects.filter(membership_number=member.number).order_by("id")
    ]
    return audits, events


def test_a_bulk_written_member_matches_one_the_service_enrolled(api, program, import_json):
    _, batch = import_json("memberships", [RECORD])
    bulk = Membership.objects.get(number=records_by_line(batch)[1].result["membershipNumber"])
    assert Card.objects.get(number="6001000000001").membership == bulk
    assert AlternateId.objects.get(value="C-1").membership == bulk

    bulk_audits, bulk_events = trail(bulk)
    assert set(KeyClaim.objects.filter(membership=bulk).values_list("value", flat=True)) == {
        bulk.number,
        "6001000000001",
        "C-1",
    }
    # Free the keys for the reference.
    Card.objects.all().delete(), AlternateId.objects.all().delete()
    KeyClaim.objects.filter(value__in=["6001000000001", "C-1"]).delete()
    client = batch.created_by_client
    from loyalty.actors import Actor

    reference = enroll_membership(
        actor=Actor(client=client),
        first_name="Ada",
        last_name="Lovelace",
        email="ADA@Example.com",
        phone="+31 6 1234 5678",
        birth_date=bulk.birth_date,
        street="Main 1",
        postal_code="1011 AB",
        city="Amsterdam",
        country="nl",
        language="en",
        card_number="6001000000001",
        alternate_ids=[("crm", "C-1")],
        marketing_consent=True,
        consent_source="shop-form",
        channel="webshop",
        properties={"shoe": "42"},
        sponsor=bulk.sponsor,
    )
    assert row(bulk) == row(reference)
    ref_audits, ref_events = trail(reference)
    assert [a[0] for a in bulk_audits] == ["membership.enrolled", "card.issued"]
    assert bulk_audits == ref_audits
    assert bulk_events == ref_events


def test_records_the_service_would_refuse_are_refused_by_it_with_their_codes(api, program, make_member, import_json):
    Program.current()
    Program.objects.update(unique_email=True)
    taken = make_member()
    AlternateId.objects.create(membership=taken, type="crm", value="TAKEN")
    base = {"firstName": "A", "lastName": "B"}
    _, batch = import_json(
        "memberships",
        [
            {**base, "email": "one@example.com", "cardNumber": "6001000000005"},
            {**base, "email": "two@example.com", "cardNumber": "6001000000005"},  # the same card again
            {**base, "email": taken.email},
            {**base, "email": "three@example.com", "alternateIdType": "crm", "alternateIdValue": "TAKEN"},
            {**base, "email": "four@example.com", "channel": "Not A Key!"},
            {**base, "email": "five@example.com", "membershipType": "nope"},
            {**base, "email": "six@example.com"},
            {**base, "email": "six@example.com"},
        ],
    )
    records = records_by_line(batch)
    codes = {line: (r.status, r.error_code) for line, r in records.items()}
    assert codes == {
        1: ("ok", ""),
        2: ("failed", "card_taken"),
        3: ("failed", "email_taken"),
        4: ("failed", "alternate_id_taken"),
        5: ("failed", "validation_error"),
        6: ("failed", "unknown_membership_type"),
        7: ("ok", ""),
        8: ("failed", "email_taken"),
    }
    assert Card.objects.get(number="6001000000005").membership.email == "one@example.com"
    batch.refresh_from_db()
    assert (batch.ok_count, batch.failed_count) == (2, 6)


def test_a_chunk_is_written_with_a_few_statements_not_a_few_per_record(api, program):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from imports.services import process_batch

    def import_of(n, start):
        records = [{"firstName": "P", "lastName": "Q", "email": f"p{start + i}@example.com"} for i in range(n)]
        key = api.post(f"{IMPORTS}/memberships", records, format="json").json()["key"]
        batch = ImportBatch.objects.get(key=key)
        with CaptureQueriesContext(connection) as captured:
            process_batch(batch.pk)
        return len(captured)

    # A few statements per table and chunk (SQLite splits long inserts), not ~17 per record.
    assert import_of(200, 0) < 100
    assert Membership.objects.count() == 200
