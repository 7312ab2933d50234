"""Production settings pass Django's deployment checks and refuse to start without any of their secrets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.subprocess  # each test runs manage.py under the production settings

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "a" * 20 + "production-secret-key-with-enough-entropy-0123456789",
    "DJANGO_ALLOWED_HOSTS": "app.example.com",
    "APP_BASE_URL": "https://app.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "CLERK_SECRET_KEY": "sk_live_placeholder",
    "CLERK_PUBLISHABLE_KEY": "pk_live_placeholder",
    "CLERK_WEBHOOK_SIGNING_SECRET": "whsec_cGxhY2Vob2xkZXI=",
    "EMAIL_URL": "smtp+tls://mailer:password@smtp.example.com:587",
    "DEFAULT_FROM_EMAIL": "team@example.com",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if key not in PRODUCTION_ENV}
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_deploy_check_is_clean() -> None:
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "name",
    [
        "DJANGO_SECRET_KEY",
        "DJANGO_ALLOWED_HOSTS",
        "APP_BASE_URL",
        "DATABASE_URL",
        "REDIS_URL",
        "CLERK_SECRET_KEY",
        "CLERK_PUBLISHABLE_KEY",
        "CLERK_WEBHOOK_SIGNING_SECRET",
        "EMAIL_URL",
        "DEFAULT_FROM_EMAIL",
    ],
)
def test_refuses_to_start_without(name: str) -> None:
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != name}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert name in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [("APP_BASE_URL", "http://app.example.com"), ("DATABASE_URL", "sqlite:////tmp/prod.sqlite3")],
)
def test_refuses_unsafe_values(name: str, value: str) -> None:
    result = _manage("check", env={**PRODUCTION_ENV, name: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr


WSGI_REQUEST = """
import sys
from wsgiref.util import setup_testing_defaults
from config.wsgi import application
environ = {"HTTP_HOST": "app.example.com", "PATH_INFO": "/no-such-page/", "wsgi.url_scheme": "https"}
setup_testing_defaults(environ)
statuses = []
body = b"".join(application(environ, lambda status, headers: statuses.append(status)))
print(statuses[0], sys.modules["django.conf"].settings.SETTINGS_MODULE, b"<html" in body.lower())
"""


def test_the_wsgi_entry_point_runs_the_production_settings() -> None:
    """What gunicorn loads (``config.wsgi:application``), with nothing but the production environment."""
    clean = {key: value for key, value in os.environ.items() if key not in PRODUCTION_ENV}
    env = {**clean, **{key: value for key, value in PRODUCTION_ENV.items() if key != "DJANGO_SETTINGS_MODULE"}}
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", WSGI_REQUEST], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["404", "Not", "Found", "config.settings.production", "True"]
