"""Races decided by the database (PostgreSQL, real threads, each with its own connection)."""

import pytest
from rest_framework.test import APIClient

from loyalty.actors import Actor
from loyalty.models import Program
from memberships.models import AlternateId, Card, Membership
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
