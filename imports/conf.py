"""The knobs of the imports app, from settings (config/settings/base.py reads them from the environment)."""

from django.conf import settings


def _value(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def max_bytes() -> int:
    """Largest accepted import body or upload (413 above it)."""
    return _value("IMPORT_MAX_BYTES", 200 * 1024 * 1024)


def chunk_size() -> int:
    """Records a worker claims at a time (plain-row types)."""
    return _value("IMPORT_CHUNK_SIZE", 2000)


def ledger_chunk_size() -> int:
    """Records a worker takes at a time for types that book points. Adjustments and transfers still
    book each in its own transaction; the transactions type books a whole chunk in one, holding its
    members' locks that long (about 0.2 s for 250 records)."""
    return _value("IMPORT_LEDGER_CHUNK_SIZE", 250)


def lock_budget() -> float:
    """Seconds a transaction applying records one by one (types without a bulk writer, such as alternate ids)
    may run before it commits what it applied: the member rows its records lock are held no longer, so a
    request for the same member (POST /tx) waits at most about that long."""
    return _value("IMPORT_LOCK_BUDGET_MS", 100) / 1000


def tasks_per_batch() -> int:
    """Worker tasks queued for a batch of a type whose records do not depend on each other's order
    (ImportType.parallel): they share it chunk by chunk, so with as many worker processes a batch
    runs on that many cores. Other types always get one task."""
    return max(_value("IMPORT_TASKS_PER_BATCH", 2), 1)


def claim_timeout() -> int:
    """Seconds after which a claimed but unfinished chunk (its worker died) may be claimed again."""
    return _value("IMPORT_CLAIM_TIMEOUT", 600)


def export_async_threshold() -> int:
    """Exports with more rows than this run as a background job."""
    return _value("EXPORT_ASYNC_THRESHOLD", 200_000)
