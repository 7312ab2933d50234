"""factory_boy factories for staff invitation rows (local only, no Clerk call), and small helpers shared by the staff
service, webhook, selector and task tests. For invitations that exist in Clerk, call the services against the
emulator."""

# factory_boy ships no type hints for its declarations.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from factory.declarations import LazyFunction, Sequence
from factory.django import DjangoModelFactory

from accounts.roles import Role
from clerk_emulator import records
from clerk_emulator.state import Emulator
from internal_users.models import InternalInvitation, InternalInvitationStatus

INVITATIONS_PATH = "/v1/invitations"


class InternalInvitationFactory(DjangoModelFactory[InternalInvitation]):
    """A pending staff invitation as ``internal_invite`` leaves it (no Clerk invitation behind it)."""

    class Meta:
        model = InternalInvitation

    email = Sequence(lambda n: f"staff{n}@example.com")
    role = Role.PM
    status = InternalInvitationStatus.PENDING
    clerk_invitation_id = Sequence(lambda n: f"inv_factory{n:06d}")
    expires_at = LazyFunction(lambda: timezone.now() + timedelta(days=7))
    last_sent_at = LazyFunction(timezone.now)
    send_count = 1


def clerk_calls(em: Emulator, method: str, path: str | None = None) -> int:
    """Requests the emulator answered with ``method`` (on ``path``, or on any path when ``None``)."""
    return sum(1 for m, p, _ in em.request_log if m == method and (path is None or p == path))


def app_invitations(em: Emulator, email: str | None = None) -> list[records.Invitation]:
    """The emulator's application invitations (of ``email``), oldest first."""
    rows = [i for i in em.invitations.values() if email is None or i.email_address == email]
    return sorted(rows, key=lambda i: i.created_at)


def pending_app_invitations(em: Emulator, email: str) -> list[records.Invitation]:
    now = em.now_ms()
    return [i for i in app_invitations(em, email) if i.status == "pending" and i.expires_at > now]
