"""What every admin page shows in its header: the environment, and the time zone times are in."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def back_office(request: HttpRequest) -> dict[str, Any]:
    return {
        "environment": "production" if settings.PRODUCTION else "development",
        "program_time_zone": getattr(request, "program_time_zone", ""),
    }
