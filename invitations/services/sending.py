"""Talking to Clerk for a batch of invitations, from worker threads that never touch the database: bulk calls of at
most 10, ``CLERK_CONCURRENCY`` at once, a rejection narrowed down to the addresses Clerk objects to, a 429 that stops
every chunk not yet sent, and a timeout answered by looking the addresses up (step 2 of the package docstring).
The result is one ``_Outcome`` per invitation; ``invitations.services.applying`` writes them.
"""

from __future__ import annotations

import contextvars
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings

from accounts import clerk
from accounts.clerk_types import ClerkOrganizationInvitation
from accounts.roles import CLERK_ORG_ROLES, WorkspaceRole
from invitations.services.shared import REASON_NO_RESPONSE, REASON_RATE_LIMITED, REASON_UNAVAILABLE, _redirect_url

# Bulk calls to Clerk in flight at once for one request (a small bound: Clerk allows 50 bulk calls an hour).
CLERK_CONCURRENCY = 5
# Email addresses inside an error message (Clerk names the offending addresses in some bulk errors).
_EMAIL_TOKENS = re.compile(r"[^\s,;:'\"<>()\[\]]+@[^\s,;:'\"<>()\[\]]+")


@dataclass(frozen=True)
class _Entry:
    """One invitation to send: what a worker thread needs, no model instance (threads never touch the database)."""

    invitation_id: int
    email: str
    role: str
    inviter_user_id: str | None = None
    # Clerk may already hold it (an earlier attempt got no answer): look it up before sending.
    check_first: bool = False


class OutcomeKind(StrEnum):
    """What Clerk said about one invitation (``_Outcome.kind``); its value is what the audit events record."""

    CREATED = "created"  # sent now (or found after our own timed-out send)
    ADOPTED = "adopted"  # Clerk already had a pending invitation for that address
    MEMBER = "member"  # already a member of the organization in Clerk
    REJECTED = "rejected"  # Clerk refused it (its code in ``_Outcome.code``)
    RATE_LIMITED = "rate_limited"  # a 429: sent after Retry-After
    UNAVAILABLE = "unavailable"  # Clerk answered 5xx: nothing was created
    NO_RESPONSE = "no_response"  # no answer: Clerk may hold it; looked up before the next send


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
            self._set(self._open(to_check), _Outcome(OutcomeKind.NO_RESPONSE, code=REASON_NO_RESPONSE))
        stack = [self.entries]
        while stack:
            batch = self._open(stack.pop())
            if batch:
                stack.extend(self._send(batch))
        missing = _Outcome(OutcomeKind.NO_RESPONSE, code=REASON_NO_RESPONSE)
        return {entry.invitation_id: self.outcomes.get(entry.email, missing) for entry in self.entries}

    def _send(self, batch: list[_Entry]) -> list[list[_Entry]]:
        """Send ``batch``; return the sub-batches still to send."""
        if self.gate.tripped:
            self._set(
                batch,
                _Outcome(OutcomeKind.RATE_LIMITED, code=REASON_RATE_LIMITED, retry_after=self.gate.retry_after or 0),
            )
            return []
        try:
            created = clerk.bulk_create_organization_invitations(
                self.organization_id, [self._payload(entry) for entry in batch]
            )
        except clerk.ClerkRateLimited as exc:
            self.gate.trip(exc.retry_after)
            self._set(batch, _Outcome(OutcomeKind.RATE_LIMITED, code=REASON_RATE_LIMITED, retry_after=exc.retry_after))
            return []
        except clerk.ClerkUnavailable as exc:
            return self._unavailable(batch, exc)
        except clerk.ClerkRejected as exc:
            return self._isolate(batch, exc)
        except clerk.ClerkError as exc:  # not found (organization gone), our key refused: nothing was created
            self._set(batch, _Outcome(OutcomeKind.UNAVAILABLE, code=exc.code, message=exc.message, error=exc))
            return []
        by_email = {invitation.email: invitation for invitation in created}
        for entry in batch:
            found = by_email.get(entry.email)
            self.outcomes[entry.email] = (
                _Outcome(OutcomeKind.CREATED, invitation=found)
                if found is not None
                else _Outcome(OutcomeKind.NO_RESPONSE, code=REASON_NO_RESPONSE)
            )
        return []

    def _unavailable(self, batch: list[_Entry], exc: clerk.ClerkUnavailable) -> list[list[_Entry]]:
        if exc.status is not None:
            # Clerk answered (5xx): its bulk call is all-or-nothing, so nothing was created.
            self._set(batch, _Outcome(OutcomeKind.UNAVAILABLE, code=exc.code, message=exc.message, error=exc))
            return []
        # No answer (timeout, connection lost): Clerk may have created them. Read before re-sending, once.
        self.maybe_sent.update(entry.email for entry in batch)
        if self.reread_after_timeout:
            self._set(batch, _Outcome(OutcomeKind.NO_RESPONSE, code=REASON_NO_RESPONSE, message=exc.message, error=exc))
            return []
        self.reread_after_timeout = True
        if not self._adopt_pending(batch):
            self._set(
                self._open(batch),
                _Outcome(OutcomeKind.NO_RESPONSE, code=REASON_NO_RESPONSE, message=exc.message, error=exc),
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
                self._set(
                    self._open(batch), _Outcome(OutcomeKind.UNAVAILABLE, code=REASON_UNAVAILABLE, message=exc.message)
                )
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
            self.outcomes[entry.email] = _Outcome(OutcomeKind.MEMBER, code=exc.clerk_code, message=exc.message)
            return
        adopted = exc.clerk_code == "organization_invitation_not_unique" and self._adopt_pending([entry])
        if adopted and entry.email in self.outcomes:
            return
        self.outcomes[entry.email] = _Outcome(
            OutcomeKind.REJECTED, code=exc.clerk_code or exc.code, message=exc.message
        )

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
                kind = OutcomeKind.CREATED if entry.email in self.maybe_sent else OutcomeKind.ADOPTED
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
