"""Strict queries on every list endpoint: a repeated single-valued parameter, an empty value, and a
`limit` or `offset` that is not a whole number in range are 400 `validation_error` naming the
parameter with a per-field code, where they used to fall back to defaults or take the last value."""

import pytest

from loyalty.api.pagination import MAX_OFFSET
from tests.factories import SponsorFactory
from tests.imports.factories import ImportBatchFactory
from tests.memberships.factories import CardFactory, LegalEntityFactory, MembershipFactory, RemarkFactory
from tests.promotions.factories import CategoryValueFactory, ChannelFactory, MasterCategoryFactory
from tests.urlwalk import api_routes

pytestmark = pytest.mark.django_db

# Every list answered by the shared paginators, with a filter of its own where it has one. Paths
# with keys are filled in by the `lists` fixture.
LIMIT_OFFSET = {
    "/api/v1/memberships": "email",
    "/api/v1/memberships/{member}/cards": None,
    "/api/v1/memberships/{member}/remarks": None,
    "/api/v1/memberships/{user}/legalentity/cards": None,
    "/api/v1/voucher/types": "sponsor",
    "/api/v1/voucher": "type",
    "/api/v1/promos/channel/data": "kind",
    "/api/v1/promos/product/data": "q",
    "/api/v1/promos/product/categories": "q",
    "/api/v1/promos/product/categories/{channel}/{master}/values": "q",
    "/api/v1/tx": "membership",
    "/api/v1/tx/rewardsHistory": "membership",
    "/api/v1/imports/report": "type",
    "/api/v1/webhooks/endpoints": None,
    "/api/v1/webhooks/deliveries": "eventType",
}
CURSOR = {"/api/v1/audits": "action", "/api/v1/loyaltyops/events/list": "type"}
# GET routes with a paginator that answer one object, or page on their own (tested below).
NOT_SHARED_LISTS = {
    "/api/v1/tx/sample/details",
    "/api/v1/tx/sample/rewardsDetails",
    "/api/v1/loyaltyops/events/acknowledge",
}


@pytest.fixture
def lists(api):
    """The list paths with real keys; one row where the largest offset must reach the database."""
    member = MembershipFactory()
    CardFactory(membership=member)
    RemarkFactory(membership=member)
    user = MembershipFactory(legal_entity=LegalEntityFactory())
    channel = ChannelFactory(sponsor=SponsorFactory(is_default=True))
    master = MasterCategoryFactory()
    CategoryValueFactory(master=master, channel=channel)
    keys = {"member": member.number, "user": user.number, "channel": channel.key, "master": master.key}
    return lambda path: path.format(**keys)


def refused(response, field: str, code: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "validation_error", body
    assert [(e["field"], e["code"]) for e in body["errors"]] == [(field, code)], body


def test_every_paginated_list_is_covered_here():
    paginated = {
        route.path
        for route in api_routes()
        if route.method == "GET" and getattr(route.view, "pagination_class", None) is not None
    }
    covered = {path.replace("{member}", "sample").replace("{user}", "sample") for path in LIMIT_OFFSET}
    covered = {p.replace("{channel}", "sample").replace("{master}", "sample") for p in covered}
    assert paginated - covered - set(CURSOR) - NOT_SHARED_LISTS == set()


BAD_LIMITS = [
    ("limit=0", "min_value"),
    ("limit=-3", "min_value"),
    ("limit=501", "max_value"),
    ("limit=99999999999999999999999999999", "max_value"),
    ("limit=ten", "invalid"),
    ("limit=2.5", "invalid"),
    ("limit=%203", "invalid"),  # " 3"
    ("limit=%D9%A3", "invalid"),  # an Arabic-Indic 3, which int() would take
    ("limit=", "blank"),
    ("limit=10&limit=20", "repeated"),
]
BAD_OFFSETS = [
    ("offset=-1", "min_value"),
    ("offset=1.0", "invalid"),
    ("offset=x", "invalid"),
    (f"offset={MAX_OFFSET + 1}", "max_value"),  # was a 500: past what the databases take
    ("offset=" + "9" * 5000, "max_value"),
    ("offset=", "blank"),
    ("offset=0&offset=50", "repeated"),
]


@pytest.mark.parametrize("path", LIMIT_OFFSET)
@pytest.mark.parametrize(("query", "code"), BAD_LIMITS + BAD_OFFSETS)
def test_a_bad_limit_or_offset_is_a_400_naming_it(api, lists, path, query, code):
    refused(api.get(f"{lists(path)}?{query}"), query.partition("=")[0], code)


@pytest.mark.parametrize("path", CURSOR)
@pytest.mark.parametrize(("query", "code"), [*BAD_LIMITS, ("cursor=", "blank")])
def test_a_bad_limit_or_cursor_of_a_log_is_a_400_naming_it(api, path, query, code):
    refused(api.get(f"{path}?{query}"), query.partition("=")[0], code)


@pytest.mark.parametrize("path", LIMIT_OFFSET)
def test_the_bounds_themselves_are_taken(api, lists, path):
    for query in ("limit=1", "limit=500", "offset=0", f"offset={MAX_OFFSET}", "limit=500&offset=3"):
        response = api.get(f"{lists(path)}?{query}")
        assert response.status_code == 200, (query, response.content)
    assert api.get(f"{lists(path)}?offset={MAX_OFFSET}").json()["results"] == []


@pytest.mark.parametrize("path", {**LIMIT_OFFSET, **CURSOR}.items())
def test_an_empty_or_repeated_filter_is_a_400_naming_it(api, lists, path):
    path, name = path
    if name is None:
        pytest.skip("no filter")
    refused(api.get(f"{lists(path)}?{name}="), name, "blank")
    refused(api.get(f"{lists(path)}?{name}=a&{name}=b"), name, "repeated")


@pytest.mark.parametrize("path", ["/api/v1/memberships", "/api/v1/promos/product/data", "/api/v1/exports/templates"])
def test_ordering_given_twice_is_refused_and_not_the_last_one_taken(api, path):
    refused(api.get(f"{path}?ordering=key&ordering=-key"), "ordering", "repeated")


@pytest.mark.parametrize(
    ("path", "statuses"), [("/api/v1/memberships", ("active", "cancelled")), ("/api/v1/voucher", ("issued", "revoked"))]
)
def test_a_filter_that_takes_several_values_may_repeat_but_not_be_empty(api, path, statuses):
    first, second = statuses
    assert api.get(f"{path}?status={first}&status={second}").status_code == 200
    refused(api.get(f"{path}?status={first}&status="), "status", "blank")


@pytest.mark.parametrize(
    ("path", "query", "field", "code"),
    [
        ("/api/v1/loyaltyops/events/acknowledge", "limit=1&limit=2", "limit", "repeated"),
        ("/api/v1/loyaltyops/events/acknowledge", "limit=0", "limit", "min_value"),
        ("/api/v1/loyaltyops/events/acknowledge", "limit=1001", "limit", "max_value"),
        ("/api/v1/loyaltyops/events/acknowledge", "ack=", "ack", "blank"),
        ("/api/v1/deposits/0000000000/statement", "limit=0", "limit", "min_value"),
        ("/api/v1/deposits/0000000000/statement", "pointType=", "pointType", "blank"),
        (
            "/api/v1/deposits/0000000000/statement",
            "since=2025-01-01T00:00:00Z&since=2025-02-01T00:00:00Z",
            "since",
            "repeated",
        ),
        ("/api/v1/deposits/0000000000/redeemable", "pointType=a&pointType=b", "pointType", "repeated"),
        ("/api/v1/exports/templates", "q=", "q", "blank"),
        ("/api/v1/exports/templates", "format=csv&format=json", "format", "repeated"),
        ("/api/v1/imports/cancelbatch", "key=", "key", "blank"),
    ],
)
def test_endpoints_that_read_their_own_queries_are_as_strict(api, path, query, field, code):
    refused(api.get(f"{path}?{query}"), field, code)


def test_the_records_of_an_import_batch_page_within_the_databases_range(api):
    batch = ImportBatchFactory()
    refused(api.get(f"/api/v1/imports/{batch.key}?offset={MAX_OFFSET + 1}"), "offset", "max_value")
    refused(api.get(f"/api/v1/imports/{batch.key}?status=&limit=5"), "status", "blank")
    response = api.get(f"/api/v1/imports/{batch.key}?offset={MAX_OFFSET}")
    assert response.status_code == 200, response.content
    assert response.json()["records"] == []


def test_unauthenticated_requests_are_401_before_their_query_is_read(anon):
    response = anon.get("/api/v1/memberships?limit=0&limit=")
    assert response.status_code == 401


def test_the_schema_gives_every_limit_and_offset_its_bounds():
    from tests.test_schema import generate, operations

    schema, _, _ = generate()
    seen = []
    for method, path, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and parameter["name"] in ("limit", "offset"):
                bounds = parameter["schema"]
                seen.append((method, path, parameter["name"]))
                assert bounds["type"] == "integer", (path, parameter)
                assert "minimum" in bounds and "maximum" in bounds, (path, parameter)
                assert bounds["minimum"] >= 0 and bounds["maximum"] <= MAX_OFFSET, (path, parameter)
    assert ("GET", "/api/v1/memberships", "offset") in seen and ("GET", "/api/v1/audits", "limit") in seen
    memberships = next(op for m, p, op in operations(schema) if (m, p) == ("GET", "/api/v1/memberships"))
    limit = next(p for p in memberships["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"], limit["schema"]["default"]) == (1, 500, 50)
