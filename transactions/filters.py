import django_filters

from loyalty.api.filters import IsoDateTimeFilter
from transactions.models import Transaction


class TransactionFilter(django_filters.FilterSet):
    membership = django_filters.CharFilter(
        method="filter_membership", help_text="Membership number, card or alternate id."
    )
    since = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    until = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")
    channel = django_filters.CharFilter(field_name="channel")
    sponsor = django_filters.CharFilter(field_name="sponsor__key")
    status = django_filters.ChoiceFilter(choices=Transaction.Status.choices)

    class Meta:
        model = Transaction
        fields: list[str] = []

    def filter_membership(self, queryset, name, value):
        from memberships.errors import AmbiguousKey, MembershipNotFound
        from memberships.selectors import membership_and_merged_ids, resolve_membership

        try:
            membership = resolve_membership(value)
        except (MembershipNotFound, AmbiguousKey):  # a filter narrows; it does not assert existence
            return queryset.none()
        return queryset.filter(membership_id__in=membership_and_merged_ids(membership))
