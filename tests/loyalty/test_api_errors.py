"""The documented errors: generated from loyalty/api/operation_errors.py and the codes' own words, for every
operation; each listed code is one the code base raises. (tests/api_errors.py checks the other way round:
every error the tests provoke is documented.)"""

import pytest

from loyalty.api import error_catalog
from loyalty.api.operation_errors import OPERATION_ERRORS
from tests.api_errors import documented
from tests.test_schema import generate


@pytest.fixture(scope="module")
def schema():
    return generate()[0]


def test_the_table_names_every_operation_and_no_other(schema):
    ids = {op["operationId"] for item in schema["paths"].values() for op in item.values()}
    assert set(OPERATION_ERRORS) == ids


def test_every_listed_code_is_one_the_code_raises():
    known = error_catalog.details()
    listed = {code for errors in OPERATION_ERRORS.values() for codes in errors.values() for code in codes}
    assert sorted(listed - set(known)) == []


def test_a_listed_code_is_documented_with_its_status_and_words(schema):
    docs = documented(schema)
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for status, codes in OPERATION_ERRORS[operation["operationId"]].items():
                assert set(codes) <= docs[(method, path)][status], operation["operationId"]


def test_the_conventions_errors_follow_the_kind_of_operation(schema):
    redeem = schema["paths"]["/api/v1/deposits/{key}/redeem"]["post"]["responses"]
    assert set(redeem) >= {"400", "401", "403", "404", "409", "413", "415"}
    examples = redeem["409"]["content"]["application/json"]["examples"]
    assert set(examples) == {"idempotency_key_reused", "ambiguous_key", "insufficient_points", "not_redeemable"}
    assert examples["insufficient_points"]["value"] == {
        "status": 409,
        "code": "insufficient_points",
        "detail": "Not enough redeemable points.",
        "errors": [],
    }
    assert "`insufficient_points`" in redeem["409"]["description"]
    assert redeem["400"]["content"]["application/json"]["examples"]["validation_error"]["value"]["errors"] == [
        {"field": "points", "code": "required", "message": "This field is required."}
    ]
    about = schema["paths"]["/api/v1/about"]["get"]["responses"]
    assert set(about) == {"200", "400", "401", "429"}  # public: no 403; 401 only for a bad key; limited by address
    assert set(redeem["429"]["headers"]) == {"Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"}
    statement = schema["paths"]["/api/v1/deposits/{key}/statement"]["get"]["responses"]
    assert "413" not in statement and "415" not in statement and "409" in statement  # ambiguous_key


def test_a_code_with_no_words_of_its_own_still_reads(schema):
    assert error_catalog.example(409, "made_up_refusal")["detail"] == "Refused: made up refusal."


def test_an_error_code_a_description_mentions_is_one_the_operation_documents(schema):
    """Descriptions say in words when a refusal happens; the code they name must be among the answers."""
    import re

    known = error_catalog.details()
    docs = documented(schema)
    wrong = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            answered = set().union(*docs[(method, path)].values()) if docs[(method, path)] else set()
            for code in re.findall(r"`([a-z]+(?:_[a-z]+)+)`", operation.get("description", "")):
                if code in known and code not in answered:
                    wrong.append(f"{operation['operationId']}: {code}")
    assert wrong == []
