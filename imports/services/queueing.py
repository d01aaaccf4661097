"""Storing a batch: the records go into the database in bulk chunks (COPY on PostgreSQL), then a
worker is queued."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.db import transaction

from imports import conf, events, workers
from imports.errors import EmptyImport, ImportTooLarge, UnknownImportType
from imports.models import BatchStatus, ImportBatch, ImportRecord
from imports.registry import ImportType, get_type
from loyalty.actors import Actor
from loyalty.audit import record_audit
from loyalty.bulk import stream_rows


def enqueue(batch: ImportBatch) -> None:
    """Start a worker on the batch once the transaction that stored it has committed: for types
    whose records do not depend on each other's order, IMPORT_TASKS_PER_BATCH of them, sharing its
    chunks; otherwise one, so the records apply in the file's order."""
    try:
        tasks = conf.tasks_per_batch() if get_type(batch.import_type).parallel else 1
    except UnknownImportType:
        tasks = 1  # the worker fails the batch

    def start() -> None:
        for _ in range(tasks):
            workers.start(workers.PROCESS_IMPORT_BATCH, batch.pk)

    transaction.on_commit(start)


@transaction.atomic
def queue_batch(
    *,
    import_type: ImportType,
    records: Iterable[tuple[int, Any]],
    actor: Actor,
    source: str,
    filename: str = "",
    columns: list[str] | None = None,
    max_records: int | None = None,
    key: str = "",
) -> ImportBatch:
    """Store every record of an upload as one batch and queue it. A file refused as a whole
    (bad encoding, no records) raises inside this transaction, so nothing is stored. A `key` given
    by the caller makes queueing once a database guarantee: the same key again is an IntegrityError."""
    batch = ImportBatch.objects.create(
        **({"key": key} if key else {}),
        import_type=import_type.key,
        source=source,
        filename=filename[:255],
        columns=columns or [],
        status=BatchStatus.QUEUED,
        created_by_user=actor.user,
        created_by_client=actor.client,
        actor_label=actor.label[:200],
    )

    def rows() -> Iterator[dict[str, Any]]:
        for count, (line, data) in enumerate(records, start=1):
            if max_records and count > max_records:
                raise ImportTooLarge(f"More than {max_records} records.")
            yield {"batch_id": batch.pk, "line": line, "data": data}

    # One COPY for the whole upload on PostgreSQL: parsing the next rows overlaps the server storing
    # the ones before, and the file is never held in memory.
    total = stream_rows(ImportRecord, rows(), columns={"batch_id", "line", "data"})
    if not total:
        raise EmptyImport()
    batch.total = total
    batch.save(update_fields=["total"])
    record_audit(
        actor,
        events.IMPORT_QUEUED,
        batch,
        changes={"import_type": [None, import_type.key], "records": [None, total], "source": [None, source]},
    )
    enqueue(batch)
    return batch


def actor_of(batch: ImportBatch) -> Actor:
    """Who applies the records: whoever queued the batch, so the audit trail names them."""
    return Actor(
        user=batch.created_by_user if batch.created_by_client_id is None else None,
        client=batch.created_by_client,
        system="imports",
        request_id=f"import-{batch.key}"[:64],
    )
