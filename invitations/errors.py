"""Errors of the invitation services, one class per refusal: views match these classes, never their codes.

Their ``code`` values are part of the API contract (docs/workspace-invitations.md, "Errors").
"""

from __future__ import annotations

from core.exceptions import Conflict, InvalidInput
from core.exceptions import InvitationNotPending as _NotPending


class InvitationNotPending(_NotPending):
    """Resend or revoke of an invitation that is no longer open (accepted, expired, failed; or revoked, on resend)."""


class InvalidRole(InvalidInput):
    code = "invalid_role"
    default_message = "Choose a workspace role: admin or member."


class NoEmails(InvalidInput):
    code = "no_emails"
    default_message = "Enter at least one email address."


class TooManyEmails(InvalidInput):
    code = "too_many_emails"
    default_message = "Invite at most 100 email addresses at a time."


class InvalidStatusFilter(InvalidInput):
    code = "invalid_status"
    default_message = "Unknown invitation status."


class AlreadyMember(Conflict):
    """A resend found the invitee already in the workspace (they joined some other way in the meantime)."""

    code = "already_member"
    default_message = "This person is already a member of the workspace."
