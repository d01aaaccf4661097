"""Request ids for the audit trail and a hard cap on API request bodies."""

import re
import uuid

from django.conf import settings
from django.http import JsonResponse

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RequestIdMiddleware:
    """Takes the caller's X-Request-ID (if sane) or makes one; echoes it on the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        request.request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response


class ApiBodyLimitMiddleware:
    """Refuses oversize API bodies before anything reads them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            limit = self.limit_for(request.path)
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                return JsonResponse(
                    {
                        "status": 413,
                        "code": "payload_too_large",
                        "detail": f"The request body is {length} bytes; the limit is {limit} bytes.",
                        "errors": [],
                    },
                    status=413,
                )
        return self.get_response(request)

    @staticmethod
    def limit_for(path: str) -> int:
        for prefix, limit in getattr(settings, "API_BODY_LIMITS", {}).items():
            if path.startswith(prefix):
                return limit
        return settings.API_MAX_BODY_BYTES
