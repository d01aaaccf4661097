"""Outgoing webhooks (docs/webhooks.md)."""

from .env import PRODUCTION, env

# Receivers on loopback, private or link-local addresses, and plain http: allowed in development (a receiver on
# this machine), refused in production unless said otherwise (server-side request forgery).
WEBHOOKS_ALLOW_PRIVATE = env.bool("WEBHOOKS_ALLOW_PRIVATE", default=not PRODUCTION)
WEBHOOKS_REQUIRE_HTTPS = env.bool("WEBHOOKS_REQUIRE_HTTPS", default=PRODUCTION)
# When set, the only host names webhook URLs may name (an egress allow-list); empty: any public host.
WEBHOOKS_ALLOWED_HOSTS = env.list("WEBHOOKS_ALLOWED_HOSTS", default=[])
WEBHOOKS_TIMEOUT = env.float("WEBHOOKS_TIMEOUT", default=10.0)
# Seconds after the first, second, ... failed attempt before the next one (each with +-20 % jitter); after the
# last, the delivery has failed.
WEBHOOKS_RETRY_DELAYS = env.list("WEBHOOKS_RETRY_DELAYS", cast=int, default=[5, 30, 120, 600, 3600, 21600, 86400])
WEBHOOKS_DISABLE_AFTER_DAYS = env.float("WEBHOOKS_DISABLE_AFTER_DAYS", default=3.0)
WEBHOOKS_ROTATION_OVERLAP_HOURS = env.float("WEBHOOKS_ROTATION_OVERLAP_HOURS", default=24.0)
# Requests in flight at once per worker process, and deliveries claimed per round.
WEBHOOKS_CONCURRENCY = env.int("WEBHOOKS_CONCURRENCY", default=32)
WEBHOOKS_BATCH = env.int("WEBHOOKS_BATCH", default=200)
