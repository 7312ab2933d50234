"""Shared fixtures. The Clerk emulator runs in-thread for the whole session (see clerk_emulator/testing.py).

Every test talks to that emulator: ``clerk_gateway`` (autouse) points the gateway (accounts/clerk.py) and session
verification (accounts/authentication.py) at it and resets their caches. config/settings/test.py makes the real
Clerk unreachable in any case.

To act as someone:

- ``signed_in(role)`` → an ``APIClient`` sending ``Authorization: Bearer <session token>`` of a new user with that
  role (``via="cookie"`` sends the ``__session`` cookie instead, as a browser would); ``.user``, ``.token``,
  ``.clerk_session`` on it;
- ``clerk_session(role)`` → a ``ClerkSession`` (local ``user``, ``clerk_user``, ``session_id``, ``token``);
- ``clerk_user_factory(...)`` → a Clerk user created in the emulator through the gateway (not mirrored locally);
- ``clerk_workspace(name)`` → a Clerk organization plus its local ``Workspace``; pass it to ``clerk_session`` /
  ``signed_in`` with ``workspace_role`` to make the user a member.

Users, sessions and tokens are made through the Backend API exactly as a script would against real Clerk.

Kinds of test (markers registered in pyproject.toml, given here from where a test lives and what it uses, so a new
test of a slow kind is marked without anyone remembering to): ``browser`` (Chromium), ``fuzz`` (tests/api_fuzz),
``bench`` (tests/test_bench_smoke.py), ``live_server`` (uses pytest-django's live server), ``races`` (two
requests meeting, tests/races.py), ``matrix`` (the Clerk fault matrix and the authorization matrix: every operation
times every fault or role), ``subprocess`` (starts a Python process of ours: calls ``subprocess`` itself, or is
marked so when a helper or fixture does), ``property_db`` (a hypothesis test on the database: rows for every
example); all of them are ``slow``.
``make test-fast`` runs ``-m "not slow"``.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from accounts import authentication, clerk
from accounts.clerk_types import ClerkUser
from accounts.models import User, Workspace
from accounts.roles import CLERK_ORG_ROLES, INTERNAL_ROLES, Role, WorkspaceRole
from accounts.services import membership_upsert_from_clerk, user_upsert_from_clerk, workspace_upsert_from_clerk
from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator

pytest_plugins = ["clerk_emulator.testing", "tests.reliability.log_audit", "tests.api_fuzz.summary"]

# Markers that make a test ``slow`` (left out of ``make test-fast``).
SLOW_KINDS = ("browser", "fuzz", "bench", "live_server", "races", "matrix", "subprocess", "property_db")
TESTS_DIR = Path(__file__).resolve().parent
MATRICES = (TESTS_DIR / "reliability" / "test_clerk_faults.py", TESTS_DIR / "security" / "test_authz_matrix.py")


def _kinds(item: pytest.Item) -> set[str]:
    kinds = {marker.name for marker in item.iter_markers() if marker.name in SLOW_KINDS}
    path = Path(str(item.path)).resolve()
    if path.name.startswith("test_browser"):
        kinds.add("browser")
    if TESTS_DIR / "api_fuzz" in path.parents:
        kinds.add("fuzz")
    if path == TESTS_DIR / "test_bench_smoke.py":
        kinds.add("bench")
    if path in MATRICES:
        kinds.add("matrix")
    fixtures = set(getattr(item, "fixturenames", ()))
    if "live_server" in fixtures:
        kinds.add("live_server")
    function = getattr(item, "function", None)
    if function is not None:
        names = function.__code__.co_names
        if "meanwhile" in names:  # tests/races.py's context manager
            kinds.add("races")
        if "subprocess" in names:
            kinds.add("subprocess")
        if getattr(function, "is_hypothesis_test", False) and item.get_closest_marker("django_db"):
            kinds.add("property_db")
    return kinds


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        kinds = _kinds(item)
        for kind in sorted(kinds - {marker.name for marker in item.iter_markers()}):
            item.add_marker(kind)
        if kinds:
            item.add_marker("slow")


TEST_ORIGIN = "http://testserver"
# Long enough for any single test; Clerk's browser tokens live 60 s, Backend API ones as long as asked.
TEST_TOKEN_LIFETIME_S = 3600


@pytest.fixture(scope="session", autouse=True)
def _clerk_settings(clerk_emulator_server: EmulatorServer) -> Iterator[None]:
    """The gateway's settings point at this session's emulator for the whole session, not test by test.

    Changing a ``CLERK_*`` setting makes the gateway build a new SDK client, and each build loads the CA bundle twice
    (one sync, one async httpx client): about 0.1 s a test. Set once here, the client is built once per worker; a
    test that changes one of them still gets a fresh client, then this one back (accounts/clerk.py's
    ``setting_changed`` receiver resets it both times).
    """
    em = clerk_emulator_server.emulator
    override = override_settings(
        CLERK_API_URL=clerk_emulator_server.api_url,
        CLERK_SECRET_KEY=em.secret_key,
        CLERK_PUBLISHABLE_KEY=em.publishable_key,
        CLERK_JWT_KEY=em.keys.public_pem,
        CLERK_AUTHORIZED_PARTIES=[TEST_ORIGIN],
    )
    override.enable()
    try:
        yield
    finally:
        override.disable()


@pytest.fixture(autouse=True)
def clerk_gateway(_clerk_settings: None, clerk_emulator: Emulator) -> Iterator[Emulator]:
    """Point the gateway and session verification at the in-thread emulator (reset for this test).

    Session tokens are verified with the emulator's PEM key (``CLERK_JWT_KEY``), networkless; set
    ``settings.CLERK_JWT_KEY = ""`` in a test to verify through the JWKS fetched from the emulator instead.
    """
    authentication.reset_caches()
    yield clerk_emulator
    authentication.reset_caches()


@dataclass(frozen=True)
class ClerkSession:
    user: User | None  # None when made with ``mirror=False`` (the app has not seen the user yet)
    clerk_user: ClerkUser
    session_id: str
    token: str


class SignedInClient(APIClient):
    """An ``APIClient`` carrying one user's session token."""

    def __init__(self, session: ClerkSession, *, via: Literal["header", "cookie"] = "header", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clerk_session = session
        self.token = session.token
        self.user = session.user
        if via == "header":
            self.credentials(HTTP_AUTHORIZATION=f"Bearer {session.token}")
        else:
            self.cookies[authentication.SESSION_COOKIE] = session.token


@pytest.fixture
def clerk_user_factory(clerk_gateway: Emulator) -> Callable[..., ClerkUser]:
    """Create a user in the emulator through the gateway. Internal roles go into ``public_metadata`` as staff
    invitations put them there (``{"role": ..., "internal": true}``)."""
    numbers = itertools.count(1)

    def make(
        *,
        email: str | None = None,
        role: str = Role.MEMBER,
        first_name: str = "Test",
        last_name: str = "User",
        password: str | None = None,
        public_metadata: dict[str, Any] | None = None,
    ) -> ClerkUser:
        metadata = dict(public_metadata or {})
        if role in INTERNAL_ROLES:
            metadata.setdefault("role", str(role))
            metadata.setdefault("internal", True)
        return clerk.create_user(
            email=email or f"person{next(numbers)}@example.com",
            password=password,
            first_name=first_name,
            last_name=last_name,
            public_metadata=metadata or None,
        )

    return make


@pytest.fixture
def clerk_workspace(clerk_gateway: Emulator) -> Callable[..., Workspace]:
    """A Clerk organization and its local ``Workspace`` (needs the database)."""

    def make(name: str = "Acme", *, slug: str | None = None) -> Workspace:
        organization = clerk.create_organization(name=name, slug=slug)
        return workspace_upsert_from_clerk(organization=organization)

    return make


@pytest.fixture
def clerk_session(clerk_user_factory: Callable[..., ClerkUser]) -> Callable[..., ClerkSession]:
    """A Clerk user with an active session and a session token (needs the database unless ``mirror=False``).

    ``mirror=False`` leaves the user unknown to our database, as before their first request or webhook.
    ``workspace`` + ``workspace_role`` make them a member of that workspace in Clerk and locally.
    Mirrored users have done phone onboarding unless ``needs_phone=True``.
    """

    def make(
        role: str = Role.MEMBER,
        *,
        mirror: bool = True,
        workspace: Workspace | None = None,
        workspace_role: str = WorkspaceRole.MEMBER,
        needs_phone: bool = False,
        **user_fields: Any,
    ) -> ClerkSession:
        clerk_user = clerk_user_factory(role=role, **user_fields)
        user = user_upsert_from_clerk(clerk_user=clerk_user, trust_role=True) if mirror else None
        if user is not None and not needs_phone and user.phone_verification_required:
            # Already onboarded (as if they had verified a phone): pages are not gated by /onboarding/phone/.
            user.phone_verification_required = False
            user.save(update_fields=["phone_verification_required"])
        if workspace is not None:
            membership = clerk.create_organization_membership(
                workspace.clerk_organization_id,
                user_id=clerk_user.id,
                role=CLERK_ORG_ROLES[WorkspaceRole(workspace_role)],
            )
            if user is not None:
                membership_upsert_from_clerk(membership=membership, user=user)
        session = clerk.create_session(clerk_user.id)
        token = clerk.create_session_token(session.id, expires_in_seconds=TEST_TOKEN_LIFETIME_S)
        return ClerkSession(user=user, clerk_user=clerk_user, session_id=session.id, token=token)

    return make


@pytest.fixture
def signed_in(clerk_session: Callable[..., ClerkSession]) -> Callable[..., SignedInClient]:
    """``signed_in("admin")`` → an ``APIClient`` authenticated as a new user with that role.

    ``via="cookie"`` authenticates with the ``__session`` cookie (unsafe API requests then need a CSRF token when
    ``enforce_csrf_checks=True``); other keyword arguments go to ``clerk_session``.
    """

    def make(
        role: str = Role.MEMBER,
        *,
        via: Literal["header", "cookie"] = "header",
        enforce_csrf_checks: bool = False,
        **session_fields: Any,
    ) -> SignedInClient:
        session = clerk_session(role, **session_fields)
        return SignedInClient(session, via=via, enforce_csrf_checks=enforce_csrf_checks)

    return make


@pytest.fixture(autouse=True)
def isolated_rate_limits(settings: Any) -> None:
    """Each test counts rate limits under its own prefix (never ``cache.clear()``: on Redis it wipes the DB)."""
    settings.RATELIMIT_CACHE_PREFIX = f"rl:test:{uuid.uuid4().hex}:"
