"""Settings shared by every environment.

Everything is read from the environment (and from `.env` when present) through one `environ.Env()`. With nothing
set, the app runs on SQLite, the local-memory cache, the console email backend and the immediate task backend.
"""

import os
from pathlib import Path
from typing import Any

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# Every configuration name the app reads (documented in .env.example).
CONFIG_NAMES = (
    "DJANGO_SECRET_KEY",
    "DJANGO_DEBUG",
    "DJANGO_ALLOWED_HOSTS",
    "APP_BASE_URL",
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_URL",
    "DEFAULT_FROM_EMAIL",
    "CLERK_SECRET_KEY",
    "CLERK_PUBLISHABLE_KEY",
    "CLERK_JWT_KEY",
    "CLERK_API_URL",
    "CLERK_FRONTEND_API_URL",
    "CLERK_PROXY_URL",
    "CLERK_AUTHORIZED_PARTIES",
    "CLERK_WEBHOOK_SIGNING_SECRET",
    "INVITATION_EXPIRY_DAYS",
)

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")
# An empty value (as in a copy of .env.example) means "not set": the default applies, or a required name fails.
for _name in CONFIG_NAMES:
    if os.environ.get(_name, None) == "":
        del os.environ[_name]

# --------------------------------------------------------------------------- core
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="django-insecure-local-development-only")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("DJANGO_ALLOWED_HOSTS", default=[])

# Absolute URL of this app, used in redirect URLs and emails.
APP_BASE_URL = env.str("APP_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Third party
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served by us (no CDN)
    "django_htmx",
    "django_tasks_db",
    "django_ratelimit",
    # Ours
    "core",
    "accounts",
    "invitations",
    "internal_users",
]

MIDDLEWARE = [
    "core.request_id.RequestIdMiddleware",
    "core.middleware.ApiServerErrorMiddleware",
    "core.middleware.ProductErrorPagesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.authentication.ClerkSessionMiddleware",
    "core.middleware.PageErrorMiddleware",
    "internal_users.middleware.PhoneOnboardingMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django_ratelimit.middleware.RatelimitMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
            ],
        },
    },
]

# --------------------------------------------------------------------------- database
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Webhooks arrive while a request is still writing: take the write lock at BEGIN and wait for it, rather than
    # failing the second writer with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --------------------------------------------------------------------------- cache
# Redis when REDIS_URL is set (rate limits must be shared between app servers), local memory otherwise.
REDIS_URL = env.str("REDIS_URL", default="")
CACHES: dict[str, dict[str, Any]]
SILENCED_SYSTEM_CHECKS: list[str] = []
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # One process (the embedded default) shares one local-memory cache, which is enough for its rate limits.
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]

# django-ratelimit counts in the default cache; HTML views over the limit get our 429 page (the API maps
# `Ratelimited` to a 429 JSON error in core.api.exception_handler).
RATELIMIT_USE_CACHE = "default"
RATELIMIT_VIEW = "core.views.rate_limited"

# --------------------------------------------------------------------------- email
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="webmaster@localhost")
MAILERS: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"},
}

# --------------------------------------------------------------------------- tasks
TASKS: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"},
}

# --------------------------------------------------------------------------- auth
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --------------------------------------------------------------------------- i18n / time
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --------------------------------------------------------------------------- static files
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

# --------------------------------------------------------------------------- DRF
REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    # Deeply nested JSON is a 400 parse_error, not a RecursionError (core/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.ClerkSessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.StandardPagination",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Clerk invitations API",
    "DESCRIPTION": "Workspace member invitations and internal staff management, backed by Clerk.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --------------------------------------------------------------------------- Clerk
# The Backend API base URL (with /v1). Unset: the embedded Clerk emulator (see clerk_emulator/).
CLERK_API_URL = env.str("CLERK_API_URL", default="").rstrip("/")
CLERK_SECRET_KEY = env.str("CLERK_SECRET_KEY", default="")
CLERK_PUBLISHABLE_KEY = env.str("CLERK_PUBLISHABLE_KEY", default="")
# PEM public key for networkless session verification; unset: JWKS fetched once through the gateway and cached.
CLERK_JWT_KEY = env.str("CLERK_JWT_KEY", default="").replace("\\n", "\n")
# Where ClerkJS is loaded from; derived from the publishable key when unset.
CLERK_FRONTEND_API_URL = env.str("CLERK_FRONTEND_API_URL", default="").rstrip("/")
# Clerk's production proxy (the Frontend API through this app's domain): ClerkJS's `proxyUrl`, e.g. /__clerk.
CLERK_PROXY_URL = env.str("CLERK_PROXY_URL", default="").rstrip("/")
CLERK_AUTHORIZED_PARTIES: list[str] = env.list("CLERK_AUTHORIZED_PARTIES", default=[APP_BASE_URL])
CLERK_WEBHOOK_SIGNING_SECRET = env.str("CLERK_WEBHOOK_SIGNING_SECRET", default="")
# Request-path budget for one Backend API call, and the bounded retry of idempotent reads.
CLERK_TIMEOUT_MS = env.int("CLERK_TIMEOUT_MS", default=5_000)
# All Clerk calls of one HTTP request end within this many ms of its arrival (accounts/clerk.py, docs/reliability.md).
CLERK_REQUEST_DEADLINE_MS = env.int("CLERK_REQUEST_DEADLINE_MS", default=6_000)

# --------------------------------------------------------------------------- logging
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "core.request_id.RequestIdFilter"},
        "redact": {"()": "core.logging.RedactingFilter"},
    },
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
        "json": {"()": "core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id", "redact"],
            "formatter": "text",
        },
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "httpx": {"level": "WARNING"},
    },
}

# --------------------------------------------------------------------------- invitations
INVITATION_EXPIRY_DAYS = env.int("INVITATION_EXPIRY_DAYS", default=7)
# Rate limits on inviting (django-ratelimit rates, counted in the shared cache). Per user, and for the whole
# instance below Clerk's hourly caps (250 organization invitations and 50 bulk calls per hour).
INVITATIONS_API_INVITE_RATE = "20/h"
INVITATIONS_API_RESEND_RATE = "30/h"
INVITATIONS_API_REVOKE_RATE = "60/h"
INVITATIONS_GLOBAL_INVITATIONS_RATE = "200/h"
INVITATIONS_GLOBAL_BULK_CALLS_RATE = "40/h"
# Bulk resend/revoke from the pending list (invitations/bulk.py): requests per user, and the resend cooldown.
INVITATIONS_API_BULK_RATE = "20/h"
INVITATIONS_RESEND_COOLDOWN_SECONDS = env.int("INVITATIONS_RESEND_COOLDOWN_SECONDS", default=600)
# At most this fraction of each instance-wide Clerk budget per workspace and per person (core/budgets.py).
CLERK_BUDGET_SHARE = 0.5

# --------------------------------------------------------------------------- internal users (staff)
# Rate limits of the staff API (internal_users/api/views.py): per user, and one global budget of Clerk application
# invitations (invites and resends) below Clerk's cap of 100 per hour and instance.
INTERNAL_USERS_API_INVITE_RATE = "30/h"
INTERNAL_USERS_API_RESEND_RATE = "30/h"
INTERNAL_USERS_API_ACTION_RATE = "60/h"  # revoke, grant-role, deactivate, reactivate, remove (one counter)
INTERNAL_USERS_GLOBAL_INVITATIONS_RATE = "80/h"
