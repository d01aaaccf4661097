"""loyalty.api.json_input: JSON from outside is refused past 64 levels of nesting and with a NUL in any key
or string (a RecursionError and a PostgreSQL DataError before, both 500), as 400 `malformed_request`."""

import json

import pytest
from django.test import RequestFactory
from rest_framework.exceptions import ParseError

from loyalty.api import json_input
from loyalty.api.camel import JSONParser
from loyalty.api.errors import exception_handler


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("text", "deep"),
    [
        ("{}", False),
        (nested(64), False),
        (nested(65), True),
        ("[" + nested(64) + ", " + nested(3) + "]", True),
        ("[" + ", ".join([nested(64)] * 3) + "]", True),
        ("[" + ", ".join([nested(63)] * 3) + "]", False),
        (json.dumps(["[" * 100]), False),  # brackets inside a string are text
        (json.dumps(['\\"' + "[" * 100, '"[[[\\']), False),  # escaped quotes and backslashes end nothing
        ("[" + json.dumps('x"\\') + ", " + nested(64) + "]", True),
        (json.dumps([{"a": i, "b": [i]} for i in range(200)]), False),
    ],
)
def test_depth_counts_arrays_and_objects_not_brackets_in_strings(text, deep):
    assert json_input.too_deep(text) is deep


def test_sixty_four_levels_are_read_and_sixty_five_are_refused():
    assert json_input.loads(nested(64)) is not None
    with pytest.raises(json_input.MalformedJSON) as caught:
        json_input.loads(nested(65))
    assert caught.value.errors == [{"field": "", "code": "too_deep", "message": "JSON nested deeper than 64 levels."}]


def test_a_hundred_thousand_levels_are_refused_without_recursing():
    with pytest.raises(json_input.MalformedJSON):
        json_input.loads(nested(100_000))


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"a": "x\\u0000"}', "a"),
        ('{"a\\u0000b": 1}', "a\\u0000b"),
        ('{"a": [{"b": "\\u0000"}]}', "a.0.b"),
        ('"\\u0000"', ""),
    ],
)
def test_a_nul_in_a_key_or_string_is_refused_and_named(text, field):
    with pytest.raises(json_input.MalformedJSON) as caught:
        json_input.loads(text)
    assert [(e["field"], e["code"]) for e in caught.value.errors] == [(field, "null_character")]


def test_an_escaped_backslash_before_u0000_is_text_not_a_nul():
    assert json_input.loads('{"a": "\\\\u0000"}') == {"a": "\\u0000"}


def test_not_json_stays_a_value_error():
    with pytest.raises(ValueError):
        json_input.loads("{")


def test_the_parser_answers_malformed_request_with_the_place():
    parser = JSONParser()
    request = RequestFactory().post("/")
    with pytest.raises(ParseError) as caught:
        parser.parse(__import__("io").BytesIO(b'{"properties": {"k": "\\u0000"}}'), parser_context={})
    response = exception_handler(caught.value, {"request": request})
    assert response.status_code == 400
    assert response.data["code"] == "malformed_request"
    assert response.data["errors"][0]["field"] == "properties.k"
