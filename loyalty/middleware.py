"""The admin in the program's time zone: managers read and enter times as the program runs them."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

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
