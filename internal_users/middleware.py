"""The phone gate: a signed-in, non-internal user who still has to verify a phone number is sent to
``/onboarding/phone/`` from every page, and comes back to where they were going afterwards.

Not gated: the API (JSON clients get their answers; the gate is for people), the webhook, static files, the
sign-in/out pages, both accept pages, the onboarding page itself, and anything that is not a GET of a page.
Internal users are never gated (their invitation skips the phone step).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from accounts.models import User
from core.exceptions import ApplicationError
from internal_users.phone_onboarding import phone_onboarding_required

ONBOARDING_PATH = "/onboarding/phone/"  # internal_users/urls.py
_OPEN_PREFIXES = ("/api/", "/webhooks/", "/sign-in/", "/sign-out/", "/accept-invite/", "/internal/accept-invite/")


class PhoneOnboardingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "GET" or self._open(request.path):
            return self.get_response(request)
        try:
            user = getattr(request, "user", None)  # resolves the session; Clerk may be down
        except ApplicationError:
            return self.get_response(request)  # the page meets the same error and explains it
        if isinstance(user, User) and user.is_active and phone_onboarding_required(user):
            return HttpResponseRedirect(f"{ONBOARDING_PATH}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

    @staticmethod
    def _open(path: str) -> bool:
        return path.startswith((*_OPEN_PREFIXES, ONBOARDING_PATH, settings.STATIC_URL or "/static/"))
