"""Export templates and the writers that stream them.

Each app declares its templates in `<app>/export_templates.py` with `register_export(...)`: the
columns, the filters (a strict serializer of query parameters), the sort options and a function
that yields the rows from a server-side cursor (`.iterator(chunk_size=2000)`). The writers never
hold the result: csv and json lines stream row by row, xlsx goes through openpyxl's write-only
workbook into a temporary file. Above `EXPORT_ASYNC_THRESHOLD` rows, or with `async=true`, an
`ExportJob` runs on a worker and the caller polls it.
"""

from __future__ import annotations

import copy
import json
import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import IO, Any

from django.core.files import File
from django.db import transaction
from django.utils import timezone
from rest_framework import serializers

from imports import events, workers
from imports.errors import UnknownExportTemplate
from imports.models import ExportJob, ExportStatus
from loyalty.actors import Actor
from loyalty.api.errors import camel
from loyalty.api.serializers import StrictInputSerializer
from loyalty.audit import record_audit
from loyalty.csvfiles import csv_line_writer, escape_formula
from loyalty.outbox import emit_event

log = logging.getLogger(__name__)
FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "json": ("application/x-ndjson", "jsonl"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
}
CHUNK = 2000


@dataclass
class ExportTemplate:
    key: str
    title: str
    description: str
    columns: list[str]
    rows: Callable[[dict[str, Any], list[str]], Iterable[Sequence[Any]]]
    filters: type[serializers.Serializer] = StrictInputSerializer
    sort: dict[str, list[str]] = field(default_factory=dict)
    default_sort: str = ""
    count: Callable[[dict[str, Any]], int] | None = None
    # Columns known only when exporting (e.g. a balance per point type), after `columns`; `rows` yields them.
    more_columns: Callable[[], list[str]] | None = None

    def column_names(self) -> list[str]:
        return self.columns + (self.more_columns() if self.more_columns else [])

    def filter_fields(self) -> dict[str, serializers.Field]:
        return {name: copy.deepcopy(f) for name, f in self.filters._declared_fields.items()}

    def describe(self) -> dict[str, Any]:
        from imports.registry import _type_name

        return {
            "key": self.key,
            "title": self.title,
            "description": self.description,
            "columns": self.column_names(),
            "filters": [
                {
                    "name": camel(name),
                    "type": _type_name(f),
                    "description": str(f.help_text or ""),
                    "choices": [str(c) for c in getattr(f, "choices", {}) or []]
                    if isinstance(f, serializers.ChoiceField)
                    else [],
                }
                for name, f in self.filter_fields().items()
            ],
            "sort": list(self.sort),
            "default_sort": self.default_sort,
            "formats": list(FORMATS),
        }


_TEMPLATES: dict[str, ExportTemplate] = {}


def register_export(template: ExportTemplate) -> ExportTemplate:
    if template.key in _TEMPLATES and _TEMPLATES[template.key] is not template:
        raise ValueError(f"Export template {template.key!r} is registered twice.")
    _TEMPLATES[template.key] = template
    return template


def get_template(key: str) -> ExportTemplate:
    try:
        return _TEMPLATES[key]
    except KeyError:
        raise UnknownExportTemplate(f"No export template {key!r}; GET /exports/templates lists them.") from None


def all_templates() -> list[ExportTemplate]:
    return sorted(_TEMPLATES.values(), key=lambda t: t.key)


class ExportQuery(StrictInputSerializer):
    """format, async and sort, plus the template's own filters."""

    format = serializers.ChoiceField(choices=list(FORMATS), default="csv")
    sort = serializers.CharField(required=False, max_length=40)

    def __init__(self, *args, template: ExportTemplate, **kwargs):
        super().__init__(*args, **kwargs)
        self.template = template
        self.fields["async"] = serializers.BooleanField(required=False, default=False)
        for name, f in template.filter_fields().items():
            self.fields[name] = f

    def validate_sort(self, value):
        if value not in self.template.sort:
            raise serializers.ValidationError(f"Sort by one of: {', '.join(self.template.sort)}.")
        return value


def ordering(template: ExportTemplate, params: dict[str, Any]) -> list[str]:
    name = params.get("sort") or template.default_sort
    return template.sort.get(name, [])


def filters_of(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k not in ("format", "sort", "async")}


# Writers -----------------------------------------------------------------------------------------


_API_TIME = serializers.DateTimeField()
# A time in a spreadsheet cell: a real date-time (UTC, as Excel cells carry no offset) shown as ISO 8601.
XLSX_TIME_FORMAT = 'yyyy-mm-dd"T"hh:mm:ss"Z"'


def api_time(value: datetime) -> str:
    """A time as the API writes it: ISO 8601 with `T` and the offset, in the server's zone (UTC: `Z`)."""
    return _API_TIME.to_representation(value)


def text_value(value: Any) -> Any:
    """The JSON fallback of the text formats: times as the API writes them, dates ISO, the rest as text."""
    if isinstance(value, datetime):
        return api_time(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def cell(value: Any) -> Any:
    """A value as CSV text (the writer escapes formulas)."""
    if value is None:
        return ""
    if isinstance(value, datetime | date | Decimal):
        return text_value(value)
    if isinstance(value, dict | list):
        return json.dumps(value, default=text_value)
    return value


def csv_stream(columns: list[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The rows as CSV lines (BOM first, for Excel), written by loyalty.csvfiles: formulas escaped."""
    line = csv_line_writer()
    yield "\ufeff" + line(columns)
    for row in rows:
        yield line([cell(v) for v in row])


def jsonl_stream(columns: list[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(dict(zip(columns, row, strict=False)), default=text_value) + "\n"


def _xlsx_value(value: Any, time_cell: Callable[[datetime], Any]) -> Any:
    if isinstance(value, str):
        return escape_formula(value)
    if isinstance(value, datetime):
        return time_cell(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict | list):
        return json.dumps(value, default=text_value)
    return value


def write_xlsx(columns: list[str], rows: Iterable[Sequence[Any]], target: IO[bytes]) -> int:
    """Times are date-time cells in UTC (a spreadsheet cell has no offset), shown as
    2026-01-31T09:30:00Z; dates are date cells; points and money are numbers."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("export")

    def time_cell(value: datetime) -> WriteOnlyCell:
        utc = value.astimezone(UTC) if timezone.is_aware(value) else timezone.make_aware(value).astimezone(UTC)
        moment = WriteOnlyCell(sheet, value=utc.replace(tzinfo=None))
        moment.number_format = XLSX_TIME_FORMAT
        return moment

    sheet.append(columns)
    count = 0
    for row in rows:
        sheet.append([_xlsx_value(v, time_cell) for v in row])
        count += 1
    workbook.save(target)
    return count


def write_file(template: ExportTemplate, params: dict[str, Any], fmt: str, target: IO[bytes]) -> int:
    """Write the whole export into a binary file; returns the row count."""
    count = 0

    def counted(rows):
        nonlocal count
        for row in rows:
            count += 1
            yield row

    rows = counted(template.rows(filters_of(params), ordering(template, params)))
    if fmt == "xlsx":
        return write_xlsx(template.column_names(), rows, target)
    columns = template.column_names()
    stream = csv_stream(columns, rows) if fmt == "csv" else jsonl_stream(columns, rows)
    for text in stream:
        target.write(text.encode())
    return count


def xlsx_tempfile(template: ExportTemplate, params: dict[str, Any]) -> IO[bytes]:
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    write_xlsx(template.column_names(), template.rows(filters_of(params), ordering(template, params)), handle)
    handle.seek(0)
    return handle


# Background jobs ---------------------------------------------------------------------------------


def _json_params(params: dict[str, Any]) -> dict[str, Any]:
    from loyalty.audit import json_value

    return json_value(params)


@transaction.atomic
def queue_export(*, template: ExportTemplate, params: dict[str, Any], actor: Actor) -> ExportJob:
    job = ExportJob.objects.create(
        template=template.key,
        format=params["format"],
        params=_json_params(params),
        created_by_user=actor.user,
        created_by_client=actor.client,
        actor_label=actor.label[:200],
    )
    record_audit(actor, "export.queued", job, changes={"template": [None, template.key], "format": [None, job.format]})
    transaction.on_commit(lambda: workers.start(workers.RUN_EXPORT_JOB, job.pk))
    return job


def _typed_params(template: ExportTemplate, stored: dict[str, Any]) -> dict[str, Any]:
    """The stored (JSON) parameters, parsed again by the template's query serializer."""
    from djangorestframework_camel_case.util import underscoreize

    query = ExportQuery(data=underscoreize({k: v for k, v in stored.items() if v is not None}), template=template)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


def run_job(job_id: int) -> None:
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportStatus.QUEUED).update(status=ExportStatus.RUNNING)
    if not claimed:
        return  # done, or another delivery of this task runs it
    job = ExportJob.objects.get(pk=job_id)
    try:
        template = get_template(job.template)
        params = _typed_params(template, job.params)
        suffix = FORMATS[job.format][1]
        with tempfile.TemporaryFile() as handle:
            rows = write_file(template, params, job.format, handle)
            handle.seek(0)
            job.file.save(f"{job.template}-{job.key}.{suffix}", File(handle), save=False)
        job.rows = rows
        job.status = ExportStatus.COMPLETED
        job.finished_at = timezone.now()
        with transaction.atomic():
            job.save(update_fields=["file", "rows", "status", "finished_at"])
            emit_event(
                events.EXPORT_COMPLETED,
                payload={"key": job.key, "template": job.template, "format": job.format, "rows": rows},
            )
    except Exception as exc:
        log.exception("export job %s failed", job.key)
        with transaction.atomic():
            ExportJob.objects.filter(pk=job.pk).update(
                status=ExportStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:4000], finished_at=timezone.now()
            )
            emit_event(events.EXPORT_FAILED, payload={"key": job.key, "template": job.template})
