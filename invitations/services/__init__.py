"""Writes for workspace invitations: invite many, resend, revoke, expire, send what was queued, and apply what Clerk's
webhooks report. The API, the pages, the tasks and the commands call these same functions, imported from here.

One module per capability (issue 15; like HackSoft's services and Zulip's ``actions/``):

- ``creating``: invite many (fold, validate, insert ``queued`` rows, send, one result per address);
- ``sending``: the Clerk calls of a batch, in worker threads (chunks, isolation of rejections, 429, timeouts);
- ``applying``: writing Clerk's answers to the rows, and the side effects after (stray revokes, scheduling);
- ``queue``: sending the queued invitations whose time has come;
- ``resend_revoke``: resend and revoke, and their races with each other;
- ``expiry``: marking open invitations past their deadline expired;
- ``from_clerk``: what Clerk reports (accepted, revoked, a new membership);
- ``shared``: the lease, backoff, reason codes, permission check and audit details they all use.

How an invitation is made (issue 4; docs/workspace-invitations.md, docs/reliability.md):

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
   row revoked meanwhile is revoked in Clerk again), and what is reported is the row's new state: an address revoked
   while Clerk was asked is ``revoked``, never "Invitation sent." or ``queued``; a resend that lost is
   ``invitation_not_pending``.

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

from invitations.services.applying import schedule_queued_send
from invitations.services.creating import (
    MAX_EMAIL_LENGTH,
    MAX_EMAILS,
    MAX_RAW_EMAILS,
    InviteResult,
    InviteResultKind,
    _is_valid_email,
    _normalize,
    invitations_create,
    parse_email_list,
)
from invitations.services.expiry import invitations_expire
from invitations.services.from_clerk import (
    _mark_accepted_from_clerk,
    accepting_user,
    invitation_accepted_from_clerk,
    invitation_revoked_from_clerk,
    invitations_accepted_by_membership,
)
from invitations.services.queue import SEND_QUEUED_BATCH, invitations_send_queued, next_queued_retry_at
from invitations.services.resend_revoke import invitation_resend, invitation_revoke
from invitations.services.sending import CLERK_CONCURRENCY, OutcomeKind
from invitations.services.shared import (
    AUDIT_TARGET,
    REASON_NO_RESPONSE,
    REASON_RATE_LIMITED,
    REASON_UNAVAILABLE,
    SEND_LEASE,
    _invitation_details,
    _is_org_admin,
    _reason_code,
    _require_invite_permission,
)

__all__ = [
    "AUDIT_TARGET",
    "CLERK_CONCURRENCY",
    "MAX_EMAILS",
    "MAX_EMAIL_LENGTH",
    "MAX_RAW_EMAILS",
    "REASON_NO_RESPONSE",
    "REASON_RATE_LIMITED",
    "REASON_UNAVAILABLE",
    "SEND_LEASE",
    "SEND_QUEUED_BATCH",
    "InviteResult",
    "InviteResultKind",
    "OutcomeKind",
    "_invitation_details",
    "_is_org_admin",
    "_is_valid_email",
    "_mark_accepted_from_clerk",
    "_normalize",
    "_reason_code",
    "_require_invite_permission",
    "accepting_user",
    "invitation_accepted_from_clerk",
    "invitation_resend",
    "invitation_revoke",
    "invitation_revoked_from_clerk",
    "invitations_accepted_by_membership",
    "invitations_create",
    "invitations_expire",
    "invitations_send_queued",
    "next_queued_retry_at",
    "parse_email_list",
    "schedule_queued_send",
]
