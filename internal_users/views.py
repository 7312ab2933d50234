"""Staff pages: ``/internal/`` (dashboard), ``/internal/users/`` (the staff list and its actions),
``/internal/accept-invite/`` (Clerk's ticket sign-up, run by ClerkJS) and ``/onboarding/phone/``.

Views stay thin: check who is asking, call a selector or service, render. Every action is a plain form (POST, then
a redirect back to the list with a message); htmx (``hx-boost`` on the list) upgrades the same forms so only the
list is swapped in place. Rate limits and the global invitation budget are the API's (``internal_users.ratelimits``,
``core.budgets``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from accounts.permissions import has_permission, require_any_role, require_permission
from accounts.roles import INTERNAL_ROLES, Permission, Role
from accounts.views import safe_next, signed_in_user
from core import ratelimits
from core.exceptions import ApplicationError, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from core.pages import friendly_message
from core.redirects import safe_redirect
from internal_users import phone_onboarding, selectors, services
from internal_users.errors import AlreadyAUser, CannotActOnSelf, InvalidCursor, NoAccount, SuperAdminOnly
from internal_users.forms import RemoveForm, StaffRoleForm, role_choices_for
from internal_users.models import InternalInvitation
from internal_users.ratelimits import (
    ACTION_GROUP,
    ACTION_RATE_SETTING,
    INVITE_GROUP,
    INVITE_RATE_SETTING,
    RESEND_GROUP,
    RESEND_RATE_SETTING,
)

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])
NOT_OURS = (NotAuthenticated, PermissionDenied, NotFound)  # left to core.middleware.PageErrorMiddleware
manage_staff = require_permission(Permission.INTERNAL_USERS_MANAGE)
ACCEPT_STATUSES = frozenset({"sign_up", "sign_in", "complete"})
LIST_PAGE_HEADER = "X-Staff-Page"
# Refusals the grant form shows next to its field (the rest of NOT_OURS are the error pages').
GRANT_REFUSALS = (SuperAdminOnly, CannotActOnSelf, NoAccount)


# POSTs count per user with the API's (same groups, keys and rates); fail closed when the cache is down.
_limited = ratelimits.per_user_posts


def _list_page(request: HttpRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    """The staff list; a refusal re-renders it with the error next to its form. The header tells
    static/internal_users/staff.js that such an error response is a page to swap in (htmx skips 4xx otherwise)."""
    response = render(request, "internal_users/users.html", context, status=status)
    if status >= 400:
        response[LIST_PAGE_HEADER] = "1"
    return response


def _done(request: HttpRequest, message: str) -> HttpResponseRedirect:
    messages.success(request, message)
    return HttpResponseRedirect(_safe_back(request))


def _failed(request: HttpRequest, exc: ApplicationError, *, action: str) -> HttpResponseRedirect:
    if isinstance(exc, NOT_OURS) and not isinstance(exc, (SuperAdminOnly, CannotActOnSelf)):
        raise exc
    messages.error(request, friendly_message(exc, action=action))
    return HttpResponseRedirect(_safe_back(request))


# --------------------------------------------------------------------------- dashboard
@require_GET
@never_cache
@require_any_role(*INTERNAL_ROLES)
def dashboard(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    manages = has_permission(user, Permission.INTERNAL_USERS_MANAGE)
    context = {"account": user, "manages_staff": manages, "counts": selectors.staff_counts() if manages else None}
    return render(request, "internal_users/dashboard.html", context)


# --------------------------------------------------------------------------- the staff list
def _list_context(request: HttpRequest, actor: User, **forms: StaffRoleForm) -> dict[str, Any]:
    try:
        filters = selectors.staff_filters(
            status=request.GET.get("status"), role=request.GET.get("role"), search=request.GET.get("q")
        )
        page = selectors.staff_list(filters=filters, cursor=request.GET.get("cursor") or None)
        filter_error = ""
    except (InvalidInput, InvalidCursor) as exc:
        filters = selectors.StaffFilters()
        page = selectors.staff_list(filters=filters)
        filter_error = exc.message
    query = {
        key: value
        for key, value in (("status", filters.status), ("role", filters.role), ("q", filters.search))
        if value
    }

    def page_url(cursor: str | None) -> str | None:
        return f"?{urlencode({**query, 'cursor': cursor})}" if cursor else None

    return {
        "account": actor,
        "page": page,
        "filters": filters,
        "filter_error": filter_error,
        "next_url": page_url(page.next_cursor),
        "previous_url": page_url(page.previous_cursor),
        "here": request.get_full_path(),
        "counts": selectors.staff_counts(),
        "status_choices": ["pending", "expired", "failed", "revoked", "accepted", "active", "inactive"],
        "role_choices": role_choices_for(actor),
        "all_roles": [(role.value, role.label) for role in Role if role in INTERNAL_ROLES],
        "can_remove": has_permission(actor, Permission.INTERNAL_USERS_DELETE),
        "can_super": has_permission(actor, Permission.SUPER_ADMIN_ASSIGN),
        "invite_form": forms.get("invite_form") or StaffRoleForm(actor=actor, auto_id="invite-%s"),
        "grant_form": forms.get("grant_form") or StaffRoleForm(actor=actor, auto_id="grant-%s"),
    }


@require_http_methods(["GET", "POST"])
@never_cache
@manage_staff
@_limited(INVITE_GROUP, INVITE_RATE_SETTING)
def staff_users(request: HttpRequest) -> HttpResponse:
    """GET: the list. POST: invite (the form re-renders with its error on refusal)."""
    actor = signed_in_user(request)
    if request.method == "POST":
        form = StaffRoleForm(request.POST, actor=actor, auto_id="invite-%s")
        if form.is_valid():
            try:
                row = services.internal_invite(
                    email=form.cleaned_data["email"], role=form.cleaned_data["role"], actor=actor
                )
            except ApplicationError as exc:
                if isinstance(exc, NOT_OURS) and not isinstance(exc, SuperAdminOnly):
                    raise
                # Prefilled for "Grant staff role" (add_error drops the email from cleaned_data: copy it first).
                grant = StaffRoleForm(initial=dict(form.cleaned_data), actor=actor, auto_id="grant-%s")
                form.add_error("email", friendly_message(exc, action="invite"))
                context = _list_context(request, actor, invite_form=form, grant_form=grant)
                context["already_a_user"] = isinstance(exc, AlreadyAUser)
                return _list_page(request, context, status=exc.http_status)
            return _done(request, f"Invitation sent to {row.email}.")
        context = _list_context(request, actor, invite_form=form)
        return _list_page(request, context, status=400)
    return _list_page(request, _list_context(request, actor))


@require_POST
@manage_staff
@_limited(ACTION_GROUP, ACTION_RATE_SETTING)
def grant_role(request: HttpRequest) -> HttpResponse:
    actor = signed_in_user(request)
    form = StaffRoleForm(request.POST, actor=actor, auto_id="grant-%s")
    status = 400
    if form.is_valid():
        try:
            user = services.staff_role_grant(
                email=form.cleaned_data["email"], role=form.cleaned_data["role"], actor=actor
            )
        except ApplicationError as exc:
            if isinstance(exc, NOT_OURS) and not isinstance(exc, GRANT_REFUSALS):
                raise
            form.add_error("email", friendly_message(exc, action="grant the role"))
            status = exc.http_status
        else:
            return _done(request, f"{user.email} is now {user.get_role_display()}.")
    context = _list_context(request, actor, grant_form=form)
    return _list_page(request, context, status=status)


def _invitation(invitation_id: int) -> InternalInvitation:
    return selectors.internal_invitation_get(invitation_id=invitation_id)


@require_POST
@manage_staff
@_limited(RESEND_GROUP, RESEND_RATE_SETTING)
def invitation_resend(request: HttpRequest, invitation_id: int) -> HttpResponse:
    actor = signed_in_user(request)
    try:
        row = services.internal_invitation_resend(invitation=_invitation(invitation_id), actor=actor)
    except ApplicationError as exc:
        return _failed(request, exc, action="resend the invitation")
    return _done(request, f"Invitation to {row.email} sent again. The new link works for 7 days.")


@require_http_methods(["GET", "POST"])
@never_cache
@manage_staff
@_limited(ACTION_GROUP, ACTION_RATE_SETTING)
def invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    """GET (or a POST without ``confirm``, from a page without JavaScript) asks first; static/core/confirm.js asked
    in the browser and adds ``confirm=yes``, as htmx's boosted forms are taken as asked."""
    actor = signed_in_user(request)
    invitation = _invitation(invitation_id)
    if request.method == "GET" or not (request.POST.get("confirm") == "yes" or request.headers.get("HX-Request")):
        context = {"invitation": invitation, "action": "revoke", "back": _safe_back(request)}
        return render(request, "internal_users/confirm.html", context)
    try:
        row = services.internal_invitation_revoke(invitation=invitation, actor=actor)
    except ApplicationError as exc:
        return _failed(request, exc, action="revoke the invitation")
    return _done(request, f"Invitation to {row.email} revoked. Its link no longer works.")


def _staff_user(clerk_user_id: str) -> User:
    return selectors.staff_user_get(clerk_user_id=clerk_user_id)


@require_http_methods(["GET", "POST"])
@never_cache
@manage_staff
@_limited(ACTION_GROUP, ACTION_RATE_SETTING)
def user_deactivate(request: HttpRequest, clerk_user_id: str) -> HttpResponse:
    """GET: the confirmation. POST: ban in Clerk and mirror it."""
    actor = signed_in_user(request)
    target = _staff_user(clerk_user_id)
    if request.method == "GET":
        context = {"target": target, "action": "deactivate", "back": _safe_back(request)}
        return render(request, "internal_users/confirm.html", context)
    try:
        services.staff_user_deactivate(user=target, actor=actor)
    except ApplicationError as exc:
        return _failed(request, exc, action="deactivate this account")
    return _done(request, f"{target.full_name} is deactivated: signed out everywhere and unable to sign in.")


@require_POST
@manage_staff
@_limited(ACTION_GROUP, ACTION_RATE_SETTING)
def user_reactivate(request: HttpRequest, clerk_user_id: str) -> HttpResponse:
    actor = signed_in_user(request)
    target = _staff_user(clerk_user_id)
    try:
        services.staff_user_reactivate(user=target, actor=actor)
    except ApplicationError as exc:
        return _failed(request, exc, action="reactivate this account")
    return _done(request, f"{target.full_name} is active again and can sign in.")


@require_http_methods(["GET", "POST"])
@never_cache
@require_permission(Permission.INTERNAL_USERS_DELETE)
@_limited(ACTION_GROUP, ACTION_RATE_SETTING)
def user_remove(request: HttpRequest, clerk_user_id: str) -> HttpResponse:
    """GET: the typed confirmation. POST: delete the Clerk user and ours (the audit trail stays)."""
    actor = signed_in_user(request)
    target = _staff_user(clerk_user_id)
    form = RemoveForm(request.POST or None, target=target)
    if request.method == "POST" and form.is_valid():
        name = target.full_name
        try:
            services.staff_user_remove(user=target, actor=actor)
        except ApplicationError as exc:
            return _failed(request, exc, action="remove this account")
        return _done(request, f"{name} was removed. Their history stays in the audit log.")
    context = {"target": target, "action": "remove", "form": form, "back": _safe_back(request)}
    return render(request, "internal_users/confirm.html", context, status=400 if request.method == "POST" else 200)


def _safe_back(request: HttpRequest) -> str:
    """Back to the staff list the action came from (its filters and page), never off-site."""
    base = reverse("internal_users:users")
    return safe_redirect(request, request.GET.get("back") or request.POST.get("back"), default=base, within=base)


# --------------------------------------------------------------------------- accept
@require_GET
@never_cache
def accept_invite(request: HttpRequest) -> HttpResponse:
    """The page Clerk's invitation link lands on. The ticket stays in the URL for ClerkJS; it is never echoed.

    A link that can no longer be used (accepted, revoked, superseded by a resend, expired) gets its explanation and
    a way on at once, naming nobody; a signed-in staff member whose invitation was accepted is offered /internal/.
    """
    status = request.GET.get("__clerk_status", "")
    ticket = request.GET.get("__clerk_ticket", "")
    if ticket:
        state, row = selectors.accept_state_for_ticket(ticket=ticket)
    else:
        state, row = ("signed_in" if status == "complete" else "missing"), None
    user = getattr(request, "user", None)
    context = {
        "state": state,
        "clerk_status": status if status in ACCEPT_STATUSES else "sign_up",
        # Who invited them, as what, only while the link can still be used (issue 13's disclosure rule).
        "preview": _invitation_preview(request.GET.get("invitation_id", ""), row=row) if state == "ready" else None,
        "is_staff_member": state == "accepted" and isinstance(user, User) and user.is_active and user.is_internal,
        "expiry_days": settings.INVITATION_EXPIRY_DAYS,
        "next_url": reverse("internal_users:dashboard"),
        "sign_in_url": reverse("sign-in"),
    }
    response = render(request, "internal_users/accept.html", context)
    response["Referrer-Policy"] = "no-referrer"
    return response


def _invitation_preview(raw: str, *, row: InternalInvitation | None) -> dict[str, str] | None:
    """Role and inviter for the page's greeting, only for the holder of this invitation's ticket.

    Local ids are sequential: without a ticket naming this row's Clerk invitation (``row``, found from the ticket),
    the page says nothing about it (no inviter, no role), so ``?invitation_id=N`` cannot be walked. Never the
    invitee's email.
    """
    if row is None or not raw.isdigit() or len(raw) > 18 or row.pk != int(raw):
        return None
    return {"role": Role(row.role).label, "inviter": row.inviter_name or row.inviter_email}


# --------------------------------------------------------------------------- phone onboarding
@require_http_methods(["GET", "POST"])
@never_cache
def onboarding_phone(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    next_url = safe_next(request, request.GET.get("next") or request.POST.get("next"))
    if not phone_onboarding.phone_onboarding_required(user):
        return HttpResponseRedirect(phone_onboarding.phone_onboarding_exit(user, next_url=next_url))
    if request.method == "POST":
        try:
            phone_onboarding.phone_verification_complete(user=user)
        except ApplicationError as exc:
            if isinstance(exc, NOT_OURS):
                raise
            context = {"next_url": next_url, "error": exc.message}
            return render(request, "internal_users/onboarding_phone.html", context, status=exc.http_status)
        return HttpResponseRedirect(next_url)
    return render(request, "internal_users/onboarding_phone.html", {"next_url": next_url})
