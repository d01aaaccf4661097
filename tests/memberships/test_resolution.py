"""Key resolution: membership number, then active card, then alternate id; ambiguity and merges."""

from datetime import timedelta

import pytest
from django.utils import timezone

from memberships.errors import AmbiguousKey, MembershipNotFound
from memberships.models import Card
from memberships.selectors import resolve_membership
from tests.memberships.conftest import BASE, assert_refused
from tests.memberships.factories import AlternateIdFactory, CardFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def test_a_key_resolves_by_membership_number_active_card_and_alternate_id(api):
    member = MembershipFactory()
    CardFactory(membership=member, number="700000000001")
    AlternateIdFactory(membership=member, type="crm", value="CRM-9")
    for key in (member.number, "700000000001", "CRM-9"):
        response = api.get(f"{BASE}/{key}/details")
        assert response.status_code == 200, key
        assert response.json()["membershipNumber"] == member.number


def test_an_unknown_key_is_a_404_membership_not_found(api):
    assert_refused(api.get(f"{BASE}/nobody/details"), 404, "membership_not_found")


def test_an_inactive_or_expired_or_not_yet_valid_card_does_not_resolve():
    today = timezone.localdate()
    CardFactory(number="700000000002", status=Card.Status.INACTIVE)
    CardFactory(number="700000000003", valid_until=today - timedelta(days=1))
    CardFactory(number="700000000004", valid_from=today + timedelta(days=1))
    valid = CardFactory(number="700000000005", valid_from=today, valid_until=today)
    for number in ("700000000002", "700000000003", "700000000004"):
        with pytest.raises(MembershipNotFound):
            resolve_membership(number)
    assert resolve_membership("700000000005") == valid.membership


def test_a_key_matching_two_memberships_is_a_409_ambiguous_key(api):
    first = MembershipFactory()
    CardFactory(number=first.number)  # another member's card carries the first one's number
    assert_refused(api.get(f"{BASE}/{first.number}/details"), 409, "ambiguous_key")

    AlternateIdFactory(type="crm", value="SHARED")
    AlternateIdFactory(type="shop", value="SHARED")
    assert_refused(api.get(f"{BASE}/SHARED/details"), 409, "ambiguous_key")


def test_matches_that_all_lead_to_one_membership_are_not_ambiguous():
    member = MembershipFactory()
    CardFactory(membership=member, number="X-700")
    AlternateIdFactory(membership=member, type="crm", value="X-700")
    AlternateIdFactory(membership=member, type="shop", value="X-700")
    assert resolve_membership("X-700") == member


def test_a_merged_membership_resolves_to_its_survivor(api):
    survivor = MembershipFactory()
    merged = MembershipFactory(status="merged", merged_into=survivor)
    assert resolve_membership(merged.number) == survivor
    assert resolve_membership(merged.number, follow_merges=False) == merged
    assert api.get(f"{BASE}/{merged.number}/accounts").status_code == 200
    # The details alone show the merged membership itself, naming its survivor.
    body = api.get(f"{BASE}/{merged.number}/details").json()
    assert (body["membershipNumber"], body["mergedInto"]) == (merged.number, survivor.number)


@pytest.mark.parametrize("key", ["a" * 101, "tab\tkey", " "])
def test_unusable_keys_are_not_found_rather_than_errors(key):
    with pytest.raises(MembershipNotFound):
        resolve_membership(key)


def test_resolution_takes_one_query_and_a_merged_key_one_more(django_assert_num_queries):
    member = MembershipFactory()
    CardFactory(membership=member, number="700000000009")
    with django_assert_num_queries(1):
        assert resolve_membership("700000000009") == member
    merged = MembershipFactory(status="merged", merged_into=member)
    with django_assert_num_queries(2):
        assert resolve_membership(merged.number) == member


def test_ambiguity_is_reported_by_the_resolver_to_every_app():
    AlternateIdFactory(type="a", value="dup")
    AlternateIdFactory(type="b", value="dup")
    with pytest.raises(AmbiguousKey):
        resolve_membership("dup")
