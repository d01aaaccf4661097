"""Wire shapes of the /imports, /csvimports and /exports endpoints (snake_case here, camelCase on the wire)."""

from rest_framework import serializers

from imports.models import BatchStatus, RecordStatus
from loyalty.api.pagination import MAX_OFFSET
from loyalty.api.serializers import QueryIntegerField, StrictInputSerializer


class ImportFieldOutput(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField(
        help_text="string, integer, decimal, boolean, date, datetime, email, choice, array, object"
    )
    required = serializers.BooleanField()
    description = serializers.CharField()
    choices = serializers.ListField(child=serializers.CharField())
    example = serializers.JSONField(allow_null=True)


class ImportTypeOutput(serializers.Serializer):
    key = serializers.CharField(help_text="Use it in POST /imports/{importType} and /csvimports/{importType}.")
    title = serializers.CharField()
    description = serializers.CharField()
    app = serializers.CharField()
    books_points = serializers.BooleanField(help_text="Records book points: each is applied in its own transaction.")
    fields = ImportFieldOutput(many=True)
    example = serializers.JSONField()
    csv_header = serializers.ListField(child=serializers.CharField())


class ImportBatchOutput(serializers.Serializer):
    key = serializers.CharField()
    import_type = serializers.CharField()
    source = serializers.CharField()
    filename = serializers.CharField()
    status = serializers.CharField(help_text="queued, running, cancelled, completed or failed.")
    total = serializers.IntegerField()
    processed = serializers.IntegerField()
    ok = serializers.IntegerField(source="ok_count")
    failed = serializers.IntegerField(source="failed_count")
    pending = serializers.IntegerField()
    percent = serializers.IntegerField()
    rate = serializers.FloatField(help_text="Records per second in the latest run.")
    eta_seconds = serializers.IntegerField(allow_null=True, help_text="Estimated seconds left.")
    error = serializers.CharField()
    created_by = serializers.CharField(source="actor_label")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)


class ImportRecordOutput(serializers.Serializer):
    line = serializers.IntegerField()
    status = serializers.CharField(help_text="pending, claimed (a worker has it), ok or failed.")
    data = serializers.JSONField()
    error_code = serializers.CharField()
    error_message = serializers.CharField()
    errors = serializers.JSONField()
    result = serializers.JSONField()


class ImportBatchDetailOutput(ImportBatchOutput):
    records = ImportRecordOutput(many=True)
    records_count = serializers.IntegerField(help_text="Records matching the status filter.")
    records_next_offset = serializers.IntegerField(allow_null=True)


class ImportQueuedOutput(serializers.Serializer):
    key = serializers.CharField(help_text="The batch key: GET /imports/{key} shows its progress.")
    import_type = serializers.CharField()
    status = serializers.CharField()
    total = serializers.IntegerField()


class BatchKeyQuery(StrictInputSerializer):
    key = serializers.CharField(max_length=32, help_text="The batch key.")


class ImportTypeQuery(StrictInputSerializer):
    type = serializers.CharField(max_length=60, help_text="The import type key.")


class ResumedOutput(serializers.Serializer):
    resumed = ImportBatchOutput(many=True)


class ReportQuery(StrictInputSerializer):
    type = serializers.CharField(max_length=60, required=False, help_text="Only batches of this import type.")
    status = serializers.ChoiceField(choices=BatchStatus.choices, required=False)
    since = serializers.DateTimeField(required=False, help_text="Created at or after.")
    until = serializers.DateTimeField(required=False, help_text="Created before.")
    limit = QueryIntegerField(required=False, min_value=1, max_value=500)
    offset = QueryIntegerField(required=False, min_value=0, max_value=MAX_OFFSET)


class BatchQuery(StrictInputSerializer):
    status = serializers.ChoiceField(
        choices=RecordStatus.choices, required=False, help_text="Only records in this status."
    )
    limit = QueryIntegerField(required=False, min_value=1, max_value=1000, default=100)
    offset = QueryIntegerField(required=False, min_value=0, max_value=MAX_OFFSET, default=0)
    format = serializers.ChoiceField(
        choices=["json", "csv"],
        required=False,
        default="json",
        help_text="csv: the records (default: the failed ones) as a CSV to fix and upload again; the same "
        "file as GET /imports/{key}/csv, which a generated client should use.",
    )


class ExportFilterOutput(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    description = serializers.CharField()
    choices = serializers.ListField(child=serializers.CharField())


class ExportTemplateOutput(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    columns = serializers.ListField(child=serializers.CharField())
    filters = ExportFilterOutput(many=True)
    sort = serializers.ListField(child=serializers.CharField(), help_text="Values of the `sort` parameter.")
    default_sort = serializers.CharField()
    formats = serializers.ListField(child=serializers.CharField())


class ExportJobOutput(serializers.Serializer):
    key = serializers.CharField()
    template = serializers.CharField()
    format = serializers.CharField()
    status = serializers.CharField(help_text="queued, running, completed or failed.")
    rows = serializers.IntegerField()
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    poll_url = serializers.CharField(help_text="GET it until `status` is completed.")
    download_url = serializers.CharField(allow_null=True, help_text="The file, once completed.")
