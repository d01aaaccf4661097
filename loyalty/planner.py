"""Keeping PostgreSQL's planner statistics current while bulk work grows tables fast.

The planner chooses plans from each table's statistics, which autovacuum refreshes after 10 % of a
table has changed, at most once a minute per table. A bulk import outruns that: a membership table
going from 0 to 1,000,000 rows in two minutes is planned as if it held a few thousand, and the bulk
services' key checks (2,000 e-mail addresses or card numbers at a time) then scan the table instead
of probing its index: measured, about a quarter of the database's CPU in a 1,000,000-member import.
`refresh_if_stale` ANALYZEs, between chunks, the tables that have changed more than they had rows at
their last analysis (so each table a few times in all: at 10,000 rows, 20,000, 40,000, ...).
"""

from __future__ import annotations

import logging
import time

from django.db import connection

log = logging.getLogger(__name__)
MIN_CHANGES = 10_000  # rows: below, a table is cheap to plan for whatever its statistics say
EVERY_SECONDS = 5.0
_checked_at = 0.0
_STALE = """
SELECT s.schemaname, s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
WHERE s.n_mod_since_analyze > %s AND s.n_mod_since_analyze > greatest(c.reltuples, 0)
ORDER BY s.n_mod_since_analyze DESC
"""


def stale_tables() -> list[tuple[str, str]]:
    """(schema, table) of the tables whose changes since their last analysis outnumber their rows then."""
    with connection.cursor() as cursor:
        cursor.execute(_STALE, [MIN_CHANGES])
        return list(cursor.fetchall())


def refresh_if_stale(*, force: bool = False) -> list[str]:
    """ANALYZE the stale tables (PostgreSQL, outside a transaction; at most every EVERY_SECONDS per
    process unless forced). One caller at a time does it (an advisory lock the others skip)."""
    global _checked_at
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return []
    now = time.monotonic()
    if not force and now - _checked_at < EVERY_SECONDS:
        return []
    _checked_at = now
    analyzed = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtextextended('loyalty-planner-statistics', 0))")
        if not cursor.fetchone()[0]:
            return []
        try:
            for schema, table in stale_tables():
                name = f"{connection.ops.quote_name(schema)}.{connection.ops.quote_name(table)}"
                started = time.monotonic()
                cursor.execute(f"ANALYZE {name}")
                log.info("analyzed %s in %.2f s", name, time.monotonic() - started)
                analyzed.append(table)
        finally:
            cursor.execute("SELECT pg_advisory_unlock(hashtextextended('loyalty-planner-statistics', 0))")
    return analyzed
