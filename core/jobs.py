"""How services reach background work without importing the modules that define it.

An app's ``tasks.py`` imports its services (a task is a thin call into one service), so services cannot import
``tasks.py`` back. Instead each task registers here under a stable name when its module loads (every app's
``ready()`` imports its tasks), and services enqueue by that name. Likewise the hourly expiry: each app registers the
service that expires its own invitations, and ``manage.py expire_invitations`` (core) runs them all, so no feature
app imports another (docs/architecture.md, "Dependencies").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
