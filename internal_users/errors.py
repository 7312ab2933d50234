"""Errors of the staff services. Their ``code`` values are part of the API contract (DESIGN.md, "Errors")."""

from __future__ import annotations

from core.exceptions import Conflict, InvalidInput, NotFound, PermissionDenied


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


class InvitationNotPending(Conflict):
    code = "invitation_not_pending"
    default_message = "This invitation is no longer pending."


class SuperAdminOnly(PermissionDenied):
    code = "super_admin_required"
    default_message = "Only a super admin may assign the super admin role or act on a super admin."


class CannotActOnSelf(PermissionDenied):
    code = "cannot_act_on_self"
    default_message = "You cannot do this to your own account."


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
