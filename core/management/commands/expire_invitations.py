"""``manage.py expire_invitations``: mark pending invitations past their expiry as expired (run hourly).

Every kind an app registered with core.jobs (workspace invitations, staff invitations). Clerk sends no "expired"
webhook, so this is how our rows learn it; every list already shows a pending invitation past its expiry as expired
in the meantime.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from core.jobs import expire_all


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


class Command(BaseCommand):
    help = "Mark invitations (workspace and staff) whose expiry has passed as expired, and print how many."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = [_plural(count, noun) for noun, count in expire_all()]
        self.stdout.write(f"Expired {' and '.join(counts)}.")
