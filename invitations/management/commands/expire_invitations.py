"""``manage.py expire_invitations``: mark pending invitations past their expiry as expired (run hourly).

Both kinds: workspace invitations and staff invitations. Clerk sends no "expired" webhook, so this is how our rows
learn it; every list already shows a pending invitation past its expiry as expired in the meantime.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from internal_users.services import internal_invitations_expire
from invitations.services import invitations_expire


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


class Command(BaseCommand):
    help = "Mark workspace and staff invitations whose expiry has passed as expired, and print how many."

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = invitations_expire()
        staff = internal_invitations_expire()
        self.stdout.write(
            f"Expired {_plural(workspace, 'workspace invitation')} and {_plural(staff, 'staff invitation')}."
        )
