"""``manage.py send_queued_invitations``: send queued workspace invitations that are due (run every minute)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from invitations.services import SEND_QUEUED_BATCH, invitations_send_queued


class Command(BaseCommand):
    help = (
        "Send queued workspace invitations whose retry time has come (Clerk's Retry-After after a rate limit, or "
        "a backoff after Clerk was unavailable), and print how many were sent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=SEND_QUEUED_BATCH, help="at most this many per run")

    def handle(self, *args: Any, **options: Any) -> None:
        sent = invitations_send_queued(limit=max(1, options["limit"]))
        self.stdout.write(f"Sent {sent} queued invitation{'' if sent == 1 else 's'}.")
