"""Cards (list, delete = deactivate), alternate ids (add, delete) and remarks (list, add)."""

import pytest

from loyalty.models import AuditEntry, Event
from memberships.models import AlternateId, Card, Remark
from memberships.selectors import resolve_membership
from tests.memberships.conftest import BASE, assert_refused, counts
from tests.memberships.factories import AlternateIdFactory, CardFactory, MembershipFactory, RemarkFactory

pytestmark = pytest.mark.django_db


# Cards ----------------------------------------------------------------------------------------


def test_the_cards_list_shows_active_and_deactivated_cards_newest_first(api):
    member = MembershipFactory()
    old = CardFactory(membership=member, number="900000000001", status="inactive", deactivation_reason="deleted")
    new = CardFactory(membership=member, number="900000000002")
    CardFactory(number="900000000003")  # someone else's
    body = api.get(f"{BASE}/{member.number}/cards").json()
    assert body["count"] == 2
    assert [c["number"] for c in body["results"]] == [new.number, old.number]
    assert body["results"][1]["status"] == "inactive"
    assert body["results"][0]["type"] == "physical"


def test_deleting_a_card_deactivates_it_keeps_it_and_it_no_longer_resolves(api):
    member = MembershipFactory()
    card = CardFactory(membership=member, number="900000000010")
    assert api.get(f"{BASE}/900000000010/details").status_code == 200
    response = api.delete(f"{BASE}/card/900000000010")
    assert response.status_code == 204
    card.refresh_from_db()
    assert card.status == "inactive" and card.deactivated_at and card.deactivation_reason == "deleted"
    assert_refused(api.get(f"{BASE}/900000000010/details"), 404, "membership_not_found")
    assert api.get(f"{BASE}/{member.number}/cards").json()["count"] == 1
    assert AuditEntry.objects.filter(action="card.deleted", object_id=str(card.pk)).count() == 1
    assert Event.objects.get(type="card.deleted").payload["cardNumber"] == "900000000010"


def test_deleting_an_inactive_card_again_changes_nothing(api):
    CardFactory(number="900000000011", status="inactive")
    before = counts()
    assert api.delete(f"{BASE}/card/900000000011").status_code == 204
    assert counts() == before


def test_deleting_an_unknown_card_is_a_404_card_not_found(api):
    assert_refused(api.delete(f"{BASE}/card/nosuchcard"), 404, "card_not_found")


def test_words_of_the_api_paths_cannot_become_card_numbers_or_alternate_ids(api):
    """/memberships/card/{key} would shadow /memberships/{key}/... for a key named "card"."""
    member = MembershipFactory()
    before = counts()
    for value in ("card", "Card", "merge", "type"):
        body = {"type": "nick", "value": value}
        assert_refused(api.post(f"{BASE}/{member.number}/alternateids", body, format="json"), 400, "validation_error")
    assert_refused(
        api.post(BASE, {"firstName": "A", "lastName": "B", "email": "a@b.nl", "cardNumber": "card"}, format="json"),
        400,
        "validation_error",
    )
    assert counts() == before


# Alternate ids --------------------------------------------------------------------------------


def test_adding_an_alternate_id_links_it_and_it_resolves(api):
    member = MembershipFactory()
    response = api.post(f"{BASE}/{member.number}/alternateids", {"type": "crm", "value": "A-1"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["type"] == "crm" and response.json()["value"] == "A-1"
    assert resolve_membership("A-1") == member
    assert Event.objects.get(type="alternate_id.added").payload == {
        "membershipNumber": member.number,
        "type": "crm",
        "value": "A-1",
    }
    assert AuditEntry.objects.filter(action="alternate_id.added", object_id=str(member.pk)).exists()


def test_an_alternate_id_taken_by_anyone_is_refused(api):
    AlternateIdFactory(type="crm", value="A-2")
    member = MembershipFactory()
    before = counts()
    response = api.post(f"{BASE}/{member.number}/alternateids", {"type": "crm", "value": "A-2"}, format="json")
    assert_refused(response, 409, "alternate_id_taken")
    assert counts() == before


@pytest.mark.parametrize(
    "body",
    [{"type": "crm"}, {"type": "Bad Type", "value": "x"}, {"type": "crm", "value": "a/b"}, {"type": "", "value": "x"}],
)
def test_a_malformed_alternate_id_is_a_400(api, body):
    member = MembershipFactory()
    before = counts()
    assert_refused(api.post(f"{BASE}/{member.number}/alternateids", body, format="json"), 400, "validation_error")
    assert counts() == before


def test_a_cancelled_membership_takes_no_alternate_id(api):
    member = MembershipFactory(status="cancelled")
    before = counts()
    response = api.post(f"{BASE}/{member.number}/alternateids", {"type": "crm", "value": "A-3"}, format="json")
    assert_refused(response, 409, "membership_not_active")
    assert counts() == before


def test_deleting_an_alternate_id_unlinks_it(api):
    member = MembershipFactory()
    AlternateIdFactory(membership=member, type="crm", value="A-4")
    response = api.delete(f"{BASE}/{member.number}/alternateids/A-4")
    assert response.status_code == 204
    assert not AlternateId.objects.filter(value="A-4").exists()
    assert Event.objects.filter(type="alternate_id.deleted").count() == 1
    assert AuditEntry.objects.get(action="alternate_id.deleted").changes == {"alternate_id": ["crm:A-4", None]}


def test_deleting_a_value_held_under_two_types_needs_the_type(api):
    member = MembershipFactory()
    AlternateIdFactory(membership=member, type="crm", value="A-5")
    AlternateIdFactory(membership=member, type="shop", value="A-5")
    before = counts()
    assert_refused(api.delete(f"{BASE}/{member.number}/alternateids/A-5"), 409, "ambiguous_alternate_id")
    assert counts() == before
    assert api.delete(f"{BASE}/{member.number}/alternateids/A-5?type=shop").status_code == 204
    assert list(AlternateId.objects.values_list("type", flat=True)) == ["crm"]


def test_deleting_an_alternate_id_the_membership_does_not_have_is_a_404(api):
    member = MembershipFactory()
    AlternateIdFactory(type="crm", value="A-6")  # someone else's
    before = counts()
    assert_refused(api.delete(f"{BASE}/{member.number}/alternateids/A-6"), 404, "alternate_id_not_found")
    assert counts() == before


# Remarks --------------------------------------------------------------------------------------


def test_remarks_are_listed_newest_first(api):
    member = MembershipFactory()
    first = RemarkFactory(membership=member, text="first")
    second = RemarkFactory(membership=member, text="second")
    RemarkFactory(text="someone else's")
    body = api.get(f"{BASE}/{member.number}/remarks").json()
    assert [r["id"] for r in body["results"]] == [second.pk, first.pk]
    assert body["results"][0]["author"] == "user:agent"


def test_a_remark_added_through_the_api_names_its_author_and_is_audited(api):
    member = MembershipFactory()
    response = api.post(f"{BASE}/{member.number}/remarks", {"text": "Called about a lost card."}, format="json")
    assert response.status_code == 201, response.content
    remark = Remark.objects.get()
    assert remark.text == "Called about a lost card."
    assert remark.author.startswith("client:")
    assert response.json()["author"] == remark.author
    assert AuditEntry.objects.filter(action="remark.added", object_id=str(member.pk)).count() == 1
    assert Event.objects.get(type="remark.added").payload["remarkId"] == remark.pk


def test_an_empty_remark_is_refused(api):
    member = MembershipFactory()
    before = counts()
    assert_refused(api.post(f"{BASE}/{member.number}/remarks", {"text": ""}, format="json"), 400, "validation_error")
    assert counts() == before


def test_a_cancelled_membership_still_takes_remarks(api):
    member = MembershipFactory(status="cancelled")
    assert api.post(f"{BASE}/{member.number}/remarks", {"text": "Asked why."}, format="json").status_code == 201


def test_the_card_list_of_an_unknown_member_is_a_404(api):
    assert_refused(api.get(f"{BASE}/nobody/cards"), 404, "membership_not_found")
    assert Card.objects.count() == 0
