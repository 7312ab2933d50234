"""``manage.py create_staff_user --email E --password P [--first-name F] [--last-name L] [--role R]``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.roles import INTERNAL_ROLES, Role
from accounts.services import staff_user_create
from core.exceptions import ApplicationError


class Command(BaseCommand):
    help = (
        "Create a staff user in Clerk with public_metadata {role, internal: true} and mirror it locally; use it to "
        "bootstrap the first super_admin of a new deployment. If the email already has a Clerk user, its metadata "
        "is updated instead (its password is left unchanged)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True, help="the Clerk password (Clerk's password rules apply)")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument("--role", default=Role.SUPER_ADMIN.value, choices=sorted(INTERNAL_ROLES))

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = staff_user_create(
                email=options["email"],
                password=options["password"],
                first_name=options["first_name"],
                last_name=options["last_name"],
                role=options["role"],
            )
        except ApplicationError as exc:
            raise CommandError(f"{exc.message} ({exc.code})") from exc
        user = result.user
        if result.created_in_clerk:
            self.stdout.write(
                self.style.SUCCESS(f"Created {user.role} {user.email} (Clerk user {user.clerk_user_id}).")
            )
        else:
            self.stdout.write(
                self.style.WARNING(
                    f"{user.email} already had a Clerk user ({user.clerk_user_id}): its role is now {user.role}. "
                    "Its password was not changed."
                )
            )
