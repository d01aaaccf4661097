"""Fixtures of the membership tests: a program with a default membership type, and helpers."""

import pytest

from loyalty.models import AuditEntry, Event, MembershipType, Program
from memberships import hooks
from memberships.models import AlternateId, Card, KeyClaim, LegalEntity, Membership, Remark

BASE = "/api/v1/memberships"


@pytest.fixture(autouse=True)
def program(db):
    """The program and its default consumer type, as every deployment has them."""
    program = Program.current()
    MembershipType.objects.get_or_create(key="consumer", defaults={"name": "Consumer", "is_default": True})
    return program


@pytest.fixture
def business_type(db):
    membership_type, _ = MembershipType.objects.get_or_create(
        key="business", defaults={"name": "Business", "is_company": True}
    )
    return membership_type


@pytest.fixture
def no_accounts_provider(monkeypatch):
    """As before the ledger is installed: no accounts provider registered."""
    monkeypatch.setattr(hooks, "_accounts_provider", None)


@pytest.fixture
def no_hooks(monkeypatch):
    """Merge and cancel without the hooks other apps registered (the ledger's, when installed)."""
    monkeypatch.setattr(hooks.merge_hooks, "_hooks", [])
    monkeypatch.setattr(hooks.cancel_hooks, "_hooks", [])


def enroll_body(n: int = 1, **extra) -> dict:
    return {"firstName": "Ann", "lastName": f"Smith{n}", "email": f"ann{n}@example.com", **extra}


def counts() -> dict[str, int]:
    """How many rows of each kind exist: a refused request must leave these unchanged."""
    return {
        "memberships": Membership.objects.count(),
        "cards": Card.objects.count(),
        "alternate_ids": AlternateId.objects.count(),
        "remarks": Remark.objects.count(),
        "legal_entities": LegalEntity.objects.count(),
        "key_claims": KeyClaim.objects.count(),
        "audit": AuditEntry.objects.count(),
        "events": Event.objects.count(),
    }


def assert_refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["detail"]
