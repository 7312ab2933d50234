"""How services reach background work without importing the modules that define it.

An app's ``tasks.py`` imports its services (a task is a thin call into one service), so services cannot import
``tasks.py`` back. Instead each task registers here under a stable name when its module loads (every app's
``ready()`` imports its tasks), and services enqueue by that name. Likewise the hourly expiry: each app registers the
service that expires its own invitations, and ``manage.py expire_invitations`` (core) runs them all, so no feature
app imports another (docs/architecture.md, "Dependencies").

``enqueue_unless_waiting`` is the coalescing enqueue of a task whose runs are interchangeable (the webhook inbox's
drain): with django-tasks-db it adds a row only while fewer than a given number of runs are waiting to start.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.tasks import Task

_TASKS: dict[str, Task[..., Any]] = {}
_EXPIRERS: dict[str, Callable[[], int]] = {}


def register_task(name: str) -> Callable[[Task[..., Any]], Task[..., Any]]:
    def register(task: Task[..., Any]) -> Task[..., Any]:
        _TASKS[name] = task
        return task

    return register


def task_named(name: str) -> Task[..., Any]:
    """The task registered as ``name`` (``KeyError`` if its app's tasks module was never imported: a wiring bug)."""
    return _TASKS[name]


def register_expirer(noun: str, expire: Callable[[], int]) -> None:
    """``expire()`` marks its app's open invitations past their expiry and returns how many; ``noun`` names one."""
    _EXPIRERS[noun] = expire


def expire_all() -> list[tuple[str, int]]:
    """Run every registered expirer, in the order the apps registered them (INSTALLED_APPS)."""
    return [(noun, expire()) for noun, expire in _EXPIRERS.items()]


# Created on PostgreSQL by core/migrations/0005_waiting_runs_after_gate.py, with the count of ``WaitingRuns.statement``.
WAITING_RUNS_AFTER_GATE = "core_waiting_runs_after_gate"


@dataclass(frozen=True)
class WaitingRuns:
    """A task's runs waiting to start, counted up to ``limit``: django-tasks-db rows that are READY and not deferred
    (``run_after`` holds its "no delay" sentinel, so a run deferred to later does not count)."""

    task_path: str
    queue_name: str
    backend_name: str
    run_after: datetime
    limit: int

    def statement(self) -> tuple[str, list[Any]]:
        """The statement (SQL, parameters) whose one row is the count."""
        from django_tasks_db.models import DBTaskResult

        quote = connection.ops.quote_name
        # Only model metadata is interpolated. The partial index on READY rows answers it.
        sql = (
            f"SELECT count(*) FROM (SELECT 1 FROM {quote(DBTaskResult._meta.db_table)} "  # noqa: S608
            "WHERE status = 'READY' AND task_path = %s AND queue_name = %s AND backend_name = %s AND run_after = %s "
            "LIMIT %s) AS waiting"
        )
        return sql, [self.task_path, self.queue_name, self.backend_name, self.run_after, self.limit]

    def after_gate(self, gate: int) -> tuple[str, list[Any]]:
        """An SQL expression (PostgreSQL), and its parameters, that takes advisory lock ``gate`` shared until commit
        and then counts on a snapshot taken after it.

        A VOLATILE function reads a fresh snapshot in each query it runs, so the expression can sit in the
        ``RETURNING`` of the statement that stores what the runs will read and still see what committed while that
        statement waited for the gate. As a second statement the count cost a parse, a plan and a result of its
        own on every webhook delivery (about 0.17 ms against 0.06 ms in the function, whose plan is kept).
        """
        return f"{WAITING_RUNS_AFTER_GATE}(%s::bigint, %s::text, %s::text, %s::text, %s::timestamptz, %s::integer)", [
            gate,
            self.task_path,
            self.queue_name,
            self.backend_name,
            self.run_after,
            self.limit,
        ]


def waiting_runs(task: Task[..., Any], *, limit: int) -> WaitingRuns | None:
    """How to count ``task``'s runs waiting to start, up to ``limit``; ``None`` when its backend keeps no rows to
    count (anything but django-tasks-db)."""
    backend = task.get_backend()
    if not type(backend).__module__.startswith("django_tasks_db"):
        return None
    from django_tasks_db.models import get_date_max

    return WaitingRuns(task.module_path, task.queue_name, backend.alias, get_date_max(), limit)


def enqueue_unless_waiting(
    task: Task[..., Any], *, runs: Sequence[dict[str, Any]] = ({},), waiting: int | None = None
) -> None:
    """Keep up to ``len(runs)`` runs of ``task`` waiting to start: with ``n`` waiting (any arguments), enqueue
    ``runs[n]``, or nothing when ``n`` reaches ``len(runs)`` (django-tasks-db). Other backends: enqueue ``runs[0]``.

    Call it in the transaction that stores what the task will read. A waiting run starts after this commit, so it
    sees what was stored; a run that has started may not, which is why only *waiting* (READY, not deferred) runs
    count. The caller must also keep a run that started after this check from reading before this commit (the
    webhook inbox's gate, ``accounts.webhook_locks``). ``waiting``: the count the caller already read with
    ``waiting_runs`` in this transaction (the inbox reads it in the RETURNING of its INSERT).
    """
    if waiting is None:
        waiting = 0
        counted = waiting_runs(task, limit=len(runs))
        if counted is not None:
            with connection.cursor() as cursor:
                cursor.execute(*counted.statement())
                waiting = cursor.fetchone()[0]
    if waiting < len(runs):
        task.enqueue(**runs[waiting])
