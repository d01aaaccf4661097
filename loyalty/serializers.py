from rest_framework import serializers

from loyalty.api.pagination import MAX_ID
from loyalty.api.serializers import QueryIntegerField, StrictInputSerializer
from loyalty.models import AuditEntry, Event


class ServiceStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "unavailable", "not_configured"])
    detail = serializers.CharField(allow_blank=True)


class AboutSerializer(serializers.Serializer):
    """Without a key only `product` and `version`; the rest comes to an authenticated caller."""

    product = serializers.CharField()
    version = serializers.CharField()
    api_version = serializers.CharField(required=False, help_text="With a key only.")
    revision = serializers.CharField(allow_blank=True, required=False, help_text="With a key only.")
    server_time = serializers.DateTimeField(required=False, help_text="With a key only.")
    database = ServiceStatusSerializer(required=False, help_text="With a key only.")
    broker = ServiceStatusSerializer(required=False, help_text="With a key only.")


class AuditEntrySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label")

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "created_at",
            "actor",
            "actor_type",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "changes",
            "request_id",
            "remote_addr",
        ]


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = Event
        fields = ["id", "type", "occurred_at", "membership_number", "payload"]


class EventBatchSerializer(serializers.Serializer):
    acknowledged = serializers.IntegerField(help_text="The last event id this client has acknowledged.")
    ack = serializers.IntegerField(
        help_text="Pass this as `ack` on the next call, once these events are safely processed."
    )
    more = serializers.BooleanField(help_text="True when more events are waiting beyond this batch.")
    events = EventSerializer(many=True)


class AcknowledgeQuerySerializer(StrictInputSerializer):
    ack = QueryIntegerField(
        required=False,
        min_value=0,
        max_value=MAX_ID,
        help_text="The `ack` value of the previous answer: all events up to it are done.",
    )
    limit = QueryIntegerField(
        required=False, min_value=1, max_value=1000, default=100, help_text="At most this many events."
    )
