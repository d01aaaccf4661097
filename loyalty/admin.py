"""Program managers' screens. Every save goes through loyalty.services, so it is audited."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.template.response import TemplateResponse
from rest_framework_api_key.admin import APIKey as LibraryAPIKey

from loyalty.actors import Actor
from loyalty.errors import DomainError
from loyalty.hooks import SENSITIVE_PROGRAM_FIELDS, program_change_notes
from loyalty.models import (
    ApiClient,
    ApiKey,
    Event,
    MembershipType,
    Program,
    Sponsor,
    Tier,
)
from loyalty.models.clients import Scope
from loyalty.services import (
    delete_configuration,
    issue_api_key,
    revoke_api_key,
    save_configuration,
    set_api_key_rate_limits,
)

if admin.site.is_registered(LibraryAPIKey):
    admin.site.unregister(LibraryAPIKey)


def admin_actor(request) -> Actor:
    return Actor(
        user=request.user,
        request_id=getattr(request, "request_id", ""),
        remote_addr=request.META.get("REMOTE_ADDR"),
    )


def action_form_response(
    modeladmin, request, queryset, *, action: str, title: str, form, submit: str, consequences=None
):
    """The intermediate page of an admin action that needs input before it calls a service.
    `consequences` ({pk: [sentences]}) says what the action will do to each selected object."""
    selected = list(queryset[:50])
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": modeladmin.model._meta,
        "queryset": queryset,
        "selected": [(obj, (consequences or {}).get(obj.pk, [])) for obj in selected],
        "form": form,
        "action": action,
        "submit_label": submit,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "select_across": request.POST.get("select_across", "0"),
    }
    return TemplateResponse(request, "admin/action_form.html", context)


class ServiceAdminMixin:
    """Saves and deletes through the configuration services: audit entry and event included."""

    def save_model(self, request, obj, form, change):
        try:
            save_configuration(obj, actor=admin_actor(request))
        except DomainError as exc:
            self.message_user(request, exc.detail, level=messages.ERROR)

    def delete_model(self, request, obj):
        try:
            delete_configuration(obj, actor=admin_actor(request))
        except DomainError as exc:
            self.message_user(request, exc.detail, level=messages.ERROR)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(Program)
class ProgramAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "currency",
        "time_zone",
        "points_precision",
        "rounding",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "currency", "time_zone"]}),
        (
            "Points",
            {"fields": ["points_precision", "rounding", "unknown_products", "expiry_forecast_days", "point_value"]},
        ),
        ("Roles", {"fields": ["support_adjustment_limit", "promotion_approval"]}),
        ("Members", {"fields": ["unique_email", "anonymous_on_unknown_card"]}),
        ("Tiers", {"fields": ["tier_window", "tier_grace_days"]}),
    ]

    def has_add_permission(self, request):
        return not Program.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """A change of currency, time zone or points precision, once the program has data, is saved
        only after a page that says what it changes (loyalty.hooks.program_change_notes) is confirmed."""
        if request.method == "POST" and object_id and "_confirmed" not in request.POST:
            program = self.get_object(request, admin.utils.unquote(object_id))
            if program is not None and self.has_change_permission(request, program):
                asked = self._confirmation(request, program)
                if asked is not None:
                    return asked
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _confirmation(self, request, program: Program):
        before = {name: getattr(program, name) for name in SENSITIVE_PROGRAM_FIELDS}
        form = self.get_form(request, program, change=True)(request.POST, request.FILES, instance=program)
        if not form.is_valid():
            return None  # the normal page shows the errors
        changes = {
            name: (before[name], form.cleaned_data[name])
            for name in SENSITIVE_PROGRAM_FIELDS
            if name in form.cleaned_data and form.cleaned_data[name] != before[name]
        }
        notes = program_change_notes(program, changes) if changes else []
        if not notes:
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Change the program's settings?",
            "opts": self.opts,
            "original": program,
            "changes": [(self.opts.get_field(name).verbose_name, *pair) for name, pair in changes.items()],
            "notes": notes,
            "posted": [(key, value) for key in request.POST for value in request.POST.getlist(key)],
        }
        return TemplateResponse(request, "admin/loyalty/program/confirm_change.html", context)


@admin.register(Sponsor)
class SponsorAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ["key", "name", "is_default", "active", "created_at"]
    list_filter = ["active", "is_default"]
    search_fields = ["key", "name"]


@admin.register(MembershipType)
class MembershipTypeAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ["key", "name", "is_company", "is_default", "active"]
    list_filter = ["is_company", "active"]
    search_fields = ["key", "name"]


@admin.register(Tier)
class TierAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = [
        "rank",
        "key",
        "name",
        "qualification_threshold",
        "qualification_window_months",
    ]
    search_fields = ["key", "name"]


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="read: GET calls; write: POST, PUT, DELETE; imports: bulk imports and exports.",
    )

    class Meta:
        model = ApiClient
        fields = ["name", "description", "scopes", "active"]


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    fields = ["prefix", "name", "created", "expiry_date", "revoked", "rate_limit", "imports_rate_limit", "last_used_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ApiClient)
class ApiClientAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = ApiClientForm
    list_display = ["name", "active", "scopes", "last_used_at", "created_at"]
    list_filter = ["active"]
    search_fields = ["name"]
    inlines = [ApiKeyInline]
    actions = ["issue_key"]

    @admin.action(description="Issue a new API key (shown once)")
    def issue_key(self, request, queryset):
        for client in queryset:
            _, raw_key = issue_api_key(client=client, actor=admin_actor(request))
            self.message_user(
                request,
                f"New key for {client.name}: {raw_key} (copy it now; it is stored hashed and never shown again)",
                level=messages.WARNING,
            )


class ApiKeyAddForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["client", "name", "expiry_date", "rate_limit", "imports_rate_limit"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "prefix",
        "client",
        "name",
        "created",
        "expiry_date",
        "revoked",
        "rate_limit",
        "imports_rate_limit",
        "last_used_at",
    ]
    list_filter = ["revoked", "client"]
    search_fields = ["prefix", "name", "client__name"]
    actions = ["revoke"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [
            "prefix",
            "client",
            "name",
            "created",
            "expiry_date",
            "revoked",
            "last_used_at",
        ]

    def save_model(self, request, obj, form, change):
        """Only the rate limit overrides change on an issued key (API_RATE_LIMIT and API_IMPORTS_RATE_LIMIT
        apply when they are blank)."""
        if change:
            set_api_key_rate_limits(
                api_key=ApiKey.objects.select_related("client").get(pk=obj.pk),
                rate_limit=obj.rate_limit,
                imports_rate_limit=obj.imports_rate_limit,
                actor=admin_actor(request),
            )
            return
        api_key, raw_key = issue_api_key(
            client=obj.client,
            actor=admin_actor(request),
            name=obj.name,
            expiry_date=obj.expiry_date,
        )
        if obj.rate_limit or obj.imports_rate_limit:
            set_api_key_rate_limits(
                api_key=api_key,
                rate_limit=obj.rate_limit,
                imports_rate_limit=obj.imports_rate_limit,
                actor=admin_actor(request),
            )
        obj.pk = api_key.pk
        self.message_user(
            request,
            f"The API key is: {raw_key} (copy it now; it is stored hashed and never shown again)",
            level=messages.WARNING,
        )

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        for api_key in queryset.select_related("client"):
            revoke_api_key(api_key=api_key, actor=admin_actor(request))
        self.message_user(request, "Revoked.")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["id", "type", "occurred_at", "membership_number"]
    list_filter = ["type"]
    search_fields = ["membership_number", "type"]
    date_hierarchy = "occurred_at"
