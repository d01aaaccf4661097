import django_filters

from loyalty.api.filters import BooleanFilter, IsoDateTimeFilter
from loyalty.models import AuditEntry, Event


class AuditFilter(django_filters.FilterSet):
    actor = django_filters.CharFilter(
        field_name="actor_label",
        help_text="`client:<name>`, `user:<username>` or `system:<job>`.",
    )
    actorType = django_filters.ChoiceFilter(
        field_name="actor_type",
        choices=[("user", "user"), ("client", "client"), ("system", "system")],
    )
    objectType = django_filters.CharFilter(field_name="object_type", help_text="e.g. `loyalty.sponsor`.")
    objectId = django_filters.CharFilter(field_name="object_id")
    action = django_filters.CharFilter(field_name="action", help_text="Exact action, e.g. `sponsor.updated`.")
    since = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AuditEntry
        fields: list[str] = []


class EventFilter(django_filters.FilterSet):
    type = django_filters.CharFilter(field_name="type", help_text="Exact event type, e.g. `sponsor.updated`.")
    membership = django_filters.CharFilter(field_name="membership_number", help_text="A membership number.")
    since = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    until = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")
    acknowledged = BooleanFilter(
        method="filter_acknowledged",
        help_text="Only events this client has (true) or has not (false) acknowledged.",
    )

    class Meta:
        model = Event
        fields: list[str] = []

    def filter_acknowledged(self, queryset, name, value):
        from django.db.models import Q
        from django.db.models.functions import Coalesce

        from loyalty.selectors import acknowledged_events

        client = getattr(self.request, "api_client", None)
        done = acknowledged_events(client.pk) if client else Q(pk__in=[])
        queryset = queryset.alias(feed_txid=Coalesce("txid", 0))
        return queryset.filter(done) if value else queryset.exclude(done)
