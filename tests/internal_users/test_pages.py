"""The staff pages with Django's test client (cookie sessions, CSRF enforced): who may open what, the list, every
action as a plain form, the typed confirmation, the accept page, and the phone onboarding gate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.test import Client

from accounts import clerk
from accounts.models import User
from accounts.roles import Role
from clerk_emulator import auth
from clerk_emulator.state import Emulator
from core.models import AuditEvent
from internal_users import services
from internal_users.models import InternalInvitation, InternalInvitationStatus

pytestmark = pytest.mark.django_db

USERS = "/internal/users/"
PAGES = ["/internal/", USERS]


def csrf_post(client: Client, path: str, data: dict[str, str] | None = None, *, page: str = USERS) -> Any:
    """POST with the CSRF token a browser would have from ``page``."""
    client.get(page)
    token = client.cookies["csrftoken"].value
    return client.post(path, {**(data or {}), "csrfmiddlewaretoken": token})


# --------------------------------------------------------------------------- who may open what
@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.SUPER_ADMIN, {"/internal/": 200, USERS: 200}),
        (Role.ADMIN, {"/internal/": 200, USERS: 200}),
        (Role.PM, {"/internal/": 200, USERS: 403}),
        (Role.MEMBER, {"/internal/": 403, USERS: 403}),
    ],
)
def test_page_permissions(browser: Callable[..., tuple[Client, User]], role: str, expected: dict[str, int]) -> None:
    client, _ = browser(role)
    assert {path: client.get(path).status_code for path in PAGES} == expected


@pytest.mark.parametrize("path", [*PAGES, "/onboarding/phone/"])
def test_anonymous_visitors_are_sent_to_sign_in(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in/?next=")


def test_the_accept_page_is_public_and_never_echoes_the_ticket(client: Client) -> None:
    response = client.get("/internal/accept-invite/?__clerk_ticket=secret-ticket-value&__clerk_status=sign_up")
    assert response.status_code == 200
    assert b"secret-ticket-value" not in response.content
    assert b"Create your staff account" in response.content
    assert response["Referrer-Policy"] == "no-referrer"
    missing = client.get("/internal/accept-invite/")
    assert b"This invitation link is incomplete" in missing.content


def test_the_accept_page_names_the_role_and_inviter_but_not_the_email(
    browser: Callable[..., tuple[Client, User]], client: Client, clerk_gateway: Emulator
) -> None:
    _, root = browser(Role.SUPER_ADMIN, first_name="Rita", last_name="Root")
    row = services.internal_invite(email="pia@example.com", role="pm", actor=root)
    ticket = _ticket_of(clerk_gateway, row.clerk_invitation_id)
    html = client.get(f"/internal/accept-invite/?invitation_id={row.pk}&__clerk_ticket={ticket}").content.decode()
    assert "Rita Root" in html
    assert "Project manager" in html
    assert "pia@example.com" not in html


def _ticket_of(em: Emulator, clerk_invitation_id: str | None) -> str:
    assert clerk_invitation_id is not None
    url = em.invitations[clerk_invitation_id].url
    assert url is not None
    return parse_qs(urlsplit(url).query)["ticket"][0]


@pytest.mark.parametrize(
    "query",
    [
        "",  # no ticket: ids can be walked
        "&__clerk_ticket=t",  # not a ticket
        "&__clerk_status=complete",
        "&__clerk_ticket=OTHER",  # a genuine ticket, of another invitation
    ],
)
def test_the_accept_page_without_this_invitations_ticket_shows_no_inviter_or_role(
    browser: Callable[..., tuple[Client, User]], client: Client, clerk_gateway: Emulator, query: str
) -> None:
    _, root = browser(Role.SUPER_ADMIN, first_name="Rita", last_name="Root")
    row = services.internal_invite(email="pia@example.com", role="admin", actor=root)
    other = services.internal_invite(email="oli@example.com", role="pm", actor=root)
    query = query.replace("OTHER", _ticket_of(clerk_gateway, other.clerk_invitation_id))
    response = client.get(f"/internal/accept-invite/?invitation_id={row.pk}{query}")
    assert response.status_code == 200
    html = response.content.decode()
    for secret in ("Rita", "Root", root.email or "-", "Admin", "pia@example.com"):
        assert secret not in html, secret


# --------------------------------------------------------------------------- the list and its forms
def test_invite_form_sends_one_email_and_lists_the_invitation(
    browser: Callable[..., tuple[Client, User]], django_capture_on_commit_callbacks: Any
) -> None:
    client, _ = browser(Role.ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        response = csrf_post(
            client, USERS, {"email": "New@Example.com", "role": "pm", "back": USERS + "?status=pending"}
        )
    assert response.status_code == 302
    assert response["Location"] == USERS + "?status=pending"
    assert len(mail.outbox) == 1
    page = client.get(USERS).content.decode()
    assert "Invitation sent to new@example.com." in page
    assert "new@example.com" in page


def test_an_admin_is_not_offered_super_admin_and_cannot_post_it(
    browser: Callable[..., tuple[Client, User]], clerk_gateway: Emulator
) -> None:
    client, _ = browser(Role.ADMIN)
    html = client.get(USERS).content.decode()
    invite_select = html[html.index('id="invite-role"') : html.index("</select>", html.index('id="invite-role"'))]
    assert 'value="pm"' in invite_select
    assert 'value="super_admin"' not in invite_select
    calls = len(clerk_gateway.request_log)
    response = csrf_post(client, USERS, {"email": "boss@example.com", "role": "super_admin"})
    assert response.status_code == 400
    assert not InternalInvitation.objects.exists()
    assert len(clerk_gateway.request_log) == calls


def test_inviting_an_existing_account_points_to_grant_role(
    browser: Callable[..., tuple[Client, User]], clerk_user_factory: Callable[..., Any]
) -> None:
    client, _ = browser(Role.SUPER_ADMIN)
    clerk_user_factory(email="known@example.com")
    response = csrf_post(client, USERS, {"email": "known@example.com", "role": "pm"})
    assert response.status_code == 409
    assert "Grant staff role" in response.content.decode()
    granted = csrf_post(client, "/internal/users/grant-role/", {"email": "known@example.com", "role": "pm"})
    assert granted.status_code == 302
    assert User.objects.get(email="known@example.com").role == Role.PM


def test_resend_and_revoke_forms(browser: Callable[..., tuple[Client, User]]) -> None:
    client, root = browser(Role.SUPER_ADMIN)
    row = services.internal_invite(email="pia@example.com", role="pm", actor=root)
    assert csrf_post(client, f"/internal/users/invitations/{row.pk}/resend/").status_code == 302
    row.refresh_from_db()
    assert row.send_count == 2
    # Without JavaScript the form posts without ``confirm``: our confirmation page asks first, nothing is revoked.
    revoke_url = f"/internal/users/invitations/{row.pk}/revoke/"
    asked = csrf_post(client, revoke_url, {"back": USERS + "?status=pending"})
    assert asked.status_code == 200
    html = asked.content.decode()
    assert "Revoke the invitation to pia@example.com?" in html
    assert 'name="confirm" value="yes"' in html
    assert 'href="/internal/users/?status=pending">Keep it</a>' in html
    assert "Revoke the invitation to pia@example.com?" in client.get(revoke_url).content.decode()
    row.refresh_from_db()
    assert row.status == InternalInvitationStatus.PENDING
    assert csrf_post(client, revoke_url, {"confirm": "yes"}).status_code == 302
    row.refresh_from_db()
    assert row.status == InternalInvitationStatus.REVOKED
    assert "Nothing to revoke" in client.get(revoke_url).content.decode()
    page = client.get(USERS).content.decode()
    assert "Invitation to pia@example.com revoked." in page
    assert csrf_post(client, "/internal/users/invitations/999999/revoke/", {"confirm": "yes"}).status_code == 404


def test_deactivate_needs_a_confirmation_then_bans_and_reactivate_unbans(
    browser: Callable[..., tuple[Client, User]], clerk_gateway: Emulator
) -> None:
    client, _ = browser(Role.ADMIN)
    _, pm = browser(Role.PM, first_name="Pia", last_name="Park")
    path = f"/internal/users/{pm.clerk_user_id}/deactivate/"
    confirm = client.get(path)
    assert confirm.status_code == 200
    assert "Deactivate Pia Park?" in confirm.content.decode()
    assert User.objects.get(pk=pm.pk).disabled_at is None  # a GET changes nothing
    assert csrf_post(client, path).status_code == 302
    assert User.objects.get(pk=pm.pk).disabled_at is not None
    assert clerk.get_user(pm.clerk_user_id).banned
    assert csrf_post(client, f"/internal/users/{pm.clerk_user_id}/reactivate/").status_code == 302
    assert User.objects.get(pk=pm.pk).disabled_at is None
    assert not clerk.get_user(pm.clerk_user_id).banned


def test_remove_needs_the_email_typed_and_is_super_admin_only(browser: Callable[..., tuple[Client, User]]) -> None:
    admin_client, _ = browser(Role.ADMIN)
    client, _ = browser(Role.SUPER_ADMIN)
    _, pm = browser(Role.PM)
    path = f"/internal/users/{pm.clerk_user_id}/remove/"
    assert admin_client.get(path).status_code == 403
    wrong = csrf_post(client, path, {"confirm_email": "someone@example.com"})
    assert wrong.status_code == 400
    assert "exactly to confirm" in wrong.content.decode()
    assert User.objects.filter(pk=pm.pk).exists()
    assert csrf_post(client, path, {"confirm_email": (pm.email or "").upper()}).status_code == 302
    assert not User.objects.filter(pk=pm.pk).exists()
    assert AuditEvent.objects.filter(action="staff_user.removed", target_id=str(pm.pk)).exists()


def test_an_admin_sees_no_actions_on_a_super_admin_and_is_refused_if_they_post(
    browser: Callable[..., tuple[Client, User]], clerk_gateway: Emulator
) -> None:
    client, _ = browser(Role.ADMIN)
    _, root = browser(Role.SUPER_ADMIN, email="root@example.com")
    page = client.get(USERS).content.decode()
    assert f"/internal/users/{root.clerk_user_id}/deactivate/" not in page
    calls = len(clerk_gateway.request_log)
    response = csrf_post(client, f"/internal/users/{root.clerk_user_id}/deactivate/")
    assert response.status_code == 302
    assert "Only a super admin" in client.get(USERS).content.decode()
    assert User.objects.get(pk=root.pk).disabled_at is None
    assert len(clerk_gateway.request_log) == calls


def test_nobody_deactivates_themselves(browser: Callable[..., tuple[Client, User]]) -> None:
    client, me = browser(Role.SUPER_ADMIN)
    csrf_post(client, f"/internal/users/{me.clerk_user_id}/deactivate/")
    assert User.objects.get(pk=me.pk).disabled_at is None
    assert "your own account" in client.get(USERS).content.decode()


@pytest.mark.parametrize(
    "path",
    [USERS, "/internal/users/grant-role/", "/internal/users/invitations/1/resend/", "/onboarding/phone/"],
)
def test_every_form_needs_the_csrf_token(browser: Callable[..., tuple[Client, User]], path: str) -> None:
    client, _ = browser(Role.SUPER_ADMIN)
    assert client.post(path, {"email": "x@example.com", "role": "pm"}).status_code == 403
    assert not InternalInvitation.objects.exists()


def test_filters_search_and_pages(browser: Callable[..., tuple[Client, User]], settings: Any) -> None:
    client, root = browser(Role.SUPER_ADMIN)
    for n in range(3):
        browser(Role.PM, email=f"pm{n}@example.com")
    services.internal_invite(email="waiting@example.com", role="admin", actor=root)
    html = client.get(USERS + "?status=pending").content.decode()
    assert "waiting@example.com" in html
    assert "pm0@example.com" not in html
    html = client.get(USERS + "?role=pm&q=pm1").content.decode()
    assert "pm1@example.com" in html
    assert "pm2@example.com" not in html
    bad = client.get(USERS + "?status=nope")
    assert bad.status_code == 200
    assert "Unknown status" in bad.content.decode()
    assert client.get(USERS + "?cursor=garbage").status_code == 200  # a bad cursor starts again, never a 500


# --------------------------------------------------------------------------- phone onboarding
def test_a_member_who_needs_a_phone_is_sent_to_onboarding_and_back(
    browser: Callable[..., tuple[Client, User]],
) -> None:
    client, member = browser(Role.MEMBER, needs_phone=True)
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"] == "/onboarding/phone/?next=%2Fdashboard%2F"
    assert client.get("/onboarding/phone/?next=/dashboard/").status_code == 200
    # The API is never gated; the server checks with Clerk before letting them through.
    refused = csrf_post(client, "/onboarding/phone/?next=/dashboard/", page="/onboarding/phone/")
    assert refused.status_code == 409
    assert "no verified phone number" in refused.content.decode()
    assert User.objects.get(pk=member.pk).phone_verification_required


def test_onboarding_completes_once_clerk_says_the_phone_is_verified(
    browser: Callable[..., tuple[Client, User]], clerk_gateway: Emulator
) -> None:
    client, member = browser(Role.MEMBER, needs_phone=True)
    record = clerk_gateway.users[member.clerk_user_id]
    clerk_gateway_verify_phone(clerk_gateway, record, "+14155550123")
    response = csrf_post(client, "/onboarding/phone/", {"next": "/settings/"}, page="/onboarding/phone/")
    assert response.status_code == 302
    assert response["Location"] == "/settings/"
    user = User.objects.get(pk=member.pk)
    assert (user.phone_verification_required, user.phone_number) == (False, "+14155550123")
    assert client.get("/dashboard/").status_code == 200


def clerk_gateway_verify_phone(em: Emulator, record: Any, number: str) -> None:
    """Give the emulator's user a verified phone number through the same steps the browser's SMS flow takes."""
    phone = auth.create_phone_number(em, record, {"phone_number": number})
    auth.prepare_phone_verification(em, record, phone, {"strategy": "phone_code"})
    auth.attempt_phone_verification(em, record, phone, {"code": phone.pending_code})


def test_staff_never_see_onboarding(browser: Callable[..., tuple[Client, User]]) -> None:
    client, _ = browser(Role.PM, needs_phone=True)
    assert client.get("/internal/").status_code == 200
    response = client.get("/onboarding/phone/")
    assert response.status_code == 302
    assert response["Location"] == "/internal/"


@pytest.mark.parametrize("path", ["/dashboard/", "/settings/?workspace=1", "/internal/", "/django-admin/"])
def test_the_gate_covers_every_page(browser: Callable[..., tuple[Client, User]], path: str) -> None:
    client, _ = browser(Role.MEMBER, needs_phone=True)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/onboarding/phone/?next=")


@pytest.mark.parametrize(
    "path", ["/sign-out/", "/accept-invite/", "/internal/accept-invite/", "/onboarding/phone/", "/api/schema/"]
)
def test_the_gate_leaves_auth_accept_onboarding_and_api_alone(
    browser: Callable[..., tuple[Client, User]], path: str
) -> None:
    client, _ = browser(Role.MEMBER, needs_phone=True)
    response = client.get(path)
    assert not response.get("Location", "").startswith("/onboarding/")


def test_onboarding_never_sends_anyone_off_site(
    browser: Callable[..., tuple[Client, User]], clerk_gateway: Emulator
) -> None:
    client, member = browser(Role.MEMBER, needs_phone=True)
    clerk_gateway_verify_phone(clerk_gateway, clerk_gateway.users[member.clerk_user_id], "+14155550124")
    page = "/onboarding/phone/?next=https://evil.example/"
    response = csrf_post(client, page, {"next": "https://evil.example/"}, page=page)
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"


# --------------------------------------------------------------------------- htmx
def test_htmx_refusals_come_back_as_the_list_marked_for_swapping(
    browser: Callable[..., tuple[Client, User]], clerk_user_factory: Callable[..., Any]
) -> None:
    """htmx swaps no 4xx by default: the list's own refusals carry X-Staff-Page so staff.js swaps them in."""
    client, _ = browser(Role.SUPER_ADMIN)
    clerk_user_factory(email="known@example.com")
    client.get(USERS)
    token = client.cookies["csrftoken"].value
    response = client.post(
        USERS, {"email": "known@example.com", "role": "admin", "csrfmiddlewaretoken": token}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 409
    assert response["X-Staff-Page"] == "1"
    html = response.content.decode()
    assert 'id="staff"' in html
    assert "already has an account" in html
    grant = html[html.index('id="grant-email"') - 200 : html.index('id="grant-email"') + 200]
    assert 'value="known@example.com"' in grant  # "Grant staff role" is filled in
    invalid = client.post(USERS, {"email": "nope", "role": "pm", "csrfmiddlewaretoken": token}, HTTP_HX_REQUEST="true")
    assert (invalid.status_code, invalid["X-Staff-Page"]) == (400, "1")
    assert "X-Staff-Page" not in client.get(USERS).headers


def test_htmx_actions_redirect_back_to_the_list_with_its_filters(browser: Callable[..., tuple[Client, User]]) -> None:
    client, root = browser(Role.SUPER_ADMIN)
    row = services.internal_invite(email="pia@example.com", role="pm", actor=root)
    client.get(USERS)
    token = client.cookies["csrftoken"].value
    back = USERS + "?status=pending&q=pia"
    response = client.post(
        f"/internal/users/invitations/{row.pk}/revoke/",
        {"back": back, "csrfmiddlewaretoken": token},
        HTTP_HX_REQUEST="true",
    )
    assert (response.status_code, response["Location"]) == (302, back)
    offsite = client.post(
        f"/internal/users/invitations/{row.pk}/revoke/",
        {"back": "//evil.example/internal/users/", "confirm": "yes", "csrfmiddlewaretoken": token},
    )
    assert offsite["Location"] == USERS


def test_expired_and_failed_invitations_offer_resend_and_revoke(browser: Callable[..., tuple[Client, User]]) -> None:
    client, root = browser(Role.SUPER_ADMIN)
    expired = services.internal_invite(email="late@example.com", role="pm", actor=root)
    InternalInvitation.objects.filter(pk=expired.pk).update(status=InternalInvitationStatus.EXPIRED)
    html = client.get(USERS + "?status=expired").content.decode()
    assert f"/internal/users/invitations/{expired.pk}/resend/" in html
    assert f"/internal/users/invitations/{expired.pk}/revoke/" in html


def test_staff_find_the_internal_dashboard_from_the_main_one(browser: Callable[..., tuple[Client, User]]) -> None:
    staff, _ = browser(Role.PM)
    member, _ = browser(Role.MEMBER)
    assert 'href="/internal/"' in staff.get("/dashboard/").content.decode()
    assert 'href="/internal/"' not in member.get("/dashboard/").content.decode()


def test_granting_a_role_to_nobody_says_so_beside_the_form(browser: Callable[..., tuple[Client, User]]) -> None:
    client, _ = browser(Role.SUPER_ADMIN)
    response = csrf_post(client, "/internal/users/grant-role/", {"email": "ghost@example.com", "role": "pm"})
    assert (response.status_code, response["X-Staff-Page"]) == (404, "1")
    assert "No account uses ghost@example.com" in response.content.decode()
