"""GET /memberships/{key}/accounts (the ledger's provider), and the 18 routes in the schema."""

from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from memberships import hooks
from memberships.hooks import AccountSummary
from tests.memberships.conftest import BASE, assert_refused
from tests.memberships.factories import MembershipFactory

pytestmark = pytest.mark.django_db

API_MD_ROUTES = {
    ("GET", "/api/v1/memberships"),
    ("POST", "/api/v1/memberships"),
    ("GET", "/api/v1/memberships/{key}/accounts"),
    ("GET", "/api/v1/memberships/{key}/details"),
    ("PUT", "/api/v1/memberships/{key}/details"),
    ("GET", "/api/v1/memberships/{userId}/legalEntity"),
    ("PUT", "/api/v1/memberships/type/{typeId}/legalEntity"),
    ("POST", "/api/v1/memberships/merge"),
    ("POST", "/api/v1/memberships/{key}/claim"),
    ("POST", "/api/v1/memberships/{userId}/legalentity/cancel"),
    ("POST", "/api/v1/memberships/{key}/cancel"),
    ("POST", "/api/v1/memberships/{key}/alternateids"),
    ("DELETE", "/api/v1/memberships/{key}/alternateids/{alternateId}"),
    ("GET", "/api/v1/memberships/{key}/cards"),
    ("GET", "/api/v1/memberships/{userId}/legalentity/cards"),
    ("PUT", "/api/v1/memberships/{userId}/legalentity/card"),
    ("DELETE", "/api/v1/memberships/card/{key}"),
    ("GET", "/api/v1/memberships/{key}/remarks"),
}


def test_without_a_provider_the_accounts_are_an_empty_list_never_invented(api, no_accounts_provider):
    member = MembershipFactory()
    response = api.get(f"{BASE}/{member.number}/accounts")
    assert response.status_code == 200
    assert response.json() == []


def test_the_registered_provider_answers_the_accounts(api, no_accounts_provider):
    member = MembershipFactory()

    def provider(membership):
        assert membership == member
        return [AccountSummary("points", "Points", True, Decimal("120.00"), Decimal("20.00"), Decimal("100.00"))]

    hooks.register_accounts_provider(provider)
    try:
        body = api.get(f"{BASE}/{member.number}/accounts").json()
    finally:
        hooks.unregister_accounts_provider(provider)
    assert body == [
        {
            "pointType": "points",
            "name": "Points",
            "redeemableType": True,
            "balance": "120.00",
            "blocked": "20.00",
            "redeemable": "100.00",
        }
    ]


def test_a_second_accounts_provider_is_a_configuration_mistake(no_accounts_provider):
    def first(membership):
        return []

    def second(membership):
        return []

    hooks.register_accounts_provider(first)
    try:
        hooks.register_accounts_provider(first)  # the same one again is fine
        with pytest.raises(ImproperlyConfigured):
            hooks.register_accounts_provider(second)
    finally:
        hooks.unregister_accounts_provider(first)


def test_the_accounts_of_an_unknown_key_are_a_404(api):
    assert_refused(api.get(f"{BASE}/nobody/accounts"), 404, "membership_not_found")


def test_all_18_membership_endpoints_of_api_md_are_in_the_schema_with_their_exact_paths(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operations = {
        (method.upper(), path)
        for path, item in schema["paths"].items()
        if path.startswith("/api/v1/memberships")
        for method in item
        if method in ("get", "post", "put", "delete")
    }
    assert operations >= API_MD_ROUTES
    assert operations - API_MD_ROUTES == {("POST", "/api/v1/memberships/{key}/remarks")}
    for method, path in operations:
        operation = schema["paths"][path][method.lower()]
        assert operation["tags"] == ["memberships"]
        assert operation["summary"]
