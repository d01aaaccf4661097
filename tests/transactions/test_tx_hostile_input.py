"""POST /tx against hostile input: deep JSON, NUL characters, purchases too old or in the future. Each
was a 500 or booked what it should not; each is now a 400 that books nothing (dry run and booking alike)."""

import json

import pytest

from tests.promotions.conftest import assert_refused, purchase
from transactions.models import Transaction

pytestmark = pytest.mark.django_db


def post_text(api, text: str):
    return api.post("/api/v1/tx", text, content_type="application/json")


@pytest.mark.parametrize("depth", [65, 475, 100_000])
@pytest.mark.parametrize("tx_id", [None, "T-deep"])
def test_json_nested_too_deep_is_malformed_and_books_nothing(api, member, depth, tx_id):
    body = purchase(member, tx_id=tx_id)
    text = json.dumps(body)[:-1] + ', "properties": {"a": ' + "[" * depth + "]" * depth + "}}"
    refusal = assert_refused(post_text(api, text), 400, "malformed_request")
    assert refusal["errors"][0]["code"] == "too_deep"
    assert not Transaction.objects.exists()


def test_properties_nested_within_the_limit_are_taken(api, member):
    body = {**purchase(member, tx_id="T-ok"), "properties": {"a": json.loads("[" * 60 + "]" * 60)}}
    assert api.post("/api/v1/tx", body, format="json").status_code == 201


@pytest.mark.parametrize(
    ("properties", "field"),
    [({"note": "a\u0000b"}, "properties.note"), ({"k\u0000": "v"}, "properties.k\\u0000")],
)
@pytest.mark.parametrize("tx_id", [None, "T-nul"])
def test_a_nul_in_properties_is_malformed_and_books_nothing(api, member, properties, field, tx_id):
    """On PostgreSQL this was DataError (jsonb takes no \\u0000): a 500."""
    body = {**purchase(member, tx_id=tx_id), "properties": properties}
    refusal = assert_refused(api.post("/api/v1/tx", body, format="json"), 400, "malformed_request")
    assert refusal["errors"][0]["field"] == field and refusal["errors"][0]["code"] == "null_character"
    assert not Transaction.objects.exists()


@pytest.mark.parametrize("line", [1001, 2**31, 2**63, 10**30])
def test_a_return_line_beyond_any_basket_is_refused(api, member, line):
    """A basket has at most 1,000 lines, and the schema says so (before: any integer, 404-like `unknown_line`)."""
    body = purchase(member, tx_id="T-line")
    assert api.post("/api/v1/tx", body, format="json").status_code == 201
    items = [{"line": line, "quantity": "1"}]
    answer = api.post("/api/v1/tx/reversal", {"receiptId": body["receiptId"], "items": items}, format="json")
    refusal = assert_refused(answer, 400, "validation_error")
    assert [(e["field"], e["code"]) for e in refusal["errors"]] == [("items.0.line", "max_value")]


@pytest.mark.parametrize(
    ("occurred_at", "code"),
    [
        ("9999-12-31T23:59:59+00:00", "occurred_in_future"),
        ("9999-12-31T23:59:59.999999+14:00", "occurred_in_future"),
        ("9999-12-31T23:59:59-12:00", "validation_error"),  # past the calendar in UTC: field code `overflow`
        ("0001-01-01T00:00:00+14:00", "validation_error"),
        ("0001-01-01T00:00:00-12:00", "occurred_too_early"),
    ],
)
@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "America/New_York"])
@pytest.mark.parametrize("tx_id", [None, "T-edge"])
def test_times_at_the_ends_of_the_calendar_are_refused_not_a_500(api, member, occurred_at, code, zone, tx_id):
    """The dry run dated 9999-12-31 once overflowed computing the member's local date (a 500)."""
    from loyalty.models import Program

    Program.objects.update(time_zone=zone)
    body = {**purchase(member, tx_id=tx_id), "occurredAt": occurred_at}
    assert_refused(api.post("/api/v1/tx", body, format="json"), 400, code)
    assert not Transaction.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("totalAmount", "\uff11\uff15.87"), ("totalAmount", "1.587E1"), ("totalAmount", 15.87)],
)
@pytest.mark.parametrize("tx_id", [None, "T-amount"])
def test_a_total_that_is_not_a_plain_decimal_string_is_refused(api, member, field, value, tx_id):
    body = {**purchase(member, tx_id=tx_id), field: value}
    refusal = assert_refused(api.post("/api/v1/tx", body, format="json"), 400, "validation_error")
    assert [(e["field"], e["code"]) for e in refusal["errors"]] == [(field, "invalid")]
    assert not Transaction.objects.exists()


@pytest.mark.parametrize(("name", "value"), [("quantity", "2E0"), ("unitPrice", "\u0666.49"), ("amount", " 12.98")])
def test_a_line_amount_that_is_not_a_plain_decimal_string_is_refused(api, member, name, value):
    body = purchase(member, tx_id="T-line-amount")
    body["items"][0][name] = value
    refusal = assert_refused(api.post("/api/v1/tx", body, format="json"), 400, "validation_error")
    assert [(e["field"], e["code"]) for e in refusal["errors"]] == [(f"items.0.{name}", "invalid")]
    assert not Transaction.objects.exists()
