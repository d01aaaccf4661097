"""Every event the test suite sees written to the outbox must be in the registry of event types
(webhooks.event_types.EVENT_TYPES), with a payload its JSON Schema accepts.

Webhook subscribers integrate against that registry, and nothing else ties it to the code: a new
event type, a renamed key or a payload that grew a field would otherwise go unnoticed. So for the whole
test session every row written to loyalty_event is recorded (type, membership number, payload as the
feed serves it: the JSON text read back), and at the end of the session an unknown type, a payload
its schema refuses, or a membership number on a type registered without one fails the run, as
tests/api_errors.py does for undocumented errors. Set EVENT_TYPES_SEEN=<file> to also write what was
seen (counts per type, how many carried a membership number, a first payload per type, the registered
types no test emitted, the problems) as JSON.

Where it looks. Rows reach the table through two doors only, and both are wrapped for the session:
- Django's SQLInsertCompiler.execute_sql: every ORM insert (Model.save, objects.create, bulk_create).
  On SQLite every helper of loyalty.bulk ends there (insert_models, insert_rows, stream_rows,
  insert_together and insert_with_children fall back to bulk_create), and so does the voucher
  register path's Event.objects.bulk_create on any database.
- loyalty.bulk's three writers of raw SQL on PostgreSQL: _insert_values (INSERT ... VALUES),
  _copy (COPY; its rows are recorded as they stream past) and _group_values (one table's part of a
  multi-table WITH statement: insert_together, insert_with_children, so record_and_emit and
  outbox_groups).
A post_save signal would see neither bulk_create nor the raw SQL, and a database trigger's record
would roll back with each test. No other code writes the table (no other raw INSERT names it).

Events a test writes itself (a made-up type that exercises the feed) are the test's, not the code's:
an insert whose nearest caller outside Django, loyalty/outbox.py and loyalty/bulk.py is a module under
tests/ is left out.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from webhooks.event_types import EVENT_TYPES

ROOT = Path(__file__).resolve().parent.parent
_TESTS = str(ROOT / "tests") + os.sep
_MACHINERY = {str(ROOT / "loyalty" / "outbox.py"), str(ROOT / "loyalty" / "bulk.py"), __file__}
_OUTSIDE = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix})  # the interpreter and installed packages


@dataclass
class Problem:
    """One kind of mismatch (type and what is wrong), how often it was seen, and a first example."""

    event_type: str
    what: str
    example: Any
    origin: str
    count: int = 0

    def line(self) -> str:
        example = json.dumps(self.example, sort_keys=True)
        if len(example) > 300:
            example = example[:300] + "..."
        times = f" ({self.count} times)" if self.count > 1 else ""
        return f"{self.event_type}: {self.what}{times}\n    from {self.origin}; payload {example}"


@dataclass
class Record:
    seen: Counter = field(default_factory=Counter)
    with_number: Counter = field(default_factory=Counter)
    examples: dict[str, Any] = field(default_factory=dict)
    problems: dict[tuple[str, str], Problem] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def problem(self, event_type: str, what: str, payload: Any, origin: str) -> None:
        found = self.problems.setdefault((event_type, what), Problem(event_type, what, payload, origin))
        found.count += 1


RECORD = Record()


@functools.cache
def _validator(event_type: str) -> Draft202012Validator:
    return Draft202012Validator(EVENT_TYPES[event_type].payload, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _origin() -> str | None:
    """`path:line` of the project code that writes the events; None when a test writes them itself."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if (
            filename.startswith(str(ROOT))
            and filename not in _MACHINERY
            and not filename.startswith(_OUTSIDE)
            and "site-packages" not in filename
        ):
            if filename.startswith(_TESTS):
                return None
            return f"{os.path.relpath(filename, ROOT)}:{frame.f_lineno}"
        frame = frame.f_back
    return "(no project code on the stack)"


def record(event_type: str, membership_number: str, payload: Any, origin: str) -> None:
    """Check one event against the registry."""
    try:
        served = json.loads(json.dumps(payload))  # what the feed hands out: the stored JSON, read back
    except (TypeError, ValueError):
        with RECORD.lock:
            RECORD.problem(event_type, "the payload is not JSON", repr(payload), origin)
        return
    known = EVENT_TYPES.get(event_type)
    errors = []
    if known is None:
        errors.append("not in webhooks.event_types.EVENT_TYPES")
    else:
        if membership_number and not known.membership:
            errors.append("carries a membership number, but the registry says its events carry none")
        error = best_match(_validator(event_type).iter_errors(served))
        if error is not None:
            where = "/".join(str(part) for part in error.absolute_path) or "(the payload)"
            errors.append(f"the payload does not match its schema at {where}: {error.message}")
    with RECORD.lock:
        RECORD.seen[event_type] += 1
        RECORD.with_number[event_type] += bool(membership_number)
        RECORD.examples.setdefault(event_type, served)
        for what in errors:
            RECORD.problem(event_type, what, served, origin)


def _is_event(model: Any) -> bool:
    return getattr(getattr(model, "_meta", None), "label", "") == "loyalty.Event"


def _record_rows(rows: Iterable[dict[str, Any]], origin: str) -> None:
    for row in rows:
        record(row.get("type", ""), row.get("membership_number", ""), row.get("payload", {}), origin)


def _recording_rows(rows: Iterable[dict[str, Any]], origin: str) -> Iterator[dict[str, Any]]:
    """The rows as they stream into a COPY, each recorded on its way."""
    for row in rows:
        record(row.get("type", ""), row.get("membership_number", ""), row.get("payload", {}), origin)
        yield row


def _wrap_orm_insert(execute_sql: Callable) -> Callable:
    @functools.wraps(execute_sql)
    def wrapper(self, *args, **kwargs):
        if _is_event(self.query.model) and (origin := _origin()) is not None:
            for obj in self.query.objs:
                record(obj.type, obj.membership_number, obj.payload, origin)
        return execute_sql(self, *args, **kwargs)

    return wrapper


def _wrap_rows_writer(writer: Callable, *, rows_at: int, streamed: bool = False) -> Callable:
    """A loyalty.bulk writer whose positional argument `rows_at` is the rows (dicts of attribute names)."""

    @functools.wraps(writer)
    def wrapper(model, *args, **kwargs):
        if _is_event(model) and (origin := _origin()) is not None:
            args = list(args)
            rows = args[rows_at - 1]
            if streamed:
                args[rows_at - 1] = _recording_rows(rows, origin)
            else:
                _record_rows(rows, origin)
        return writer(model, *args, **kwargs)

    return wrapper


def install() -> None:
    """Wrap the doors for the rest of the process (the test session)."""
    from django.db.models.sql import compiler

    from loyalty import bulk

    compiler.SQLInsertCompiler.execute_sql = _wrap_orm_insert(compiler.SQLInsertCompiler.execute_sql)
    bulk._insert_values = _wrap_rows_writer(bulk._insert_values, rows_at=2)  # (model, given, rows, ...)
    bulk._copy = _wrap_rows_writer(bulk._copy, rows_at=2, streamed=True)  # (model, given, rows, ...)
    bulk._group_values = _wrap_rows_writer(bulk._group_values, rows_at=1)  # (model, rows, expressions, ...)


def problems() -> list[str]:
    return [p.line() for p in sorted(RECORD.problems.values(), key=lambda p: (p.event_type, p.what))]


def dump() -> None:
    target = os.environ.get("EVENT_TYPES_SEEN")
    if target:
        with open(target, "w") as f:
            json.dump(
                {
                    "seen": dict(sorted(RECORD.seen.items())),
                    "with_membership_number": dict(sorted(RECORD.with_number.items())),
                    "not_seen": sorted(set(EVENT_TYPES) - set(RECORD.seen)),
                    "problems": problems(),
                    "examples": dict(sorted(RECORD.examples.items())),
                },
                f,
                indent=1,
            )
