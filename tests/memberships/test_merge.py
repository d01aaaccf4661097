"""POST /memberships/merge, end to end, and the merge hook later apps register."""

import pytest

from loyalty.errors import Conflict
from loyalty.models import AuditEntry, Event
from memberships import hooks
from memberships.models import AlternateId, Card, Membership, Remark
from tests.memberships.conftest import BASE, assert_refused, counts, enroll_body
from tests.memberships.factories import CardFactory, MembershipFactory, RemarkFactory

pytestmark = pytest.mark.django_db
MERGE = f"{BASE}/merge"


def test_a_merge_moves_cards_alternate_ids_and_remarks_and_the_source_leads_to_the_target(api):
    source_number = api.post(
        BASE, enroll_body(1, cardNumber="500000000001", alternateIds=[{"type": "crm", "value": "S-1"}]), format="json"
    ).json()["membershipNumber"]
    target_number = api.post(BASE, enroll_body(2, cardNumber="500000000002"), format="json").json()["membershipNumber"]
    api.post(f"{BASE}/{source_number}/remarks", {"text": "Note on the source"}, format="json")

    response = api.post(MERGE, {"sourceKey": "500000000001", "targetKey": target_number}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["membershipNumber"] == target_number

    source = Membership.objects.get(number=source_number)
    target = Membership.objects.get(number=target_number)
    assert source.status == "merged" and source.merged_into == target and source.merged_at
    assert set(Card.objects.filter(membership=target).values_list("number", flat=True)) == {
        "500000000001",
        "500000000002",
    }
    assert AlternateId.objects.get(value="S-1").membership == target
    texts = set(Remark.objects.filter(membership=target).values_list("text", flat=True))
    assert "Note on the source" in texts
    assert f"Membership {source_number} was merged into this one." in texts

    # The source's card and alternate id lead to the target now; its number shows the merged source,
    # which names the target, and every other call with it acts on the target.
    for key in ("500000000001", "S-1"):
        assert api.get(f"{BASE}/{key}/details").json()["membershipNumber"] == target_number
    merged = api.get(f"{BASE}/{source_number}/details").json()
    assert (merged["membershipNumber"], merged["status"], merged["mergedInto"]) == (
        source_number,
        "merged",
        target_number,
    )
    assert merged["alternateIds"] == []
    assert api.get(f"{BASE}/{source_number}/cards").json()["results"][0]["number"] in {
        "500000000001",
        "500000000002",
    }

    event = Event.objects.get(type="membership.merged")
    assert event.membership_number == source_number
    assert event.payload["mergedInto"] == target_number
    assert event.payload["cards"] == ["500000000001"]
    assert AuditEntry.objects.get(action="membership.merged").object_id == str(source.pk)
    assert AuditEntry.objects.get(action="membership.merge_received").object_id == str(target.pk)


def test_details_of_a_merged_membership_fetched_raw_show_merged_into():
    from memberships.serializers import MembershipDetailsOutput

    target = MembershipFactory()
    source = MembershipFactory(status="merged", merged_into=target)
    assert MembershipDetailsOutput(source).data["merged_into"] == target.number


def test_merging_into_itself_is_refused(api):
    member = MembershipFactory()
    CardFactory(membership=member, number="500000000003")
    before = counts()
    response = api.post(MERGE, {"sourceKey": member.number, "targetKey": "500000000003"}, format="json")
    assert_refused(response, 409, "merge_into_self")
    assert counts() == before


@pytest.mark.parametrize("status", ["cancelled", "blocked", "merged"])
@pytest.mark.parametrize("side", ["source", "target"])
def test_cancelled_blocked_or_merged_memberships_cannot_be_merged(api, status, side):
    survivor = MembershipFactory()
    odd = MembershipFactory(status=status, merged_into=survivor if status == "merged" else None)
    other = MembershipFactory()
    CardFactory(membership=other)
    body = {"sourceKey": odd.number, "targetKey": other.number}
    if side == "target":
        body = {"sourceKey": other.number, "targetKey": odd.number}
    before = counts()
    assert_refused(api.post(MERGE, body, format="json"), 409, "invalid_merge")
    assert counts() == before
    assert Card.objects.get().membership == other


def test_unknown_keys_and_missing_fields_are_refused(api):
    member = MembershipFactory()
    before = counts()
    assert_refused(
        api.post(MERGE, {"sourceKey": "nobody", "targetKey": member.number}, format="json"), 404, "membership_not_found"
    )
    assert_refused(api.post(MERGE, {"sourceKey": member.number}, format="json"), 400, "validation_error")
    assert counts() == before


def test_a_merge_chain_stays_one_step_long(api, no_hooks):
    a, b, c = MembershipFactory(), MembershipFactory(), MembershipFactory()
    api.post(MERGE, {"sourceKey": a.number, "targetKey": b.number}, format="json")
    api.post(MERGE, {"sourceKey": b.number, "targetKey": c.number}, format="json")
    assert Membership.objects.get(pk=a.pk).merged_into_id == c.pk
    for merged in (a, b):  # each merged number shows itself, naming the last survivor
        body = api.get(f"{BASE}/{merged.number}/details").json()
        assert (body["membershipNumber"], body["status"], body["mergedInto"]) == (merged.number, "merged", c.number)
    survivor = api.get(f"{BASE}/{c.number}/details").json()
    assert (survivor["status"], survivor["mergedInto"]) == ("active", None)
    # Every other call with a merged number acts on the survivor (here: the details update).
    updated = api.put(f"{BASE}/{a.number}/details", {"lastName": "Moved"}, format="json").json()
    assert (updated["membershipNumber"], updated["lastName"]) == (c.number, "Moved")


def test_merge_hooks_run_inside_the_merge_with_source_target_and_actor(api, no_hooks):
    seen = []

    def hook(source, target, actor):
        seen.append((source.number, source.status, target.number, actor.kind))

    hooks.register_merge_hook(hook)
    try:
        a, b = MembershipFactory(), MembershipFactory()
        api.post(MERGE, {"sourceKey": a.number, "targetKey": b.number}, format="json")
    finally:
        hooks.unregister_merge_hook(hook)
    assert seen == [(a.number, "merged", b.number, "client")]


def test_a_hook_that_refuses_undoes_the_whole_merge(api, no_hooks):
    def refuse(source, target, actor):
        raise Conflict("The ledger says no.", code="ledger_refused")

    hooks.register_merge_hook(refuse)
    try:
        a, b = MembershipFactory(), MembershipFactory()
        CardFactory(membership=a)
        RemarkFactory(membership=a)
        before = counts()
        response = api.post(MERGE, {"sourceKey": a.number, "targetKey": b.number}, format="json")
    finally:
        hooks.unregister_merge_hook(refuse)
    assert_refused(response, 409, "ledger_refused")
    assert counts() == before
    assert Membership.objects.get(pk=a.pk).status == "active"
    assert Card.objects.get().membership == a


def test_registering_a_hook_twice_runs_it_once(no_hooks):
    calls = []

    def hook(source, target, actor):
        calls.append(1)

    hooks.register_merge_hook(hook)
    hooks.register_merge_hook(hook)
    assert len(hooks.merge_hooks) == 1
    hooks.unregister_merge_hook(hook)
    assert len(hooks.merge_hooks) == 0
