"""The account pages (sign-in, sign-out, dashboard), page errors and the Django admin, through Django's test client.

Signed-in requests carry a real session token in the ``__session`` cookie: minted by the in-thread Clerk emulator
through the gateway (``POST /v1/sessions`` + ``/tokens``), verified by ``ClerkSessionMiddleware``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from accounts import clerk
from accounts.clerk_frontend import clerk_js_url, clerk_script, frontend_api_host, frontend_api_url, proxy_url
from accounts.models import User, Workspace
from accounts.roles import Role, WorkspaceRole
from accounts.services import user_upsert_from_clerk, workspace_link_from_clerk, workspace_member_ensure
from clerk_emulator.state import Emulator, encode_publishable_key
from core.exceptions import Conflict, NotFound, PermissionDenied
from core.middleware import PageErrorMiddleware, redirect_to_sign_in

pytestmark = pytest.mark.django_db

SignIn = Callable[..., User]


@pytest.fixture
def clerk_settings(settings: Any, clerk_gateway: Emulator) -> Emulator:
    """The emulator the app points at (tests/conftest.py), its plain-http Frontend API named as the demo names it."""
    settings.CLERK_FRONTEND_API_URL = clerk_gateway.base_url
    settings.CLERK_PROXY_URL = ""
    return clerk_gateway


@pytest.fixture
def make_user(clerk_settings: Emulator) -> Callable[..., User]:
    def make(
        email: str = "ann@example.com", *, role: str = "", first_name: str = "Ann", last_name: str = "Lee"
    ) -> User:
        metadata = {"role": role, "internal": True} if role else None
        clerk_user = clerk.create_user(
            email=email, password="pass-word-123", first_name=first_name, last_name=last_name, public_metadata=metadata
        )
        # The role is ours to give (as ``create_staff_user`` gives it): trusted, not a claim from metadata.
        user = user_upsert_from_clerk(clerk_user=clerk_user, trust_role=True)
        user.phone_verification_required = False  # onboarded: pages are not gated by /onboarding/phone/
        user.save(update_fields=["phone_verification_required"])
        return user

    return make


@pytest.fixture
def sign_in(make_user: Callable[..., User]) -> SignIn:
    """``sign_in(client, **user_fields)``: a user whose fresh session token sits in the client's ``__session``."""

    def do(client: Client, user: User | None = None, **fields: Any) -> User:
        user = user or make_user(**fields)
        session = clerk.create_session(user.clerk_user_id)
        client.cookies["__session"] = clerk.create_session_token(session.id)
        return user

    return do


# --------------------------------------------------------------------------- sign-in page
class TestSignInPage:
    def test_renders_the_form_and_loads_clerkjs_from_the_frontend_api(
        self, client: Client, clerk_settings: Emulator
    ) -> None:
        response = client.get("/sign-in/")
        assert response.status_code == 200
        html = response.content.decode()
        assert 'data-clerk-sign-in data-next="/dashboard/"' in html
        assert f'data-clerk-publishable-key="{clerk_settings.publishable_key}"' in html
        assert f'data-clerk-proxy-url="{clerk_settings.base_url}"' in html
        assert f'src="{clerk_settings.base_url}/npm/@clerk/clerk-js@6/dist/clerk.browser.js"' in html
        assert 'href="/sign-in/forgot/"' in html
        assert 'type="password"' in html
        assert "no-store" in response["Cache-Control"]
        assert response["Referrer-Policy"] == "same-origin"

    @pytest.mark.parametrize("next_url", ["/settings/", "/dashboard/?tab=1", "http://testserver/internal/"])
    def test_keeps_a_next_on_this_site(self, client: Client, clerk_settings: Emulator, next_url: str) -> None:
        response = client.get("/sign-in/", {"next": next_url})
        assert response.context["next_url"] == next_url

    @pytest.mark.parametrize(
        "next_url",
        [
            "//evil.com",
            "https://evil.com",
            "https://evil.com/dashboard/",
            "///evil.com",
            "/\\evil.com",
            "javascript:alert(1)",
            "http://testserver.evil.com/",
            "/sign-in/?next=/dashboard/",
            "/sign-out/",
        ],
    )
    def test_replaces_an_unsafe_next_by_the_dashboard(
        self, client: Client, clerk_settings: Emulator, next_url: str
    ) -> None:
        response = client.get("/sign-in/", {"next": next_url})
        assert response.status_code == 200
        assert response.context["next_url"] == "/dashboard/"
        assert "evil.com" not in response.content.decode()

    def test_a_signed_in_user_goes_straight_to_next(self, client: Client, sign_in: SignIn) -> None:
        sign_in(client)
        response = client.get("/sign-in/", {"next": "/django-admin/"})
        assert response.status_code == 302
        assert response["Location"] == "/django-admin/"

    def test_a_signed_in_user_is_not_sent_off_site(self, client: Client, sign_in: SignIn) -> None:
        sign_in(client)
        response = client.get("/sign-in/", {"next": "https://evil.com/"})
        assert response["Location"] == "/dashboard/"

    def test_a_post_means_the_script_did_not_run(self, client: Client, clerk_settings: Emulator) -> None:
        response = client.post("/sign-in/", {"email": "ann@example.com", "password": "secret", "next": "//evil.com"})
        assert response.status_code == 400
        html = response.content.decode()
        assert "needs JavaScript" in html
        assert "secret" not in html
        assert response.context["next_url"] == "/dashboard/"

    def test_without_a_publishable_key_the_page_still_renders(self, client: Client, settings: Any) -> None:
        settings.CLERK_PUBLISHABLE_KEY = ""
        settings.CLERK_FRONTEND_API_URL = ""
        response = client.get("/sign-in/")
        assert response.status_code == 200
        assert "ClerkJS is not configured" in response.content.decode()


# --------------------------------------------------------------------------- sign-out
class TestSignOut:
    def test_post_without_a_csrf_token_is_refused(self, sign_in: SignIn) -> None:
        client = Client(enforce_csrf_checks=True)
        sign_in(client)
        response = client.post("/sign-out/")
        assert response.status_code == 403

    def test_get_asks_for_confirmation_with_a_csrf_protected_form(
        self, client: Client, clerk_settings: Emulator
    ) -> None:
        response = client.get("/sign-out/")
        assert response.status_code == 200
        html = response.content.decode()
        assert 'action="/sign-out/"' in html
        assert "csrfmiddlewaretoken" in html

    def test_post_with_the_token_clears_the_cookie_and_hands_over_to_clerkjs(self, sign_in: SignIn) -> None:
        client = Client(enforce_csrf_checks=True)
        sign_in(client)
        page = client.get("/sign-out/")
        token = page.context["csrf_token"]
        response = client.post("/sign-out/", {"csrfmiddlewaretoken": str(token)})
        assert response.status_code == 200
        cookie = response.cookies["__session"]
        assert cookie.value == ""
        assert cookie["max-age"] == 0
        html = response.content.decode()
        assert 'data-clerk-sign-out data-redirect="/sign-in/"' in html
        assert "clerk.browser.js" in html
        # The next request is anonymous again.
        assert client.get("/dashboard/").status_code == 302

    def test_the_user_menu_signs_out_with_a_post_form(self, client: Client, sign_in: SignIn) -> None:
        sign_in(client)
        html = client.get("/dashboard/").content.decode()
        assert '<form method="post" action="/sign-out/">' in html
        assert "csrfmiddlewaretoken" in html


# --------------------------------------------------------------------------- dashboard
class TestForgotPassword:
    def test_renders_both_steps_with_clerkjs_and_keeps_a_safe_next(
        self, client: Client, clerk_settings: Emulator
    ) -> None:
        response = client.get("/sign-in/forgot/", {"next": "/settings/"})
        assert response.status_code == 200
        html = response.content.decode()
        assert 'data-clerk-reset data-next="/settings/"' in html
        assert 'data-step="email"' in html
        assert 'data-step="code" hidden' in html
        assert "clerk.browser.js" in html
        assert "no-store" in response["Cache-Control"]

    def test_an_unsafe_next_becomes_the_dashboard(self, client: Client, clerk_settings: Emulator) -> None:
        response = client.get("/sign-in/forgot/", {"next": "https://evil.com/"})
        assert response.context["next_url"] == "/dashboard/"

    def test_the_sign_in_link_carries_next(self, client: Client, clerk_settings: Emulator) -> None:
        html = client.get("/sign-in/", {"next": "/settings/"}).content.decode()
        assert 'href="/sign-in/forgot/?next=%2Fsettings%2F"' in html


class TestAccountPage:
    def test_anonymous_is_sent_to_sign_in(self, client: Client) -> None:
        response = client.get("/account/")
        assert response.status_code == 302
        assert response["Location"] == "/sign-in/?next=%2Faccount%2F"

    def test_shows_the_three_forms_with_the_current_name(self, client: Client, sign_in: SignIn) -> None:
        sign_in(client, email="ann@example.com", first_name="Ann", last_name="Lee")
        response = client.get("/account/")
        assert response.status_code == 200
        html = response.content.decode()
        assert 'id="account-first-name" name="first_name"' in html
        assert 'value="Ann"' in html
        assert 'id="account-password"' in html
        assert 'id="account-phone"' in html
        assert "accounts/account.js" in html
        assert "clerk.browser.js" in html
        assert 'href="/account/"' in html  # from the user menu


class TestApiDocs:
    def test_swagger_ui_is_served_from_the_installed_sidecar_and_loads_clerkjs(
        self, client: Client, clerk_settings: Emulator
    ) -> None:
        response = client.get("/api/docs/")
        assert response.status_code == 200
        html = response.content.decode()
        assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
        assert "cdn.jsdelivr.net" not in html
        assert "@latest" not in html
        assert f'data-clerk-publishable-key="{clerk_settings.publishable_key}"' in html
        assert "core/clerk.js" in html
        assert "accounts/auth.js" in html
        assert "data-clerk-session" in html


class TestDashboard:
    def test_anonymous_is_sent_to_sign_in_with_next(self, client: Client) -> None:
        response = client.get("/dashboard/")
        assert response.status_code == 302
        assert response["Location"] == "/sign-in/?next=%2Fdashboard%2F"

    def test_the_root_leads_to_the_dashboard(self, client: Client) -> None:
        response = client.get("/", follow=True)
        assert response.redirect_chain[-1][0] == "/sign-in/?next=%2Fdashboard%2F"

    def test_an_invalid_token_counts_as_signed_out(self, client: Client, clerk_settings: Emulator) -> None:
        client.cookies["__session"] = "not.a.token"
        response = client.get("/dashboard/")
        assert response.status_code == 302
        assert response["Location"].startswith("/sign-in/")

    def test_lists_the_users_workspaces_with_their_role(self, client: Client, sign_in: SignIn) -> None:
        user = sign_in(client, email="ann@example.com", first_name="Ann", last_name="Lee")
        for name, role in (("Zeta Labs", WorkspaceRole.MEMBER), ("Acme Inc", WorkspaceRole.ADMIN)):
            workspace = workspace_link_from_clerk(organization=clerk.create_organization(name=name))
            workspace_member_ensure(workspace=workspace, user=user, role=role)
        workspace_link_from_clerk(organization=clerk.create_organization(name="Not Mine"))

        response = client.get("/dashboard/")
        assert response.status_code == 200
        html = response.content.decode()
        assert "Welcome, Ann" in html
        assert "ann@example.com" in html
        # Which role is which: the workspace role beside each workspace, no bare "Member" account role beside it.
        assert html.count("Your role here") == 2
        assert 'Your role here</span> <span class="badge badge-ws-admin">Admin</span>' in html
        assert 'Your role here</span> <span class="badge badge-ws-member">Member</span>' in html
        assert "Account role" not in html
        assert "None: your role in each workspace is shown beside it" in html
        assert [m.workspace.name for m in response.context["memberships"]] == ["Acme Inc", "Zeta Labs"]
        assert [m.role for m in response.context["memberships"]] == ["admin", "member"]
        assert "Not Mine" not in html
        assert "No workspaces yet" not in html
        # Signed-in pages load ClerkJS, which keeps the 60-second session token fresh.
        assert "clerk.browser.js" in html
        assert "data-clerk-session" in html

    def test_empty_state(self, client: Client, sign_in: SignIn) -> None:
        sign_in(client)
        html = client.get("/dashboard/").content.decode()
        assert "No workspaces yet" in html

    def test_a_super_admin_in_no_workspace_lands_on_the_internal_dashboard(
        self, client: Client, sign_in: SignIn
    ) -> None:
        sign_in(client, email="root@example.com", role=Role.SUPER_ADMIN)
        response = client.get("/dashboard/")
        assert (response.status_code, response["Location"]) == (302, "/internal/")

    def test_staff_role_and_admin_link_for_a_super_admin(self, client: Client, sign_in: SignIn) -> None:
        user = sign_in(client, email="root@example.com", role=Role.SUPER_ADMIN)
        workspace = workspace_link_from_clerk(organization=clerk.create_organization(name="Acme Inc"))
        workspace_member_ensure(workspace=workspace, user=user, role=WorkspaceRole.ADMIN)
        html = client.get("/dashboard/").content.decode()
        assert "Super admin" in html
        assert 'href="/django-admin/"' in html

    def test_no_admin_link_for_others(self, client: Client, sign_in: SignIn) -> None:
        sign_in(client, email="pm@example.com", role=Role.PM)
        html = client.get("/dashboard/").content.decode()
        assert "Project manager" in html
        assert "/django-admin/" not in html

    def test_a_deactivated_user_is_signed_out(self, client: Client, sign_in: SignIn) -> None:
        user = sign_in(client)
        clerk.ban_user(user.clerk_user_id)
        User.objects.filter(pk=user.pk).update(disabled_at="2025-01-01T00:00:00Z")
        assert client.get("/dashboard/").status_code == 302


# --------------------------------------------------------------------------- page errors
class TestPageErrors:
    def _middleware(self) -> PageErrorMiddleware:
        return PageErrorMiddleware(lambda request: None)  # type: ignore[arg-type,return-value]

    def test_permission_denied_is_the_styled_403_page(self, rf: RequestFactory, clerk_settings: Emulator) -> None:
        request = rf.get("/settings/")
        response = self._middleware().process_exception(request, PermissionDenied("Only workspace admins."))
        assert response is not None
        assert response.status_code == 403
        assert "Only workspace admins." in response.content.decode()

    def test_other_application_errors_keep_their_status_and_message(self, rf: RequestFactory) -> None:
        request = rf.get("/settings/")
        response = self._middleware().process_exception(request, Conflict("Already invited."))
        assert response is not None
        assert response.status_code == 409
        assert "Already invited." in response.content.decode()

    def test_api_and_webhook_paths_are_left_to_drf(self, rf: RequestFactory) -> None:
        for path in ("/api/workspaces/1/members/", "/webhooks/clerk/"):
            assert self._middleware().process_exception(rf.get(path), NotFound()) is None

    def test_other_exceptions_are_left_alone(self, rf: RequestFactory) -> None:
        assert self._middleware().process_exception(rf.get("/dashboard/"), ValueError()) is None

    @pytest.mark.parametrize("path", ["//evil.com", "//evil.com/x?y=1"])
    def test_sign_in_redirect_drops_an_unsafe_return_path(self, rf: RequestFactory, path: str) -> None:
        request = rf.get("/placeholder/")
        request.path = path  # a request line such as `GET //evil.com HTTP/1.1`
        response = redirect_to_sign_in(request)
        assert response["Location"] == "/sign-in/"

    def test_sign_in_redirect_for_a_form_post_returns_to_the_form(self, rf: RequestFactory) -> None:
        request = rf.post("/settings/invite/", HTTP_REFERER="http://testserver/settings/?ws=1")
        assert redirect_to_sign_in(request)["Location"] == "/sign-in/?next=%2Fsettings%2F%3Fws%3D1"
        foreign = rf.post("/settings/invite/", HTTP_REFERER="https://evil.com/settings/")
        assert redirect_to_sign_in(foreign)["Location"] == "/sign-in/"

    def test_htmx_requests_get_a_client_redirect(self, rf: RequestFactory) -> None:
        request = rf.get("/dashboard/")
        request.htmx = True  # type: ignore[attr-defined]
        response = redirect_to_sign_in(request)
        assert response["HX-Redirect"] == "/sign-in/?next=%2Fdashboard%2F"

    def test_500_page_renders_without_a_request_context(self, rf: RequestFactory) -> None:
        response = server_error(rf.get("/dashboard/"))
        assert response.status_code == 500
        assert "Something went wrong on our side" in response.content.decode()

    def test_a_csrf_failure_is_a_styled_page(self, sign_in: SignIn) -> None:
        client = Client(enforce_csrf_checks=True)
        sign_in(client)
        response = client.post("/sign-out/")
        assert response.status_code == 403
        assert "This form has expired" in response.content.decode()

    def test_404_page_is_styled(self, client: Client) -> None:
        response = client.get("/no-such-page/")
        assert response.status_code == 404
        assert "Page not found" in response.content.decode()


# --------------------------------------------------------------------------- ClerkJS location
class TestFrontendApiUrl:
    def test_a_key_host_is_always_https_as_clerkjs_calls_it(self, settings: Any) -> None:
        settings.CLERK_FRONTEND_API_URL = ""
        settings.CLERK_PUBLISHABLE_KEY = encode_publishable_key("127.0.0.1:8787")
        assert frontend_api_url() == "https://127.0.0.1:8787"
        assert proxy_url() == ""

    def test_derived_from_a_clerk_key(self, settings: Any) -> None:
        settings.CLERK_FRONTEND_API_URL = ""
        settings.CLERK_PUBLISHABLE_KEY = "pk_test_ZXhhbXBsZS1hcHAtMTIuY2xlcmsuYWNjb3VudHMuZGV2JA"
        assert frontend_api_host(settings.CLERK_PUBLISHABLE_KEY) == "example-app-12.clerk.accounts.dev"
        assert frontend_api_url() == "https://example-app-12.clerk.accounts.dev"
        assert clerk_js_url() == "https://example-app-12.clerk.accounts.dev/npm/@clerk/clerk-js@6/dist/clerk.browser.js"
        script = clerk_script()
        assert script is not None
        assert script.proxy_url == ""

    def test_a_live_key_and_an_explicit_url(self, settings: Any) -> None:
        settings.CLERK_FRONTEND_API_URL = ""
        settings.CLERK_PUBLISHABLE_KEY = encode_publishable_key("clerk.example.com").replace("pk_test_", "pk_live_")
        assert frontend_api_url() == "https://clerk.example.com"
        settings.CLERK_FRONTEND_API_URL = "https://clerk.other.example/"
        assert frontend_api_url() == "https://clerk.other.example"
        assert proxy_url() == ""

    def test_a_plain_http_frontend_api_is_reached_through_proxy_url(self, settings: Any) -> None:
        settings.CLERK_PUBLISHABLE_KEY = encode_publishable_key("emulator.clerk.accounts.dev")
        settings.CLERK_FRONTEND_API_URL = "http://127.0.0.1:8787/"
        assert proxy_url() == "http://127.0.0.1:8787"
        assert clerk_js_url() == "http://127.0.0.1:8787/npm/@clerk/clerk-js@6/dist/clerk.browser.js"

    @pytest.mark.parametrize(
        ("configured", "src"),
        [
            (
                "https://app.example.com/__clerk/",
                "https://app.example.com/__clerk/npm/@clerk/clerk-js@6/dist/clerk.browser.js",
            ),
            ("/__clerk", "/__clerk/npm/@clerk/clerk-js@6/dist/clerk.browser.js"),
        ],
    )
    def test_clerk_proxy_url_loads_clerkjs_through_the_proxy(
        self, client: Client, settings: Any, configured: str, src: str
    ) -> None:
        settings.CLERK_PUBLISHABLE_KEY = encode_publishable_key("clerk.example.com").replace("pk_test_", "pk_live_")
        settings.CLERK_FRONTEND_API_URL = ""
        settings.CLERK_PROXY_URL = configured
        html = client.get("/sign-in/").content.decode()
        assert f'data-clerk-proxy-url="{configured.rstrip("/")}"' in html
        assert f'src="{src}"' in html

    def test_a_proxy_url_that_is_neither_absolute_nor_a_path_is_refused(self, settings: Any) -> None:
        settings.CLERK_PROXY_URL = "app.example.com/__clerk"
        with pytest.raises(ImproperlyConfigured):
            proxy_url()

    @pytest.mark.parametrize("key", ["sk_test_abc", "pk_test_!!!", "pk_test_" + "bm9kb2xsYXI", "pk_live_"])
    def test_a_bad_key_is_a_configuration_error(self, key: str) -> None:
        with pytest.raises(ImproperlyConfigured):
            frontend_api_host(key)


# --------------------------------------------------------------------------- Django admin
ADMIN_CHANGELISTS = [
    "admin:accounts_user_changelist",
    "admin:accounts_workspace_changelist",
    "admin:accounts_workspacemembership_changelist",
    "admin:core_auditevent_changelist",
    "admin:core_webhookevent_changelist",
]


class TestDjangoAdmin:
    def test_anonymous_is_sent_to_the_clerk_sign_in(self, client: Client) -> None:
        response = client.get("/django-admin/", follow=True)
        assert response.redirect_chain[-1][0] == "/sign-in/?next=%2Fdjango-admin%2F"

    def test_a_signed_in_non_super_admin_gets_the_403_page(self, client: Client, sign_in: SignIn) -> None:
        sign_in(client, email="admin@example.com", role=Role.ADMIN)
        response = client.get("/django-admin/", follow=True)
        assert response.status_code == 403
        assert "only for super admins" in response.content.decode()

    @pytest.mark.parametrize("name", ADMIN_CHANGELISTS)
    def test_every_model_has_search_and_filters(self, client: Client, sign_in: SignIn, name: str) -> None:
        sign_in(client, email="root@example.com", role=Role.SUPER_ADMIN)
        response = client.get(reverse(name), {"q": "example"})
        assert response.status_code == 200
        model_admin = response.context["cl"].model_admin
        assert model_admin.search_fields
        assert model_admin.list_filter

    def test_records_and_mirrors_cannot_be_added_in_the_admin(self, client: Client, sign_in: SignIn) -> None:
        sign_in(client, email="root@example.com", role=Role.SUPER_ADMIN)
        for name in ("accounts_user", "accounts_workspace", "core_auditevent", "core_webhookevent"):
            assert client.get(reverse(f"admin:{name}_add")).status_code == 403

    def test_clerk_fields_of_a_user_are_read_only(self, client: Client, sign_in: SignIn) -> None:
        root = sign_in(client, email="root@example.com", role=Role.SUPER_ADMIN)
        response = client.get(reverse("admin:accounts_user_change", args=[root.pk]))
        assert response.status_code == 200
        form_fields = set(response.context["adminform"].form.fields)
        assert form_fields == {"phone_verification_required"}

    def test_the_admin_logout_signs_out_through_clerk(self, sign_in: SignIn) -> None:
        client = Client(enforce_csrf_checks=True)
        sign_in(client, email="root@example.com", role=Role.SUPER_ADMIN)
        token = client.get(reverse("admin:index")).context["csrf_token"]
        response = client.post(reverse("admin:logout"), {"csrfmiddlewaretoken": str(token)})
        assert response.status_code == 200
        assert "data-clerk-sign-out" in response.content.decode()
        assert response.cookies["__session"].value == ""

    def test_workspace_view_page(self, client: Client, sign_in: SignIn) -> None:
        sign_in(client, email="root@example.com", role=Role.SUPER_ADMIN)
        workspace = workspace_link_from_clerk(organization=clerk.create_organization(name="Acme"))
        response = client.get(reverse("admin:accounts_workspace_change", args=[workspace.pk]))
        assert response.status_code == 200
        assert Workspace.objects.count() == 1
