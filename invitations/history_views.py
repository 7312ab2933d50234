"""Pages of the invitation history (issue 12 items 3 and 4): the history list, one invitation's timeline, and its
invite link shown once.

- ``/settings/workspaces/{id}/history/``: accepted, revoked, expired and failed invitations; ``status``, ``q`` and
  ``cursor`` in the query string (server-side paging, ``invitations.history``). The settings page loads the same
  section in place with htmx (``?embed=1`` answers just the section); without JavaScript it links here.
- ``/settings/workspaces/{id}/invitations/{invitation_id}/``: the timeline; htmx gets just the panel.
- ``POST …/invitations/{invitation_id}/link/``: asks Clerk for the invite link and shows it once, with a copy button
  (``Cache-Control: no-store``; the link is in this response only).

Who may: the same as for the pending list (``workspace:invite``: 404 outside the caller's reach, then 403).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.middleware import HtmxDetails

from accounts.views import signed_in_user
from core.exceptions import ApplicationError, InvalidInput
from core.pages import friendly_message
from invitations import history, links, selectors
from invitations.models import WorkspaceInvitation
from invitations.timeline import invitation_timeline
from invitations.views import NOT_OURS, _invite_workspace

STATUS_CHOICES = [("", "All"), *((status, status.capitalize()) for status in history.HISTORY_STATUSES)]


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _history_context(request: HttpRequest, workspace: Any) -> tuple[dict[str, Any], int]:
    status = 200
    error = ""
    try:
        filters = history.history_filters(status=request.GET.get("status"), search=request.GET.get("q"))
        page = history.invitation_history(workspace=workspace, filters=filters, cursor=request.GET.get("cursor"))
    except InvalidInput as exc:
        filters = history.HistoryFilters()
        page = history.invitation_history(workspace=workspace, filters=filters)
        error, status = exc.message, exc.http_status
    base = reverse("invitations:history", args=[workspace.pk])
    query = {key: value for key, value in (("status", filters.status), ("q", filters.search)) if value}
    next_url = f"{base}?{urlencode({**query, 'cursor': page.next_cursor})}" if page.next_cursor else None
    context = {
        "workspace": workspace,
        "history_page": page,
        "history_error": error,
        "history_filters": filters,
        "history_status_choices": STATUS_CHOICES,
        "history_next_url": next_url,
        "history_first_url": f"{base}?{urlencode(query)}" if request.GET.get("cursor") else None,
    }
    return context, status


@never_cache
@require_GET
def history_page(request: HtmxHttpRequest, workspace_id: int) -> HttpResponse:
    user = signed_in_user(request)
    workspace = _invite_workspace(user, workspace_id)
    context, status = _history_context(request, workspace)
    if request.htmx or request.GET.get("embed") == "1":
        return render(request, "invitations/_history.html", context, status=status)
    context["account"] = user
    return render(request, "invitations/history.html", context, status=status)


def _timeline_context(invitation: WorkspaceInvitation) -> dict[str, Any]:
    return {
        "workspace": invitation.workspace,
        "invitation": invitation,
        "status": invitation.effective_status,
        "timeline": invitation_timeline(invitation=invitation),
        "link_url": reverse("invitations:link", args=[invitation.workspace_id, invitation.pk]),
    }


@never_cache
@require_GET
def timeline_page(request: HtmxHttpRequest, workspace_id: int, invitation_id: int) -> HttpResponse:
    user = signed_in_user(request)
    workspace = _invite_workspace(user, workspace_id)
    invitation = selectors.invitation_get(workspace=workspace, invitation_id=invitation_id)
    context = _timeline_context(invitation)
    if request.htmx:
        return render(request, "invitations/_timeline.html", context)
    context["account"] = user
    return render(request, "invitations/timeline.html", context)


@never_cache
@require_POST
def invite_link(request: HtmxHttpRequest, workspace_id: int, invitation_id: int) -> HttpResponse:
    user = signed_in_user(request)
    workspace = _invite_workspace(user, workspace_id)
    invitation = selectors.invitation_get(workspace=workspace, invitation_id=invitation_id)
    context = _timeline_context(invitation)
    status = 200
    try:
        context["invite_link"] = links.invitation_link_reveal(invitation=invitation, actor=user)
    except NOT_OURS:
        raise
    except ApplicationError as exc:
        context["link_error"] = friendly_message(exc, action="get the invite link")
        status = exc.http_status
    context["timeline"] = invitation_timeline(invitation=invitation)  # with the link_shown step
    template = "invitations/_timeline.html" if request.htmx else "invitations/timeline.html"
    if not request.htmx:
        context["account"] = user
    response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store"
    return response
