"""Import batches (progress, error report, cancel and resume), the upload screen per import type,
and the export templates. Every change goes through the imports services."""

from __future__ import annotations

import hashlib
import io
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from imports import preview
from imports.exports import all_templates
from imports.models import ImportBatch, ImportRecord, RecordStatus
from imports.parsing import CsvUpload
from imports.registry import all_types, get_type
from imports.services import cancel_batch, queue_batch, resume_batch
from loyalty.admin import ReadOnlyAdmin, admin_actor
from loyalty.audit import value_in_words
from loyalty.errors import DomainError

ERRORS_SHOWN = 200
PREVIEW_SALT = "imports.admin.preview"


class UploadForm(forms.Form):
    import_type = forms.ChoiceField(label="Import type")
    file = forms.FileField(help_text="CSV with a header row; UTF-8 with or without BOM; `,` or `;` between cells.")
    preview = forms.BooleanField(label="Preview first", required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["import_type"].choices = [(t.key, t.title) for t in all_types()]
        self.fields["preview"].help_text = (
            f"For files up to {filesizeformat(preview.max_bytes())}: run the first {preview.max_rows()} records "
            "as a dry run (nothing is written) and show which would be applied and which would fail and why; "
            "then queue the file or discard it. Larger files, or with this off, are queued at once."
        )


def record_problems(record: ImportRecord) -> list[tuple[str, str]]:
    """What is wrong with a failed record: (column, message) pairs, or one message for the record."""
    problems = [(e.get("field") or "", e.get("message") or "") for e in record.errors if isinstance(e, dict)]
    return problems or [("", record.error_message)]


def record_in_words(data: Any) -> str:
    """The record as the file had it, "firstName: Ada; cardNumber: 6001…", never a Python dict."""
    if isinstance(data, dict):
        return "; ".join(f"{name}: {value_in_words(value)}" for name, value in data.items())
    return value_in_words(data)


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdmin):
    list_display = [
        "key",
        "import_type",
        "status",
        "progress",
        "total",
        "ok_count",
        "failed_count",
        "actor_label",
        "created_at",
    ]
    list_filter = ["status", "import_type", "source"]
    search_fields = ["key", "filename", "actor_label"]
    date_hierarchy = "created_at"
    change_list_template = "admin/imports/importbatch/change_list.html"
    change_form_template = "admin/imports/importbatch/change_form.html"
    readonly_fields = [
        "key",
        "import_type",
        "source",
        "filename",
        "status",
        "total",
        "ok_count",
        "failed_count",
        "rate",
        "eta_seconds",
        "error",
        "actor_label",
        "created_at",
        "started_at",
        "finished_at",
        "cancelled_at",
    ]
    fields = readonly_fields

    @admin.display(description="progress")
    def progress(self, batch: ImportBatch) -> str:
        return format_html('<progress max="100" value="{}"></progress> {}%', batch.percent, batch.percent)

    def get_urls(self):
        own = [
            path("upload/", self.admin_site.admin_view(self.upload_view), name="imports_importbatch_upload"),
            path(
                "upload/confirm/",
                self.admin_site.admin_view(self.confirm_view),
                name="imports_importbatch_upload_confirm",
            ),
            path("exports/", self.admin_site.admin_view(self.exports_view), name="imports_exports"),
            path("<int:pk>/cancel/", self.admin_site.admin_view(self.cancel_view), name="imports_importbatch_cancel"),
            path("<int:pk>/resume/", self.admin_site.admin_view(self.resume_view), name="imports_importbatch_resume"),
        ]
        return own + super().get_urls()

    def _may_queue(self, request) -> None:
        if not request.user.is_staff or not request.user.has_perm("imports.add_importbatch"):
            raise PermissionDenied

    def change_view(self, request, object_id, form_url="", extra_context=None):
        batch = get_object_or_404(ImportBatch, pk=object_id)
        failed = list(batch.records.filter(status=RecordStatus.FAILED).order_by("line")[:ERRORS_SHOWN])
        extra = {
            "batch": batch,
            "failed_records": [
                {"line": r.line, "problems": record_problems(r), "values": record_in_words(r.data)} for r in failed
            ],
            "failed_more": batch.failed_count > len(failed),
            "refresh": batch.status in ("queued", "running"),
            "failed_csv_url": f"/api/v1/imports/{batch.key}?format=csv",
            "may_queue": request.user.has_perm("imports.add_importbatch"),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra)

    def _queue(self, request, import_type, raw, filename: str, key: str = "") -> ImportBatch:
        csv_file = CsvUpload(raw, import_type)
        return queue_batch(
            import_type=import_type,
            records=csv_file.records(),
            actor=admin_actor(request),
            source="admin",
            filename=filename,
            columns=csv_file.header,
            key=key,
        )

    def _queued(self, request, batch: ImportBatch):
        self.message_user(request, f"Queued {batch.total} records as batch {batch.key}.", messages.SUCCESS)
        return redirect(reverse("admin:imports_importbatch_change", args=[batch.pk]))

    def upload_view(self, request):
        """Pick a type and a CSV. A small file is previewed first (a dry run through
        django-import-export, see imports/preview.py); a large one goes straight to the queue."""
        self._may_queue(request)
        form = UploadForm(request.POST or None, request.FILES or None, initial={"import_type": request.GET.get("type")})
        if request.method == "POST" and form.is_valid():
            import_type = get_type(form.cleaned_data["import_type"])
            upload = form.cleaned_data["file"]
            try:
                if form.cleaned_data["preview"] and upload.size <= preview.max_bytes():
                    return self._preview(request, import_type, upload)
                batch = self._queue(request, import_type, upload, upload.name)
            except DomainError as exc:
                form.add_error("file", f"{exc.detail} ({exc.code})")
            else:
                return self._queued(request, batch)
        context = {
            **self.admin_site.each_context(request),
            "title": "Upload an import file",
            "opts": self.model._meta,
            "form": form,
            "types": [t.describe() for t in all_types()],
        }
        return TemplateResponse(request, "admin/imports/importbatch/upload.html", context)

    def _preview(self, request, import_type, upload):
        data = upload.read()
        checked = preview.preview_upload(import_type=import_type, raw=io.BytesIO(data), actor=admin_actor(request))
        ticket = signing.dumps(
            {
                "file": preview.keep_file(data),
                "type": import_type.key,
                "filename": upload.name,
                "user": request.user.pk,
            },
            salt=PREVIEW_SALT,
        )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Preview: {import_type.title}",
            "opts": self.model._meta,
            "preview": checked,
            "filename": upload.name,
            "ticket": ticket,
        }
        return TemplateResponse(request, "admin/imports/importbatch/preview.html", context)

    def confirm_view(self, request):
        """Queue (or discard) a previewed file. The ticket is signed and names the uploader, so only
        they can queue it; once, because the batch key is derived from the kept file (unique)."""
        self._may_queue(request)
        if request.method != "POST":
            raise PermissionDenied
        upload_url = reverse("admin:imports_importbatch_upload")
        try:
            ticket = signing.loads(
                request.POST.get("ticket", ""), salt=PREVIEW_SALT, max_age=preview.MAX_AGE.total_seconds()
            )
        except signing.BadSignature:
            self.message_user(request, "This preview has expired; upload the file again.", messages.ERROR)
            return redirect(upload_url)
        if ticket.get("user") != request.user.pk:
            raise PermissionDenied
        if "discard" in request.POST:
            preview.drop_file(ticket["file"])
            self.message_user(request, f"Discarded {ticket['filename']}: nothing was queued.", messages.INFO)
            return redirect(f"{upload_url}?type={ticket['type']}")
        data = preview.read_file(ticket["file"])
        if data is None:
            self.message_user(request, "This preview was queued or discarded already.", messages.ERROR)
            return redirect(upload_url)
        # The batch key comes from the kept file: a second confirm of the same preview (a double
        # click, a resubmit) inserts the same key and fails, whatever the timing.
        key = hashlib.sha256(f"preview:{ticket['file']}".encode()).hexdigest()[:32]
        try:
            batch = self._queue(request, get_type(ticket["type"]), io.BytesIO(data), ticket["filename"], key)
        except DomainError as exc:
            self.message_user(request, f"{exc.detail} ({exc.code})", messages.ERROR)
            return redirect(upload_url)
        except IntegrityError:
            self.message_user(request, "This preview was queued or discarded already.", messages.ERROR)
            return redirect(upload_url)
        preview.drop_file(ticket["file"])
        return self._queued(request, batch)

    def _control(self, request, pk, service, done: str):
        self._may_queue(request)
        if request.method != "POST":
            raise PermissionDenied
        batch = get_object_or_404(ImportBatch, pk=pk)
        try:
            service(batch=batch, actor=admin_actor(request))
        except DomainError as exc:
            self.message_user(request, exc.detail, messages.ERROR)
        else:
            self.message_user(request, done, messages.SUCCESS)
        return redirect(reverse("admin:imports_importbatch_change", args=[pk]))

    def cancel_view(self, request, pk):
        return self._control(request, pk, cancel_batch, "Cancelled: the worker stops after the chunk in hand.")

    def resume_view(self, request, pk):
        return self._control(request, pk, resume_batch, "Resumed: the records not yet processed are queued.")

    def exports_view(self, request):
        if not request.user.is_staff:
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Exports",
            "opts": self.model._meta,
            "templates": [t.describe() for t in all_templates()],
        }
        return TemplateResponse(request, "admin/imports/exports.html", context)
