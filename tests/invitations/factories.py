"""factory_boy factories for invitation rows (local only, no Clerk call), and small helpers shared by the service,
task, command and webhook tests. For invitations that exist in Clerk, call the services against the emulator."""

# factory_boy ships no type hints for its declarations.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from factory.declarations import LazyFunction, Sequence, SubFactory
from factory.django import DjangoModelFactory

from accounts.models import User, Workspace, WorkspaceMembership
from accounts.roles import WorkspaceRole
from clerk_emulator.state import Emulator
from invitations.models import InvitationStatus, WorkspaceInvitation
from tests.accounts.factories import UserFactory, WorkspaceFactory


class WorkspaceInvitationFactory(DjangoModelFactory[WorkspaceInvitation]):
    class Meta:
        model = WorkspaceInvitation

    workspace = SubFactory(WorkspaceFactory)
    email = Sequence(lambda n: f"invitee{n}@example.com")
    role = WorkspaceRole.MEMBER
    status = InvitationStatus.PENDING
    clerk_invitation_id = Sequence(lambda n: f"orginv_factory{n:06d}")
    inviter = SubFactory(UserFactory)
    expires_at = LazyFunction(lambda: timezone.now() + timedelta(days=7))
    last_sent_at = LazyFunction(timezone.now)
    send_count = 1


def bulk_path(organization_id: str) -> str:
    """The emulator route of Clerk's bulk organization invitation endpoint (for faults and the request log)."""
    return f"/v1/organizations/{organization_id}/invitations/bulk"


def clerk_calls(em: Emulator, method: str, path: str) -> int:
    return sum(1 for logged_method, logged_path, _ in em.request_log if (logged_method, logged_path) == (method, path))


def clerk_pending(em: Emulator, organization_id: str) -> dict[str, list[str]]:
    """Email → ids of the emulator's pending invitations of that organization (duplicates would show as 2 ids)."""
    pending: dict[str, list[str]] = {}
    now = em.now_ms()
    for invitation in em.organization_invitations.values():
        if (
            invitation.organization_id == organization_id
            and invitation.status == "pending"
            and invitation.expires_at > now
        ):
            pending.setdefault(invitation.email_address, []).append(invitation.id)
    return pending


def ticket_of(em: Emulator, clerk_invitation_id: str) -> str:
    """The ticket in the link Clerk emailed for that invitation (as the invitee would click it)."""
    url = em.organization_invitations[clerk_invitation_id].url or ""
    return url.split("ticket=", 1)[1]


def many_members(workspace: Workspace, count: int, *, prefix: str = "crowd") -> list[WorkspaceMembership]:
    """``count`` local members of ``workspace`` (bulk-created, members not admins), in the order they joined."""
    users = User.objects.bulk_create(
        User(clerk_user_id=f"user_{prefix}{i:05d}", email=f"{prefix}{i:05d}@example.com", first_name=prefix.title())
        for i in range(count)
    )
    return WorkspaceMembership.objects.bulk_create(
        WorkspaceMembership(workspace=workspace, user=user, clerk_membership_id=f"orgmem_{prefix}{i:05d}")
        for i, user in enumerate(users)
    )
