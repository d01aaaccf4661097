"""Limit/offset with a total count for searches; cursors for append-only logs."""

from base64 import b64decode
from binascii import Error as Base64Error
from urllib import parse

from rest_framework import pagination
from rest_framework.exceptions import ErrorDetail, NotFound, ValidationError

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


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    default_limit = 50
    max_limit = 500


class LogCursorPagination(pagination.CursorPagination):
    """Newest first by id: stable under concurrent appends, cheap at any depth."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500

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
