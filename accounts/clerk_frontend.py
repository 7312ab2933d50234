"""Where our pages load ClerkJS from, and how ClerkJS reaches Clerk's Frontend API.

A publishable key is ``pk_test_`` or ``pk_live_`` followed by the unpadded base64 of ``"<frontend-api-host>$"``.
ClerkJS decodes it and always calls ``https://<that host>``; ``CLERK_FRONTEND_API_URL`` overrides the derived URL.

Two configurations also need ClerkJS's ``proxyUrl`` (the ``data-clerk-proxy-url`` attribute):

- ``CLERK_PROXY_URL``: Clerk's documented production proxy (the Frontend API served through the app's own domain,
  absolute or a path such as ``/__clerk``). The bundle is then loaded through the proxy too, as Clerk's own loaders
  do (``@clerk/shared`` ``clerkJsScriptUrl``).
- a Frontend API on plain ``http`` (the Clerk emulator): ClerkJS would otherwise call ``https://<key host>``. Its
  proxy support is the documented way to send every Frontend API request to another origin.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

CLERK_JS_MAJOR_VERSION = 6
CLERK_JS_PATH = f"/npm/@clerk/clerk-js@{CLERK_JS_MAJOR_VERSION}/dist/clerk.browser.js"
KEY_PREFIXES = ("pk_test_", "pk_live_")


@dataclass(frozen=True)
class ClerkScript:
    """What ``{% clerk_js %}`` puts in the page."""

    src: str
    publishable_key: str
    proxy_url: str  # "" when ClerkJS talks to the key's Frontend API host directly


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
    """``CLERK_FRONTEND_API_URL``, else ``https://<key host>``; ``""`` when neither is configured."""
    configured: str = settings.CLERK_FRONTEND_API_URL
    if configured:
        return configured.rstrip("/")
    publishable_key: str = settings.CLERK_PUBLISHABLE_KEY
    if not publishable_key:
        return ""
    return f"https://{frontend_api_host(publishable_key)}"


def proxy_url() -> str:
    """The ``proxyUrl`` ClerkJS needs: ``CLERK_PROXY_URL``, else a plain-http Frontend API; ``""`` otherwise."""
    configured: str = settings.CLERK_PROXY_URL
    if configured:
        if not configured.startswith(("https://", "http://", "/")):
            raise ImproperlyConfigured("CLERK_PROXY_URL must be an absolute URL or a path starting with /.")
        return configured.rstrip("/")
    base = frontend_api_url()
    return base if base.startswith("http://") else ""


def clerk_js_url() -> str:
    """ClerkJS's browser bundle: through the proxy when there is one, else on the Frontend API."""
    base = proxy_url() or frontend_api_url()
    return f"{base}{CLERK_JS_PATH}" if base else ""


def clerk_script() -> ClerkScript | None:
    """The script tag's parts, or ``None`` when Clerk is not configured (no publishable key)."""
    publishable_key: str = settings.CLERK_PUBLISHABLE_KEY
    src = clerk_js_url()
    if not publishable_key or not src:
        return None
    frontend_api_host(publishable_key)  # a malformed key fails loudly here, not in the browser
    return ClerkScript(src=src, publishable_key=publishable_key, proxy_url=proxy_url())
