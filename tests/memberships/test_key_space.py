"""One key space: a membership number, a card number and an alternate id value never lead to two
members; whatever would make them is refused with 409 `key_taken`, and nothing changes."""

import io
from importlib import import_module
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command

from loyalty.actors import Actor
from memberships import services
from memberships.errors import KeyTaken
from memberships.models import AlternateId, Card, KeyClaim, Membership, MembershipStatus
from memberships.selectors import key_clashes, resolve_membership
from tests.memberships.conftest import BASE, assert_refused, counts, enroll_body
from tests.memberships.factories import (
    AlternateIdFactory,
    CardFactory,
    LegalEntityFactory,
    MembershipFactory,
)

pytestmark = pytest.mark.django_db
ACTOR = Actor.for_system("tests")


def enroll(api, n: int = 1, **extra):
    response = api.post(BASE, enroll_body(n, **extra), format="json")
    assert response.status_code == 201, response.content
    return Membership.objects.get(number=response.json()["membershipNumber"])


def assert_key_taken(response, field: str) -> None:
    assert_refused(response, 409, "key_taken")
    body = response.json()
    assert [(e["field"], e["code"]) for e in body["errors"]] == [(field, "key_taken")]


# Enrollment ---------------------------------------------------------------------------------------


def test_a_card_number_equal_to_another_members_number_is_key_taken_and_the_number_still_resolves(api):
    owner = enroll(api)
    before = counts()
    response = api.post(BASE, enroll_body(2, cardNumber=owner.number), format="json")
    assert_key_taken(response, "cardNumber")
    assert counts() == before
    assert api.get(f"{BASE}/{owner.number}/details").json()["membershipNumber"] == owner.number


@pytest.mark.parametrize(
    "held_as", ["membership number", "active card", "deactivated card", "alternate id of another type"]
)
def test_an_alternate_id_value_another_member_holds_in_any_form_is_key_taken(api, held_as):
    owner = enroll(api, cardNumber="600000000101", alternateIds=[{"type": "crm", "value": "C-101"}])
    value = {
        "membership number": owner.number,
        "active card": "600000000101",
        "deactivated card": "600000000101",
        "alternate id of another type": "C-101",
    }[held_as]
    if held_as == "deactivated card":
        assert api.delete(f"{BASE}/card/600000000101").status_code == 204
    before = counts()
    body = enroll_body(2, alternateIds=[{"type": "crm", "value": "C-free"}, {"type": "shop", "value": value}])
    assert_key_taken(api.post(BASE, body, format="json"), "alternateIds.1.value")
    assert counts() == before


def test_a_card_number_equal_to_another_members_alternate_id_is_key_taken(api):
    enroll(api, alternateIds=[{"type": "shop", "value": "600000000102"}])
    before = counts()
    assert_key_taken(api.post(BASE, enroll_body(2, cardNumber="600000000102"), format="json"), "cardNumber")
    assert counts() == before


def test_one_member_may_use_one_value_as_card_and_alternate_id(api):
    member = enroll(api, cardNumber="600000000103", alternateIds=[{"type": "crm", "value": "600000000103"}])
    assert KeyClaim.objects.get(value="600000000103").membership == member
    assert resolve_membership("600000000103") == member


# Cards and alternate ids of an existing member ----------------------------------------------------


def test_adding_another_members_number_as_alternate_id_is_key_taken(api):
    owner, other = enroll(api), enroll(api, 2)
    before = counts()
    response = api.post(f"{BASE}/{other.number}/alternateids", {"type": "crm", "value": owner.number}, format="json")
    assert_key_taken(response, "value")
    assert counts() == before


def test_a_member_may_take_its_own_number_as_alternate_id_and_card(api):
    member = enroll(api)
    response = api.post(f"{BASE}/{member.number}/alternateids", {"type": "crm", "value": member.number}, format="json")
    assert response.status_code == 201, response.content
    services.issue_card(membership=member, number=member.number, actor=ACTOR)  # the number printed on its card
    assert api.get(f"{BASE}/{member.number}/details").json()["membershipNumber"] == member.number
    assert KeyClaim.objects.filter(value=member.number).count() == 1


def test_issuing_a_card_with_another_members_number_is_key_taken():
    owner, other = MembershipFactory(), MembershipFactory()
    before = counts()
    with pytest.raises(KeyTaken) as refused:
        services.issue_card(membership=other, number=owner.number, actor=ACTOR)
    assert refused.value.errors[0]["field"] == "number"
    assert counts() == before


def test_an_anonymous_card_with_a_members_alternate_id_is_key_taken():
    AlternateIdFactory(type="crm", value="600000000104")
    before = counts()
    with pytest.raises(KeyTaken):
        services.create_anonymous_membership(card_number="600000000104", actor=ACTOR)
    assert counts() == before


def test_a_removed_alternate_id_frees_its_value_unless_the_member_still_uses_it(api):
    first, second = enroll(api), enroll(api, 2)
    api.post(f"{BASE}/{first.number}/alternateids", {"type": "crm", "value": "FREE-1"}, format="json")
    api.post(f"{BASE}/{first.number}/alternateids", {"type": "shop", "value": "FREE-1"}, format="json")
    api.post(f"{BASE}/{first.number}/alternateids", {"type": "crm", "value": first.number}, format="json")

    assert api.delete(f"{BASE}/{first.number}/alternateids/FREE-1?type=crm").status_code == 204
    taken = api.post(f"{BASE}/{second.number}/alternateids", {"type": "x", "value": "FREE-1"}, format="json")
    assert_key_taken(taken, "value")  # still first's, under type shop

    assert api.delete(f"{BASE}/{first.number}/alternateids/FREE-1").status_code == 204
    freed = api.post(f"{BASE}/{second.number}/alternateids", {"type": "x", "value": "FREE-1"}, format="json")
    assert freed.status_code == 201

    assert api.delete(f"{BASE}/{first.number}/alternateids/{first.number}").status_code == 204
    assert KeyClaim.objects.get(value=first.number).membership == first  # its number keeps the claim


# Legal entities -------------------------------------------------------------------------------------


def test_a_legal_entity_card_and_a_members_keys_exclude_each_other(api, business_type):
    entity = LegalEntityFactory(membership_type=business_type)
    user = MembershipFactory(legal_entity=entity)
    AlternateIdFactory(type="crm", value="920000000101")
    before = counts()
    for number in (user.number, "920000000101"):
        response = api.put(f"{BASE}/{user.number}/legalentity/card", {"number": number}, format="json")
        assert_key_taken(response, "number")
    assert counts() == before

    assert (
        api.put(f"{BASE}/{user.number}/legalentity/card", {"number": "920000000102"}, format="json").status_code == 201
    )
    response = api.post(f"{BASE}/{user.number}/alternateids", {"type": "crm", "value": "920000000102"}, format="json")
    assert_key_taken(response, "value")


# Merges ---------------------------------------------------------------------------------------------


def test_a_merge_hands_the_sources_keys_to_the_target(api, no_hooks):
    source = enroll(api, cardNumber="600000000105", alternateIds=[{"type": "crm", "value": "M-1"}])
    target, other = enroll(api, 2), enroll(api, 3)
    merge = {"sourceKey": source.number, "targetKey": target.number}
    assert api.post(f"{BASE}/merge", merge, format="json").status_code == 200
    for value in (source.number, "600000000105", "M-1"):
        assert KeyClaim.objects.get(value=value).membership == target
        response = api.post(f"{BASE}/{other.number}/alternateids", {"type": "y", "value": value}, format="json")
        assert_key_taken(response, "value")
    # The target may use the merged number itself: it leads to the target either way.
    ok = api.post(f"{BASE}/{target.number}/alternateids", {"type": "old", "value": source.number}, format="json")
    assert ok.status_code == 201
    assert resolve_membership(source.number) == target
    assert resolve_membership(source.number, follow_merges=False) == Membership.objects.get(pk=source.pk)


def test_a_merged_members_number_on_its_own_card_leads_to_the_survivor_not_ambiguous_key(api, no_hooks):
    source = enroll(api)
    services.issue_card(membership=source, number=source.number, actor=ACTOR)
    target = enroll(api, 2)
    services.merge_memberships(source=source, target=target, actor=ACTOR)
    details = api.get(f"{BASE}/{source.number}/details")  # the merged membership itself, no ambiguous_key
    assert (details.status_code, details.json()["mergedInto"]) == (200, target.number)
    before = target.remarks.count()
    remark = api.post(f"{BASE}/{source.number}/remarks", {"text": "to the survivor"}, format="json")
    assert remark.status_code == 201
    assert target.remarks.count() == before + 1


# Bulk services --------------------------------------------------------------------------------------


def test_enroll_many_leaves_a_value_of_the_key_space_to_enroll_membership():
    owner = MembershipFactory()
    AlternateIdFactory(membership=owner, type="crm", value="B-1")
    person = lambda n, **extra: {"first_name": "A", "last_name": f"L{n}", "email": f"b{n}@example.com", **extra}  # noqa: E731
    results = services.enroll_many(
        actor=ACTOR,
        members=[
            person(1, card_number=owner.number),  # another member's number
            person(2, alternate_ids=[("shop", "B-1")]),  # another member's value under another type
            person(3, card_number="600000000106"),
            person(4, alternate_ids=[("crm", "600000000106")]),  # the card of the member before
            person(5, card_number="600000000107", alternate_ids=[("crm", "600000000107")]),  # its own twice
        ],
    )
    assert [r is not None for r in results] == [False, False, False, False, True]
    assert KeyClaim.objects.get(value="600000000107").membership.number == results[4]
    assert KeyClaim.objects.get(value=results[4]).membership.number == results[4]


def test_issue_cards_leaves_another_holders_value_to_issue_card_and_takes_the_members_own():
    first, second = MembershipFactory(), MembershipFactory()
    assert services.issue_cards(actor=ACTOR, cards=[{"membership": first, "number": second.number}]) == [None]
    with pytest.raises(KeyTaken):  # what the import then reports for the record
        services.issue_card(membership=first, number=second.number, actor=ACTOR)
    own = services.issue_cards(actor=ACTOR, cards=[{"membership": second, "number": second.number}])
    assert own == [second.number]
    assert KeyClaim.objects.get(value=second.number).membership == second
    assert Card.objects.get(number=second.number).membership == second


# Stored clashes -------------------------------------------------------------------------------------


def stored_clashes():
    """Rows written past the services, as they could be before the key space: three clashes."""
    first, second = MembershipFactory(), MembershipFactory()
    CardFactory(membership=second, number=first.number)
    AlternateIdFactory(membership=first, type="crm", value="DUP")
    AlternateIdFactory(membership=second, type="shop", value="DUP")
    third = MembershipFactory()
    AlternateIdFactory(membership=third, type="crm", value=second.number)
    # Not clashes: a member's own values, an inactive card, a legal entity's card, a merged member's card.
    AlternateIdFactory(membership=first, type="own", value=first.number)
    CardFactory(membership=third, number="OLD-1", status=Card.Status.INACTIVE)
    AlternateIdFactory(membership=first, type="crm", value="OLD-1")
    CardFactory(membership=None, legal_entity=LegalEntityFactory(), number="LE-1")
    AlternateIdFactory(membership=first, type="le", value="LE-1")
    merged = MembershipFactory(status=MembershipStatus.MERGED, merged_into=third)
    CardFactory(membership=third, number=merged.number)
    return first, second, third


def test_find_key_clashes_lists_each_stored_clash_with_its_holders_and_exits_non_zero():
    first, second, third = stored_clashes()
    out = io.StringIO()
    with pytest.raises(CommandError, match="3 value"):
        call_command("find_key_clashes", stdout=out)
    lines = out.getvalue().splitlines()
    assert sorted(line for line in lines if not line.startswith(" ")) == sorted(["DUP", first.number, second.number])
    text = out.getvalue()
    assert f"membership {first.number}: its membership number (membership active)" in text
    assert f"membership {second.number}: a card (active)" in text
    assert f"membership {second.number}: an alternate id of type shop" in text
    assert f"membership {third.number}: an alternate id of type crm" in text
    assert set(key_clashes()) == {"DUP", first.number, second.number}


def test_find_key_clashes_says_so_and_exits_zero_without_clashes():
    MembershipFactory()
    out = io.StringIO()
    call_command("find_key_clashes", stdout=out)
    assert "No key clashes" in out.getvalue()


def test_a_stored_clash_is_still_ambiguous_and_removing_one_side_settles_it(api):
    first, second, _ = stored_clashes()
    assert_refused(api.get(f"{BASE}/DUP/details"), 409, "ambiguous_key")
    holder = KeyClaim.objects.get(value="DUP").membership
    other = second if holder == first else first
    services.delete_alternate_id(membership=holder, value="DUP", actor=ACTOR)
    assert KeyClaim.objects.get(value="DUP").membership == other  # the claim passes to the one still using it
    assert resolve_membership("DUP") == other
    assert "DUP" not in key_clashes()


def test_the_migration_claims_stored_values_in_resolution_order():
    """The data migration's SQL on stored rows with clashes: numbers first, then active cards,
    alternate ids, other cards; the first holder in that order keeps a clashing value."""
    from django.apps import apps
    from django.db import connection

    first, second, third = stored_clashes()
    KeyClaim.objects.all().delete()
    migration = import_module("memberships.migrations.0005_key_claims")
    migration.claim_stored_keys(apps, SimpleNamespace(connection=connection))
    held = dict(KeyClaim.objects.values_list("value", "membership_id"))
    assert held[first.number] == first.pk  # its number beats second's card
    assert held[second.number] == second.pk  # its number beats third's alternate id
    assert held["DUP"] == first.pk  # the older alternate id
    assert held["OLD-1"] == first.pk  # an alternate id beats an inactive card
    assert held["LE-1"] == first.pk  # and a legal entity's card
    merged = Membership.objects.get(status=MembershipStatus.MERGED)
    assert held[merged.number] == third.pk  # a merged number is its survivor's
    assert KeyClaim.objects.count() == len(
        set(Membership.objects.values_list("number", flat=True))
        | set(Card.objects.values_list("number", flat=True))
        | set(AlternateId.objects.values_list("value", flat=True))
    )
