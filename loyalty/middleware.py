"""The admin in the program's time zone, its page for a busy database, and the Content-Security-Policy of pages
and of data."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from csp.middleware import CSPMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from loyalty.dbtimeouts import is_timeout
from loyalty.selectors import program_time_zone

_admin_prefix = SimpleLazyObject(lambda: reverse("admin:index"))


class ProgramTimeZoneMiddleware:
    """Admin pages show dates, filter by them and read entered ones in Program.time_zone (the API
    speaks ISO 8601 with offsets and needs none of this). The zone is kept on the request for the
    page header (loyalty.context_processors)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(str(_admin_prefix)):
            return self.get_response(request)
        zone = program_time_zone()
        request.program_time_zone = zone
        with timezone.override(ZoneInfo(zone)):
            return self.get_response(request)


# What a browser may do with an answer that is not a page (JSON, CSV, a spreadsheet, a script file): nothing.
# The same for every such answer, so it costs a constant rather than a policy built per request.
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'"


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's policy (CONTENT_SECURITY_POLICY) on pages; on every other answer the fixed DATA_POLICY,
    which the OWASP REST cheat sheet recommends for APIs. Building the page policy costs about 0.2 ms per
    request, a twentieth of a typical API call's CPU, for a header no browser applies to JSON."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if response.get("Content-Type", "").startswith("text/html"):
            return super().process_response(request, response)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = DATA_POLICY
        return response


class DatabaseBusyMiddleware:
    """A page (the admin's) whose request ran out of its lock or statement timeout (loyalty.dbtimeouts) answers
    503 with a page that says so and that nothing was saved, instead of the server-error page. The API answers
    its own 503 `busy` (loyalty.api.errors)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_timeout(exception) or request.path.startswith("/api/"):
            return None
        from django.contrib import admin

        context = {**admin.site.each_context(request), "title": "The database is busy"}
        response = TemplateResponse(request, "admin/busy.html", context, status=503)
        response["Retry-After"] = "5"
        return response.render()
