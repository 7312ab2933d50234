"""Production settings: every secret comes from the environment, with no default, or the app refuses to start.

Runs behind a TLS-terminating load balancer on PostgreSQL and Redis; app servers are stateless. Background tasks
(emails, retries of rate-limited invitations) run in django-tasks-db workers: ``manage.py db_worker``.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import LOGGING, env

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
APP_BASE_URL = env.str("APP_BASE_URL").rstrip("/")
if not APP_BASE_URL.startswith("https://"):
    raise ImproperlyConfigured("APP_BASE_URL must be an https:// URL in production.")

DATABASES = {"default": env.db("DATABASE_URL")}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL in production.")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

REDIS_URL = env.str("REDIS_URL")
CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": REDIS_URL}}
SILENCED_SYSTEM_CHECKS = []

CLERK_SECRET_KEY = env.str("CLERK_SECRET_KEY")
CLERK_PUBLISHABLE_KEY = env.str("CLERK_PUBLISHABLE_KEY")
CLERK_WEBHOOK_SIGNING_SECRET = env.str("CLERK_WEBHOOK_SIGNING_SECRET")
CLERK_API_URL = env.str("CLERK_API_URL", default="https://api.clerk.com/v1").rstrip("/")
CLERK_AUTHORIZED_PARTIES = env.list("CLERK_AUTHORIZED_PARTIES", default=[APP_BASE_URL])

# EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.com:587, mapped onto Django 6.1's MAILERS options.
_EMAIL = env.email_url("EMAIL_URL")
_EMAIL_OPTION_NAMES = {
    "EMAIL_HOST": "host",
    "EMAIL_PORT": "port",
    "EMAIL_HOST_USER": "username",
    "EMAIL_HOST_PASSWORD": "password",
    "EMAIL_USE_TLS": "use_tls",
    "EMAIL_USE_SSL": "use_ssl",
    "EMAIL_TIMEOUT": "timeout",
}
MAILERS = {
    "default": {
        "BACKEND": _EMAIL["EMAIL_BACKEND"],
        "OPTIONS": {
            option: _EMAIL[key] for key, option in _EMAIL_OPTION_NAMES.items() if _EMAIL.get(key) not in ("", None)
        },
    }
}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL")

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# --------------------------------------------------------------------------- security
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = 31_536_000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = [APP_BASE_URL]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING["handlers"]["console"]["formatter"] = "json"
