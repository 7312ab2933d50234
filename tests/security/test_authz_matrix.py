"""The whole authorization matrix: every URL the project serves, for every kind of caller and every method it answers,
each outcome written down in ``ROWS`` below, and a test that fails when the URL resolver serves a pattern the table
does not classify (a new URL must be added here with its expected outcomes).

Callers (``ACTORS``): anonymous; a member of workspace A; A's admin; the admin of ANOTHER workspace B; the staff
roles pm, admin and super_admin (workspace roles are only admin and member: ``accounts.roles.WorkspaceRole``); and a
super_admin deactivated here (``disabled_at`` set: their Clerk session token is still valid, our database says no).
Pages authenticate with the ``__session`` cookie as a browser does, the API with ``Authorization: Bearer``.

Outcomes:

- ``ok``: authorization passed (any answer below 500 that is not 401/403/404 nor a redirect to a sign-in page; a
  validation 400 or a 409 counts, since the caller got past every guard);
- ``login``: a page redirects to ``/sign-in/``, with ``next`` = the page asked for (GET);
- ``401``: the API's error shape ``{"code": "not_authenticated", …}`` with ``WWW-Authenticate: Bearer``;
- ``403``: the API's ``permission_denied`` error, or the styled HTML 403 page;
- ``404``: another workspace's objects; checked to be byte-for-byte the answer for ids that do not exist;
- ``admin-login`` / ``admin-index``: Django admin's own redirects (to its login view, which sends anonymous callers
  to ``/sign-in/`` and gives signed-in non-super-admins the 403 page; or, for its logout, to its index);
- ``400`` / ``405``: exact statuses (the webhook: authenticated by its svix signature, not by who calls).

Refused cells (401, 403, 404, login, admin-*) must reach no Clerk endpoint (the emulator's ``request_log``).
``test_privilege_escalation`` adds cells where the URL is allowed but the body asks for more than the caller has.
The number of cells checked is counted and compared with the table's size at the end of the module (a line with
the figures is printed).
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts.models import User, Workspace
from accounts.roles import Role, WorkspaceRole
from clerk_emulator.state import Emulator
from internal_users import services as staff_services
from internal_users.models import InternalInvitation
from invitations import services as invitation_services
from invitations.models import WorkspaceInvitation
from tests.conftest import ClerkSession, SignedInClient

pytestmark = pytest.mark.django_db

ACTORS = ("anonymous", "member", "workspace_admin", "other_admin", "pm", "admin", "super_admin", "deactivated")
Outcome = str
Expected = tuple[Outcome, ...]

# --------------------------------------------------------------------------- rows of outcomes, in ACTORS order
#                 anonymous  member  ws_admin  other_admin  pm    admin  super  deactivated
PUBLIC: Expected = ("ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok")
SIGNED_IN_PAGE: Expected = ("login", "ok", "ok", "ok", "ok", "ok", "ok", "login")
WS_PAGE_VIEW: Expected = ("login", "ok", "ok", "404", "ok", "ok", "ok", "login")
WS_PAGE_MANAGE: Expected = ("login", "403", "ok", "404", "ok", "ok", "ok", "login")
INTERNAL_PAGE: Expected = ("login", "403", "403", "403", "ok", "ok", "ok", "login")
STAFF_PAGE: Expected = ("login", "403", "403", "403", "403", "ok", "ok", "login")
SUPER_PAGE: Expected = ("login", "403", "403", "403", "403", "403", "ok", "login")
WS_API_MANAGE: Expected = ("401", "403", "ok", "404", "ok", "ok", "ok", "401")
WS_API_MEMBERS: Expected = ("401", "ok", "ok", "404", "ok", "ok", "ok", "401")
SIGNED_IN_API: Expected = ("401", "ok", "ok", "ok", "ok", "ok", "ok", "401")
STAFF_API: Expected = ("401", "403", "403", "403", "403", "ok", "ok", "401")
SUPER_API: Expected = ("401", "403", "403", "403", "403", "403", "ok", "401")
# The schema and Swagger UI are public (drf-spectacular's default SERVE_PERMISSIONS is AllowAny), but DRF still
# authenticates: a token we refuse (the deactivated user's) is a 401, not read as anonymous.
PUBLIC_API: Expected = ("ok", "ok", "ok", "ok", "ok", "ok", "ok", "401")
# The accept page's "has my membership arrived?" poll: JSON about the caller only ({"joined": false}, 401).
SIGNED_IN_JSON: Expected = ("401", "ok", "ok", "ok", "ok", "ok", "ok", "401")
# admin.site.has_permission: User.is_staff, i.e. an active super_admin (accounts/models.py).
DJANGO_ADMIN: Expected = ("admin-login",) * 6 + ("ok", "admin-login")
# accounts.views.admin_login: anonymous → /sign-in/; signed-in non-super-admins → 403 (no sign-in loop).
DJANGO_ADMIN_LOGIN: Expected = ("login", "403", "403", "403", "403", "403", "ok", "login")
# Django's admin_view sends a refused logout to the admin index (which then asks for the admin login).
DJANGO_ADMIN_LOGOUT: Expected = ("admin-index",) * 6 + ("ok", "admin-index")


@dataclass(frozen=True)
class Ids:
    """What the requests name. ``World.ghost`` has the same shape with ids that exist nowhere."""

    workspace: int
    invitation: int
    staff_invitation: int
    target_clerk_id: str
    target_email: str
    some_user: int
    # Workspace A's only admin: a role change or removal of them is refused (409 last_admin) for every caller who
    # gets past the guards, so the rows change nothing and each caller meets the same state.
    only_admin_clerk_id: str = ""


Perform = Callable[[Client, Ids], Any]


@dataclass(frozen=True)
class Row:
    pattern: str  # as the resolver spells it (prefixes joined); django-admin rows name a concrete path instead
    method: str
    perform: Perform
    expected: Expected
    api: bool = False  # authenticate with the Bearer header (else the __session cookie, as a browser)

    @property
    def id(self) -> str:
        return f"{self.method} /{re.sub(r'[^A-Za-z0-9/<>_:-]+', '', self.pattern)}"


def _json(client: Client, path: str, body: object) -> Any:
    return client.post(path, body, content_type="application/json")


ROWS: list[Row] = [
    # ----------------------------------------------------------------- account pages (accounts/urls.py)
    Row("", "GET", lambda c, i: c.get("/"), PUBLIC),
    Row("sign-in/", "GET", lambda c, i: c.get("/sign-in/"), PUBLIC),
    Row("sign-in/", "POST", lambda c, i: c.post("/sign-in/", {"email": "x@example.com"}), PUBLIC),
    Row("sign-out/", "GET", lambda c, i: c.get("/sign-out/"), PUBLIC),
    Row("sign-out/", "POST", lambda c, i: c.post("/sign-out/"), PUBLIC),
    Row("sign-in/forgot/", "GET", lambda c, i: c.get("/sign-in/forgot/"), PUBLIC),
    Row("account/", "GET", lambda c, i: c.get("/account/"), SIGNED_IN_PAGE),
    Row("dashboard/", "GET", lambda c, i: c.get("/dashboard/"), SIGNED_IN_PAGE),
    # ----------------------------------------------------------------- workspace settings pages (invitations/urls.py)
    Row("settings/", "GET", lambda c, i: c.get(f"/settings/?workspace={i.workspace}"), WS_PAGE_VIEW),
    Row(
        "settings/workspaces/<int:workspace_id>/invitations/",
        "POST",
        lambda c, i: c.post(
            f"/settings/workspaces/{i.workspace}/invitations/", {"emails": "new@example.com", "role": "member"}
        ),
        WS_PAGE_MANAGE,
    ),
    Row(
        "settings/workspaces/<int:workspace_id>/invitations/check/",
        "POST",
        lambda c, i: c.post(
            f"/settings/workspaces/{i.workspace}/invitations/check/", {"emails": "new@example.com", "step": "check"}
        ),
        WS_PAGE_MANAGE,
    ),
    Row(
        "settings/workspaces/<int:workspace_id>/invitations/bulk/",
        "POST",
        lambda c, i: c.post(
            f"/settings/workspaces/{i.workspace}/invitations/bulk/", {"action": "revoke", "ids": [i.invitation]}
        ),
        WS_PAGE_MANAGE,
    ),
    Row(
        "settings/workspaces/<int:workspace_id>/invitations/<int:invitation_id>/resend/",
        "POST",
        lambda c, i: c.post(f"/settings/workspaces/{i.workspace}/invitations/{i.invitation}/resend/"),
        WS_PAGE_MANAGE,
    ),
    Row(
        "settings/workspaces/<int:workspace_id>/invitations/<int:invitation_id>/revoke/",
        "GET",
        lambda c, i: c.get(f"/settings/workspaces/{i.workspace}/invitations/{i.invitation}/revoke/"),
        WS_PAGE_MANAGE,
    ),
    Row(
        "settings/workspaces/<int:workspace_id>/invitations/<int:invitation_id>/revoke/",
        "POST",
        lambda c, i: c.post(
            f"/settings/workspaces/{i.workspace}/invitations/{i.invitation}/revoke/", {"confirm": "yes"}
        ),
        WS_PAGE_MANAGE,
    ),
    Row(
        "settings/workspaces/<int:workspace_id>/members/<str:clerk_user_id>/role/",
        "GET",
        lambda c, i: c.get(f"/settings/workspaces/{i.workspace}/members/{i.only_admin_clerk_id}/role/?role=member"),
        WS_PAGE_MANAGE,
    ),
    Row(
        "settings/workspaces/<int:workspace_id>/members/<str:clerk_user_id>/role/",
        "POST",
        lambda c, i: c.post(
            f"/settings/workspaces/{i.workspace}/members/{i.only_admin_clerk_id}/role/",
            {"role": "member", "confirm": "yes"},
        ),
        WS_PAGE_MANAGE,
    ),
    # A member may remove themselves (leave), not others: removing the admin is 403 for them.
    Row(
        "settings/workspaces/<int:workspace_id>/members/<str:clerk_user_id>/remove/",
        "GET",
        lambda c, i: c.get(f"/settings/workspaces/{i.workspace}/members/{i.only_admin_clerk_id}/remove/"),
        WS_PAGE_MANAGE,
    ),
    Row(
        "settings/workspaces/<int:workspace_id>/members/<str:clerk_user_id>/remove/",
        "POST",
        lambda c, i: c.post(
            f"/settings/workspaces/{i.workspace}/members/{i.only_admin_clerk_id}/remove/", {"confirm": "yes"}
        ),
        WS_PAGE_MANAGE,
    ),
    # history, timeline and invite link (invitations/history_views.py)
    Row(
        "settings/workspaces/<int:workspace_id>/history/",
        "GET",
        lambda c, i: c.get(f"/settings/workspaces/{i.workspace}/history/?status=revoked&q=example"),
        WS_PAGE_MANAGE,
    ),
    Row(
        "settings/workspaces/<int:workspace_id>/invitations/<int:invitation_id>/",
        "GET",
        lambda c, i: c.get(f"/settings/workspaces/{i.workspace}/invitations/{i.invitation}/"),
        WS_PAGE_MANAGE,
    ),
    Row(
        "settings/workspaces/<int:workspace_id>/invitations/<int:invitation_id>/link/",
        "POST",
        lambda c, i: c.post(f"/settings/workspaces/{i.workspace}/invitations/{i.invitation}/link/"),
        WS_PAGE_MANAGE,
    ),
    Row("accept-invite/", "GET", lambda c, i: c.get("/accept-invite/?__clerk_ticket=t"), PUBLIC),
    Row(
        "accept-invite/joined/",
        "GET",
        lambda c, i: c.get(f"/accept-invite/joined/?invitation={i.invitation}"),
        SIGNED_IN_JSON,
    ),
    # ----------------------------------------------------------------- staff pages (internal_users/urls.py)
    Row("internal/", "GET", lambda c, i: c.get("/internal/"), INTERNAL_PAGE),
    Row("internal/users/", "GET", lambda c, i: c.get("/internal/users/"), STAFF_PAGE),
    Row(
        "internal/users/",
        "POST",
        lambda c, i: c.post("/internal/users/", {"email": "someone@example.com", "role": "pm"}),
        STAFF_PAGE,
    ),
    Row(
        "internal/users/grant-role/",
        "POST",
        lambda c, i: c.post("/internal/users/grant-role/", {"email": i.target_email, "role": "admin"}),
        STAFF_PAGE,
    ),
    Row(
        "internal/users/invitations/<int:invitation_id>/",
        "GET",
        lambda c, i: c.get(f"/internal/users/invitations/{i.staff_invitation}/"),
        STAFF_PAGE,
    ),
    Row(
        "internal/users/invitations/<int:invitation_id>/link/",
        "POST",
        lambda c, i: c.post(f"/internal/users/invitations/{i.staff_invitation}/link/"),
        STAFF_PAGE,
    ),
    Row(
        "internal/users/invitations/<int:invitation_id>/resend/",
        "POST",
        lambda c, i: c.post(f"/internal/users/invitations/{i.staff_invitation}/resend/"),
        STAFF_PAGE,
    ),
    Row(
        "internal/users/invitations/<int:invitation_id>/revoke/",
        "GET",
        lambda c, i: c.get(f"/internal/users/invitations/{i.staff_invitation}/revoke/"),
        STAFF_PAGE,
    ),
    Row(
        "internal/users/invitations/<int:invitation_id>/revoke/",
        "POST",
        lambda c, i: c.post(f"/internal/users/invitations/{i.staff_invitation}/revoke/", {"confirm": "yes"}),
        STAFF_PAGE,
    ),
    Row(
        "internal/users/<str:clerk_user_id>/deactivate/",
        "GET",
        lambda c, i: c.get(f"/internal/users/{i.target_clerk_id}/deactivate/"),
        STAFF_PAGE,
    ),
    Row(
        "internal/users/<str:clerk_user_id>/deactivate/",
        "POST",
        lambda c, i: c.post(f"/internal/users/{i.target_clerk_id}/deactivate/"),
        STAFF_PAGE,
    ),
    Row(
        "internal/users/<str:clerk_user_id>/reactivate/",
        "POST",
        lambda c, i: c.post(f"/internal/users/{i.target_clerk_id}/reactivate/"),
        STAFF_PAGE,
    ),
    Row(
        "internal/users/<str:clerk_user_id>/remove/",
        "GET",
        lambda c, i: c.get(f"/internal/users/{i.target_clerk_id}/remove/"),
        SUPER_PAGE,
    ),
    Row(
        "internal/users/<str:clerk_user_id>/remove/",
        "POST",
        lambda c, i: c.post(f"/internal/users/{i.target_clerk_id}/remove/", {"confirm_email": i.target_email}),
        SUPER_PAGE,
    ),
    Row("internal/accept-invite/", "GET", lambda c, i: c.get("/internal/accept-invite/?__clerk_ticket=t"), PUBLIC),
    Row("onboarding/phone/", "GET", lambda c, i: c.get("/onboarding/phone/"), SIGNED_IN_PAGE),
    Row("onboarding/phone/", "POST", lambda c, i: c.post("/onboarding/phone/"), SIGNED_IN_PAGE),
    # ----------------------------------------------------------------- workspace API (invitations/api/urls.py)
    Row(
        "api/^workspaces/(?P<workspace_id>[^/]+)/invitations/$",
        "GET",
        lambda c, i: c.get(f"/api/workspaces/{i.workspace}/invitations/"),
        WS_API_MANAGE,
        api=True,
    ),
    Row(
        "api/^workspaces/(?P<workspace_id>[^/]+)/invitations/$",
        "POST",
        lambda c, i: _json(
            c, f"/api/workspaces/{i.workspace}/invitations/", {"emails": ["n@example.com"], "role": "member"}
        ),
        WS_API_MANAGE,
        api=True,
    ),
    Row(
        "api/^workspaces/(?P<workspace_id>[^/]+)/invitations/check/$",
        "POST",
        lambda c, i: _json(c, f"/api/workspaces/{i.workspace}/invitations/check/", {"emails": ["n@example.com"]}),
        WS_API_MANAGE,
        api=True,
    ),
    Row(
        "api/^workspaces/(?P<workspace_id>[^/]+)/invitations/import/$",
        "POST",
        lambda c, i: _json(c, f"/api/workspaces/{i.workspace}/invitations/import/", {"emails": ["n@example.com"]}),
        WS_API_MANAGE,
        api=True,
    ),
    Row(
        "api/^workspaces/(?P<workspace_id>[^/]+)/invitations/bulk/$",
        "POST",
        lambda c, i: _json(
            c, f"/api/workspaces/{i.workspace}/invitations/bulk/", {"action": "revoke", "ids": [i.invitation]}
        ),
        WS_API_MANAGE,
        api=True,
    ),
    Row(
        "api/^workspaces/(?P<workspace_id>[^/]+)/invitations/(?P<invitation_id>[^/]+)/resend/$",
        "POST",
        lambda c, i: c.post(f"/api/workspaces/{i.workspace}/invitations/{i.invitation}/resend/"),
        WS_API_MANAGE,
        api=True,
    ),
    Row(
        "api/^workspaces/(?P<workspace_id>[^/]+)/invitations/(?P<invitation_id>[^/]+)/revoke/$",
        "POST",
        lambda c, i: c.post(f"/api/workspaces/{i.workspace}/invitations/{i.invitation}/revoke/"),
        WS_API_MANAGE,
        api=True,
    ),
    Row(
        "api/^workspaces/(?P<workspace_id>[^/]+)/invitations/(?P<invitation_id>[^/]+)/$",
        "GET",
        lambda c, i: c.get(f"/api/workspaces/{i.workspace}/invitations/{i.invitation}/"),
        WS_API_MANAGE,
        api=True,
    ),
    Row(
        "api/^workspaces/(?P<workspace_id>[^/]+)/invitations/(?P<invitation_id>[^/]+)/link/$",
        "POST",
        lambda c, i: c.post(f"/api/workspaces/{i.workspace}/invitations/{i.invitation}/link/"),
        WS_API_MANAGE,
        api=True,
    ),
    Row(
        "api/^workspaces/(?P<workspace_id>[^/]+)/members/$",
        "GET",
        lambda c, i: c.get(f"/api/workspaces/{i.workspace}/members/"),
        WS_API_MEMBERS,
        api=True,
    ),
    Row(
        "api/^workspaces/(?P<workspace_id>[^/]+)/members/(?P<user>[^/]+)/$",
        "PATCH",
        lambda c, i: c.patch(
            f"/api/workspaces/{i.workspace}/members/{i.only_admin_clerk_id}/",
            {"role": "member"},
            content_type="application/json",
        ),
        WS_API_MANAGE,
        api=True,
    ),
    Row(
        "api/^workspaces/(?P<workspace_id>[^/]+)/members/(?P<user>[^/]+)/$",
        "DELETE",
        lambda c, i: c.delete(f"/api/workspaces/{i.workspace}/members/{i.only_admin_clerk_id}/"),
        WS_API_MANAGE,
        api=True,
    ),
    Row("api/^workspaces/$", "GET", lambda c, i: c.get("/api/workspaces/"), SIGNED_IN_API, api=True),
    Row(
        "api/^workspaces/(?P<workspace_id>[^/]+)/$",
        "GET",
        lambda c, i: c.get(f"/api/workspaces/{i.workspace}/"),
        WS_API_MEMBERS,
        api=True,
    ),
    # ----------------------------------------------------------------- staff API (internal_users/api/urls.py)
    Row("api/admin/internal-users/^$", "GET", lambda c, i: c.get("/api/admin/internal-users/"), STAFF_API, api=True),
    Row(
        "api/admin/internal-users/^invitations/$",
        "POST",
        lambda c, i: _json(c, "/api/admin/internal-users/invitations/", {"email": "someone@example.com", "role": "pm"}),
        STAFF_API,
        api=True,
    ),
    Row(
        "api/admin/internal-users/^invitations/(?P<invitation_id>[^/]+)/$",
        "GET",
        lambda c, i: c.get(f"/api/admin/internal-users/invitations/{i.staff_invitation}/"),
        STAFF_API,
        api=True,
    ),
    Row(
        "api/admin/internal-users/^invitations/(?P<invitation_id>[^/]+)/link/$",
        "POST",
        lambda c, i: c.post(f"/api/admin/internal-users/invitations/{i.staff_invitation}/link/"),
        STAFF_API,
        api=True,
    ),
    Row(
        "api/admin/internal-users/^invitations/(?P<invitation_id>[^/]+)/resend/$",
        "POST",
        lambda c, i: c.post(f"/api/admin/internal-users/invitations/{i.staff_invitation}/resend/"),
        STAFF_API,
        api=True,
    ),
    Row(
        "api/admin/internal-users/^invitations/(?P<invitation_id>[^/]+)/revoke/$",
        "POST",
        lambda c, i: c.post(f"/api/admin/internal-users/invitations/{i.staff_invitation}/revoke/"),
        STAFF_API,
        api=True,
    ),
    Row(
        "api/admin/internal-users/^grant-role/$",
        "POST",
        lambda c, i: _json(c, "/api/admin/internal-users/grant-role/", {"email": i.target_email, "role": "admin"}),
        STAFF_API,
        api=True,
    ),
    Row(
        "api/admin/internal-users/^(?P<clerk_user_id>[^/]+)/deactivate/$",
        "POST",
        lambda c, i: c.post(f"/api/admin/internal-users/{i.target_clerk_id}/deactivate/"),
        STAFF_API,
        api=True,
    ),
    Row(
        "api/admin/internal-users/^(?P<clerk_user_id>[^/]+)/reactivate/$",
        "POST",
        lambda c, i: c.post(f"/api/admin/internal-users/{i.target_clerk_id}/reactivate/"),
        STAFF_API,
        api=True,
    ),
    Row(
        "api/admin/internal-users/^(?P<clerk_user_id>[^/]+)/$",
        "DELETE",
        lambda c, i: c.delete(f"/api/admin/internal-users/{i.target_clerk_id}/"),
        SUPER_API,
        api=True,
    ),
    # ----------------------------------------------------------------- webhook, API docs (config/urls.py)
    Row("webhooks/clerk/", "GET", lambda c, i: c.get("/webhooks/clerk/"), ("405",) * 8),
    Row(
        "webhooks/clerk/",
        "POST",
        lambda c, i: c.post(
            "/webhooks/clerk/", b'{"type": "user.deleted", "data": {}}', content_type="application/json"
        ),
        ("400",) * 8,
    ),
    Row("api/schema/", "GET", lambda c, i: c.get("/api/schema/"), PUBLIC_API, api=True),
    Row("api/docs/", "GET", lambda c, i: c.get("/api/docs/"), PUBLIC_API, api=True),
    # ----------------------------------------------------------------- Django admin: one group, a sample of it
    Row("django-admin/", "GET", lambda c, i: c.get("/django-admin/"), DJANGO_ADMIN),
    Row("django-admin/login/", "GET", lambda c, i: c.get("/django-admin/login/"), DJANGO_ADMIN_LOGIN),
    Row("django-admin/logout/", "GET", lambda c, i: c.get("/django-admin/logout/"), DJANGO_ADMIN_LOGOUT),
    Row("django-admin/accounts/", "GET", lambda c, i: c.get("/django-admin/accounts/"), DJANGO_ADMIN),
    Row("django-admin/accounts/user/", "GET", lambda c, i: c.get("/django-admin/accounts/user/"), DJANGO_ADMIN),
    Row(
        "django-admin/accounts/user/<id>/change/",
        "GET",
        lambda c, i: c.get(f"/django-admin/accounts/user/{i.some_user}/change/"),
        DJANGO_ADMIN,
    ),
    Row("django-admin/core/auditevent/", "GET", lambda c, i: c.get("/django-admin/core/auditevent/"), DJANGO_ADMIN),
]
# Django admin's own URLs (app indexes, changelists, add/change/delete/history views of every registered model,
# jsi18n, the view-on-site shortcut, the catch-all) are one group: they all sit behind admin.site.admin_view, i.e.
# admin.site.has_permission (an active super admin), except login/ (accounts.views.admin_login) and logout/, both
# sampled above. Static and media files are not served by Django here (no such pattern in the resolver).
GROUPS: dict[str, str] = {"django-admin/": "Django admin (admin.site.has_permission: active super admins only)"}
CELL_COUNT = len(ROWS) * len(ACTORS)
REFUSED = frozenset({"login", "401", "403", "404", "admin-login", "admin-index"})


# --------------------------------------------------------------------------- the resolver
def _patterns(resolver: URLResolver, prefix: str = "") -> list[str]:
    found: list[str] = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            found += _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            found.append(prefix + str(entry.pattern))
    return found


def _grouped(pattern: str) -> bool:
    return pattern.startswith(tuple(GROUPS))


def test_every_url_of_the_resolver_is_classified() -> None:
    served = _patterns(get_resolver())
    classified = {row.pattern for row in ROWS}
    unclassified = [pattern for pattern in served if pattern not in classified and not _grouped(pattern)]
    assert unclassified == [], f"add these URL patterns to ROWS with their expected outcomes: {unclassified}"


def test_every_row_names_a_url_that_exists() -> None:
    served = set(_patterns(get_resolver()))
    stale = sorted({row.pattern for row in ROWS if not _grouped(row.pattern)} - served)
    assert stale == [], f"ROWS classify URL patterns the resolver no longer serves: {stale}"
    assert any(pattern.startswith("django-admin/") for pattern in served)


def test_every_row_has_one_outcome_per_actor() -> None:
    known = REFUSED | {"ok", "400", "405"}
    for row in ROWS:
        assert len(row.expected) == len(ACTORS), row.id
        assert set(row.expected) <= known, row.id
    assert len({row.id for row in ROWS}) == len(ROWS), "two rows for the same URL and method"


# --------------------------------------------------------------------------- counting the cells
@dataclass
class Ledger:
    cells: set[tuple[str, str]]
    escalations: set[str]
    started: float
    rows_run: set[str] = field(default_factory=set)
    escalations_run: set[str] = field(default_factory=set)


LEDGER = Ledger(cells=set(), escalations=set(), started=time.monotonic())


@pytest.fixture(scope="module", autouse=True)
def cell_count(request: pytest.FixtureRequest) -> Iterator[None]:
    """After the module: every cell of the table was checked, exactly once, and the figures are printed.

    (pytest-randomly shuffles the tests, so this runs as the module's teardown rather than as a "last" test.) When
    only part of the module was selected (``-k``), or a test failed, the figures are printed without the check.
    """
    LEDGER.cells.clear()
    LEDGER.escalations.clear()
    LEDGER.rows_run.clear()
    LEDGER.escalations_run.clear()
    LEDGER.started = time.monotonic()
    yield
    module_items = [
        item for item in request.session.items if isinstance(item, pytest.Function) and item.module is request.module
    ]
    row_tests = sum(1 for item in module_items if getattr(item, "originalname", "") == "test_row")
    escalation_tests = sum(
        1 for item in module_items if getattr(item, "originalname", "") == "test_privilege_escalation"
    )
    complete = row_tests == len(ROWS) and escalation_tests == len(ESCALATIONS) and request.session.testsfailed == 0
    served = _patterns(get_resolver())
    line = (
        f"authorization matrix: {len(LEDGER.cells)}/{CELL_COUNT} cells as expected ({len(ROWS)} rows = URL x "
        f"method, covering {len(served)} resolver patterns: {sum(not _grouped(p) for p in served)} one by one and "
        f"{sum(_grouped(p) for p in served)} django-admin ones as a group; {len(ACTORS)} actors), plus "
        f"{len(LEDGER.escalations)}/{len(ESCALATIONS)} privilege-escalation cells, in "
        f"{time.monotonic() - LEDGER.started:.1f} s"
    )
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        with capture.global_and_fixture_disabled():
            print(f"\n{line}")
    if complete:
        # Under pytest-xdist each worker runs (and may set this fixture up for) only some rows: every cell of each
        # row that ran here was checked; when every row ran here, that is the whole table.
        expected_cells = {(row_id, actor) for row_id in LEDGER.rows_run for actor in ACTORS}
        assert LEDGER.cells == expected_cells, sorted(expected_cells - LEDGER.cells)[:10]
        assert LEDGER.escalations == LEDGER.escalations_run
        if LEDGER.rows_run == {row.id for row in ROWS}:
            assert len(LEDGER.cells) == CELL_COUNT


# --------------------------------------------------------------------------- the world the rows act on
@dataclass
class World:
    ids: Ids
    ghost: Ids  # the same requests, naming a workspace and invitations that do not exist
    pages: dict[str, Client]
    api: dict[str, Client]


@pytest.fixture
def world(
    clerk_session: Callable[..., ClerkSession], clerk_workspace: Callable[..., Workspace], settings: Any
) -> World:
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
    User.objects.filter(pk=_user(sessions["deactivated"]).pk).update(disabled_at=timezone.now())
    root = _user(sessions["super_admin"])
    [result] = invitation_services.invitations_create(
        workspace=workspace, inviter=root, emails=["guest@example.com"], role="member"
    )
    assert result.invitation is not None
    staff_invitation = staff_services.internal_invite(email="staff.guest@example.com", role="pm", actor=root)
    target = _user(clerk_session(Role.PM, email="target.pm@example.com"))
    ids = Ids(
        workspace=workspace.pk,
        invitation=result.invitation.pk,
        staff_invitation=staff_invitation.pk,
        target_clerk_id=target.clerk_user_id,
        target_email=(target.email or ""),
        some_user=target.pk,
        only_admin_clerk_id=_user(sessions["workspace_admin"]).clerk_user_id,
    )
    missing_workspace = max(Workspace.objects.values_list("pk", flat=True)) + 1000
    missing_invitation = max(WorkspaceInvitation.objects.values_list("pk", flat=True)) + 1000
    missing_staff_invitation = max(InternalInvitation.objects.values_list("pk", flat=True)) + 1000
    ghost = replace(
        ids, workspace=missing_workspace, invitation=missing_invitation, staff_invitation=missing_staff_invitation
    )
    pages: dict[str, Client] = {"anonymous": Client()}
    api: dict[str, Client] = {"anonymous": Client()}
    for actor, session in sessions.items():
        pages[actor] = SignedInClient(session, via="cookie")
        api[actor] = SignedInClient(session, via="header")
    return World(ids=ids, ghost=ghost, pages=pages, api=api)


def _user(session: ClerkSession) -> User:
    assert session.user is not None
    return session.user


# --------------------------------------------------------------------------- judging one answer
ERROR_KEYS = {"code", "message", "extra"}
_CSRF_VALUE = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


def _outcome(response: Any, expected: Outcome) -> Outcome:
    status: int = response.status_code
    if expected in ("400", "405"):  # exact statuses
        return str(status)
    location = urlsplit(response.headers.get("Location", ""))
    if status in (301, 302):
        if location.path == "/sign-in/":
            return "login"
        if location.path == "/django-admin/login/":
            return "admin-login"
        if location.path == "/django-admin/" and expected == "admin-index":
            return "admin-index"
    if status in (401, 403, 404):
        return str(status)
    if status >= 500:
        return f"server error {status}"
    return "ok"


def _error_body(response: Any) -> dict[str, Any]:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body: dict[str, Any] = response.json()
    assert set(body) == ERROR_KEYS, body
    assert isinstance(body["message"], str)
    assert body["message"]
    return body


def _check_details(response: Any, outcome: Outcome, row: Row) -> None:
    """What each refusal must look like beyond its status."""
    requested = response.wsgi_request.get_full_path()
    location = urlsplit(response.headers.get("Location", ""))
    next_values = parse_qs(location.query).get("next", [])
    if outcome == "login":
        if response.wsgi_request.method == "GET":
            # Back to the page after signing in (for django-admin/login/, its own `next`, the admin index).
            want = "/django-admin/" if row.pattern == "django-admin/login/" else requested
            assert next_values == [want], response["Location"]
        else:  # a form post without a Referer: no page to return to
            assert next_values == [], response["Location"]
    elif outcome == "admin-login":
        assert next_values == [requested], response["Location"]
    elif outcome == "401" and requested.startswith("/api/"):
        if row.pattern not in ("api/schema/", "api/docs/"):  # those render errors as YAML / text, not JSON
            assert _error_body(response)["code"] == "not_authenticated"
        assert response["WWW-Authenticate"].startswith("Bearer")
    elif outcome == "403":
        if requested.startswith("/api/"):
            assert _error_body(response)["code"] == "permission_denied"
        else:
            assert response["Content-Type"].startswith("text/html")
    elif outcome == "400" and row.pattern.startswith("webhooks/"):
        _error_body(response)


def _same_answer(foreign: Any, missing: Any) -> bool:
    """No existence leak: another workspace's ids get exactly the answer of ids that exist nowhere."""
    if foreign.status_code != missing.status_code:
        return False
    return bool(_CSRF_VALUE.sub(b"", foreign.content) == _CSRF_VALUE.sub(b"", missing.content))


# --------------------------------------------------------------------------- the matrix
@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_row(world: World, row: Row, clerk_gateway: Emulator) -> None:
    LEDGER.rows_run.add(row.id)
    seen: dict[str, Outcome] = {}
    for actor, want in zip(ACTORS, row.expected, strict=True):
        client = world.api[actor] if row.api else world.pages[actor]
        clerk_calls_before = len(clerk_gateway.request_log)
        response = row.perform(client, world.ids)
        got = _outcome(response, want)
        seen[actor] = got
        if got != want:
            continue
        _check_details(response, got, row)
        if got in REFUSED:
            assert clerk_gateway.request_log[clerk_calls_before:] == [], f"{row.id} {actor}: a refusal called Clerk"
        if got == "404":
            ghost = row.perform(client, world.ghost)
            assert _same_answer(response, ghost), f"{row.id} {actor}: the 404 differs from a missing id's"
        LEDGER.cells.add((row.id, actor))
    assert seen == dict(zip(ACTORS, row.expected, strict=True))


# --------------------------------------------------------------------------- privilege escalation
@dataclass
class Kit:
    """What an escalation case needs; every case makes its own callers."""

    signed_in: Callable[..., SignedInClient]
    clerk_session: Callable[..., ClerkSession]
    clerk_workspace: Callable[..., Workspace]
    emulator: Emulator

    def clerk_calls(self) -> int:
        return len(self.emulator.request_log)


def _refused(kit: Kit, send: Callable[[], Any], status: int, code: str | None = None) -> Any:
    """``send()`` answers ``status`` (and, for the API, error ``code``) without any Clerk call."""
    before = kit.clerk_calls()
    response = send()
    assert response.status_code == status, response.content[:300]
    if code is not None:
        assert _error_body(response)["code"] == code
    assert kit.emulator.request_log[before:] == [], "a refused request reached Clerk"
    return response


def _role_of(user: User) -> str:
    user.refresh_from_db()
    return str(user.role)


def esc_api_admin_invites_super_admin(kit: Kit) -> None:
    admin = kit.signed_in(Role.ADMIN)
    _refused(
        kit,
        lambda: admin.post(
            "/api/admin/internal-users/invitations/",
            {"email": "boss@example.com", "role": "super_admin"},
            format="json",
        ),
        403,
        "super_admin_required",
    )
    assert not InternalInvitation.objects.filter(email="boss@example.com").exists()


def esc_page_admin_invites_super_admin(kit: Kit) -> None:
    # The page's form does not offer super_admin to an admin: the choice is invalid (400), before the service.
    admin = kit.signed_in(Role.ADMIN, via="cookie")
    _refused(kit, lambda: admin.post("/internal/users/", {"email": "boss@example.com", "role": "super_admin"}), 400)
    assert not InternalInvitation.objects.filter(email="boss@example.com").exists()


def esc_api_admin_grants_super_admin(kit: Kit) -> None:
    admin = kit.signed_in(Role.ADMIN)
    target = _user(kit.clerk_session(Role.PM))
    _refused(
        kit,
        lambda: admin.post(
            "/api/admin/internal-users/grant-role/", {"email": target.email, "role": "super_admin"}, format="json"
        ),
        403,
        "super_admin_required",
    )
    assert _role_of(target) == Role.PM


def esc_page_admin_grants_super_admin(kit: Kit) -> None:
    admin = kit.signed_in(Role.ADMIN, via="cookie")
    target = _user(kit.clerk_session(Role.PM))
    _refused(
        kit, lambda: admin.post("/internal/users/grant-role/", {"email": target.email, "role": "super_admin"}), 400
    )
    assert _role_of(target) == Role.PM


def esc_api_admin_demotes_a_super_admin(kit: Kit) -> None:
    admin = kit.signed_in(Role.ADMIN)
    boss = _user(kit.clerk_session(Role.SUPER_ADMIN))
    _refused(
        kit,
        lambda: admin.post("/api/admin/internal-users/grant-role/", {"email": boss.email, "role": "pm"}, format="json"),
        403,
        "super_admin_required",
    )
    assert _role_of(boss) == Role.SUPER_ADMIN


def esc_api_admin_deactivates_a_super_admin(kit: Kit) -> None:
    admin = kit.signed_in(Role.ADMIN)
    boss = _user(kit.clerk_session(Role.SUPER_ADMIN))
    _refused(
        kit,
        lambda: admin.post(f"/api/admin/internal-users/{boss.clerk_user_id}/deactivate/"),
        403,
        "super_admin_required",
    )
    boss.refresh_from_db()
    assert boss.is_active


def esc_page_admin_deactivates_a_super_admin(kit: Kit) -> None:
    # Pages answer a service refusal with the list and an error message (a redirect), not a 403 page.
    admin = kit.signed_in(Role.ADMIN, via="cookie")
    boss = _user(kit.clerk_session(Role.SUPER_ADMIN))
    response = _refused(kit, lambda: admin.post(f"/internal/users/{boss.clerk_user_id}/deactivate/"), 302)
    assert response["Location"] == "/internal/users/"
    boss.refresh_from_db()
    assert boss.is_active


def esc_api_pm_grants_a_role(kit: Kit) -> None:
    pm = kit.signed_in(Role.PM)
    member = _user(kit.clerk_session(Role.MEMBER))
    _refused(
        kit,
        lambda: pm.post("/api/admin/internal-users/grant-role/", {"email": member.email, "role": "pm"}, format="json"),
        403,
        "permission_denied",
    )
    assert _role_of(member) == Role.MEMBER


def esc_api_member_invites_an_admin_to_their_workspace(kit: Kit) -> None:
    workspace = kit.clerk_workspace("Acme")
    member = kit.signed_in(Role.MEMBER, workspace=workspace, workspace_role=WorkspaceRole.MEMBER)
    _refused(
        kit,
        lambda: member.post(
            f"/api/workspaces/{workspace.pk}/invitations/",
            {"emails": ["x@example.com"], "role": "admin"},
            format="json",
        ),
        403,
        "permission_denied",
    )
    assert not WorkspaceInvitation.objects.exists()


def esc_page_member_invites_an_admin_to_their_workspace(kit: Kit) -> None:
    workspace = kit.clerk_workspace("Acme")
    member = kit.signed_in(Role.MEMBER, via="cookie", workspace=workspace, workspace_role=WorkspaceRole.MEMBER)
    _refused(
        kit,
        lambda: member.post(
            f"/settings/workspaces/{workspace.pk}/invitations/", {"emails": "x@example.com", "role": "admin"}
        ),
        403,
    )
    assert not WorkspaceInvitation.objects.exists()


def esc_api_workspace_admin_invites_with_a_staff_role(kit: Kit) -> None:
    # Workspace invitations carry a workspace role only (admin, member): a staff role is not one.
    workspace = kit.clerk_workspace("Acme")
    ws_admin = kit.signed_in(Role.MEMBER, workspace=workspace, workspace_role=WorkspaceRole.ADMIN)
    _refused(
        kit,
        lambda: ws_admin.post(
            f"/api/workspaces/{workspace.pk}/invitations/",
            {"emails": ["x@example.com"], "role": "super_admin"},
            format="json",
        ),
        400,
        "invalid",
    )
    assert not WorkspaceInvitation.objects.exists()


def esc_api_staff_invite_with_an_undeclared_field(kit: Kit) -> None:
    admin = kit.signed_in(Role.ADMIN)
    response = _refused(
        kit,
        lambda: admin.post(
            "/api/admin/internal-users/invitations/",
            {"email": "x@example.com", "role": "pm", "is_internal": True, "public_metadata": {"role": "super_admin"}},
            format="json",
        ),
        400,
        "invalid",
    )
    assert set(response.json()["extra"]["fields"]) == {"is_internal", "public_metadata"}


def esc_api_grant_role_with_an_undeclared_field(kit: Kit) -> None:
    admin = kit.signed_in(Role.ADMIN)
    target = _user(kit.clerk_session(Role.PM))
    _refused(
        kit,
        lambda: admin.post(
            "/api/admin/internal-users/grant-role/",
            {"email": target.email, "role": "pm", "internal": True},
            format="json",
        ),
        400,
        "invalid",
    )


def esc_api_staff_action_with_a_role_in_the_body(kit: Kit) -> None:
    """Deactivate and reactivate take no body. One carrying ``role`` is NOT refused (the action answers 200): it is
    ignored, so it grants nothing. Pinned here so that a change either way is a decision (see docs/security.md)."""
    admin = kit.signed_in(Role.ADMIN)
    target = _user(kit.clerk_session(Role.PM))
    path = f"/api/admin/internal-users/{target.clerk_user_id}/"
    for action in ("deactivate", "reactivate"):
        before = kit.clerk_calls()
        response = admin.post(f"{path}{action}/", {"role": "super_admin"}, format="json")
        assert response.status_code == 200, response.content[:300]
        assert response.json()["role"] == Role.PM
        assert not any("metadata" in p for _m, p, _s in kit.emulator.request_log[before:])
    assert _role_of(target) == Role.PM


def esc_api_admin_deactivates_themselves(kit: Kit) -> None:
    admin = kit.signed_in(Role.ADMIN)
    me = _user(admin.clerk_session)
    _refused(
        kit, lambda: admin.post(f"/api/admin/internal-users/{me.clerk_user_id}/deactivate/"), 403, "cannot_act_on_self"
    )
    me.refresh_from_db()
    assert me.is_active


def esc_api_admin_changes_their_own_role(kit: Kit) -> None:
    admin = kit.signed_in(Role.ADMIN)
    me = _user(admin.clerk_session)
    _refused(
        kit,
        lambda: admin.post("/api/admin/internal-users/grant-role/", {"email": me.email, "role": "pm"}, format="json"),
        403,
        "cannot_act_on_self",
    )
    assert _role_of(me) == Role.ADMIN


def esc_api_super_admin_removes_themselves(kit: Kit) -> None:
    kit.clerk_session(Role.SUPER_ADMIN)  # another super admin: "the last one" is not the reason
    root = kit.signed_in(Role.SUPER_ADMIN)
    me = _user(root.clerk_session)
    _refused(kit, lambda: root.delete(f"/api/admin/internal-users/{me.clerk_user_id}/"), 403, "cannot_act_on_self")
    assert User.objects.filter(pk=me.pk).exists()


def esc_page_admin_deactivates_themselves(kit: Kit) -> None:
    admin = kit.signed_in(Role.ADMIN, via="cookie")
    me = _user(admin.clerk_session)
    response = _refused(kit, lambda: admin.post(f"/internal/users/{me.clerk_user_id}/deactivate/"), 302)
    assert response["Location"] == "/internal/users/"
    me.refresh_from_db()
    assert me.is_active


def esc_api_cookie_write_without_csrf_token(kit: Kit) -> None:
    root = kit.signed_in(Role.SUPER_ADMIN, via="cookie", enforce_csrf_checks=True)
    response = _refused(
        kit,
        lambda: root.post(
            "/api/admin/internal-users/invitations/", {"email": "x@example.com", "role": "pm"}, format="json"
        ),
        403,
        "permission_denied",
    )
    assert "CSRF" in response.json()["message"]
    assert not InternalInvitation.objects.exists()


def esc_api_other_admin_pairs_own_workspace_with_a_foreign_invitation(kit: Kit) -> None:
    mine, theirs = kit.clerk_workspace("Mine"), kit.clerk_workspace("Theirs")
    root = _user(kit.clerk_session(Role.SUPER_ADMIN))
    [result] = invitation_services.invitations_create(
        workspace=theirs, inviter=root, emails=["guest@example.com"], role="member"
    )
    invitation = result.invitation
    assert invitation is not None
    ws_admin = kit.signed_in(Role.MEMBER, workspace=mine, workspace_role=WorkspaceRole.ADMIN)
    for action in ("resend", "revoke"):
        url = f"/api/workspaces/{mine.pk}/invitations/{invitation.pk}/{action}/"
        foreign = _refused(kit, functools.partial(ws_admin.post, url), 404, "not_found")
        missing = ws_admin.post(f"/api/workspaces/{mine.pk}/invitations/{invitation.pk + 1000}/{action}/")
        assert foreign.json() == missing.json()
    invitation.refresh_from_db()
    assert (invitation.status, invitation.send_count) == ("pending", 1)


ESCALATIONS: dict[str, Callable[[Kit], None]] = {
    name.removeprefix("esc_"): case for name, case in sorted(globals().items()) if name.startswith("esc_")
}


@pytest.mark.parametrize("name", sorted(ESCALATIONS))
def test_privilege_escalation(
    name: str,
    signed_in: Callable[..., SignedInClient],
    clerk_session: Callable[..., ClerkSession],
    clerk_workspace: Callable[..., Workspace],
    clerk_gateway: Emulator,
) -> None:
    LEDGER.escalations_run.add(name)
    ESCALATIONS[name](Kit(signed_in, clerk_session, clerk_workspace, clerk_gateway))
    LEDGER.escalations.add(name)
