"""Rate limits of the API: a token bucket per API key, per staff user, or per address without either.

Plugged into DRF's throttling (DEFAULT_THROTTLE_CLASSES); the buckets themselves are `loyalty.ratelimit`.
Imports and exports (the views that need the `imports` scope) take from a bucket of their own with a lower rate.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
import uuid

from django.conf import settings
from django.http.request import HttpHeaders
from rest_framework import exceptions
from rest_framework.throttling import BaseThrottle

from loyalty.api.middleware import REQUEST_ID
from loyalty.middleware import DATA_POLICY
from loyalty.models import ApiKey
from loyalty.models.clients import Scope
from loyalty.ratelimit import Decision, Rate, parse_rate, setting_rate, take


class RateLimited(exceptions.APIException):
    status_code = 429
    default_code = "rate_limited"
    default_detail = "Too many requests: this caller's rate limit is used up; retry after Retry-After seconds."

    def __init__(self, decision: Decision, rate: Rate):
        super().__init__(
            f"Too many requests: the limit is {rate}; retry after {decision.retry_after} s.", "rate_limited"
        )
        self.headers = rate_limit_headers(decision) | {"Retry-After": str(decision.retry_after)}


def rate_limit_headers(decision: Decision) -> dict[str, str]:
    """The RateLimit-* headers of the IETF draft: the bucket's size, the tokens left, seconds until it is full."""
    return {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(decision.reset),
    }


def bucket_and_rate(request, view) -> tuple[str, Rate | None]:
    """Which bucket a request takes from, and its rate (None: not limited)."""
    bulk = getattr(view, "required_scope", None) == Scope.IMPORTS
    auth = request.auth
    if isinstance(auth, ApiKey):
        override = auth.imports_rate_limit if bulk else auth.rate_limit
        default = "API_IMPORTS_RATE_LIMIT" if bulk else "API_RATE_LIMIT"
        rate = parse_rate(override) if override else setting_rate(default)
        return f"key:{auth.prefix}{':imports' if bulk else ''}", rate
    user = request.user
    if getattr(user, "is_authenticated", False):
        rate = setting_rate("API_IMPORTS_RATE_LIMIT" if bulk else "API_RATE_LIMIT")
        return f"user:{user.pk}{':imports' if bulk else ''}", rate
    return f"addr:{BaseThrottle().get_ident(request)}", setting_rate("API_ANON_RATE_LIMIT")


class TokenBucketThrottle(BaseThrottle):
    """Takes a token, or refuses with 429 `rate_limited`, Retry-After and RateLimit-* headers."""

    def allow_request(self, request, view) -> bool:
        bucket, rate = bucket_and_rate(request, view)
        if rate is None:
            return True
        decision = take(bucket, rate)
        if not decision.allowed:
            remember_refusal(request, bucket, decision, rate)
            raise RateLimited(decision, rate)
        return True


# Callers refused lately, per process: what the fast path (RateLimitFastPath) recognises before Django sees the
# request, -> (monotonic time a token is back, time the bucket is full, the limit, words of the rate).
_REFUSED: dict[str, tuple[float, float, int, str]] = {}
_REFUSED_LOCK = threading.Lock()
_REFUSED_MAX = 10_000


class _Meta:
    """What DRF's get_ident reads from a request, over a WSGI environ."""

    def __init__(self, environ: dict):
        self.META = environ
        self.headers = HttpHeaders(environ)


def _fingerprint(meta: dict, bulk: bool) -> str | None:
    """The exact credential (hashed) a refused call carried, with the bucket it took from (imports and exports
    or the rest), or its address when it carried none (one bucket for every path); a staff session goes the
    whole way (sessions are few)."""
    header = meta.get("HTTP_AUTHORIZATION", "")
    if header:
        return hashlib.sha256(f"{bulk}:{header}".encode()).hexdigest()
    if f"{settings.SESSION_COOKIE_NAME}=" in meta.get("HTTP_COOKIE", ""):
        return None
    return f"addr:{BaseThrottle().get_ident(_Meta(meta))}"


def _is_bulk_path(path: str) -> bool:
    """The paths of the views that need the `imports` scope (imports/urls.py): where a refusal recorded under
    the imports bucket applies. A path missed here only misses the fast path; it never blocks wrongly."""
    return path.startswith(("/api/v1/imports/", "/api/v1/csvimports/", "/api/v1/exports/"))


def remember_refusal(request, bucket: str, decision: Decision, rate: Rate) -> None:
    """Only the bucket of the credential itself: a bad key refused under its address's bucket is not
    remembered under the key, and a good key from that address is not held back."""
    if bucket.startswith("addr:") and request.META.get("HTTP_AUTHORIZATION"):
        return
    fingerprint = _fingerprint(request.META, bucket.endswith(":imports"))
    if fingerprint is None:
        return
    now = time.monotonic()
    with _REFUSED_LOCK:
        if len(_REFUSED) >= _REFUSED_MAX:
            for key in [k for k, v in _REFUSED.items() if v[0] <= now]:
                del _REFUSED[key]
            if len(_REFUSED) >= _REFUSED_MAX:
                _REFUSED.clear()
        _REFUSED[fingerprint] = (now + decision.retry_after, now + decision.reset, decision.limit, str(rate))


def refusal(environ: dict) -> tuple[list[tuple[str, str]], bytes] | None:
    """The 429 (headers and body) of a caller whose bucket this process knows to be empty still, or None."""
    path = environ.get("PATH_INFO", "")
    if not _REFUSED or not path.startswith("/api/"):
        return None
    fingerprint = _fingerprint(environ, _is_bulk_path(path))
    entry = _REFUSED.get(fingerprint) if fingerprint else None
    if entry is None:
        return None
    now = time.monotonic()
    until, full, limit, words = entry
    if now >= until:
        _REFUSED.pop(fingerprint, None)
        return None
    retry = max(1, math.ceil(until - now))
    detail = f"Too many requests: the limit is {words}; retry after {retry} s."
    body = json.dumps({"status": 429, "code": "rate_limited", "detail": detail, "errors": []}).encode()
    given = environ.get("HTTP_X_REQUEST_ID", "")
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("Retry-After", str(retry)),
        ("RateLimit-Limit", str(limit)),
        ("RateLimit-Remaining", "0"),
        ("RateLimit-Reset", str(math.ceil(full - now))),
        ("X-Request-ID", given if REQUEST_ID.match(given) else uuid.uuid4().hex),
        ("X-Content-Type-Options", "nosniff"),
        ("Content-Security-Policy", DATA_POLICY),
    ]
    return headers, body


class RateLimitFastPath:
    """The WSGI application in front of Django's (config/wsgi.py). It answers 429 at once to a caller this
    process refused moments ago while its bucket is still empty: no request object, no middleware, no
    authentication, no Redis. A flood's refusals then cost about a third of what they cost through Django
    (bench/ratelimit.py), and the callers within their limits keep the CPU. The first refusal went the whole
    way and was logged; its repeats are not."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        answer = refusal(environ)
        if answer is None:
            return self.application(environ, start_response)
        headers, body = answer
        start_response("429 Too Many Requests", headers)
        return [body]
