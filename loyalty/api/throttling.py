"""Rate limits of the API: a token bucket per API key, per staff user, or per address without either.

Plugged into DRF's throttling (DEFAULT_THROTTLE_CLASSES); the buckets themselves are `loyalty.ratelimit`.
Imports and exports (the views that need the `imports` scope) take from a bucket of their own with a lower rate.
"""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.throttling import BaseThrottle

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
            raise RateLimited(decision, rate)
        return True
