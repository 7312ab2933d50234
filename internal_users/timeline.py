"""The timeline of one staff invitation, read from its ``internal_invitation.*`` audit events.

Steps (``internal_users.services``, ``internal_users.links``): ``created`` (Clerk made the invitation; our email is
sent by a task: ``email_sent`` / ``email_failed``), ``resent`` (a new Clerk invitation and email; ``failed`` when
Clerk refused, the row then shows ``failed``), ``revoked`` (by whom; also when a role was granted to an existing
account), ``expired``, ``accepted`` (the account that signed up), ``link_shown`` (the link itself is not kept).
A pending invitation past its expiry that the hourly sweep has not reached yet gets an ``expired`` step at
``expires_at``.
"""

from __future__ import annotations

from typing import Any

from core.models import AuditEvent
from core.timeline import TimelineEntry, entry, target_events
from internal_users.models import InternalInvitation, InternalInvitationStatus
from internal_users.services import AUDIT_INVITATION


def _step(event: AuditEvent, invitation: InternalInvitation) -> TimelineEntry | None:
    details: dict[str, Any] = event.details if isinstance(event.details, dict) else {}
    action = event.action.removeprefix(f"{AUDIT_INVITATION}.")
    failed = event.outcome == AuditEvent.Outcome.FAILED
    if action == "created":
        return entry(event, "created", f"Invited as {details.get('role') or invitation.role}")
    if action == "resent":
        if failed:
            code = details.get("code")
            return entry(event, "failed", "Resend failed", detail=f"Clerk's code: {code}" if code else "")
        return entry(event, "resent", "Resent: new link and expiry, the old link no longer works")
    if action == "email_sent":
        return entry(event, "sent", "Invitation email sent")
    if action == "email_failed":
        return entry(event, "failed", "The invitation email could not be sent", detail=str(details.get("error", "")))
    if action == "revoked":
        reason = details.get("reason")
        who = event.actor_email
        return entry(event, "revoked", f"Revoked by {who}" if who else "Revoked", detail=str(reason or ""))
    if action == "expired":
        return entry(event, "expired", "Expired without being accepted")
    if action == "accepted":
        user = invitation.accepted_user
        who = (user.email if user is not None else "") or invitation.email
        return entry(event, "accepted", f"Accepted by {who}")
    if action == "link_shown":
        return entry(event, "link_shown", f"Invite link shown to {event.actor_email or 'someone'}")
    return None


def internal_invitation_timeline(*, invitation: InternalInvitation) -> list[TimelineEntry]:
    """Every step of the staff invitation we know of, oldest first (one query)."""
    entries = [
        step
        for event in target_events(target_type=AUDIT_INVITATION, target_id=invitation.pk)
        if (step := _step(event, invitation)) is not None
    ]
    if not entries or entries[0].kind != "created":
        entries.insert(
            0,
            TimelineEntry(
                at=invitation.created_at,
                kind="created",
                label=f"Invited as {invitation.role}",
                actor_email=invitation.inviter_email,
            ),
        )
    expired_by_time = invitation.status == InternalInvitationStatus.PENDING and invitation.effective_status == "expired"
    if expired_by_time and not any(step.kind == "expired" for step in entries):
        entries.append(TimelineEntry(at=invitation.expires_at, kind="expired", label="Expired without being accepted"))
    return entries
