"""OpenAPI generation: every operation documents its errors and the Idempotency-Key header."""

import json
import re
from functools import cache
from pathlib import Path

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import force_instance, get_doc
from drf_spectacular.utils import OpenApiParameter

from loyalty.api import error_catalog
from loyalty.api.errors import ErrorSerializer, camel
from loyalty.api.operation_errors import OPERATION_ERRORS
from loyalty.api.serializers import decimal_pattern

STATUS_WORDS = {
    400: "Invalid input",
    401: "No or an invalid API key",
    403: "The key lacks the scope, or the user is not staff",
    404: "Not found",
    409: "Refused by a business rule",
    413: "The request body is too large",
    415: "The body's Content-Type is not one the operation reads",
}


def conventional_errors(*, authenticated: bool, body: bool, post: bool) -> dict[int, tuple[str, ...]]:
    """The errors the API conventions answer for any operation of this kind (docs/api.md)."""
    errors: dict[int, tuple[str, ...]] = {400: ("validation_error",) + (("malformed_request",) if body else ())}
    if authenticated:
        errors |= {401: ("not_authenticated", "authentication_failed"), 403: ("insufficient_scope",)}
    if post:
        errors[409] = ("idempotency_key_reused",)
    if body:
        errors |= {413: ("payload_too_large",), 415: ("unsupported_media_type",)}
    return errors


def error_response_schema(status: int, codes: list[str], invalid: tuple[str, str, str] | None = None) -> dict:
    """One error answer: the error shape, the codes in words and an example of each."""
    described = ", ".join(f"`{code}`" for code in codes)
    return {
        "description": f"{STATUS_WORDS.get(status, 'Refused')}: {described}.",
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/Error"},
                "examples": {
                    code: {"summary": code, "value": error_catalog.example(status, code, invalid)} for code in codes
                },
            }
        },
    }


class LoyaltyAutoSchema(AutoSchema):
    def get_description(self) -> str:
        """A view's own docstring only: the base classes' docstrings talk to developers, not integrators."""
        if self.view.__class__.__dict__.get("__doc__"):
            return super().get_description()
        action = getattr(self.view, getattr(self.view, "action", None) or self.method.lower(), None)
        return get_doc(action) if action is not None and action.__doc__ else ""

    def _authenticated(self) -> bool:
        return not getattr(self.view, "public_endpoint", False)

    def _get_response_bodies(self, direction="response"):
        """The answers of the view, then every error it answers: the conventions' errors for its kind plus its
        own from loyalty/api/operation_errors.py, each with an example (no error answer is written by hand)."""
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        responses = {code: answer for code, answer in responses.items() if not code.startswith(("4", "5"))}
        errors: dict[int, list[str]] = {}
        body = self.method in ("POST", "PUT", "PATCH") and self._get_request_body() is not None
        conventional = conventional_errors(authenticated=self._authenticated(), body=body, post=self.method == "POST")
        own = OPERATION_ERRORS.get(self.get_operation_id(), {})
        for source in (conventional, own):
            for status, codes in source.items():
                errors.setdefault(status, [])
                errors[status] += [code for code in codes if code not in errors[status]]
        self.resolve_serializer(ErrorSerializer, "response")  # the component every error answer refers to
        invalid = self._invalid_field_example()
        for status in sorted(errors):
            responses[str(status)] = error_response_schema(status, errors[status], invalid)
        return responses

    def _invalid_field_example(self) -> tuple[str, str, str] | None:
        """A field of this operation's body left out, for the example of its validation error."""
        serializer = self.get_request_serializer() if self.method in ("POST", "PUT", "PATCH") else None
        fields = getattr(force_instance(serializer), "fields", {}) if serializer is not None else {}
        for name, field in fields.items():
            if field.required and not field.read_only:
                return camel(name), "required", "This field is required."
        return None

    def get_override_parameters(self):
        params = list(super().get_override_parameters())
        if self.method == "POST":
            params.append(
                OpenApiParameter(
                    "Idempotency-Key",
                    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[^\x00-\x1f\x7f]+$"},
                    OpenApiParameter.HEADER,
                    description=(
                        "Makes a retry safe: the same key and body return the first answer and change "
                        "nothing; the same key with another body is 409 `idempotency_key_reused`."
                    ),
                )
            )
        return params

    def get_auth(self):
        return super().get_auth() if self._authenticated() else []


def add_servers(result, generator, request, public):
    """The server the schema was read from (or API_PUBLIC_URL for a schema written by the command line):
    the paths start with /api/v1, so the server is the site's root."""
    from django.conf import settings

    url = request.build_absolute_uri("/").rstrip("/") if request is not None else settings.API_PUBLIC_URL
    result["servers"] = [{"url": url, "description": "This loyalty platform"}]
    return result


EXAMPLES = Path(__file__).with_name("examples.json")


@cache
def recorded_examples() -> dict:
    """Requests and answers of each operation, recorded from the demo program by the generated client's flow
    (`make examples`; tests/client/test_flow.py)."""
    return json.loads(EXAMPLES.read_text(encoding="utf-8")) if EXAMPLES.exists() else {}


def add_examples(result, generator, request, public):
    """Each operation's recorded request and answers as the examples of its body and of its 2xx answers."""
    recorded = recorded_examples()
    for item in result.get("paths", {}).values():
        for operation in item.values():
            found = recorded.get(operation.get("operationId"), {})
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None and "request" in found:
                body["example"] = found["request"]
            for status, example in found.get("responses", {}).items():
                content = operation.get("responses", {}).get(status, {}).get("content", {})
                if example["mediaType"] in content:
                    content[example["mediaType"]]["example"] = example["value"]
    return result


class DecimalStringFieldSchema(OpenApiSerializerFieldExtension):
    """A DecimalStringField's schema: a decimal string with the field's own pattern, the one its
    to_internal_value holds to (`-` only where the value may be negative)."""

    target_class = "loyalty.api.serializers.DecimalStringField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "format": "decimal", "pattern": self.target.pattern}


_DECIMAL = re.compile(r"^\^-\?\\d\{0,(\d+)\}\(\?:\\\.\\d\{0,(\d+)\}\)\?\$$")


def strict_decimal_patterns(result, generator, request, public):
    """drf-spectacular's pattern of a plain DecimalField (answers: `qualificationThreshold`) also matches "" and
    "-", and its `\\d` other scripts' digits in Python: the pattern of DecimalStringField instead
    (loyalty.api.serializers.decimal_pattern)."""

    def walk(node):
        if isinstance(node, dict):
            match = _DECIMAL.match(node.get("pattern", "")) if node.get("format") == "decimal" else None
            if match:
                whole, fraction = match.groups()
                node["pattern"] = decimal_pattern(int(whole), int(fraction))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(result)
    return result


def camelize_query_parameters(result, generator, request, public):
    """Query parameters declared by snake_case serializers appear in camelCase, as the API reads them."""
    from loyalty.api.errors import camel

    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter.get("in") == "query":
                    parameter["name"] = camel(parameter["name"])
    return result
