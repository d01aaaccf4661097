"""Filters of GET /voucher/types and GET /voucher. Filter names are camelCase: they are the query parameters."""

import django_filters
from django.utils import timezone

from loyalty.api.filters import BooleanFilter, IsoDateTimeFilter
from memberships.errors import MembershipNotFound
from memberships.selectors import resolve_membership
from vouchers import selectors
from vouchers.models import Voucher, VoucherStatus, VoucherType


class VoucherTypeFilter(django_filters.FilterSet):
    active = BooleanFilter(method="filter_active", help_text="Only active (true) or inactive (false) types.")
    sponsor = django_filters.CharFilter(field_name="sponsor__key", max_length=40, help_text="A sponsor key.")
    purchasable = BooleanFilter(
        method="filter_purchasable",
        help_text="`true`: only types bought with points (the rewards catalog); `false`: only free ones.",
    )
    pointType = django_filters.CharFilter(
        field_name="point_type__key", max_length=40, help_text="Types priced in this point type."
    )
    kind = django_filters.ChoiceFilter(choices=VoucherType.Kind.choices, help_text="What the voucher gives.")

    class Meta:
        model = VoucherType
        fields: list[str] = []

    def filter_active(self, queryset, name, value):
        return queryset if value is None else queryset.filter(active=value)

    def filter_purchasable(self, queryset, name, value):
        return queryset if value is None else queryset.filter(price_points__isnull=not value)


class VoucherFilter(django_filters.FilterSet):
    type = django_filters.CharFilter(field_name="voucher_type__key", max_length=40, help_text="A voucher type key.")
    recipient = django_filters.CharFilter(
        method="filter_recipient", max_length=100, help_text="A membership key (number, card or alternate id)."
    )
    status = django_filters.MultipleChoiceFilter(
        choices=VoucherStatus.choices,
        method="filter_status",
        help_text="One or more statuses (repeat the parameter). An issued voucher past its end is `expired`.",
    )
    validAt = IsoDateTimeFilter(method="filter_valid_at", help_text="Vouchers whose validity covers this moment.")
    expiresAfter = IsoDateTimeFilter(field_name="valid_until", lookup_expr="gte", help_text="Ends at or after.")
    expiresBefore = IsoDateTimeFilter(field_name="valid_until", lookup_expr="lt", help_text="Ends before.")
    issuedSince = IsoDateTimeFilter(field_name="issued_at", lookup_expr="gte")
    issuedUntil = IsoDateTimeFilter(field_name="issued_at", lookup_expr="lt")
    reference = django_filters.CharFilter(
        field_name="reference", max_length=200, help_text="What they were issued for, e.g. a transaction id."
    )
    source = django_filters.CharFilter(field_name="source", max_length=100, help_text="e.g. `api`, `promotion:<key>`.")

    class Meta:
        model = Voucher
        fields: list[str] = []

    def filter_recipient(self, queryset, name, value):
        try:
            membership = resolve_membership(value)
        except MembershipNotFound:
            return queryset.none()
        return queryset.filter(recipient=membership)

    def filter_status(self, queryset, name, value):
        return selectors.with_status(queryset, value, timezone.now()) if value else queryset

    def filter_valid_at(self, queryset, name, value):
        return selectors.valid_at(queryset, value)
