"""Periodic tasks of the platform. Schedule ``manage.py clerk_sync`` (e.g. every 15 minutes) with cron or the
platform's scheduler, or have the scheduler enqueue ``clerk_sync`` here; django.tasks has no scheduler."""

from __future__ import annotations

from django.tasks import task


@task
def clerk_sync() -> dict[str, int]:
    from core.reconcile import clerk_sync as run

    report = run()
    return {
        "ran": int(report.ran),
        "drifts": len(report.drifts),
        "unrepaired": len(report.unrepaired),
        "errors": len(report.errors),
    }
