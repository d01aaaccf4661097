"""The OpenAPI document: generated without warnings, valid, and complete for every operation.

Each check walks every operation of the generated schema, so it holds for each app as it is
added. A failure names the operations at fault.
"""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from drf_spectacular.validation import validate_schema

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
PUBLIC = {("GET", "/api/v1/about")}
ERROR_REF = "#/components/schemas/Error"
API_ROOT = "/api/v1"
OPERATION_IDS_DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"
# A verb and at least one more word, camelCase: `redeemPoints`, never drf-spectacular's `deposits_redeem_create`.
OPERATION_ID = re.compile(r"[a-z]+(?:[A-Z][a-z0-9]*)+")


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
    """Public: no security, or "no authentication" ({}) among the choices (about also reads a key if sent)."""
    public = {
        (m, p)
        for m, p, op in operations(schema)
        if op.get("security", schema.get("security")) in (None, []) or {} in op.get("security", [])
    }
    assert public == PUBLIC


def test_every_operation_has_a_description(schema):
    """A description beyond the summary, and not just the route restated."""
    missing = [
        name(m, p)
        for m, p, op in operations(schema)
        if not op.get("description", "").strip()
        or re.fullmatch(r"(GET|POST|PUT|DELETE|PATCH) /\S*\.?", op["description"].strip())
    ]
    assert not missing, f"operations without a description: {missing}"


def test_operation_ids_are_unique(schema):
    ids = [op.get("operationId") for _, _, op in operations(schema)]
    assert None not in ids
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"duplicate operationIds: {duplicates}"


def test_operation_ids_are_chosen_camel_case_names(schema):
    """A generated client names its methods after them: a chosen name, not the generated `path_action`."""
    generated = [
        f"{name(m, p)}: {op.get('operationId')}"
        for m, p, op in operations(schema)
        if not OPERATION_ID.fullmatch(op.get("operationId") or "")
    ]
    assert not generated, "operationIds that are not chosen camelCase names:\n" + "\n".join(generated)


def documented_operation_ids() -> dict[tuple[str, str], str]:
    """The table of docs/api.md's "Operation ids" section: (method, path) -> operationId."""
    section = OPERATION_IDS_DOC.read_text().split("## Operation ids", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| ([A-Z]+) \| `(/[^`]*)` \|$", section, re.MULTILINE)
    return {(method, API_ROOT + path): operation_id for operation_id, method, path in rows}


def test_operation_ids_are_the_documented_ones(schema):
    """Integrators code against these names: renaming, adding or removing one changes the docs too."""
    found = {(m, p): op.get("operationId") for m, p, op in operations(schema)}
    documented = documented_operation_ids()
    differ = sorted(
        f"{name(*route)}: schema {found.get(route)!r}, docs/api.md {documented.get(route)!r}"
        for route in found.keys() | documented.keys()
        if found.get(route) != documented.get(route)
    )
    assert not differ, "operationIds differ from docs/api.md:\n" + "\n".join(differ)


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


# Where a JSON schema (or a request body's content) holds more schemas.
NESTED = {"items", "allOf", "oneOf", "anyOf", "additionalProperties", "schema", "content", "application/json"}
NESTED |= {"multipart/form-data", "text/csv"}


def integer_inputs(node: Any, where: str, components: dict[str, Any], seen: frozenset = frozenset()):
    """(where, schema) of every integer a request may send in `node`, references followed."""
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            component = ref.rsplit("/", 1)[1]
            if component not in seen:
                yield from integer_inputs(components[component], where, components, seen | {component})
            return
        if node.get("type") == "integer" and not node.get("readOnly"):
            yield where, node
        for key, sub in node.items():
            if key == "properties":
                for prop, prop_schema in sub.items():
                    yield from integer_inputs(prop_schema, f"{where}.{prop}", components, seen)
            elif key in NESTED:
                yield from integer_inputs(sub, where, components, seen)
    elif isinstance(node, list):
        for sub in node:
            yield from integer_inputs(sub, where, components, seen)


def test_every_integer_a_request_sends_has_both_bounds(schema):
    """An integer without a maximum reached the database as a bigint out of range (a 500, once for `offset`):
    each integer parameter and body field declares what the server takes, and the server holds to it."""
    components = schema["components"]["schemas"]
    unbounded = []
    for method, path, op in operations(schema):
        found = [
            (f" ?{p['name']}", s)
            for p in op.get("parameters", [])
            for _, s in integer_inputs(p.get("schema", {}), "", components)
        ]
        found += list(integer_inputs(op.get("requestBody", {}), " body", components))
        unbounded += [f"{name(method, path)}{w}" for w, s in found if "minimum" not in s or "maximum" not in s]
    assert not unbounded, f"integers without minimum and maximum: {unbounded}"
