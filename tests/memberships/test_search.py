"""GET /memberships: filters, ordering, pagination, and a constant number of queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loyalty.models import MembershipType
from tests.factories import TierFactory
from tests.memberships.conftest import BASE, assert_refused
from tests.memberships.factories import AlternateIdFactory, CardFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["membershipNumber"] for row in response.json()["results"]]


def test_search_by_name_matches_the_start_of_first_or_last_name_case_insensitively(api):
    ann = MembershipFactory(first_name="Ann", last_name="Smith")
    bob = MembershipFactory(first_name="Bob", last_name="Annenberg")
    MembershipFactory(first_name="Carl", last_name="Jones")
    assert set(numbers(api.get(BASE, {"name": "ann"}))) == {ann.number, bob.number}
    assert numbers(api.get(BASE, {"name": "Ann Smi"})) == [ann.number]
    assert numbers(api.get(BASE, {"name": "smith ann"})) == [ann.number]
    assert numbers(api.get(BASE, {"name": "mith"})) == []


def test_search_by_email_phone_card_and_alternate_id(api):
    member = MembershipFactory(email="find@example.com", phone="+31611112222")
    other = MembershipFactory()
    CardFactory(membership=member, number="800000000001")
    CardFactory(membership=other, number="800000000002", status="inactive")
    AlternateIdFactory(membership=member, type="crm", value="F-1")
    AlternateIdFactory(membership=other, type="shop", value="F-1")
    assert numbers(api.get(BASE, {"email": "FIND@example.com"})) == [member.number]
    assert numbers(api.get(BASE, {"phone": "+31 6 1111 2222"})) == [member.number]
    assert numbers(api.get(BASE, {"phone": "garbage"})) == []
    assert numbers(api.get(BASE, {"card": "800000000001"})) == [member.number]
    assert numbers(api.get(BASE, {"card": "800000000002"})) == [other.number]  # former holders too
    assert set(numbers(api.get(BASE, {"alternateId": "F-1"}))) == {member.number, other.number}
    assert numbers(api.get(BASE, {"alternateId": "F-1", "alternateIdType": "crm"})) == [member.number]


def test_search_by_status_tier_type_and_enrollment_range(api, business_type):
    gold = TierFactory(key="gold")
    now = timezone.now()
    old = MembershipFactory(enrolled_at=now - timedelta(days=400), tier=gold)
    new = MembershipFactory(enrolled_at=now - timedelta(days=1), membership_type=business_type)
    blocked = MembershipFactory(status="blocked", enrolled_at=now - timedelta(days=2))
    assert numbers(api.get(BASE, {"status": "blocked"})) == [blocked.number]
    assert set(numbers(api.get(BASE, {"status": ["blocked", "active"]}))) == {old.number, new.number, blocked.number}
    assert numbers(api.get(BASE, {"tier": "gold"})) == [old.number]
    assert numbers(api.get(BASE, {"membershipType": "business"})) == [new.number]
    since = (now - timedelta(days=30)).isoformat()
    assert numbers(api.get(BASE, {"enrolledFrom": since})) == [new.number, blocked.number]
    assert numbers(api.get(BASE, {"enrolledUntil": since})) == [old.number]


def test_results_are_newest_first_and_can_be_ordered(api):
    now = timezone.now()
    a = MembershipFactory(last_name="Alpha", enrolled_at=now - timedelta(days=3))
    b = MembershipFactory(last_name="Bravo", enrolled_at=now - timedelta(days=1))
    c = MembershipFactory(last_name="Charlie", enrolled_at=now - timedelta(days=2))
    assert numbers(api.get(BASE)) == [b.number, c.number, a.number]
    assert numbers(api.get(BASE, {"ordering": "lastName"})) == [a.number, b.number, c.number]
    assert numbers(api.get(BASE, {"ordering": "-lastName"})) == [c.number, b.number, a.number]
    assert numbers(api.get(BASE, {"ordering": "enrolledAt"})) == [a.number, c.number, b.number]


def test_results_are_paginated_with_a_count(api):
    for _ in range(5):
        MembershipFactory()
    body = api.get(BASE, {"limit": 2, "offset": 2}).json()
    assert body["count"] == 5
    assert len(body["results"]) == 2
    assert body["next"] and body["previous"]
    last = api.get(BASE, {"limit": 2, "offset": 4}).json()  # a page that is not full tells the count
    assert last["count"] == 5 and len(last["results"]) == 1 and last["next"] is None
    beyond = api.get(BASE, {"limit": 2, "offset": 10}).json()
    assert beyond["count"] == 5 and beyond["results"] == []


def test_a_targeted_search_takes_one_query_after_authentication(api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    member = MembershipFactory(email="one@example.com")
    api.get(BASE)
    with CaptureQueriesContext(connection) as captured:
        assert numbers(api.get(BASE, {"email": "one@example.com"})) == [member.number]
    membership_queries = [q for q in captured if "memberships_membership" in q["sql"]]
    assert len(membership_queries) == 1  # no COUNT for a page that is not full


@pytest.mark.parametrize(
    "query",
    [{"colour": "red"}, {"status": "sleeping"}, {"enrolledFrom": "yesterday"}, {"ordering": "password"}],
)
def test_unknown_parameters_and_bad_values_are_400(api, query):
    assert_refused(api.get(BASE, query), 400, "validation_error")


def test_a_list_page_takes_the_same_number_of_queries_for_1_and_20_rows(api):
    gold = TierFactory(key="gold")
    MembershipFactory(tier=gold)
    api.get(BASE)  # warm up: the API key's last-use stamp is written once a minute

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(BASE, {"limit": 50}).status_code == 200
        return len(captured)

    one = queries()
    for index in range(19):
        MembershipFactory(tier=gold if index % 2 else None, membership_type=MembershipType.objects.get(key="consumer"))
    assert api.get(BASE).json()["count"] == 20
    assert queries() == one


def test_every_list_endpoint_takes_the_same_number_of_queries_for_1_and_20_rows(api, business_type):
    from memberships.models import LegalEntity
    from tests.memberships.factories import LegalEntityFactory, RemarkFactory

    member = MembershipFactory()
    entity: LegalEntity = LegalEntityFactory()
    MembershipFactory(legal_entity=entity)
    user = MembershipFactory(legal_entity=entity)
    CardFactory(membership=member)
    RemarkFactory(membership=member)
    CardFactory(membership=None, legal_entity=entity)
    urls = [
        f"{BASE}/{member.number}/cards",
        f"{BASE}/{member.number}/remarks",
        f"{BASE}/{user.number}/legalentity/cards",
    ]
    api.get(urls[0])

    def queries(url) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = api.get(url)
            assert response.status_code == 200
        return len(captured)

    single = {url: queries(url) for url in urls}
    for _ in range(19):
        CardFactory(membership=member)
        RemarkFactory(membership=member)
        CardFactory(membership=None, legal_entity=entity)
    for url in urls:
        assert api.get(url).json()["count"] == 20
        assert queries(url) == single[url], url


def test_the_filter_set_copies_only_the_filters_a_request_names():
    from django.http import QueryDict

    from memberships.filters import MembershipFilter

    assert set(MembershipFilter().filters) == set(MembershipFilter.base_filters)  # unbound: all (docs, schema)
    bound = MembershipFilter(QueryDict("email=a@b.nl&status=active&status=blocked"))
    assert set(bound.filters) == {"email", "status"}
    assert bound.is_valid()


def test_the_admin_search_finds_the_start_of_an_e_mail_address_and_a_phone_number_as_typed():
    from memberships.models import Membership
    from memberships.selectors import staff_search

    anna = MembershipFactory(first_name="Zed", last_name="Zed", email="anna.smit@example.com", phone="+31611112222")
    MembershipFactory(first_name="Zoe", last_name="Zoe", email="bert@example.com")

    def found(term: str) -> list[str]:
        return sorted(m.number for m in staff_search(Membership.objects.all(), term))

    assert found("ANNA.SM") == [anna.number]  # the start of the address, in any case
    assert found("+31 6 1111 2222") == [anna.number]  # spaces as a person types them
    assert found("0031611112222") == [anna.number]
    assert found("an") == []  # two letters of an address are too few to search by
    assert found("smit@") == []  # the start, not any part
