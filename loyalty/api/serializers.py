"""Serializer bases: input refuses unknown fields, so a typo is an error and not a silent no-op."""

import re
import threading
from decimal import Decimal
from typing import Any

from rest_framework import serializers

_instances = threading.local()


def validated(serializer_class: type[serializers.Serializer], data: Any) -> Any:
    """What `serializer_class(data=data)` validates to, or its ValidationError, as is_valid(raise_exception=True)
    gives them, from one instance per thread and class: building a DRF serializer deep-copies its
    fields, which costs more than validating a small body (or an import record)."""
    cache = _instances.__dict__.setdefault("by_class", {})
    instance = cache.get(serializer_class)
    if instance is None:
        instance = cache[serializer_class] = serializer_class()
    return instance.run_validation(data)


class StrictInputSerializer(serializers.Serializer):
    def to_internal_value(self, data):
        unknown = {}
        if isinstance(data, dict):
            unknown = {
                name: [serializers.ErrorDetail("Unknown field.", code="unknown_field")]
                for name in sorted(set(data) - set(self.fields))
            }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                exc.detail.update(unknown)
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class QueryIntegerField(serializers.IntegerField):
    """An integer query parameter, read as the paginators read `limit` and `offset`
    (loyalty.api.pagination.whole_number), within the database's bigint unless narrower."""

    def to_internal_value(self, data: Any) -> int:
        from loyalty.api.pagination import MAX_ID, MIN_BIGINT, whole_number

        if not isinstance(data, str):
            return super().to_internal_value(data)
        minimum = MIN_BIGINT if self.min_value is None else self.min_value
        return whole_number(data, minimum=minimum, maximum=MAX_ID if self.max_value is None else self.max_value)


def parse_query(serializer_class: type[serializers.Serializer], request) -> dict:
    """Validate query parameters (camelCase on the wire) with a snake_case input serializer."""
    from djangorestframework_camel_case.util import underscoreize

    query = serializer_class(data=underscoreize(request.query_params.dict()))
    query.is_valid(raise_exception=True)
    return query.validated_data


# The shape of every decimal string the API reads: an optional "-", ASCII digits, an optional "." with more.
_DECIMAL_SHAPE = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def decimal_pattern(whole: int, fraction: int, *, signed: bool = True) -> str:
    """The schema's pattern of a decimal string with at most `whole` digits before the point and `fraction`
    after it, `-` allowed when `signed`: exactly what DecimalStringField takes (leading zeros count as
    digits; `12.` and `.5` are numbers, `""`, `-`, `.`, `+1`, `1e2`, ` 1` and other scripts' digits not).
    ASCII classes, not `\\d`, which matches other scripts' digits in Python's regular expressions."""
    sign = "-?" if signed else ""
    if fraction == 0:
        return rf"^{sign}[0-9]{{1,{whole}}}\.?$"
    return rf"^{sign}(?:[0-9]{{1,{whole}}}(?:\.[0-9]{{0,{fraction}}})?|\.[0-9]{{1,{fraction}}})$"


class DecimalStringField(serializers.DecimalField):
    """An amount (points, money, quantities) as a decimal string of ASCII digits, as the schema's pattern says.

    DRF's DecimalField takes whatever Python's Decimal takes: JSON numbers (floats included), surrounding
    spaces, exponents (`"1E-2"`) and other scripts' digits (full-width "12" redeemed 12.00). This field refuses those
    (code `invalid`), counts digits as written (`max_whole_digits`, `max_decimal_places`) and, where the value
    may not be negative, refuses a sign (`min_value`), so that what it takes is exactly what
    `decimal_pattern` (its schema, loyalty/api/schema.py) matches; then DRF's checks of value bounds run."""

    default_error_messages = {
        "invalid": 'A decimal string of ASCII digits is required, e.g. "12.50" (no exponent, spaces or "+").',
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.max_digits is None or self.decimal_places is None or self.max_whole_digits < 1:
            raise ValueError("DecimalStringField needs max_digits above decimal_places, and decimal_places.")
        self.signed = self.min_value is None or Decimal(self.min_value) < 0
        self.pattern = decimal_pattern(self.max_whole_digits, self.decimal_places, signed=self.signed)

    def to_internal_value(self, data: Any) -> Decimal:
        if type(data) is not str or not _DECIMAL_SHAPE.fullmatch(data):
            self.fail("invalid")
        if data.startswith("-") and not self.signed:
            self.fail("min_value", min_value=self.min_value)
        whole, _, fraction = data.lstrip("-").partition(".")
        if len(whole) > self.max_whole_digits:
            self.fail("max_whole_digits", max_whole_digits=self.max_whole_digits)
        if len(fraction) > self.decimal_places:
            self.fail("max_decimal_places", max_decimal_places=self.decimal_places)
        return super().to_internal_value(data)


def parse(serializer_class: type[serializers.Serializer], data: Any, **kwargs: Any) -> dict[str, Any]:
    """A request's input checked by its serializer (400 `validation_error` naming the fields), as the views of
    every app read their bodies and queries."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
