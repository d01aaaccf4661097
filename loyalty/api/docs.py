"""The API docs pages (Swagger UI, Redoc) load only what this server serves.

Their scripts and styles come from drf-spectacular-sidecar; the Redoc template is overridden without
its web fonts (templates/drf_spectacular/redoc.html). Redoc's bundle still names its attribution logo
on a CDN: a Content-Security-Policy on these pages stops the browser from asking any other host for
anything, so the docs work offline and tell no third party who reads them.
"""

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",  # both pages start their viewer from an inline script
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",  # Redoc's search runs in a worker made from a blob
        "connect-src 'self'",
    ]
)


def self_hosted(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = POLICY
        return response

    return wrapper
