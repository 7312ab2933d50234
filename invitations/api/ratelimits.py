"""Rate limits of the invitation API: per user on each write, and one global budget below Clerk's hourly caps.

Per user (django-ratelimit, keyed on the authenticated user's id, so spoofed ``X-Forwarded-For`` headers and
changing IPs change nothing), counted per request, fixed windows:

===============================  ==========  ===============================================
setting                          default     counts
===============================  ==========  ===============================================
``INVITATIONS_API_INVITE_RATE``  ``20/h``    ``POST …/invitations/`` (each request, any size)
``INVITATIONS_API_RESEND_RATE``  ``30/h``    ``POST …/invitations/{id}/resend/``
``INVITATIONS_API_REVOKE_RATE``  ``60/h``    ``POST …/invitations/{id}/revoke/``
===============================  ==========  ===============================================

Global (all users and app servers, the API and the settings page alike through ``invite_budget`` /
``resend_budget``; the counters live in ``RATELIMIT_USE_CACHE``, Redis in production), weighted, reserved before
the service is called:

- ``INVITATIONS_GLOBAL_INVITATIONS_RATE`` (``200/h``): Clerk organization invitations we may ask for, one per email
  of an invite request and one per resend. Clerk's cap is 250 organization invitations per hour and instance.
  Emails that never reach Clerk (invalid, already a member, already invited) are given back afterwards.
- ``INVITATIONS_GLOBAL_BULK_CALLS_RATE`` (``40/h``): Clerk bulk calls an invite request may make (one per chunk of
  10 emails). Clerk's cap is 50 organization bulk calls per hour and instance. (When Clerk rejects an email inside
  a chunk the service re-sends the rest, so a request can make a few more calls than reserved: the headroom of 10
  below Clerk's cap is for that, and Clerk's own 429 still ends in `queued`, never in a lost invitation.)

Over any limit the request gets 429 ``rate_limited`` with ``Retry-After`` (seconds until the window ends) and does
nothing else. Rates are read on every request (django-ratelimit's ``"count/period"`` syntax), so tests and load
runs override them with settings; ``RATELIMIT_ENABLE = False`` turns all of them off. When the cache cannot count
(Redis down) the limits fail closed: 429, logged as an error, never a 500 (docs/reliability.md). Pages count their
POSTs with ``per_user_posts``, the same counters as the API.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import re
import time
from collections.abc import Callable, Iterator
from typing import Any, Concatenate, Final

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django_ratelimit.core import get_usage
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User, Workspace
from core.exceptions import RateLimited, UpstreamError
from invitations import services
from invitations.models import WorkspaceInvitation
from invitations.services import InviteResult

logger = logging.getLogger(__name__)

INVITE_RATE_SETTING: Final = "INVITATIONS_API_INVITE_RATE"
RESEND_RATE_SETTING: Final = "INVITATIONS_API_RESEND_RATE"
REVOKE_RATE_SETTING: Final = "INVITATIONS_API_REVOKE_RATE"
GLOBAL_INVITATIONS_RATE_SETTING: Final = "INVITATIONS_GLOBAL_INVITATIONS_RATE"
GLOBAL_BULK_CALLS_RATE_SETTING: Final = "INVITATIONS_GLOBAL_BULK_CALLS_RATE"

DEFAULT_RATES: Final[dict[str, str]] = {
    INVITE_RATE_SETTING: "20/h",
    RESEND_RATE_SETTING: "30/h",
    REVOKE_RATE_SETTING: "60/h",
    GLOBAL_INVITATIONS_RATE_SETTING: "200/h",
    GLOBAL_BULK_CALLS_RATE_SETTING: "40/h",
}

CLERK_BULK_CHUNK: Final = 10  # Clerk's bulk endpoint takes at most 10 invitations per call
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


def _enabled() -> bool:
    return bool(getattr(settings, "RATELIMIT_ENABLE", True))


def _user_key(group: str, request: Request) -> str:
    return f"user:{request.user.pk}" if request.user is not None else "anonymous"


def _refuse(what: str, retry_after: int, **log: Any) -> RateLimited:
    logger.warning("rate limit hit: %s (retry after %ss)", what, retry_after, extra={"limit": what, **log})
    return RateLimited(retry_after=retry_after, extra={"limit": what})


def _fail_closed(what: str, exc: Exception) -> RateLimited:
    logger.error("rate limit %s cannot count (%s); refusing the request", what, type(exc).__name__)
    return RateLimited(retry_after=FAIL_CLOSED_RETRY_AFTER_S, extra={"limit": what})


# --------------------------------------------------------------------------- per user
type Handler[V] = Callable[Concatenate[V, Request, ...], Response]


def _hit(request: Any, *, group: str, setting: str, key: Callable[[str, Any], str]) -> None:
    """Count one request in ``group``; ``RateLimited`` over ``setting``'s rate, and when the cache cannot count."""
    try:
        usage = get_usage(request, group=group, key=key, rate=lambda _g, _r: rate(setting), increment=True)
    except ImproperlyConfigured:
        raise
    except Exception as exc:  # the cache backend is down: fail closed, never a 500
        raise _fail_closed(group, exc) from exc
    if usage is not None and usage["should_limit"]:
        if usage["time_left"] < 0:  # django-ratelimit could not read or write the counter
            raise _fail_closed(group, RuntimeError("counter unavailable"))
        user_id = getattr(request.user, "pk", None)
        raise _refuse(group, max(1, int(usage["time_left"])), user_id=user_id)


def per_user(group: str, setting: str) -> Callable[[Handler[Any]], Handler[Any]]:
    """Decorate a viewset action: one hit per request by the authenticated user, 429 over ``setting``'s rate.

    Runs after authentication and permissions (DRF calls the action only then), so refused requests cost nothing.
    """

    def decorator(action: Handler[Any]) -> Handler[Any]:
        @functools.wraps(action)
        def wrapped(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
            _hit(request, group=group, setting=setting, key=_user_key)
            return action(view, request, *args, **kwargs)

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
    for both), GETs are free. Over the limit, or when the cache cannot count (fail closed), it raises
    ``RateLimited``, which ``core.middleware.PageErrorMiddleware`` renders as the 429 page with ``Retry-After``.
    (django-ratelimit's own decorator lets a cache outage escape as a 500.)"""

    def decorator(view: PageView) -> PageView:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method == "POST":
                _hit(request, group=group, setting=setting, key=_page_key)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


# --------------------------------------------------------------------------- global, weighted
class _Budget:
    """A counter shared by every process, in fixed windows aligned on the epoch (one key per window)."""

    def __init__(self, name: str, setting: str) -> None:
        self.name = name
        self.setting = setting

    def _key(self, period: int, now: float) -> tuple[str, int]:
        window_start = int(now) - int(now) % period
        prefix = getattr(settings, "RATELIMIT_CACHE_PREFIX", "rl:")
        return f"{prefix}invitations:global:{self.name}:{period}:{window_start}", window_start + period

    def take(self, amount: int) -> int:
        """Reserve ``amount`` units or raise ``RateLimited``; returns what was reserved (0 when disabled)."""
        if amount <= 0 or not _enabled():
            return 0
        limit, period = split_rate(rate(self.setting))
        now = time.time()
        key, window_end = self._key(period, now)
        cache = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]
        retry_after = max(1, math.ceil(window_end - now))
        if amount > limit:  # can never fit: say so plainly rather than waiting for an empty window
            raise _refuse(f"global_{self.name}", retry_after, amount=amount, limit=limit)
        try:
            count = amount if cache.add(key, amount, period + 5) else cache.incr(key, amount)
        except ValueError:  # the key expired between add() and incr(): start the window again
            try:
                cache.add(key, 0, period + 5)
                count = cache.incr(key, amount)
            except Exception as exc:
                raise _fail_closed(f"global_{self.name}", exc) from exc
        except Exception as exc:
            raise _fail_closed(f"global_{self.name}", exc) from exc
        if count > limit:
            self._give_back(key, amount)
            raise _refuse(f"global_{self.name}", retry_after, amount=amount, limit=limit)
        return amount

    def give_back(self, amount: int) -> None:
        """Return units reserved in this window that were not used (best effort)."""
        if amount <= 0 or not _enabled():
            return
        _limit, period = split_rate(rate(self.setting))
        key, _end = self._key(period, time.time())
        self._give_back(key, amount)

    @staticmethod
    def _give_back(key: str, amount: int) -> None:
        cache = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]
        try:
            cache.decr(key, amount)
        except Exception:  # expired or unreachable: nothing to give back
            logger.debug("could not give back %s units on %s", amount, key)


GLOBAL_INVITATIONS = _Budget("invitations", GLOBAL_INVITATIONS_RATE_SETTING)
GLOBAL_BULK_CALLS = _Budget("bulk_calls", GLOBAL_BULK_CALLS_RATE_SETTING)


def bulk_calls_for(emails: int) -> int:
    return math.ceil(emails / CLERK_BULK_CHUNK)


class _Reservation:
    """Global units reserved for one request; ``unused(n)`` gives ``n`` back once the outcome is known."""

    def __init__(self, budget: _Budget, taken: int) -> None:
        self.budget = budget
        self.taken = taken

    def unused(self, amount: int) -> None:
        amount = min(amount, self.taken)
        self.budget.give_back(amount)
        self.taken -= amount


@contextlib.contextmanager
def _spending(reservation: _Reservation) -> Iterator[_Reservation]:
    """Refused before Clerk was called (a domain error): everything is given back. Clerk was called (an upstream
    error, whatever it says): what Clerk may have counted stays counted."""
    try:
        yield reservation
    except UpstreamError:
        raise
    except Exception:
        reservation.unused(reservation.taken)
        raise


def _take_invite(emails: int) -> int:
    """Both budgets or neither: a refusal by the second gives back what the first reserved."""
    taken = GLOBAL_INVITATIONS.take(emails)
    try:
        GLOBAL_BULK_CALLS.take(bulk_calls_for(emails))
    except RateLimited:
        GLOBAL_INVITATIONS.give_back(taken)
        raise
    return taken


@contextlib.contextmanager
def invite_budget(*, emails: int) -> Iterator[_Reservation]:
    """Reserve the global budget for inviting ``emails`` distinct addresses (429 if it does not fit).

    Inside the block, call ``.unused(n)`` for the addresses that never reached Clerk (see ``UNSENT_RESULTS``).
    Shared by the API and the settings page, so both spend one budget.
    """
    with _spending(_Reservation(GLOBAL_INVITATIONS, _take_invite(emails))) as reservation:
        yield reservation


@contextlib.contextmanager
def resend_budget() -> Iterator[_Reservation]:
    """A resend creates one Clerk organization invitation (not through the bulk endpoint)."""
    with _spending(_Reservation(GLOBAL_INVITATIONS, GLOBAL_INVITATIONS.take(1))) as reservation:
        yield reservation


# Results whose email never reached Clerk: their share of the global budget is given back. Queued emails stay
# counted: Clerk already pushed back, and the background sender will spend them.
UNSENT_RESULTS: Final = frozenset({"already_member", "already_invited", "invalid_email"})


# --------------------------------------------------------------------------- the budgeted services
def invite_within_budget(
    *, workspace: Workspace, inviter: User, emails: list[str], role: str, request: HttpRequest | None = None
) -> list[InviteResult]:
    """``invitations_create`` inside the global Clerk budget; the API and the settings page both call this."""
    distinct = {email.strip().lower() for email in emails if email.strip()}
    with invite_budget(emails=len(distinct)) as budget:
        results = services.invitations_create(
            workspace=workspace, inviter=inviter, emails=emails, role=role, request=request
        )
        budget.unused(sum(1 for result in results if result.result in UNSENT_RESULTS))
    return results


def resend_within_budget(
    *, invitation: WorkspaceInvitation, actor: User, request: HttpRequest | None = None
) -> WorkspaceInvitation:
    with resend_budget():
        return services.invitation_resend(invitation=invitation, actor=actor, request=request)
