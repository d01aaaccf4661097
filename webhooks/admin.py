"""Webhook endpoints and their delivery log in the admin (Developers and access). Every change goes through
webhooks.services, as the API's do."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from loyalty.admin import admin_actor
from loyalty.errors import DomainError
from webhooks import services
from webhooks.errors import InvalidEndpoint
from webhooks.models import Delivery, DeliveryAttempt, Endpoint


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class EndpointForm(forms.ModelForm):
    url = forms.URLField(
        label="URL", max_length=2000, assume_scheme="https", help_text="Where the events are posted (https)."
    )
    subscriptions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 40}),
        help_text="One per line: an event type (points.earned), all of a kind (points.*), or * for every event. "
        "The API's GET /webhooks/eventtypes lists them.",
    )
    extra_headers = forms.CharField(
        required=False,
        label="Extra headers",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 40}),
        help_text="One per line, as Name: value. Sent with every delivery.",
    )

    class Meta:
        model = Endpoint
        fields = ["url", "description", "client", "enabled"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["subscriptions"].initial = "\n".join(self.instance.event_types)
            self.fields["extra_headers"].initial = "\n".join(f"{k}: {v}" for k, v in self.instance.headers.items())

    def clean(self):
        data = super().clean()
        headers = {}
        for line in _lines(data.get("extra_headers", "")):
            name, colon, value = line.partition(":")
            if not colon:
                self.add_error("extra_headers", f"Write each header as Name: value ({line!r} has no colon).")
                break
            headers[name.strip()] = value.strip()
        try:
            url, types, headers = services.clean_endpoint(
                data.get("url", ""), _lines(data.get("subscriptions", "")), headers
            )
        except InvalidEndpoint as exc:
            fields = {"url": "url", "eventTypes": "subscriptions", "headers": "extra_headers"}
            for error in exc.errors:
                field = fields.get(error["field"])
                if field not in self.errors:  # one message per field
                    self.add_error(field, error["message"])
            return data
        data.update(url=url, event_types=types, headers=headers)
        return data


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ["number", "started", "duration", "answer", "request", "response"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "Attempts"

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="Sent")
    def started(self, attempt):
        return date_format(timezone.localtime(attempt.started_at), "DATETIME_FORMAT")

    @admin.display(description="Took")
    def duration(self, attempt):
        return f"{attempt.duration_ms:,} ms"

    @admin.display(description="Answer")
    def answer(self, attempt):
        return answer_in_words(attempt)

    @admin.display(description="What was sent (headers)")
    def request(self, attempt):
        headers = format_html_join("", "{}: {}\n", attempt.request_headers.items())
        return format_html('<pre class="webhook-answer">{}</pre>', headers)

    @admin.display(description="What the receiver sent back")
    def response(self, attempt):
        if attempt.response_status is None:
            return "—"
        headers = format_html_join("", "{}: {}\n", attempt.response_headers.items())
        return format_html('<pre class="webhook-answer">{}\n{}</pre>', headers, attempt.response_body or "(empty)")


def answer_in_words(attempt: DeliveryAttempt | None) -> str:
    if attempt is None:
        return "Not sent yet"
    if attempt.response_status is None:
        return f"No answer: {attempt.error}"
    verdict = "accepted" if 200 <= attempt.response_status < 300 else "refused"
    return f"{attempt.response_status} ({verdict})"


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointForm

    class Media:
        css = {"all": ["webhooks/admin.css"]}

    list_display = ["name", "url", "subscribed_to", "state", "deliveries_link"]
    list_filter = ["enabled"]
    search_fields = ["url", "description"]
    readonly_fields = ["state", "signing_secrets", "created_at", "updated_at"]
    actions = ["send_test", "rotate_secret"]
    fieldsets = [
        (None, {"fields": ["url", "description", "client", "subscriptions", "extra_headers", "enabled"]}),
        ("State", {"fields": ["state", "signing_secrets", "created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("client")
            .prefetch_related("secrets")
            .annotate(
                delivered=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.DELIVERED)),
                waiting=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.PENDING)),
                failed=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.FAILED)),
            )
        )

    def get_fieldsets(self, request, obj=None):
        return self.fieldsets if obj else self.fieldsets[:1]

    @admin.display(description="Endpoint")
    def name(self, endpoint):
        return endpoint.description or endpoint.url

    @admin.display(description="Events")
    def subscribed_to(self, endpoint):
        return ", ".join(endpoint.event_types)

    @admin.display(description="State")
    def state(self, endpoint):
        if not endpoint.enabled:
            return f"Disabled. {endpoint.disabled_reason}".strip()
        if endpoint.failing_since:
            since = date_format(timezone.localtime(endpoint.failing_since), "DATETIME_FORMAT")
            return f"Receiving, but failing since {since}"
        return "Receiving"

    @admin.display(description="Deliveries")
    def deliveries_link(self, endpoint):
        url = reverse("admin:webhooks_delivery_changelist") + f"?endpoint__id__exact={endpoint.pk}"
        words = f"{endpoint.delivered:,} delivered, {endpoint.waiting:,} waiting, {endpoint.failed:,} failed"
        return format_html('<a href="{}">{}</a>', url, words)

    @admin.display(description="Signing secrets")
    def signing_secrets(self, endpoint):
        now = timezone.now()
        rows = []
        for secret in endpoint.secrets.all():
            if secret.expires_at is not None and secret.expires_at <= now:
                continue
            until = (
                "signs until the next rotation"
                if secret.expires_at is None
                else "signs until " + date_format(timezone.localtime(secret.expires_at), "DATETIME_FORMAT")
            )
            rows.append((secret.secret[:12] + "…", until))
        return format_html_join(format_html("<br>"), "{} {}", rows)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        fields = {"url": data["url"], "event_types": data["event_types"], "headers": data["headers"]}
        try:
            if change:
                services.update_endpoint(
                    endpoint=obj,
                    actor=admin_actor(request),
                    description=data["description"],
                    enabled=data["enabled"],
                    **fields,
                )
            else:
                endpoint, secret = services.create_endpoint(
                    actor=admin_actor(request),
                    client=data["client"],
                    description=data["description"],
                    enabled=data["enabled"],
                    **fields,
                )
                obj.pk = endpoint.pk
                self.message_user(
                    request,
                    f"The signing secret of this endpoint: {secret} (copy it to the receiver now; it is not shown "
                    "again).",
                    level=messages.WARNING,
                )
        except DomainError as exc:
            self.message_user(request, exc.detail, level=messages.ERROR)

    def get_deleted_objects(self, objs, request):
        """The endpoint takes its secrets and delivery log with it; deleting it needs no permission to delete
        deliveries, which nobody has (the log is not edited by hand)."""
        deleted, counts, _, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected

    def delete_model(self, request, obj):
        services.delete_endpoint(endpoint=obj, actor=admin_actor(request))

    def delete_queryset(self, request, queryset):
        for endpoint in queryset:
            self.delete_model(request, endpoint)

    @admin.action(description="Send a test event", permissions=["change"])
    def send_test(self, request, queryset):
        for endpoint in queryset:
            try:
                delivery = services.send_test(endpoint=endpoint, actor=admin_actor(request))
            except DomainError as exc:
                self.message_user(request, f"{endpoint}: {exc.detail}", level=messages.ERROR)
                continue
            url = reverse("admin:webhooks_delivery_change", args=[delivery.pk])
            self.message_user(
                request,
                format_html('A test event is on its way to {}: <a href="{}">see what it answers</a>.', endpoint, url),
            )

    @admin.action(description="Rotate the signing secret (the new one is shown once)", permissions=["change"])
    def rotate_secret(self, request, queryset):
        for endpoint in queryset:
            secret, until = services.rotate_secret(endpoint=endpoint, actor=admin_actor(request))
            until_words = date_format(timezone.localtime(until), "DATETIME_FORMAT")
            self.message_user(
                request,
                f"New signing secret of {endpoint}: {secret} (copy it now; it is not shown again). The old one "
                f"keeps signing beside it until {until_words}.",
                level=messages.WARNING,
            )


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["created", "endpoint", "event_type", "status_words", "attempts", "last_answer", "next_attempt"]
    list_filter = ["status", "event_type", "endpoint"]
    search_fields = ["message_id", "event_type"]
    list_select_related = ["endpoint"]
    inlines = [AttemptInline]
    actions = ["retry"]
    fields = ["endpoint", "event_type", "message_id", "event", "status_words", "attempts", "next_attempt", "created"]
    readonly_fields = fields
    change_form_template = "admin/webhooks/delivery/change_form.html"

    class Media:
        css = {"all": ["webhooks/admin.css"]}

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("endpoint").prefetch_related("attempt_log")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Created", ordering="created_at")
    def created(self, delivery):
        return date_format(timezone.localtime(delivery.created_at), "DATETIME_FORMAT")

    @admin.display(description="Status", ordering="status")
    def status_words(self, delivery):
        if delivery.status == Delivery.Status.PENDING and delivery.attempts:
            return f"Retrying (attempt {delivery.attempts + 1} next)"
        return delivery.get_status_display()

    @admin.display(description="Last answer")
    def last_answer(self, delivery):
        attempts = list(delivery.attempt_log.all())
        return answer_in_words(attempts[-1] if attempts else None)

    @admin.display(description="Next attempt")
    def next_attempt(self, delivery):
        if delivery.status != Delivery.Status.PENDING or delivery.next_attempt_at is None:
            return "—"
        return date_format(timezone.localtime(delivery.next_attempt_at), "DATETIME_FORMAT")

    def get_urls(self):
        retry = self.admin_site.admin_view(self.retry_view)
        return [path("<int:delivery_id>/retry/", retry, name="webhooks_delivery_retry"), *super().get_urls()]

    def retry_view(self, request, delivery_id):
        """The Deliver again button of a delivery's page (POST, with the CSRF token)."""
        if request.method != "POST" or not request.user.has_perm("webhooks.change_endpoint"):
            return HttpResponseRedirect(reverse("admin:webhooks_delivery_change", args=[delivery_id]))
        delivery = get_object_or_404(Delivery, pk=delivery_id)
        self._retry(request, delivery)
        return HttpResponseRedirect(reverse("admin:webhooks_delivery_change", args=[delivery_id]))

    @admin.action(description="Deliver again now")
    def retry(self, request, queryset):
        if not request.user.has_perm("webhooks.change_endpoint"):
            self.message_user(request, "Delivering again needs the permission to change endpoints.", messages.ERROR)
            return
        for delivery in queryset:
            self._retry(request, delivery)

    def _retry(self, request, delivery: Delivery) -> None:
        try:
            services.retry_delivery(delivery=delivery, actor=admin_actor(request))
        except DomainError as exc:
            self.message_user(request, f"{delivery}: {exc.detail}", level=messages.ERROR)
        else:
            self.message_user(request, f"{delivery.event_type} to {delivery.endpoint} is being delivered again.")
