"""Search filters of GET /memberships. Filter names are camelCase: they are the query parameters."""

import copy

import django_filters
from django.core.exceptions import ValidationError
from django.http import QueryDict

from loyalty.api.filters import IsoDateTimeFilter
from memberships.models import AlternateId, Card, Membership, MembershipStatus
from memberships.selectors import filter_by_name
from memberships.validation import clean_phone


class MembershipOrdering(django_filters.OrderingFilter):
    """Sorts by the chosen field, then by id, so pages never overlap or skip rows."""

    def filter(self, qs, value):
        if not value:
            return qs
        ordering = [self.get_ordering_value(param) for param in value]
        descending = ordering[0].startswith("-")
        return qs.order_by(*ordering, "-id" if descending else "id")


class MembershipFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(
        method="filter_name",
        max_length=200,
        help_text='Start of the first or last name, case-insensitive; "Ann Smi" matches Ann Smith.',
    )
    email = django_filters.CharFilter(
        method="filter_email", max_length=254, help_text="The exact e-mail address (case-insensitive)."
    )
    phone = django_filters.CharFilter(
        method="filter_phone", max_length=32, help_text="The phone number; spaces and dashes are ignored."
    )
    card = django_filters.CharFilter(
        method="filter_card", max_length=40, help_text="A card number, active or not (finds former holders too)."
    )
    alternateId = django_filters.CharFilter(
        method="filter_alternate_id", max_length=100, help_text="An alternate id value (any type)."
    )
    alternateIdType = django_filters.CharFilter(
        method="filter_noop", max_length=40, help_text="Narrows `alternateId` to one type, e.g. `crm`."
    )
    status = django_filters.MultipleChoiceFilter(
        choices=MembershipStatus.choices, help_text="One or more statuses (repeat the parameter)."
    )
    tier = django_filters.CharFilter(field_name="tier__key", max_length=40, help_text="A tier key.")
    membershipType = django_filters.CharFilter(
        field_name="membership_type__key", max_length=40, help_text="A membership type key."
    )
    enrolledFrom = IsoDateTimeFilter(
        field_name="enrolled_at", lookup_expr="gte", help_text="Enrolled at or after this time."
    )
    enrolledUntil = IsoDateTimeFilter(
        field_name="enrolled_at", lookup_expr="lt", help_text="Enrolled before this time."
    )
    ordering = MembershipOrdering(
        fields=(
            ("enrolled_at", "enrolledAt"),
            ("number", "membershipNumber"),
            ("last_name", "lastName"),
            ("email", "email"),
        ),
        help_text="Sort field, `-` for descending. Default: `-enrolledAt` (newest first).",
    )

    class Meta:
        model = Membership
        fields: list[str] = []

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        """django-filter's own __init__ (26.x), except that a bound filter set copies only the filters
        the request names. django-filter deep-copies every filter and builds a form field for each
        on every request: for a one-parameter search that was most of the endpoint's Python time.
        Unknown parameters never get here (StrictFilterBackend refuses them)."""
        if queryset is None:
            queryset = self._meta.model._default_manager.all()
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = queryset
        self.request = request
        self.form_prefix = prefix
        used = self.base_filters if data is None else {n: f for n, f in self.base_filters.items() if n in data}
        self.filters = copy.deepcopy(used)
        for filter_ in self.filters.values():
            filter_.model = queryset.model
            filter_.parent = self

    def filter_name(self, queryset, name, value):
        return filter_by_name(queryset, value)

    def filter_email(self, queryset, name, value):
        return queryset.filter(email=value.strip().lower())

    def filter_phone(self, queryset, name, value):
        try:
            return queryset.filter(phone=clean_phone(value))
        except ValidationError:
            return queryset.none()

    def filter_card(self, queryset, name, value):
        holders = Card.objects.filter(number=value.strip(), membership__isnull=False).values("membership_id")
        return queryset.filter(id__in=holders)

    def filter_alternate_id(self, queryset, name, value):
        matches = AlternateId.objects.filter(value=value.strip())
        id_type = (self.data.get("alternateIdType") or "").strip()
        if id_type:
            matches = matches.filter(type=id_type)
        return queryset.filter(id__in=matches.values("membership_id"))

    def filter_noop(self, queryset, name, value):
        return queryset
