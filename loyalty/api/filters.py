"""Strict query parameters: django-filter with unknown parameters refused instead of silently
ignored, and on every endpoint no repeated single-valued parameter and no empty value."""

from datetime import UTC
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.request import Request

from loyalty.api.pagination import pagination_params

ALWAYS_ALLOWED = {"format"}


def check_query(request: Request, view: Any) -> None:
    """Every API request passes here (loyalty.api.views): a parameter given twice that takes one
    value, and a parameter given without a value, are 400s naming the parameter. Before, the last
    of two values won without a word, and an empty filter (`?status=`) filtered nothing."""
    problems: dict[str, list[ErrorDetail]] = {}
    multi: set[str] | None = None
    for name, values in request.query_params.lists():
        if "" in values:
            problems[name] = [ErrorDetail("Give a value, or leave the parameter out.", "blank")]
        elif len(values) > 1:
            if multi is None:
                multi = multi_valued_params(view)
            if name not in multi:
                problems[name] = [ErrorDetail("Give this parameter once: it takes one value.", "repeated")]
    if problems:
        raise ValidationError(problems)


def multi_valued_params(view: Any) -> set[str]:
    """The query parameters a view takes more than once: the filters that take several values
    (`status=active&status=blocked`) and the names in the view's `multi_valued_query_params`."""
    names = set(getattr(view, "multi_valued_query_params", ()))
    filterset_class = getattr(view, "filterset_class", None)
    if filterset_class is not None:
        for name, filter_ in filterset_class.base_filters.items():
            widget = filter_.extra.get("widget") or filter_.field_class.widget
            if getattr(widget, "allow_multiple_selected", False):
                names.add(name)
    return names


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


class StrictBooleanField(forms.NullBooleanField):
    """`true`/`false` (or 1/0); anything else is a 400, where Django's field would ignore the filter."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise DjangoValidationError("Use true or false.", code="invalid")

    def validate(self, value):
        """Nothing beyond to_python: a filter left out (None) is allowed, NullBooleanField's default check."""
        return None


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", forms.TextInput)  # the select widgets turn unknown values into "no filter"
        super().__init__(*args, **kwargs)
