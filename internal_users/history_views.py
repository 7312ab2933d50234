"""Staff pages of one staff invitation: its timeline (``/internal/users/invitations/{id}/``) and its invite link
shown once (``POST …/link/``, ``Cache-Control: no-store``). Same guard as the staff list (``internal_users:manage``);
a super_admin invitation's link needs a super_admin (the service says so)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import require_permission
from accounts.roles import Permission
from accounts.views import signed_in_user
from core.exceptions import ApplicationError, NotAuthenticated, NotFound
from core.pages import friendly_message
from internal_users import links, selectors
from internal_users.models import InternalInvitation
from internal_users.timeline import internal_invitation_timeline

manage_staff = require_permission(Permission.INTERNAL_USERS_MANAGE)


def _context(request: HttpRequest, invitation: InternalInvitation) -> dict[str, Any]:
    return {
        "account": signed_in_user(request),
        "invitation": invitation,
        "status": invitation.effective_status,
        "timeline": internal_invitation_timeline(invitation=invitation),
        "link_url": reverse("internal_users:invitation-link", args=[invitation.pk]),
    }


@never_cache
@require_GET
@manage_staff
def invitation_timeline(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = selectors.internal_invitation_get(invitation_id=invitation_id)
    return render(request, "internal_users/timeline.html", _context(request, invitation))


@never_cache
@require_POST
@manage_staff
def invitation_link(request: HttpRequest, invitation_id: int) -> HttpResponse:
    actor = signed_in_user(request)
    invitation = selectors.internal_invitation_get(invitation_id=invitation_id)
    status = 200
    extra: dict[str, Any] = {}
    try:
        extra["invite_link"] = links.internal_invitation_link_reveal(invitation=invitation, actor=actor)
    except (NotAuthenticated, NotFound):
        raise
    except ApplicationError as exc:
        extra["link_error"] = friendly_message(exc, action="get the invite link")
        status = exc.http_status
    context = {**_context(request, invitation), **extra}  # the timeline again, with the link_shown step
    response = render(request, "internal_users/timeline.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response
