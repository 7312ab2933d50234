"""Test settings: PostgreSQL when DATABASE_URL is set, SQLite otherwise; fast hashing; mail kept in memory."""

from .base import *  # noqa: F403
from .base import BASE_DIR, env

DEBUG = False
SECRET_KEY = "django-insecure-test-only"  # noqa: S105
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Each test run starts from an empty cache, whatever REDIS_URL says.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}

TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}

# --------------------------------------------------------------------------- Clerk
# No test can reach the real Clerk: whatever the environment says, the gateway points at a closed local port (the
# discard port) with a dummy key until tests/conftest.py's autouse fixture points it at the in-thread emulator.
CLERK_API_URL = "http://127.0.0.1:9/v1"
CLERK_SECRET_KEY = "sk_test_no_real_clerk_in_tests"  # noqa: S105
CLERK_PUBLISHABLE_KEY = ""
CLERK_FRONTEND_API_URL = ""
CLERK_JWT_KEY = ""
CLERK_AUTHORIZED_PARTIES = ["http://testserver"]
CLERK_TIMEOUT_MS = 3_000
