"""The timeline of one workspace invitation, read from its ``workspace_invitation.*`` audit events.

What each step is audited as (``invitations.services``, ``invitations.links``):

- ``invite``: the first one made the row (``result`` ``invited``: Clerk sent the email; ``queued``: Clerk's rate
  limit or no answer, a task sends it later; ``failed``: Clerk refused it); later ones (``already_invited``) are
  someone inviting the address again while it was open;
- ``sent``: the background sender's try of a queued invitation (``created``/``adopted``: sent; ``rate_limited``,
  ``no_response``, ``unavailable``: still queued, retried later; anything else: failed);
- ``resent``: an admin's resend (the old link revoked, a new one sent), with the same results;
- ``accepted`` (the actor is who accepted), ``revoked`` (the actor, or ``source: clerk`` for Clerk's dashboard),
  ``expired`` (the hourly sweep), ``link_shown`` (someone copied the invite link; the link itself is not kept).

An invitation past its expiry that the sweep has not reached yet gets an ``expired`` step at ``expires_at``, so the
timeline agrees with the status people see.
"""

from __future__ import annotations

from typing import Any

from core.models import AuditEvent
from core.timeline import TimelineEntry, entry, target_events
from invitations.models import InvitationStatus, WorkspaceInvitation
from invitations.services import AUDIT_TARGET

_SENT = ("created", "adopted")
_STILL_QUEUED = ("rate_limited", "no_response", "unavailable")


def _role(details: dict[str, Any]) -> str:
    role = details.get("role")
    return f" as {role}" if isinstance(role, str) and role else ""


def _reason(details: dict[str, Any]) -> str:
    code = details.get("code")
    return f"Clerk's code: {code}" if isinstance(code, str) and code else ""


def _created(event: AuditEvent, details: dict[str, Any]) -> list[TimelineEntry]:
    result = details.get("result")
    created = entry(event, "created", f"Invited{_role(details)}")
    if result == "invited":
        return [created, entry(event, "sent", "Invitation email sent by Clerk")]
    if result == "queued":
        return [created, entry(event, "queued", "Queued: Clerk asked us to wait; it is sent automatically")]
    if result == "failed":
        return [created, entry(event, "failed", "Clerk refused the invitation", detail=_reason(details))]
    return [created]


def _send_attempt(event: AuditEvent, details: dict[str, Any], *, resend: bool) -> TimelineEntry:
    result = details.get("result")
    if result in _SENT:
        if resend:
            return entry(event, "resent", "Resent: new link and expiry, the old link no longer works")
        return entry(event, "sent", "Queued invitation sent by Clerk")
    if result in _STILL_QUEUED:
        label = "Resend queued" if resend else "Send retried"
        return entry(event, "retried", f"{label}: Clerk did not take it yet; it is retried automatically")
    label = "Resend failed" if resend else "Sending failed"
    return entry(event, "failed", label, detail=_reason(details))


def _step(event: AuditEvent, *, first_invite: bool) -> list[TimelineEntry]:
    details = event.details if isinstance(event.details, dict) else {}
    action = event.action.removeprefix(f"{AUDIT_TARGET}.")
    if action == "invite":
        if first_invite:
            return _created(event, details)
        return [entry(event, "invited_again", "Invited again while the invitation was open (nothing sent)")]
    if action == "sent":
        return [_send_attempt(event, details, resend=False)]
    if action == "resent":
        return [_send_attempt(event, details, resend=True)]
    if action == "accepted":
        who = event.actor_email
        return [entry(event, "accepted", f"Accepted by {who}" if who else "Accepted")]
    if action == "revoked":
        if details.get("source") == "clerk" or not event.actor_email:
            return [entry(event, "revoked", "Revoked in Clerk")]
        return [entry(event, "revoked", f"Revoked by {event.actor_email}")]
    if action == "expired":
        return [entry(event, "expired", "Expired without being accepted")]
    if action == "link_shown":
        return [entry(event, "link_shown", f"Invite link shown to {event.actor_email or 'someone'}")]
    return []


def invitation_timeline(*, invitation: WorkspaceInvitation) -> list[TimelineEntry]:
    """Every step of ``invitation`` we know of, oldest first (one query)."""
    entries: list[TimelineEntry] = []
    first_invite = True
    for event in target_events(target_type=AUDIT_TARGET, target_id=invitation.pk):
        steps = _step(event, first_invite=first_invite)
        if event.action == f"{AUDIT_TARGET}.invite":
            first_invite = False
        entries.extend(steps)
    if not entries or entries[0].kind != "created":
        # Rows older than the audit trail (or made by a data migration): the row itself says who invited.
        entries.insert(
            0,
            TimelineEntry(
                at=invitation.created_at,
                kind="created",
                label=f"Invited as {invitation.role}",
                actor_email=invitation.inviter_email,
            ),
        )
    expired_by_time = invitation.status != InvitationStatus.EXPIRED and invitation.effective_status == "expired"
    if expired_by_time and not any(step.kind == "expired" for step in entries):
        entries.append(TimelineEntry(at=invitation.expires_at, kind="expired", label="Expired without being accepted"))
    return entries
