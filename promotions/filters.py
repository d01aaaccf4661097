"""Query filters of the /promos lists. Filter names are camelCase: they are the query parameters."""

import django_filters
from django.core.validators import RegexValidator
from django.db.models import Q

from loyalty.api.filters import BooleanFilter, IsoDateTimeFilter
from promotions.models import CategoryValue, Channel, MasterCategory, Product

category_pair_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9_-]*:[a-z0-9][a-z0-9_-]*$",
    "Give a master category and a value key as master:value, e.g. department:coffee.",
)


class StableOrdering(django_filters.OrderingFilter):
    """Sorts by the chosen fields, then by id, so pages never overlap or skip rows."""

    def filter(self, qs, value):
        if not value:
            return qs
        ordering = [self.get_ordering_value(param) for param in value]
        return qs.order_by(*ordering, "-id" if ordering[-1].startswith("-") else "id")


class ChannelFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_q", max_length=120, help_text="Text in the key or the name (case-insensitive)."
    )
    kind = django_filters.ChoiceFilter(choices=Channel.Kind.choices, help_text="`store`, `webshop` or `partner`.")
    sponsor = django_filters.CharFilter(field_name="sponsor__key", max_length=40, help_text="A sponsor key.")
    active = BooleanFilter(help_text="Only active (true) or inactive (false) channels.")

    class Meta:
        model = Channel
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        text = value.strip()
        return queryset.filter(Q(key__icontains=text) | Q(name__icontains=text)) if text else queryset


class ProductFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_q",
        max_length=200,
        help_text="The start of a product key, or text in the name or the brand (case-insensitive).",
    )
    channel = django_filters.CharFilter(field_name="channel__key", max_length=40, help_text="A channel key.")
    key = django_filters.CharFilter(
        field_name="key", max_length=64, help_text="An exact product key (in every channel, unless `channel`)."
    )
    brand = django_filters.CharFilter(field_name="brand", lookup_expr="iexact", max_length=120, help_text="A brand.")
    category = django_filters.CharFilter(
        method="filter_category",
        max_length=81,
        validators=[category_pair_validator],
        help_text="Products with a category value, as `master:value`, e.g. `department:coffee`.",
    )
    customCategory = django_filters.CharFilter(
        field_name="custom_categories__key", max_length=40, help_text="Products in this custom category (its key)."
    )
    active = BooleanFilter(help_text="Only active (true) or inactive (false) products.")
    minPrice = django_filters.NumberFilter(
        field_name="price", lookup_expr="gte", max_digits=12, decimal_places=2, min_value=0, help_text="Price at least."
    )
    maxPrice = django_filters.NumberFilter(
        field_name="price", lookup_expr="lte", max_digits=12, decimal_places=2, min_value=0, help_text="Price at most."
    )
    updatedSince = IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", help_text="Changed at or after this time (for catalog syncs)."
    )
    ordering = StableOrdering(
        fields=(("key", "key"), ("name", "name"), ("price", "price"), ("updated_at", "updatedAt")),
        help_text="Sort field, `-` for descending. Default: by channel, then key.",
    )

    class Meta:
        model = Product
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        text = value.strip()
        if not text:
            return queryset
        return queryset.filter(Q(key__istartswith=text) | Q(name__icontains=text) | Q(brand__icontains=text))

    def filter_category(self, queryset, name, value):
        master, _, key = value.partition(":")
        return queryset.filter(category_links__master__key=master, category_links__value__key=key)


class MasterCategoryFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_q", max_length=120, help_text="Text in the key or the name (case-insensitive)."
    )
    key = django_filters.CharFilter(field_name="key", max_length=40, help_text="An exact key.")
    channel = django_filters.CharFilter(
        method="filter_channel", max_length=40, help_text="Only master categories with values in this channel."
    )

    class Meta:
        model = MasterCategory
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        text = value.strip()
        return queryset.filter(Q(key__icontains=text) | Q(name__icontains=text)) if text else queryset

    def filter_channel(self, queryset, name, value):
        return queryset.filter(pk__in=CategoryValue.objects.filter(channel__key=value).values("master_id"))


class CategoryValueFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_q", max_length=120, help_text="Text in the key or the name (case-insensitive)."
    )
    value = django_filters.CharFilter(field_name="key", max_length=40, help_text="An exact value key, e.g. `coffee`.")
    hasProducts = BooleanFilter(
        method="filter_has_products", help_text="Only values some product has (true), or none has (false)."
    )

    class Meta:
        model = CategoryValue
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        text = value.strip()
        return queryset.filter(Q(key__icontains=text) | Q(name__icontains=text)) if text else queryset

    def filter_has_products(self, queryset, name, value):
        return queryset.filter(product_count__gt=0) if value else queryset.filter(product_count=0)
