"""The OpenAPI document: generated without warnings, valid, and complete for every operation.

Each check walks every operation of the generated schema, so it holds for each app as it is
added. A failure names the operations at fault.
"""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from drf_spectacular.validation import validate_schema

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
PUBLIC = {("GET", "/api/v1/about")}
ERROR_REF = "#/components/schemas/Error"


def generate() -> tuple[dict[str, Any], dict[str, int], dict[str, int]]:
    """The document /api/schema/ serves, with the warnings and errors drf-spectacular emitted."""
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        document = SchemaGenerator().get_schema(request=None, public=True)
        rendered = json.loads(OpenApiJsonRenderer().render(document, renderer_context={}))
    warnings, errors = dict(GENERATOR_STATS._warn_cache), dict(GENERATOR_STATS._error_cache)
    GENERATOR_STATS.reset()
    return rendered, warnings, errors


@pytest.fixture(scope="module")
def generated() -> tuple[dict[str, Any], dict[str, int], dict[str, int]]:
    return generate()


@pytest.fixture(scope="module")
def schema(generated) -> dict[str, Any]:
    return generated[0]


def operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def name(method: str, path: str) -> str:
    return f"{method} {path}"


def test_the_schema_generates_without_warnings_or_errors(generated):
    _, warnings, errors = generated
    assert not errors, "drf-spectacular errors:\n" + "\n".join(errors)
    assert not warnings, "drf-spectacular warnings:\n" + "\n".join(warnings)


def test_the_schema_is_valid_openapi(schema):
    validate_schema(schema)


def test_the_served_schema_is_the_generated_one(api, schema):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert json.loads(response.content)["paths"].keys() == schema["paths"].keys()


def test_the_schema_covers_the_api(schema):
    found = {name(m, p) for m, p, _ in operations(schema)}
    assert {"GET /api/v1/about", "GET /api/v1/audits"} <= found
    assert all(p.startswith("/api/v1/") for p in schema["paths"])


def test_every_operation_has_a_summary_and_a_tag(schema):
    no_summary = [name(m, p) for m, p, op in operations(schema) if not op.get("summary", "").strip()]
    no_tag = [name(m, p) for m, p, op in operations(schema) if not op.get("tags")]
    assert not no_summary, f"operations without a summary: {no_summary}"
    assert not no_tag, f"operations without a tag: {no_tag}"


def test_every_operation_documents_a_success_with_its_body(schema):
    """A 2xx answer, and every 2xx but 204 No Content says what its body is."""
    no_success, no_body = [], []
    for method, path, op in operations(schema):
        successes = {code: r for code, r in op["responses"].items() if code.startswith("2")}
        if not successes:
            no_success.append(name(method, path))
        for code, response in successes.items():
            if code == "204":
                continue
            content = response.get("content") or {}
            if not content or not all(media.get("schema") for media in content.values()):
                no_body.append(f"{name(method, path)} {code}")
    assert not no_success, f"operations without a 2xx response: {no_success}"
    assert not no_body, f"2xx responses without a body schema: {no_body}"


def test_every_operation_documents_its_errors_in_the_error_shape(schema):
    missing, wrong_shape = [], []
    for method, path, op in operations(schema):
        expected = {"400"} if (method, path) in PUBLIC else {"400", "401", "403"}
        absent = expected - op["responses"].keys()
        if absent:
            missing.append(f"{name(method, path)} lacks {sorted(absent)}")
        for code, response in op["responses"].items():
            if code[0] in "45":
                refs = {media.get("schema", {}).get("$ref") for media in response.get("content", {}).values()}
                if refs != {ERROR_REF}:
                    wrong_shape.append(f"{name(method, path)} {code}")
    assert not missing, "undocumented errors:\n" + "\n".join(missing)
    assert not wrong_shape, f"error responses not in the Error shape: {wrong_shape}"


def test_only_about_is_public(schema):
    public = {(m, p) for m, p, op in operations(schema) if op.get("security", schema.get("security")) in (None, [])}
    assert public == PUBLIC


def test_operation_ids_are_unique(schema):
    ids = [op.get("operationId") for _, _, op in operations(schema)]
    assert None not in ids
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"duplicate operationIds: {duplicates}"


def test_every_post_takes_an_idempotency_key(schema):
    missing = [
        name(m, p)
        for m, p, op in operations(schema)
        if m == "POST"
        and not any(
            param.get("in") == "header" and param.get("name") == "Idempotency-Key" for param in op.get("parameters", [])
        )
    ]
    assert not missing, f"POSTs without the Idempotency-Key header: {missing}"


def property_names(node: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every property name in a JSON schema, nested objects and arrays included."""
    if isinstance(node, dict):
        for prop, sub in (node.get("properties") or {}).items():
            yield prop, f"{where}.{prop}"
            yield from property_names(sub, f"{where}.{prop}")
        for key, sub in node.items():
            if key != "properties":
                yield from property_names(sub, where)
    elif isinstance(node, list):
        for sub in node:
            yield from property_names(sub, where)


def test_components_are_camel_case(schema):
    components = schema["components"]["schemas"]
    assert components, "the schema has no components"
    snake = [where for prop, where in property_names(components, "") if "_" in prop]
    assert not snake, f"snake_case properties: {snake}"


def test_inline_bodies_and_parameters_are_camel_case(schema):
    snake = []
    for method, path, op in operations(schema):
        label = name(method, path)
        snake += [
            f"{label} parameter {p['name']}"
            for p in op.get("parameters", [])
            if p.get("in") in ("query", "path") and "_" in p["name"]
        ]
        snake += [f"{label}{where}" for prop, where in property_names(op.get("requestBody"), "") if "_" in prop]
        snake += [f"{label}{where}" for prop, where in property_names(op.get("responses"), "") if "_" in prop]
    assert not snake, f"snake_case names on the wire: {snake}"
