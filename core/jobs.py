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


def _waiting_sql(limit: int) -> str:
    from django_tasks_db.models import DBTaskResult

    quote = connection.ops.quote_name
    # Only model metadata is interpolated. The partial index on READY rows answers it; `run_after` is the sentinel of
    # "no delay" (django-tasks-db stores the latest date there), so a run deferred to later does not count.
    return (
        f"SELECT count(*) FROM (SELECT 1 FROM {quote(DBTaskResult._meta.db_table)} "  # noqa: S608
        "WHERE status = 'READY' AND task_path = %s AND queue_name = %s AND backend_name = %s AND run_after = %s "
        f"LIMIT {int(limit)}) AS waiting"
    )


def waiting_runs_query(task: Task[..., Any], *, limit: int) -> tuple[str, list[Any]] | None:
    """The statement (SQL, parameters) whose one row counts ``task``'s runs waiting to start, up to ``limit``;
    ``None`` when its backend keeps no rows to count (anything but django-tasks-db)."""
    backend = task.get_backend()
    if not type(backend).__module__.startswith("django_tasks_db"):
        return None
    from django_tasks_db.models import get_date_max

    return _waiting_sql(limit), [task.module_path, task.queue_name, backend.alias, get_date_max()]


def enqueue_unless_waiting(
    task: Task[..., Any], *, runs: Sequence[dict[str, Any]] = ({},), waiting: int | None = None
) -> None:
    """Keep up to ``len(runs)`` runs of ``task`` waiting to start: with ``n`` waiting (any arguments), enqueue
    ``runs[n]``, or nothing when ``n`` reaches ``len(runs)`` (django-tasks-db). Other backends: enqueue ``runs[0]``.

    Call it in the transaction that stores what the task will read. A waiting run starts after this commit, so it
    sees what was stored; a run that has started may not, which is why only *waiting* (READY, not deferred) runs
    count. The caller must also keep a run that started after this check from reading before this commit (the
    webhook inbox's gate, ``accounts.webhook_locks``). ``waiting``: the count the caller already read with
    ``waiting_runs_query`` in this transaction (the inbox reads it in the round trip of its INSERT).
    """
    if waiting is None:
        waiting = 0
        query = waiting_runs_query(task, limit=len(runs))
        if query is not None:
            with connection.cursor() as cursor:
                cursor.execute(*query)
                waiting = cursor.fetchone()[0]
    if waiting < len(runs):
        task.enqueue(**runs[waiting])
