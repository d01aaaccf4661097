"""Serializer bases: input refuses unknown fields, so a typo is an error and not a silent no-op."""

import threading
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
