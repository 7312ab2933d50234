"""Per-user rate limits shared by every app's API and pages, and the rate syntax both they and ``core.budgets`` read.

Per user (django-ratelimit, keyed on the authenticated user's id, so spoofed ``X-Forwarded-For`` headers and
changing IPs change nothing), counted per request, fixed windows. The settings and groups belong to the apps
(``invitations.api.ratelimits``, ``internal_users.ratelimits``); this module only counts.

Over any limit the request gets 429 ``rate_limited`` with ``Retry-After`` (seconds until the window ends) and does
nothing else. Rates are read on every request (django-ratelimit's ``"count/period"`` syntax), so tests and load
runs override them with settings; ``RATELIMIT_ENABLE = False`` turns all of them off. When the cache cannot count
(Redis down) the limits fail closed: 429, logged as an error, never a 500 (docs/reliability.md). Pages count their
POSTs with ``per_user_posts``, the same counters as the API.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any, Concatenate, Final

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django_ratelimit import ALL
from django_ratelimit.core import _get_window, _make_cache_key, get_usage
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from core.exceptions import RateLimited

logger = logging.getLogger(__name__)

# Defaults when a setting is absent (config/settings/base.py sets them all; tests override them).
DEFAULT_RATES: Final[dict[str, str]] = {
    "INVITATIONS_API_INVITE_RATE": "20/h",
    "INVITATIONS_API_RESEND_RATE": "30/h",
    "INVITATIONS_API_REVOKE_RATE": "60/h",
    "INVITATIONS_GLOBAL_INVITATIONS_RATE": "200/h",
    "INVITATIONS_GLOBAL_BULK_CALLS_RATE": "40/h",
    "INTERNAL_USERS_API_INVITE_RATE": "30/h",
    "INTERNAL_USERS_API_RESEND_RATE": "30/h",
    "INTERNAL_USERS_API_ACTION_RATE": "60/h",
    "INTERNAL_USERS_GLOBAL_INVITATIONS_RATE": "80/h",
}

FAIL_CLOSED_RETRY_AFTER_S: Final = 60
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
_PERIODS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rate(setting: str) -> str:
    value = getattr(settings, setting, None) or DEFAULT_RATES[setting]
    if not isinstance(value, str) or not _RATE.match(value):
        raise ImproperlyConfigured(f"{setting} must look like '20/h' (count/period), not {value!r}.")
    return value


def split_rate(value: str) -> tuple[int, int]:
    """``"20/h"`` → ``(20, 3600)``; ``"5/10m"`` → ``(5, 600)``."""
    match = _RATE.match(value)
    if match is None:
        raise ImproperlyConfigured(f"Not a rate: {value!r}.")
    count, multiplier, unit = match.groups()
    return int(count), _PERIODS[unit] * int(multiplier or 1)


def enabled() -> bool:
    return bool(getattr(settings, "RATELIMIT_ENABLE", True))


def refuse(what: str, retry_after: int, **log: Any) -> RateLimited:
    logger.warning("rate limit hit: %s (retry after %ss)", what, retry_after, extra={"limit": what, **log})
    return RateLimited(retry_after=retry_after, extra={"limit": what})


def fail_closed(what: str, exc: Exception) -> RateLimited:
    logger.error("rate limit %s cannot count (%s); refusing the request", what, type(exc).__name__)
    return RateLimited(retry_after=FAIL_CLOSED_RETRY_AFTER_S, extra={"limit": what})


def _user_key(group: str, request: Request) -> str:
    return f"user:{request.user.pk}" if request.user is not None else "anonymous"


type Handler[V] = Callable[Concatenate[V, Request, ...], Response]


def _hit(request: Any, *, group: str, setting: str, key: Callable[[str, Any], str]) -> None:
    """Count one request in ``group``; ``RateLimited`` over ``setting``'s rate, and when the cache cannot count."""
    try:
        usage = get_usage(request, group=group, key=key, rate=lambda _g, _r: rate(setting), increment=True)
    except ImproperlyConfigured:
        raise
    except Exception as exc:  # the cache backend is down: fail closed, never a 500
        raise fail_closed(group, exc) from exc
    if usage is not None and usage["should_limit"]:
        if usage["time_left"] < 0:  # django-ratelimit could not read or write the counter
            raise fail_closed(group, RuntimeError("counter unavailable"))
        user_id = getattr(request.user, "pk", None)
        raise refuse(group, max(1, int(usage["time_left"])), user_id=user_id)


def _refused_as_invalid(exc: Exception) -> bool:
    """A 400: the input was refused before anything reached Clerk (our domain errors and DRF's validation)."""
    status = exc.status_code if isinstance(exc, APIException) else getattr(exc, "http_status", None)
    return status == 400


def _give_back_hit(request: Any, *, group: str, setting: str, key: Callable[[str, Any], str]) -> None:
    """Undo ``_hit``'s count (best effort): a request refused as invalid does not use up the sender's limit.

    django-ratelimit has no public "give back", so the key is built with its own helpers, as ``get_usage`` does.
    """
    if not enabled():
        return
    value = rate(setting)
    _limit, period = split_rate(value)
    who = key(group, request)
    cache_key = _make_cache_key(group, _get_window(who, period), value, who, ALL)
    try:
        caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")].decr(cache_key)
    except Exception:  # expired, or the cache went away: the count stays
        logger.debug("could not give back a hit on %s", group)


def per_user(group: str, setting: str) -> Callable[[Handler[Any]], Handler[Any]]:
    """Decorate a viewset action: one hit per request by the authenticated user, 429 over ``setting``'s rate.

    Runs after authentication and permissions (DRF calls the action only then), so refused requests cost nothing;
    an action that refuses the input as invalid (400) gives its hit back.
    """

    def decorator(action: Handler[Any]) -> Handler[Any]:
        @functools.wraps(action)
        def wrapped(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
            _hit(request, group=group, setting=setting, key=_user_key)
            try:
                response = action(view, request, *args, **kwargs)
            except Exception as exc:
                if _refused_as_invalid(exc):
                    _give_back_hit(request, group=group, setting=setting, key=_user_key)
                raise
            if response.status_code == 400:
                _give_back_hit(request, group=group, setting=setting, key=_user_key)
            return response

        return wrapped

    return decorator


def _page_key(group: str, request: HttpRequest) -> str:
    """The API's key for a signed-in user (so a page and the API share one counter), else the client's address."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{request.META.get('REMOTE_ADDR', '')}"


type PageView = Callable[..., HttpResponse]


def per_user_posts(group: str, setting: str) -> Callable[[PageView], PageView]:
    """The page twin of ``per_user``: counts POSTs in the same group and under the same key as the API (one budget
    for both); GETs are free, and a POST answered 400 (invalid input) gives its hit back. Over the limit, or when
    the cache cannot count (fail closed), it raises ``RateLimited``, which ``core.middleware.PageErrorMiddleware``
    renders as the 429 page with ``Retry-After``. (django-ratelimit's own decorator lets a cache outage escape as a
    500.)"""

    def decorator(view: PageView) -> PageView:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method != "POST":
                return view(request, *args, **kwargs)
            _hit(request, group=group, setting=setting, key=_page_key)
            try:
                response = view(request, *args, **kwargs)
            except Exception as exc:
                if _refused_as_invalid(exc):
                    _give_back_hit(request, group=group, setting=setting, key=_page_key)
                raise
            if response.status_code == 400:  # the form was refused as invalid
                _give_back_hit(request, group=group, setting=setting, key=_page_key)
            return response

        return wrapped

    return decorator
