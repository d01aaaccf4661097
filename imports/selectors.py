"""Reads of the imports app."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.db.models import Q, QuerySet

from imports.errors import BatchNotFound
from imports.models import BatchStatus, ImportBatch, ImportRecord, RecordStatus
from loyalty.api.errors import camel
from loyalty.csvfiles import csv_line_writer


def batches(
    *, import_type: str = "", status: str = "", since: datetime | None = None, until: datetime | None = None
) -> QuerySet[ImportBatch]:
    qs = ImportBatch.objects.order_by("-created_at", "-id")
    if import_type:
        qs = qs.filter(import_type=import_type)
    if status:
        qs = qs.filter(status=status)
    if since:
        qs = qs.filter(created_at__gte=since)
    if until:
        qs = qs.filter(created_at__lt=until)
    return qs


def batch_by_key(key: str) -> ImportBatch:
    # A key no batch can have (a NUL reached PostgreSQL as DataError, a 500) is not looked up.
    batch = ImportBatch.objects.filter(key=key).first() if key and len(key) <= 32 and key.isprintable() else None
    if batch is None:
        raise BatchNotFound(f"No import batch {key!r}.")
    return batch


def records_of(batch: ImportBatch, status: str = "") -> QuerySet[ImportRecord]:
    qs = ImportRecord.objects.filter(batch=batch)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("line")


def records_csv(batch: ImportBatch, status: str = RecordStatus.FAILED) -> Iterator[str]:
    """The records as CSV: their own columns, then line, errorCode and errorMessage, so the file
    can be fixed and uploaded again (the upload ignores those three). Written by loyalty.csvfiles: a cell a
    spreadsheet would run as a formula gets a leading apostrophe, which the CSV upload takes off again."""
    columns = list(batch.columns)
    qs = records_of(batch, status)
    if not columns:
        seen: dict[str, None] = {}
        for data in qs.values_list("data", flat=True)[:1000]:
            if isinstance(data, dict):
                seen.update(dict.fromkeys(camel(str(k)) for k in data if not str(k).startswith("__")))
        columns = list(seen)
    line = csv_line_writer()
    yield "\ufeff" + line([*columns, "line", "errorCode", "errorMessage"])
    for number, data, code, message in qs.values_list("line", "data", "error_code", "error_message").iterator(
        chunk_size=2000
    ):
        data = data if isinstance(data, dict) else {}
        values = {camel(str(k)): v for k, v in data.items()}
        cells = [_cell(values.get(c, data.get(c, ""))) for c in columns]
        yield line([*cells, number, code, message])


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        import json

        return json.dumps(value)
    return str(value)


def batches_needing_attention(since: datetime, limit: int = 8) -> list[ImportBatch]:
    """Imports queued or running now, then those that failed or had failed records since `since`."""
    return list(
        ImportBatch.objects.filter(
            Q(status__in=[BatchStatus.QUEUED, BatchStatus.RUNNING])
            | Q(created_at__gte=since) & (Q(status=BatchStatus.FAILED) | Q(failed_count__gt=0))
        ).order_by("-created_at", "-id")[:limit]
    )
