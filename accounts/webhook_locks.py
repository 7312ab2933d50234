"""What keeps concurrent and out-of-order webhook events apart: advisory locks, the inbox's gate, and tombstones."""

from __future__ import annotations

from django.db import connection

from core.models import WebhookEvent


def _advisory_xact_locks(keys: list[str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(key, 0)) "
            "FROM unnest(%s::text[]) WITH ORDINALITY AS locks(key, position) ORDER BY position",
            [keys],
        )


def lock_clerk_objects(*clerk_ids: str) -> None:
    """Serialize, until commit, concurrent events about the same Clerk objects (PostgreSQL advisory locks).

    Without it a ``*.deleted`` and a late ``*.updated`` for one object, applied at the same moment, could both
    read "no tombstone yet" and the update would resurrect the object. Call it once, first, with every id the
    handler reads or writes; ids are locked in sorted order (one statement) so two handlers never wait on each
    other in a cycle. Other databases serialize writers themselves, so this is a no-op there.
    """
    if connection.vendor != "postgresql":
        return
    keys = sorted({f"clerk:{clerk_id}" for clerk_id in clerk_ids if clerk_id})
    if keys:
        _advisory_xact_locks(keys)


def lock_inbox_object(object_id: str) -> None:
    """Let one worker at a time apply the events of one Clerk object, until commit.

    Its own key space (``inbox:``), taken before any handler's ``clerk:`` locks: a worker holds at most one inbox
    lock, and handlers take theirs in sorted order, so no two workers wait on each other in a cycle.
    """
    if connection.vendor == "postgresql" and object_id:
        _advisory_xact_locks([f"inbox:{object_id}"])


# The inbox's gate, between deliveries and the drain (a fixed 64-bit advisory key; the other locks hash text keys).
# A delivery takes it shared, until commit, in the INSERT that stores its event (``WebhookEvent.objects.insert_once(
# lock_shared=INBOX_GATE_KEY)``), before it looks for a waiting drain; finding one, it enqueues none, and that drain
# must then read its event. A drain passes ``wait_for_inbox_arrivals`` before reading, so it reads after the commit
# of every delivery that could have counted on it. Deliveries share the gate and never wait on one another.
INBOX_GATE_KEY = 0x1B0C_0001


def wait_for_inbox_arrivals() -> None:
    """Wait until every delivery now holding the gate has committed (or rolled back); no-op off PostgreSQL.

    Deliveries arriving meanwhile wait too, for as long as it takes the ones in flight to commit (one INSERT each).
    """
    if connection.vendor == "postgresql":
        # Taken and given back at once (session-level, so it is not held to the end of an enclosing transaction).
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s), pg_advisory_unlock(%s)", [INBOX_GATE_KEY, INBOX_GATE_KEY])


class Tombstones:
    """The stored ``*.deleted`` events (tombstones) of some Clerk objects, read in one query (``tombstones()``).

    Users and organizations are deleted for good (their deletion payload has no ``updated_at``), so any tombstone
    wins. A membership's deletion payload carries the membership with its ``updated_at``: data not newer than that
    is ignored, so a late ``organizationMembership.created`` never resurrects a removed membership.
    """

    def __init__(self, versions: dict[str, int | None]) -> None:
        # Clerk id -> the newest deleted version (None: deleted for good).
        self._versions = versions

    def rule_out(self, clerk_id: str, *, updated_at: int | None = None) -> bool:
        """Whether data about ``clerk_id`` (at Clerk's ``updated_at``, when known) must not be applied."""
        if not clerk_id or clerk_id not in self._versions:
            return False
        deleted_version = self._versions[clerk_id]
        return updated_at is None or deleted_version is None or updated_at <= deleted_version


def tombstones(*clerk_ids: str) -> Tombstones:
    """Every stored deletion counts, applied or not yet: the object is gone in Clerk either way."""
    ids = {clerk_id for clerk_id in clerk_ids if clerk_id}
    versions: dict[str, int | None] = {}
    if not ids:
        return Tombstones(versions)
    stored = WebhookEvent.objects.filter(object_id__in=ids, type__endswith=".deleted").order_by()
    for object_id, payload in stored.values_list("object_id", "payload"):
        data = payload.get("data") if isinstance(payload, dict) else None
        version = data.get("updated_at") if isinstance(data, dict) else None
        if not isinstance(version, int) or (object_id in versions and versions[object_id] is None):
            versions[object_id] = None
        else:
            versions[object_id] = max(version, versions.get(object_id) or version)
    return Tombstones(versions)


def deleted_in_clerk(clerk_id: str, *, updated_at: int | None = None) -> bool:
    """Whether a stored ``*.deleted`` event (the tombstone) rules out applying data about ``clerk_id``."""
    return tombstones(clerk_id).rule_out(clerk_id, updated_at=updated_at)
