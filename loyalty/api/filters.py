"""django-filter, with unknown query parameters refused instead of silently ignored."""

from datetime import UTC

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError

from loyalty.api.pagination import pagination_params

ALWAYS_ALLOWED = {"format"}


class StrictFilterBackend(DjangoFilterBackend):
    def filter_queryset(self, request, queryset, view):
        allowed = set(ALWAYS_ALLOWED) | pagination_params(getattr(view, "paginator", None))
        allowed |= set(getattr(view, "extra_query_params", ()))
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            allowed |= set(filterset_class.base_filters)
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
            raise ValidationError(
                {name: ValidationError("Unknown query parameter.", code="unknown_parameter").detail for name in unknown}
            )
        return super().filter_queryset(request, queryset, view)


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, handed to the database in UTC.

    Any offset up to 24 hours parses, but PostgreSQL refuses offsets past 15:59 and SQLite a
    time that leaves years 1 to 9999 in UTC: both were 500s. Now they are in range or a 400.
    """

    default_error_messages = {"out_of_range": "The time is out of range: give years 1 to 9999 in UTC."}

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise DjangoValidationError(self.error_messages["out_of_range"], code="out_of_range") from None


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """Use this, not django_filters.IsoDateTimeFilter, for time filters of the API."""

    field_class = UtcIsoDateTimeField
