"""``manage.py rundemo``: the whole product on one machine, what ``make run`` starts.

1. migrates the database (SQLite by default);
2. starts the Clerk emulator inside this process on 127.0.0.1:8787 (when ``CLERK_API_URL`` is unset, see
   config/settings/local.py), delivering its webhooks to ``APP_BASE_URL/webhooks/clerk/``, and points the Clerk
   settings at it before anything reads them;
3. seeds the demo accounts and workspace through the same services the operator commands use. The emulator keeps
   everything in memory while the database persists, so this runs on every start: it re-creates the demo users and
   the organization in Clerk, and the local rows follow them by email and slug;
4. prints the app URL, the emulator's mailbox and the demo accounts, then runs Django's development server
   (without the autoreloader: a reload would lose the emulator that lives in this process).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import authentication, clerk
from accounts.models import User
from accounts.roles import Role, WorkspaceRole
from accounts.services import staff_user_create, user_ensure, workspace_ensure, workspace_member_ensure
from clerk_emulator.server import EmulatorServer
from core.exceptions import ApplicationError

DEMO_PASSWORD = "demo-password-2025"  # noqa: S105 (printed on screen: the in-memory emulator only)
DEMO_WORKSPACE_NAME = "Acme Inc"
DEMO_WORKSPACE_SLUG = "acme"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    first_name: str
    last_name: str
    description: str
    staff_role: str = ""  # an internal role, or "" for a workspace member
    workspace_role: str = ""  # their role in the demo workspace, "" for none


DEMO_ACCOUNTS = (
    DemoAccount(
        "super@example.com", "Sofia", "Ramirez", "super admin (staff, Django admin)", staff_role=Role.SUPER_ADMIN
    ),
    DemoAccount(
        "admin@example.com", "Alex", "Chen", f"admin of {DEMO_WORKSPACE_NAME}", workspace_role=WorkspaceRole.ADMIN
    ),
    DemoAccount(
        "member@example.com", "Maya", "Patel", f"member of {DEMO_WORKSPACE_NAME}", workspace_role=WorkspaceRole.MEMBER
    ),
)


def seed_demo() -> bool:
    """Create (or re-create) the demo accounts and workspace in Clerk and mirror them; True if the DB was new."""
    fresh = not User.objects.exists()
    workspace, _ = workspace_ensure(name=DEMO_WORKSPACE_NAME, slug=DEMO_WORKSPACE_SLUG)
    for account in DEMO_ACCOUNTS:
        if account.staff_role:
            user = staff_user_create(
                email=account.email,
                password=DEMO_PASSWORD,
                first_name=account.first_name,
                last_name=account.last_name,
                role=account.staff_role,
            ).user
        else:
            user, _ = user_ensure(
                email=account.email,
                password=DEMO_PASSWORD,
                first_name=account.first_name,
                last_name=account.last_name,
            )
        if account.workspace_role:
            workspace_member_ensure(workspace=workspace, user=user, role=account.workspace_role)
        # The demo accounts have done phone onboarding; people invited during the demo go through /onboarding/phone/
        # (the SMS code is in the emulator's mailbox).
        User.objects.filter(pk=user.pk).update(phone_verification_required=False)
    return fresh


class Command(BaseCommand):
    help = "Run the demo: migrate, start the Clerk emulator in-process, seed demo accounts, serve on APP_BASE_URL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="prepare and print the banner, then exit")

    def handle(self, *args: Any, **options: Any) -> None:
        app_url: str = settings.APP_BASE_URL
        parts = urlsplit(app_url)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost") or parts.path not in ("", "/"):
            raise CommandError(f"rundemo serves on a local http address; APP_BASE_URL is {app_url}.")
        addrport = f"{parts.hostname}:{parts.port or 80}"

        emulator = self._start_emulator(app_url) if getattr(settings, "CLERK_EMULATOR_EMBEDDED", False) else None
        call_command("migrate", interactive=False, verbosity=0)
        fresh = False
        if emulator is not None:
            try:
                fresh = seed_demo()
            except ApplicationError as exc:
                raise CommandError(f"Seeding the demo failed: {exc.message} ({exc.code})") from exc
        self._banner(app_url, emulator, fresh=fresh)
        if options["no_serve"]:
            if emulator is not None:
                emulator.stop()
            return
        call_command("runserver", addrport, use_reloader=False)

    def _start_emulator(self, app_url: str) -> EmulatorServer:
        host: str = getattr(settings, "CLERK_EMULATOR_HOST", "127.0.0.1")
        port: int = getattr(settings, "CLERK_EMULATOR_PORT", 8787)
        try:
            server = EmulatorServer(
                host=host,
                port=port,
                secret_key=settings.CLERK_SECRET_KEY,
                webhook_url=f"{app_url}/webhooks/clerk/",
                webhook_secret=settings.CLERK_WEBHOOK_SIGNING_SECRET,
            ).start()
        except OSError as exc:
            raise CommandError(
                f"Cannot start the Clerk emulator on {host}:{port} ({exc.strerror}). Is another demo or "
                "`python -m clerk_emulator` running? Stop it, or set CLERK_API_URL to use that Clerk instead."
            ) from exc
        em = server.emulator
        # Everything Clerk-related now points at this emulator (its signing key is new on every start).
        settings.CLERK_API_URL = server.api_url
        settings.CLERK_SECRET_KEY = em.secret_key
        settings.CLERK_PUBLISHABLE_KEY = em.publishable_key
        settings.CLERK_FRONTEND_API_URL = em.frontend_api_url
        settings.CLERK_JWT_KEY = em.keys.public_pem
        clerk.reset_client()
        authentication.reset_caches()
        return server

    def _banner(self, app_url: str, emulator: EmulatorServer | None, *, fresh: bool) -> None:
        line = "─" * 72
        out = self.stdout
        out.write(self.style.SUCCESS(line))
        out.write(self.style.SUCCESS("  Clerk Invitations demo"))
        out.write(self.style.SUCCESS(line))
        out.write(f"  App            {app_url}/sign-in/")
        out.write(f"  Django admin   {app_url}/django-admin/   (super admins)")
        out.write(f"  API docs       {app_url}/api/docs/")
        if emulator is None:
            out.write(f"  Clerk          {settings.CLERK_API_URL} (CLERK_API_URL is set: no demo accounts seeded)")
            out.write(self.style.SUCCESS(line))
            return
        out.write(f"  Clerk emulator {emulator.url}   mailbox: {emulator.url}/__emulator/mail")
        out.write(f"  Invite people  {app_url}/settings/ as the admin below; the invitation emails, with their")
        out.write("                 links to /accept-invite/, arrive in the emulator's mailbox above.")
        out.write(f"  Invite staff   {app_url}/internal/users/ as the super admin below; our branded email, with")
        out.write("                 its link to /internal/accept-invite/, is printed in this terminal.")
        out.write("")
        out.write(f"  Demo accounts ({'created' if fresh else 'restored in the emulator'}), password: {DEMO_PASSWORD}")
        for account in DEMO_ACCOUNTS:
            out.write(f"    {account.email:<22} {account.description}")
        out.write("")
        out.write("  The emulator keeps its data in memory: on the next start the demo accounts are re-created,")
        out.write("  and people invited during this run need a new invitation.")
        out.write(self.style.SUCCESS(line))
