"""POST /memberships: enrollment, its refusals, and that a refusal writes nothing."""

import pytest

from loyalty.models import AuditEntry, Event, MembershipType, Program, Sponsor
from memberships.models import Card, Membership
from memberships.numbers import is_valid_membership_number
from tests.memberships.conftest import BASE, assert_refused, counts, enroll_body
from tests.memberships.factories import AlternateIdFactory, CardFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def test_enrollment_answers_201_with_a_valid_membership_number_and_status(api):
    response = api.post(BASE, enroll_body(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "active"
    assert is_valid_membership_number(body["membershipNumber"])
    membership = Membership.objects.get(number=body["membershipNumber"])
    assert (membership.first_name, membership.last_name, membership.email) == ("Ann", "Smith1", "ann1@example.com")
    assert membership.membership_type.key == "consumer"


def test_the_membership_number_is_usable_as_key(api):
    number = api.post(BASE, enroll_body(), format="json").json()["membershipNumber"]
    response = api.get(f"{BASE}/{number}/details")
    assert response.status_code == 200
    assert response.json()["membershipNumber"] == number


def test_enrollment_with_everything_stores_card_alternate_ids_consents_and_personal_data(api):
    sponsor = Sponsor.objects.create(key="shop", name="Shop", is_default=True)
    body = enroll_body(
        phone="+31 6 1234-5678",
        birthDate="1985-04-12",
        membershipType="consumer",
        cardNumber="600012345678",
        alternateIds=[{"type": "crm", "value": "C-1"}, {"type": "shop", "value": "S-1"}],
        consents={"marketing": True, "source": "web-signup"},
        address={"street": "Damrak 1", "postalCode": "1012 LG", "city": "Amsterdam", "country": "nl"},
        language="nl",
        properties={"favoriteStore": "centre", "household_size": 3},
        channel="web",
    )
    body["email"] = "Ann.Smith@Example.COM"
    response = api.post(BASE, body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["email"] == "ann.smith@example.com"
    assert data["phone"] == "+31612345678"
    assert data["birthDate"] == "1985-04-12"
    assert data["address"] == {"street": "Damrak 1", "postalCode": "1012 LG", "city": "Amsterdam", "country": "NL"}
    assert data["consents"]["marketing"] is True
    assert data["consents"]["source"] == "web-signup"
    assert data["consents"]["changedAt"]
    assert data["properties"] == {"favoriteStore": "centre", "household_size": 3}
    assert data["channel"] == "web"
    assert data["sponsor"] == sponsor.key
    assert {(a["type"], a["value"]) for a in data["alternateIds"]} == {("crm", "C-1"), ("shop", "S-1")}
    membership = Membership.objects.get(number=data["membershipNumber"])
    assert list(membership.cards.values_list("number", "status")) == [("600012345678", "active")]


def test_enrollment_is_audited_and_emits_events(api):
    number = api.post(BASE, enroll_body(cardNumber="600000000001"), format="json").json()["membershipNumber"]
    membership = Membership.objects.get(number=number)
    entry = AuditEntry.objects.get(action="membership.enrolled")
    assert entry.object_id == str(membership.pk)
    assert entry.actor_type == "client"
    assert entry.changes["email"] == [None, "ann1@example.com"]
    assert "phone" not in entry.changes and "street" not in entry.changes  # left empty: no change to name
    enrolled = Event.objects.get(type="membership.enrolled")
    assert enrolled.membership_number == number
    assert enrolled.payload["cardNumber"] == "600000000001"
    assert "email" not in enrolled.payload  # no personal data in the feed
    assert Event.objects.filter(type="card.issued", membership_number=number).count() == 1
    assert AuditEntry.objects.filter(action="card.issued").count() == 1


def test_without_a_type_the_programs_default_type_applies(api):
    MembershipType.objects.filter(key="consumer").update(is_default=False)
    MembershipType.objects.create(key="standard", name="Standard", is_default=True)
    number = api.post(BASE, enroll_body(), format="json").json()["membershipNumber"]
    assert Membership.objects.get(number=number).membership_type.key == "standard"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": ""}, "email"),
        ({"phone": "12ab"}, "phone"),
        ({"phone": "123"}, "phone"),
        ({"birthDate": "2999-01-01"}, "birthDate"),
        ({"birthDate": "1850-01-01"}, "birthDate"),
        ({"birthDate": "31-12-1990"}, "birthDate"),
        ({"firstName": ""}, "firstName"),
        ({"cardNumber": "a b"}, "cardNumber"),
        ({"alternateIds": [{"type": "CRM id", "value": "x"}]}, "alternateIds.0.type"),
        ({"alternateIds": [{"type": "crm", "value": "with/slash"}]}, "alternateIds.0.value"),
        ({"language": "english"}, "language"),
        ({"address": {"country": "Netherlands"}}, "address.country"),
        ({"properties": {"bad name": 1}}, "properties"),
        ({"properties": {"nested": {"a": 1}}}, "properties"),
        ({"nickname": "Annie"}, "nickname"),
    ],
)
def test_invalid_input_is_a_400_naming_the_field_and_writes_nothing(api, change, field):
    before = counts()
    response = api.post(BASE, {**enroll_body(), **change}, format="json")
    assert_refused(response, 400, "validation_error")
    assert field in [error["field"] for error in response.json()["errors"]]
    assert counts() == before


def test_missing_names_and_email_are_refused(api):
    before = counts()
    response = api.post(BASE, {"phone": "+31612345678"}, format="json")
    assert_refused(response, 400, "validation_error")
    assert {"firstName", "lastName", "email"} <= {e["field"] for e in response.json()["errors"]}
    assert counts() == before


def test_an_unknown_or_inactive_membership_type_is_refused(api):
    MembershipType.objects.create(key="retired", name="Retired", active=False)
    for key in ("platinum", "retired"):
        before = counts()
        response = api.post(BASE, enroll_body(membershipType=key), format="json")
        assert_refused(response, 400, "unknown_membership_type")
        assert counts() == before


def test_an_enrollment_channel_is_a_catalog_channel_or_an_enrollment_source(api):
    from promotions.models import Channel

    Channel.objects.create(key="store-delft", name="Delft", sponsor=Sponsor.objects.create(key="shop", name="Shop"))
    for channel in ("store-delft", "app", "phone"):
        response = api.post(BASE, enroll_body(channel=channel), format="json")
        assert response.status_code == 201, response.content
        assert response.json()["channel"] == channel
    before = counts()
    response = api.post(BASE, enroll_body(channel="webshpo"), format="json")
    assert_refused(response, 400, "unknown_channel")
    assert "use a channel of the catalog or one of web, app, store" in response.json()["detail"]
    assert response.json()["errors"][0]["field"] == "channel"
    assert counts() == before


def test_an_unknown_sponsor_is_refused(api):
    before = counts()
    assert_refused(api.post(BASE, enroll_body(sponsor="nobody"), format="json"), 400, "unknown_sponsor")
    assert counts() == before


def test_a_card_number_already_in_use_is_refused_with_card_taken(api):
    CardFactory(number="600000000042")
    before = counts()
    response = api.post(BASE, enroll_body(cardNumber="600000000042"), format="json")
    assert_refused(response, 409, "card_taken")
    assert counts() == before


def test_a_deactivated_card_number_is_never_issued_again(api):
    CardFactory(number="600000000043", status=Card.Status.INACTIVE)
    before = counts()
    assert_refused(api.post(BASE, enroll_body(cardNumber="600000000043"), format="json"), 409, "card_taken")
    assert counts() == before


def test_an_alternate_id_already_in_use_is_refused_with_alternate_id_taken(api):
    AlternateIdFactory(type="crm", value="C-77")
    before = counts()
    body = enroll_body(cardNumber="600000000044", alternateIds=[{"type": "crm", "value": "C-77"}])
    assert_refused(api.post(BASE, body, format="json"), 409, "alternate_id_taken")
    assert counts() == before


def test_another_members_alternate_id_value_under_another_type_is_key_taken(api):
    AlternateIdFactory(type="crm", value="C-78")
    before = counts()
    response = api.post(BASE, enroll_body(alternateIds=[{"type": "shop", "value": "C-78"}]), format="json")
    assert_refused(response, 409, "key_taken")
    assert response.json()["errors"] == [
        {"field": "alternateIds.0.value", "code": "key_taken", "message": response.json()["detail"]}
    ]
    assert counts() == before


def test_the_same_alternate_id_twice_in_one_request_is_refused(api):
    before = counts()
    body = enroll_body(alternateIds=[{"type": "crm", "value": "D"}, {"type": "crm", "value": "D"}])
    assert_refused(api.post(BASE, body, format="json"), 400, "invalid_input")
    assert counts() == before


def test_email_uniqueness_is_a_program_setting(api):
    MembershipFactory(email="taken@example.com")
    body = enroll_body(email="Taken@example.com")
    assert api.post(BASE, body, format="json").status_code == 201  # off by default

    Program.objects.update(unique_email=True)
    before = counts()
    assert_refused(api.post(BASE, {**body, "lastName": "Other"}, format="json"), 409, "email_taken")
    assert counts() == before


def test_with_unique_email_a_cancelled_or_merged_membership_does_not_hold_its_address(api):
    Program.objects.update(unique_email=True)
    MembershipFactory(email="left@example.com", status="cancelled")
    assert api.post(BASE, enroll_body(email="left@example.com"), format="json").status_code == 201


def test_a_repeated_enrollment_with_the_same_idempotency_key_creates_one_membership(api):
    headers = {"HTTP_IDEMPOTENCY_KEY": "enroll-1"}
    first = api.post(BASE, enroll_body(), format="json", **headers)
    second = api.post(BASE, enroll_body(), format="json", **headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert Membership.objects.count() == 1


def test_the_schema_carries_the_card_number_and_phone_rules():
    """What the cleaners accept the schema's patterns accept, and the other way round where a pattern can say it."""
    import re

    from django.core.exceptions import ValidationError

    from memberships import validation
    from tests.test_schema import generate

    fields = generate()[0]["components"]["schemas"]["EnrollMembershipInputRequest"]["properties"]
    card, phone = fields["cardNumber"]["pattern"], fields["phone"]["oneOf"][0]["pattern"]

    def accepted(cleaner, value):
        try:
            cleaner(value)
        except ValidationError:
            return False
        return True

    for value in ["601000000001", "AB-12", "x1-2-3", "ab", "-abc", "a b c", "0" * 41, "card", "MERGE", "cards"]:
        assert bool(re.match(card, value)) == accepted(validation.clean_card_number, value), value
    for value in ["+31 6 1234 5678", "0031 (6) 12-34-56-78", "061234567", "0612.345.678"]:
        assert re.match(phone, value) and accepted(validation.clean_phone, value), value
    for value in ["abc", "+", "phone: 0612345678"]:
        assert not re.match(phone, value) and not accepted(validation.clean_phone, value), value
