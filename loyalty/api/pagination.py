"""Limit/offset with a total count for searches; cursors for append-only logs."""

from rest_framework import pagination
from rest_framework.exceptions import ErrorDetail, NotFound, ValidationError

MAX_ID = 2**63 - 1


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
            valid = position is None or (position.isascii() and position.isdigit() and int(position) <= MAX_ID)
        if not valid:
            raise ValidationError(
                {
                    self.cursor_query_param: [
                        ErrorDetail("Invalid cursor: pass one this API returned.", "invalid_cursor")
                    ]
                }
            )
        return cursor


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
