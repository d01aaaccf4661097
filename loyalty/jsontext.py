"""JSON text for jsonb columns written in bulk (COPY, unnest): orjson, about ten times the standard
library's encoder, with the column's own encoder for what orjson does not take the same way.

Dates and times, dataclasses and anything else orjson does not serialize natively go to the
encoder's `default` (DjangoJSONEncoder writes datetimes its own way), so the stored value is what
`json.dumps(value, cls=encoder)` gives. A value orjson refuses outright (a non-string key, an
integer beyond 64 bits) is encoded by the standard library instead.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import orjson

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


@functools.lru_cache(maxsize=32)
def dumper(encoder: type[json.JSONEncoder] | None = None) -> Callable[[Any], str]:
    """A function value -> JSON text, equivalent to json.dumps(value, cls=encoder)."""
    cls = encoder or json.JSONEncoder
    default = cls().default

    def dumps(value: Any) -> str:
        try:
            return orjson.dumps(value, default=default, option=_OPTIONS).decode()
        except orjson.JSONEncodeError:
            return json.dumps(value, cls=cls)

    return dumps


class StrEncoder(json.JSONEncoder):
    """json.dumps(value, default=str) as an encoder class: anything else is written as its str()."""

    def default(self, o: Any) -> str:
        return str(o)
