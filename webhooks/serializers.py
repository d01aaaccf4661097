"""Wire shapes of the /webhooks endpoints (snake_case here, camelCase on the wire)."""

from __future__ import annotations

from rest_framework import serializers

from loyalty.api.serializers import StrictInputSerializer
from webhooks.models import Delivery

STATUSES = ", ".join(f"`{s}`" for s in Delivery.Status.values)


class HeadersField(serializers.DictField):
    def __init__(self, **kwargs):
        super().__init__(child=serializers.CharField(max_length=1000, allow_blank=True), **kwargs)


class EndpointInput(StrictInputSerializer):
    url = serializers.CharField(max_length=2000, help_text="Where events are posted: https in production.")
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=80),
        min_length=1,
        max_length=100,
        help_text="Exact type names (`points.earned`), prefix wildcards (`points.*`) or `*` for every type; "
        "`GET /webhooks/eventtypes` lists them.",
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    headers = HeadersField(
        required=False, default=dict, help_text="Extra HTTP headers sent with every delivery (at most 20)."
    )
    enabled = serializers.BooleanField(required=False, default=True)


class EndpointUpdateInput(StrictInputSerializer):
    url = serializers.CharField(max_length=2000, required=False)
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=80), min_length=1, max_length=100, required=False
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    headers = HeadersField(required=False, help_text="Replaces the endpoint's headers.")
    enabled = serializers.BooleanField(
        required=False, help_text="`true` enables a disabled endpoint again; its waiting deliveries go out."
    )


class EndpointOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    description = serializers.CharField()
    event_types = serializers.ListField(child=serializers.CharField())
    headers = serializers.DictField(child=serializers.CharField())
    enabled = serializers.BooleanField()
    disabled_reason = serializers.CharField(help_text="Why it was disabled (a 410 answer, days of failures).")
    failing_since = serializers.DateTimeField(allow_null=True, help_text="First failed attempt since a success.")
    secrets_expire_at = serializers.ListField(
        child=serializers.DateTimeField(allow_null=True),
        help_text="When each signing secret stops signing (null: the current one, until the next rotation).",
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class EndpointCreatedOutput(EndpointOutput):
    secret = serializers.CharField(help_text="The signing secret (`whsec_...`). Shown this once: keep it safe.")


class RotatedOutput(serializers.Serializer):
    id = serializers.IntegerField()
    secret = serializers.CharField(help_text="The new signing secret. Shown this once.")
    previous_secrets_expire_at = serializers.DateTimeField(
        help_text="Until then deliveries carry a signature by the old secret too."
    )


class AttemptOutput(serializers.Serializer):
    number = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    duration_ms = serializers.IntegerField()
    url = serializers.CharField()
    request_headers = serializers.DictField(child=serializers.CharField())
    response_status = serializers.IntegerField(allow_null=True, help_text="None when no answer came.")
    response_headers = serializers.DictField(child=serializers.CharField())
    response_body = serializers.CharField(help_text="The first 4 KB of the answer.")
    error = serializers.CharField(help_text="Why no answer came: refused, timed out, a refused address, ...")


class DeliveryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    endpoint = serializers.IntegerField(source="endpoint_id")
    event_id = serializers.IntegerField(allow_null=True, help_text="The outbox event (null for a test event).")
    message_id = serializers.CharField(help_text="The `webhook-id` header: receivers deduplicate on it.")
    event_type = serializers.CharField()
    status = serializers.CharField(help_text=f"One of {STATUSES}.")
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    attempt_log = AttemptOutput(many=True, source="attempt_log.all")


class EventTypeOutput(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    membership = serializers.BooleanField(help_text="Whether its events carry a membership number.")
    payload = serializers.DictField(help_text="The JSON Schema of `data.payload`.")
