"""Every error the test suite sees the API answer must be documented for its operation in the schema.

A middleware added for the test session records (method, path template, status, code) of every JSON error
answer under /api/v1; at the end of the session each one is looked up in the generated schema, and an
error code the schema does not document for that operation (status and code) fails the run. So the
documented errors cannot fall behind what the code does, as far as the tests reach.
Set API_ERRORS_SEEN=<file> to also write what was seen as JSON.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict

from django.conf import settings
from django.urls import Resolver404, resolve

SEEN: set[tuple[str, str, int, str]] = set()
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


class RecordApiErrors:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path.startswith("/api/v1/")
            and not getattr(response, "streaming", False)
            and response.get("Content-Type", "").startswith("application/json")
        ):
            try:
                route = resolve(request.path).route
                code = json.loads(response.content).get("code")
            except (Resolver404, ValueError, AttributeError):
                return response
            if code:
                SEEN.add((request.method.lower(), "/" + _CONVERTER.sub(r"{\1}", route), response.status_code, code))
        return response


def install() -> None:
    settings.MIDDLEWARE = ["tests.api_errors.RecordApiErrors", *settings.MIDDLEWARE]


def documented(schema: dict) -> dict[tuple[str, str], dict[int, set[str]]]:
    """(method, path) -> {status: codes} from the examples of each error answer."""
    found: dict[tuple[str, str], dict[int, set[str]]] = defaultdict(dict)
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for status, answer in operation.get("responses", {}).items():
                if status.startswith(("4", "5")):
                    examples = answer.get("content", {}).get("application/json", {}).get("examples", {})
                    found[(method, path)][int(status)] = {e["value"]["code"] for e in examples.values()}
    return found


def undocumented() -> list[str]:
    """Seen but not documented. Codes the code base does not have (a test's stand-in service raising its own
    code, say) are the test's, not the API's."""
    from loyalty.api.error_catalog import details
    from tests.test_schema import generate

    docs = documented(generate()[0])
    known = details()
    missing = []
    for method, path, status, code in sorted(SEEN):
        if code in known and (method, path) in docs and code not in docs[(method, path)].get(status, set()):
            missing.append(f"{method.upper()} {path}: {status} {code}")
    return missing


def dump() -> None:
    target = os.environ.get("API_ERRORS_SEEN")
    if target:
        with open(target, "w") as f:
            json.dump(sorted(SEEN), f, indent=0)
