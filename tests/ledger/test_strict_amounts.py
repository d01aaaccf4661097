"""Amounts are decimal strings of ASCII digits, and the schema's pattern is the server's rule: full-width
digits (full-width "12" redeemed 12.00), exponents ("1E-2", which the schema forbade) and the like are 400 and book
nothing (loyalty.api.serializers.DecimalStringField)."""

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from rest_framework import serializers

from ledger.models import Booking
from ledger.serializers import AdjustInputSerializer, RedeemInputSerializer
from tests.test_schema import generate

ODD = [
    "\uff11\uff12",  # full-width "12"
    "\u0661\u0662",  # Arabic-Indic "12"
    "1E-2",
    "1e1",
    " 12",
    "12 ",
    "+12",
    "1_000",
    "",
    "-",
    ".",
    "-.",
    "NaN",
    "Infinity",
    "0x10",
    "1,5",
    12,
    1.5,
    True,
]


@pytest.mark.parametrize("value", ODD, ids=repr)
def test_an_amount_that_is_not_a_plain_decimal_string_is_refused_and_books_nothing(api, member, value):
    answer = api.post(f"/api/v1/deposits/{member.number}/adjust", {"points": value, "reason": "x"}, format="json")
    body = answer.json()
    assert answer.status_code == 400 and body["code"] == "validation_error", body
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("points", "invalid")]
    assert not Booking.objects.exists()


@pytest.mark.parametrize(
    ("value", "points"), [("12", "12.00"), ("12.5", "12.50"), ("0012", "12.00"), (".5", "0.50"), ("3.", "3.00")]
)
def test_plain_decimal_strings_are_taken(api, member, value, points):
    answer = api.post(f"/api/v1/deposits/{member.number}/adjust", {"points": value, "reason": "x"}, format="json")
    assert answer.status_code == 201, answer.json()
    assert answer.json()["points"] == points


@pytest.mark.parametrize(
    ("value", "code"),
    [("1" * 16, "max_whole_digits"), ("0" * 15 + "1", "max_whole_digits"), ("1.00001", "max_decimal_places")],
)
def test_digits_count_as_written(api, member, value, code):
    answer = api.post(f"/api/v1/deposits/{member.number}/adjust", {"points": value, "reason": "x"}, format="json")
    assert [(e["field"], e["code"]) for e in answer.json()["errors"]] == [("points", code)]


def test_a_sign_where_no_negative_is_taken_is_min_value(api, member):
    answer = api.post(f"/api/v1/deposits/{member.number}/redeem", {"points": "-0"}, format="json")
    assert [(e["field"], e["code"]) for e in answer.json()["errors"]] == [("points", "min_value")]


@pytest.fixture(scope="module")
def patterns():
    """The patterns the schema gives `points` of adjustPoints (signed) and redeemPoints (not signed)."""
    components = generate()[0]["components"]["schemas"]
    return {
        "adjust": components["AdjustInputRequest"]["properties"]["points"]["pattern"],
        "redeem": components["RedeemInputRequest"]["properties"]["points"]["pattern"],
    }


TEXT = st.text(alphabet="0123456789-+.eE \uff11\u0661", max_size=20) | st.from_regex(
    r"-?[0-9]{0,17}(\.[0-9]{0,6})?", fullmatch=True
)


def _takes(serializer: type[serializers.Serializer], value: str) -> bool:
    try:
        serializer().fields["points"].run_validation(value)
    except serializers.ValidationError:
        return False
    return True


@given(TEXT)
@example("0" * 15 + ".0000")
@example("-" + "9" * 15 + ".9999")
@example(".")
def test_the_schema_pattern_is_the_servers_rule(patterns, value):
    """Every string the schema's pattern matches the server takes, and no other (ECMA-262's \\d is ASCII;
    the pattern's classes are [0-9], so Python's re reads it the same way)."""
    assert (re.search(patterns["adjust"], value) is not None) == _takes(AdjustInputSerializer, value), value
    assert (re.search(patterns["redeem"], value) is not None) == _takes(RedeemInputSerializer, value), value
