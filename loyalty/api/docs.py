"""The API docs pages (Swagger UI, Redoc) load only what this server serves.

Their scripts and styles come from drf-spectacular-sidecar; the Redoc template is overridden without
its web fonts (templates/drf_spectacular/redoc.html). Both pages run under the site's one
Content-Security-Policy (CONTENT_SECURITY_POLICY in config/settings/security.py: nothing from another host,
no inline script) with the few additions below, so the docs work offline and tell no third party who reads
them. Swagger UI starts from a script its view serves at `?script` (drf-spectacular's split view), Redoc
from loyalty/static/loyalty/redoc.js; neither page has an inline script.
"""

from collections.abc import Callable

from csp.constants import SELF
from csp.decorators import csp_update
from django.http import HttpResponse

# Added to the site's policy on the docs pages only; each as narrow as the viewer allows.
SWAGGER_UI = {
    "img-src": [SELF, "data:"],  # the favicon, and swagger-ui.css draws its icons (arrows, locks) as data: SVGs
}
REDOC = {
    "img-src": [SELF, "data:"],  # Redoc's icons are data: SVGs
    "worker-src": ["blob:"],  # Redoc's search index runs in a worker it makes from a blob
    # The bundle's own style sheet, which it writes into a <style> element as it loads (style-loader), before
    # any nonce can reach it: allowed by its hash (and the empty element's). Another version of
    # drf-spectacular-sidecar may change it: the browser test of the docs then names the new hash.
    "style-src": [
        "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
        "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",
    ],
}


def swagger_ui(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    return csp_update(SWAGGER_UI)(view)


def redoc(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    return csp_update(REDOC)(view)
