"""REST API conventions: camelCase JSON, one error shape, API keys, pagination, OpenAPI schema."""

from .env import env

# The site's address for a schema written by `manage.py spectacular` (a served schema names the host it was
# read from).
API_PUBLIC_URL = env.str("API_PUBLIC_URL", default="http://127.0.0.1:8000")

# Rate limits (docs/api.md, "Rate limits"): `N/s`, `N/m` or `N/h`, optionally `burst B` (default 2N), or `off`.
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="100/s")
API_IMPORTS_RATE_LIMIT = env.str("API_IMPORTS_RATE_LIMIT", default="10/s")
API_ANON_RATE_LIMIT = env.str("API_ANON_RATE_LIMIT", default="20/s")
# The buckets live in this Redis (by default the broker's), shared by every process; without one, in
# Django's cache.
API_RATE_LIMIT_REDIS_URL = env.str("API_RATE_LIMIT_REDIS_URL", default=env.str("CELERY_BROKER_URL", default=""))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "loyalty.api.authentication.ApiKeyAuthentication",
        "loyalty.api.authentication.StaffSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["loyalty.api.permissions.HasScope"],
    "DEFAULT_RENDERER_CLASSES": ["loyalty.api.camel.JSONRenderer"],
    # JSON bodies only: an operation that takes a file (CSV imports) names its own parsers, so the
    # schema declares exactly what the server reads and generated clients send JSON.
    "DEFAULT_PARSER_CLASSES": ["loyalty.api.camel.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["loyalty.api.filters.StrictFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "loyalty.api.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "loyalty.api.schema.LoyaltyAutoSchema",
    "EXCEPTION_HANDLER": "loyalty.api.errors.exception_handler",
    # Token buckets per API key (per staff user, per address without either): loyalty/api/throttling.py.
    "DEFAULT_THROTTLE_CLASSES": ["loyalty.api.throttling.TokenBucketThrottle"],
    # Proxies in front of the app that append to X-Forwarded-For; 0 trusts only the socket's address, so a
    # caller cannot pick the address its limit is counted under.
    "NUM_PROXIES": env.int("API_NUM_PROXIES", default=0),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
}

JSON_CAMEL_CASE = {
    "RENDERER_CLASS": "rest_framework.renderers.JSONRenderer",
    # Custom properties and HTTP header names are the caller's own names: kept exactly as sent, both ways.
    "JSON_UNDERSCOREIZE": {
        "no_underscore_before_number": False,
        "ignore_fields": ("properties", "headers", "request_headers", "response_headers"),
        "ignore_keys": None,
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Loyalty platform API",
    "DESCRIPTION": (
        "Enroll members, book purchase transactions under promotion rules, redeem and transfer "
        "points, issue and convert vouchers, read statements and pull events. Authenticate with "
        "`Authorization: Api-Key <key>`. Every error has the shape "
        "`{status, code, detail, errors}` with a stable `code`."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_AUTHENTICATION": [
        "loyalty.api.authentication.ApiKeyAuthentication",
        "loyalty.api.authentication.StaffSessionAuthentication",
    ],
    "SERVE_PERMISSIONS": ["loyalty.api.permissions.IsPrincipal"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "drf_spectacular.contrib.djangorestframework_camel_case.camelize_serializer_fields",
        "loyalty.api.schema.camelize_query_parameters",
        "loyalty.api.schema.add_servers",
        "loyalty.api.schema.add_examples",
        "loyalty.api.schema.strict_decimal_patterns",
        "loyalty.api.schema.strict_inputs",
    ],
    "ENUM_NAME_OVERRIDES": {
        "MembershipStatusEnum": "memberships.models.MembershipStatus",
        "CardStatusEnum": "memberships.models.CardStatus",
        "CardTypeEnum": "memberships.models.CardType",
        "LegalEntityStatusEnum": "memberships.models.LegalEntityStatus",
        "TransactionStatusEnum": "transactions.models.Transaction.Status",
        "ChannelKindEnum": "promotions.models.catalog.Channel.Kind",
        "VoucherKindEnum": "vouchers.models.VoucherType.Kind",
    },
    "SWAGGER_UI_SETTINGS": {
        "persistAuthorization": True,
        "displayRequestDuration": True,
    },
}
