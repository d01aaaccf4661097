"""camelCase on the wire, snake_case inside: djangorestframework-camel-case's JSON renderer and
parser, with the same results, each key converted once per process instead of by a regex every
time (the answer to POST /tx carries a few hundred keys).
"""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils.encoding import force_str
from django.utils.functional import Promise
from djangorestframework_camel_case.parser import CamelCaseJSONParser
from djangorestframework_camel_case.render import CamelCaseJSONRenderer
from djangorestframework_camel_case.settings import api_settings
from djangorestframework_camel_case.util import camel_to_underscore, camelize_re, underscore_to_camel
from rest_framework.exceptions import ParseError
from rest_framework.utils.serializer_helpers import ReturnDict

from loyalty.api import json_input

_SCALARS = (str, int, float, Decimal, bool, type(None))


@functools.lru_cache(maxsize=8192)
def to_camel(key: str) -> str:
    return camelize_re.sub(underscore_to_camel, key) if "_" in key else key


@functools.lru_cache(maxsize=8192)
def to_snake(key: str) -> str:
    return camel_to_underscore(key, **api_settings.JSON_UNDERSCOREIZE)


def _ignored() -> tuple[frozenset, frozenset]:
    options = api_settings.JSON_UNDERSCOREIZE
    return frozenset(options.get("ignore_fields") or ()), frozenset(options.get("ignore_keys") or ())


def camelize(data: Any) -> Any:
    """djangorestframework_camel_case.util.camelize with the project's options."""
    ignore_fields, ignore_keys = _ignored()

    def convert(data: Any) -> Any:
        kind = type(data)
        if kind is str or kind is int or data is None or kind is bool or kind is Decimal or kind is float:
            return data
        if kind is dict or kind is ReturnDict or isinstance(data, dict):
            out: dict = ReturnDict(serializer=data.serializer) if isinstance(data, ReturnDict) else {}
            for key, value in data.items():
                if isinstance(key, Promise):
                    key = force_str(key)
                new_key = to_camel(key) if isinstance(key, str) else key
                if ignore_fields and (key in ignore_fields or new_key in ignore_fields):
                    out[key if key in ignore_keys or new_key in ignore_keys else new_key] = value
                    continue
                out[key if ignore_keys and (key in ignore_keys or new_key in ignore_keys) else new_key] = convert(value)
            return out
        if kind is list:
            return [convert(item) for item in data]
        if isinstance(data, _SCALARS):
            return data
        if isinstance(data, Promise):
            return force_str(data)
        try:
            items = iter(data)
        except TypeError:
            return data
        return [convert(item) for item in items]

    return convert(data)


def underscoreize(data: Any) -> Any:
    """djangorestframework_camel_case.util.underscoreize for parsed JSON (dicts, lists, scalars)."""
    if isinstance(data, dict):
        ignore_fields, ignore_keys = _ignored()
        out = {}
        for key, value in data.items():
            new_key = to_snake(key) if isinstance(key, str) else key
            keep = key in ignore_fields or new_key in ignore_fields
            out[key if key in ignore_keys or new_key in ignore_keys else new_key] = (
                value if keep else underscoreize(value)
            )
        return out
    if isinstance(data, list):
        return [underscoreize(item) for item in data]
    return data


class JSONRenderer(CamelCaseJSONRenderer):
    def render(self, data, *args, **kwargs):
        return super(CamelCaseJSONRenderer, self).render(camelize(data), *args, **kwargs)


class JSONParser(CamelCaseJSONParser):
    """Bodies read by loyalty.api.json_input (nesting and NUL limits), keys to snake_case."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return underscoreize(json_input.loads(stream.read().decode(encoding)))
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
