"""The schema's examples: every operation has them, and each one is valid against the schema it illustrates
(request and answer examples recorded from the demo program, error examples generated per code)."""

import copy

import pytest
from jsonschema import Draft202012Validator

from tests.test_schema import generate


@pytest.fixture(scope="module")
def schema():
    return generate()[0]


def json_schema(node):
    """OpenAPI 3.0's schema dialect as JSON Schema: `nullable` becomes a null alternative."""
    if isinstance(node, list):
        return [json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: json_schema(v) for k, v in node.items()}
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


def examples_of(schema):
    """(where, example, schema) of every example in the document."""
    for name, operation in operations(schema):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body and "example" in body:
            yield f"{name} request", body["example"], body["schema"]
        for status, answer in operation["responses"].items():
            for media_type, content in answer.get("content", {}).items():
                if "example" in content:
                    yield f"{name} {status} {media_type}", content["example"], content["schema"]
                for key, example in content.get("examples", {}).items():
                    yield f"{name} {status} {key}", example["value"], content["schema"]


def test_every_operation_has_a_request_and_an_answer_example(schema):
    missing = []
    for name, operation in operations(schema):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None and "example" not in body:
            missing.append(f"{name}: request")
        answers = [a for s, a in operation["responses"].items() if s.startswith("2") and a.get("content")]
        if answers and not any("example" in c for a in answers for c in a["content"].values()):
            missing.append(f"{name}: answer")
    assert missing == []


def test_every_error_answer_has_an_example_of_each_code(schema):
    for name, operation in operations(schema):
        for status, answer in operation["responses"].items():
            if status.startswith("4"):
                examples = answer["content"]["application/json"]["examples"]
                assert examples, f"{name} {status}"
                assert {e["value"]["status"] for e in examples.values()} == {int(status)}, f"{name} {status}"
                for code in examples:
                    assert f"`{code}`" in answer["description"], f"{name} {status} {code}"


def test_every_example_is_valid_against_its_schema(schema):
    components = json_schema(copy.deepcopy(schema["components"]))
    invalid = []
    count = 0
    for where, example, target in examples_of(schema):
        count += 1
        validator = Draft202012Validator({**json_schema(target), "components": components})
        problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(example)]
        if problems:
            invalid.append(f"{where}: {problems[:3]}")
    assert count > 300
    assert invalid == []
