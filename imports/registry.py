"""The import types. Each app declares its own in `<app>/import_types.py` with `register(...)`.

An import type names a record schema (a strict input serializer in snake_case; records arrive in
camelCase or snake_case) and the function that applies one validated record by calling the app's
own service, so an imported record gets the same validation, audit, events and ledger guarantees
as the same call through the API.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from djangorestframework_camel_case.util import camel_to_underscore
from rest_framework import serializers

from imports.errors import UnknownImportType
from loyalty.actors import Actor
from loyalty.api import json_input
from loyalty.api.errors import camel
from loyalty.api.serializers import validated


@dataclass
class ApplyContext:
    """What an apply function knows besides the record: who queued it, where it sits, a cache."""

    actor: Actor
    batch_key: str
    line: int
    cache: dict[str, Any] = field(default_factory=dict)

    def cached(self, name: str, key: Any, load: Callable[[], Any]) -> Any:
        """Per-run memo for lookups such as a sponsor or a point type by key."""
        bucket = self.cache.setdefault(name, {})
        if key not in bucket:
            bucket[key] = load()
        return bucket[key]

    @property
    def idempotency_key(self) -> str:
        """Unique per record: a ledger service given it books at most once, whatever happens."""
        return f"import:{self.batch_key}:{self.line}"


@functools.lru_cache(maxsize=4096)
def _snake(key: str) -> str:
    return camel_to_underscore(key)


def underscoreize(data: Any) -> Any:
    """camelCase keys to snake_case, recursively; `properties` and `attributes` are the caller's own
    names and stay as sent. Memoized per key: every record of a file has the same ones."""
    if isinstance(data, dict):
        return {
            (snake := _snake(k) if isinstance(k, str) else k): (
                underscoreize(v) if isinstance(v, dict | list) and snake not in ("properties", "attributes") else v
            )
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [underscoreize(v) for v in data]
    return data


check = validated  # records are validated as API bodies are: one serializer instance per thread


@dataclass
class BulkItem:
    """A validated record handed to a bulk writer: it sets `result` on each record it wrote."""

    values: dict[str, Any]
    context: ApplyContext
    result: dict[str, Any] | None = None


@dataclass
class ImportType:
    key: str
    title: str
    description: str
    serializer: type[serializers.Serializer]
    apply: Callable[[dict[str, Any], ApplyContext], dict[str, Any] | None]
    example: dict[str, Any]
    app: str = ""
    books_points: bool = False
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    # CSV columns besides the fields that `prepare` folds into a field, e.g. one line item's
    # productKey/quantity/unitPrice/amount into `items`: {field: (column, ...)}.
    csv_alternatives: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Plain-row types may write a whole chunk at once: the writer stores the records it can in
    # bulk and leaves the rest (anything that might be refused) to `apply`, one by one, so a
    # refusal always comes from the service with its own code.
    apply_bulk: Callable[[list[BulkItem]], None] | None = None
    # The bulk writer writes a run from the start of what it is given and stops at the first record
    # it leaves: the worker applies that one through `apply` and gives the writer the rest, so the
    # records take effect in the file's order (transactions: caps and budgets depend on it).
    bulk_keeps_order: bool = False
    # Optional: what `serializer` returns for a record, computed faster, or None when unsure (the
    # serializer then validates it and reports any error). Must give the serializer's result.
    fast_validate: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None
    # Records that do not depend on each other's order (each creates something new; a key given
    # twice fails the second time): the batch may run on IMPORT_TASKS_PER_BATCH workers at once,
    # chunks in parallel. Types whose records update, book or draw from stock keep one worker, so
    # the file's order holds.
    parallel: bool = False

    def fields(self) -> dict[str, serializers.Field]:
        return dict(self.serializer().fields)

    def required_fields(self) -> list[str]:
        return [name for name, f in self.fields().items() if f.required]

    @functools.cached_property
    def _structured(self) -> frozenset[str]:
        return frozenset(name for name, f in self.fields().items() if _is_structured(f))

    def json_fields(self) -> set[str]:
        return set(self._structured)

    def describe(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "description": self.description,
            "app": self.app,
            "books_points": self.books_points,
            "fields": [_describe_field(name, f, self.example) for name, f in self.fields().items()],
            "example": self.example,
            "csv_header": [camel(name) for name in self.fields()],
        }

    def normalize(self, data: Any, *, from_csv: bool) -> dict[str, Any]:
        """The record as the serializer takes it: snake_case keys; CSV cells parsed (empty = absent)."""
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Each record must be a JSON object."]})
        values = underscoreize(data)
        if from_csv:
            structured = self._structured
            cleaned: dict[str, Any] = {}
            for name, value in values.items():
                if isinstance(value, str):
                    value = value.strip()
                    if value == "":
                        continue
                    if name in structured and value[:1] in "[{":
                        try:
                            value = json_input.loads(value)
                        except json_input.MalformedJSON as exc:
                            raise serializers.ValidationError({name: [str(exc.detail)]}) from None
                        except ValueError:
                            raise serializers.ValidationError({name: ["Not valid JSON."]}) from None
                cleaned[name] = value
            values = cleaned
        if self.prepare:
            values = self.prepare(values)
        return values

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if self.fast_validate is not None:
            values = self.fast_validate(data)
            if values is not None:
                return values
        return check(self.serializer, data)


def _is_structured(f: serializers.Field) -> bool:
    structured = (
        serializers.JSONField,
        serializers.DictField,
        serializers.ListField,
        serializers.ListSerializer,
        serializers.Serializer,
    )
    return isinstance(f, structured)


TYPE_NAMES = [
    (serializers.BooleanField, "boolean"),
    (serializers.IntegerField, "integer"),
    (serializers.DecimalField, "decimal"),
    (serializers.DateTimeField, "datetime"),
    (serializers.DateField, "date"),
    (serializers.EmailField, "email"),
    (serializers.ChoiceField, "choice"),
    (serializers.ListSerializer, "array"),
    (serializers.ListField, "array"),
    (serializers.DictField, "object"),
    (serializers.JSONField, "object"),
    (serializers.Serializer, "object"),
]


def _type_name(f: serializers.Field) -> str:
    for cls, name in TYPE_NAMES:
        if isinstance(f, cls):
            return name
    return "string"


def _describe_field(name: str, f: serializers.Field, example: dict[str, Any]) -> dict[str, Any]:
    wire = camel(name)
    choices = list(getattr(f, "choices", {}) or []) if isinstance(f, serializers.ChoiceField) else []
    return {
        "name": wire,
        "type": _type_name(f),
        "required": bool(f.required),
        "description": str(f.help_text or ""),
        "choices": [str(c) for c in choices],
        "example": example.get(wire, example.get(name)),
    }


_TYPES: dict[str, ImportType] = {}


def register(import_type: ImportType) -> ImportType:
    if import_type.key in _TYPES and _TYPES[import_type.key] is not import_type:
        raise ValueError(f"Import type {import_type.key!r} is registered twice.")
    _TYPES[import_type.key] = import_type
    return import_type


def get_type(key: str) -> ImportType:
    try:
        return _TYPES[key]
    except KeyError:
        raise UnknownImportType(f"No import type {key!r}; GET /imports/importtypes lists them.") from None


def all_types() -> list[ImportType]:
    return sorted(_TYPES.values(), key=lambda t: t.key)
