"""Processing a batch in chunks, safely under concurrent and redelivered workers.

1. A worker takes a chunk of pending records. On PostgreSQL (plain-row types and types with a bulk
   writer) it locks them, skipping rows another worker holds, in the transaction that applies them:
   nothing marks them claimed, and a worker that dies rolls back and frees them at once. Otherwise
   it claims them in a short transaction of its own (status `claimed`, a fresh claim token) and
   re-locks them, still holding its token, when it applies them; a dead worker's claims are taken
   again after `IMPORT_CLAIM_TIMEOUT` seconds.
2. A record's effects and its outcome (`ok`/`failed`) commit in one transaction, so a record is
   applied at most once, and a redelivered task finds nothing pending. Plain-row types apply a
   whole chunk in one transaction with a savepoint per record (types with a bulk writer first write,
   in one savepoint, every record their app's bulk service takes, then the rest one by one); types
   that book points one by one apply each record in its own transaction (short lock holds, retried
   on a deadlock).
3. Between chunks the worker reads the batch status, so a cancel stops it there."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, OperationalError, connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from imports import conf, events
from imports.errors import UnknownImportType
from imports.models import BatchStatus, ImportBatch, ImportRecord, RecordStatus
from imports.parsing import ROW_ERROR
from imports.registry import ApplyContext, BulkItem, ImportType, get_type
from imports.services.queueing import actor_of
from loyalty.actors import Actor
from loyalty.api.errors import flatten
from loyalty.audit import json_value
from loyalty.collector import bulk_work
from loyalty.errors import DomainError
from loyalty.jsontext import StrEncoder, dumper
from loyalty.memo import reads_once
from loyalty.outbox import emit_event
from loyalty.planner import refresh_if_stale

log = logging.getLogger(__name__)
RETRYABLE_PG_CODES = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock timeout
OUTCOME_FIELDS = ["status", "processed_at", "error_code", "error_message", "errors", "result"]


def skip_locked(qs):
    if connection.features.has_select_for_update_skip_locked:
        return qs.select_for_update(skip_locked=True)
    return qs  # SQLite: a write transaction holds the whole database


def claim_chunk(batch: ImportBatch, size: int) -> tuple[str, list[int]]:
    """Claim up to `size` records: pending ones first, then ones whose worker died."""
    token = uuid.uuid4().hex
    now = timezone.now()
    with transaction.atomic():
        base = ImportRecord.objects.filter(batch_id=batch.pk)
        ids = list(
            skip_locked(base.filter(status=RecordStatus.PENDING).order_by("line")).values_list("pk", flat=True)[:size]
        )
        if not ids:
            stale = now - timedelta(seconds=conf.claim_timeout())
            ids = list(
                skip_locked(
                    base.filter(status=RecordStatus.CLAIMED, claimed_at__lt=stale).order_by("line")
                ).values_list("pk", flat=True)[:size]
            )
        if ids:
            ImportRecord.objects.filter(pk__in=ids).update(
                status=RecordStatus.CLAIMED, claim_token=token, claimed_at=now
            )
    return token, ids


def _failure(record: ImportRecord, code: str, message: str, errors: list[dict[str, Any]] | None = None) -> None:
    record.status = RecordStatus.FAILED
    record.error_code = code[:60]
    record.error_message = message
    record.errors = errors or []
    record.result = {}


def validated(import_type: ImportType, record: ImportRecord, *, from_csv: bool) -> dict[str, Any]:
    data = record.data
    if isinstance(data, dict) and ROW_ERROR in data:
        raise ValidationError({"non_field_errors": [data[ROW_ERROR]]})
    return import_type.validate(import_type.normalize(data, from_csv=from_csv))


def run_record(
    import_type: ImportType,
    record: ImportRecord,
    context: ApplyContext,
    *,
    from_csv: bool,
    values: dict[str, Any] | None = None,
) -> None:
    """Validate and apply one record in a savepoint; set its outcome on the instance.

    A refusal (domain error, validation error, a unique key taken) marks it failed and undoes its
    savepoint. A deadlock or lost connection propagates: the caller retries the whole unit.
    """
    record.processed_at = timezone.now()
    try:
        with transaction.atomic():
            if values is None:
                values = validated(import_type, record, from_csv=from_csv)
            result = json_value(import_type.apply(values, context) or {})
    except DomainError as exc:
        _failure(record, exc.code, exc.detail, exc.errors)
    except ValidationError as exc:
        errors = flatten(exc.detail)
        detail = "; ".join(f"{e['field'] or 'record'}: {e['message']}" for e in errors[:5]) or "Invalid record."
        _failure(record, "validation_error", detail, errors)
    except DjangoValidationError as exc:
        _failure(record, "validation_error", "; ".join(exc.messages))
    except IntegrityError as exc:
        _failure(record, "conflict", f"A unique value is taken: {exc}"[:1000])
    except OperationalError:
        raise
    except Exception as exc:  # a bug must not lose the batch: the record says what happened
        log.exception("import %s line %s failed unexpectedly", context.batch_key, record.line)
        _failure(record, "internal_error", f"{type(exc).__name__}: {exc}"[:1000])
    else:
        record.status = RecordStatus.OK
        record.error_code = record.error_message = ""
        record.errors = []
        record.result = result


def _save_outcomes(records: list[ImportRecord]) -> None:
    """Write each record's outcome. PostgreSQL: one UPDATE from one JSON document of the outcomes
    (jsonb_array_elements), far cheaper than bulk_update's CASE per field and row, or than arrays
    built value by value by the driver; elsewhere bulk_update."""
    if not records:
        return
    if connection.vendor != "postgresql":
        ImportRecord.objects.bulk_update(records, OUTCOME_FIELDS, batch_size=500)
        return
    outcomes = dumper(StrEncoder)(
        [
            [r.pk, r.status, r.processed_at, r.error_code, r.error_message, r.errors or [], r.result or {}]
            for r in records
        ]
    )
    table = ImportRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS r SET status = v.o->>1, processed_at = (v.o->>2)::timestamptz, "  # noqa: S608
            "error_code = v.o->>3, error_message = v.o->>4, errors = v.o->5, result = v.o->6 "
            "FROM jsonb_array_elements(%s::jsonb) AS v(o) WHERE r.id = (v.o->>0)::bigint",
            [outcomes],
        )


def _count(batch_id: int, records: list[ImportRecord]) -> None:
    ok = sum(1 for r in records if r.status == RecordStatus.OK)
    failed = len(records) - ok
    ImportBatch.objects.filter(pk=batch_id).update(
        ok_count=F("ok_count") + ok, failed_count=F("failed_count") + failed, updated_at=timezone.now()
    )


def _apply_chunk(batch: ImportBatch, import_type: ImportType, token: str, ids: list[int], cache: dict) -> int:
    """Plain-row types, and types with a bulk writer: a claimed chunk in one transaction."""
    with transaction.atomic():
        records = list(
            ImportRecord.objects.select_for_update()
            .filter(pk__in=ids, claim_token=token, status=RecordStatus.CLAIMED)
            .only("pk", "batch_id", "line", "data")  # the outcome columns are written, never read
            .order_by("line")
        )
        _apply_records(batch, import_type, records, cache)
    return len(records)


def _lock_and_apply(
    batch: ImportBatch, import_type: ImportType, size: int, cache: dict, after: int = 0
) -> tuple[int, int]:
    """PostgreSQL, plain-row types and types with a bulk writer: claim by row lock. The chunk's pending
    records after line `after` (else those a dead worker claimed) are locked, skipping rows another
    worker holds, and applied in the same transaction: no claim is written, and a worker that dies
    rolls back and frees its records at once. Returns how many it applied (0: none left after
    `after`) and the last line it took.

    `after` keeps the search from walking the index entries of every record finished before (each
    finished record leaves one under `pending` until vacuum): without it, finding the next chunk cost
    more the further a big batch got, about a third of the database's time at 1,000,000 records."""
    stale = timezone.now() - timedelta(seconds=conf.claim_timeout())
    base = ImportRecord.objects.filter(batch_id=batch.pk).only("pk", "batch_id", "line", "data").order_by("line")
    with transaction.atomic():
        pending = base.filter(status=RecordStatus.PENDING, line__gt=after)
        records = list(pending.select_for_update(skip_locked=True)[:size])
        if not records:
            claimed = base.filter(status=RecordStatus.CLAIMED, claimed_at__lt=stale)
            records = list(claimed.select_for_update(skip_locked=True)[:size])
        records = _apply_records(batch, import_type, records, cache, budget=conf.lock_budget())
    return len(records), max((r.line for r in records), default=after)


def _apply_records(
    batch: ImportBatch,
    import_type: ImportType,
    records: list[ImportRecord],
    cache: dict,
    budget: float | None = None,
) -> list[ImportRecord]:
    """Apply locked records and write their outcomes, inside the caller's transaction: a bulk writer
    takes what it can, the rest go one by one, each in its savepoint. With a `budget` (seconds; records
    locked by row lock only), records applied one by one stop once it is spent, so the transaction commits
    and frees the rows its records locked (a member's, say) for the requests waiting on them; the records
    left over are only locked, and pending again at commit. Returns the records applied."""
    if not records:
        return records
    actor = actor_of(batch)
    from_csv = batch.source != "json"
    if import_type.apply_bulk is not None and import_type.bulk_keeps_order:
        _write_in_order(import_type, records, actor, batch.key, cache, from_csv)
    elif import_type.apply_bulk is not None:
        _write_in_bulk(import_type, records, actor, batch.key, cache, from_csv)
    else:
        deadline = time.monotonic() + budget if budget else None
        for index, record in enumerate(records):
            context = ApplyContext(actor=actor, batch_key=batch.key, line=record.line, cache=cache)
            run_record(import_type, record, context, from_csv=from_csv)
            if deadline is not None and time.monotonic() >= deadline:
                records = records[: index + 1]
                break
    _save_outcomes(records)
    _count(batch.pk, records)
    return records


def _write_in_bulk(
    import_type: ImportType, records: list[ImportRecord], actor: Actor, batch_key: str, cache: dict, from_csv: bool
) -> None:
    """Validate every record, let the type's bulk writer store what it safely can in one go, then
    apply the rest one by one through the service (in line order), each in its savepoint."""
    items: dict[int, BulkItem] = {}
    values: dict[int, dict[str, Any]] = {}
    for record in records:
        context = ApplyContext(actor=actor, batch_key=batch_key, line=record.line, cache=cache)
        try:
            values[record.pk] = validated(import_type, record, from_csv=from_csv)
        except Exception:  # noqa: S112 - run_record reports it with its code
            continue
        items[record.pk] = BulkItem(values=values[record.pk], context=context)
    try:
        with transaction.atomic():
            import_type.apply_bulk(list(items.values()))
    except (DomainError, IntegrityError, DataError):  # e.g. a concurrent writer took a key: one by one instead
        for item in items.values():
            item.result = None
    except OperationalError:
        raise  # a deadlock or lost connection: the whole chunk is retried
    except Exception:  # a bug must not lose the batch: the records say what happens one by one
        log.exception("import %s: the bulk writer of %s failed; applying one by one", batch_key, import_type.key)
        for item in items.values():
            item.result = None
    now = timezone.now()
    for record in records:
        item = items.get(record.pk)
        if item is not None and item.result is not None:
            record.status, record.processed_at = RecordStatus.OK, now
            record.error_code = record.error_message = ""
            record.errors, record.result = [], json_value(item.result)
        else:
            context = (
                item.context if item else ApplyContext(actor=actor, batch_key=batch_key, line=record.line, cache=cache)
            )
            run_record(import_type, record, context, from_csv=from_csv, values=values.get(record.pk))


def _write_in_order(
    import_type: ImportType, records: list[ImportRecord], actor: Actor, batch_key: str, cache: dict, from_csv: bool
) -> None:
    """Bulk writers that keep the file's order: the writer writes a run from the start of the records
    left; the first record it leaves (or one that failed validation) is applied one by one, in its
    savepoint; then the writer gets the rest. After a writer's failure the rest go one by one."""
    contexts = {r.pk: ApplyContext(actor=actor, batch_key=batch_key, line=r.line, cache=cache) for r in records}
    values: dict[int, dict[str, Any]] = {}
    for record in records:
        try:
            values[record.pk] = validated(import_type, record, from_csv=from_csv)
        except Exception:  # noqa: S112 - run_record reports it with its code
            continue
    start, broken = 0, False
    while start < len(records):
        run: list[tuple[ImportRecord, BulkItem]] = []
        for record in records[start:] if not broken else ():
            if record.pk not in values:
                break
            run.append((record, BulkItem(values=values[record.pk], context=contexts[record.pk])))
        if run:
            try:
                with transaction.atomic():
                    import_type.apply_bulk([item for _, item in run])
            except OperationalError:
                raise  # a deadlock or lost connection: the whole chunk is retried
            except (DomainError, IntegrityError, DataError):  # e.g. a concurrent writer took a txId
                run = []
            except Exception:  # a bug must not lose the batch: the records say what happens one by one
                log.exception("import %s: the bulk writer of %s failed; one by one", batch_key, import_type.key)
                run, broken = [], True
        now = timezone.now()
        for record, item in run:
            if item.result is None:
                break
            record.status, record.processed_at = RecordStatus.OK, now
            record.error_code = record.error_message = ""
            record.errors, record.result = [], json_value(item.result)
            start += 1
        if start < len(records):
            record = records[start]
            run_record(import_type, record, contexts[record.pk], from_csv=from_csv, values=values.get(record.pk))
            start += 1


def _apply_each(batch: ImportBatch, import_type: ImportType, token: str, ids: list[int], cache: dict) -> int:
    """Types that book points: each record in its own transaction, retried on a deadlock."""
    actor = actor_of(batch)
    done = 0
    for pk in ids:
        for attempt in range(4):
            try:
                with transaction.atomic():
                    record = (
                        ImportRecord.objects.select_for_update(of=("self",))  # not the batch its ordering joins
                        .filter(pk=pk, claim_token=token, status=RecordStatus.CLAIMED)
                        .first()
                    )
                    if record is None:  # claimed again by another worker after a timeout
                        break
                    context = ApplyContext(actor=actor, batch_key=batch.key, line=record.line, cache=cache)
                    run_record(import_type, record, context, from_csv=batch.source != "json")
                    _save_outcomes([record])
                    _count(batch.pk, [record])
                done += 1
                break
            except OperationalError as exc:
                code = getattr(getattr(exc, "__cause__", None), "sqlstate", None)
                if code not in RETRYABLE_PG_CODES or attempt == 3:
                    raise
                time.sleep(0.02 * (attempt + 1))
    return done


def _with_retries(apply, *args) -> int:
    """A chunk that meets a deadlock or serialization failure rolls back and runs again: its records
    are still claimed with this worker's token, and nothing of it was committed."""
    for attempt in range(4):
        try:
            return apply(*args)
        except OperationalError as exc:
            code = getattr(getattr(exc, "__cause__", None), "sqlstate", None)
            if code not in RETRYABLE_PG_CODES or attempt == 3:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _status(batch_id: int) -> str | None:
    return ImportBatch.objects.filter(pk=batch_id).values_list("status", flat=True).first()


def _progress(batch: ImportBatch, done: int, started: float) -> None:
    elapsed = max(time.monotonic() - started, 1e-6)
    rate = done / elapsed
    row = ImportBatch.objects.filter(pk=batch.pk).values("total", "ok_count", "failed_count").first()
    if row is None:
        return
    left = max(row["total"] - row["ok_count"] - row["failed_count"], 0)
    ImportBatch.objects.filter(pk=batch.pk).update(
        rate=round(rate, 2), eta_seconds=int(left / rate) if rate > 0 else None
    )


def finish_if_done(batch: ImportBatch) -> bool:
    """Complete the batch when no record is left to apply: once, whichever worker gets here."""
    if ImportRecord.objects.filter(batch_id=batch.pk, status__in=[RecordStatus.PENDING, RecordStatus.CLAIMED]).exists():
        return False
    with transaction.atomic():
        counts = ImportRecord.objects.filter(batch_id=batch.pk).aggregate(
            ok=Count("pk", filter=Q(status=RecordStatus.OK)), failed=Count("pk", filter=Q(status=RecordStatus.FAILED))
        )
        now = timezone.now()
        changed = ImportBatch.objects.filter(pk=batch.pk, status=BatchStatus.RUNNING).update(
            status=BatchStatus.COMPLETED,
            ok_count=counts["ok"],
            failed_count=counts["failed"],
            finished_at=now,
            eta_seconds=0,
            updated_at=now,
        )
        if changed:
            emit_event(
                events.IMPORT_COMPLETED,
                payload={
                    "key": batch.key,
                    "importType": batch.import_type,
                    "total": batch.total,
                    "ok": counts["ok"],
                    "failed": counts["failed"],
                },
            )
    return bool(changed)


def fail_batch(batch: ImportBatch, error: str) -> None:
    with transaction.atomic():
        changed = ImportBatch.objects.filter(pk=batch.pk, status__in=[BatchStatus.QUEUED, BatchStatus.RUNNING]).update(
            status=BatchStatus.FAILED, error=error[:4000], finished_at=timezone.now(), eta_seconds=None
        )
        if changed:
            emit_event(
                events.IMPORT_FAILED, payload={"key": batch.key, "importType": batch.import_type, "error": error[:500]}
            )


def process_batch(batch_id: int, *, max_chunks: int | None = None) -> dict[str, Any]:
    """Run a batch until no record is left, it is cancelled, or `max_chunks` chunks are done.
    Safe to call any number of times and from several workers at once."""
    batch = ImportBatch.objects.filter(pk=batch_id).first()
    if batch is None or batch.status not in (BatchStatus.QUEUED, BatchStatus.RUNNING):
        return {"processed": 0, "status": batch.status if batch else None}
    try:
        import_type = get_type(batch.import_type)
    except UnknownImportType as exc:
        fail_batch(batch, exc.detail)
        return {"processed": 0, "status": BatchStatus.FAILED}
    ImportBatch.objects.filter(pk=batch.pk, status=BatchStatus.QUEUED).update(
        status=BatchStatus.RUNNING, started_at=timezone.now()
    )
    size = conf.ledger_chunk_size() if import_type.books_points else conf.chunk_size()
    # Types that book points go one record per transaction (short lock holds), unless they have a bulk
    # writer (transactions: book_many), which books the chunk in one transaction.
    if import_type.books_points and import_type.apply_bulk is None:
        apply = _apply_each
    elif connection.features.has_select_for_update_skip_locked:
        apply = _lock_and_apply
    else:
        apply = _apply_chunk  # SQLite: claimed in a transaction of its own
    cache: dict[str, Any] = {}
    started, done, chunks, after, take = time.monotonic(), 0, 0, 0, size
    try:
        with bulk_work():  # the chunks allocate many short-lived objects: collect rarely (loyalty.collector)
            while max_chunks is None or chunks < max_chunks:
                if _status(batch.pk) != BatchStatus.RUNNING:
                    break  # cancelled between chunks, or finished by another worker
                # One unit of work per chunk: the program, point types, tiers, channels and product facts
                # are read once for its records, not once each (loyalty.memo).
                if apply is _lock_and_apply:
                    applied, last = reads_once(_with_retries)(_lock_and_apply, batch, import_type, take, cache, after)
                    if not applied:
                        if after == 0:
                            break
                        after = 0  # once more from the start: records a dead worker's rollback freed
                        take = size
                        continue
                    after = last
                    if import_type.apply_bulk is None:  # applied within the lock budget: lock about that many next
                        take = min(size, max(2 * applied, 16))
                else:
                    token, ids = claim_chunk(batch, size)
                    if not ids:
                        break
                    applied = reads_once(_with_retries)(apply, batch, import_type, token, ids, cache)
                done += applied
                chunks += 1
                _progress(batch, done, started)
                refresh_if_stale()  # the tables this batch grows: keep the key checks on their indexes
    except Exception as exc:
        log.exception("import batch %s failed", batch.key)
        fail_batch(batch, f"{type(exc).__name__}: {exc}")
        return {"processed": done, "status": BatchStatus.FAILED}
    finish_if_done(batch)
    return {"processed": done, "status": _status(batch.pk)}


def system_actor() -> Actor:
    return Actor.for_system("imports")
