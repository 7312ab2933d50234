"""Reconciliation with Clerk (``manage.py clerk_sync`` and the ``clerk_sync`` task).

Webhooks keep our mirror current; this repairs whatever they missed (a lost endpoint, a rotated secret, events
dropped while the app was down, application invitations, for which Clerk sends no webhook at all). Each app
registers a reconciler in its ``AppConfig.ready()``; a run pages through Clerk's lists, compares them with our rows,
and for every difference records a ``Drift`` and, unless ``dry_run``, repairs it and writes one AuditEvent
(``clerk_sync.repaired``). Two runs at once are harmless: one waits for nothing and leaves (a PostgreSQL advisory
lock, or a cache lock elsewhere), and every repair goes through the same idempotent, row-locking services as the
webhooks.
"""

from __future__ import annotations

import contextlib
import logging
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import connection

from core.audit import audit

logger = logging.getLogger(__name__)

PAGE_SIZE = 100
# A runaway guard: Clerk lists are paged by offset; stop after this many pages of one list (10 million rows).
MAX_PAGES = 100_000
_LOCK_KEY = zlib.crc32(b"clerk_sync")
_CACHE_LOCK = "clerk_sync:lock"
_CACHE_LOCK_TTL_S = 3600


@dataclass(frozen=True)
class Drift:
    area: str  # users | workspaces | memberships | workspace_invitations | staff_invitations
    kind: str  # e.g. missing_locally, banned_in_clerk, accepted_in_clerk
    clerk_id: str
    description: str
    repaired: bool


@dataclass
class SyncContext:
    dry_run: bool = False
    drifts: list[Drift] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def seen(self, area: str, n: int = 1) -> None:
        self.counts[area] = self.counts.get(area, 0) + n

    def drift(self, area: str, kind: str, clerk_id: str, description: str, repair: Callable[[], Any] | None) -> None:
        """Record a difference and (unless dry-run) repair it; a failed repair is reported, not raised."""
        repaired = False
        if repair is not None and not self.dry_run:
            try:
                repair()
                repaired = True
            except Exception as exc:
                logger.warning("clerk_sync: repair of %s %s failed: %s", area, clerk_id, exc)
                self.errors.append(f"{area} {clerk_id}: {type(exc).__name__}: {exc}")
        self.drifts.append(Drift(area, kind, clerk_id, description, repaired))
        if repaired:
            audit(
                "clerk_sync.repaired",
                target_type=area,
                target_id=clerk_id,
                details={"kind": kind, "description": description},
            )


type Reconciler = Callable[[SyncContext], None]

_reconcilers: list[tuple[str, Reconciler]] = []


def register(name: str, reconciler: Reconciler) -> None:
    if all(existing != name for existing, _ in _reconcilers):
        _reconcilers.append((name, reconciler))


def reconcilers() -> list[tuple[str, Reconciler]]:
    return list(_reconcilers)


def pages[T](fetch: Callable[[int, int], list[T]], *, page_size: int = PAGE_SIZE) -> Iterator[list[T]]:
    """Each page of an offset-paged Clerk list: ``fetch(limit, offset)`` until a short page."""
    for page in range(MAX_PAGES):
        items = fetch(page_size, page * page_size)
        yield items
        if len(items) < page_size:
            return


def paged[T](fetch: Callable[[int, int], list[T]], *, page_size: int = PAGE_SIZE) -> Iterator[T]:
    """Every item of an offset-paged Clerk list, page after page."""
    for items in pages(fetch, page_size=page_size):
        yield from items


@contextlib.contextmanager
def _single_run() -> Iterator[bool]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_LOCK_KEY])
            got = bool(cursor.fetchone()[0])
        try:
            yield got
        finally:
            if got:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])
        return
    got = cache.add(_CACHE_LOCK, time.time(), _CACHE_LOCK_TTL_S)
    try:
        yield got
    finally:
        if got:
            cache.delete(_CACHE_LOCK)


@dataclass(frozen=True)
class SyncReport:
    ran: bool  # False: another run held the lock
    dry_run: bool
    drifts: list[Drift]
    errors: list[str]
    counts: dict[str, int]
    seconds: float

    @property
    def unrepaired(self) -> list[Drift]:
        return [drift for drift in self.drifts if not drift.repaired]


def clerk_sync(*, dry_run: bool = False, only: Iterable[str] | None = None) -> SyncReport:
    """Run every registered reconciler (or those named in ``only``) once."""
    started = time.monotonic()
    wanted = set(only) if only else None
    with _single_run() as got:
        if not got:
            return SyncReport(False, dry_run, [], [], {}, 0.0)
        context = SyncContext(dry_run=dry_run)
        for name, reconciler in reconcilers():
            if wanted is not None and name not in wanted:
                continue
            try:
                reconciler(context)
            except Exception as exc:
                logger.warning("clerk_sync: %s stopped: %s", name, exc)
                context.errors.append(f"{name}: {type(exc).__name__}: {exc}")
    report = SyncReport(True, dry_run, context.drifts, context.errors, context.counts, time.monotonic() - started)
    logger.info(
        "clerk_sync: %d drift(s), %d repaired, %d error(s) in %.1fs",
        len(report.drifts),
        len(report.drifts) - len(report.unrepaired),
        len(report.errors),
        report.seconds,
    )
    return report
