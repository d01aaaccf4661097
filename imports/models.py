"""Import batches with one row per submitted record, and export jobs run in the background."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


def new_key() -> str:
    return uuid.uuid4().hex


class BatchStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    CANCELLED = "cancelled", "cancelled"
    COMPLETED = "completed", "completed"
    FAILED = "failed", "failed"


class RecordStatus(models.TextChoices):
    PENDING = "pending", "pending"
    CLAIMED = "claimed", "claimed"
    OK = "ok", "ok"
    FAILED = "failed", "failed"


class ImportBatch(models.Model):
    key = models.CharField(max_length=32, unique=True, default=new_key, editable=False)
    import_type = models.CharField(max_length=60, db_index=True)
    source = models.CharField(max_length=10, help_text="json, csv or admin.")
    filename = models.CharField(max_length=255, blank=True)
    columns = models.JSONField(default=list, blank=True, help_text="The CSV header as uploaded.")
    status = models.CharField(max_length=10, choices=BatchStatus.choices, default=BatchStatus.QUEUED, db_index=True)
    total = models.PositiveIntegerField(default=0)
    ok_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    rate = models.FloatField(default=0, help_text="Records per second in the latest run.")
    eta_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="Estimated seconds left.")
    error = models.TextField(blank=True, help_text="Why the batch failed as a whole.")
    created_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_client = models.ForeignKey(
        "loyalty.ApiClient", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "import batches"

    def __str__(self) -> str:
        return f"{self.import_type} {self.key}"

    @property
    def processed(self) -> int:
        return self.ok_count + self.failed_count

    @property
    def pending(self) -> int:
        return max(self.total - self.processed, 0)

    @property
    def percent(self) -> int:
        return int(100 * self.processed / self.total) if self.total else 100


class ImportRecord(models.Model):
    # No index of its own: the unique (batch, line) index serves lookups by batch.
    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="records", db_index=False)
    line = models.PositiveIntegerField(help_text="Position in the upload: CSV line number, or 1-based array index.")
    data = models.JSONField(help_text="The record as submitted.")
    status = models.CharField(max_length=10, choices=RecordStatus.choices, default=RecordStatus.PENDING)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.TextField(blank=True)
    errors = models.JSONField(default=list, blank=True)
    result = models.JSONField(default=dict, blank=True, help_text="What applying it made (e.g. the new key).")

    class Meta:
        ordering = ["batch", "line"]
        constraints = [models.UniqueConstraint(fields=["batch", "line"], name="import_record_line_unique")]
        # The records not applied yet (pending, claimed) or failed: what workers look for, what a resume
        # and the failed-records report read. Applying a record takes it out, so the index stays small.
        indexes = [
            models.Index(fields=["batch", "line"], name="import_record_open_idx", condition=~Q(status=RecordStatus.OK))
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.line} {self.status}"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    COMPLETED = "completed", "completed"
    FAILED = "failed", "failed"


class ExportJob(models.Model):
    key = models.CharField(max_length=32, unique=True, default=new_key, editable=False)
    template = models.CharField(max_length=60)
    format = models.CharField(max_length=10)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    rows = models.PositiveBigIntegerField(default=0)
    file = models.FileField(upload_to="exports/", blank=True)
    error = models.TextField(blank=True)
    created_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_client = models.ForeignKey(
        "loyalty.ApiClient", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.template}.{self.format} {self.key}"
