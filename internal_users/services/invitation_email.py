"""The branded invitation email: sent from a task for one send number, the ticket url read back from Clerk (never
stored), the result recorded on the invitation; and Clerk's ``email.created`` for invitations not made here.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts import clerk
from accounts.roles import INTERNAL_ROLES
from core.audit import audit
from core.jobs import task_named
from core.models import AuditEvent
from internal_users import emails
from internal_users.models import EmailDelivery, InternalInvitation, InternalInvitationStatus
from internal_users.services.shared import AUDIT_INVITATION, email_link

logger = logging.getLogger(__name__)


class EmailSendResult(StrEnum):
    """What ``invitation_email_send`` did (the task returns it)."""

    SENT = "sent"
    STALE = "stale"  # resent, revoked or accepted since: a newer send, or nobody, needs it
    GONE = "gone"  # Clerk has no pending invitation with that id
    FAILED = "failed"  # recorded on the invitation


def invitation_email_send(*, invitation_id: int, send_number: int) -> EmailSendResult:
    """Send the branded email for send number ``send_number`` of an invitation (the task calls this).

    Reads the ticket url from Clerk (it is never stored here). Returns what happened: "sent", "stale" (resent,
    revoked or accepted since: a newer send or nobody needs it), "gone" (no pending Clerk invitation), "failed".
    A failure is recorded on the invitation; it never raises for mail errors, so the task is not retried blindly.
    """
    row = InternalInvitation.objects.filter(pk=invitation_id).first()
    if row is None or row.send_count != send_number or not row.is_pending or not row.clerk_invitation_id:
        return EmailSendResult.STALE
    try:
        found = clerk.list_invitations(status="pending", query=row.email, limit=10)
    except clerk.ClerkError as exc:
        _record_email(row, status=EmailDelivery.FAILED, error=f"{exc.code}: could not read the link from Clerk")
        return EmailSendResult.FAILED
    invitation = next((item for item in found if item.id == row.clerk_invitation_id and item.url), None)
    if invitation is None:
        _record_email(
            row, status=EmailDelivery.FAILED, error="clerk_invitation_missing: Clerk has no pending invitation"
        )
        return EmailSendResult.GONE
    try:
        emails.send_internal_invite_email(
            email=row.email,
            invite_url=email_link(invitation.url, invitation_id=row.pk),
            role=row.role,
            inviter_name=row.inviter_name,
            expires_at=row.expires_at,
        )
    except Exception as exc:
        logger.warning("staff invitation %s: email failed: %s", row.pk, type(exc).__name__)
        _record_email(row, status=EmailDelivery.FAILED, error=f"{type(exc).__name__}: {exc}")
        return EmailSendResult.FAILED
    _record_email(row, status=EmailDelivery.SENT, error="")
    return EmailSendResult.SENT


def _record_email(row: InternalInvitation, *, status: str, error: str) -> None:
    now = timezone.now()
    InternalInvitation.objects.filter(pk=row.pk, send_count=row.send_count).update(
        email_status=status,
        email_error=error[:300],
        email_sent_at=now if status == EmailDelivery.SENT else None,
        updated_at=now,
    )
    audit(
        "internal_invitation.email_sent" if status == EmailDelivery.SENT else "internal_invitation.email_failed",
        target_type=AUDIT_INVITATION,
        target_id=row.pk,
        outcome=AuditEvent.Outcome.SUCCESS if status == EmailDelivery.SENT else AuditEvent.Outcome.FAILED,
        details={"email": row.email, "send_count": row.send_count, "error": error[:300]},
    )


def email_created_from_clerk(*, data: dict[str, Any]) -> str | None:
    """``email.created`` (Clerk's delivery switched off): send our branded email for an application invitation
    that was not made here. Ours use ``notify=false`` and have their own email, so a match is never sent twice.
    Returns a note for the stored event when nothing was sent."""
    if data.get("slug") != "invitation":
        return f"email template {data.get('slug')!r} is not handled"
    template_data = data.get("data") if isinstance(data.get("data"), dict) else {}
    address = str(data.get("to_email_address") or "").strip().lower()
    link = template_data.get("action_url") if isinstance(template_data, dict) else None
    if not address or not isinstance(link, str) or not link:
        return "invitation email without an address or link; ignored"
    if InternalInvitation.objects.filter(email=address, status=InternalInvitationStatus.PENDING).exists():
        return "invitation made here: our own email covers it"
    invitation_data = template_data.get("invitation") if isinstance(template_data, dict) else None
    metadata = invitation_data.get("public_metadata") if isinstance(invitation_data, dict) else None
    role = metadata.get("role") if isinstance(metadata, dict) else None
    if not (isinstance(role, str) and role in INTERNAL_ROLES):
        return "invitation without a staff role; not sent"
    transaction.on_commit(lambda: _send_external(address=address, link=link, role=role))
    return None


def _send_external(*, address: str, link: str, role: str) -> None:
    task_named("internal_users.send_external_invitation_email").enqueue(address, link, role)
