"""Every API route with its methods, for tests that must cover them all."""

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

SAMPLE = {"int": "1", "str": "sample", "slug": "sample", "uuid": "00000000-0000-0000-0000-000000000000", "path": "x"}


@dataclass(frozen=True)
class Route:
    path: str
    method: str
    view: object


def _methods(callback) -> list[str]:
    actions = getattr(callback, "actions", None)
    if actions:
        return sorted(m.upper() for m in actions)
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is None:
        return []
    return sorted(
        m.upper() for m in view_class.http_method_names if m not in ("options", "head") and hasattr(view_class, m)
    )


def _fill(route: str) -> str:
    route = re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE.get(m.group(1) or "str", "sample"), route)
    return route.replace("^", "").replace("$", "").replace("\\Z", "")


def _walk(patterns, prefix: str):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern.callback


def api_routes() -> list[Route]:
    routes = []
    for route, callback in _walk(get_resolver().url_patterns, "/"):
        if not route.startswith("/api/v1/") or not (
            getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        ):
            continue
        for method in _methods(callback):
            routes.append(Route(_fill(route), method, getattr(callback, "cls", None) or callback.view_class))
    return routes
