"""``manage.py expire_invitations``: mark open workspace invitations past their expiry as expired (run hourly)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from invitations.services import invitations_expire


class Command(BaseCommand):
    help = "Mark open workspace invitations whose expiry has passed as expired, and print how many."

    def handle(self, *args: Any, **options: Any) -> None:
        count = invitations_expire()
        self.stdout.write(f"Expired {count} invitation{'' if count == 1 else 's'}.")
