"""Test settings: PostgreSQL when DATABASE_URL is set, SQLite otherwise; fast hashing; mail kept in memory."""

import os
import re
import uuid

from .base import *  # noqa: F403
from .base import BASE_DIR, REDIS_URL, env


def _worker_redis_url(url: str, worker: str) -> str:
    """pytest-xdist worker ``gwN`` counts in Redis database (the URL's database + N), so parallel workers never see
    each other's keys even without the prefix below. Past Redis's 16 databases the worker keeps the URL's own one
    (the prefix still keeps it apart)."""
    match = re.fullmatch(r"gw(\d+)", worker)
    url_match = re.fullmatch(r"(rediss?://[^/?#]*)(?:/(\d*))?(.*)", url)
    if not match or not url_match:
        return url
    database = int(url_match.group(2) or 0) + int(match.group(1))
    return f"{url_match.group(1)}/{database}{url_match.group(3)}" if database < 16 else url


TEST_REDIS_URL = _worker_redis_url(REDIS_URL, os.environ.get("PYTEST_XDIST_WORKER", ""))

DEBUG = False
SECRET_KEY = "django-insecure-test-only"  # noqa: S105
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not SQLite's shared in-memory database, so live-server tests can have two writers waiting in turn.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".test-db.sqlite3")}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Rate limits count in Redis when REDIS_URL is set (CI), as in production; each run gets its own key prefix so
# runs never see each other's counters. Without Redis, the local-memory cache.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": TEST_REDIS_URL,
            "KEY_PREFIX": f"test-{os.getpid()}-{uuid.uuid4().hex[:8]}",
        }
    }
    SILENCED_SYSTEM_CHECKS = []
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]

MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}

TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}

# --------------------------------------------------------------------------- Clerk
# No test can reach the real Clerk: whatever the environment says, the gateway points at a closed local port (the
# discard port) with a dummy key until tests/conftest.py's autouse fixture points it at the in-thread emulator.
CLERK_API_URL = "http://127.0.0.1:9/v1"
CLERK_SECRET_KEY = "sk_test_no_real_clerk_in_tests"  # noqa: S105
CLERK_PUBLISHABLE_KEY = ""
CLERK_FRONTEND_API_URL = ""
CLERK_PROXY_URL = ""
CLERK_JWT_KEY = ""
CLERK_AUTHORIZED_PARTIES = ["http://testserver"]
CLERK_TIMEOUT_MS = 3_000

# Most tests resend an invitation right after sending it; the cooldown's own tests set it (tests/invitations/
# test_bulk.py).
INVITATIONS_RESEND_COOLDOWN_SECONDS = 0
