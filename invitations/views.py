"""Pages of the workspace invitation flow: ``/settings/`` (members, invite modal, pending invitations) and
``/accept-invite/`` (Clerk's ticket flow, run by ClerkJS in the browser).

Views stay thin: validate the input, call a service or selector, render. The settings page works with and without
JavaScript: every action is a plain ``<form method="post">`` (POST → redirect back with a flash message, or the page
again with the invite results), and htmx (vendored in static/vendor/htmx.min.js) upgrades the same forms to update
a row or the invite dialog in place; such requests get a partial template instead of the whole page.

Rate limits are the API's (``invitations.api.ratelimits``, counted by ``core.ratelimits``): the same settings, groups
and per-user counters, and the same global budget below Clerk's hourly caps (``core.budgets``), so nobody gets
around them by switching between the page and the API.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from accounts.models import User, Workspace
from accounts.selectors import workspace_memberships_for_user
from accounts.views import signed_in_user
from core.exceptions import (
    ApplicationError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
)
from core.pages import friendly_message
from core.ratelimits import per_user_posts
from invitations import members, selectors, services
from invitations.api import ratelimits
from invitations.errors import InvalidRole
from invitations.forms import InviteForm
from invitations.models import WorkspaceInvitation
from invitations.pending import pending_page

logger = logging.getLogger(__name__)
ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])

ACCEPT_STATUSES = frozenset({"sign_in", "sign_up", "complete"})
PARTIAL_HEADER = "X-Partial"  # tells static/invitations/settings.js that an error response is ours to swap in
NOT_OURS = (NotAuthenticated, PermissionDenied, NotFound)  # left to core.middleware.PageErrorMiddleware


class HtmxHttpRequest(HttpRequest):
    """``HttpRequest`` with django-htmx's ``request.htmx`` (truthy for requests htmx made)."""

    htmx: HtmxDetails


# --------------------------------------------------------------------------- rate limits (shared with the API)
# POSTs count per user together with the API's (same group, key and rate); over the limit, or with the cache down
# (fail closed), the 429 page. GETs are not counted.
_limited = per_user_posts


# --------------------------------------------------------------------------- helpers
def _settings_url(workspace: Workspace, *, anchor: str = "") -> str:
    query = urlencode({"workspace": workspace.pk})
    return f"{reverse('invitations:settings')}?{query}{'#' + anchor if anchor else ''}"


def _invite_workspace(user: User, workspace_id: int) -> Workspace:
    """The workspace of an invite action: 404 outside the user's reach, then 403 without ``workspace:invite``."""
    workspace = selectors.workspace_for_member(user=user, workspace_id=workspace_id)
    if not selectors.can_invite(user=user, workspace=workspace):
        logger.warning("invite action refused: user=%s workspace=%s", user.pk, workspace.pk)
        raise PermissionDenied("Only workspace admins and staff can invite people to this workspace.")
    return workspace


def _retry_text(results: Sequence[services.InviteResult]) -> str:
    """The addresses worth another try (invalid or failed), to leave in the textarea for correcting."""
    return "\n".join(r.email for r in results if r.result in ("invalid_email", "failed"))


def members_context(workspace: Workspace, page: object) -> dict[str, Any]:
    """The members card's list: the page asked for (``members_page``), and whether there is more than one admin."""
    text = str(page or "")
    number = int(text) if text.isascii() and text.isdigit() and 0 < len(text) <= 5 else 1
    found = members.members_page(workspace=workspace, page=number)
    return {
        "members_page": found,
        "members": found.rows,
        "several_admins": members.has_several_admins(workspace=workspace),
    }


def _settings_context(
    request: HttpRequest,
    *,
    user: User,
    workspace: Workspace,
    workspaces: Sequence[Workspace],
    form: InviteForm | None = None,
    results: Sequence[services.InviteResult] | None = None,
    invite_error: str = "",
    invite_open: bool = False,
) -> dict[str, Any]:
    may_invite = selectors.can_invite(user=user, workspace=workspace)
    page = None
    if may_invite:
        number = request.GET.get("page", "")
        page = pending_page(
            workspace=workspace,
            query=request.GET.get("q", ""),
            page=min(int(number), 10_000) if number.isdigit() and int(number) > 0 else 1,
        )
    return {
        "account": user,
        "workspace": workspace,
        "workspaces": workspaces,
        **members_context(workspace, request.GET.get("members_page")),
        "may_invite": may_invite,
        "may_manage_members": may_invite,  # the same permission (invitations.members.may_manage_members)
        "pending": page.rows if page is not None else [],
        "page": page,
        "form": form or InviteForm(),
        "results": results,
        "invite_error": invite_error,
        "invite_open": may_invite and invite_open,
    }


def _partial(request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    response = render(request, template, context, status=status)
    response[PARTIAL_HEADER] = "1"
    return response


# --------------------------------------------------------------------------- /settings/
@never_cache
@require_GET
def settings_page(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    workspaces = list(selectors.workspaces_for_user(user=user))
    if not workspaces:
        return render(request, "invitations/settings.html", {"account": user, "workspace": None, "workspaces": []})
    chosen = request.GET.get("workspace", "")
    if chosen:
        if not chosen.isdigit():
            raise NotFound("Workspace not found.")
        workspace = selectors.workspace_for_member(user=user, workspace_id=int(chosen))
    else:
        workspace = workspaces[0]
    context = _settings_context(
        request, user=user, workspace=workspace, workspaces=workspaces, invite_open=request.GET.get("invite") == "1"
    )
    return render(request, "invitations/settings.html", context)


@never_cache
@require_POST
@_limited("invitations.api.invite", ratelimits.INVITE_RATE_SETTING)
def invite(request: HtmxHttpRequest, workspace_id: int) -> HttpResponse:
    user = signed_in_user(request)
    workspace = _invite_workspace(user, workspace_id)
    form = InviteForm(request.POST)
    results: list[services.InviteResult] | None = None
    invite_error = ""
    status = 200
    if form.is_valid():
        role = form.cleaned_data["role"]
        try:
            results = services.invitations_create(
                workspace=workspace, inviter=user, emails=form.cleaned_data["emails"], role=role
            )
        except NOT_OURS:
            raise
        except InvalidInput as exc:
            form.add_error("role" if isinstance(exc, InvalidRole) else "emails", exc.message)
            status = 400
        except ApplicationError as exc:
            invite_error = friendly_message(exc, action="send the invitations")
            status = exc.http_status
        else:
            # A fresh form, keeping the role and only the addresses worth correcting and sending again.
            form = InviteForm(initial={"emails": _retry_text(results), "role": role})
    else:
        status = 400
    if request.htmx:
        context = {
            "workspace": workspace,
            "form": form,
            "results": results,
            "invite_error": invite_error,
            "page": (page := pending_page(workspace=workspace)),
            "pending": page.rows,
            "may_invite": True,
        }
        return _partial(request, "invitations/_invite_response.html", context, status=status)
    # Without JavaScript: the whole page again, with the invite dialog open on the results.
    workspaces = list(selectors.workspaces_for_user(user=user))
    context = _settings_context(
        request,
        user=user,
        workspace=workspace,
        workspaces=workspaces,
        form=form,
        results=results,
        invite_error=invite_error,
        invite_open=True,
    )
    return render(request, "invitations/settings.html", context, status=status)


def _row_action(
    request: HtmxHttpRequest,
    workspace_id: int,
    invitation_id: int,
    *,
    action: str,
    done: str,
    perform: Callable[[User, WorkspaceInvitation], WorkspaceInvitation],
) -> HttpResponse:
    """Resend or revoke one invitation: the row again for htmx, a redirect with a flash message otherwise."""
    user = signed_in_user(request)
    workspace = _invite_workspace(user, workspace_id)
    invitation = selectors.invitation_get(workspace=workspace, invitation_id=invitation_id)
    notice, error, status = "", "", 200
    try:
        invitation = perform(user, invitation)
        notice = done
    except NOT_OURS:
        raise
    except ApplicationError as exc:
        error, status = friendly_message(exc, action=action), exc.http_status
        invitation = selectors.invitation_get(workspace=workspace, invitation_id=invitation_id)  # as it is now
    if request.htmx:
        context = {
            "workspace": workspace,
            "invitation": invitation,
            "row_notice": notice,
            "row_error": error,
            "pending_count": pending_page(workspace=workspace).total_label,
        }
        return _partial(request, "invitations/_invitation_row.html", context, status=status)
    if error:
        messages.error(request, f"{invitation.email}: {error}")
    else:
        messages.success(request, f"{invitation.email}: {notice}")
    return HttpResponseRedirect(_settings_url(workspace, anchor="pending"))


@never_cache
@require_POST
@_limited("invitations.api.resend", ratelimits.RESEND_RATE_SETTING)
def resend(request: HtmxHttpRequest, workspace_id: int, invitation_id: int) -> HttpResponse:
    return _row_action(
        request,
        workspace_id,
        invitation_id,
        action="resend the invitation",
        done="invitation sent again.",
        perform=lambda user, invitation: services.invitation_resend(invitation=invitation, actor=user),
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@_limited("invitations.api.revoke", ratelimits.REVOKE_RATE_SETTING)
def revoke(request: HtmxHttpRequest, workspace_id: int, invitation_id: int) -> HttpResponse:
    """GET (or a POST without ``confirm``, from a page without JavaScript) asks first; htmx asked in the browser."""
    if request.method == "POST" and (request.htmx or request.POST.get("confirm") == "yes"):
        return _row_action(
            request,
            workspace_id,
            invitation_id,
            action="revoke the invitation",
            done="invitation revoked; the link in their email no longer works.",
            perform=lambda user, invitation: services.invitation_revoke(invitation=invitation, actor=user),
        )
    user = signed_in_user(request)
    workspace = _invite_workspace(user, workspace_id)
    invitation = selectors.invitation_get(workspace=workspace, invitation_id=invitation_id)
    context = {"account": user, "workspace": workspace, "invitation": invitation}
    return render(request, "invitations/revoke_confirm.html", context)


# --------------------------------------------------------------------------- /accept-invite/
@never_cache
@require_GET
def accept_invite(request: HttpRequest) -> HttpResponse:
    """Where Clerk's invitation link lands: ``?__clerk_ticket=…&__clerk_status=sign_in|sign_up|complete``.

    The ticket flow itself runs in the browser (static/invitations/accept.js) against Clerk; this view only picks
    the first screen. The workspace and inviter come from our record of the invitation, found through the ticket's
    unverified ``sid`` claim: for display only, Clerk verifies the ticket when the browser uses it. A link that can no
    longer be used (accepted, revoked, superseded by a resend, expired) gets its explanation and a way on at once,
    and names nobody; someone signed in who is already a member is offered the workspace.
    """
    ticket = request.GET.get("__clerk_ticket", "").strip()
    clerk_status = request.GET.get("__clerk_status", "").strip()
    preview = selectors.invitation_preview_for_ticket(ticket=ticket) if ticket else None
    state = "missing" if not ticket else (preview.accept_state if preview is not None else "ready")
    user = getattr(request, "user", None)
    member_of = None
    if state == "accepted" and preview is not None:
        member_of = selectors.workspace_if_member(user=user, workspace_id=preview.workspace_id)
    context = {
        "state": state,
        "clerk_status": clerk_status if clerk_status in ACCEPT_STATUSES else "sign_up",
        # Who invited whom, to what, only while the link can still be used (issue 13's disclosure rule).
        "preview": preview if state == "ready" else None,
        "member_of": member_of,
        "expiry_days": settings.INVITATION_EXPIRY_DAYS,
        "workspace_url": f"{reverse('invitations:settings')}?workspace={member_of.pk}" if member_of else "",
        "next_url": reverse("dashboard"),
        "joined_url": reverse("invitations:accept-joined"),
        "sign_in_url": reverse("sign-in"),
    }
    response = render(request, "invitations/accept.html", context, status=400 if state == "missing" else 200)
    # The ticket is in this page's URL: no Referer may carry it to ClerkJS's host or anywhere else.
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@require_GET
def accept_joined(request: HttpRequest) -> JsonResponse:
    """``{"joined": true}`` once the signed-in user is a member of the invitation's workspace in our database.

    Clerk adds the membership at once; ours follows with the ``organizationMembership.created`` webhook, usually a
    moment later. The accept page asks this for a few seconds before opening the dashboard, so the dashboard shows
    the new workspace. It says nothing about anyone else: only whether the caller is a member.
    """
    user = getattr(request, "user", None)
    invitation_id = request.GET.get("invitation", "")
    if not isinstance(user, User) or not user.is_active:
        return JsonResponse({"joined": False}, status=401)
    joined = invitation_id.isdigit() and (
        workspace_memberships_for_user(user=user).filter(workspace__invitations__pk=int(invitation_id)).exists()
    )
    return JsonResponse({"joined": bool(joined)})
