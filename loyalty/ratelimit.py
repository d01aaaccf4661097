"""Token buckets shared by every process: in Redis when there is one, else in Django's cache.

A bucket holds up to `burst` tokens and refills at `rate` tokens a second; each request takes one. It is kept
as one number per bucket, the time at which it would be full again (GCRA, the generic cell rate algorithm,
which answers exactly as a token bucket does), so a check is one atomic script in Redis and no counters
have to be reset. Redis' own clock is used, so every app server agrees on the time.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.cache import cache as django_cache
from django.core.exceptions import ImproperlyConfigured, ValidationError

log = logging.getLogger(__name__)

PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*([a-z]+)\s*(?:burst\s+(\d+)\s*)?$")
OFF = "off"


@dataclass(frozen=True)
class Rate:
    """`requests` per `period` seconds, with room for `burst` at once."""

    requests: int
    period: int
    burst: int

    @property
    def interval(self) -> float:
        """Seconds one token takes to come back."""
        return self.period / self.requests

    def __str__(self) -> str:
        unit = {1: "s", 60: "m", 3600: "h"}[self.period]
        return f"{self.requests}/{unit} burst {self.burst}"


@cache
def parse_rate(text: str) -> Rate | None:
    """`100/s` (burst twice the rate), `6000/m burst 500`, or `off` (None: no limit).

    Raises ValueError for anything else, so a typo in a setting or in the admin is refused, not ignored.
    """
    text = (text or "").strip().lower()
    if text == OFF:
        return None
    match = _RATE.match(text)
    if not match or match.group(2) not in PERIODS or int(match.group(1)) < 1:
        raise ValueError(f"{text!r} is not a rate: write e.g. '100/s', '6000/m burst 500' or 'off'.")
    requests, period = int(match.group(1)), PERIODS[match.group(2)]
    burst = int(match.group(3)) if match.group(3) else 2 * requests
    if burst < 1:
        raise ValueError("The burst must be at least 1.")
    return Rate(requests=requests, period=period, burst=burst)


def validate_rate(text: str) -> None:
    """Form and model validator for a rate override (blank means the setting's default)."""
    if text:
        try:
            parse_rate(text)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


def setting_rate(name: str) -> Rate | None:
    try:
        return parse_rate(getattr(settings, name))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from exc


@dataclass(frozen=True)
class Decision:
    """What one request got: allowed or not, and what the RateLimit-* headers say."""

    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until the bucket is full again
    retry_after: int  # seconds until a request would be allowed (0 when allowed)


# KEYS[1] the bucket; ARGV: interval and tolerance (burst * interval), in microseconds. Answers
# {allowed, remaining, reset_us, retry_us}. The stored value is the "theoretical arrival time": the
# moment the bucket is full again; a request is allowed when that moment is at most `tolerance` away.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
if new_tat - now > tolerance then
  return {0, 0, tat - now, new_tat - tolerance - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {1, math.floor((tolerance - (new_tat - now)) / interval), new_tat - now, 0}
"""


def _decision(rate: Rate, allowed: bool, remaining: float, reset_s: float, retry_s: float) -> Decision:
    return Decision(
        allowed=allowed,
        limit=rate.burst,
        remaining=max(0, int(remaining)),
        reset=math.ceil(reset_s),
        retry_after=max(1, math.ceil(retry_s)) if not allowed else 0,
    )


class RedisBuckets:
    """Buckets in Redis, one atomic script per check. If Redis cannot be reached the request is let through
    (and logged): a limit that fails closed would stop every till when Redis restarts."""

    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=0.25, socket_connect_timeout=0.25)
        self.script = self.client.register_script(_SCRIPT)

    def take(self, bucket: str, rate: Rate) -> Decision:
        import redis

        interval = round(rate.interval * 1_000_000)
        try:
            allowed, remaining, reset_us, retry_us = self.script(
                keys=[f"ratelimit:{bucket}"], args=[interval, interval * rate.burst]
            )
        except redis.RedisError:
            log.warning("rate limit: Redis unreachable, request let through", exc_info=True)
            return Decision(allowed=True, limit=rate.burst, remaining=rate.burst, reset=0, retry_after=0)
        return _decision(rate, bool(allowed), remaining, reset_us / 1e6, retry_us / 1e6)


class CacheBuckets:
    """Buckets in Django's cache, for a setup without Redis (the SQLite default). The cache has no atomic
    read-and-write, so a lock makes a check atomic within a process; processes sharing a cache server may let
    a few extra requests through when they race on one bucket."""

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def take(self, bucket: str, rate: Rate) -> Decision:
        key = f"ratelimit:{bucket}"
        interval, tolerance = rate.interval, rate.interval * rate.burst
        with self.lock:
            now = time.time()
            tat = max(django_cache.get(key, now), now)
            new_tat = tat + interval
            if new_tat - now > tolerance:
                return _decision(rate, False, 0, tat - now, new_tat - tolerance - now)
            django_cache.set(key, new_tat, timeout=math.ceil(new_tat - now) + 1)
        return _decision(rate, True, (tolerance - (new_tat - now)) / interval, new_tat - now, 0)


@cache
def _buckets(url: str) -> RedisBuckets | CacheBuckets:
    return RedisBuckets(url) if url else CacheBuckets()


def buckets() -> RedisBuckets | CacheBuckets:
    """Redis at API_RATE_LIMIT_REDIS_URL (by default the broker's) when set, else Django's cache."""
    return _buckets(getattr(settings, "API_RATE_LIMIT_REDIS_URL", ""))


def take(bucket: str, rate: Rate) -> Decision:
    """Take one token from `bucket` (a name such as `key:<prefix>`), filled at `rate`."""
    return buckets().take(bucket, rate)
