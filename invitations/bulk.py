"""Many invitations in one action: send a checked list (typed or CSV), and resend or revoke a selection of the
pending list. Every Clerk budget call of these actions is in this module (``invitations.api.ratelimits``).

- **Send a list** (``invite_entries``): the check (``invitations.invite_check``) sorts the entries out; what is
  sendable goes through ``invitations_create`` (grouped by role, inside the global budget), everything else is
  reported as the check found it: invalid addresses or roles, duplicates within the list, members, open invitations.
- **Resend a selection**: ``invitation_resend`` per invitation (cooldown included), inside the global budget; at
  most ``MAX_BULK_RESEND`` at once, and once the budget or Clerk says stop, the rest are reported ``rate_limited``.
- **Revoke a selection** of up to ``MAX_BULK_REVOKE``: Clerk has no bulk revoke, so one Clerk call per invitation
  with a Clerk id, ``BULK_CHUNK`` at a time (``BULK_CONCURRENCY`` in flight); then one transaction revokes every
  confirmed row with one UPDATE and one audit INSERT. The SQL is the same for 5 invitations as for 500. Rows Clerk
  reports as no longer pending, or that Clerk may hold without our knowing, take the one-by-one
  ``invitation_revoke`` (it records an acceptance). A 429 stops the chunks not yet sent.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from django.db import transaction
from django.utils import timezone

from accounts import clerk
from accounts.models import User, Workspace
from core.audit import audit_event, audit_many
from core.exceptions import ApplicationError, InvalidInput, NotAuthenticated, NotFound, PermissionDenied, RateLimited
from core.request_id import current_request_id
from invitations import invite_check, services
from invitations.cooldown import ResendTooSoon
from invitations.errors import InvitationNotPending
from invitations.invite_check import CheckedEntry, InviteEntry
from invitations.models import OPEN_STATUSES, InvitationStatus, WorkspaceInvitation
from invitations.pending import pending_matching
from invitations.services import InviteResult

logger = logging.getLogger(__name__)

MAX_BULK_REVOKE = 500
MAX_BULK_RESEND = 100
BULK_CHUNK = 10
BULK_CONCURRENCY = 5

BulkAction = Literal["resend", "revoke"]
NOT_PER_ROW = (NotAuthenticated, PermissionDenied, NotFound)


class TooManySelected(InvalidInput):
    code = "too_many_selected"
    default_message = "Too many invitations selected for one action."


class NothingSelected(InvalidInput):
    code = "nothing_selected"
    default_message = "Select at least one pending invitation."


# --------------------------------------------------------------------------- send a checked list
def _from_check(entry: CheckedEntry) -> InviteResult:
    return InviteResult(entry.email, entry.result, entry.message)


def invite_entries(
    *,
    workspace: Workspace,
    inviter: User,
    entries: Sequence[InviteEntry],
    default_role: str,
) -> list[InviteResult]:
    """One result per entry, in order (duplicates and unknown roles included); only sendable entries reach Clerk."""
    checked = invite_check.invitations_check(
        workspace=workspace, inviter=inviter, entries=entries, default_role=default_role
    )
    by_role: dict[str, list[str]] = {}
    for entry in checked:
        if entry.result in invite_check.SENDABLE:
            by_role.setdefault(entry.role, []).append(entry.email)
    sent: dict[str, InviteResult] = {}
    for role, emails in by_role.items():
        for result in services.invitations_create(workspace=workspace, inviter=inviter, emails=emails, role=role):
            sent[result.email] = result
    return [
        sent.get(entry.email, _from_check(entry)) if entry.result in invite_check.SENDABLE else _from_check(entry)
        for entry in checked
    ]


# --------------------------------------------------------------------------- selections of the pending list
@dataclass(frozen=True)
class BulkResult:
    invitation_id: int
    email: str
    result: str  # "resent" | "revoked" | "cooldown" | "rate_limited" | "not_pending" | "failed"
    message: str = ""
    code: str = ""
    retry_after: int | None = None


def bulk_targets(
    *, workspace: Workspace, ids: Sequence[int] | None = None, query: str | None = None, limit: int
) -> list[WorkspaceInvitation]:
    """The open invitations a bulk action acts on: the given ids, or every one matching the search ``query``.

    Ids of another workspace, or no longer open, are simply not among them (all of them: an empty list, nothing
    to do). ``NothingSelected`` for an empty ``ids``; ``TooManySelected`` over ``limit``.
    """
    rows = pending_matching(workspace=workspace, query=query or "")
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    found = list(rows.select_related("workspace")[: limit + 1])
    if len(found) > limit:
        raise TooManySelected(
            f"More than {limit} invitations match: narrow the search or select fewer.", extra={"limit": limit}
        )
    if not found and ids is not None and not ids:
        raise NothingSelected()  # no selection at all; a selection that matches no open invitation is just empty
    return found


def _failure(row: WorkspaceInvitation, exc: ApplicationError) -> BulkResult:
    if isinstance(exc, InvitationNotPending):
        return BulkResult(row.pk, row.email, "not_pending", exc.message, exc.code)
    if isinstance(exc, RateLimited):
        kind = "cooldown" if isinstance(exc, ResendTooSoon) else "rate_limited"
        return BulkResult(row.pk, row.email, kind, exc.message, exc.code, exc.retry_after)
    return BulkResult(row.pk, row.email, "failed", exc.message, exc.code)


def invitations_bulk_resend(
    *, workspace: Workspace, actor: User, rows: Sequence[WorkspaceInvitation]
) -> list[BulkResult]:
    results: list[BulkResult] = []
    stopped: RateLimited | None = None
    for row in rows:
        if stopped is not None:
            results.append(_failure(row, stopped))
            continue
        try:
            services.invitation_resend(invitation=row, actor=actor)
        except NOT_PER_ROW:
            raise
        except ApplicationError as exc:
            if isinstance(exc, RateLimited) and not isinstance(exc, ResendTooSoon):
                stopped = exc  # the budget or Clerk said stop: asking again for the next rows only makes it worse
            results.append(_failure(row, exc))
        else:
            results.append(BulkResult(row.pk, row.email, "resent", "Sent again."))
    return results


@dataclass(frozen=True)
class _ClerkRevoke:
    row: WorkspaceInvitation
    outcome: Literal["revoked", "one_by_one", "rate_limited", "failed"]
    error: ApplicationError | None = None


def _revoke_one_in_clerk(row: WorkspaceInvitation, requesting_user_id: str | None) -> _ClerkRevoke:
    """In a worker thread: talks to Clerk only, never to the database."""
    try:
        clerk.revoke_organization_invitation(
            row.workspace.clerk_organization_id, row.clerk_invitation_id or "", requesting_user_id=requesting_user_id
        )
    except clerk.ClerkNotFound:
        return _ClerkRevoke(row, "revoked")
    except clerk.ClerkRateLimited as exc:
        return _ClerkRevoke(row, "rate_limited", exc)
    except clerk.ClerkRejected as exc:
        if exc.clerk_code == "organization_invitation_not_pending":
            return _ClerkRevoke(row, "one_by_one")
        return _ClerkRevoke(row, "failed", exc)
    except clerk.ClerkError as exc:
        return _ClerkRevoke(row, "failed", exc)
    return _ClerkRevoke(row, "revoked")


def _revoke_in_clerk(rows: list[WorkspaceInvitation], requesting_user_id: str | None) -> list[_ClerkRevoke]:
    answers: list[_ClerkRevoke] = []
    with ThreadPoolExecutor(max_workers=BULK_CONCURRENCY) as pool:
        for start in range(0, len(rows), BULK_CHUNK):
            chunk = rows[start : start + BULK_CHUNK]
            futures = [
                pool.submit(contextvars.copy_context().run, _revoke_one_in_clerk, row, requesting_user_id)
                for row in chunk
            ]
            answers.extend(future.result() for future in futures)
            limited = next((a.error for a in answers if a.outcome == "rate_limited"), None)
            if limited is not None:  # Clerk's caps are per instance: stop, the rest would be refused too
                answers.extend(_ClerkRevoke(row, "rate_limited", limited) for row in rows[start + BULK_CHUNK :])
                break
    return answers


def invitations_bulk_revoke(
    *, workspace: Workspace, actor: User, rows: Sequence[WorkspaceInvitation]
) -> list[BulkResult]:
    services._require_invite_permission(user=actor, workspace=workspace)
    requesting_user_id = actor.clerk_user_id if services._is_org_admin(user=actor, workspace=workspace) else None
    in_clerk = [row for row in rows if row.clerk_invitation_id]
    # Queued rows Clerk never answered may exist in Clerk after all: the one-by-one path looks them up first.
    one_by_one = [
        row
        for row in rows
        if not row.clerk_invitation_id and services._reason_code(row.failure_reason) == services.REASON_NO_RESPONSE
    ]
    local_only = [row for row in rows if not row.clerk_invitation_id and row not in one_by_one]
    answers = _revoke_in_clerk(in_clerk, requesting_user_id)
    confirmed = [a.row for a in answers if a.outcome == "revoked"] + local_only
    one_by_one += [a.row for a in answers if a.outcome == "one_by_one"]

    results: dict[int, BulkResult] = {}
    for answer in answers:
        if answer.outcome in ("rate_limited", "failed") and answer.error is not None:
            results[answer.row.pk] = _failure(answer.row, answer.error)
    now = timezone.now()
    with transaction.atomic():
        ids = [row.pk for row in confirmed]
        locked = list(
            WorkspaceInvitation.objects.select_for_update(of=("self",))
            .filter(pk__in=ids)
            .only("pk", "email", "role", "status", "workspace_id", "inviter_id", "clerk_invitation_id")
        )
        still_open = [row for row in locked if row.status in OPEN_STATUSES]
        WorkspaceInvitation.objects.filter(pk__in=[row.pk for row in still_open]).update(
            status=InvitationStatus.REVOKED,
            revoked_at=now,
            revoked_by=actor,
            revoked_by_email=actor.email or "",
            retry_at=None,
            updated_at=now,
        )
        events = []
        for row in still_open:
            row.status = InvitationStatus.REVOKED
            events.append(
                audit_event(
                    "workspace_invitation.revoked",
                    actor=actor,
                    target_type=services.AUDIT_TARGET,
                    target_id=row.pk,
                    details=services._invitation_details(row, result="revoked", bulk=True),
                )
            )
        audit_many(events)
    for row in locked:
        if row.status == InvitationStatus.REVOKED:
            results[row.pk] = BulkResult(row.pk, row.email, "revoked", "Revoked.")
        else:
            results[row.pk] = BulkResult(row.pk, row.email, "not_pending", f"This invitation is {row.status}.")
    for row in one_by_one:
        try:
            services.invitation_revoke(invitation=row, actor=actor)
        except NOT_PER_ROW:
            raise
        except ApplicationError as exc:
            results[row.pk] = _failure(row, exc)
        else:
            results[row.pk] = BulkResult(row.pk, row.email, "revoked", "Revoked.")
    logger.info(
        "workspace %s: %s invitations revoked in bulk by user %s (request %s)",
        workspace.pk,
        sum(1 for r in results.values() if r.result == "revoked"),
        actor.pk,
        current_request_id() or "-",
        extra={"actor_id": actor.pk, "action": "workspace_invitation.bulk_revoked"},
    )
    return [results.get(row.pk) or BulkResult(row.pk, row.email, "not_pending", "No longer pending.") for row in rows]


def invitations_bulk(
    *,
    workspace: Workspace,
    actor: User,
    action: BulkAction,
    ids: Sequence[int] | None = None,
    query: str | None = None,
) -> list[BulkResult]:
    """Resend or revoke the selected (``ids``) or all matching (``query``) open invitations; one result each."""
    services._require_invite_permission(user=actor, workspace=workspace)
    limit = MAX_BULK_RESEND if action == "resend" else MAX_BULK_REVOKE
    rows = bulk_targets(workspace=workspace, ids=ids, query=query, limit=limit)
    if action == "resend":
        return invitations_bulk_resend(workspace=workspace, actor=actor, rows=rows)
    return invitations_bulk_revoke(workspace=workspace, actor=actor, rows=rows)


def bulk_summary(results: Sequence[BulkResult]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for result in results:
        counts[result.result] = counts.get(result.result, 0) + 1
    return counts
