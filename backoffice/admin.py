"""The audit log for people: actions in words, changes as "currency: EUR → USD", links to the objects,
and what imports wrote grouped per batch (one line each, with a drill-down) so that a manager's own
changes are not buried under thousands of imported records."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from backoffice.models import LoginLockout
from backoffice.references import reference_names
from backoffice.services import release_lockouts, save_authenticator
from imports.models import ImportBatch
from imports.registry import all_types
from loyalty.admin import ReadOnlyAdmin, admin_actor
from loyalty.audit import IMPORT_REQUEST_PREFIX, MOVED_OBJECT_TYPES, action_in_words, changes_in_words
from loyalty.models import AuditEntry

RECENT_IMPORTS = 5


class WrittenByFilter(admin.SimpleListFilter):
    """People and integrations by default; the records of imports on request (or one batch's)."""

    title = "written by"
    parameter_name = "written_by"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("imports", "Imports (record by record)"), ("everything", "Everything")]

    def choices(self, changelist: Any):
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "People and integrations",
        }
        for value, title in self.lookup_choices:
            yield {
                "selected": self.value() == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        if request.GET.get("request_id") or self.value() == "everything":
            return queryset
        if self.value() == "imports":
            return queryset.filter(request_id__startswith=IMPORT_REQUEST_PREFIX)
        return queryset.exclude(request_id__startswith=IMPORT_REQUEST_PREFIX)


class ActionFilter(admin.SimpleListFilter):
    """The actions that occur in the log, named in words."""

    title = "action"
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        actions = AuditEntry.objects.order_by().values_list("action", flat=True).distinct()
        return sorted(((a, action_in_words(a)) for a in actions), key=lambda pair: pair[1])

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        return queryset.filter(action=self.value()) if self.value() else queryset


class ActorTypeFilter(admin.SimpleListFilter):
    title = "who"
    parameter_name = "actor_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("user", "People (staff)"), ("client", "Integrations (API clients)"), ("system", "Scheduled jobs")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        return queryset.filter(actor_type=self.value()) if self.value() else queryset


def object_type_in_words(label: str) -> str:
    """ "loyalty.sponsor" -> "Sponsor"; a label no model has any more stays as it is."""
    try:
        return str(apps.get_model(MOVED_OBJECT_TYPES.get(label, label))._meta.verbose_name).capitalize()
    except (LookupError, ValueError):
        return label


class ObjectTypeFilter(admin.SimpleListFilter):
    title = "kind of object"
    parameter_name = "object_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        labels = AuditEntry.objects.order_by().values_list("object_type", flat=True).distinct()
        return sorted(((label, object_type_in_words(label)) for label in labels if label), key=lambda p: p[1])

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        return queryset.filter(object_type=self.value()) if self.value() else queryset


def object_url(entry: AuditEntry) -> str:
    """The admin page of the entry's object, if it has one."""
    label = MOVED_OBJECT_TYPES.get(entry.object_type, entry.object_type)
    if "." not in label or not entry.object_id:
        return ""
    try:
        return reverse(f"admin:{label.replace('.', '_')}_change", args=[entry.object_id])
    except NoReverseMatch:
        return ""


class AuditChangeList(ChangeList):
    """The audit log's list: the names of what a page's entries refer to, read once per page."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        names = reference_names(self.result_list)
        for entry in self.result_list:
            entry.reference_names = names


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["when", "who", "what", "on", "changes_summary"]
    list_display_links = ["when"]
    list_filter = [WrittenByFilter, ActorTypeFilter, ActionFilter, ObjectTypeFilter]
    search_fields = ["actor_label", "object_id", "object_repr", "request_id"]
    search_help_text = "Who (e.g. user:anna), the object's id or name, or a request id."
    date_hierarchy = "created_at"
    list_select_related = ["actor_user", "actor_client"]
    show_full_result_count = False
    fields = ["when", "who", "what", "on", "changes_table", "request_id", "remote_addr"]
    readonly_fields = fields

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        return lookup in ("request_id", "object_id") or super().lookup_allowed(lookup, value, request)

    @admin.display(description="When", ordering="-id")
    def when(self, entry: AuditEntry):
        return entry.created_at

    @admin.display(description="Who", ordering="actor_label")
    def who(self, entry: AuditEntry) -> str:
        return entry.actor_label

    @admin.display(description="What", ordering="action")
    def what(self, entry: AuditEntry) -> str:
        return action_in_words(entry.action)

    @admin.display(description="On")
    def on(self, entry: AuditEntry) -> str:
        text = entry.object_repr or entry.object_id
        url = object_url(entry)
        return format_html('<a href="{}">{}</a>', url, text) if url else text

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return AuditChangeList

    @admin.display(description="Changes")
    def changes_summary(self, entry: AuditEntry) -> str:
        return "; ".join(changes_in_words(entry.changes, limit=3, names=getattr(entry, "reference_names", None)))

    @admin.display(description="Changes")
    def changes_table(self, entry: AuditEntry) -> str:
        lines = changes_in_words(entry.changes, names=reference_names([entry]))
        if not lines:
            return "No values recorded."
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((line,) for line in lines)))

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        grouped = not request.GET.get("written_by") and not request.GET.get("request_id")
        extra_context = {**(extra_context or {}), "import_groups": import_groups() if grouped else []}
        return super().changelist_view(request, extra_context)


def import_groups() -> list[dict[str, Any]]:
    """The latest imports that wrote records, one line each: what, by whom, how many, and links to the
    batch and to its entries in this log."""
    titles = {t.key: t.title for t in all_types()}
    batches = ImportBatch.objects.filter(ok_count__gt=0).order_by("-created_at", "-id")[:RECENT_IMPORTS]
    changelist = reverse("admin:loyalty_auditentry_changelist")
    return [
        {
            "text": f"Import batch {b.key[:8]} ({titles.get(b.import_type, b.import_type)}, by {b.actor_label}): "
            f"{b.ok_count:,} records applied" + (f", {b.failed_count:,} failed" if b.failed_count else ""),
            "when": b.created_at,
            "batch_url": reverse("admin:imports_importbatch_change", args=[b.pk]),
            "entries_url": f"{changelist}?request_id={IMPORT_REQUEST_PREFIX}{b.key}",
        }
        for b in batches
    ]


@admin.register(LoginLockout)
class LoginLockoutAdmin(ReadOnlyAdmin):
    """Wrong passwords per user name and address (django-axes); a paused sign-in is released here."""

    list_display = ["username", "ip_address", "failures", "last_try", "paused"]
    list_display_links = None
    search_fields = ["username", "ip_address"]
    search_help_text = "A user name or an address."
    ordering = ["-attempt_time"]
    actions = ["let_sign_in_again"]

    def has_release_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("backoffice.delete_loginlockout")

    @admin.display(description="Failed sign-ins", ordering="failures_since_start")
    def failures(self, attempt: LoginLockout) -> int:
        return attempt.failures_since_start

    @admin.display(description="Last try", ordering="attempt_time")
    def last_try(self, attempt: LoginLockout):
        return attempt.attempt_time

    @admin.display(description="Sign-in")
    def paused(self, attempt: LoginLockout) -> str:
        if attempt.failures_since_start < settings.AXES_FAILURE_LIMIT:
            return "allowed"
        until = attempt.attempt_time + settings.AXES_COOLOFF_TIME
        if until <= timezone.now():
            return "allowed again (the pause is over)"
        return f"paused until {date_format(timezone.localtime(until), 'DATETIME_FORMAT')}"

    @admin.action(description="Let them sign in again", permissions=["release"])
    def let_sign_in_again(self, request: HttpRequest, queryset: QuerySet) -> None:
        released = release_lockouts(attempts=queryset, actor=admin_actor(request))
        self.message_user(request, f"{released} user name(s) may sign in again now.", messages.SUCCESS)


admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class AuthenticatorAdmin(TOTPDeviceAdmin):
    """django-otp's screen of TOTP devices (with its QR code to scan), saved through the back office's service."""

    def save_model(self, request: HttpRequest, obj: TOTPDevice, form, change: bool) -> None:
        save_authenticator(device=obj, actor=admin_actor(request))
