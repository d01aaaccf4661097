"""Legal entities: get by user, create-or-update by type, cancel, cards list and create-or-update."""

import pytest

from loyalty.models import AuditEntry, Event
from memberships.models import Card, LegalEntity, Membership
from tests.memberships.conftest import BASE, assert_refused, counts
from tests.memberships.factories import CardFactory, LegalEntityFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def put_entity(api, body, type_key="business"):
    return api.put(f"{BASE}/type/{type_key}/legalEntity", body, format="json")


def test_creating_a_legal_entity_with_users_answers_201_and_links_them(api, business_type):
    alice, bob = MembershipFactory(), MembershipFactory()
    response = put_entity(
        api,
        {
            "registrationNumber": "KVK-1",
            "name": "Acme B.V.",
            "vatNumber": "nl 0012 34567 b01",
            "address": {"city": "Delft", "country": "NL"},
            "users": [alice.number, bob.number],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["registrationNumber"] == "KVK-1"
    assert body["vatNumber"] == "NL001234567B01"
    assert body["membershipType"] == "business"
    assert body["status"] == "active"
    assert sorted(body["users"]) == sorted([alice.number, bob.number])
    assert body["address"]["city"] == "Delft"
    assert Event.objects.filter(type="legal_entity.created").count() == 1
    assert AuditEntry.objects.filter(action="legal_entity.created").count() == 1


def test_the_same_registration_number_updates_the_entity_and_sets_its_users_exactly(api, business_type):
    alice, bob = MembershipFactory(), MembershipFactory()
    put_entity(api, {"registrationNumber": "KVK-2", "name": "Acme", "users": [alice.number]})
    response = put_entity(api, {"registrationNumber": "KVK-2", "name": "Acme Holding", "users": [bob.number]})
    assert response.status_code == 200
    assert response.json()["name"] == "Acme Holding"
    assert response.json()["users"] == [bob.number]
    assert Membership.objects.get(pk=alice.pk).legal_entity is None
    assert LegalEntity.objects.count() == 1
    update = AuditEntry.objects.get(action="legal_entity.updated")
    assert update.changes["name"] == ["Acme", "Acme Holding"]
    assert update.changes["users"] == [[alice.number], [bob.number]]


def test_an_update_without_users_leaves_them_alone_and_an_unchanged_put_records_nothing(api, business_type):
    alice = MembershipFactory()
    put_entity(api, {"registrationNumber": "KVK-3", "name": "Acme", "users": [alice.number]})
    before = counts()
    assert put_entity(api, {"registrationNumber": "KVK-3", "name": "Acme"}).json()["users"] == [alice.number]
    assert counts() == before


FULL = {
    "registrationNumber": "KVK-9",
    "name": "Acme",
    "vatNumber": "NL001234567B01",
    "address": {"street": "Dam 1", "postalCode": "1012 JS", "city": "Amsterdam", "country": "NL"},
}
FULL_ADDRESS = {"street": "Dam 1", "postalCode": "1012 JS", "city": "Amsterdam", "country": "NL"}
NO_ADDRESS = {"street": "", "postalCode": "", "city": "", "country": ""}


def test_a_put_leaving_out_address_vat_number_and_users_keeps_all_three_and_records_nothing(api, business_type):
    alice = MembershipFactory()
    put_entity(api, {**FULL, "users": [alice.number]})
    before = counts()
    body = put_entity(api, {"registrationNumber": "KVK-9", "name": "Acme"}).json()
    assert (body["address"], body["vatNumber"], body["users"]) == (FULL_ADDRESS, "NL001234567B01", [alice.number])
    assert counts() == before


@pytest.mark.parametrize(
    ("cleared", "expected"),
    [
        ({"address": None}, {"address": NO_ADDRESS}),
        ({"address": {}}, {"address": NO_ADDRESS}),
        ({"vatNumber": None}, {"vatNumber": ""}),
        ({"vatNumber": ""}, {"vatNumber": ""}),
        ({"users": []}, {"users": []}),
        ({"users": None}, {"users": []}),
    ],
)
def test_a_section_is_cleared_by_null_or_empty_and_the_others_stay(api, business_type, cleared, expected):
    alice = MembershipFactory()
    put_entity(api, {**FULL, "users": [alice.number]})
    response = put_entity(api, {"registrationNumber": "KVK-9", "name": "Acme", **cleared})
    assert response.status_code == 200, response.content
    body = response.json()
    kept = {"address": FULL_ADDRESS, "vatNumber": "NL001234567B01", "users": [alice.number]}
    assert {k: body[k] for k in kept} == {**kept, **expected}
    entry = AuditEntry.objects.filter(action="legal_entity.updated").get()
    changed = {"address": {"street", "postal_code", "city", "country"}, "vatNumber": {"vat_number"}}
    assert set(entry.changes) == changed.get(next(iter(cleared)), {"users"})


def test_an_address_given_replaces_the_whole_address(api, business_type):
    put_entity(api, FULL)
    body = put_entity(api, {"registrationNumber": "KVK-9", "name": "Acme", "address": {"city": "Delft"}}).json()
    assert body["address"] == {**NO_ADDRESS, "city": "Delft"}
    assert body["vatNumber"] == "NL001234567B01"


def test_a_new_entity_without_sections_starts_empty(api, business_type):
    body = put_entity(api, {"registrationNumber": "KVK-10", "name": "Acme"}).json()
    assert (body["address"], body["vatNumber"], body["users"]) == (NO_ADDRESS, "", [])


def test_a_legal_entity_needs_a_company_type(api, business_type):
    before = counts()
    assert_refused(put_entity(api, {"registrationNumber": "K", "name": "X"}, "consumer"), 400, "not_company_type")
    assert_refused(put_entity(api, {"registrationNumber": "K", "name": "X"}, "nope"), 404, "membership_type_not_found")
    assert counts() == before


def test_a_user_of_another_legal_entity_is_refused(api, business_type):
    other = LegalEntityFactory()
    member = MembershipFactory(legal_entity=other)
    before = counts()
    response = put_entity(api, {"registrationNumber": "KVK-4", "name": "Acme", "users": [member.number]})
    assert_refused(response, 409, "member_of_other_legal_entity")
    assert counts() == before


def test_unknown_users_and_bad_input_write_nothing(api, business_type):
    before = counts()
    assert_refused(
        put_entity(api, {"registrationNumber": "KVK-5", "name": "A", "users": ["nobody"]}), 404, "membership_not_found"
    )
    assert_refused(put_entity(api, {"registrationNumber": "KVK-5"}), 400, "validation_error")
    assert_refused(put_entity(api, {"registrationNumber": "KVK-5", "name": "A", "colour": 1}), 400, "validation_error")
    assert counts() == before


def test_a_member_users_legal_entity_is_found_by_its_key(api, business_type):
    entity = LegalEntityFactory(name="Acme")
    user = MembershipFactory(legal_entity=entity)
    CardFactory(membership=user, number="910000000001")
    body = api.get(f"{BASE}/910000000001/legalEntity").json()
    assert body["registrationNumber"] == entity.registration_number
    assert body["users"] == [user.number]


def test_a_member_without_a_legal_entity_is_a_404_legal_entity_not_found(api):
    member = MembershipFactory()
    assert_refused(api.get(f"{BASE}/{member.number}/legalEntity"), 404, "legal_entity_not_found")
    assert_refused(api.get(f"{BASE}/{member.number}/legalentity/cards"), 404, "legal_entity_not_found")


def test_legal_entity_cards_are_created_updated_and_listed(api, business_type):
    entity = LegalEntityFactory()
    user = MembershipFactory(legal_entity=entity)
    created = api.put(f"{BASE}/{user.number}/legalentity/card", {"number": "920000000001"}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["type"] == "physical"
    updated = api.put(
        f"{BASE}/{user.number}/legalentity/card",
        {"number": "920000000001", "type": "virtual", "validUntil": "2030-12-31"},
        format="json",
    )
    assert updated.status_code == 200
    assert updated.json()["type"] == "virtual" and updated.json()["validUntil"] == "2030-12-31"
    listed = api.get(f"{BASE}/{user.number}/legalentity/cards").json()
    assert [c["number"] for c in listed["results"]] == ["920000000001"]
    card = Card.objects.get(number="920000000001")
    assert card.legal_entity == entity and card.membership is None
    assert Event.objects.filter(type="card.issued").count() == 1
    assert AuditEntry.objects.get(action="card.updated").changes["type"] == ["physical", "virtual"]


def test_a_legal_entity_card_number_held_by_a_member_is_card_taken(api, business_type):
    user = MembershipFactory(legal_entity=LegalEntityFactory())
    CardFactory(number="920000000002")
    before = counts()
    response = api.put(f"{BASE}/{user.number}/legalentity/card", {"number": "920000000002"}, format="json")
    assert_refused(response, 409, "card_taken")
    assert counts() == before


def test_a_card_valid_until_before_valid_from_is_refused(api, business_type):
    user = MembershipFactory(legal_entity=LegalEntityFactory())
    before = counts()
    body = {"number": "920000000003", "validFrom": "2030-01-01", "validUntil": "2029-01-01"}
    assert_refused(api.put(f"{BASE}/{user.number}/legalentity/card", body, format="json"), 400, "invalid_input")
    assert counts() == before


def test_cancelling_a_legal_entity_deactivates_its_cards_and_keeps_its_users(api, business_type):
    entity = LegalEntityFactory()
    user = MembershipFactory(legal_entity=entity)
    CardFactory(membership=None, legal_entity=entity, number="930000000001")
    response = api.post(f"{BASE}/{user.number}/legalentity/cancel", {"reason": "Contract ended"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancelReason"] == "Contract ended"
    card = Card.objects.get(number="930000000001")
    assert card.status == "inactive" and card.deactivation_reason == "legal_entity_cancelled"
    assert Membership.objects.get(pk=user.pk).legal_entity == entity
    assert Membership.objects.get(pk=user.pk).status == "active"
    assert Event.objects.get(type="legal_entity.cancelled").payload["cardsDeactivated"] == ["930000000001"]


def test_a_cancelled_legal_entity_takes_no_changes_and_cannot_be_cancelled_again(api, business_type):
    entity = LegalEntityFactory(status="cancelled")
    user = MembershipFactory(legal_entity=entity)
    before = counts()
    assert_refused(
        api.post(f"{BASE}/{user.number}/legalentity/cancel", {"reason": "again"}, format="json"),
        409,
        "legal_entity_not_active",
    )
    assert_refused(
        api.put(f"{BASE}/{user.number}/legalentity/card", {"number": "930000000002"}, format="json"),
        409,
        "legal_entity_not_active",
    )
    assert_refused(
        put_entity(api, {"registrationNumber": entity.registration_number, "name": "New"}),
        409,
        "legal_entity_not_active",
    )
    assert counts() == before


def test_cancel_needs_a_reason(api, business_type):
    user = MembershipFactory(legal_entity=LegalEntityFactory())
    assert_refused(api.post(f"{BASE}/{user.number}/legalentity/cancel", {}, format="json"), 400, "validation_error")
