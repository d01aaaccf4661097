"""Races decided by the database (PostgreSQL, real threads, each with its own connection)."""

import pytest
from rest_framework.test import APIClient

from loyalty.actors import Actor
from loyalty.models import Program
from memberships.errors import AmbiguousKey
from memberships.models import AlternateId, Card, KeyClaim, Membership
from memberships.selectors import resolve_membership
from memberships.services import common, resolve_or_create_anonymous
from tests.conftest import run_in_threads
from tests.memberships.conftest import BASE, enroll_body
from tests.memberships.factories import MembershipFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
THREADS = 8


@pytest.fixture
def client_factory(make_key):
    raw = make_key()

    def make() -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
        return client

    return make


def enroll_all(client_factory, body_of) -> list:
    responses = run_in_threads(THREADS, lambda i: client_factory().post(BASE, body_of(i), format="json"))
    for response in responses:
        assert not isinstance(response, Exception), response
    return responses


def outcome(responses) -> list[tuple[int, str]]:
    return sorted((r.status_code, r.json().get("code", "")) for r in responses)


def test_concurrent_enrollments_with_one_card_create_exactly_one_membership(client_factory):
    responses = enroll_all(client_factory, lambda i: enroll_body(i, cardNumber="300000000001"))
    assert outcome(responses) == [(201, "")] + [(409, "card_taken")] * (THREADS - 1)
    assert Membership.objects.count() == 1
    assert Card.objects.get(number="300000000001").membership == Membership.objects.get()


def test_concurrent_enrollments_with_one_alternate_id_create_exactly_one_membership(client_factory):
    body = lambda i: enroll_body(i, alternateIds=[{"type": "crm", "value": "RACE-1"}])  # noqa: E731
    responses = enroll_all(client_factory, body)
    assert outcome(responses) == [(201, "")] + [(409, "alternate_id_taken")] * (THREADS - 1)
    assert Membership.objects.count() == 1
    assert AlternateId.objects.count() == 1


def test_the_database_not_the_pre_check_decides_the_race(client_factory, monkeypatch):
    """With the friendly pre-checks switched off every thread reaches the insert: still one winner."""
    monkeypatch.setattr(common, "ensure_card_free", lambda number: None)
    monkeypatch.setattr(common, "ensure_alternate_id_free", lambda type_, value: None)
    responses = enroll_all(
        client_factory,
        lambda i: enroll_body(i, cardNumber="300000000002", alternateIds=[{"type": "crm", "value": "RACE-2"}]),
    )
    assert [s for s, _ in outcome(responses)].count(201) == 1
    assert {code for _, code in outcome(responses)} - {""} <= {"card_taken", "alternate_id_taken"}
    assert Membership.objects.count() == 1


def test_concurrent_enrollments_with_one_email_create_one_when_the_program_requires_unique_addresses(
    client_factory,
):
    Program.current()
    Program.objects.update(unique_email=True)
    responses = enroll_all(client_factory, lambda i: {**enroll_body(i), "email": "same@example.com"})
    assert outcome(responses) == [(201, "")] + [(409, "email_taken")] * (THREADS - 1)
    assert Membership.objects.count() == 1


def test_concurrent_transactions_for_one_unknown_card_create_one_anonymous_membership():
    Program.current()
    Program.objects.update(anonymous_on_unknown_card=True)
    actor = Actor.for_system("tests")
    results = run_in_threads(THREADS, lambda i: resolve_or_create_anonymous("300000000003", actor=actor).pk)
    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == 1
    assert Membership.objects.count() == 1


def test_crossing_merges_do_not_deadlock_and_exactly_one_wins(client_factory):
    a, b = MembershipFactory(), MembershipFactory()
    bodies = [{"sourceKey": a.number, "targetKey": b.number}, {"sourceKey": b.number, "targetKey": a.number}]
    responses = run_in_threads(2, lambda i: client_factory().post(f"{BASE}/merge", bodies[i], format="json"))
    assert outcome(responses) == [(200, ""), (409, "invalid_merge")]
    statuses = sorted(Membership.objects.values_list("status", flat=True))
    assert statuses == ["active", "merged"]


def test_one_value_as_card_of_one_and_alternate_id_of_another_concurrently_makes_one_member(client_factory):
    """One key space: a card number and an alternate id value are one value; of two concurrent
    enrollments that give it to two members exactly one succeeds, whichever form wins."""
    for round_ in range(4):
        value = f"30000000010{round_}"
        bodies = [
            enroll_body(2 * round_, cardNumber=value),
            enroll_body(2 * round_ + 1, alternateIds=[{"type": "crm", "value": value}]),
        ]
        responses = run_in_threads(2, lambda i, bodies=bodies: client_factory().post(BASE, bodies[i], format="json"))
        assert outcome(responses) == [(201, ""), (409, "key_taken")]
        winner = next(r.json()["membershipNumber"] for r in responses if r.status_code == 201)
        assert KeyClaim.objects.get(value=value).membership.number == winner
        assert resolve_membership(value).number == winner  # never ambiguous_key


def concurrent_alternate_ids(client_factory, value: str) -> list:
    """Each of THREADS members adds `value` under a type of its own, all at once."""
    members = [MembershipFactory() for _ in range(THREADS)]
    return run_in_threads(
        THREADS,
        lambda i: client_factory().post(
            f"{BASE}/{members[i].number}/alternateids", {"type": f"t{i}", "value": value}, format="json"
        ),
    )


def test_concurrent_alternate_ids_with_one_value_for_different_members_leave_one(client_factory):
    responses = concurrent_alternate_ids(client_factory, "RACE-KEY")
    assert outcome(responses) == [(201, "")] + [(409, "key_taken")] * (THREADS - 1)
    assert AlternateId.objects.filter(value="RACE-KEY").count() == 1
    assert resolve_membership("RACE-KEY") == AlternateId.objects.get(value="RACE-KEY").membership


def test_without_the_claim_the_same_race_gives_one_value_to_every_member(client_factory, monkeypatch):
    """Negative control: with the key space's claim switched off, nothing else stops the race (the
    alternate ids differ by type), every member gets the value and it answers ambiguous_key."""
    monkeypatch.setattr(common, "claim_key", lambda value, **holder: True)
    responses = concurrent_alternate_ids(client_factory, "RACE-OPEN")
    assert outcome(responses) == [(201, "")] * THREADS
    with pytest.raises(AmbiguousKey):
        resolve_membership("RACE-OPEN")
