"""The /imports and /csvimports endpoints: parse, call a service or selector, present."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers as drf_serializers
from rest_framework import status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response

from imports import conf, selectors, serializers
from imports.errors import InvalidImportFile
from imports.models import RecordStatus
from imports.parsers import CsvBodyParser, JsonImportParser
from imports.parsing import CsvUpload, json_records
from imports.registry import all_types, get_type
from imports.services import cancel_batch, queue_batch, resume_batch, resume_type
from loyalty.api.errors import ErrorSerializer
from loyalty.api.pagination import LimitOffsetPagination
from loyalty.api.permissions import ApiKeyForStateChangingGet, HasScope
from loyalty.api.serializers import StrictInputSerializer, parse_query
from loyalty.api.views import ApiGenericView, ApiView
from loyalty.models.clients import Scope

TAGS = ["imports"]
IMPORT_TYPE = OpenApiParameter(
    "importType", str, OpenApiParameter.PATH, description="An import type key (GET /imports/importtypes)."
)
BATCH_KEY_QUERY = OpenApiParameter("key", str, OpenApiParameter.QUERY, required=True, description="The batch key.")


class IgnoreFormatNegotiation(DefaultContentNegotiation):
    """`format` is our own query parameter (csv, json, xlsx), not DRF's renderer override."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class _NoQuery(StrictInputSerializer):
    """Endpoints that take no query parameters refuse unknown ones."""


class ImportsView(ApiView):
    required_scope = Scope.IMPORTS
    content_negotiation_class = IgnoreFormatNegotiation


def present_queued(batch) -> Response:
    batch.refresh_from_db(fields=["status"])  # eager mode (no broker) has run the worker already
    body = {"key": batch.key, "import_type": batch.import_type, "status": batch.status, "total": batch.total}
    return Response(serializers.ImportQueuedOutput(body).data, status=status.HTTP_202_ACCEPTED)


def present_batch(batch) -> dict:
    return serializers.ImportBatchOutput(batch).data


class ImportTypesView(ImportsView):
    @extend_schema(
        tags=TAGS,
        operation_id="listImportTypes",
        summary="The import types, with the fields each record takes",
        description="Each type's `key` (the `importType` of `POST /imports/{importType}` and "
        "`POST /csvimports/{importType}`), what it does, the fields a record takes (type, whether required, "
        "choices, an example), an example record and the CSV header. A record is validated and applied as the "
        "matching API operation would.",
        responses={200: serializers.ImportTypeOutput(many=True)},
    )
    def get(self, request):
        parse_query(_NoQuery, request)
        return Response(serializers.ImportTypeOutput([t.describe() for t in all_types()], many=True).data)


def records_csv_response(batch, status: str) -> StreamingHttpResponse:
    rows = selectors.records_csv(batch, status)
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{batch.import_type}-{batch.key}-{status}.csv"'
    return response


class ImportBatchView(ImportsView):
    """GET /imports/{key}: one batch. POST /imports/{importType}: queue a JSON import."""

    parser_classes = [JsonImportParser]

    @extend_schema(
        tags=TAGS,
        operation_id="getImportBatch",
        summary="One batch with its records",
        description="Records filtered by `status` (e.g. `failed`, with their error code and message), a page "
        "at a time. `format=csv` returns the records (default: the failed ones) as a CSV with the upload's "
        "columns plus line, errorCode and errorMessage: fix it and upload it again (those three columns are "
        "ignored on upload).",
        parameters=[
            OpenApiParameter("key", str, OpenApiParameter.PATH, description="The batch key."),
            serializers.BatchQuery,
        ],
        responses={
            (200, "application/json"): serializers.ImportBatchDetailOutput,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="With `format=csv`."),
        },
    )
    def get(self, request, key):
        query = parse_query(serializers.BatchQuery, request)
        batch = selectors.batch_by_key(key)
        if query["format"] == "csv":
            return records_csv_response(batch, query.get("status") or "failed")
        records = selectors.records_of(batch, query.get("status", ""))
        offset, limit = query["offset"], query["limit"]
        page = list(records[offset : offset + limit])
        count = offset + len(page) if len(page) < limit and (page or offset == 0) else records.count()
        body = dict(present_batch(batch))
        body["records"] = serializers.ImportRecordOutput(page, many=True).data
        body["records_count"] = count
        body["records_next_offset"] = offset + limit if offset + limit < count else None
        return Response(body)

    @extend_schema(
        tags=TAGS,
        operation_id="queueImport",
        summary="Queue a JSON import",
        description="The body is a JSON array of records of the type (GET /imports/importtypes). The batch is "
        "stored and answered at once (202) with its key; a worker applies the records. A body that is not an "
        "array is refused (`invalid_body`), an empty one too (`empty_import`); a bad record is reported "
        "failed with its reason while the good ones are applied.",
        parameters=[
            OpenApiParameter(
                "key", str, OpenApiParameter.PATH, description="The import type key (GET /imports/importtypes)."
            )
        ],
        request={"application/json": {"type": "array", "items": {"type": "object", "additionalProperties": True}}},
        responses={
            202: serializers.ImportQueuedOutput,
            404: OpenApiResponse(ErrorSerializer, description="`unknown_import_type`"),
        },
    )
    def post(self, request, key):
        import_type = get_type(key)
        batch = queue_batch(
            import_type=import_type, records=json_records(request.data), actor=request.actor, source="json"
        )
        return present_queued(batch)


class BatchCsvQuery(StrictInputSerializer):
    status = drf_serializers.ChoiceField(
        choices=RecordStatus.choices, required=False, default=RecordStatus.FAILED, help_text="Default failed."
    )


class ImportBatchCsvView(ImportsView):
    """GET /imports/{key}/csv: a batch's records as the CSV to fix and upload again."""

    @extend_schema(
        tags=TAGS,
        operation_id="downloadImportRecords",
        summary="Download a batch's records as CSV",
        description="The records of one status (default: the failed ones) with the upload's columns plus "
        "`line`, `errorCode` and `errorMessage`, streamed as `text/csv`. Fix the rows and upload the file "
        "again with POST /csvimports/{importType}: the three added columns are ignored on upload.",
        parameters=[OpenApiParameter("key", str, OpenApiParameter.PATH, description="The batch key."), BatchCsvQuery],
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request, key):
        query = parse_query(BatchCsvQuery, request)
        return records_csv_response(selectors.batch_by_key(key), query["status"])


class CsvImportView(ImportsView):
    parser_classes = [MultiPartParser, CsvBodyParser]

    @extend_schema(
        tags=TAGS,
        operation_id="queueCsvImport",
        summary="Queue a CSV import",
        description="A CSV file as multipart field `file` (or a `text/csv` body): a header row naming the "
        "fields (camelCase or snake_case), UTF-8 with or without BOM, `,` or `;` between cells. Refused at "
        "once when unusable as a whole: `invalid_encoding`, `invalid_file`, `missing_columns`, "
        "`unknown_columns`, `empty_import`, `payload_too_large` (413). Answers 202 with the batch key.",
        parameters=[IMPORT_TYPE],
        request={
            "multipart/form-data": inline_serializer(
                "CsvImportUpload", fields={"file": drf_serializers.FileField(help_text="The CSV file.")}
            ),
            "text/csv": OpenApiTypes.BINARY,
        },
        responses={202: serializers.ImportQueuedOutput},
    )
    def post(self, request, importType):  # the path's name, as API.md spells it
        import_type = get_type(importType)
        upload = request.data.get("file") if hasattr(request.data, "get") else None
        if upload is None or not hasattr(upload, "read"):
            raise InvalidImportFile("Send the CSV as multipart field `file` or as a text/csv body.", code="no_file")
        if upload.size and upload.size > conf.max_bytes():
            from imports.errors import ImportTooLarge

            raise ImportTooLarge(f"The file is larger than {conf.max_bytes()} bytes.")
        upload.seek(0)
        csv_file = CsvUpload(upload, import_type)
        batch = queue_batch(
            import_type=import_type,
            records=csv_file.records(),
            actor=request.actor,
            source="csv",
            filename=getattr(upload, "name", "") or "",
            columns=csv_file.header,
        )
        return present_queued(batch)


class ReportView(ApiGenericView):
    required_scope = Scope.IMPORTS
    content_negotiation_class = IgnoreFormatNegotiation
    pagination_class = LimitOffsetPagination
    serializer_class = serializers.ImportBatchOutput
    filter_backends: list = []

    @extend_schema(
        tags=TAGS,
        operation_id="listImportBatches",
        summary="All import batches with their status and counts",
        description="Newest first, by `limit` and `offset`, filtered by `type`, `status`, `since` and `until` "
        "(creation time). Each batch has its status (queued, running, cancelled, completed or failed), `total`, "
        "`ok`, `failed`, `pending`, `percent`, `rate` and `etaSeconds`; `GET /imports/{key}` shows its records.",
        parameters=[serializers.ReportQuery],
        responses={200: serializers.ImportBatchOutput(many=True)},
    )
    def get(self, request):
        query = parse_query(serializers.ReportQuery, request)
        qs = selectors.batches(
            import_type=query.get("type", ""),
            status=query.get("status", ""),
            since=query.get("since"),
            until=query.get("until"),
        )
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(serializers.ImportBatchOutput(page, many=True).data)


def _param(request, name: str, serializer_class) -> str:
    """The control actions take their parameter from the query string (GET) or the body (POST)."""
    data = request.query_params.dict()
    if request.method == "POST" and not data and isinstance(request.data, dict):
        data = dict(request.data)
    parsed = serializer_class(data=data)
    parsed.is_valid(raise_exception=True)
    return parsed.validated_data[name]


class _ControlView(ImportsView):
    """GET (kept for integrators' API keys) and POST; under an admin session only POST, CSRF-checked."""

    parser_classes = [JSONParser]
    permission_classes = [HasScope, ApiKeyForStateChangingGet]

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
            response["Allow"] = "POST, OPTIONS"  # what this caller may send instead
        return response


def _control_schema(operation_id: str, summary: str, description: str, query, response):
    """The schema of a control action's POST and of its GET form, each with an operationId of its own."""

    def decorate(method):
        by_get = method.__name__ == "get"
        note = (
            f" The GET form of `{operation_id}`, kept because integrators call it so: it changes state all the "
            "same, so it answers API keys only; an admin session (the docs page) gets 405 `get_needs_api_key` "
            "and changes nothing, since a link on another site would carry its cookie. Prefer POST, which may "
            "also take the parameter in a JSON body."
            if by_get
            else " Answers GET and POST alike (POST recommended; on POST the parameter may come in a JSON body "
            "instead)."
        )
        return extend_schema(
            tags=TAGS,
            operation_id=f"{operation_id}ByGet" if by_get else operation_id,
            summary=summary,
            description=description + note,
            parameters=[query],
            request=None,
            responses={
                200: response,
                404: OpenApiResponse(ErrorSerializer, description="`batch_not_found` or `unknown_import_type`."),
                409: OpenApiResponse(ErrorSerializer, description="`batch_not_cancellable` or `batch_not_resumable`."),
            },
        )(method)

    return decorate


CANCEL = _control_schema(
    "cancelImportBatch",
    "Cancel a queued or running batch",
    "The worker stops after the chunk in hand; records already processed stay processed. Cancelling a "
    "cancelled batch changes nothing; a completed or failed one is 409 `batch_not_cancellable`.",
    serializers.BatchKeyQuery,
    serializers.ImportBatchOutput,
)
RESUME = _control_schema(
    "resumeImportBatch",
    "Resume a cancelled or failed batch",
    "Continues with the records not yet processed; no record is processed twice. A completed batch is "
    "409 `batch_not_resumable`; a queued or running one gets another worker.",
    serializers.BatchKeyQuery,
    serializers.ImportBatchOutput,
)
RESUME_TYPE = _control_schema(
    "resumeImportBatchesOfType",
    "Resume every cancelled or failed batch of a type",
    "Each resumed batch continues with its unprocessed records.",
    serializers.ImportTypeQuery,
    serializers.ResumedOutput,
)


class CancelBatchView(_ControlView):
    @CANCEL
    def get(self, request):
        batch = cancel_batch(
            batch=selectors.batch_by_key(_param(request, "key", serializers.BatchKeyQuery)), actor=request.actor
        )
        return Response(present_batch(batch))

    @CANCEL
    def post(self, request):
        return self.get(request)


class QueueBatchView(_ControlView):
    @RESUME
    def get(self, request):
        batch = resume_batch(
            batch=selectors.batch_by_key(_param(request, "key", serializers.BatchKeyQuery)), actor=request.actor
        )
        return Response(present_batch(batch))

    @RESUME
    def post(self, request):
        return self.get(request)


class QueueTypeView(_ControlView):
    @RESUME_TYPE
    def get(self, request):
        import_type = get_type(_param(request, "type", serializers.ImportTypeQuery))
        resumed = resume_type(import_type=import_type.key, actor=request.actor)
        return Response({"resumed": serializers.ImportBatchOutput(resumed, many=True).data})

    @RESUME_TYPE
    def post(self, request):
        return self.get(request)
