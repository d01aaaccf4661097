"""OpenAPI generation: every operation documents its errors and the Idempotency-Key header."""

import json
import re
from functools import cache
from pathlib import Path

from django.core.validators import RegexValidator
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import force_instance, get_doc
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from loyalty.api import error_catalog
from loyalty.api.errors import ErrorSerializer, camel
from loyalty.api.operation_errors import OPERATION_ERRORS
from loyalty.api.serializers import decimal_pattern

STATUS_WORDS = {
    400: "Invalid input",
    401: "No or an invalid API key",
    403: "The key lacks the scope, or the user is not staff",
    404: "Not found",
    405: "Not allowed with this method",
    409: "Refused by a business rule",
    413: "The request body is too large",
    415: "The body's Content-Type is not one the operation reads",
    429: "Too many requests from this API key (or address, without a key); retry after `Retry-After` seconds",
    503: "The database is busy (a lock or statement timeout ran out); nothing was changed; retry after `Retry-After` s",
}

# The headers of a 429 answer (loyalty/api/throttling.py).
RATE_LIMIT_HEADERS = {
    "Retry-After": "Seconds to wait before the next request is allowed.",
    "RateLimit-Limit": "The size of the caller's token bucket: the requests it may make at once.",
    "RateLimit-Remaining": "The requests left in the bucket now (0 on a 429).",
    "RateLimit-Reset": "Seconds until the bucket is full again.",
}


class StrictFilterParameters(DjangoFilterExtension):
    """django-filter's parameters with the limits the filters enforce: a maximum length and a pattern
    (drf-spectacular's own extension leaves both out, so generated requests the server refuses looked valid)."""

    priority = 1

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        parameters = super().resolve_filter_field(auto_schema, model, filterset_class, field_name, filter_field)
        max_length = filter_field.extra.get("max_length")
        patterns = [
            v.regex.pattern
            for v in filter_field.extra.get("validators", [])
            if isinstance(v, RegexValidator) and not v.inverse_match
        ]
        extra = filter_field.extra
        for parameter in parameters:
            schema = parameter.get("schema", {})
            if schema.get("type") == "string":
                if max_length:
                    schema.setdefault("maxLength", max_length)
                if patterns:
                    schema.setdefault("pattern", patterns[0])
            elif schema.get("type") == "number" and extra.get("decimal_places") is not None:
                # A decimal, written as the API writes amounts: a string of digits, as many as the filter takes.
                places, minimum = extra["decimal_places"], extra.get("min_value")
                sign = "" if minimum is not None and minimum >= 0 else "-?"
                whole = extra.get("max_digits", 15) - places
                schema.clear()
                schema |= {
                    "type": "string",
                    "format": "decimal",
                    "pattern": rf"^{sign}(?:\d{{1,{whole}}}(?:\.\d{{0,{places}}})?|\.\d{{1,{places}}})$",
                }
            elif schema.get("type") in ("number", "integer"):
                if extra.get("min_value") is not None:
                    schema.setdefault("minimum", extra["min_value"])
                if extra.get("max_value") is not None:
                    schema.setdefault("maximum", extra["max_value"])
        return parameters


def conventional_errors(*, authenticated: bool, body: bool, post: bool) -> dict[int, tuple[str, ...]]:
    """The errors the API conventions answer for any operation of this kind (docs/api.md)."""
    errors: dict[int, tuple[str, ...]] = {400: ("validation_error",) + (("malformed_request",) if body else ())}
    if authenticated:
        errors |= {
            401: ("not_authenticated", "authentication_failed"),
            403: ("insufficient_scope",),
            503: ("busy",),  # a lock or statement timeout (loyalty/dbtimeouts.py)
        }
    if post:
        errors[409] = ("idempotency_key_reused",)
    if body:
        errors |= {413: ("payload_too_large",), 415: ("unsupported_media_type",)}
    errors[429] = ("rate_limited",)  # every operation: per key, or per address without one
    return errors


def error_response_schema(status: int, codes: list[str], invalid: tuple[str, str, str] | None = None) -> dict:
    """One error answer: the error shape, the codes in words and an example of each."""
    described = ", ".join(f"`{code}`" for code in codes)
    headers = (
        {
            name: {"description": words, "schema": {"type": "integer", "minimum": 0}}
            for name, words in RATE_LIMIT_HEADERS.items()
        }
        if status == 429
        else {}
    )
    return {
        "description": f"{STATUS_WORDS.get(status, 'Refused')}: {described}.",
        **({"headers": headers} if headers else {}),
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

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        """A list of nested objects carries the bounds its serializer enforces, and a decimal that cannot be
        negative has no sign in its pattern (drf-spectacular leaves both out)."""
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        minimum = getattr(field, "min_value", None) if isinstance(field, serializers.DecimalField) else None
        unsigned = minimum is not None and minimum >= 0
        if unsigned and schema.get("pattern", "").startswith("^-?"):
            schema["pattern"] = "^" + schema["pattern"][3:]
        if isinstance(field, serializers.ListSerializer) and schema.get("type") == "array":
            if not field.allow_empty:
                schema.setdefault("minItems", max(1, field.min_length or 0))
            elif field.min_length:
                schema.setdefault("minItems", field.min_length)
            if field.max_length:
                schema.setdefault("maxItems", field.max_length)
        return schema

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
        """A public operation that also reads a key (getAbout) lists it beside "no authentication" ({})."""
        return super().get_auth()


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


_DECIMAL = re.compile(r"^\^(-\?)?\\d\{0,(\d+)\}\(\?:\\\.\\d\{0,(\d+)\}\)\?\$$")


def strict_decimal_patterns(result, generator, request, public):
    """drf-spectacular's pattern of a plain DecimalField (answers: `qualificationThreshold`) also matches "" and
    "-", and its `\\d` other scripts' digits in Python: the pattern of DecimalStringField instead
    (loyalty.api.serializers.decimal_pattern)."""

    def walk(node):
        if isinstance(node, dict):
            match = _DECIMAL.match(node.get("pattern", "")) if node.get("format") == "decimal" else None
            if match:
                sign, whole, fraction = match.groups()
                node["pattern"] = decimal_pattern(int(whole), int(fraction), signed=bool(sign))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(result)
    return result


NO_NUL = r"^[^\u0000]*$"
# What the API trims from text (Python's str.strip, which DRF applies): a required text needs one other character.
TRIMMED = r"\t\n\v\f\r \u001c-\u001f\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK = rf"^[^\u0000]*[^{TRIMMED}\u0000][^\u0000]*$"


def strict_inputs(result, generator, request, public):
    """What the server refuses, the schema refuses too: a request body is closed (an unknown field is a 400
    `unknown_field`) and a query parameter given without a value is a 400 (`blank`), so a string
    parameter has at least one character."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component.setdefault("additionalProperties", False)
            _no_nul(component)
    for item in result.get("paths", {}).values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if parameter.get("in") != "query":
                    continue
                if schema.get("type") == "array":
                    schema.setdefault("minItems", 1)
                    schema = schema.get("items", {})
                if schema.get("type") == "string" and "enum" not in schema:
                    schema.setdefault("minLength", 1)
                _no_nul(schema)
    return result


def _no_nul(node) -> None:
    """Text the server takes never holds a NUL character (400): free text says so in its pattern."""
    if isinstance(node, list):
        for value in node:
            _no_nul(value)
        return
    if not isinstance(node, dict):
        return
    free_text = node.get("type") == "string" and not {"enum", "pattern", "format"} & set(node)
    if free_text and not node.get("readOnly"):
        node["pattern"] = NOT_BLANK if node.get("minLength", 0) >= 1 else NO_NUL
    for key, value in node.items():
        if key not in ("example", "examples", "default"):
            _no_nul(value)


def camelize_query_parameters(result, generator, request, public):
    """Query parameters declared by snake_case serializers appear in camelCase, as the API reads them."""
    from loyalty.api.errors import camel

    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter.get("in") == "query":
                    parameter["name"] = camel(parameter["name"])
    return result
