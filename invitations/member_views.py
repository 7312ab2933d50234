"""Member row actions on ``/settings/``: change a member's workspace role, remove a member, leave the workspace.

Thin, like ``invitations.views``: the rules are ``invitations.members``. Each action asks first. With JavaScript the
product's own dialog asks (static/invitations/members.js) and htmx posts the form, getting the members card back
(the changed row with its note, every other row's actions as they now are); without it, a plain POST without
``confirm=yes`` (or a GET) shows a confirmation page whose form posts again with it, then redirects to
``/settings/`` with a flash message.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from accounts.models import User, Workspace, WorkspaceMembership
from accounts.roles import WorkspaceRole
from accounts.views import signed_in_user
from core.exceptions import ApplicationError, PermissionDenied
from core.pages import friendly_message
from core.ratelimits import per_user_posts
from invitations import members, selectors
from invitations.api import ratelimits
from invitations.views import NOT_OURS, HtmxHttpRequest, _partial, _settings_url, members_context

_limited = per_user_posts


def _confirmed(request: HtmxHttpRequest) -> bool:
    return request.method == "POST" and (bool(request.htmx) or request.POST.get("confirm") == "yes")


def _section(
    request: HtmxHttpRequest, user: User, workspace: Workspace, *, status: int = 200, **extra: Any
) -> HttpResponse:
    """The members card again (the count and every row's actions follow the change: who is the only admin now)."""
    context = {
        "account": user,
        "workspace": workspace,
        **members_context(workspace, request.POST.get("members_page") or request.GET.get("members_page")),
        "may_manage_members": members.may_manage_members(user=user, workspace=workspace),
        **extra,
    }
    return _partial(request, "invitations/_members_section.html", context, status=status)


def _confirm_page(
    request: HtmxHttpRequest,
    user: User,
    workspace: Workspace,
    membership: WorkspaceMembership,
    *,
    action: str,
    role: str = "",
) -> HttpResponse:
    context = {"account": user, "workspace": workspace, "membership": membership, "action": action, "role": role}
    return render(request, "invitations/member_confirm.html", context)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@_limited("invitations.members.role", ratelimits.REVOKE_RATE_SETTING)
def member_role(request: HtmxHttpRequest, workspace_id: int, clerk_user_id: str) -> HttpResponse:
    user = signed_in_user(request)
    workspace = selectors.workspace_for_member(user=user, workspace_id=workspace_id)
    if not members.may_manage_members(user=user, workspace=workspace):
        raise PermissionDenied("Only workspace admins and staff can change members' roles.")
    membership = members.member_get(workspace=workspace, clerk_user_id=clerk_user_id)
    role = request.POST.get("role", "") if request.method == "POST" else request.GET.get("role", "")
    if role not in WorkspaceRole.values:
        role = WorkspaceRole.MEMBER if membership.role == WorkspaceRole.ADMIN else WorkspaceRole.ADMIN
    if not _confirmed(request):
        return _confirm_page(request, user, workspace, membership, action="role", role=role)
    notice, error, status = "", "", 200
    try:
        membership = members.member_role_change(workspace=workspace, actor=user, clerk_user_id=clerk_user_id, role=role)
        notice = f"now {'an admin' if membership.role == WorkspaceRole.ADMIN else 'a member'} of {workspace.name}."
    except NOT_OURS:
        raise
    except ApplicationError as exc:
        error, status = friendly_message(exc, action="change the role"), exc.http_status
        membership = members.member_get(workspace=workspace, clerk_user_id=clerk_user_id)
    if request.htmx:
        return _section(
            request, user, workspace, status=status, changed_id=clerk_user_id, row_notice=notice, row_error=error
        )
    name = membership.user.full_name
    if error:
        messages.error(request, f"{name}: {error}")
    else:
        messages.success(request, f"{name} is {notice}")
    return HttpResponseRedirect(_settings_url(workspace, anchor="members"))


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@_limited("invitations.members.remove", ratelimits.REVOKE_RATE_SETTING)
def member_remove(request: HtmxHttpRequest, workspace_id: int, clerk_user_id: str) -> HttpResponse:
    user = signed_in_user(request)
    workspace = selectors.workspace_for_member(user=user, workspace_id=workspace_id)
    if not members.may_remove(user=user, workspace=workspace, clerk_user_id=clerk_user_id):
        raise PermissionDenied("Only workspace admins and staff can remove other members.")
    membership = members.member_get(workspace=workspace, clerk_user_id=clerk_user_id)
    leaving = clerk_user_id == user.clerk_user_id
    if not _confirmed(request):
        return _confirm_page(request, user, workspace, membership, action="leave" if leaving else "remove")
    try:
        members.member_remove(workspace=workspace, actor=user, clerk_user_id=clerk_user_id)
    except NOT_OURS:
        raise
    except ApplicationError as exc:
        error = friendly_message(exc, action="leave the workspace" if leaving else "remove the member")
        if request.htmx:
            return _section(request, user, workspace, status=exc.http_status, changed_id=clerk_user_id, row_error=error)
        messages.error(request, f"{membership.user.full_name}: {error}")
        return HttpResponseRedirect(_settings_url(workspace, anchor="members"))
    if leaving:
        messages.success(request, f"You left {workspace.name}.")
        # Still able to see it (staff)? Back to its settings; otherwise it is no longer yours to see.
        still_sees = selectors.workspaces_for_user(user=user).filter(pk=workspace.pk).exists()
        target = _settings_url(workspace, anchor="members") if still_sees else reverse("dashboard")
        return HttpResponseClientRedirect(target) if request.htmx else HttpResponseRedirect(target)
    if request.htmx:
        return _section(request, user, workspace, removed_name=membership.user.full_name)
    messages.success(request, f"{membership.user.full_name} was removed from {workspace.name}.")
    return HttpResponseRedirect(_settings_url(workspace, anchor="members"))
