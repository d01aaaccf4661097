"""Stored JSON (booking metadata, a transaction's member context and caps, traces) shown to people as
tables and lists, never as raw JSON. Pure: a value in, escaped HTML out."""

from __future__ import annotations

from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

EMPTY = "(none)"


def label(key: Any) -> str:
    """ "pointType" / "point_type" -> "point type"."""
    text = str(key).replace("_", " ")
    return "".join(f" {c.lower()}" if c.isupper() and i and text[i - 1].islower() else c for i, c in enumerate(text))


def readable(value: Any) -> SafeString:
    if value is None or value == "" or value == [] or value == {}:
        return format_html('<span class="quiet">{}</span>', EMPTY)
    if isinstance(value, bool):
        return format_html("{}", "yes" if value else "no")
    if isinstance(value, dict):
        rows = format_html_join(
            "", "<tr><th>{}</th><td>{}</td></tr>", ((label(k), readable(v)) for k, v in value.items())
        )
        return format_html('<table class="readable">{}</table>', rows)
    if isinstance(value, list | tuple):
        if all(isinstance(item, dict) for item in value):
            return _table_of(value)
        if all(not isinstance(item, dict | list | tuple) for item in value):
            return format_html("{}", ", ".join(str(item) for item in value))
        return format_html("<ol>{}</ol>", format_html_join("", "<li>{}</li>", ((readable(item),) for item in value)))
    return format_html("{}", value)


def _table_of(rows: list[dict[str, Any]]) -> SafeString:
    """A list of objects as one table, a column per key (in the order they first appear)."""
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    head = format_html_join("", "<th>{}</th>", ((label(c),) for c in columns))
    body = mark_safe(  # noqa: S308 - every cell is escaped by format_html_join / readable
        "".join("<tr>" + "".join(f"<td>{readable(row.get(c))}</td>" for c in columns) + "</tr>" for row in rows)
    )
    return format_html('<table class="readable"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>', head, body)
