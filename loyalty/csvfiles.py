"""The one CSV writer of the project: every cell a spreadsheet would run as a formula is written as text.

A cell beginning with `=`, `+`, `-`, `@`, a tab or a carriage return (OWASP's list) is a formula to Excel,
LibreOffice and Google Sheets: `=HYPERLINK(...)` as a member's name, or `=cmd|' /C calc'!A0` in a failed
import record, ran when a manager opened the download. Such a cell gets a leading apostrophe, which
spreadsheets read as "text" and do not show. A plain number keeps its sign: `-5.00` and `+31611112222` stay
as they are (ASCII digits with an optional sign and point, nothing else), so amounts stay numbers.

defusedcsv was considered: it leaves tab and carriage return alone and also rewrites `|` and `%` cells and
phone numbers (`+31...`), so the failed-records file would not go back in unchanged. `unescape_formula` is the
exact inverse of `escape_formula`, used by the CSV import (imports/parsing.py).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def escape_formula(text: str) -> str:
    """`text`, with a leading apostrophe when a spreadsheet would run it as a formula."""
    if text.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def unescape_formula(text: str) -> str:
    """What `escape_formula` was given, for a cell it wrote; any other text as it is."""
    if text.startswith("'") and text[1:].startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text[1:]):
        return text[1:]
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_line_writer(**options: Any) -> Callable[[Iterable[Any]], str]:
    """A function that turns a row into one CSV line (for streaming), text cells escaped; None is empty."""
    writer = csv.writer(_Echo(), **options)

    def line(row: Iterable[Any]) -> str:
        return writer.writerow(["" if c is None else escape_formula(c if isinstance(c, str) else str(c)) for c in row])

    return line
