"""Background tasks for staff invitations (``django.tasks``; django-tasks-db runs them in production).

Arguments are plain ids and numbers: the invitation link (a sign-up ticket) never enters the task queue's table,
except for ``send_external_invitation_email``, whose link exists only in Clerk's ``email.created`` event.
"""

from __future__ import annotations

from django.tasks import task

from core.jobs import register_task
from internal_users.emails import send_internal_invite_email
from internal_users.services import internal_invitations_expire, invitation_email_send

SEND_EMAIL = "internal_users.send_invitation_email"
SEND_EXTERNAL_EMAIL = "internal_users.send_external_invitation_email"


@register_task(SEND_EMAIL)
@task
def send_invitation_email(invitation_id: int, send_number: int) -> str:
    return invitation_email_send(invitation_id=invitation_id, send_number=send_number).value


@register_task(SEND_EXTERNAL_EMAIL)
@task
def send_external_invitation_email(email: str, invite_url: str, role: str) -> str:
    """The branded email for an invitation made in Clerk (not here), announced by ``email.created``."""
    send_internal_invite_email(email=email, invite_url=invite_url, role=role)
    return "sent"


@task
def expire_internal_invitations() -> int:
    return internal_invitations_expire()
