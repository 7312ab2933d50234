"""Pages of the bulk invitation work on ``/settings/``: the invite dialog's check step (typed addresses and a CSV
file), sending the checked list, and resending or revoking a selection of the pending list.

Thin like ``invitations.views``: parse the form, call ``invitations.invite_check`` / ``invitations.bulk``, render.
htmx gets the dialog body or the pending card; without JavaScript the whole settings page comes back (check step)
or a redirect with a flash message (bulk action).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.models import User, Workspace
from accounts.views import signed_in_user
from core.exceptions import ApplicationError
from core.pages import friendly_message
from core.ratelimits import per_user_posts
from invitations import bulk, csv_import, invite_check, selectors
from invitations.api import ratelimits
from invitations.forms import MAX_EMAILS_PER_REQUEST, InviteForm
from invitations.invite_check import InviteEntry
from invitations.pending import PendingPage, pending_page
from invitations.views import (
    NOT_OURS,
    HtmxHttpRequest,
    _invite_workspace,
    _partial,
    _settings_context,
    _settings_url,
)

BULK_RATE_SETTING = "INVITATIONS_API_BULK_RATE"
MAX_TEXT = MAX_EMAILS_PER_REQUEST * 330  # the textarea's cap (invitations.forms.InviteForm)
_RESULT_WORDS = {
    "revoked": "revoked",
    "resent": "sent again",
    "cooldown": "sent too recently to resend",
    "rate_limited": "held back by the rate limit",
    "not_pending": "no longer pending",
    "failed": "failed",
}


def _page_number(raw: object) -> int:
    text = str(raw or "")
    return min(int(text), 10_000) if text.isdigit() and int(text) > 0 else 1


def pending_for_request(request: HttpRequest, workspace: Workspace, *, data: Any = None) -> PendingPage:
    """The pending list page the request asks for (``q`` and ``page`` from the query string or the form)."""
    data = request.GET if data is None else data
    return pending_page(workspace=workspace, query=data.get("q", ""), page=_page_number(data.get("page")))


# --------------------------------------------------------------------------- the invite dialog: check, then send
def _entries(request: HttpRequest) -> list[InviteEntry]:
    """The check table's rows when the dialog shows one (edited in place), else the textarea and the CSV file."""
    if "entry_email" in request.POST:
        emails, roles = request.POST.getlist("entry_email"), request.POST.getlist("entry_role")
        lines = request.POST.getlist("entry_line")
        return [
            InviteEntry(
                email=email,
                role=roles[i] if i < len(roles) else "",
                line=int(lines[i]) if i < len(lines) and lines[i].isdigit() else None,
            )
            for i, email in enumerate(emails[: csv_import.MAX_CSV_ROWS * 2])
        ]
    entries = invite_check.entries_from_text(request.POST.get("emails", "")[:MAX_TEXT])
    upload = request.FILES.get("csv")
    if upload is not None and upload.size:
        rows = csv_import.parse_invite_csv(upload.read(csv_import.MAX_CSV_BYTES + 1))
        entries += [InviteEntry(email=row.email, role=row.role, line=row.line) for row in rows]
    return entries


def _dialog(
    request: HtmxHttpRequest, user: User, workspace: Workspace, context: dict[str, Any], *, status: int
) -> HttpResponse:
    page = pending_for_request(request, workspace, data={})
    context = {"workspace": workspace, "may_invite": True, "page": page, "pending": page.rows, **context}
    context.setdefault("form", InviteForm(initial={"role": context.get("default_role", "member")}))
    if request.htmx:
        return _partial(request, "invitations/_invite_response.html", context, status=status)
    workspaces = list(selectors.workspaces_for_user(user=user))
    full = _settings_context(request, user=user, workspace=workspace, workspaces=workspaces, invite_open=True)
    full.update(context)
    return render(request, "invitations/settings.html", full, status=status)


@never_cache
@require_POST
@per_user_posts("invitations.api.invite", ratelimits.INVITE_RATE_SETTING)
def invite_list(request: HtmxHttpRequest, workspace_id: int) -> HttpResponse:
    """``step=check``: the per-address results, nothing sent. ``step=send``: send the list, one result each."""
    user = signed_in_user(request)
    workspace = _invite_workspace(user, workspace_id)
    role = request.POST.get("role", "member")
    role = role if role in ("member", "admin") else "member"
    step = "send" if request.POST.get("step") == "send" else "check"
    try:
        entries = _entries(request)
        if step == "check":
            checked = invite_check.invitations_check(
                workspace=workspace, inviter=user, entries=entries, default_role=role
            )
            sendable = sum(1 for entry in checked if entry.result in invite_check.SENDABLE)
            context = {"checked": checked, "sendable": sendable, "default_role": role}
            return _dialog(request, user, workspace, context, status=200)
        results = bulk.invite_entries(workspace=workspace, inviter=user, entries=entries, default_role=role)
    except NOT_OURS:
        raise
    except ApplicationError as exc:
        action = "check the list" if step == "check" else "send the invitations"
        context = {
            "invite_error": friendly_message(exc, action=action),
            "form": InviteForm(initial={"emails": request.POST.get("emails", ""), "role": role}),
        }
        return _dialog(request, user, workspace, context, status=exc.http_status)
    retry = "\n".join(r.email for r in results if r.result in ("invalid_email", "failed"))
    context = {"results": results, "form": InviteForm(initial={"emails": retry, "role": role})}
    return _dialog(request, user, workspace, context, status=200)


# --------------------------------------------------------------------------- the pending list: bulk actions
def _notice(results: list[bulk.BulkResult]) -> str:
    if not results:
        return "Nothing to do: none of the selected invitations is still pending."
    summary = bulk.bulk_summary(results)
    parts = [f"{count} {_RESULT_WORDS.get(kind, kind)}" for kind, count in summary.items()]
    return f"{len(results)} selected: " + ", ".join(parts) + "."


@never_cache
@require_POST
@per_user_posts("invitations.api.bulk", BULK_RATE_SETTING)
def bulk_action(request: HtmxHttpRequest, workspace_id: int) -> HttpResponse:
    """Resend or revoke the checked rows, or (``all=1``) every pending invitation matching the search."""
    user = signed_in_user(request)
    workspace = _invite_workspace(user, workspace_id)
    action = request.POST.get("action", "")
    query = request.POST.get("q", "")
    ids = [int(value) for value in request.POST.getlist("ids") if value.isdigit()][: bulk.MAX_BULK_REVOKE + 1]
    notice, failed, problems = "", False, []
    try:
        if action not in ("resend", "revoke"):
            raise bulk.NothingSelected("Choose Resend or Revoke.")
        everything = request.POST.get("all") == "1"
        results = bulk.invitations_bulk(
            workspace=workspace,
            actor=user,
            action=action,  # type: ignore[arg-type]
            ids=None if everything else ids,
            query=query if everything else None,
        )
    except NOT_OURS:
        raise
    except ApplicationError as exc:
        notice, failed = friendly_message(exc, action=f"{action or 'change'} the invitations"), True
    else:
        notice = _notice(results)
        problems = [r for r in results if r.result not in ("revoked", "resent")][:20]
        failed = bool(problems) and len(problems) == len(results)
    if request.htmx:
        page = pending_for_request(request, workspace, data=request.POST)
        context = {
            "workspace": workspace,
            "page": page,
            "pending": page.rows,
            "bulk_notice": notice,
            "bulk_failed": failed,
            "bulk_problems": problems,
        }
        return _partial(request, "invitations/_pending.html", context)
    (messages.error if failed else messages.success)(request, notice)
    return HttpResponseRedirect(_settings_url(workspace, anchor="pending"))
