"""Django core: apps, database, security, static files, logging."""

from django.core.exceptions import ImproperlyConfigured

from .env import BASE_DIR, PRODUCTION, env, timeouts_option

if PRODUCTION:
    if not env.str("SECRET_KEY", default=""):
        raise ImproperlyConfigured("SECRET_KEY must be set when DJANGO_ENV=production.")
    if not env.list("ALLOWED_HOSTS", default=[]):
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DJANGO_ENV=production.")

SECRET_KEY = env.str("SECRET_KEY", default="dev-insecure-key-never-use-in-production-0123456789abcdef")
DEBUG = env.bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "backoffice.apps.BackOfficeAdminConfig",  # django.contrib.admin with the back office's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "rest_framework",
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "loyalty",
    "memberships",
    "ledger",
    "vouchers",
    "promotions",
    "transactions",
    "imports",
    "webhooks",
    "backoffice",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "loyalty.middleware.ContentSecurityPolicyMiddleware",  # early: its header is written after every other
    "loyalty.api.middleware.RequestIdMiddleware",
    "loyalty.api.middleware.ApiBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "loyalty.middleware.ProgramTimeZoneMiddleware",
    "loyalty.middleware.DatabaseBusyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: answers a lockout with its page
]

if PRODUCTION:  # runserver serves static files in development
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "loyalty.context_processors.back_office",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Seconds; 0 turns a limit off.
DATABASE_LOCK_TIMEOUT = env.float("DATABASE_LOCK_TIMEOUT", default=5.0)
DATABASE_STATEMENT_TIMEOUT = env.float("DATABASE_STATEMENT_TIMEOUT", default=25.0)
DATABASE_WORKER_LOCK_TIMEOUT = env.float("DATABASE_WORKER_LOCK_TIMEOUT", default=60.0)
DATABASE_WORKER_STATEMENT_TIMEOUT = env.float("DATABASE_WORKER_STATEMENT_TIMEOUT", default=600.0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the writer; IMMEDIATE takes the write lock at BEGIN, so two
    # writers queue instead of failing with "database is locked" halfway through a service.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # PostgreSQL compiles a query it estimates as large with JIT: 260 ms of compiling for a dashboard
    # aggregate that then runs in 150 ms (bench/dashboard.py). Requests here are short; JIT stays off
    # unless DATABASE_JIT=true.
    DATABASE_SESSION_OPTIONS = "" if env.bool("DATABASE_JIT", default=False) else "-c jit=off"
    # Bounded waits (docs/api.md, "Bounded waits"): web processes wait at most DATABASE_LOCK_TIMEOUT for a
    # row lock and run a statement at most DATABASE_STATEMENT_TIMEOUT (below gunicorn's 30 s), set when the
    # connection opens; a Celery worker switches to the DATABASE_WORKER_* values (loyalty/dbtimeouts.py),
    # and `manage.py` commands but runserver run without them (LOYALTY_PROCESS_ROLE=command).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = " ".join(
        part
        for part in (
            DATABASE_SESSION_OPTIONS,
            timeouts_option(
                env.str("LOYALTY_PROCESS_ROLE", default="web"),
                lock=DATABASE_LOCK_TIMEOUT,
                statement=DATABASE_STATEMENT_TIMEOUT,
            ),
        )
        if part
    )
# The hot statements of a booking are prepared on the server (loyalty.prepared). Turn off behind a
# pooler in transaction mode that cannot carry prepared statements (PgBouncer before 1.21).
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")

# Security: strict in production, relaxed for the local demo (plain http on 127.0.0.1).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=PRODUCTION)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=PRODUCTION)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# The program's own knobs.
LOYALTY_VERSION = "0.1.0"
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1_048_576)
IDEMPOTENCY_RETENTION_DAYS = env.int("IDEMPOTENCY_RETENTION_DAYS", default=30)
GIT_REVISION = env.str("GIT_REVISION", default="")
# The oldest purchase POST /tx, its dry run and the transactions import take, in days before now
# (older is 400 `occurred_too_early`): 1 to 36,500.
TX_MAX_AGE_DAYS = env.int("TX_MAX_AGE_DAYS", default=365)
if not 1 <= TX_MAX_AGE_DAYS <= 36_500:
    raise ImproperlyConfigured("TX_MAX_AGE_DAYS must be a number of days from 1 to 36500.")

# Imports and exports (docs/imports.md).
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=200 * 1024 * 1024)
IMPORT_CHUNK_SIZE = env.int("IMPORT_CHUNK_SIZE", default=2000)
IMPORT_LEDGER_CHUNK_SIZE = env.int("IMPORT_LEDGER_CHUNK_SIZE", default=250)
IMPORT_CLAIM_TIMEOUT = env.int("IMPORT_CLAIM_TIMEOUT", default=600)
IMPORT_TASKS_PER_BATCH = env.int("IMPORT_TASKS_PER_BATCH", default=2)
EXPORT_ASYNC_THRESHOLD = env.int("EXPORT_ASYNC_THRESHOLD", default=200_000)
# Uploads may be larger than an ordinary API body: path prefix -> limit in bytes.
API_BODY_LIMITS = {"/api/v1/imports/": IMPORT_MAX_BYTES, "/api/v1/csvimports/": IMPORT_MAX_BYTES}
