"""Where our pages load ClerkJS from: Clerk's Frontend API, named by the publishable key.

A publishable key is ``pk_test_`` or ``pk_live_`` followed by the unpadded base64 of ``"<frontend-api-host>$"``
(ClerkJS decodes it the same way). ``CLERK_FRONTEND_API_URL`` overrides the derived URL. The script lives at Clerk's
published path on that host, so the same page runs against real Clerk and against the emulator.
"""

from __future__ import annotations

import base64
import binascii

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

CLERK_JS_MAJOR_VERSION = 6
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
KEY_PREFIXES = ("pk_test_", "pk_live_")


def frontend_api_host(publishable_key: str) -> str:
    """The Frontend API host named by a publishable key; ``ImproperlyConfigured`` when it is not one."""
    prefix = next((p for p in KEY_PREFIXES if publishable_key.startswith(p)), None)
    if prefix is None:
        raise ImproperlyConfigured("CLERK_PUBLISHABLE_KEY must start with pk_test_ or pk_live_.")
    encoded = publishable_key[len(prefix) :]
    try:
        decoded = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ImproperlyConfigured("CLERK_PUBLISHABLE_KEY is not a valid Clerk publishable key.") from exc
    if not decoded.endswith("$") or decoded.count("$") != 1 or len(decoded) < 2:
        raise ImproperlyConfigured("CLERK_PUBLISHABLE_KEY is not a valid Clerk publishable key.")
    return decoded[:-1]


def frontend_api_url() -> str:
    """``CLERK_FRONTEND_API_URL``, else derived from the publishable key; ``""`` when neither is configured."""
    configured: str = settings.CLERK_FRONTEND_API_URL
    if configured:
        return configured.rstrip("/")
    publishable_key: str = settings.CLERK_PUBLISHABLE_KEY
    if not publishable_key:
        return ""
    host = frontend_api_host(publishable_key)
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    scheme = "http" if hostname in LOCAL_HOSTS else "https"
    return f"{scheme}://{host}"


def clerk_js_url() -> str:
    """ClerkJS's browser bundle on the Frontend API (``""`` when Clerk is not configured)."""
    base = frontend_api_url()
    return f"{base}/npm/@clerk/clerk-js@{CLERK_JS_MAJOR_VERSION}/dist/clerk.browser.js" if base else ""
