"""GET and PUT /memberships/{key}/details."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from loyalty.models import AuditEntry, Event, MembershipType, Program
from memberships.models import Membership
from tests.factories import StaffUserFactory
from tests.memberships.conftest import BASE, assert_refused, counts
from tests.memberships.factories import AlternateIdFactory, AnonymousMembershipFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def test_details_carry_the_core_contract_fields(api):
    member = MembershipFactory(first_name="Ann", last_name="Smith", email="ann@example.com")
    AlternateIdFactory(membership=member, type="crm", value="C-1")
    body = api.get(f"{BASE}/{member.number}/details").json()
    assert body["membershipNumber"] == member.number
    assert body["status"] == "active"
    assert body["mergedInto"] is None
    assert body["membershipType"] == "consumer"
    assert (body["firstName"], body["lastName"], body["email"]) == ("Ann", "Smith", "ann@example.com")
    assert body["alternateIds"][0]["type"] == "crm"


def test_a_partial_update_changes_only_the_given_fields_and_is_audited(api):
    member = MembershipFactory(first_name="Ann", last_name="Smith", phone="+31600000000")
    response = api.put(
        f"{BASE}/{member.number}/details",
        {"lastName": "Jones", "address": {"city": "Utrecht"}, "properties": {"vip": True}},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["firstName"], body["lastName"], body["phone"]) == ("Ann", "Jones", "+31600000000")
    assert body["address"]["city"] == "Utrecht"
    assert body["properties"] == {"vip": True}
    entry = AuditEntry.objects.get(action="membership.updated")
    assert entry.changes["last_name"] == ["Smith", "Jones"]
    assert set(entry.changes) == {"last_name", "city", "properties"}
    event = Event.objects.get(type="membership.updated")
    assert event.payload["fields"] == ["city", "last_name", "properties"]
    assert "Jones" not in str(event.payload)


def test_null_clears_phone_and_birth_date(api):
    member = MembershipFactory(phone="+31600000000", birth_date="1990-01-01")
    body = api.put(f"{BASE}/{member.number}/details", {"phone": None, "birthDate": None}, format="json").json()
    assert body["phone"] == "" and body["birthDate"] is None


def test_an_update_that_changes_nothing_records_nothing(api):
    member = MembershipFactory(first_name="Ann")
    before = counts()
    assert api.put(f"{BASE}/{member.number}/details", {"firstName": "Ann"}, format="json").status_code == 200
    assert counts() == before


def test_consent_changes_record_time_and_source(api):
    member = MembershipFactory()
    body = api.put(
        f"{BASE}/{member.number}/details", {"consents": {"marketing": True, "source": "app"}}, format="json"
    ).json()
    assert body["consents"]["marketing"] is True
    assert body["consents"]["source"] == "app"
    assert body["consents"]["changedAt"]


def test_the_membership_type_can_change_to_a_known_type(api, business_type):
    member = MembershipFactory()
    body = api.put(f"{BASE}/{member.number}/details", {"membershipType": "business"}, format="json").json()
    assert body["membershipType"] == "business"
    assert_refused(
        api.put(f"{BASE}/{member.number}/details", {"membershipType": "nope"}, format="json"),
        400,
        "unknown_membership_type",
    )


@pytest.mark.parametrize(
    "change",
    [
        {"email": "bad"},
        {"firstName": ""},
        {"phone": "x"},
        {"birthDate": "2999-01-01"},
        {"membershipNumber": "1234567890"},
        {"status": "active"},
    ],
)
def test_updates_are_validated_like_enrollment_and_write_nothing(api, change):
    member = MembershipFactory()
    before = counts()
    assert_refused(api.put(f"{BASE}/{member.number}/details", change, format="json"), 400, "validation_error")
    assert counts() == before


def test_a_cancelled_membership_cannot_be_changed(api):
    member = MembershipFactory(status="cancelled")
    before = counts()
    response = api.put(f"{BASE}/{member.number}/details", {"firstName": "Zed"}, format="json")
    assert_refused(response, 409, "membership_not_active")
    assert counts() == before
    assert Membership.objects.get(pk=member.pk).first_name != "Zed"


def test_an_anonymous_membership_gets_personal_data_by_claim_not_by_update(api):
    member = AnonymousMembershipFactory()
    before = counts()
    response = api.put(f"{BASE}/{member.number}/details", {"firstName": "Zed"}, format="json")
    assert_refused(response, 409, "membership_anonymous")
    assert counts() == before


def test_an_email_another_member_holds_is_refused_when_the_program_requires_unique_addresses(api):
    Program.objects.update(unique_email=True)
    MembershipFactory(email="mine@example.com")
    member = MembershipFactory()
    before = counts()
    response = api.put(f"{BASE}/{member.number}/details", {"email": "MINE@example.com"}, format="json")
    assert_refused(response, 409, "email_taken")
    assert counts() == before


def test_an_inactive_type_is_refused_on_update(api):
    MembershipType.objects.create(key="old", name="Old", active=False)
    member = MembershipFactory()
    assert_refused(
        api.put(f"{BASE}/{member.number}/details", {"membershipType": "old"}, format="json"),
        400,
        "unknown_membership_type",
    )


def test_staff_without_the_personal_data_permission_see_no_personal_data():
    member = MembershipFactory(first_name="Ann", email="ann@example.com", phone="+31600000000")
    staff = StaffUserFactory(is_superuser=False)
    client = Client()
    client.force_login(staff)
    body = client.get(f"{BASE}/{member.number}/details").json()
    assert body["membershipNumber"] == member.number
    assert body["firstName"] is None and body["email"] is None and body["phone"] is None
    assert body["address"] is None
    listed = client.get(BASE).json()["results"][0]
    assert listed["email"] is None

    staff.user_permissions.add(Permission.objects.get(codename="view_personal_data"))
    staff = type(staff).objects.get(pk=staff.pk)
    client.force_login(staff)
    assert client.get(f"{BASE}/{member.number}/details").json()["email"] == "ann@example.com"
