"""django-filter, with unknown query parameters refused instead of silently ignored."""

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
