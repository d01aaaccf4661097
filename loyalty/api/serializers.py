"""Serializer bases: input refuses unknown fields, so a typo is an error and not a silent no-op."""

from rest_framework import serializers


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


def parse_query(serializer_class: type[serializers.Serializer], request) -> dict:
    """Validate query parameters (camelCase on the wire) with a snake_case input serializer."""
    from djangorestframework_camel_case.util import underscoreize

    query = serializer_class(data=underscoreize(request.query_params.dict()))
    query.is_valid(raise_exception=True)
    return query.validated_data
