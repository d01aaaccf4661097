"""Bounded waits on PostgreSQL: the timeouts a process's connections run with, and what a timeout answers.

Web processes open their connections with `lock_timeout` and `statement_timeout` (config/settings/base.py), so a
request never waits for a row lock longer than DATABASE_LOCK_TIMEOUT nor runs a statement longer than
DATABASE_STATEMENT_TIMEOUT: it answers 503 `busy` well before gunicorn's timeout would kill the worker. A Celery
worker's tasks (imports, exports, jobs) may wait and run longer: it switches to the DATABASE_WORKER_* values.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.db import DatabaseError, connections

_TIMEOUTS = re.compile(r"\s*-c (?:lock|statement)_timeout=\d+")
# lock_not_available (lock_timeout), query_canceled (statement_timeout)
BUSY_SQLSTATES = {"55P03", "57014"}


def is_timeout(exc: BaseException) -> bool:
    """A database error raised because a lock or statement timeout ran out."""
    return isinstance(exc, DatabaseError) and getattr(exc.__cause__, "sqlstate", None) in BUSY_SQLSTATES


def use_worker_timeouts(**_: object) -> None:
    """Celery's worker_init / worker_process_init: the worker's connections from now on wait and run longer."""
    for alias in connections:
        conn = connections[alias]
        if conn.vendor != "postgresql":
            continue
        options = conn.settings_dict.setdefault("OPTIONS", {})
        kept = _TIMEOUTS.sub("", options.get("options", "")).strip()
        timeouts = (
            f"-c lock_timeout={round(settings.DATABASE_WORKER_LOCK_TIMEOUT * 1000)} "
            f"-c statement_timeout={round(settings.DATABASE_WORKER_STATEMENT_TIMEOUT * 1000)}"
        )
        options["options"] = f"{kept} {timeouts}".strip()
        conn.close()  # the next query opens a connection with the worker's timeouts
