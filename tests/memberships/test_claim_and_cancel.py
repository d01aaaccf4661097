"""Anonymous memberships, POST /memberships/{key}/claim and POST /memberships/{key}/cancel."""

import pytest

from loyalty.actors import Actor
from loyalty.errors import Conflict
from loyalty.models import AuditEntry, Event, Program
from memberships import hooks
from memberships.errors import MembershipNotFound
from memberships.models import Card, Membership
from memberships.services import create_anonymous_membership, reactivate_membership, resolve_or_create_anonymous
from tests.memberships.conftest import BASE, assert_refused, counts, enroll_body
from tests.memberships.factories import AnonymousMembershipFactory, CardFactory, MembershipFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.for_system("tests")


# Anonymous memberships ------------------------------------------------------------------------


def test_a_card_handed_out_unregistered_becomes_an_anonymous_membership():
    membership = create_anonymous_membership(card_number="400000000001", actor=ACTOR)
    assert membership.status == "anonymous"
    assert membership.email == "" and not membership.has_identity
    assert membership.cards.get().number == "400000000001"
    assert Event.objects.filter(type="membership.anonymous_created", membership_number=membership.number).exists()


def test_an_unknown_card_in_a_transaction_creates_an_anonymous_membership_when_the_program_says_so():
    Program.objects.update(anonymous_on_unknown_card=True)
    first = resolve_or_create_anonymous("400000000002", actor=ACTOR)
    again = resolve_or_create_anonymous("400000000002", actor=ACTOR)
    assert first == again and first.status == "anonymous"
    assert Membership.objects.count() == 1


def test_with_the_setting_off_an_unknown_card_stays_unknown():
    Program.objects.update(anonymous_on_unknown_card=False)
    with pytest.raises(MembershipNotFound):
        resolve_or_create_anonymous("400000000003", actor=ACTOR)
    assert Membership.objects.count() == 0


def test_a_deactivated_card_does_not_come_back_as_an_anonymous_membership():
    Program.objects.update(anonymous_on_unknown_card=True)
    CardFactory(number="400000000004", status="inactive")
    with pytest.raises(MembershipNotFound):
        resolve_or_create_anonymous("400000000004", actor=ACTOR)
    assert Membership.objects.count() == 1  # the card's original holder only


# Claim ----------------------------------------------------------------------------------------


def test_claiming_attaches_identity_and_consents_and_activates(api):
    anonymous = create_anonymous_membership(card_number="400000000010", actor=ACTOR)
    response = api.post(
        f"{BASE}/400000000010/claim",
        {**enroll_body(), "phone": "0612345678", "consents": {"marketing": True, "source": "store"}},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["membershipNumber"] == anonymous.number
    assert body["status"] == "active"
    assert body["email"] == "ann1@example.com"
    assert body["consents"]["marketing"] is True and body["consents"]["source"] == "store"
    assert body["claimedAt"]
    event = Event.objects.get(type="membership.claimed")
    assert event.payload["mergedInto"] is None
    assert AuditEntry.objects.get(action="membership.claimed").changes["status"] == ["anonymous", "active"]


def test_claiming_into_an_existing_membership_merges_the_anonymous_one_into_it(api, no_hooks):
    mine = MembershipFactory()
    anonymous = create_anonymous_membership(card_number="400000000011", actor=ACTOR)
    response = api.post(f"{BASE}/400000000011/claim", {"membershipKey": mine.number}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["membershipNumber"] == mine.number
    anonymous.refresh_from_db()
    assert anonymous.status == "merged" and anonymous.merged_into == mine
    assert Card.objects.get(number="400000000011").membership == mine
    assert api.get(f"{BASE}/400000000011/details").json()["membershipNumber"] == mine.number
    assert Event.objects.get(type="membership.claimed").payload["mergedInto"] == mine.number
    assert Event.objects.filter(type="membership.merged").count() == 1


def test_a_claimed_membership_cannot_be_claimed_again(api):
    member = MembershipFactory()
    before = counts()
    assert_refused(api.post(f"{BASE}/{member.number}/claim", enroll_body(), format="json"), 409, "not_anonymous")
    assert counts() == before


def test_a_claim_needs_identity_or_a_membership_key_but_not_both(api):
    anonymous = AnonymousMembershipFactory()
    mine = MembershipFactory()
    before = counts()
    url = f"{BASE}/{anonymous.number}/claim"
    assert_refused(api.post(url, {}, format="json"), 400, "validation_error")
    assert_refused(api.post(url, {"firstName": "Ann"}, format="json"), 400, "validation_error")
    assert_refused(
        api.post(url, {**enroll_body(), "membershipKey": mine.number}, format="json"), 400, "validation_error"
    )
    assert_refused(api.post(url, {**enroll_body(), "email": "nope"}, format="json"), 400, "validation_error")
    assert counts() == before


def test_claiming_into_oneself_or_into_a_cancelled_membership_is_refused(api):
    anonymous = AnonymousMembershipFactory()
    CardFactory(membership=anonymous, number="400000000012")
    cancelled = MembershipFactory(status="cancelled")
    before = counts()
    url = f"{BASE}/{anonymous.number}/claim"
    assert_refused(api.post(url, {"membershipKey": "400000000012"}, format="json"), 409, "merge_into_self")
    assert_refused(api.post(url, {"membershipKey": cancelled.number}, format="json"), 409, "invalid_merge")
    assert counts() == before
    assert Membership.objects.get(pk=anonymous.pk).status == "anonymous"


def test_a_claim_with_an_address_another_member_holds_is_refused_under_unique_email(api):
    Program.objects.update(unique_email=True)
    MembershipFactory(email="ann1@example.com")
    anonymous = AnonymousMembershipFactory()
    before = counts()
    assert_refused(api.post(f"{BASE}/{anonymous.number}/claim", enroll_body(), format="json"), 409, "email_taken")
    assert counts() == before


# Cancel ---------------------------------------------------------------------------------------


def test_cancel_deactivates_cards_keeps_history_and_runs_the_cancel_hooks(api, no_hooks):
    seen = []

    def hook(membership, actor):
        seen.append((membership.number, membership.status, membership.cancel_reason))

    number = api.post(BASE, enroll_body(cardNumber="400000000020"), format="json").json()["membershipNumber"]
    api.post(f"{BASE}/{number}/remarks", {"text": "Wants to leave"}, format="json")
    hooks.register_cancel_hook(hook)
    try:
        response = api.post(f"{BASE}/{number}/cancel", {"reason": "Moved abroad"}, format="json")
    finally:
        hooks.unregister_cancel_hook(hook)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["cancelReason"] == "Moved abroad" and body["cancelledAt"]
    assert seen == [(number, "cancelled", "Moved abroad")]
    card = Card.objects.get(number="400000000020")
    assert card.status == "inactive" and card.deactivation_reason == "membership_cancelled"
    assert api.get(f"{BASE}/{number}/remarks").json()["count"] == 1
    assert_refused(api.get(f"{BASE}/400000000020/details"), 404, "membership_not_found")
    assert api.get(f"{BASE}/{number}/details").json()["status"] == "cancelled"
    assert Event.objects.get(type="membership.cancelled").payload["cardsDeactivated"] == ["400000000020"]
    assert AuditEntry.objects.get(action="membership.cancelled").changes["status"] == ["active", "cancelled"]


def test_a_cancelled_membership_cannot_be_cancelled_again_or_changed(api):
    member = MembershipFactory(status="cancelled")
    before = counts()
    assert_refused(
        api.post(f"{BASE}/{member.number}/cancel", {"reason": "x"}, format="json"), 409, "membership_not_active"
    )
    assert_refused(
        api.put(f"{BASE}/{member.number}/details", {"firstName": "X"}, format="json"), 409, "membership_not_active"
    )
    assert counts() == before


def test_cancel_needs_a_reason(api):
    member = MembershipFactory()
    before = counts()
    assert_refused(api.post(f"{BASE}/{member.number}/cancel", {}, format="json"), 400, "validation_error")
    assert_refused(api.post(f"{BASE}/{member.number}/cancel", {"reason": ""}, format="json"), 400, "validation_error")
    assert counts() == before


def test_a_cancel_hook_that_refuses_undoes_the_cancel(api, no_hooks):
    def refuse(membership, actor):
        raise Conflict("Open redemptions.", code="ledger_refused")

    member = MembershipFactory()
    CardFactory(membership=member)
    hooks.register_cancel_hook(refuse)
    try:
        before = counts()
        response = api.post(f"{BASE}/{member.number}/cancel", {"reason": "x"}, format="json")
    finally:
        hooks.unregister_cancel_hook(refuse)
    assert_refused(response, 409, "ledger_refused")
    assert counts() == before
    assert Membership.objects.get(pk=member.pk).status == "active"
    assert Card.objects.get().status == "active"


def test_reactivation_reopens_a_cancelled_membership_with_the_cards_the_cancel_took(api, no_hooks):
    number = api.post(BASE, enroll_body(cardNumber="400000000021"), format="json").json()["membershipNumber"]
    api.delete(f"{BASE}/card/400000000021")
    api.post(BASE, enroll_body(2), format="json")
    member = Membership.objects.get(number=number)
    CardFactory(membership=member, number="400000000022")
    api.post(f"{BASE}/{number}/cancel", {"reason": "x"}, format="json")
    reactivate_membership(membership=member, actor=ACTOR)
    member.refresh_from_db()
    assert member.status == "active" and member.cancelled_at is None
    assert Card.objects.get(number="400000000022").status == "active"
    assert Card.objects.get(number="400000000021").status == "inactive"  # deleted before: stays deleted
    assert Event.objects.filter(type="membership.reactivated").count() == 1
