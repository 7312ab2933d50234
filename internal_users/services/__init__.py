"""Writes for internal staff: invite, resend, revoke, grant a role, deactivate, reactivate, remove, expire, and
what Clerk tells us (acceptance, ``email.created``). The API, the pages and the tasks call these same functions,
imported from here.

One module per capability: ``inviting``, ``resend_revoke``, ``expiry``, ``invitation_email`` (our branded email),
``acceptance``, ``staff_users`` (deactivate, reactivate, remove, grant a role) and ``shared`` (checks, authorization
and audit details they all use).

Rules (docs/internal-user-invitations.md, docs/security.md; issue 5):

- ``internal_users:manage`` (super_admin, admin) for everything; ``internal_users:delete`` (super_admin) to remove;
  only a super_admin assigns the super_admin role or acts on a super_admin (invitation or user). Every check runs
  before any Clerk call.
- Nobody deactivates, removes or changes the role of themselves; the last active super_admin is never deactivated,
  demoted or removed.
- An invitation is a Clerk *application* invitation with ``notify=false``: we email Clerk's ``url`` ourselves, from a
  task after commit (``internal_users.tasks.send_invitation_email``), which reads the url back from Clerk so the
  ticket is never stored in our database or task queue. A failed send is recorded on the invitation
  (``email_status``), never loses it, and resend tries again.
- Local row first (the partial unique constraint decides races between two invites of one email), then Clerk,
  outside any transaction; a Clerk failure deletes the row (nothing orphaned) unless Clerk may have created the
  invitation without answering (a timeout), in which case we look it up and adopt it, or the row was revoked
  meanwhile (it stays revoked; the invite answers ``invitation_not_pending``).
- Clerk stays the source of truth for access: deactivate bans, reactivate unbans, remove deletes the Clerk user;
  our rows mirror the result at once (and again when the ``user.*`` webhooks arrive).

Every action writes one AuditEvent (``internal_invitation.*``, ``staff_user.*``) and a log line carrying the
request id and the actor's id. Invitation URLs and tickets are never stored or logged.
"""

from __future__ import annotations

from internal_users.services.acceptance import _accept_claim, invitation_accepted_from_clerk, register_role_claim
from internal_users.services.expiry import internal_invitations_expire
from internal_users.services.invitation_email import (
    EmailSendResult,
    _record_email,
    email_created_from_clerk,
    invitation_email_send,
)
from internal_users.services.inviting import internal_invite
from internal_users.services.resend_revoke import (
    RESENDABLE,
    REVOKE_ATTEMPTS,
    _check_invitation_action,
    internal_invitation_resend,
    internal_invitation_revoke,
)
from internal_users.services.shared import (
    ACCOUNT_EXISTS_CODES,
    AUDIT_INVITATION,
    AUDIT_USER,
    MAX_EMAIL_LENGTH,
    accept_url,
    email_link,
    normalize_email,
    staff_role,
)
from internal_users.services.staff_users import (
    staff_role_grant,
    staff_user_deactivate,
    staff_user_reactivate,
    staff_user_remove,
)

__all__ = [
    "ACCOUNT_EXISTS_CODES",
    "AUDIT_INVITATION",
    "AUDIT_USER",
    "MAX_EMAIL_LENGTH",
    "RESENDABLE",
    "REVOKE_ATTEMPTS",
    "EmailSendResult",
    "_accept_claim",
    "_check_invitation_action",
    "_record_email",
    "accept_url",
    "email_created_from_clerk",
    "email_link",
    "internal_invitation_resend",
    "internal_invitation_revoke",
    "internal_invitations_expire",
    "internal_invite",
    "invitation_accepted_from_clerk",
    "invitation_email_send",
    "normalize_email",
    "register_role_claim",
    "staff_role",
    "staff_role_grant",
    "staff_user_deactivate",
    "staff_user_reactivate",
    "staff_user_remove",
]
