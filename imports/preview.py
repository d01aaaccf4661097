"""The admin's preview of a small upload, built on django-import-export.

Before a small file is queued, its first records run through the import type exactly as the worker
would run them (`processing.run_record`: the type's record schema, then its service) inside
django-import-export's dry run (`Resource.import_data(dry_run=True)`: one transaction, a savepoint
per row, always rolled back). The manager sees which records would be applied and which would fail,
with the code and message the batch report would show. Nothing is written: confirming queues the
stored file like any other upload, and the worker applies it through the same services.

Large files (over `IMPORT_PREVIEW_MAX_BYTES`) skip the preview and are queued at once.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import IO, Any

import tablib
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from import_export import resources
from import_export.instance_loaders import BaseInstanceLoader
from import_export.results import RowResult
from import_export.tmp_storages import MediaStorage

from imports.errors import EmptyImport
from imports.models import ImportRecord, RecordStatus
from imports.parsing import ROW_ERROR, CsvUpload
from imports.registry import ApplyContext, ImportType
from imports.services.processing import run_record
from loyalty.actors import Actor

LINE = "__line__"
STORAGE_FOLDER = "import-previews"
MAX_AGE = timedelta(days=1)  # a preview not confirmed by then is gone; upload the file again


def _setting(name: str, default: int) -> int:
    """Django setting, else environment variable, else default (as the other IMPORT_* knobs)."""
    return int(getattr(settings, name, None) or os.environ.get(name) or default)


def max_bytes() -> int:
    """Files up to this size are previewed before they are queued; larger ones are queued at once."""
    return _setting("IMPORT_PREVIEW_MAX_BYTES", 2 * 1024 * 1024)


def max_rows() -> int:
    """Records of a file the preview runs (the first ones)."""
    return _setting("IMPORT_PREVIEW_ROWS", 100)


class PreviewResource(resources.Resource):
    """A django-import-export resource whose rows are import records: each is validated and applied
    by the import type (its service) in the dry run's savepoint. A record the type refuses is an
    invalid row whose message is the refusal's `code: message`."""

    class Meta:
        skip_diff = True
        force_init_instance = True  # every row is a new record: nothing is looked up
        instance_loader_class = BaseInstanceLoader
        clean_model_instances = False
        use_transactions = True

    def __init__(self, import_type: ImportType, actor: Actor):
        super().__init__()
        self.import_type = import_type
        self.actor = actor
        self.cache: dict[str, Any] = {}
        self.checked: list[ImportRecord] = []
        # Its own key, so that the idempotency keys of two previews never meet (they are rolled back).
        self.key = f"preview-{uuid.uuid4().hex[:12]}"

    def init_instance(self, row=None):
        values = dict(row or {})
        line = int(values.pop(LINE))
        if not values.get(ROW_ERROR):
            values.pop(ROW_ERROR, None)
        return ImportRecord(line=line, data=values, status=RecordStatus.CLAIMED)

    def import_instance(self, instance, row, **kwargs):
        """The record holds the row as uploaded; the import type reads it as the worker would."""

    def save_instance(self, instance, is_create, row, **kwargs):
        if not (kwargs.get("dry_run") and kwargs.get("using_transactions")):
            raise RuntimeError("The preview only runs as a dry run: records are applied by the queue.")
        context = ApplyContext(actor=self.actor, batch_key=self.key, line=instance.line, cache=self.cache)
        if self.import_type.books_points:
            # Undo each booking record at once: rolling back to its savepoint releases the row locks it
            # took (members' accounts, budget rows), so live bookings wait for one record, not the preview.
            savepoint = transaction.savepoint()
            try:
                run_record(self.import_type, instance, context, from_csv=True)
            finally:
                transaction.savepoint_rollback(savepoint)
        else:
            run_record(self.import_type, instance, context, from_csv=True)
        self.checked.append(instance)
        if instance.status == RecordStatus.FAILED:
            raise ValidationError(f"{instance.error_code}: {instance.error_message}")


@dataclass
class PreviewRow:
    line: int
    ok: bool
    error_code: str = ""
    error_message: str = ""
    cells: list[Any] = field(default_factory=list)  # the row's values, in the order of Preview.columns


@dataclass
class Preview:
    import_type: ImportType
    columns: list[str]
    total: int  # records in the file
    rows: list[PreviewRow]

    @property
    def checked(self) -> int:
        return len(self.rows)

    @property
    def ok(self) -> int:
        return sum(1 for r in self.rows if r.ok)

    @property
    def failed(self) -> int:
        return self.checked - self.ok

    @property
    def unchecked(self) -> int:
        return self.total - self.checked


def preview_upload(*, import_type: ImportType, raw: IO[bytes], actor: Actor, rows: int | None = None) -> Preview:
    """Dry-run the first `rows` records of a CSV upload. A file unusable as a whole raises the same
    domain error the queue would (`invalid_encoding`, `missing_columns`, `empty_import`, ...)."""
    rows = rows or max_rows()
    upload = CsvUpload(raw, import_type)
    columns = [h for h, keep in zip(upload.header, upload.keep, strict=True) if keep]
    first: list[tuple[int, dict[str, Any]]] = []
    total = 0
    for line, record in upload.records():  # every record is read: a bad byte anywhere refuses the file
        total += 1
        if len(first) < rows:
            first.append((line, record))
    if not total:
        raise EmptyImport()
    dataset = tablib.Dataset(headers=[LINE, *columns, ROW_ERROR])
    for line, record in first:
        dataset.append([line, *(record.get(c, "") for c in columns), record.get(ROW_ERROR, "")])

    resource = PreviewResource(import_type, actor)
    result = resource.import_data(dataset, dry_run=True, use_transactions=True, raise_errors=False)
    checked = {record.line: record for record in resource.checked}
    outcome: list[PreviewRow] = []
    for number, row_result in enumerate(result.rows, start=1):
        line, data = first[number - 1]
        cells = [data.get(c, "") for c in columns]
        record = checked.get(line)
        if record is not None:
            ok = record.status == RecordStatus.OK
            outcome.append(PreviewRow(line, ok, record.error_code, record.error_message, cells))
        elif row_result.import_type == RowResult.IMPORT_TYPE_INVALID:  # refused before the type saw it
            outcome.append(PreviewRow(line, False, "validation_error", str(row_result.validation_error), cells))
        else:  # an error outside the record's own handling (e.g. a lost connection)
            message = "; ".join(str(e.error) for e in row_result.errors) or "The record could not be checked."
            outcome.append(PreviewRow(line, False, "internal_error", message, cells))
    return Preview(import_type=import_type, columns=columns, total=total, rows=outcome)


# Keeping the file between the preview and the confirmation ---------------------------------------


def _storage(name: str | None = None) -> MediaStorage:
    """django-import-export's media storage: the default file storage (shared by every app server
    when MEDIA_ROOT is), under `import-previews/`."""
    return MediaStorage(name=name, MEDIA_FOLDER=STORAGE_FOLDER)


def keep_file(data: bytes) -> str:
    """Store an uploaded file until it is confirmed or discarded; returns its name."""
    sweep()
    storage = _storage()
    storage.save(data)
    return storage.name


def read_file(name: str) -> bytes | None:
    try:
        return _storage(name).read()
    except (FileNotFoundError, OSError):
        return None


def drop_file(name: str) -> None:
    with contextlib.suppress(FileNotFoundError, OSError):
        _storage(name).remove()


def sweep() -> None:
    """Remove previews nobody confirmed within MAX_AGE."""
    storage = _storage()._storage
    cutoff = timezone.now() - MAX_AGE
    with contextlib.suppress(FileNotFoundError, OSError, NotImplementedError):
        for name in storage.listdir(STORAGE_FOLDER)[1]:
            path = f"{STORAGE_FOLDER}/{name}"
            if storage.get_modified_time(path) < cutoff:
                storage.delete(path)
