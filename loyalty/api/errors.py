"""One error shape for the whole API: {status, code, detail, errors}."""

from typing import Any

from django.core.exceptions import DisallowedHost, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from djangorestframework_camel_case.util import camelize_re, underscore_to_camel
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from loyalty.dbtimeouts import is_timeout
from loyalty.errors import DomainError

STATUS_CODES = {
    exceptions.ValidationError: "validation_error",
    exceptions.ParseError: "malformed_request",
}


class ErrorItemSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The field in camelCase, dotted for nested fields; empty for the body.")
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    status = serializers.IntegerField()
    code = serializers.CharField(help_text="Stable, machine-readable; the docs list each one.")
    detail = serializers.CharField(help_text="What went wrong, for people.")
    errors = ErrorItemSerializer(many=True)


def camel(name: str) -> str:
    return camelize_re.sub(underscore_to_camel, name) if "_" in name else name


def flatten(detail: Any, path: str = "") -> list[dict[str, str]]:
    """DRF's nested error detail as a flat list of {field, code, message}."""
    if isinstance(detail, dict):
        items = []
        for key, value in detail.items():
            name = "" if key in ("non_field_errors", "__all__") else camel(str(key))
            items += flatten(value, f"{path}.{name}" if path and name else (name or path))
        return items
    if isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            return [item for d in detail for item in flatten(d, path)]
        items = []
        for index, value in enumerate(detail):
            if value:
                items += flatten(value, f"{path}.{index}" if path else str(index))
        return items
    return [
        {
            "field": path,
            "code": str(getattr(detail, "code", "invalid")),
            "message": str(detail),
        }
    ]


def error_body(status: int, code: str, detail: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"status": status, "code": code, "detail": detail, "errors": errors or []}


def domain_error_response(exc: DomainError) -> Response:
    return Response(error_body(exc.status, exc.code, exc.detail, exc.errors), status=exc.status)


BUSY_RETRY_AFTER = 1  # seconds: a lock is held by a short transaction, or the server is briefly overloaded


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return domain_error_response(exc)
    if is_timeout(exc):  # lock_timeout or statement_timeout ran out: retry, nothing was changed
        detail = "The server is busy: what this request needs is in use; nothing was changed, retry shortly."
        return Response(error_body(503, "busy", detail), status=503, headers={"Retry-After": str(BUSY_RETRY_AFTER)})
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body(413, "payload_too_large", str(exc)), status=413)
    if isinstance(exc, SuspiciousOperation):
        return Response(error_body(400, "bad_request", "The request was malformed."), status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten(exc.detail)
        detail = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors[:5]) or "Invalid input."
        response.data = error_body(400, "validation_error", detail, errors)
        return response
    codes = exc.get_codes()
    known = next((name for kind, name in STATUS_CODES.items() if isinstance(exc, kind)), None)
    code = known or (codes if isinstance(codes, str) else exc.default_code)
    response.data = error_body(response.status_code, code, str(exc.detail), getattr(exc, "errors", None))
    for header, value in getattr(exc, "headers", {}).items():  # Retry-After, RateLimit-* of a 429
        response[header] = value
    return response


def json_page_not_found(request, exception=None):
    """The 404 for URLs no route matches: JSON under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body(404, "not_found", "No such endpoint."), status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def json_bad_request(request, exception=None):
    """Django's own 400s (a Host header not in ALLOWED_HOSTS, a body over Django's upload limit, any other
    SuspiciousOperation): the error shape under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        if isinstance(exception, RequestDataTooBig):
            return JsonResponse(error_body(413, "payload_too_large", str(exception)), status=413)
        if isinstance(exception, DisallowedHost):
            return JsonResponse(
                error_body(400, "bad_host", "The Host header names no host this server serves."), status=400
            )
        return JsonResponse(error_body(400, "bad_request", "The request was malformed."), status=400)
    from django.views.defaults import bad_request

    return bad_request(request, exception)


def json_server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body(500, "server_error", "Internal error; it has been logged."),
            status=500,
        )
    from django.views.defaults import server_error

    return server_error(request)
