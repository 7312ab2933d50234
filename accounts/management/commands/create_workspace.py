"""``manage.py create_workspace --name N [--slug S] [--owner-email E]``: a Clerk organization and its workspace."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import workspace_create
from core.exceptions import ApplicationError


class Command(BaseCommand):
    help = (
        "Create a workspace: the Clerk organization and the local row. With --owner-email, that existing Clerk "
        "user becomes the workspace's admin (org:admin)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="the workspace's name")
        parser.add_argument("--slug", help="URL-safe identifier (lowercase letters, digits, dashes); from the name")
        parser.add_argument("--owner-email", help="email of an existing Clerk user to make the workspace's admin")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            workspace = workspace_create(name=options["name"], slug=options["slug"], owner_email=options["owner_email"])
        except ApplicationError as exc:
            raise CommandError(f"{exc.message} ({exc.code})") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Created workspace {workspace.name!r} (slug {workspace.slug}, Clerk organization "
                f"{workspace.clerk_organization_id})."
            )
        )
        if options["owner_email"]:
            self.stdout.write(f"{options['owner_email'].strip().lower()} is its admin.")
