"""Limit/offset with a total count for searches; cursors for append-only logs. A `limit` or
`offset` that is not a whole number in range is a 400 naming it, not the default (DRF's way)."""

import re
from base64 import b64decode
from binascii import Error as Base64Error
from typing import Any
from urllib import parse

from rest_framework import pagination
from rest_framework.exceptions import ErrorDetail, NotFound, ValidationError
from rest_framework.request import Request

MAX_ID = 2**63 - 1
INVALID_CURSOR = "invalid_cursor"
CURSOR_TOKENS = {"o", "r", "p"}  # offset, reverse, position: what DRF's cursors hold


def invalid_cursor(parameter: str = "cursor") -> ValidationError:
    """The one answer to a cursor this API did not hand out, on every endpoint that reads one:
    400 `validation_error` with the parameter's error code `invalid_cursor`."""
    return ValidationError({parameter: [ErrorDetail("Invalid cursor: pass one this API returned.", INVALID_CURSOR)]})


def position_of(text: str) -> int | None:
    """A cursor position (an id) as handed out: decimal digits, 0 to MAX_ID; None for anything else."""
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= MAX_ID else None


MAX_OFFSET = MAX_ID  # the largest the databases take in OFFSET (a bigint); one more was a 500
_INTEGER = re.compile(r"-?[0-9]+")
MIN_BIGINT = -(2**63)


def whole_number(raw: str, *, minimum: int, maximum: int) -> int:
    """`raw` as an integer from `minimum` to `maximum`, or a ValidationError with DRF's IntegerField
    codes (`invalid`, `min_value`, `max_value`). Digits only: no "1.0", no spaces, no digits of
    other scripts, which int() would all take."""
    if not _INTEGER.fullmatch(raw):
        raise ValidationError([ErrorDetail("A valid integer is required.", "invalid")])
    digits = raw.lstrip("-").lstrip("0")
    # Past 20 digits only the sign matters (and int() refuses thousands of digits); 10**21 is past any bigint.
    value = (-1 if raw.startswith("-") else 1) * (int(digits or "0") if len(digits) <= 20 else 10**21)
    if value < minimum:
        raise ValidationError([ErrorDetail(f"Ensure this value is greater than or equal to {minimum}.", "min_value")])
    if value > maximum:
        raise ValidationError([ErrorDetail(f"Ensure this value is less than or equal to {maximum}.", "max_value")])
    return value


def query_int(request: Request, name: str, *, default: int, minimum: int, maximum: int) -> int:
    """The integer query parameter `name` (whole_number), `default` when absent; a 400 naming it."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return whole_number(raw, minimum=minimum, maximum=maximum)
    except ValidationError as exc:
        raise ValidationError({name: exc.detail}) from None


def _integer_schema(minimum: int, maximum: int, default: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": minimum, "maximum": maximum, "default": default}


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    default_limit = 50
    max_limit = 500

    def get_limit(self, request: Request) -> int:
        return query_int(request, self.limit_query_param, default=self.default_limit, minimum=1, maximum=self.max_limit)

    def get_offset(self, request: Request) -> int:
        return query_int(request, self.offset_query_param, default=0, minimum=0, maximum=MAX_OFFSET)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        limit, offset = super().get_schema_operation_parameters(view)
        limit["schema"] = _integer_schema(1, self.max_limit, self.default_limit)
        offset["schema"] = _integer_schema(0, MAX_OFFSET, 0)
        return [limit, offset]


class LogCursorPagination(pagination.CursorPagination):
    """Newest first by id: stable under concurrent appends, cheap at any depth."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500

    def get_page_size(self, request: Request) -> int:
        return query_int(
            request, self.page_size_query_param, default=self.page_size, minimum=1, maximum=self.max_page_size
        )

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = _integer_schema(1, self.max_page_size, self.page_size)
        return parameters

    def decode_cursor(self, request):
        """A cursor we did not hand out is bad input (400), not a missing page or a crash."""
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            cursor = None
            valid = False
        else:
            position = cursor.position if cursor else None
            valid = (position is None or position_of(position) is not None) and self._only_known_tokens(request)
        if not valid:
            raise invalid_cursor(self.cursor_query_param)
        return cursor

    def _only_known_tokens(self, request) -> bool:
        """DRF reads a cursor's offset, reverse flag and position and ignores anything else, so any
        text would pass as the first page; a cursor holding anything else is not one we handed out."""
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return True
        try:
            tokens = parse.parse_qs(b64decode(encoded.encode("ascii")).decode("ascii"), keep_blank_values=True)
        except (Base64Error, UnicodeError, ValueError):
            return False
        return set(tokens) <= CURSOR_TOKENS


def pagination_params(paginator: pagination.BasePagination | None) -> set[str]:
    if paginator is None:
        return set()
    names = {
        getattr(paginator, attr, None)
        for attr in (
            "limit_query_param",
            "offset_query_param",
            "cursor_query_param",
            "page_size_query_param",
        )
    }
    return {name for name in names if name}
