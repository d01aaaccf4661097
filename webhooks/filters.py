"""Filters of GET /webhooks/deliveries. Filter names are camelCase: they are the query parameters."""

import django_filters

from loyalty.api.filters import IsoDateTimeFilter
from webhooks.models import Delivery


class DeliveryFilter(django_filters.FilterSet):
    endpoint = django_filters.NumberFilter(field_name="endpoint_id", min_value=1, max_value=2**63 - 1)
    eventType = django_filters.CharFilter(field_name="event_type", max_length=80, help_text="An event type name.")
    status = django_filters.ChoiceFilter(choices=Delivery.Status.choices)
    since = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte", help_text="Created at or after.")
    until = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt", help_text="Created before.")

    class Meta:
        model = Delivery
        fields: list[str] = []
