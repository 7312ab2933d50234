"""The check step of an invite: what would happen to each address of a list, before anything is sent.

Typed addresses and CSV rows become the same ``InviteEntry`` list and go through the same rules as
``invitations.services.invitations_create``: normalized, validated, folded case-insensitively. Unlike the send, the
check reports every entry, duplicates included (with the line they repeat), so an admin sees why a list of 60
yields 57 invitations. It reads only: two queries (members, open invitations) whatever the list's length; no row is
written and Clerk is not called.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import User, Workspace, WorkspaceMembership
from accounts.roles import WorkspaceRole
from core.exceptions import PermissionDenied
from invitations.errors import NoEmails, TooManyEmails
from invitations.models import OPEN_STATUSES, WorkspaceInvitation
from invitations.selectors import can_invite
from invitations.services import MAX_EMAILS, MAX_RAW_EMAILS, _is_valid_email, _normalize, parse_email_list

# Results of the check (CheckedEntry.result). "valid" is the only one that would be sent.
VALID = "valid"
INVALID_EMAIL = "invalid_email"
INVALID_ROLE = "invalid_role"
DUPLICATE = "duplicate"
ALREADY_MEMBER = "already_member"
ALREADY_INVITED = "already_invited"
SENDABLE = frozenset({VALID})

_ROLE_WORDS = {
    "": None,
    "member": WorkspaceRole.MEMBER,
    "members": WorkspaceRole.MEMBER,
    "org:member": WorkspaceRole.MEMBER,
    "admin": WorkspaceRole.ADMIN,
    "admins": WorkspaceRole.ADMIN,
    "org:admin": WorkspaceRole.ADMIN,
}


@dataclass(frozen=True)
class InviteEntry:
    """One address to invite, as given: typed (no role of its own, no line) or a CSV row."""

    email: str
    role: str = ""  # "" → the dialog's (or request's) default role
    line: int | None = None


@dataclass(frozen=True)
class CheckedEntry:
    email: str  # normalized; as given for an invalid address
    role: str  # the workspace role it would get ("" when the given role is not one)
    result: str
    message: str
    line: int | None = None
    given_role: str = ""


def entries_from_text(text: str) -> list[InviteEntry]:
    return [InviteEntry(email=token) for token in parse_email_list(text)]


def resolve_role(given: str, default: str) -> str:
    """The workspace role of an entry: its own (admin, member, org:admin, ...) or the default; "" if unknown."""
    role = _ROLE_WORDS.get(given.strip().lower(), "") if given.strip() else default
    return str(role or "")


def _where(entry: InviteEntry) -> str:
    return f"on line {entry.line}" if entry.line is not None else "earlier in the list"


def invitations_check(
    *, workspace: Workspace, inviter: User, entries: Sequence[InviteEntry], default_role: str
) -> list[CheckedEntry]:
    """One ``CheckedEntry`` per entry, in order. Raises ``PermissionDenied``, ``NoEmails``, ``TooManyEmails``."""
    if not can_invite(user=inviter, workspace=workspace):
        raise PermissionDenied("You may not manage invitations of this workspace.")
    entries = [entry for entry in entries if entry.email.strip()]
    if not entries:
        raise NoEmails()
    if len(entries) > MAX_RAW_EMAILS:
        raise TooManyEmails(f"Invite at most {MAX_EMAILS} email addresses at a time.")
    normalized = [_normalize(entry.email.strip()) for entry in entries]
    valid = {email for email in normalized if _is_valid_email(email)}
    if len(valid) > MAX_EMAILS:
        raise TooManyEmails(f"Invite at most {MAX_EMAILS} email addresses at a time ({len(valid)} given).")
    members = set(
        WorkspaceMembership.objects.filter(workspace=workspace)
        .annotate(email_lower=Lower("user__email"))
        .filter(email_lower__in=valid)
        .values_list("email_lower", flat=True)
    )
    invited = set(
        WorkspaceInvitation.objects.filter(workspace=workspace, status__in=OPEN_STATUSES, expires_at__gt=timezone.now())
        .annotate(email_lower=Lower("email"))
        .filter(email_lower__in=valid)
        .values_list("email_lower", flat=True)
    )
    first_seen: dict[str, InviteEntry] = {}
    checked: list[CheckedEntry] = []
    for entry, email in zip(entries, normalized, strict=True):
        role = resolve_role(entry.role, default_role)

        def result(
            kind: str, message: str, *, shown: str = email, role: str = role, entry: InviteEntry = entry
        ) -> CheckedEntry:
            return CheckedEntry(shown, role, kind, message, entry.line, entry.role)

        if not _is_valid_email(email):
            checked.append(result(INVALID_EMAIL, "Not a valid email address.", shown=entry.email.strip()))
        elif email in first_seen:
            checked.append(result(DUPLICATE, f"Listed twice: first {_where(first_seen[email])}."))
        elif not role:
            first_seen[email] = entry
            checked.append(result(INVALID_ROLE, f"Unknown role “{entry.role}”: use admin or member."))
        elif email in members:
            first_seen[email] = entry
            checked.append(result(ALREADY_MEMBER, "Already a member of this workspace."))
        elif email in invited:
            first_seen[email] = entry
            checked.append(result(ALREADY_INVITED, "Already invited: an invitation is pending."))
        else:
            first_seen[email] = entry
            checked.append(result(VALID, "Ready to invite."))
    return checked


def check_summary(checked: Sequence[CheckedEntry]) -> dict[str, int]:
    counts = dict.fromkeys((VALID, INVALID_EMAIL, INVALID_ROLE, DUPLICATE, ALREADY_MEMBER, ALREADY_INVITED), 0)
    for entry in checked:
        counts[entry.result] += 1
    return counts
