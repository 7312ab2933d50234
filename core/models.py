"""Shared model bases and the audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from django.db import connections, models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AuditEvent(models.Model):
    """Who did what to which object, when, from where, and how it ended.

    The actor is kept as a snapshot (id, email, role) rather than a foreign key, so deleting a user never deletes
    or rewrites history.
    """

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        DENIED = "denied", "Denied"
        FAILED = "failed", "Failed"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=100, db_index=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.SUCCESS)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_clerk_user_id = models.CharField(max_length=64, blank=True, default="")
    actor_email = models.CharField(max_length=320, blank=True, default="")
    actor_role = models.CharField(max_length=32, blank=True, default="")
    target_type = models.CharField(max_length=64, blank=True, default="")
    target_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    request_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    details: models.JSONField[dict[str, Any]] = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.action} ({self.outcome}) by {self.actor_email or 'system'}"


class WebhookEventManager(models.Manager["WebhookEvent"]):
    def insert_once(self, event: WebhookEvent, *, lock_shared: int | None = None) -> bool:
        """Insert ``event`` unless its svix id is stored already (``False``: nothing was written).

        ``INSERT … ON CONFLICT (svix_id) DO NOTHING``: one statement where ``create()`` in a savepoint takes three,
        on the path every delivery runs. A concurrent insert of the same id waits for that transaction to end, as
        with a plain INSERT, and then finds the row (or, if it rolled back, inserts). ``lock_shared`` (PostgreSQL):
        when the row is inserted, the same statement also takes that advisory lock, shared, until commit (the
        inbox's gate, ``accounts.webhook_locks``).
        """
        sql, values = self._insert_sql(event, lock_shared)
        with connections[self.db].cursor() as cursor:
            cursor.execute(sql, values)
            return self._inserted(event, cursor.fetchone())

    def insert_once_returning(self, event: WebhookEvent, *, also: tuple[str, Sequence[Any]]) -> tuple[Any, ...] | None:
        """``insert_once``, with the SQL expression ``also`` (SQL, parameters) evaluated for the inserted row in the
        same statement's ``RETURNING``: its value in a one-tuple, or ``None`` when nothing was inserted (a duplicate,
        for which ``also`` is not evaluated). The inbox counts its waiting drains there (``core.jobs.WaitingRuns``).
        """
        sql, values = self._insert_sql(event, None, also=also)
        with connections[self.db].cursor() as cursor:
            cursor.execute(sql, values)
            row = cursor.fetchone()
            return tuple(row[1:]) if self._inserted(event, row) else None

    def _insert_sql(
        self, event: WebhookEvent, lock_shared: int | None, *, also: tuple[str, Sequence[Any]] | None = None
    ) -> tuple[str, list[Any]]:
        meta = self.model._meta
        connection = connections[self.db]
        quote = connection.ops.quote_name
        fields = [field for field in meta.concrete_fields if not field.primary_key]
        values = [field.get_db_prep_save(field.pre_save(event, add=True), connection) for field in fields]
        columns = ", ".join(quote(field.column or field.attname) for field in fields)
        sql = (  # only model metadata is interpolated; every value is a parameter
            f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))}) "  # noqa: S608
            f"ON CONFLICT ({quote('svix_id')}) DO NOTHING RETURNING {quote(meta.pk.column or 'id')}"
        )
        if lock_shared is not None and connection.vendor == "postgresql":
            sql += ", pg_advisory_xact_lock_shared(%s)"
            values.append(lock_shared)
        if also is not None:
            sql += f", {also[0]}"
            values.extend(also[1])
        return sql, values

    def _inserted(self, event: WebhookEvent, row: Sequence[Any] | None) -> bool:
        if row is None:
            return False
        event.pk = row[0]
        event._state.adding = False
        event._state.db = self.db
        return True


class WebhookEvent(models.Model):
    """One verified webhook delivery, stored once per Svix message id: the inbox (``accounts.webhook_inbox``).

    The endpoint stores the row as ``received`` (or ``ignored`` when no handler takes its type) and answers at once;
    a task (``accounts.tasks``) applies it in one transaction with its effects, in order per Clerk object
    (``object_id``, then Clerk's ``timestamp``). A failure is ``retrying`` with back-off; an event that keeps failing
    is ``parked`` with its error until an operator replays it. A stored ``*.deleted`` event is also the tombstone
    that keeps late create/update deliveries from resurrecting the object.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", "Received (waiting for a worker)"
        APPLIED = "applied", "Applied"
        IGNORED = "ignored", "Ignored (no handler for this type)"
        RETRYING = "retrying", "Retrying (failed, will be retried)"
        PARKED = "parked", "Parked (kept failing; replay it)"

    PENDING: ClassVar[tuple[str, ...]] = (Status.RECEIVED, Status.RETRYING)

    svix_id = models.CharField(max_length=255)
    type = models.CharField(max_length=100)
    # `data.id` of the payload: the Clerk object the event is about (user_…, org_…, orgmem_…).
    object_id = models.CharField(max_length=255, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    # Anything the handlers reported, e.g. why stale or tombstoned data was skipped.
    note = models.TextField(blank=True, default="")
    payload: models.JSONField[dict[str, Any]] = models.JSONField(default=dict)
    # When Svix signed the delivery (the `svix-timestamp` header).
    signed_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Clerk's `timestamp` of the event (milliseconds): the order in which one object's events are applied.
    clerk_timestamp = models.BigIntegerField(null=True, blank=True)
    # When the event reached its final state (applied, ignored or parked).
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True, default="")
    remote_ip = models.GenericIPAddressField(null=True, blank=True)

    objects: ClassVar[WebhookEventManager] = WebhookEventManager()

    class Meta:
        ordering = ["-received_at", "-id"]
        # Every delivery writes a row, so only what is read is indexed: the svix id (one row per message; a
        # constraint rather than `unique=True`, which would add a LIKE index nobody uses), the tombstone lookup of
        # every handler (a partial index over `*.deleted` events only), the admin's filter by type and the open
        # events (a partial index: applied and ignored rows leave it).
        constraints = [models.UniqueConstraint(fields=["svix_id"], name="core_webhook_svix_id_unique")]
        indexes = [
            models.Index(
                fields=["object_id"], condition=models.Q(type__endswith=".deleted"), name="core_webhook_tombstones"
            ),
            models.Index(fields=["type"], name="core_webhook_type"),
            # What workers and operators look for: the events not applied yet, per object in Clerk's order.
            models.Index(
                fields=["object_id", "clerk_timestamp", "id"],
                condition=models.Q(status__in=["received", "retrying", "parked"]),
                name="core_webhook_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.svix_id} ({self.status})"

    @property
    def data(self) -> dict[str, Any]:
        """The event's ``data`` object (always a dict: the endpoint refuses anything else)."""
        data = self.payload.get("data") if isinstance(self.payload, dict) else None
        return data if isinstance(data, dict) else {}
