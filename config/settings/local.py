"""Development settings: debug on, everything runs locally (the embedded default).

With no ``CLERK_API_URL`` the app talks to the Clerk emulator on 127.0.0.1:8787 with its fixed development keys:
``manage.py rundemo`` (what ``make run`` runs) starts the emulator inside the app's process and seeds demo accounts;
``python -m clerk_emulator --webhook-url http://127.0.0.1:8000/webhooks/clerk/ --webhook-secret <below>`` runs it
on its own beside a plain ``manage.py runserver``. Set ``CLERK_API_URL`` and the keys to use a real Clerk instance.
"""

import os

from clerk_emulator.state import DEFAULT_SECRET_KEY, encode_publishable_key

from .base import *  # noqa: F403
from .base import (
    APP_BASE_URL,
    CLERK_API_URL,
    CLERK_FRONTEND_API_URL,
    CLERK_PUBLISHABLE_KEY,
    CLERK_SECRET_KEY,
    CLERK_WEBHOOK_SIGNING_SECRET,
    env,
)

DEBUG = env.bool("DJANGO_DEBUG", default=True)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
# People trying the demo see the product's 404 and 500 pages, not Django's (core.middleware, ProductErrorPages…).
PRODUCT_ERROR_PAGES_IN_DEBUG = True

# Session tokens carry the page's origin in `azp`: accept both spellings of the local address.
if "CLERK_AUTHORIZED_PARTIES" not in os.environ:
    _twin = APP_BASE_URL.replace("://127.0.0.1", "://localhost")
    if _twin == APP_BASE_URL:
        _twin = APP_BASE_URL.replace("://localhost", "://127.0.0.1")
    CLERK_AUTHORIZED_PARTIES = list(dict.fromkeys([APP_BASE_URL, _twin]))

# --------------------------------------------------------------------------- the embedded Clerk emulator
CLERK_EMULATOR_EMBEDDED = not CLERK_API_URL
CLERK_EMULATOR_HOST = "127.0.0.1"
CLERK_EMULATOR_PORT = env.int("CLERK_EMULATOR_PORT", default=8787)  # when 8787 is taken on this machine
# A development-only signing secret shared by the emulator's webhooks and our endpoint (never used elsewhere).
DEV_WEBHOOK_SIGNING_SECRET = "whsec_bG9jYWwtZGV2ZWxvcG1lbnQtd2ViaG9vay1zZWNyZXQ="  # noqa: S105
if CLERK_EMULATOR_EMBEDDED:
    CLERK_API_URL = f"http://{CLERK_EMULATOR_HOST}:{CLERK_EMULATOR_PORT}/v1"
    CLERK_SECRET_KEY = CLERK_SECRET_KEY or DEFAULT_SECRET_KEY
    CLERK_PUBLISHABLE_KEY = CLERK_PUBLISHABLE_KEY or encode_publishable_key(
        f"{CLERK_EMULATOR_HOST}:{CLERK_EMULATOR_PORT}"
    )
    CLERK_WEBHOOK_SIGNING_SECRET = CLERK_WEBHOOK_SIGNING_SECRET or DEV_WEBHOOK_SIGNING_SECRET
    # The emulator's Frontend API is plain http: {% clerk_js %} points ClerkJS at it with data-clerk-proxy-url.
    CLERK_FRONTEND_API_URL = CLERK_FRONTEND_API_URL or f"http://{CLERK_EMULATOR_HOST}:{CLERK_EMULATOR_PORT}"
    # The app's own emails (the branded staff invitation) go to the emulator's mailbox beside Clerk's.
    MAILERS = {
        "default": {
            "BACKEND": "clerk_emulator.django_mail.EmulatorMailboxBackend",
            "OPTIONS": {"mailbox_url": f"http://{CLERK_EMULATOR_HOST}:{CLERK_EMULATOR_PORT}/__emulator/mail"},
        }
    }
