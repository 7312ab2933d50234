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

Over a budget the caller gets ``RateLimited`` (429 ``rate_limited`` with ``Retry-After``); when the cache cannot
count, the budgets fail closed like the per-user limits (``core.ratelimits``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Iterator
from typing import Final

from django.conf import settings
from django.core.cache import caches

from core.exceptions import RateLimited, UpstreamError
from core.ratelimits import enabled, fail_closed, rate, refuse, split_rate

logger = logging.getLogger(__name__)

GLOBAL_INVITATIONS_RATE_SETTING: Final = "INVITATIONS_GLOBAL_INVITATIONS_RATE"
GLOBAL_BULK_CALLS_RATE_SETTING: Final = "INVITATIONS_GLOBAL_BULK_CALLS_RATE"
STAFF_INVITATIONS_RATE_SETTING: Final = "INTERNAL_USERS_GLOBAL_INVITATIONS_RATE"

CLERK_BULK_CHUNK: Final = 10  # Clerk's bulk endpoint takes at most 10 invitations per call


class Budget:
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
        if amount <= 0 or not enabled():
            return 0
        limit, period = split_rate(rate(self.setting))
        now = time.time()
        key, window_end = self._key(period, now)
        cache = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]
        retry_after = max(1, math.ceil(window_end - now))
        if amount > limit:  # can never fit: say so plainly rather than waiting for an empty window
            raise refuse(f"global_{self.name}", retry_after, amount=amount, limit=limit)
        try:
            count = amount if cache.add(key, amount, period + 5) else cache.incr(key, amount)
        except ValueError:  # the key expired between add() and incr(): start the window again
            try:
                cache.add(key, 0, period + 5)
                count = cache.incr(key, amount)
            except Exception as exc:
                raise fail_closed(f"global_{self.name}", exc) from exc
        except Exception as exc:
            raise fail_closed(f"global_{self.name}", exc) from exc
        if count > limit:
            self._give_back(key, amount)
            raise refuse(f"global_{self.name}", retry_after, amount=amount, limit=limit)
        return amount

    def give_back(self, amount: int) -> None:
        """Return units reserved in this window that were not used (best effort)."""
        if amount <= 0 or not enabled():
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


GLOBAL_INVITATIONS = Budget("invitations", GLOBAL_INVITATIONS_RATE_SETTING)
GLOBAL_BULK_CALLS = Budget("bulk_calls", GLOBAL_BULK_CALLS_RATE_SETTING)
STAFF_INVITATIONS = Budget("staff_invitations", STAFF_INVITATIONS_RATE_SETTING)


def bulk_calls_for(emails: int) -> int:
    return math.ceil(emails / CLERK_BULK_CHUNK)


class Reservation:
    """Global units reserved for one request; ``unused(n)`` gives ``n`` back once the outcome is known."""

    def __init__(self, budget: Budget, taken: int) -> None:
        self.budget = budget
        self.taken = taken

    def unused(self, amount: int) -> None:
        amount = min(amount, self.taken)
        self.budget.give_back(amount)
        self.taken -= amount


@contextlib.contextmanager
def spending(reservation: Reservation) -> Iterator[Reservation]:
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
def invite_budget(*, emails: int) -> Iterator[Reservation]:
    """Reserve the global budget for inviting ``emails`` distinct addresses to workspaces (429 if it does not fit).

    Inside the block, call ``.unused(n)`` for the addresses that never reached Clerk (see ``UNSENT_RESULTS``).
    """
    with spending(Reservation(GLOBAL_INVITATIONS, _take_invite(emails))) as reservation:
        yield reservation


@contextlib.contextmanager
def resend_budget() -> Iterator[Reservation]:
    """A resend creates one Clerk organization invitation (not through the bulk endpoint)."""
    with spending(Reservation(GLOBAL_INVITATIONS, GLOBAL_INVITATIONS.take(1))) as reservation:
        yield reservation


@contextlib.contextmanager
def staff_invitation_budget() -> Iterator[Reservation]:
    """A staff invite or resend creates one Clerk application invitation."""
    with spending(Reservation(STAFF_INVITATIONS, STAFF_INVITATIONS.take(1))) as reservation:
        yield reservation


# Results whose email never reached Clerk: their share of the global budget is given back. Queued emails stay
# counted: Clerk already pushed back, and the background sender will spend them.
UNSENT_RESULTS: Final = frozenset({"already_member", "already_invited", "invalid_email"})
