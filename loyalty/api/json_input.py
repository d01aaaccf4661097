"""JSON from outside (request bodies, JSON cells of a CSV import, JSON typed into an admin form), read
with two limits the standard library does not keep:

- nesting: at most MAX_DEPTH arrays and objects inside each other. The standard parser recurses once per
  level, so a 950-byte body of 475 brackets raised RecursionError (a 500) on every JSON endpoint; no
  field of the API nests more than a few levels.
- NUL: no `\\u0000` in any key or string. PostgreSQL's text and jsonb cannot store it, so a NUL in a
  JSON-typed value (`properties`, an import record) failed the insert with DataError (a 500).

Both refusals are `MalformedJSON`, a ParseError: 400 `malformed_request`, with the place named in `errors`.
"""

from __future__ import annotations

import json
import re
from array import array
from itertools import accumulate
from typing import Any

from rest_framework.exceptions import ParseError

MAX_DEPTH = 64

_ESCAPE = re.compile(r"\\.", re.DOTALL)
# Every byte but brackets and quotes, deleted by bytes.translate; then opening bracket -> +1, closing -> -1.
_NOT_STRUCTURE = bytes(sorted(set(range(256)) - set(b'[]{}"')))
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


class MalformedJSON(ParseError):
    """Well-formed JSON the API does not take; `errors` names where ({field, code, message})."""

    def __init__(self, detail: str, *, errors: list[dict[str, str]]):
        super().__init__(detail)
        self.errors = errors


def too_deep(text: str) -> bool:
    """Whether JSON text nests arrays and objects deeper than MAX_DEPTH (brackets in strings are text)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:  # the common small body: nothing to scan
        return False
    # Brackets and quotes alone (escapes dropped first, so each quote left opens or closes a string),
    # then only what lies outside strings: C-speed steps, about a third of json.loads' time.
    text = _ESCAPE.sub("", text) if "\\" in text else text
    outside = b"".join(text.encode("utf-8", "surrogatepass").translate(None, _NOT_STRUCTURE).split(b'"')[::2])
    return max(accumulate(array("b", outside.translate(_STEPS))), default=0) > MAX_DEPTH


def _nul_at(data: Any) -> str | None:
    """The path (keys as sent, list indexes) of the first key or string holding a NUL, else None."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return path
        elif isinstance(value, dict):
            for key, item in value.items():
                where = f"{path}.{key}" if path else key
                if "\x00" in key:
                    return where
                stack.append((where, item))
        elif isinstance(value, list):
            stack.extend((f"{path}.{index}" if path else str(index), item) for index, item in enumerate(value))
    return None


def loads(text: str) -> Any:
    """json.loads for untrusted text: MalformedJSON past MAX_DEPTH or with a NUL, ValueError when it is
    not JSON (as json.loads)."""
    if too_deep(text):
        message = f"JSON nested deeper than {MAX_DEPTH} levels."
        raise MalformedJSON(message, errors=[{"field": "", "code": "too_deep", "message": message}])
    data = json.loads(text)
    if "\\u0000" in text:  # a NUL can only come in escaped: json.loads refuses a raw control character
        where = _nul_at(data)
        if where is not None:
            where = where.replace("\x00", "\\u0000")  # named as the JSON text spells it
            message = "A NUL character (\\u0000) is not allowed in JSON keys or strings."
            raise MalformedJSON(
                f"{message} Found at {where or 'the body'}.",
                errors=[{"field": where, "code": "null_character", "message": message}],
            )
    return data
