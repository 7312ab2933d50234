"""Writes for workspace invitations: invite many, resend, revoke, expire, send what was queued, and apply what Clerk's
webhooks report. The API and the pages call these same functions.

How an invitation is made (issue 4, DESIGN.md "Clerk integration rules", reliability.md §A2):

1. **Local rows first.** In one short transaction we mark stale open rows expired, sort out members and open
   invitations (no Clerk call for those), and insert a ``queued`` row per new email. The partial unique constraint
   (one open invitation per workspace and lower(email)) decides races: of 20 concurrent invites of one address, one
   insert wins and only that request calls Clerk; the others answer ``already_invited``. A queued row's ``retry_at``
   is a lease: nobody else sends it before then (after a crash, ``send_queued_invitations`` picks it up).
2. **Clerk, outside any transaction.** Bulk calls of at most 10, up to ``CLERK_CONCURRENCY`` at once, in worker
   threads that never touch the database. Clerk's bulk call is all-or-nothing, so a rejection is narrowed down:
   emails Clerk names (in its message, or through a user id we know) are classified and the rest is re-sent;
   ``organization_invitation_not_unique`` looks the pending invitations up by email and adopts them; anything else
   is split in halves until the offender is alone. A 429 stops every chunk not yet sent (Clerk's caps are per
   instance): those rows stay ``queued`` with ``retry_at = now + Retry-After``. A timeout is ambiguous (Clerk may
   have created the invitations): we look each email up (``status=pending``) and adopt what we find before
   re-sending the rest, once.
3. **Apply the outcome** in one transaction: ``pending`` with Clerk's id and expiry, ``failed`` with Clerk's code,
   ``queued`` for later. Rows a webhook or an admin changed meanwhile are left alone (an invitation created for a
   row revoked meanwhile is revoked in Clerk again).

Clerk unavailable: a chunk Clerk answered with 5xx created nothing (all-or-nothing), so its rows are deleted; a chunk
that got no answer even after the read-and-retry keeps its rows ``queued`` (marked ``clerk_no_response``) so
``send_queued_invitations`` looks them up before sending: nothing is orphaned either way. When no email got an
answer from Clerk, the gateway's error propagates (503/502); otherwise those emails are reported per email.

Queued rows are sent by ``invitations_send_queued`` (the ``send_queued_invitations`` command and task). After a 429
we enqueue that task with ``run_after = retry_at`` when the task backend can defer (django-tasks-db in production);
the immediate backend (dev, tests) runs it at once, where it finds nothing due and leaves the rows to the periodic
command (cron every minute). Running it early is therefore harmless by design.

Every action writes one AuditEvent per invitation (``workspace_invitation.*``) and a log line carrying the request id
(added by the logging filter) and the inviter's id. Invitation URLs and tickets are never stored or logged.
"""

from __future__ import annotations

import contextvars
import logging
import math
import random
import re
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils import timezone

from accounts import clerk
from accounts.clerk_types import ClerkOrganizationInvitation, clerk_time
from accounts.models import User, Workspace, WorkspaceMembership
from accounts.roles import CLERK_ORG_ROLES, WORKSPACE_ROLE_FROM_CLERK, WorkspaceRole
from accounts.services import ClerkDataStale, user_upsert_from_clerk
from accounts.webhooks import deleted_in_clerk
from core.audit import audit, audit_event, audit_many
from core.budgets import reserve_invite, reserve_resend, spending
from core.emails import normalize_email_or_none
from core.exceptions import PermissionDenied
from core.jobs import task_named
from core.models import AuditEvent
from core.request_id import current_request_id
from invitations.cooldown import check_resend_cooldown
from invitations.errors import AlreadyMember, InvalidRole, InvitationNotPending, NoEmails, TooManyEmails
from invitations.models import OPEN_STATUSES, InvitationStatus, WorkspaceInvitation
from invitations.selectors import can_invite

logger = logging.getLogger(__name__)

MAX_EMAILS = 100
# Raw entries accepted before folding (a pasted list with many duplicates is fine; megabytes of them are not).
MAX_RAW_EMAILS = 1000
MAX_EMAIL_LENGTH = 320
# Bulk calls to Clerk in flight at once for one request (a small bound: Clerk allows 50 bulk calls an hour).
CLERK_CONCURRENCY = 5
# How long a queued row belongs to whoever is sending it; after that `send_queued_invitations` may take it over.
SEND_LEASE = timedelta(minutes=5)
# Background retries after Clerk failed: capped and jittered, growing with how long the invitation has waited.
RETRY_BACKOFF_MIN_S = 60
RETRY_BACKOFF_MAX_S = 3600
SEND_QUEUED_BATCH = 500
# A revoke that finds a new Clerk link under the row lock (a resend finished meanwhile) revokes that one too, at most
# this many times.
REVOKE_ATTEMPTS = 3

# Results of invitations_create (InviteResult.result).
INVITED = "invited"
ALREADY_MEMBER = "already_member"
ALREADY_INVITED = "already_invited"
INVALID_EMAIL = "invalid_email"
# Valid addresses that never reached Clerk as a new invitation: their reserved unit is given back. Queued ones stay
# counted: Clerk already pushed back, and the background sender will spend them.
_UNSENT_RESULTS = frozenset({ALREADY_MEMBER, ALREADY_INVITED})
QUEUED = "queued"
FAILED = "failed"
# Revoked (by an admin or in Clerk) while Clerk was being asked: whatever Clerk answered no longer applies.
REVOKED = "revoked"

# Codes kept in `failure_reason` ("<code>: <text>"); NO_RESPONSE marks rows Clerk may hold without our knowing.
REASON_RATE_LIMITED = "rate_limited"
REASON_NO_RESPONSE = "clerk_no_response"
REASON_UNAVAILABLE = "clerk_unavailable"

AUDIT_TARGET = "workspace_invitation"
_SEPARATORS = re.compile(r"[\s,;]+")
# Email addresses inside an error message (Clerk names the offending addresses in some bulk errors).
_EMAIL_TOKENS = re.compile(r"[^\s,;:'\"<>()\[\]]+@[^\s,;:'\"<>()\[\]]+")


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class InviteResult:
    email: str  # normalized (lowercased, stripped); the raw text for invalid_email
    result: str  # "invited" | "already_member" | "already_invited" | "invalid_email" | "queued" | "failed" | "revoked"
    message: str  # a sentence for the UI
    invitation: WorkspaceInvitation | None = None
    code: str = ""  # Clerk's error code for "failed"


# --------------------------------------------------------------------------- small helpers
def parse_email_list(text: str) -> list[str]:
    """Addresses from a textarea: separated by commas, semicolons, spaces or newlines (``<a@b.c>`` unwrapped).

    Returns the raw tokens; ``invitations_create`` normalizes, folds duplicates and validates them.
    """
    tokens = (token.strip().strip("<>").strip() for token in _SEPARATORS.split(text or ""))
    return [token for token in tokens if token]


def _normalize(email: str) -> str:
    """``core.emails.normalize_email``; an address it refuses stays as typed (lowercased), to be reported invalid."""
    return normalize_email_or_none(email) or email.strip().lower()


def _is_valid_email(email: str) -> bool:
    return normalize_email_or_none(email) == email


def _reason(code: str, text: str = "") -> str:
    return (f"{code}: {text}" if text else code)[:300]


def _reason_code(reason: str) -> str:
    return reason.split(":", 1)[0].strip()


def _expiry(now: datetime) -> datetime:
    return now + timedelta(days=settings.INVITATION_EXPIRY_DAYS)


def _redirect_url() -> str:
    return f"{settings.APP_BASE_URL}/accept-invite/"


def _retry_backoff(row: WorkspaceInvitation, now: datetime) -> timedelta:
    """Capped, jittered delay before the next background attempt; longer the longer the invitation has waited."""
    waited = (now - (row.last_sent_at or row.created_at or now)).total_seconds()
    base = min(RETRY_BACKOFF_MAX_S, max(RETRY_BACKOFF_MIN_S, waited / 4))
    return timedelta(seconds=base * random.uniform(0.8, 1.2))  # noqa: S311 (jitter, not cryptography)


def _require_invite_permission(*, user: User, workspace: Workspace) -> None:
    if not can_invite(user=user, workspace=workspace):
        raise PermissionDenied("You may not manage invitations of this workspace.")


def _workspace_role(role: str) -> WorkspaceRole:
    if role not in WorkspaceRole.values:
        raise InvalidRole(f"{role!r} is not a workspace role: use admin or member.")
    return WorkspaceRole(role)


def _is_org_admin(*, user: User | None, workspace: Workspace) -> bool:
    """Clerk accepts ``inviter_user_id``/``requesting_user_id`` only for an admin of that organization."""
    if user is None or not user.clerk_user_id:
        return False
    return WorkspaceMembership.objects.filter(workspace=workspace, user=user, role=WorkspaceRole.ADMIN).exists()


def _audit_event(
    action: str,
    *,
    actor: User | None,
    target_id: int | str,
    details: dict[str, Any],
    outcome: str = AuditEvent.Outcome.SUCCESS,
    request: HttpRequest | None = None,
) -> AuditEvent:
    return audit_event(
        action,
        actor=actor,
        target_type=AUDIT_TARGET,
        target_id=target_id,
        outcome=outcome,
        details=details,
        request=request,
    )


def _invitation_details(row: WorkspaceInvitation, **more: Any) -> dict[str, Any]:
    details: dict[str, Any] = {
        "email": row.email,
        "role": row.role,
        "workspace_id": row.workspace_id,
        "inviter_id": row.inviter_id,
        "status": row.status,
        "clerk_invitation_id": row.clerk_invitation_id or "",
    }
    details.update(more)
    return details


# --------------------------------------------------------------------------- talking to Clerk (worker threads)
@dataclass(frozen=True)
class _Entry:
    """One invitation to send: what a worker thread needs, no model instance (threads never touch the database)."""

    invitation_id: int
    email: str
    role: str
    inviter_user_id: str | None = None
    # Clerk may already hold it (an earlier attempt got no answer): look it up before sending.
    check_first: bool = False


OutcomeKind = Literal["created", "adopted", "member", "rejected", "rate_limited", "unavailable", "no_response"]


@dataclass(frozen=True)
class _Outcome:
    """What Clerk said about one entry. ``created``: sent now (or found after our own timed-out send);
    ``adopted``: Clerk already had a pending invitation for that address; ``no_response``: we cannot tell."""

    kind: OutcomeKind
    invitation: ClerkOrganizationInvitation | None = None
    code: str = ""
    message: str = ""
    retry_after: int = 0
    error: clerk.ClerkError | None = None


class _RateLimitGate:
    """Shared by the chunks of one run: after a 429, chunks not yet sent are not sent (Clerk's caps are global)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.retry_after: int | None = None

    def trip(self, seconds: int) -> None:
        with self._lock:
            self.retry_after = max(self.retry_after or 0, seconds)

    @property
    def tripped(self) -> bool:
        return self.retry_after is not None


class _ChunkSender:
    """Sends one chunk (≤ 10 entries of one organization) through the bulk endpoint and isolates rejections."""

    def __init__(
        self,
        *,
        organization_id: str,
        entries: list[_Entry],
        gate: _RateLimitGate,
        emails_by_clerk_user_id: dict[str, str | None],
    ) -> None:
        self.organization_id = organization_id
        self.entries = entries
        self.gate = gate
        self.emails_by_clerk_user_id = emails_by_clerk_user_id
        self.outcomes: dict[str, _Outcome] = {}
        # Emails a request of ours may have created without our hearing back: a pending invitation found for
        # one of them is ours ("created"), not someone else's ("adopted").
        self.maybe_sent = {entry.email for entry in entries if entry.check_first}
        self.reread_after_timeout = False
        self.drop_inviter = False

    # -- the run ---------------------------------------------------------------------------------------------
    def run(self) -> dict[int, _Outcome]:
        to_check = [entry for entry in self.entries if entry.check_first]
        if to_check and not self._adopt_pending(to_check):
            self._set(self._open(to_check), _Outcome("no_response", code=REASON_NO_RESPONSE))
        stack = [self.entries]
        while stack:
            batch = self._open(stack.pop())
            if batch:
                stack.extend(self._send(batch))
        missing = _Outcome("no_response", code=REASON_NO_RESPONSE)
        return {entry.invitation_id: self.outcomes.get(entry.email, missing) for entry in self.entries}

    def _send(self, batch: list[_Entry]) -> list[list[_Entry]]:
        """Send ``batch``; return the sub-batches still to send."""
        if self.gate.tripped:
            self._set(batch, _Outcome("rate_limited", code=REASON_RATE_LIMITED, retry_after=self.gate.retry_after or 0))
            return []
        try:
            created = clerk.bulk_create_organization_invitations(
                self.organization_id, [self._payload(entry) for entry in batch]
            )
        except clerk.ClerkRateLimited as exc:
            self.gate.trip(exc.retry_after)
            self._set(batch, _Outcome("rate_limited", code=REASON_RATE_LIMITED, retry_after=exc.retry_after))
            return []
        except clerk.ClerkUnavailable as exc:
            return self._unavailable(batch, exc)
        except clerk.ClerkRejected as exc:
            return self._isolate(batch, exc)
        except clerk.ClerkError as exc:  # not found (organization gone), our key refused: nothing was created
            self._set(batch, _Outcome("unavailable", code=exc.code, message=exc.message, error=exc))
            return []
        by_email = {invitation.email: invitation for invitation in created}
        for entry in batch:
            found = by_email.get(entry.email)
            self.outcomes[entry.email] = (
                _Outcome("created", invitation=found)
                if found is not None
                else _Outcome("no_response", code=REASON_NO_RESPONSE)
            )
        return []

    def _unavailable(self, batch: list[_Entry], exc: clerk.ClerkUnavailable) -> list[list[_Entry]]:
        if exc.status is not None:
            # Clerk answered (5xx): its bulk call is all-or-nothing, so nothing was created.
            self._set(batch, _Outcome("unavailable", code=exc.code, message=exc.message, error=exc))
            return []
        # No answer (timeout, connection lost): Clerk may have created them. Read before re-sending, once.
        self.maybe_sent.update(entry.email for entry in batch)
        if self.reread_after_timeout:
            self._set(batch, _Outcome("no_response", code=REASON_NO_RESPONSE, message=exc.message, error=exc))
            return []
        self.reread_after_timeout = True
        if not self._adopt_pending(batch):
            self._set(
                self._open(batch), _Outcome("no_response", code=REASON_NO_RESPONSE, message=exc.message, error=exc)
            )
            return []
        return [batch]

    def _isolate(self, batch: list[_Entry], exc: clerk.ClerkRejected) -> list[list[_Entry]]:
        """One rejected email sinks the whole bulk call: find it, classify it, re-send the others."""
        code = exc.clerk_code
        if code == "not_an_admin_in_organization" and not self.drop_inviter:
            # Our membership mirror said "admin", Clerk disagrees: send without naming the inviter.
            self.drop_inviter = True
            return [batch]
        if code == "organization_invitation_not_unique":
            if not self._adopt_pending(batch):
                self._set(self._open(batch), _Outcome("unavailable", code=REASON_UNAVAILABLE, message=exc.message))
                return []
            rest = self._open(batch)
            if len(rest) < len(batch):
                return [rest]
        named = self._named_in(exc, batch)
        if named:
            for entry in named:
                self._classify(entry, exc)
            return [self._open(batch)]
        if len(batch) == 1:
            self._classify(batch[0], exc)
            return []
        middle = len(batch) // 2
        return [batch[middle:], batch[:middle]]  # the first half is popped first

    def _named_in(self, exc: clerk.ClerkRejected, batch: list[_Entry]) -> list[_Entry]:
        """Entries Clerk's error names: by email in its message, or by a user id whose email we know."""
        text = exc.message.lower()
        named_emails = {token.rstrip(".") for token in _EMAIL_TOKENS.findall(text)}
        for clerk_user_id, email in self.emails_by_clerk_user_id.items():
            if email and re.search(rf"\b{re.escape(clerk_user_id.lower())}\b", text):
                named_emails.add(email)
        return [entry for entry in batch if entry.email in named_emails]

    def _classify(self, entry: _Entry, exc: clerk.ClerkRejected) -> None:
        if exc.clerk_code == "already_a_member_in_organization":
            self.outcomes[entry.email] = _Outcome("member", code=exc.clerk_code, message=exc.message)
            return
        adopted = exc.clerk_code == "organization_invitation_not_unique" and self._adopt_pending([entry])
        if adopted and entry.email in self.outcomes:
            return
        self.outcomes[entry.email] = _Outcome("rejected", code=exc.clerk_code or exc.code, message=exc.message)

    def _adopt_pending(self, batch: list[_Entry]) -> bool:
        """Look each email up among Clerk's pending invitations and adopt what exists; False if Clerk can't say."""
        for entry in batch:
            if entry.email in self.outcomes:
                continue
            try:
                found = clerk.list_organization_invitations(
                    self.organization_id, status="pending", email_address=entry.email, limit=1
                )
            except clerk.ClerkError:
                return False
            if found:
                kind: OutcomeKind = "created" if entry.email in self.maybe_sent else "adopted"
                self.outcomes[entry.email] = _Outcome(kind, invitation=found[0])
        return True

    # -- helpers ---------------------------------------------------------------------------------------------
    def _payload(self, entry: _Entry) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "email_address": entry.email,
            "role": CLERK_ORG_ROLES[WorkspaceRole(entry.role)],
            "redirect_url": _redirect_url(),
            "expires_in_days": settings.INVITATION_EXPIRY_DAYS,
            "notify": True,  # Clerk sends its own invitation email
        }
        if entry.inviter_user_id and not self.drop_inviter:
            payload["inviter_user_id"] = entry.inviter_user_id
        return payload

    def _open(self, batch: list[_Entry]) -> list[_Entry]:
        return [entry for entry in batch if entry.email not in self.outcomes]

    def _set(self, batch: list[_Entry], outcome: _Outcome) -> None:
        for entry in batch:
            self.outcomes.setdefault(entry.email, outcome)


def _send_to_clerk(
    groups: dict[str, list[_Entry]], *, emails_by_clerk_user_id: dict[str, str | None]
) -> tuple[dict[int, _Outcome], _RateLimitGate]:
    """Send every entry (grouped by Clerk organization id) in chunks of ≤ 10, ``CLERK_CONCURRENCY`` at a time.

    Worker threads only talk to Clerk; each runs in a copy of the caller's context (request id in log lines).
    """
    gate = _RateLimitGate()
    senders = [
        _ChunkSender(
            organization_id=organization_id,
            entries=entries[start : start + clerk.BULK_INVITATIONS_LIMIT],
            gate=gate,
            emails_by_clerk_user_id=emails_by_clerk_user_id,
        )
        for organization_id, entries in groups.items()
        for start in range(0, len(entries), clerk.BULK_INVITATIONS_LIMIT)
    ]
    outcomes: dict[int, _Outcome] = {}
    if len(senders) <= 1:
        for sender in senders:
            outcomes.update(sender.run())
        return outcomes, gate
    with ThreadPoolExecutor(max_workers=min(CLERK_CONCURRENCY, len(senders)), thread_name_prefix="clerk") as pool:
        futures = [pool.submit(contextvars.copy_context().run, sender.run) for sender in senders]
        for future in futures:
            outcomes.update(future.result())
    return outcomes, gate


# --------------------------------------------------------------------------- applying Clerk's answers
ApplyMode = Literal["create", "retry"]


@dataclass
class _Applied:
    row: WorkspaceInvitation | None  # None: the row was deleted (never became an invitation)
    outcome: _Outcome
    changed: bool = True  # False: someone else (webhook, admin) moved the row meanwhile; left as it was


@dataclass
class _ApplyReport:
    applied: dict[int, _Applied] = field(default_factory=dict)
    next_retry_at: datetime | None = None  # earliest retry_at set for a 429
    to_revoke: list[tuple[str, str]] = field(default_factory=list)  # (organization id, Clerk invitation id)


_UPDATE_FIELDS = [
    "status",
    "role",
    "clerk_invitation_id",
    "expires_at",
    "last_sent_at",
    "send_count",
    "failure_reason",
    "retry_at",
    "updated_at",
]


def _apply_outcomes(outcomes: dict[int, _Outcome], *, mode: ApplyMode, now: datetime) -> _ApplyReport:
    """Write Clerk's answers in one transaction (constant number of queries, whatever the number of rows).

    ``create``: rows of emails that never became an invitation (already a member in Clerk, Clerk answered 5xx)
    are deleted. ``retry`` (queued rows, resends): such rows stay and are retried later, or end ``failed``.
    """
    report = _ApplyReport()
    with transaction.atomic():
        rows = {
            row.pk: row
            for row in WorkspaceInvitation.objects.select_for_update(of=("self",))
            .filter(pk__in=list(outcomes))
            .select_related("workspace")
        }
        to_update: list[WorkspaceInvitation] = []
        to_delete: list[int] = []
        for pk, outcome in outcomes.items():
            row = rows.get(pk)
            clerk_invitation = outcome.invitation
            if row is None or row.status != InvitationStatus.QUEUED:
                # Gone, or a webhook/admin moved it meanwhile: theirs is the newer truth. An invitation we just
                # created for a row revoked or expired meanwhile would be a live link nobody tracks: revoke it.
                if clerk_invitation is not None and outcome.kind == "created":
                    if row is None or row.status in (
                        InvitationStatus.REVOKED,
                        InvitationStatus.EXPIRED,
                        InvitationStatus.FAILED,
                    ):
                        report.to_revoke.append((clerk_invitation.organization_id, clerk_invitation.id))
                    elif row.clerk_invitation_id is None:
                        row.clerk_invitation_id = clerk_invitation.id
                        row.updated_at = now
                        to_update.append(row)
                report.applied[pk] = _Applied(row=row, outcome=outcome, changed=False)
                continue
            row.updated_at = now
            if outcome.kind in ("created", "adopted") and clerk_invitation is not None:
                row.status = InvitationStatus.PENDING
                row.clerk_invitation_id = clerk_invitation.id
                row.role = WORKSPACE_ROLE_FROM_CLERK.get(clerk_invitation.role, WorkspaceRole(row.role))
                row.expires_at = clerk_time(clerk_invitation.expires_at) or _expiry(now)
                row.retry_at = None
                row.failure_reason = ""
                if outcome.kind == "created":
                    row.last_sent_at = now
                    row.send_count += 1
                else:
                    row.last_sent_at = clerk_time(clerk_invitation.created_at) or now
            elif outcome.kind == "rate_limited":
                row.retry_at = now + timedelta(seconds=max(1, outcome.retry_after))
                row.failure_reason = _reason(REASON_RATE_LIMITED, f"Clerk asked us to wait {outcome.retry_after} s")
                if report.next_retry_at is None or row.retry_at < report.next_retry_at:
                    report.next_retry_at = row.retry_at
            elif outcome.kind == "no_response":
                row.retry_at = now + _retry_backoff(row, now)
                row.failure_reason = _reason(REASON_NO_RESPONSE, "Clerk did not answer; checked before re-sending")
            elif outcome.kind == "unavailable" and mode == "create":
                to_delete.append(pk)
                report.applied[pk] = _Applied(row=None, outcome=outcome)
                continue
            elif outcome.kind == "unavailable":
                row.retry_at = now + _retry_backoff(row, now)
                row.failure_reason = _reason(REASON_UNAVAILABLE, f"{outcome.code}: {outcome.message}")
            elif outcome.kind == "member" and mode == "create":
                to_delete.append(pk)
                report.applied[pk] = _Applied(row=None, outcome=outcome)
                continue
            else:  # rejected, or (retry) a member by now
                row.status = InvitationStatus.FAILED
                row.retry_at = None
                row.failure_reason = _reason(outcome.code, outcome.message)
            to_update.append(row)
            report.applied[pk] = _Applied(row=row, outcome=outcome)
        if to_update:
            WorkspaceInvitation.objects.bulk_update(to_update, _UPDATE_FIELDS)
        if to_delete:
            WorkspaceInvitation.objects.filter(pk__in=to_delete).delete()
    return report


def _after_apply(report: _ApplyReport) -> None:
    """Side effects once the rows are written: stray Clerk invitations revoked, the queued sender scheduled."""
    for organization_id, clerk_invitation_id in report.to_revoke:
        try:
            clerk.revoke_organization_invitation(organization_id, clerk_invitation_id)
        except clerk.ClerkError as exc:  # best effort: Clerk expires it anyway; the drift is logged
            logger.warning("could not revoke stray Clerk invitation %s: %s", clerk_invitation_id, exc.code)
    if report.next_retry_at is not None:
        schedule_queued_send(at=report.next_retry_at)


def schedule_queued_send(*, at: datetime) -> None:
    """Enqueue ``send_queued_invitations`` for ``at`` (see the module docstring for backends that cannot defer)."""
    send_queued_invitations = task_named("invitations.send_queued_invitations")
    try:
        if send_queued_invitations.get_backend().supports_defer:
            send_queued_invitations.using(run_after=at).enqueue()
        else:
            send_queued_invitations.enqueue()
    except Exception:  # the periodic command is the backstop; never fail the user's request over scheduling
        logger.exception("could not enqueue send_queued_invitations")


# --------------------------------------------------------------------------- invite many
_MESSAGES = {
    INVITED: "Invitation sent.",
    ALREADY_MEMBER: "Already a member of this workspace.",
    INVALID_EMAIL: "Not a valid email address.",
}


def _queued_message(outcome: _Outcome) -> str:
    if outcome.kind == "rate_limited":
        minutes = max(1, round(outcome.retry_after / 60))
        return f"Clerk's rate limit was reached: the invitation will be sent automatically in about {minutes} min."
    return "Clerk did not answer in time: the invitation will be checked and sent automatically."


def _already_invited_message(row: WorkspaceInvitation) -> str:
    if row.status == InvitationStatus.QUEUED:
        return "Already invited: the invitation is queued and will be sent shortly."
    return "Already invited: an invitation is pending."


def _moved_result(email: str, row: WorkspaceInvitation) -> InviteResult:
    """The row moved while Clerk was asked (``_Applied.changed`` is False): its new state is the result."""
    if row.status == InvitationStatus.REVOKED:
        return InviteResult(email, REVOKED, "Revoked while it was being sent: the invitation link does not work.", row)
    if row.status == InvitationStatus.ACCEPTED:
        return InviteResult(email, ALREADY_MEMBER, "Joined the workspace while the invitation was being sent.", row)
    if row.status == InvitationStatus.PENDING:
        return InviteResult(email, INVITED, _MESSAGES[INVITED], row)
    return InviteResult(email, FAILED, f"The invitation became {row.status} while it was being sent.", row, row.status)


def _result_for(email: str, applied: _Applied) -> InviteResult:
    outcome, row = applied.outcome, applied.row
    if not applied.changed and row is not None:
        return _moved_result(email, row)
    if outcome.kind == "created":
        return InviteResult(email, INVITED, _MESSAGES[INVITED], row)
    if outcome.kind == "adopted":
        return InviteResult(email, ALREADY_INVITED, "Already invited: Clerk had a pending invitation.", row)
    if outcome.kind == "member":
        return InviteResult(email, ALREADY_MEMBER, _MESSAGES[ALREADY_MEMBER], row)
    if outcome.kind in ("rate_limited", "no_response"):
        return InviteResult(email, QUEUED, _queued_message(outcome), row)
    if outcome.kind == "unavailable":
        code = outcome.code or REASON_UNAVAILABLE
        return InviteResult(email, FAILED, "Clerk is unavailable: try again in a moment.", row, code)
    message = f"Clerk refused this invitation: {outcome.message}" if outcome.message else "Clerk refused it."
    return InviteResult(email, FAILED, message, row, outcome.code)


@dataclass(frozen=True)
class _Prepared:
    """Per normalized email after the local step: a row to send, an open row, or a member."""

    new_rows: dict[str, WorkspaceInvitation]
    open_rows: dict[str, WorkspaceInvitation]
    members: set[str]


def _fold(emails: Sequence[str]) -> list[tuple[str, str, bool]]:
    """(normalized, raw, valid) per distinct address, in input order; blanks dropped, case variants folded."""
    if isinstance(emails, str):
        emails = parse_email_list(emails)
    if len(emails) > MAX_RAW_EMAILS:
        raise TooManyEmails(f"Invite at most {MAX_EMAILS} email addresses at a time.")
    seen: set[str] = set()
    folded: list[tuple[str, str, bool]] = []
    for raw in emails:
        text = str(raw).strip()
        email = _normalize(text)
        if not email or email in seen:
            continue
        seen.add(email)
        folded.append((email, text, _is_valid_email(email)))
    return folded


def _insert_or_find(row: WorkspaceInvitation) -> tuple[WorkspaceInvitation, bool]:
    """Insert one queued row, or return the open row that beat it to the constraint: ``(row, inserted)``."""
    for _ in range(3):
        try:
            with transaction.atomic():
                row.save(force_insert=True)
            return row, True
        except IntegrityError:
            row.pk = None
            existing = (
                WorkspaceInvitation.objects.filter(workspace_id=row.workspace_id, status__in=OPEN_STATUSES)
                .alias(email_lower=Lower("email"))
                .filter(email_lower=row.email)
                .first()
            )
            if existing is not None:
                return existing, False
    raise IntegrityError(f"could not insert or find the open invitation of workspace {row.workspace_id}")


@transaction.atomic
def _prepare(
    *, workspace: Workspace, inviter: User, emails: list[str], role: WorkspaceRole, now: datetime
) -> _Prepared:
    """The local step, in one transaction that commits before any Clerk call (module docstring, step 1)."""
    if not emails:
        return _Prepared({}, {}, set())
    _expire(
        WorkspaceInvitation.objects.past_expiry(now=now)
        .filter(workspace=workspace)
        .alias(email_lower=Lower("email"))
        .filter(email_lower__in=emails),
        now=now,
    )
    members = set(
        WorkspaceMembership.objects.filter(workspace=workspace)
        .annotate(email_lower=Lower("user__email"))
        .filter(email_lower__in=emails)
        .values_list("email_lower", flat=True)
    )
    candidates = [email for email in emails if email not in members]
    open_rows: dict[str, WorkspaceInvitation] = {
        row.email.lower(): row
        for row in WorkspaceInvitation.objects.filter(workspace=workspace, status__in=OPEN_STATUSES)
        .alias(email_lower=Lower("email"))
        .filter(email_lower__in=candidates)
    }
    fresh = [
        WorkspaceInvitation(
            workspace=workspace,
            email=email,
            role=role,
            status=InvitationStatus.QUEUED,
            inviter=inviter,
            inviter_email=inviter.email or "",
            inviter_name=inviter.full_name if inviter.full_name != inviter.email else "",
            expires_at=_expiry(now),
            retry_at=now + SEND_LEASE,  # the lease: ours until Clerk answers
        )
        for email in candidates
        if email not in open_rows
    ]
    new_rows: dict[str, WorkspaceInvitation] = {}
    try:
        with transaction.atomic():
            new_rows = {row.email: row for row in WorkspaceInvitation.objects.bulk_create(fresh)}
    except IntegrityError:
        # Lost a race on the constraint (a concurrent invite of the same address): row by row, to see which.
        for row in fresh:
            found, inserted = _insert_or_find(row)
            if inserted:
                new_rows[row.email] = found
            else:
                open_rows[row.email] = found
    return _Prepared(new_rows=new_rows, open_rows=open_rows, members=members)


def invitations_create(
    *,
    workspace: Workspace,
    inviter: User,
    emails: Sequence[str],
    role: str,
    request: HttpRequest | None = None,
) -> list[InviteResult]:
    """Invite 1..100 addresses to ``workspace`` with one role; one ``InviteResult`` per distinct address, in order.

    No transaction is held while Clerk is called (module docstring). Raises ``PermissionDenied``, ``InvalidRole``,
    ``NoEmails``/``TooManyEmails``; and the gateway's ``ClerkUnavailable``/``ClerkError`` when Clerk answered none
    of the addresses that needed it (their rows are deleted, or kept queued when Clerk may hold them).
    """
    _require_invite_permission(user=inviter, workspace=workspace)
    workspace_role = _workspace_role(role)
    folded = _fold(emails)
    if not folded:
        raise NoEmails()
    if len(folded) > MAX_EMAILS:
        raise TooManyEmails(f"Invite at most {MAX_EMAILS} email addresses at a time ({len(folded)} given).")
    valid = [email for email, _, is_valid in folded if is_valid]
    # Invalid addresses never reach Clerk, so they are not reserved; the rest are, before any row is written.
    reservation = reserve_invite(emails=len(valid), workspace_id=workspace.pk, user_id=inviter.pk)
    with spending(reservation):
        results = _invite(
            workspace=workspace, inviter=inviter, folded=folded, valid=valid, role=workspace_role, request=request
        )
        reservation.unused(sum(1 for result in results if result.result in _UNSENT_RESULTS))
    return results


def _invite(
    *,
    workspace: Workspace,
    inviter: User,
    folded: list[tuple[str, str, bool]],
    valid: list[str],
    role: WorkspaceRole,
    request: HttpRequest | None,
) -> list[InviteResult]:
    """The invite itself, inside the reservation (``invitations_create``)."""
    workspace_role = role
    now = timezone.now()
    prepared = _prepare(workspace=workspace, inviter=inviter, emails=valid, role=workspace_role, now=now)

    report = _ApplyReport()
    if prepared.new_rows:
        inviter_user_id = inviter.clerk_user_id if _is_org_admin(user=inviter, workspace=workspace) else None
        entries = [
            _Entry(invitation_id=row.pk, email=row.email, role=row.role, inviter_user_id=inviter_user_id)
            for row in prepared.new_rows.values()
        ]
        known = dict(User.objects.filter(email__in=list(prepared.new_rows)).values_list("clerk_user_id", "email"))
        outcomes, _ = _send_to_clerk({workspace.clerk_organization_id: entries}, emails_by_clerk_user_id=known)
        report = _apply_outcomes(outcomes, mode="create", now=timezone.now())

    results: list[InviteResult] = []
    for email, raw, is_valid in folded:
        if not is_valid:
            results.append(InviteResult(raw, INVALID_EMAIL, _MESSAGES[INVALID_EMAIL]))
        elif email in prepared.members:
            results.append(InviteResult(email, ALREADY_MEMBER, _MESSAGES[ALREADY_MEMBER]))
        elif email in prepared.open_rows:
            row = prepared.open_rows[email]
            results.append(InviteResult(email, ALREADY_INVITED, _already_invited_message(row), row))
        else:
            row = prepared.new_rows[email]
            results.append(_result_for(email, report.applied[row.pk]))

    _record_invite(workspace=workspace, inviter=inviter, role=workspace_role, results=results, request=request)
    _after_apply(report)
    _raise_if_clerk_answered_nothing(report)
    return results


def _record_invite(
    *,
    workspace: Workspace,
    inviter: User,
    role: WorkspaceRole,
    results: list[InviteResult],
    request: HttpRequest | None,
) -> None:
    events = []
    for result in results:
        row = result.invitation
        details: dict[str, Any] = {
            "email": result.email,
            "role": row.role if row is not None else role.value,
            "result": result.result,
            "workspace_id": workspace.pk,
            "inviter_id": inviter.pk,
        }
        if result.code:
            details["code"] = result.code
        if row is not None and row.clerk_invitation_id:
            details["clerk_invitation_id"] = row.clerk_invitation_id
        outcome = AuditEvent.Outcome.FAILED if result.result in (FAILED, INVALID_EMAIL) else AuditEvent.Outcome.SUCCESS
        events.append(
            _audit_event(
                "workspace_invitation.invite",
                actor=inviter,
                target_id=row.pk if row is not None and row.pk else "",
                details=details,
                outcome=outcome,
                request=request,
            )
        )
    audit_many(events)
    counts: dict[str, int] = {}
    for result in results:
        counts[result.result] = counts.get(result.result, 0) + 1
    summary = ", ".join(f"{count} {name}" for name, count in sorted(counts.items()))
    logger.info(
        "workspace %s: invitations by user %s (request %s): %s",
        workspace.pk,
        inviter.pk,
        current_request_id() or "-",
        summary,
        extra={"actor_id": inviter.pk, "action": "workspace_invitation.invite"},
    )


def _raise_if_clerk_answered_nothing(report: _ApplyReport) -> None:
    """Every address that went to Clerk failed for lack of Clerk: the request failed; say so with Clerk's error."""
    outcomes = [applied.outcome for applied in report.applied.values()]
    if not outcomes or any(outcome.kind not in ("unavailable", "no_response") for outcome in outcomes):
        return
    if all(outcome.kind == "no_response" for outcome in outcomes):
        raise clerk.ClerkUnavailable(
            "Clerk did not answer in time. The invitations are kept and will be checked and sent automatically."
        )
    error = next((outcome.error for outcome in outcomes if outcome.error is not None), None)
    raise error if error is not None else clerk.ClerkUnavailable()


# --------------------------------------------------------------------------- queued invitations (background)
def invitations_send_queued(*, now: datetime | None = None, limit: int = SEND_QUEUED_BATCH) -> int:
    """Send queued invitations whose ``retry_at`` has come (Clerk's Retry-After, a backoff, or a dead lease).

    Safe to run at any time and concurrently: rows are claimed with a lease (``SKIP LOCKED`` on PostgreSQL) before
    Clerk is called, and a row whose earlier attempt got no answer is looked up in Clerk before it is sent again.
    Returns how many became pending.
    """
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            WorkspaceInvitation.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=InvitationStatus.QUEUED, expires_at__gt=now)
            .filter(Q(retry_at__lte=now) | Q(retry_at__isnull=True))
            .select_related("workspace", "inviter")
            .order_by("retry_at", "pk")[:limit]
        )
        if not rows:
            return 0
        WorkspaceInvitation.objects.filter(pk__in=[row.pk for row in rows]).update(
            retry_at=now + SEND_LEASE, updated_at=now
        )
    report = _send_rows(rows, now=now)
    events = [
        _audit_event(
            "workspace_invitation.sent",
            actor=None,
            target_id=pk,
            details=_invitation_details(applied.row, result=applied.outcome.kind, code=applied.outcome.code)
            if applied.row is not None
            else {"result": applied.outcome.kind},
            outcome=AuditEvent.Outcome.SUCCESS
            if applied.outcome.kind in ("created", "adopted")
            else AuditEvent.Outcome.FAILED,
        )
        for pk, applied in report.applied.items()
    ]
    audit_many(events)
    sent = sum(
        1 for applied in report.applied.values() if applied.changed and applied.outcome.kind in ("created", "adopted")
    )
    logger.info("queued invitations: %s of %s sent", sent, len(rows))
    _after_apply(report)
    return sent


def _send_rows(rows: list[WorkspaceInvitation], *, now: datetime) -> _ApplyReport:
    """Send claimed queued rows (any workspaces) and apply the outcome in ``retry`` mode."""
    admin_pairs = set(
        WorkspaceMembership.objects.filter(
            role=WorkspaceRole.ADMIN,
            workspace_id__in={row.workspace_id for row in rows},
            user_id__in={row.inviter_id for row in rows if row.inviter_id is not None},
        ).values_list("workspace_id", "user_id")
    )
    groups: dict[str, list[_Entry]] = {}
    for row in rows:
        inviter = row.inviter
        is_admin = inviter is not None and (row.workspace_id, inviter.pk) in admin_pairs
        groups.setdefault(row.workspace.clerk_organization_id, []).append(
            _Entry(
                invitation_id=row.pk,
                email=row.email,
                role=row.role,
                inviter_user_id=inviter.clerk_user_id if is_admin and inviter is not None else None,
                check_first=_reason_code(row.failure_reason) == REASON_NO_RESPONSE,
            )
        )
    known = dict(User.objects.filter(email__in={row.email for row in rows}).values_list("clerk_user_id", "email"))
    outcomes, _ = _send_to_clerk(groups, emails_by_clerk_user_id=known)
    return _apply_outcomes(outcomes, mode="retry", now=max(now, timezone.now()))


def next_queued_retry_at() -> datetime | None:
    """When the earliest queued invitation is due (for re-scheduling the task on backends that can defer)."""
    row = (
        WorkspaceInvitation.objects.filter(status=InvitationStatus.QUEUED, retry_at__isnull=False)
        .order_by("retry_at")
        .values_list("retry_at", flat=True)
        .first()
    )
    return row


# --------------------------------------------------------------------------- resend
def _lock(invitation: WorkspaceInvitation) -> WorkspaceInvitation:
    return WorkspaceInvitation.objects.select_for_update(of=("self",)).select_related("workspace").get(pk=invitation.pk)


def _not_pending(row: WorkspaceInvitation) -> InvitationNotPending:
    return InvitationNotPending(
        f"This invitation is {row.effective_status}; only a pending invitation can be resent or revoked.",
        extra={"status": row.effective_status},
    )


def invitation_resend(
    *, invitation: WorkspaceInvitation, actor: User, request: HttpRequest | None = None
) -> WorkspaceInvitation:
    """Revoke the current Clerk invitation and create a new one (new link, new expiry); the local id stays.

    Only an open invitation (``invitation_not_pending`` otherwise). Clerk's 429 → the row stays queued and is sent
    automatically; ``ClerkRateLimited`` (429) tells the caller. Clerk unavailable → the gateway's error; the row is
    left pending (nothing revoked yet) or, once the old link is revoked, queued for the background sender.
    """
    workspace = invitation.workspace
    _require_invite_permission(user=actor, workspace=workspace)
    now = timezone.now()
    with transaction.atomic():
        row = _lock(invitation)
        if not row.is_open:
            raise _not_pending(row)
        check_resend_cooldown(row, now=now)
        waiting = row.status == InvitationStatus.QUEUED and row.retry_at is not None and row.retry_at > now
        if waiting and not row.failure_reason:
            # Leased by a send in progress (someone just invited it): that send is the resend.
            return row
        if waiting and row.retry_at is not None and _reason_code(row.failure_reason) == REASON_RATE_LIMITED:
            # Clerk asked us to wait: honour Retry-After rather than ask again (the queued send will go then).
            raise clerk.ClerkRateLimited(
                "Clerk's rate limit was reached: the invitation will be sent automatically.",
                retry_after=math.ceil((row.retry_at - now).total_seconds()),
            )
        # Reserved under the lock and before the claim: a refusal (429) leaves the row as it was.
        reservation = reserve_resend(workspace_id=workspace.pk, user_id=actor.pk)
        old_clerk_id = row.clerk_invitation_id
        previous = (row.status, row.retry_at, row.expires_at)
        check_first = _reason_code(row.failure_reason) == REASON_NO_RESPONSE
        # While we talk to Clerk the row is queued, leased, and no longer linked to the old Clerk id, so the old
        # invitation's `revoked` webhook does not touch it.
        row.status = InvitationStatus.QUEUED
        row.clerk_invitation_id = None
        row.retry_at = now + SEND_LEASE
        row.expires_at = _expiry(now)  # the resent invitation's deadline, also while it waits in the queue
        row.save(update_fields=["status", "clerk_invitation_id", "retry_at", "expires_at", "updated_at"])

    with spending(reservation):
        return _resend_in_clerk(
            row, actor=actor, old_clerk_id=old_clerk_id, previous=previous, check_first=check_first, request=request
        )


def _resend_in_clerk(
    row: WorkspaceInvitation,
    *,
    actor: User,
    old_clerk_id: str | None,
    previous: tuple[str, datetime | None, datetime],
    check_first: bool,
    request: HttpRequest | None,
) -> WorkspaceInvitation:
    """The Clerk half of ``invitation_resend``, on the row it claimed: revoke the old link, create the new one."""
    workspace = row.workspace
    requesting_user_id = actor.clerk_user_id if _is_org_admin(user=actor, workspace=workspace) else None
    if old_clerk_id:
        try:
            _revoke_in_clerk(workspace, old_clerk_id, requesting_user_id=requesting_user_id)
        except _AcceptedInClerk as accepted:
            _restore(row, clerk_invitation_id=old_clerk_id, previous=previous)
            mark = _mark_accepted_from_clerk(row, accepted.invitation)
            raise _not_pending(mark) from None
        except clerk.ClerkError:
            _restore(row, clerk_invitation_id=old_clerk_id, previous=previous)
            raise
    current = WorkspaceInvitation.objects.select_related("workspace").get(pk=row.pk)
    if current.status != InvitationStatus.QUEUED or current.clerk_invitation_id is not None:
        # Revoked (or accepted) while the old link was being revoked: that change won; no new link is made.
        _audit_resend_lost(current, actor=actor, old_clerk_id=old_clerk_id, request=request)
        raise _not_pending(current)

    entry = _Entry(
        invitation_id=row.pk,
        email=row.email,
        role=row.role,
        inviter_user_id=requesting_user_id,
        check_first=check_first,
    )
    known = dict(User.objects.filter(email=row.email).values_list("clerk_user_id", "email"))
    outcomes, _ = _send_to_clerk({workspace.clerk_organization_id: [entry]}, emails_by_clerk_user_id=known)
    report = _apply_outcomes(outcomes, mode="retry", now=timezone.now())
    applied = report.applied[row.pk]
    result = applied.row or row
    result.refresh_from_db()
    outcome = applied.outcome
    if not applied.changed and result.status != InvitationStatus.PENDING:
        # Revoked (by an admin or in Clerk) or accepted while Clerk was asked: the resend lost. A link Clerk made
        # meanwhile is revoked again by `_after_apply`; the caller hears `invitation_not_pending`, never a 200.
        _audit_resend_lost(result, actor=actor, old_clerk_id=old_clerk_id, request=request)
        _after_apply(report)
        raise _not_pending(result)
    ok = outcome.kind in ("created", "adopted")
    audit(
        "workspace_invitation.resent",
        actor=actor,
        target_type=AUDIT_TARGET,
        target_id=row.pk,
        outcome=AuditEvent.Outcome.SUCCESS if ok else AuditEvent.Outcome.FAILED,
        details=_invitation_details(
            result, result=outcome.kind, code=outcome.code, previous_clerk_invitation_id=old_clerk_id or ""
        ),
        request=request,
    )
    logger.info(
        "workspace %s: invitation %s resent by user %s (request %s): %s",
        workspace.pk,
        row.pk,
        actor.pk,
        current_request_id() or "-",
        outcome.kind,
        extra={"actor_id": actor.pk, "action": "workspace_invitation.resent"},
    )
    _after_apply(report)
    if ok or not applied.changed:
        return result
    if outcome.kind == "rate_limited":
        raise clerk.ClerkRateLimited(
            "Clerk's rate limit was reached: the invitation will be re-sent automatically.",
            retry_after=outcome.retry_after,
        )
    if outcome.kind == "no_response":
        raise clerk.ClerkUnavailable("Clerk did not answer in time: the invitation will be checked and re-sent.")
    if outcome.kind == "unavailable":
        raise outcome.error if outcome.error is not None else clerk.ClerkUnavailable()
    if outcome.kind == "member":
        raise AlreadyMember(f"{row.email} is already a member of this workspace.")
    raise clerk.ClerkRejected(outcome.message or None, clerk_code=outcome.code)


def _audit_resend_lost(
    row: WorkspaceInvitation, *, actor: User, old_clerk_id: str | None, request: HttpRequest | None
) -> None:
    audit(
        "workspace_invitation.resent",
        actor=actor,
        target_type=AUDIT_TARGET,
        target_id=row.pk,
        outcome=AuditEvent.Outcome.FAILED,
        details=_invitation_details(
            row, result="not_pending", code=InvitationNotPending.code, previous_clerk_invitation_id=old_clerk_id or ""
        ),
        request=request,
    )


def _restore(
    row: WorkspaceInvitation,
    *,
    clerk_invitation_id: str,
    previous: tuple[str, datetime | None, datetime],
) -> None:
    """Undo the resend's claim: Clerk was not changed, so the row goes back to what it was (if still ours)."""
    status, retry_at, expires_at = previous
    WorkspaceInvitation.objects.filter(pk=row.pk, status=InvitationStatus.QUEUED, clerk_invitation_id=None).update(
        status=status, clerk_invitation_id=clerk_invitation_id, retry_at=retry_at, expires_at=expires_at
    )


# --------------------------------------------------------------------------- revoke
class _AcceptedInClerk(Exception):
    def __init__(self, invitation: ClerkOrganizationInvitation) -> None:
        super().__init__(invitation.id)
        self.invitation = invitation


def _revoke_in_clerk(workspace: Workspace, clerk_invitation_id: str, *, requesting_user_id: str | None) -> str:
    """Revoke in Clerk; returns Clerk's resulting status ("revoked", or "expired" when it had run out).

    Already gone (404) or already revoked counts as done; already accepted raises ``_AcceptedInClerk``.
    """
    try:
        clerk.revoke_organization_invitation(
            workspace.clerk_organization_id, clerk_invitation_id, requesting_user_id=requesting_user_id
        )
    except clerk.ClerkNotFound:
        return InvitationStatus.REVOKED
    except clerk.ClerkRejected as exc:
        if exc.clerk_code != "organization_invitation_not_pending":
            raise
        remote = clerk.get_organization_invitation(workspace.clerk_organization_id, clerk_invitation_id)
        if remote.status == "accepted":
            raise _AcceptedInClerk(remote) from None
        return InvitationStatus.EXPIRED if remote.status == "expired" else InvitationStatus.REVOKED
    return InvitationStatus.REVOKED


def invitation_revoke(
    *, invitation: WorkspaceInvitation, actor: User, request: HttpRequest | None = None
) -> WorkspaceInvitation:
    """Revoke in Clerk (as the actor when they are an organization admin) and locally. Idempotent: an already
    revoked invitation comes back unchanged without a Clerk call; accepted/expired/failed → ``invitation_not_pending``.

    When Clerk says the invitation is no longer pending, we take its word: accepted → recorded as accepted (and
    ``invitation_not_pending``); revoked or gone → revoked here too.
    """
    workspace = invitation.workspace
    _require_invite_permission(user=actor, workspace=workspace)
    row = WorkspaceInvitation.objects.select_related("workspace").get(pk=invitation.pk)
    if row.status == InvitationStatus.REVOKED:
        return row
    if not row.is_open:
        raise _not_pending(row)
    requesting_user_id = actor.clerk_user_id if _is_org_admin(user=actor, workspace=workspace) else None
    clerk_ids = [row.clerk_invitation_id] if row.clerk_invitation_id else []
    if not clerk_ids and _reason_code(row.failure_reason) == REASON_NO_RESPONSE:
        # Clerk may hold it though we never heard back: find it so the link dies too.
        found = clerk.list_organization_invitations(
            workspace.clerk_organization_id, status="pending", email_address=row.email, limit=1
        )
        clerk_ids = [invitation.id for invitation in found]
    revoked: set[str] = set()
    for _ in range(REVOKE_ATTEMPTS):
        for clerk_invitation_id in clerk_ids:
            try:
                _revoke_in_clerk(workspace, clerk_invitation_id, requesting_user_id=requesting_user_id)
            except _AcceptedInClerk as accepted:
                raise _not_pending(_mark_accepted_from_clerk(row, accepted.invitation)) from None
            revoked.add(clerk_invitation_id)
        outcome = _revoke_locally(row, actor=actor, revoked=revoked, request=request)
        if isinstance(outcome, WorkspaceInvitation):
            row = outcome
            break
        clerk_ids = [outcome]  # a resend linked a new Clerk invitation meanwhile: that link dies too
    else:
        raise InvitationNotPending("This invitation keeps changing; try again.", extra={"status": row.status})
    logger.info(
        "workspace %s: invitation %s revoked by user %s (request %s)",
        workspace.pk,
        row.pk,
        actor.pk,
        current_request_id() or "-",
        extra={"actor_id": actor.pk, "action": "workspace_invitation.revoked"},
    )
    return row


@transaction.atomic
def _revoke_locally(
    row: WorkspaceInvitation, *, actor: User, revoked: set[str], request: HttpRequest | None
) -> WorkspaceInvitation | str:
    """The local half of ``invitation_revoke``, under the row lock: the revoked row, or the Clerk id of a link
    made since we looked (a resend that finished meanwhile), which must be revoked in Clerk first."""
    now = timezone.now()
    row = _lock(row)
    if row.status == InvitationStatus.REVOKED:  # Clerk's webhook (or a concurrent revoke) was first
        if row.revoked_by_id is None:
            row.revoked_by, row.revoked_by_email = actor, actor.email or ""
            row.save(update_fields=["revoked_by", "revoked_by_email", "updated_at"])
        return row
    if row.status not in OPEN_STATUSES:
        raise _not_pending(row)
    if row.clerk_invitation_id and row.clerk_invitation_id not in revoked:
        return row.clerk_invitation_id
    row.status = InvitationStatus.REVOKED
    row.revoked_at = now
    row.revoked_by = actor
    row.revoked_by_email = actor.email or ""
    row.retry_at = None
    row.save(update_fields=["status", "revoked_at", "revoked_by", "revoked_by_email", "retry_at", "updated_at"])
    audit(
        "workspace_invitation.revoked",
        actor=actor,
        target_type=AUDIT_TARGET,
        target_id=row.pk,
        details=_invitation_details(row, result="revoked"),
        request=request,
    )
    return row


# --------------------------------------------------------------------------- expiry
def _expire(queryset: QuerySet[WorkspaceInvitation], *, now: datetime) -> int:
    """Mark the open rows of ``queryset`` expired, with one audit event each (call inside a transaction)."""
    rows = list(queryset.select_for_update().only("pk", "email", "role", "workspace_id", "inviter_id", "status"))
    if not rows:
        return 0
    WorkspaceInvitation.objects.filter(pk__in=[row.pk for row in rows], status__in=OPEN_STATUSES).update(
        status=InvitationStatus.EXPIRED, retry_at=None, updated_at=now
    )
    audit_many(
        [
            _audit_event(
                "workspace_invitation.expired",
                actor=None,
                target_id=row.pk,
                details={
                    "email": row.email,
                    "role": row.role,
                    "workspace_id": row.workspace_id,
                    "inviter_id": row.inviter_id,
                    "result": "expired",
                    "previous_status": row.status,
                },
            )
            for row in rows
        ]
    )
    return len(rows)


def invitations_expire(*, now: datetime | None = None) -> int:
    """Mark every open invitation past ``expires_at`` expired; returns how many.

    Reads already treat such rows as expired (``effective_status``); this makes the rows say so. Clerk expires its
    own invitations at the same moment, so Clerk is not called.
    """
    now = now or timezone.now()
    with transaction.atomic():
        count = _expire(WorkspaceInvitation.objects.past_expiry(now=now), now=now)
    if count:
        logger.info("expired %s invitations", count)
    return count


# --------------------------------------------------------------------------- what Clerk's webhooks report
def accepting_user(*, clerk_user_id: str, email: str) -> User | None:
    """The local user who accepted: by Clerk id, fetched from Clerk when we have not seen them yet."""
    if clerk_user_id:
        user = User.objects.filter(clerk_user_id=clerk_user_id).first()
        if user is not None:
            return user
        if not deleted_in_clerk(clerk_user_id):
            try:
                return user_upsert_from_clerk(clerk_user=clerk.get_user(clerk_user_id))
            except (clerk.ClerkNotFound, ClerkDataStale):
                return None
        return None
    if not email:
        return None
    user = User.objects.filter(email__lower=email.lower()).first()
    if user is not None:
        return user
    # Clerk's invitation object (unlike the `accepted` webhook) does not name the user: find them by email.
    found = clerk.list_users(email_addresses=[email], limit=1)
    if not found:
        return None
    try:
        return user_upsert_from_clerk(clerk_user=found[0])
    except ClerkDataStale:
        return None


def _mark_accepted_from_clerk(row: WorkspaceInvitation, invitation: ClerkOrganizationInvitation) -> WorkspaceInvitation:
    user = accepting_user(clerk_user_id=invitation.user_id, email=invitation.email)
    accepted = invitation_accepted_from_clerk(
        workspace=row.workspace,
        clerk_invitation_id=invitation.id,
        email=row.email,
        user=user,
        accepted_at=clerk_time(invitation.updated_at),
    )
    return accepted or WorkspaceInvitation.objects.get(pk=row.pk)


@transaction.atomic
def invitation_accepted_from_clerk(
    *,
    workspace: Workspace,
    clerk_invitation_id: str,
    email: str,
    user: User | None,
    accepted_at: datetime | None = None,
) -> WorkspaceInvitation | None:
    """Clerk says the invitation was accepted. Matched by Clerk id, else (our send got no answer, so we never
    learned the id) the open invitation for that workspace and email. Acceptance is a fact in Clerk: it wins over
    our revoked/expired/failed. Idempotent; ``None`` when nothing local matches."""
    row = (
        WorkspaceInvitation.objects.select_for_update()
        .filter(clerk_invitation_id=clerk_invitation_id, workspace=workspace)
        .first()
        if clerk_invitation_id
        else None
    )
    if row is None and email:
        row = (
            WorkspaceInvitation.objects.select_for_update()
            .filter(workspace=workspace, status__in=OPEN_STATUSES)
            .alias(email_lower=Lower("email"))
            .filter(email_lower=email.strip().lower())
            .first()
        )
    if row is None:
        return None
    if row.status == InvitationStatus.ACCEPTED:
        if row.accepted_by_id is None and user is not None:
            row.accepted_by = user
            row.save(update_fields=["accepted_by", "updated_at"])
        return row
    previous = row.status
    row.status = InvitationStatus.ACCEPTED
    row.accepted_at = accepted_at or timezone.now()
    row.accepted_by = user
    row.retry_at = None
    fields = ["status", "accepted_at", "accepted_by", "retry_at", "updated_at"]
    if row.clerk_invitation_id is None and clerk_invitation_id:
        taken = WorkspaceInvitation.objects.filter(clerk_invitation_id=clerk_invitation_id).exists()
        if not taken:
            row.clerk_invitation_id = clerk_invitation_id
            fields.append("clerk_invitation_id")
    row.save(update_fields=fields)
    audit(
        "workspace_invitation.accepted",
        actor=user,
        target_type=AUDIT_TARGET,
        target_id=row.pk,
        details=_invitation_details(row, result="accepted", previous_status=previous),
    )
    return row


@transaction.atomic
def invitation_revoked_from_clerk(*, clerk_invitation_id: str) -> WorkspaceInvitation | None:
    """Clerk says the invitation was revoked (someone used Clerk's dashboard, or our own revoke echoing back).
    Only an open row with that Clerk id changes; a resend unlinks the old id first, so its echo changes nothing."""
    row = (
        WorkspaceInvitation.objects.select_for_update()
        .filter(clerk_invitation_id=clerk_invitation_id, status__in=OPEN_STATUSES)
        .first()
    )
    if row is None:
        return None
    row.status = InvitationStatus.REVOKED
    row.revoked_at = timezone.now()
    row.retry_at = None
    row.save(update_fields=["status", "revoked_at", "retry_at", "updated_at"])
    audit(
        "workspace_invitation.revoked",
        actor=None,
        target_type=AUDIT_TARGET,
        target_id=row.pk,
        details=_invitation_details(row, result="revoked", source="clerk"),
    )
    return row


@transaction.atomic
def invitations_accepted_by_membership(
    *, workspace: Workspace, email: str, user: User | None, accepted_at: datetime | None = None
) -> int:
    """The person is now a member (``organizationMembership.created``): their open invitations are accepted."""
    rows = list(
        WorkspaceInvitation.objects.select_for_update()
        .filter(workspace=workspace, status__in=OPEN_STATUSES)
        .alias(email_lower=Lower("email"))
        .filter(email_lower=email.strip().lower())
    )
    for row in rows:
        invitation_accepted_from_clerk(
            workspace=workspace, clerk_invitation_id="", email=row.email, user=user, accepted_at=accepted_at
        )
    return len(rows)
