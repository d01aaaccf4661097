"""Limit/offset with a total count for searches; cursors for append-only logs."""

from rest_framework import pagination


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    default_limit = 50
    max_limit = 500


class LogCursorPagination(pagination.CursorPagination):
    """Newest first by id: stable under concurrent appends, cheap at any depth."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500


class FeedCursorPagination(LogCursorPagination):
    """Oldest first, for reading a feed forward."""

    ordering = "id"


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
