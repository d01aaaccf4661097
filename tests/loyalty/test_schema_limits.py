"""The schema refuses what the server refuses (loyalty/api/schema.py): each limit the server enforces on
input is in the document, so schema-valid requests are accepted and generated clients validate alike."""

import re

import pytest

from tests.test_schema import generate


@pytest.fixture(scope="module")
def schema():
    return generate()[0]


def parameter(schema, path, name, method="get"):
    return next(p for p in schema["paths"][path][method]["parameters"] if p["name"] == name)["schema"]


def test_request_bodies_are_closed(schema):
    requests = {n: c for n, c in schema["components"]["schemas"].items() if n.endswith("Request")}
    assert requests
    assert all(c.get("additionalProperties") is False for c in requests.values() if c.get("type") == "object")


def test_query_parameters_need_a_value_and_keep_the_filters_limits(schema):
    assert parameter(schema, "/api/v1/voucher", "type")["maxLength"] == 40
    assert parameter(schema, "/api/v1/voucher", "type")["minLength"] == 1
    assert parameter(schema, "/api/v1/voucher", "status")["minItems"] == 1
    category = parameter(schema, "/api/v1/promos/product/data", "category")
    assert re.search(category["pattern"], "department:coffee") and not re.search(category["pattern"], "coffee")
    price = parameter(schema, "/api/v1/promos/product/data", "maxPrice")
    assert re.search(price["pattern"], "12.50") and not re.search(price["pattern"], "-1")
    assert not re.search(price["pattern"], "1.005") and not re.search(price["pattern"], "12345678901")
    assert parameter(schema, "/api/v1/loyaltyops/events/list", "acknowledged")["type"] == "boolean"


def test_text_holds_no_nul_and_required_text_is_not_only_spaces(schema):
    reason = schema["components"]["schemas"]["RevokeInputRequest"]["properties"]["reason"]["pattern"]
    assert re.search(reason, "expired in the shop")
    for blank in ["", " ", "\x1c", "\u0085", "\u3000", "a\x00b"]:
        assert not re.search(reason, blank), repr(blank)


def test_amounts_that_cannot_be_negative_have_no_sign(schema):
    components = schema["components"]["schemas"]
    transfer = components["TransferInputRequest"]["properties"]["points"]["pattern"]
    adjust = components["AdjustInputRequest"]["properties"]["points"]["pattern"]
    assert re.search(transfer, "12.5") and not re.search(transfer, "-12.5") and not re.search(transfer, "")
    assert re.search(adjust, "-12.5")


def test_lists_carry_their_bounds(schema):
    items = schema["components"]["schemas"]["TxInputRequest"]["properties"]["items"]
    assert (items["minItems"], items["maxItems"]) == (1, 1000)
