"""OpenAPI generation: every operation documents its errors and the Idempotency-Key header."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_doc
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from loyalty.api.errors import ErrorSerializer

ERROR_DESCRIPTIONS = {
    "400": "Invalid input (`validation_error`, `malformed_request`, `unknown_parameter`, ...).",
    "401": "No or an invalid API key (`not_authenticated`, `authentication_failed`).",
    "403": "The key lacks the scope (`insufficient_scope`) or the user is not staff.",
    "404": "Not found (`not_found` or a more precise code).",
    "409": "Refused by a business rule, or `idempotency_key_reused`.",
    "413": "The request body is too large (`payload_too_large`).",
    "415": "The body's Content-Type is missing or not one the operation reads (`unsupported_media_type`).",
}


class LoyaltyAutoSchema(AutoSchema):
    def get_description(self) -> str:
        """A view's own docstring only: the base classes' docstrings talk to developers, not integrators."""
        if self.view.__class__.__dict__.get("__doc__"):
            return super().get_description()
        action = getattr(self.view, getattr(self.view, "action", None) or self.method.lower(), None)
        return get_doc(action) if action is not None and action.__doc__ else ""

    def _authenticated(self) -> bool:
        return not getattr(self.view, "public_endpoint", False)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        codes = ["400"]
        if self._authenticated():
            codes += ["401", "403"]
        writes = self.method in ("POST", "PUT", "PATCH", "DELETE")
        if "{" in self.path or writes:  # a write names what it acts on in the path or the body
            codes.append("404")
        if writes:
            codes += ["409", "413", "415"]
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code]),
                    code,
                )
        return responses

    def get_override_parameters(self):
        params = list(super().get_override_parameters())
        if self.method == "POST":
            params.append(
                OpenApiParameter(
                    "Idempotency-Key",
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    description=(
                        "Makes a retry safe: the same key and body return the first answer and change "
                        "nothing; the same key with another body is 409 `idempotency_key_reused`."
                    ),
                )
            )
        return params

    def get_auth(self):
        return super().get_auth() if self._authenticated() else []


def add_servers(result, generator, request, public):
    """The server the schema was read from (or API_PUBLIC_URL for a schema written by the command line):
    the paths start with /api/v1, so the server is the site's root."""
    from django.conf import settings

    url = request.build_absolute_uri("/").rstrip("/") if request is not None else settings.API_PUBLIC_URL
    result["servers"] = [{"url": url, "description": "This loyalty platform"}]
    return result


def camelize_query_parameters(result, generator, request, public):
    """Query parameters declared by snake_case serializers appear in camelCase, as the API reads them."""
    from loyalty.api.errors import camel

    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter.get("in") == "query":
                    parameter["name"] = camel(parameter["name"])
    return result
