"""The instance-wide Clerk budgets: counters shared by every process, kept below Clerk's hourly caps.

Global (all users and app servers, the API and the pages alike; the counters live in ``RATELIMIT_USE_CACHE``,
Redis in production), weighted, reserved before Clerk is called:

- ``INVITATIONS_GLOBAL_INVITATIONS_RATE`` (``200/h``): Clerk organization invitations we may ask for, one per email
  of an invite request and one per resend. Clerk's cap is 250 organization invitations per hour and instance.
  Emails that never reach Clerk (invalid, already a member, already invited) are given back afterwards.
- ``INVITATIONS_GLOBAL_BULK_CALLS_RATE`` (``40/h``): Clerk bulk calls an invite request may make (one per chunk of
  10 emails). Clerk's cap is 50 organization bulk calls per hour and instance. (When Clerk rejects an email inside
  a chunk the service re-sends the rest, so a request can make a few more calls than reserved: the headroom of 10
  below Clerk's cap is for that, and Clerk's own 429 still ends in `queued`, never in a lost invitation.)
- ``INTERNAL_USERS_GLOBAL_INVITATIONS_RATE`` (``80/h``): Clerk application invitations (staff invites and
  resends), below Clerk's cap of 100 per hour and instance.

Fair shares: one workspace, or one person, spends at most ``CLERK_BUDGET_SHARE`` (``0.5``) of each budget in a
window, so the rest of the instance keeps headroom (a workspace's burst cannot lock everyone else out for the hour).

The services reserve these budgets themselves (``invitations_create``, ``invitation_resend``, ``internal_invite``,
``internal_invitation_resend``), so the API, the pages, commands and a shell all spend the same counters.

Over a budget the caller gets ``RateLimited`` (429 ``rate_limited`` with ``Retry-After``); when the cache cannot
count, the budgets fail closed like the per-user limits (``core.ratelimits``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.core.exceptions import ImproperlyConfigured

from core.exceptions import RateLimited, UpstreamError
from core.ratelimits import enabled, fail_closed, rate, refuse, split_rate

logger = logging.getLogger(__name__)

GLOBAL_INVITATIONS_RATE_SETTING: Final = "INVITATIONS_GLOBAL_INVITATIONS_RATE"
GLOBAL_BULK_CALLS_RATE_SETTING: Final = "INVITATIONS_GLOBAL_BULK_CALLS_RATE"
STAFF_INVITATIONS_RATE_SETTING: Final = "INTERNAL_USERS_GLOBAL_INVITATIONS_RATE"

CLERK_BULK_CHUNK: Final = 10  # Clerk's bulk endpoint takes at most 10 invitations per call


SHARE_SETTING: Final = "CLERK_BUDGET_SHARE"
DEFAULT_SHARE: Final = 0.5


def share() -> float:
    """The fraction of each budget one workspace, or one person, may spend in a window (``CLERK_BUDGET_SHARE``)."""
    value = getattr(settings, SHARE_SETTING, DEFAULT_SHARE)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise ImproperlyConfigured(f"{SHARE_SETTING} must be a number in (0, 1], not {value!r}.")
    return float(value)


def _cache() -> BaseCache:
    return caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]


@dataclass
class _Hold:
    """Units added to some counters (one per scope); ``release`` takes them off again (best effort)."""

    keys: list[str] = field(default_factory=list)
    amount: int = 0

    def release(self, amount: int) -> int:
        amount = min(amount, self.amount)
        if amount <= 0:
            return 0
        cache = _cache()
        for key in self.keys:
            try:
                cache.decr(key, amount)
            except Exception:  # expired or unreachable: nothing to give back
                logger.debug("could not give back %s units on %s", amount, key)
        self.amount -= amount
        return amount


class Budget:
    """A counter shared by every process, in fixed windows aligned on the epoch (one key per window and scope).

    ``take(n, scopes=("workspace:7", "user:3"))`` reserves ``n`` units on the instance-wide counter and on one
    counter per scope, each scope limited to ``CLERK_BUDGET_SHARE`` of the instance-wide limit: all or nothing.
    """

    def __init__(self, name: str, setting: str) -> None:
        self.name = name
        self.setting = setting

    def _key(self, scope: str, period: int, window_start: int) -> str:
        prefix = getattr(settings, "RATELIMIT_CACHE_PREFIX", "rl:")
        where = f"{scope}:" if scope else ""
        return f"{prefix}invitations:global:{self.name}:{where}{period}:{window_start}"

    def _count(self, key: str, amount: int, period: int, label: str) -> int:
        cache = _cache()
        try:
            return amount if cache.add(key, amount, period + 5) else cache.incr(key, amount)
        except ValueError:  # the key expired between add() and incr(): start the window again
            try:
                cache.add(key, 0, period + 5)
                return cache.incr(key, amount)
            except Exception as exc:
                raise fail_closed(label, exc) from exc
        except Exception as exc:
            raise fail_closed(label, exc) from exc

    def take(self, amount: int, *, scopes: Sequence[str] = ()) -> _Hold:
        """Reserve ``amount`` units or raise ``RateLimited`` (nothing reserved then); disabled: an empty hold."""
        if amount <= 0 or not enabled():
            return _Hold()
        limit, period = split_rate(rate(self.setting))
        now = time.time()
        window_start = int(now) - int(now) % period
        retry_after = max(1, math.ceil(window_start + period - now))
        scoped_limit = max(1, math.floor(limit * share()))
        counters = [("", limit, f"global_{self.name}")] + [
            (scope, scoped_limit, f"{scope.split(':', 1)[0]}_{self.name}") for scope in scopes
        ]
        hold = _Hold(amount=amount)
        for scope, counter_limit, label in counters:
            if amount > counter_limit:  # can never fit: say so plainly rather than waiting for an empty window
                hold.release(amount)
                raise refuse(label, retry_after, amount=amount, limit=counter_limit)
            key = self._key(scope, period, window_start)
            try:
                count = self._count(key, amount, period, label)
            except RateLimited:
                hold.release(amount)
                raise
            hold.keys.append(key)
            if count > counter_limit:
                hold.release(amount)
                raise refuse(label, retry_after, amount=amount, limit=counter_limit)
        return hold


GLOBAL_INVITATIONS = Budget("invitations", GLOBAL_INVITATIONS_RATE_SETTING)
GLOBAL_BULK_CALLS = Budget("bulk_calls", GLOBAL_BULK_CALLS_RATE_SETTING)
STAFF_INVITATIONS = Budget("staff_invitations", STAFF_INVITATIONS_RATE_SETTING)


def bulk_calls_for(emails: int) -> int:
    return math.ceil(emails / CLERK_BULK_CHUNK)


class Reservation:
    """Units reserved for one action; ``unused(n)`` gives ``n`` invitations back once the outcome is known."""

    def __init__(self, invitations: _Hold, *others: _Hold) -> None:
        self._invitations = invitations
        self._others = others

    @property
    def taken(self) -> int:
        return self._invitations.amount

    def unused(self, amount: int) -> None:
        self._invitations.release(amount)

    def release(self) -> None:
        """Give everything back (the action was refused before Clerk was called)."""
        self._invitations.release(self._invitations.amount)
        for hold in self._others:
            hold.release(hold.amount)


@contextlib.contextmanager
def spending(reservation: Reservation) -> Iterator[Reservation]:
    """Refused before Clerk was called (a domain error): everything is given back. Clerk was called (an upstream
    error, whatever it says): what Clerk may have counted stays counted."""
    try:
        yield reservation
    except UpstreamError:
        raise
    except Exception:
        reservation.release()
        raise


def _scopes(workspace_id: int | None, user_id: int | None) -> tuple[str, ...]:
    scopes = []
    if workspace_id is not None:
        scopes.append(f"workspace:{workspace_id}")
    if user_id is not None:
        scopes.append(f"user:{user_id}")
    return tuple(scopes)


def _take_invite(emails: int, scopes: Sequence[str]) -> Reservation:
    """Both budgets or neither: a refusal by the second gives back what the first reserved."""
    invitations = GLOBAL_INVITATIONS.take(emails, scopes=scopes)
    try:
        calls = GLOBAL_BULK_CALLS.take(bulk_calls_for(emails), scopes=scopes)
    except RateLimited:
        invitations.release(invitations.amount)
        raise
    return Reservation(invitations, calls)


def reserve_invite(*, emails: int, workspace_id: int, user_id: int | None) -> Reservation:
    """Reserve the budget for inviting ``emails`` distinct addresses to a workspace (429 if it does not fit):
    instance-wide, and at most ``CLERK_BUDGET_SHARE`` of it for this workspace and for this inviter. Spend it inside
    ``spending(...)``, calling ``.unused(n)`` for the addresses that never reached Clerk."""
    return _take_invite(emails, _scopes(workspace_id, user_id))


def reserve_resend(*, workspace_id: int, user_id: int | None) -> Reservation:
    """A resend creates one Clerk organization invitation (not through the bulk endpoint)."""
    return Reservation(GLOBAL_INVITATIONS.take(1, scopes=_scopes(workspace_id, user_id)))


def reserve_staff_invitation(*, user_id: int | None) -> Reservation:
    """A staff invite or resend creates one Clerk application invitation; one person gets at most the share."""
    return Reservation(STAFF_INVITATIONS.take(1, scopes=_scopes(None, user_id)))
