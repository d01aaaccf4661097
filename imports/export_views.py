"""The /exports endpoints, and the job endpoints a caller polls for a background export."""

from __future__ import annotations

from django.http import FileResponse, StreamingHttpResponse
from djangorestframework_camel_case.util import underscoreize
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers as drf_serializers
from rest_framework.response import Response

from imports import conf, serializers
from imports.errors import ExportJobNotFound, ExportNotReady
from imports.exports import (
    FORMATS,
    ExportQuery,
    all_templates,
    csv_stream,
    filters_of,
    get_template,
    jsonl_stream,
    ordering,
    queue_export,
    xlsx_tempfile,
)
from imports.models import ExportJob, ExportStatus
from imports.views import ImportsView, _NoQuery
from loyalty.api.errors import ErrorSerializer
from loyalty.api.serializers import StrictInputSerializer, parse_query

TAGS = ["exports"]
API_ROOT = "/api/v1"


def present_job(job: ExportJob) -> dict:
    body = {
        "key": job.key,
        "template": job.template,
        "format": job.format,
        "status": job.status,
        "rows": job.rows,
        "error": job.error,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "poll_url": f"{API_ROOT}/exports/jobs/{job.key}",
        "download_url": f"{API_ROOT}/exports/jobs/{job.key}/download" if job.status == ExportStatus.COMPLETED else None,
    }
    return serializers.ExportJobOutput(body).data


# What a download is, per format (FORMATS): the schema names the media type the server sends.
DOWNLOAD_RESPONSES = {
    (200, "text/csv"): OpenApiTypes.STR,
    (200, "application/x-ndjson"): OpenApiTypes.STR,
    (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiTypes.BINARY,
}


def _filter_parameters() -> list[OpenApiParameter]:
    """Every template's filters, for the schema (each template accepts only its own)."""
    seen: dict[str, OpenApiParameter] = {}
    for template in all_templates():
        for name, f in template.filter_fields().items():
            if name not in seen:
                kind = {drf_serializers.DateTimeField: OpenApiTypes.DATETIME}.get(type(f), str)
                if isinstance(f, drf_serializers.IntegerField):  # with the bounds the template's serializer keeps
                    kind = {"type": "integer", "minimum": f.min_value, "maximum": f.max_value}
                seen[name] = OpenApiParameter(
                    name, kind, OpenApiParameter.QUERY, description=f"{f.help_text or ''} (templates that take it)."
                )
    return list(seen.values())


class ExportTemplatesQuery(StrictInputSerializer):
    q = drf_serializers.CharField(
        required=False, max_length=100, help_text="Text in the key, title or description (any case)."
    )
    format = drf_serializers.ChoiceField(
        choices=list(FORMATS), required=False, help_text="Only templates that export in this format."
    )
    ordering = drf_serializers.ChoiceField(
        choices=["key", "-key", "title", "-title"],
        required=False,
        help_text="Sort field, `-` for descending. Default `key`.",
    )


class ExportTemplatesView(ImportsView):
    @extend_schema(
        tags=TAGS,
        operation_id="listExportTemplates",
        summary="The export templates, with their filters and sort options",
        description="Optionally narrowed by `q` (text in the key, title or description) and `format`, and sorted "
        "by `ordering` (`key`, `title`, `-` for descending). An unknown parameter or value is 400.",
        parameters=[ExportTemplatesQuery],
        responses={200: serializers.ExportTemplateOutput(many=True)},
    )
    def get(self, request):
        query = parse_query(ExportTemplatesQuery, request)
        return Response(serializers.ExportTemplateOutput(find_templates(**query), many=True).data)


def find_templates(q: str = "", format: str = "", ordering: str = "key") -> list[dict]:
    """The templates' descriptions matching the text and format, sorted (templates are few: in memory)."""
    text = q.strip().lower()
    found = [
        d
        for d in (t.describe() for t in all_templates())
        if (not text or text in f"{d['key']} {d['title']} {d['description']}".lower())
        and (not format or format in d["formats"])
    ]
    field = ordering.lstrip("-")
    return sorted(found, key=lambda d: (str(d[field]).lower(), d["key"]), reverse=ordering.startswith("-"))


class ExportView(ImportsView):
    @extend_schema(
        tags=TAGS,
        operation_id="runExport",
        summary="Export a template as csv, json (lines) or xlsx",
        description="Streams the rows (csv and json lines straight from a database cursor; xlsx built in "
        "write-only mode), so memory stays flat whatever the size. With `async=true`, or above the "
        "server's row threshold, answers 202 with a job: poll `GET /exports/jobs/{key}` until `status` is "
        "`completed`, then download `GET /exports/jobs/{key}/download`. Each template takes only its own "
        "filters (GET /exports/templates lists them). Times are ISO 8601 with `T` and the offset, as the API "
        "writes them (`2026-03-01T09:30:15Z`); in xlsx they are date-time cells in UTC.",
        parameters=[
            OpenApiParameter("template", str, OpenApiParameter.PATH, description="An export template key."),
            OpenApiParameter("format", str, OpenApiParameter.QUERY, enum=list(FORMATS), description="Default csv."),
            OpenApiParameter("async", bool, OpenApiParameter.QUERY, description="Run as a background job."),
            OpenApiParameter("sort", str, OpenApiParameter.QUERY, description="A sort option of the template."),
            *_filter_parameters(),
        ],
        responses={**DOWNLOAD_RESPONSES, (202, "application/json"): serializers.ExportJobOutput},
    )
    def get(self, request, template):
        export = get_template(template)
        query = ExportQuery(data=underscoreize(request.query_params.dict()), template=export)
        query.is_valid(raise_exception=True)
        params = dict(query.validated_data)
        background = params["async"]
        if not background and export.count is not None:
            background = export.count(filters_of(params)) > conf.export_async_threshold()
        if background:
            job = queue_export(template=export, params=params, actor=request.actor)
            return Response(present_job(job), status=202)
        fmt = params["format"]
        content_type, suffix = FORMATS[fmt]
        filename = f"{export.key}.{suffix}"
        if fmt == "xlsx":
            response = FileResponse(xlsx_tempfile(export, params), content_type=content_type)
        else:
            rows = export.rows(filters_of(params), ordering(export, params))
            columns = export.column_names()
            stream = csv_stream(columns, rows) if fmt == "csv" else jsonl_stream(columns, rows)
            response = StreamingHttpResponse(stream, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


def _job(key: str) -> ExportJob:
    job = ExportJob.objects.filter(key=key).first() if len(key) <= 32 and key.isprintable() else None
    if job is None:
        raise ExportJobNotFound(f"No export job {key!r}.")
    return job


JOB_KEY = OpenApiParameter("key", str, OpenApiParameter.PATH, description="The export job key.")


class ExportJobView(ImportsView):
    @extend_schema(
        tags=TAGS,
        operation_id="getExportJob",
        summary="A background export job: poll it",
        description="The job `GET /exports/{template}` answered with 202: its template, format, `status` "
        "(queued, running, completed or failed), the rows written and any error. Poll it until `status` is "
        "`completed`, then fetch `downloadUrl`. 404 `export_job_not_found` for an unknown key.",
        parameters=[JOB_KEY],
        responses={200: serializers.ExportJobOutput},
    )
    def get(self, request, key):
        parse_query(_NoQuery, request)
        return Response(present_job(_job(key)))


class ExportJobDownloadView(ImportsView):
    @extend_schema(
        tags=TAGS,
        operation_id="downloadExportJob",
        summary="Download a finished background export",
        description="The file of a completed job, in the format it was asked for (csv, json lines or xlsx), as "
        "an attachment named after the template. 409 `export_not_ready` while the job is queued or running (or "
        "failed); 404 `export_job_not_found` for an unknown key.",
        parameters=[JOB_KEY],
        responses={
            **DOWNLOAD_RESPONSES,
            409: OpenApiResponse(ErrorSerializer, description="`export_not_ready`"),
        },
    )
    def get(self, request, key):
        parse_query(_NoQuery, request)
        job = _job(key)
        if job.status != ExportStatus.COMPLETED or not job.file:
            raise ExportNotReady(f"The export job is {job.status}.")
        content_type, suffix = FORMATS[job.format]
        return FileResponse(
            job.file.open("rb"), content_type=content_type, as_attachment=True, filename=f"{job.template}.{suffix}"
        )
