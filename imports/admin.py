"""Import batches (progress, error report, cancel and resume), the upload screen per import type,
and the export templates. Every change goes through the imports services."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from imports.exports import all_templates
from imports.models import ImportBatch, RecordStatus
from imports.parsing import CsvUpload
from imports.registry import all_types, get_type
from imports.services import cancel_batch, queue_batch, resume_batch
from loyalty.admin import ReadOnlyAdmin, admin_actor
from loyalty.errors import DomainError

ERRORS_SHOWN = 200


class UploadForm(forms.Form):
    import_type = forms.ChoiceField(label="Import type")
    file = forms.FileField(help_text="CSV with a header row; UTF-8 with or without BOM; `,` or `;` between cells.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["import_type"].choices = [(t.key, t.title) for t in all_types()]


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
            "failed_records": failed,
            "failed_more": batch.failed_count > len(failed),
            "refresh": batch.status in ("queued", "running"),
            "failed_csv_url": f"/api/v1/imports/{batch.key}?format=csv",
            "may_queue": request.user.has_perm("imports.add_importbatch"),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra)

    def upload_view(self, request):
        self._may_queue(request)
        form = UploadForm(request.POST or None, request.FILES or None, initial={"import_type": request.GET.get("type")})
        if request.method == "POST" and form.is_valid():
            try:
                import_type = get_type(form.cleaned_data["import_type"])
                upload = form.cleaned_data["file"]
                csv_file = CsvUpload(upload, import_type)
                batch = queue_batch(
                    import_type=import_type,
                    records=csv_file.records(),
                    actor=admin_actor(request),
                    source="admin",
                    filename=upload.name,
                    columns=csv_file.header,
                )
            except DomainError as exc:
                form.add_error("file", f"{exc.detail} ({exc.code})")
            else:
                self.message_user(request, f"Queued {batch.total} records as batch {batch.key}.", messages.SUCCESS)
                return redirect(reverse("admin:imports_importbatch_change", args=[batch.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Upload an import file",
            "opts": self.model._meta,
            "form": form,
            "types": [t.describe() for t in all_types()],
        }
        return TemplateResponse(request, "admin/imports/importbatch/upload.html", context)

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
