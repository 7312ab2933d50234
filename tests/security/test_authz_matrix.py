"""The whole authorization matrix: every URL the project serves for every kind of caller, each outcome written
down below, and a test that fails when a URL exists that the table does not classify.

Callers: anonymous; a workspace member; that workspace's admin; the admin of ANOTHER workspace; the staff roles pm,
admin and super_admin; and a super_admin deactivated here (their Clerk session token is still valid, our database
says no). Pages authenticate with the ``__session`` cookie, the API with ``Authorization: Bearer``.

Outcomes: ``login`` (a page redirects to ``/sign-in/?next=…``), ``401`` (the API's error shape), ``403``, ``404``
(another workspace's objects: no existence leak, the same answer as for an id that does not exist), ``ok``
(authorization passed: any answer below 500 that is not 401/403/404 or a sign-in redirect; a validation 400 or a
409 counts, since the caller got past the guards), ``admin-login`` (Django admin's own login redirect).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts.models import User, Workspace
from accounts.roles import Role, WorkspaceRole
from internal_users import services as staff_services
from internal_users.models import InternalInvitation
from invitations import services as invitation_services
from invitations.models import WorkspaceInvitation
from tests.conftest import ClerkSession, SignedInClient

pytestmark = pytest.mark.django_db

ACTORS = ("anonymous", "member", "workspace_admin", "other_admin", "pm", "admin", "super_admin", "deactivated")

# Shorthands for a row of outcomes, in ACTORS order.
PUBLIC = ("ok",) * 8
SIGNED_IN_PAGE = ("login", "ok", "ok", "ok", "ok", "ok", "ok", "login")
WS_PAGE_VIEW = ("login", "ok", "ok", "404", "ok", "ok", "ok", "login")
WS_PAGE_MANAGE = ("login", "403", "ok", "404", "ok", "ok", "ok", "login")
INTERNAL_PAGE = ("login", "403", "403", "403", "ok", "ok", "ok", "login")
STAFF_PAGE = ("login", "403", "403", "403", "403", "ok", "ok", "login")
SUPER_PAGE = ("login", "403", "403", "403", "403", "403", "ok", "login")
WS_API_MANAGE = ("401", "403", "ok", "404", "ok", "ok", "ok", "401")
WS_API_MEMBERS = ("401", "ok", "ok", "404", "ok", "ok", "ok", "401")
STAFF_API = ("401", "403", "403", "403", "403", "ok", "ok", "401")
SUPER_API = ("401", "403", "403", "403", "403", "403", "ok", "401")
DJANGO_ADMIN = ("admin-login",) * 6 + ("ok", "admin-login")
# The API docs are public, but a token we refuse (a deactivated user's) is refused, as DRF does, not read as anonymous.
PUBLIC_API = ("ok",) * 7 + ("401",)
# The accept page's "has my membership arrived?" poll: JSON about the caller only.
SIGNED_IN_JSON = ("401", "ok", "ok", "ok", "ok", "ok", "ok", "401")


@dataclass
class World:
    workspace: Workspace
    other_workspace: Workspace
    invitation: WorkspaceInvitation
    staff_invitation: InternalInvitation
    target: User  # a pm the staff actions act on
    pages: dict[str, Client]
    api: dict[str, Client]


# (route pattern as the resolver spells it, method, request builder, expected outcomes in ACTORS order)
Request = Callable[[Client, World], Any]
ROUTES: list[tuple[str, str, Request, tuple[str, ...]]] = [
    ("", "GET", lambda c, w: c.get("/"), PUBLIC),
    ("sign-in/", "GET", lambda c, w: c.get("/sign-in/"), PUBLIC),
    ("sign-out/", "GET", lambda c, w: c.get("/sign-out/"), PUBLIC),
    ("dashboard/", "GET", lambda c, w: c.get("/dashboard/"), SIGNED_IN_PAGE),
    ("settings/", "GET", lambda c, w: c.get(f"/settings/?workspace={w.workspace.pk}"), WS_PAGE_VIEW),
    (
        "settings/workspaces/<int:workspace_id>/invitations/",
        "POST",
        lambda c, w: c.post(
            f"/settings/workspaces/{w.workspace.pk}/invitations/", {"emails": "new@example.com", "role": "member"}
        ),
        WS_PAGE_MANAGE,
    ),
    (
        "settings/workspaces/<int:workspace_id>/invitations/<int:invitation_id>/resend/",
        "POST",
        lambda c, w: c.post(f"/settings/workspaces/{w.workspace.pk}/invitations/{w.invitation.pk}/resend/"),
        WS_PAGE_MANAGE,
    ),
    (
        "settings/workspaces/<int:workspace_id>/invitations/<int:invitation_id>/revoke/",
        "POST",
        lambda c, w: c.post(
            f"/settings/workspaces/{w.workspace.pk}/invitations/{w.invitation.pk}/revoke/", {"confirm": "yes"}
        ),
        WS_PAGE_MANAGE,
    ),
    ("accept-invite/", "GET", lambda c, w: c.get("/accept-invite/?__clerk_ticket=t"), PUBLIC),
    (
        "accept-invite/joined/",
        "GET",
        lambda c, w: c.get(f"/accept-invite/joined/?invitation={w.invitation.pk}"),
        SIGNED_IN_JSON,
    ),
    ("internal/", "GET", lambda c, w: c.get("/internal/"), INTERNAL_PAGE),
    ("internal/users/", "GET", lambda c, w: c.get("/internal/users/"), STAFF_PAGE),
    (
        "internal/users/",
        "POST",
        lambda c, w: c.post("/internal/users/", {"email": "someone@example.com", "role": "pm"}),
        STAFF_PAGE,
    ),
    (
        "internal/users/grant-role/",
        "POST",
        lambda c, w: c.post("/internal/users/grant-role/", {"email": w.target.email, "role": "admin"}),
        STAFF_PAGE,
    ),
    (
        "internal/users/invitations/<int:invitation_id>/resend/",
        "POST",
        lambda c, w: c.post(f"/internal/users/invitations/{w.staff_invitation.pk}/resend/"),
        STAFF_PAGE,
    ),
    (
        "internal/users/invitations/<int:invitation_id>/revoke/",
        "POST",
        lambda c, w: c.post(f"/internal/users/invitations/{w.staff_invitation.pk}/revoke/"),
        STAFF_PAGE,
    ),
    (
        "internal/users/<str:clerk_user_id>/deactivate/",
        "POST",
        lambda c, w: c.post(f"/internal/users/{w.target.clerk_user_id}/deactivate/"),
        STAFF_PAGE,
    ),
    (
        "internal/users/<str:clerk_user_id>/reactivate/",
        "POST",
        lambda c, w: c.post(f"/internal/users/{w.target.clerk_user_id}/reactivate/"),
        STAFF_PAGE,
    ),
    (
        "internal/users/<str:clerk_user_id>/remove/",
        "POST",
        lambda c, w: c.post(f"/internal/users/{w.target.clerk_user_id}/remove/", {"confirm_email": w.target.email}),
        SUPER_PAGE,
    ),
    ("internal/accept-invite/", "GET", lambda c, w: c.get("/internal/accept-invite/?__clerk_ticket=t"), PUBLIC),
    ("onboarding/phone/", "GET", lambda c, w: c.get("/onboarding/phone/"), SIGNED_IN_PAGE),
    (
        "api/^workspaces/(?P<workspace_id>[^/]+)/invitations/$",
        "GET",
        lambda c, w: c.get(f"/api/workspaces/{w.workspace.pk}/invitations/"),
        WS_API_MANAGE,
    ),
    (
        "api/^workspaces/(?P<workspace_id>[^/]+)/invitations/$",
        "POST",
        lambda c, w: c.post(
            f"/api/workspaces/{w.workspace.pk}/invitations/",
            {"emails": ["new@example.com"], "role": "member"},
            content_type="application/json",
        ),
        WS_API_MANAGE,
    ),
    (
        "api/^workspaces/(?P<workspace_id>[^/]+)/invitations/(?P<invitation_id>[^/]+)/resend/$",
        "POST",
        lambda c, w: c.post(f"/api/workspaces/{w.workspace.pk}/invitations/{w.invitation.pk}/resend/"),
        WS_API_MANAGE,
    ),
    (
        "api/^workspaces/(?P<workspace_id>[^/]+)/invitations/(?P<invitation_id>[^/]+)/revoke/$",
        "POST",
        lambda c, w: c.post(f"/api/workspaces/{w.workspace.pk}/invitations/{w.invitation.pk}/revoke/"),
        WS_API_MANAGE,
    ),
    (
        "api/^workspaces/(?P<workspace_id>[^/]+)/members/$",
        "GET",
        lambda c, w: c.get(f"/api/workspaces/{w.workspace.pk}/members/"),
        WS_API_MEMBERS,
    ),
    ("api/admin/internal-users/^$", "GET", lambda c, w: c.get("/api/admin/internal-users/"), STAFF_API),
    (
        "api/admin/internal-users/^invitations/$",
        "POST",
        lambda c, w: c.post(
            "/api/admin/internal-users/invitations/",
            {"email": "someone@example.com", "role": "pm"},
            content_type="application/json",
        ),
        STAFF_API,
    ),
    (
        "api/admin/internal-users/^invitations/(?P<invitation_id>[^/]+)/resend/$",
        "POST",
        lambda c, w: c.post(f"/api/admin/internal-users/invitations/{w.staff_invitation.pk}/resend/"),
        STAFF_API,
    ),
    (
        "api/admin/internal-users/^invitations/(?P<invitation_id>[^/]+)/revoke/$",
        "POST",
        lambda c, w: c.post(f"/api/admin/internal-users/invitations/{w.staff_invitation.pk}/revoke/"),
        STAFF_API,
    ),
    (
        "api/admin/internal-users/^grant-role/$",
        "POST",
        lambda c, w: c.post(
            "/api/admin/internal-users/grant-role/",
            {"email": w.target.email, "role": "admin"},
            content_type="application/json",
        ),
        STAFF_API,
    ),
    (
        "api/admin/internal-users/^(?P<clerk_user_id>[^/]+)/$",
        "DELETE",
        lambda c, w: c.delete(f"/api/admin/internal-users/{w.target.clerk_user_id}/"),
        SUPER_API,
    ),
    (
        "api/admin/internal-users/^(?P<clerk_user_id>[^/]+)/deactivate/$",
        "POST",
        lambda c, w: c.post(f"/api/admin/internal-users/{w.target.clerk_user_id}/deactivate/"),
        STAFF_API,
    ),
    (
        "api/admin/internal-users/^(?P<clerk_user_id>[^/]+)/reactivate/$",
        "POST",
        lambda c, w: c.post(f"/api/admin/internal-users/{w.target.clerk_user_id}/reactivate/"),
        STAFF_API,
    ),
    ("webhooks/clerk/", "GET", lambda c, w: c.get("/webhooks/clerk/"), ("405",) * 8),
    (
        "webhooks/clerk/",
        "POST",
        lambda c, w: c.post("/webhooks/clerk/", b"{}", content_type="application/json"),
        ("400",) * 8,
    ),
    ("api/schema/", "GET", lambda c, w: c.get("/api/schema/"), PUBLIC_API),
    ("api/docs/", "GET", lambda c, w: c.get("/api/docs/"), PUBLIC_API),
    ("django-admin/", "GET", lambda c, w: c.get("/django-admin/"), DJANGO_ADMIN),
    (
        "django-admin/core/auditevent/",
        "GET",
        lambda c, w: c.get("/django-admin/core/auditevent/"),
        DJANGO_ADMIN,
    ),
    ("django-admin/accounts/user/", "GET", lambda c, w: c.get("/django-admin/accounts/user/"), DJANGO_ADMIN),
]
# Django admin's own URLs (login, changelists, change forms of every registered model) are one group: they all sit
# behind admin.site's permission check, sampled by the three django-admin rows above.
GROUPS = {"django-admin/": "the Django admin (admin.site.has_permission: active super admins only)"}


def _patterns(resolver: URLResolver, prefix: str = "") -> list[str]:
    found: list[str] = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            found += _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            found.append(prefix + str(entry.pattern))
    return found


def test_every_url_is_classified() -> None:
    classified = {route for route, *_ in ROUTES}
    unclassified = [
        pattern
        for pattern in _patterns(get_resolver())
        if pattern not in classified and not any(pattern.startswith(group) for group in GROUPS)
    ]
    assert unclassified == [], f"add these URLs to ROUTES with their expected outcomes: {unclassified}"


@pytest.fixture
def world(
    clerk_session: Callable[..., ClerkSession], clerk_workspace: Callable[..., Workspace], settings: Any
) -> World:
    settings.APP_BASE_URL = "https://app.example.com"
    settings.CLERK_WEBHOOK_SIGNING_SECRET = "whsec_" + "c2VjdXJpdHktbWF0cml4LXNpZ25pbmctc2VjcmV0"
    workspace, other = clerk_workspace("Acme"), clerk_workspace("Globex")
    sessions = {
        "member": clerk_session(Role.MEMBER, workspace=workspace, workspace_role=WorkspaceRole.MEMBER),
        "workspace_admin": clerk_session(Role.MEMBER, workspace=workspace, workspace_role=WorkspaceRole.ADMIN),
        "other_admin": clerk_session(Role.MEMBER, workspace=other, workspace_role=WorkspaceRole.ADMIN),
        "pm": clerk_session(Role.PM),
        "admin": clerk_session(Role.ADMIN),
        "super_admin": clerk_session(Role.SUPER_ADMIN),
        "deactivated": clerk_session(Role.SUPER_ADMIN),
    }
    deactivated = sessions["deactivated"].user
    assert deactivated is not None
    User.objects.filter(pk=deactivated.pk).update(disabled_at=timezone.now())
    root = sessions["super_admin"].user
    assert root is not None
    [result] = invitation_services.invitations_create(
        workspace=workspace, inviter=root, emails=["guest@example.com"], role="member"
    )
    assert result.invitation is not None
    staff_invitation = staff_services.internal_invite(email="staff.guest@example.com", role="pm", actor=root)
    target = clerk_session(Role.PM, email="target.pm@example.com").user
    assert target is not None
    pages: dict[str, Client] = {"anonymous": Client()}
    api: dict[str, Client] = {"anonymous": Client()}
    for actor, session in sessions.items():
        pages[actor] = SignedInClient(session, via="cookie")
        api[actor] = SignedInClient(session, via="header")
    return World(workspace, other, result.invitation, staff_invitation, target, pages, api)


def _outcome(response: Any, expected: str) -> str:
    status: int = response.status_code
    if expected in ("400", "405"):  # the webhook: refused before any identity matters
        return str(status)
    location = response.headers.get("Location", "")
    if status in (301, 302) and location.startswith("/sign-in/"):
        return "login"
    if status == 302 and location.startswith("/django-admin/login/"):
        return "admin-login"
    if status in (401, 403, 404):
        return str(status)
    if status >= 500:
        return f"server error {status}"
    return "ok"


CELL_COUNT = len(ROUTES) * len(ACTORS)


@pytest.mark.parametrize(
    ("route", "method", "perform", "expected"),
    ROUTES,
    ids=[f"{method} /{re.sub(r'[^a-z0-9/<>_-]+', '', route)}" for route, method, _, _ in ROUTES],
)
def test_route(world: World, route: str, method: str, perform: Request, expected: tuple[str, ...]) -> None:
    assert len(expected) == len(ACTORS)
    seen = {}
    for actor, want in zip(ACTORS, expected, strict=True):
        client = world.api[actor] if route.startswith(("api/^", "api/admin/")) else world.pages[actor]
        seen[actor] = _outcome(perform(client, world), want)
    assert seen == dict(zip(ACTORS, expected, strict=True))


def test_the_matrix_size() -> None:
    routes = {route for route, *_ in ROUTES}
    print(
        f"authorization matrix: {CELL_COUNT} cells, {len(ROUTES)} rows over {len(routes)} URL patterns, "
        f"{len(ACTORS)} callers"
    )
    assert len(ROUTES) * 8 == CELL_COUNT
