"""Errors of the staff services, one class per refusal: views match these classes, never their codes.

Their ``code`` values are part of the API contract (docs/internal-user-invitations.md, "API").
"""

from __future__ import annotations

from core.exceptions import Conflict, InvalidInput, NotFound, PermissionDenied
from core.exceptions import InvitationNotPending as _NotPending


class InvalidStaffRole(InvalidInput):
    code = "invalid_role"
    default_message = "Choose a staff role: super_admin, admin or pm."


class AlreadyAUser(Conflict):
    """Clerk refuses application invitations for emails that already have an account: grant the role instead."""

    code = "already_a_user"
    default_message = (
        "This email already belongs to an account. Use “Grant staff role” to give that person a staff role."
    )


class AlreadyStaff(Conflict):
    code = "already_staff"
    default_message = "This person is already on the staff."


class AlreadyInvited(Conflict):
    code = "already_invited"
    default_message = "This email already has a pending staff invitation."


class InvitationNotPending(_NotPending):
    """Resend or revoke of a staff invitation that is no longer pending (accepted; or revoked, on resend)."""


class SuperAdminOnly(PermissionDenied):
    code = "super_admin_required"
    default_message = "Only a super admin may assign the super admin role or act on a super admin."


class CannotActOnSelf(PermissionDenied):
    code = "cannot_act_on_self"
    default_message = "You cannot do this to your own account."


class NoAccount(NotFound):
    """Granting a staff role to an email no account (ours or Clerk's) uses: invite them instead."""

    code = "no_account"
    default_message = "No account uses this email. Invite them instead."


class LastSuperAdmin(Conflict):
    code = "last_super_admin"
    default_message = "This is the last active super admin: promote someone else first."


class NotStaff(Conflict):
    code = "not_staff"
    default_message = "This person is not on the staff."


class InvalidStaffFilter(InvalidInput):
    code = "invalid_filter"
    default_message = "Unknown filter value."


class InvalidCursor(NotFound):
    """A page cursor that is not one of ours: 404, as DRF's cursor pagination answers (no such page)."""

    code = "invalid_cursor"
    default_message = "The page cursor is not valid; start again from the first page."
