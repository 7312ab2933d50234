"""Clerk's rules, as the emulator must enforce them (docs/clerk-emulator.md, "Clerk behaviours")."""

from __future__ import annotations

import time
from typing import Any, cast

import httpx
import pytest
from clerk_backend_api import Clerk, models

from clerk_emulator import invitations
from clerk_emulator.state import HOURLY_CAPS, Emulator, Fault
from tests.clerk_emulator.openapi import assert_clerk_error

DAY_MS = 86_400_000
DAY_S = 86_400


def make_user(sdk: Clerk, email: str) -> str:
    user = sdk.users.create(email_address=[email])
    assert user.id is not None
    return user.id


@pytest.fixture
def org(sdk: Clerk) -> dict[str, str]:
    admin = make_user(sdk, "admin@example.com")
    member = make_user(sdk, "member@example.com")
    created = sdk.organizations.create(request={"name": "Acme", "created_by": admin})
    sdk.organization_memberships.create(organization_id=created.id, user_id=member, role="org:member")
    return {"id": created.id, "admin": admin, "member": member}


def clerk_code(error: models.ClerkErrors) -> str:
    return error.data.errors[0].code


def org_invite(sdk: Clerk, org_id: str, email: str, **kwargs: Any) -> models.OrganizationInvitation:
    return sdk.organization_invitations.create(organization_id=org_id, email_address=email, role="org:member", **kwargs)


def app_invite(sdk: Clerk, email: str, **fields: Any) -> models.Invitation:
    return sdk.invitations.create(request=cast(Any, {"email_address": email, "notify": False, **fields}))


def app_bulk(sdk: Clerk, entries: list[dict[str, Any]]) -> list[models.Invitation]:
    return sdk.invitations.bulk_create(request=cast(Any, entries))


def org_bulk(sdk: Clerk, org_id: str, entries: list[dict[str, Any]]) -> models.OrganizationInvitations:
    return sdk.organization_invitations.bulk_create(organization_id=org_id, request_body=cast(Any, entries))


# -- duplicates and existing accounts ------------------------------------------------------------------------------


def test_duplicate_pending_application_invitation_is_refused(sdk: Clerk) -> None:
    app_invite(sdk, "dup@example.com")
    with pytest.raises(models.ClerkErrors) as caught:
        app_invite(sdk, "DUP@example.com")
    assert caught.value.status_code == 400
    assert clerk_code(caught.value) == "duplicate_record"
    assert "dup@example.com" in caught.value.data.errors[0].long_message
    assert len(sdk.invitations.list()) == 1


def test_ignore_existing_creates_a_second_application_invitation(sdk: Clerk) -> None:
    app_invite(sdk, "again@example.com")
    app_invite(sdk, "again@example.com", ignore_existing=True)
    assert len(sdk.invitations.list(query="again@")) == 2


def test_duplicate_pending_organization_invitation_is_refused(sdk: Clerk, org: dict[str, str]) -> None:
    org_invite(sdk, org["id"], "dup@example.com")
    with pytest.raises(models.ClerkErrors) as caught:
        org_invite(sdk, org["id"], "Dup@Example.com")
    assert caught.value.status_code == 400
    assert clerk_code(caught.value) == "organization_invitation_not_unique"
    # The same email may be invited to another organization.
    other = sdk.organizations.create(request={"name": "Other"})
    org_invite(sdk, other.id, "dup@example.com")


def test_application_invitation_for_an_existing_user_is_refused(sdk: Clerk) -> None:
    make_user(sdk, "taken@example.com")
    with pytest.raises(models.ClerkErrors) as caught:
        app_invite(sdk, "Taken@example.com", ignore_existing=True)  # cannot be bypassed
    assert caught.value.status_code == 400
    assert clerk_code(caught.value) == "invitation_account_exists"
    assert sdk.invitations.list() == []


def test_organization_invitation_for_an_existing_user_who_is_not_a_member_is_allowed(
    sdk: Clerk, org: dict[str, str]
) -> None:
    make_user(sdk, "outsider@example.com")
    assert org_invite(sdk, org["id"], "outsider@example.com").status == "pending"


def test_inviting_an_existing_member_is_refused(sdk: Clerk, org: dict[str, str]) -> None:
    with pytest.raises(models.ClerkErrors) as caught:
        org_invite(sdk, org["id"], "member@example.com")
    assert caught.value.status_code == 400
    assert clerk_code(caught.value) == "already_a_member_in_organization"


def test_adding_an_existing_member_is_refused(sdk: Clerk, org: dict[str, str]) -> None:
    with pytest.raises(models.ClerkErrors) as caught:
        sdk.organization_memberships.create(organization_id=org["id"], user_id=org["member"], role="org:admin")
    assert caught.value.status_code == 400
    assert clerk_code(caught.value) == "already_a_member_in_organization"
    roles = [m.role for m in sdk.organization_memberships.list(organization_id=org["id"], user_id=[org["member"]]).data]
    assert roles == ["org:member"]


# -- bulk ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 10])
def test_bulk_accepts_one_to_ten(sdk: Clerk, org: dict[str, str], size: int) -> None:
    emails = [f"user{i}@example.com" for i in range(size)]
    assert len(app_bulk(sdk, [{"email_address": e, "notify": False} for e in emails])) == size
    created = org_bulk(sdk, org["id"], [{"email_address": e, "role": "org:member"} for e in emails])
    assert created.total_count == size


@pytest.mark.parametrize(("size", "code"), [(0, "request_body_invalid"), (11, "bulk_size_exceeded")])
def test_bulk_refuses_zero_and_eleven(sdk: Clerk, org: dict[str, str], size: int, code: str) -> None:
    emails = [f"user{i}@example.com" for i in range(size)]
    with pytest.raises(models.ClerkErrors) as app:
        app_bulk(sdk, [{"email_address": e} for e in emails])
    assert (app.value.status_code, clerk_code(app.value)) == (400, code)
    with pytest.raises(models.ClerkErrors) as organization:
        org_bulk(sdk, org["id"], [{"email_address": e, "role": "org:member"} for e in emails])
    assert (organization.value.status_code, clerk_code(organization.value)) == (400, code)
    assert sdk.invitations.list() == []
    assert sdk.organization_invitations.list(organization_id=org["id"]).total_count == 0


@pytest.mark.parametrize(
    ("bad_entry", "code"),
    [
        ({"email_address": "not-an-email"}, "form_param_format_invalid"),
        ({"email_address": "member@example.com"}, None),  # app: existing account; org: existing member
        ({"email_address": "first@example.com"}, "duplicate_record"),  # repeated inside the request
    ],
)
def test_bulk_is_all_or_nothing(sdk: Clerk, org: dict[str, str], bad_entry: dict[str, str], code: str | None) -> None:
    entries = [{"email_address": "first@example.com"}, {"email_address": "second@example.com"}, bad_entry]
    with pytest.raises(models.ClerkErrors) as app:
        app_bulk(sdk, [{**entry, "notify": False} for entry in entries])
    assert clerk_code(app.value) == (code or "invitation_account_exists")
    with pytest.raises(models.ClerkErrors) as organization:
        org_bulk(sdk, org["id"], [{**entry, "role": "org:member"} for entry in entries])
    assert clerk_code(organization.value) == (code or "already_a_member_in_organization")
    assert sdk.invitations.list() == []
    assert sdk.organization_invitations.list(organization_id=org["id"]).total_count == 0


# -- expiry --------------------------------------------------------------------------------------------------------


def test_expiry_defaults_to_thirty_days(sdk: Clerk, org: dict[str, str]) -> None:
    app = app_invite(sdk, "a@example.com")
    assert isinstance(app.expires_at, int)
    assert app.expires_at - app.created_at == 30 * DAY_MS
    organization = org_invite(sdk, org["id"], "o@example.com")
    assert organization.expires_at is not None
    assert organization.expires_at - organization.created_at == 30 * DAY_MS


@pytest.mark.parametrize("days", [1, 7, 365])
def test_expires_in_days_within_range(sdk: Clerk, org: dict[str, str], days: int) -> None:
    app = app_invite(sdk, "a@example.com", expires_in_days=days)
    assert isinstance(app.expires_at, int)
    assert app.expires_at - app.created_at == days * DAY_MS
    organization = org_invite(sdk, org["id"], "o@example.com", expires_in_days=days)
    assert organization.expires_at is not None
    assert organization.expires_at - organization.created_at == days * DAY_MS


@pytest.mark.parametrize("days", [0, -1, 366])
def test_expires_in_days_out_of_range_is_refused(sdk: Clerk, org: dict[str, str], days: int) -> None:
    with pytest.raises(models.ClerkErrors) as app:
        app_invite(sdk, "a@example.com", expires_in_days=days)
    assert (app.value.status_code, clerk_code(app.value)) == (422, "form_param_value_invalid")
    with pytest.raises(models.ClerkErrors) as organization:
        org_invite(sdk, org["id"], "o@example.com", expires_in_days=days)
    assert (organization.value.status_code, clerk_code(organization.value)) == (422, "form_param_value_invalid")


def test_organization_invitation_expires_with_time(sdk: Clerk, clerk_emulator: Emulator, org: dict[str, str]) -> None:
    invitation = org_invite(sdk, org["id"], "late@example.com", expires_in_days=7)
    clerk_emulator.advance_clock(7 * DAY_S - 60)
    assert sdk.organization_invitations.get(organization_id=org["id"], invitation_id=invitation.id).status == "pending"
    clerk_emulator.advance_clock(61)
    expired = sdk.organization_invitations.get(organization_id=org["id"], invitation_id=invitation.id)
    assert expired.status == "expired"
    assert expired.url is None
    listed = sdk.organization_invitations.list(
        organization_id=org["id"], status=models.ListOrganizationInvitationsQueryParamStatus.EXPIRED
    )
    assert [inv.id for inv in listed.data] == [invitation.id]
    assert sdk.organization_invitations.list_pending(organization_id=org["id"]).total_count == 0
    # An expired invitation no longer blocks a new one for the same email.
    assert org_invite(sdk, org["id"], "late@example.com").status == "pending"


def test_application_invitation_expires_with_time(sdk: Clerk, clerk_emulator: Emulator) -> None:
    invitation = app_invite(sdk, "late@example.com", expires_in_days=1)
    clerk_emulator.advance_clock(DAY_S + 1)
    [listed] = sdk.invitations.list(status=models.ListInvitationsQueryParamStatus.EXPIRED)
    assert (listed.id, listed.status) == (invitation.id, models.InvitationStatus.EXPIRED)
    assert sdk.invitations.list(status=models.ListInvitationsQueryParamStatus.PENDING) == []
    assert app_invite(sdk, "late@example.com").status == models.InvitationStatus.PENDING


# -- revocation ----------------------------------------------------------------------------------------------------


def _accept_org(em: Emulator, invitation_id: str, user_id: str) -> None:
    with em.lock:
        invitations.accept_organization_invitation(em, em.organization_invitations[invitation_id], em.users[user_id])


def test_only_pending_organization_invitations_can_be_revoked(
    sdk: Clerk, clerk_emulator: Emulator, org: dict[str, str]
) -> None:
    revoked = org_invite(sdk, org["id"], "r@example.com")
    sdk.organization_invitations.revoke(organization_id=org["id"], invitation_id=revoked.id)
    accepted = org_invite(sdk, org["id"], "joiner@example.com")
    _accept_org(clerk_emulator, accepted.id, make_user(sdk, "joiner@example.com"))
    expired = org_invite(sdk, org["id"], "e@example.com", expires_in_days=1)
    clerk_emulator.advance_clock(DAY_S + 1)
    for invitation in (revoked, accepted, expired):
        with pytest.raises(models.ClerkErrors) as caught:
            sdk.organization_invitations.revoke(organization_id=org["id"], invitation_id=invitation.id)
        assert (caught.value.status_code, clerk_code(caught.value)) == (400, "organization_invitation_not_pending")
    statuses = {inv.id: inv.status for inv in sdk.organization_invitations.list(organization_id=org["id"]).data}
    assert statuses == {revoked.id: "revoked", accepted.id: "accepted", expired.id: "expired"}


def test_only_pending_application_invitations_can_be_revoked(sdk: Clerk, clerk_emulator: Emulator) -> None:
    revoked = app_invite(sdk, "r@example.com")
    sdk.invitations.revoke(invitation_id=revoked.id)
    accepted = app_invite(sdk, "a@example.com")
    with clerk_emulator.lock:
        invitations.accept_app_invitation(clerk_emulator, clerk_emulator.invitations[accepted.id])
    expired = app_invite(sdk, "e@example.com", expires_in_days=1)
    clerk_emulator.advance_clock(DAY_S + 1)
    for invitation, code in (
        (revoked, "invitation_already_revoked"),
        (accepted, "invitation_already_accepted"),
        (expired, "invitation_expired"),
    ):
        with pytest.raises(models.ClerkErrors) as caught:
            sdk.invitations.revoke(invitation_id=invitation.id)
        assert (caught.value.status_code, clerk_code(caught.value)) == (400, code)


def test_a_revoked_invitation_frees_the_email_for_a_new_one(sdk: Clerk, org: dict[str, str]) -> None:
    first = org_invite(sdk, org["id"], "again@example.com")
    sdk.organization_invitations.revoke(organization_id=org["id"], invitation_id=first.id)
    assert org_invite(sdk, org["id"], "again@example.com").id != first.id
    app = app_invite(sdk, "again@example.com")
    sdk.invitations.revoke(invitation_id=app.id)
    assert app_invite(sdk, "again@example.com").id != app.id


# -- who may invite ------------------------------------------------------------------------------------------------


def test_inviter_must_be_an_admin_of_the_organization(sdk: Clerk, org: dict[str, str]) -> None:
    outsider = make_user(sdk, "outsider@example.com")
    for inviter in (org["member"], outsider):
        with pytest.raises(models.ClerkErrors) as caught:
            org_invite(sdk, org["id"], "new@example.com", inviter_user_id=inviter)
        assert (caught.value.status_code, clerk_code(caught.value)) == (403, "not_an_admin_in_organization")
        with pytest.raises(models.ClerkErrors) as bulk:
            org_bulk(
                sdk, org["id"], [{"email_address": "new@example.com", "role": "org:member", "inviter_user_id": inviter}]
            )
        assert clerk_code(bulk.value) == "not_an_admin_in_organization"
    assert sdk.organization_invitations.list(organization_id=org["id"]).total_count == 0
    assert org_invite(sdk, org["id"], "new@example.com", inviter_user_id=org["admin"]).inviter_id == org["admin"]


def test_revoker_must_be_an_admin_of_the_organization(sdk: Clerk, org: dict[str, str]) -> None:
    invitation = org_invite(sdk, org["id"], "new@example.com")
    with pytest.raises(models.ClerkErrors) as caught:
        sdk.organization_invitations.revoke(
            organization_id=org["id"], invitation_id=invitation.id, requesting_user_id=org["member"]
        )
    assert (caught.value.status_code, clerk_code(caught.value)) == (403, "not_an_admin_in_organization")
    assert sdk.organization_invitations.get(organization_id=org["id"], invitation_id=invitation.id).status == "pending"


def test_unknown_role_on_an_invitation_is_refused(sdk: Clerk, org: dict[str, str]) -> None:
    with pytest.raises(models.ClerkErrors) as caught:
        sdk.organization_invitations.create(organization_id=org["id"], email_address="x@example.com", role="org:boss")
    assert caught.value.status_code == 404
    assert caught.value.data.errors[0].meta == {"param_name": "role"}


# -- banned and locked users ---------------------------------------------------------------------------------------


def test_banned_user_gets_no_session(sdk: Clerk, bapi: httpx.Client) -> None:
    user = make_user(sdk, "banned@example.com")
    sdk.users.ban(user_id=user)
    response = bapi.post("/sessions", json={"user_id": user})
    assert_clerk_error(response, 403, "user_banned")
    with pytest.raises(models.SDKError) as caught:  # 403 is not a declared status of createSession
        sdk.sessions.create(request={"user_id": user})
    assert caught.value.status_code == 403
    sdk.users.unban(user_id=user)
    assert sdk.sessions.create(request={"user_id": user}).status == models.Status.ACTIVE


def test_locked_user_gets_no_session(sdk: Clerk, bapi: httpx.Client) -> None:
    user = make_user(sdk, "locked@example.com")
    sdk.users.lock(user_id=user)
    assert_clerk_error(bapi.post("/sessions", json={"user_id": user}), 403, "user_locked")


def test_banning_revokes_sessions_and_stops_their_tokens(sdk: Clerk, bapi: httpx.Client) -> None:
    user = make_user(sdk, "soon-banned@example.com")
    session = sdk.sessions.create(request={"user_id": user})
    assert sdk.sessions.create_token(session_id=session.id).jwt
    sdk.users.ban(user_id=user)
    assert sdk.sessions.get(session_id=session.id).status == models.Status.REVOKED
    assert_clerk_error(bapi.post(f"/sessions/{session.id}/tokens"), 401)
    sdk.users.unban(user_id=user)  # unbanning does not bring old sessions back
    assert_clerk_error(bapi.post(f"/sessions/{session.id}/tokens"), 401)


# -- hourly caps ---------------------------------------------------------------------------------------------------


def test_caps_are_off_by_default(sdk: Clerk, clerk_emulator: Emulator) -> None:
    assert clerk_emulator.caps_enabled is False
    limit = HOURLY_CAPS["invitations.bulk_create"]
    for i in range(limit + 2):
        app_bulk(sdk, [{"email_address": f"u{i}@example.com", "notify": False}])
    assert len(sdk.invitations.list(limit=100)) == limit + 2


@pytest.mark.parametrize(
    ("key", "path", "body"),
    [
        ("invitations.create", "/invitations", lambda i, org: {"email_address": f"u{i}@example.com"}),
        ("invitations.bulk_create", "/invitations/bulk", lambda i, org: [{"email_address": f"u{i}@example.com"}]),
        (
            "organization_invitations.create",
            "/organizations/{org}/invitations",
            lambda i, org: {"email_address": f"u{i}@example.com", "role": "org:member"},
        ),
        (
            "organization_invitations.bulk_create",
            "/organizations/{org}/invitations/bulk",
            lambda i, org: [{"email_address": f"u{i}@example.com", "role": "org:member"}],
        ),
    ],
)
def test_caps_answer_429_with_retry_after(
    bapi: httpx.Client, clerk_emulator: Emulator, org: dict[str, str], key: str, path: str, body: Any
) -> None:
    clerk_emulator.caps_enabled = True
    clerk_emulator.caps[key].limit = 2
    url = path.format(org=org["id"])
    for i in range(2):
        assert bapi.post(url, json=body(i, org)).status_code == 200
    clerk_emulator.advance_clock(600)
    refused = bapi.post(url, json=body(2, org))
    assert_clerk_error(refused, 429, "too_many_requests")
    retry_after = int(refused.headers["Retry-After"])
    assert 3000 - 5 <= retry_after <= 3000  # seconds until the oldest call leaves the hour window
    clerk_emulator.advance_clock(retry_after)
    assert bapi.post(url, json=body(3, org)).status_code == 200


def test_the_sdk_raises_sdkerror_on_429(sdk: Clerk, clerk_emulator: Emulator) -> None:
    clerk_emulator.caps_enabled = True
    clerk_emulator.caps["invitations.create"].limit = 1
    app_invite(sdk, "one@example.com")
    with pytest.raises(models.SDKError) as caught:
        app_invite(sdk, "two@example.com")
    assert caught.value.status_code == 429
    assert int(caught.value.headers["retry-after"]) > 0
    assert "too_many_requests" in caught.value.body
    assert [inv.email_address for inv in sdk.invitations.list()] == ["one@example.com"]


def test_caps_count_only_their_own_endpoint(sdk: Clerk, clerk_emulator: Emulator, org: dict[str, str]) -> None:
    clerk_emulator.caps_enabled = True
    clerk_emulator.caps["invitations.create"].limit = 1
    app_invite(sdk, "one@example.com")
    app_bulk(sdk, [{"email_address": "two@example.com"}])
    org_invite(sdk, org["id"], "three@example.com")


# -- secret key ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"Authorization": "Bearer sk_test_wrong"}, "clerk_key_invalid"),
        ({"Authorization": "sk_test_emulator_0000000000000000000000000000"}, "authorization_header_format_invalid"),
        ({}, "authorization_header_format_invalid"),
    ],
)
def test_a_wrong_secret_key_is_401(
    clerk_emulator_server: Any, clerk_emulator: Emulator, headers: dict[str, str], code: str
) -> None:
    response = httpx.get(f"{clerk_emulator_server.api_url}/users", headers=headers, timeout=5)
    assert_clerk_error(response, 401, code)
    assert clerk_emulator.users == {}


def test_the_sdk_raises_on_a_wrong_secret_key(clerk_emulator_server: Any, clerk_emulator: Emulator) -> None:
    from tests.clerk_emulator.conftest import NO_RETRIES

    wrong = Clerk(bearer_auth="sk_test_wrong", server_url=clerk_emulator_server.api_url, retry_config=NO_RETRIES)
    with pytest.raises(models.ClerkErrors) as declared:  # GET /users declares 401
        wrong.users.list(request={})
    assert (declared.value.status_code, clerk_code(declared.value)) == (401, "clerk_key_invalid")
    with pytest.raises(models.SDKError) as undeclared:  # POST /invitations does not
        wrong.invitations.create(request={"email_address": "x@example.com"})
    assert undeclared.value.status_code == 401
    assert clerk_emulator.invitations == {}


# -- injected faults -----------------------------------------------------------------------------------------------


def test_fault_answers_the_next_n_matching_calls(bapi: httpx.Client, clerk_emulator: Emulator) -> None:
    clerk_emulator.faults.append(Fault("POST", "/v1/invitations", 2, status=503))
    for _ in range(2):
        assert_clerk_error(bapi.post("/invitations", json={"email_address": "a@example.com"}), 503)
    assert clerk_emulator.invitations == {}
    assert bapi.get("/invitations").status_code == 200  # another method: not matched
    assert bapi.post("/invitations", json={"email_address": "a@example.com"}).status_code == 200
    assert clerk_emulator.faults == [] or all(fault.remaining == 0 for fault in clerk_emulator.faults)


def test_fault_429_carries_retry_after_and_the_sdk_raises(
    sdk: Clerk, bapi: httpx.Client, clerk_emulator: Emulator
) -> None:
    clerk_emulator.faults.append(Fault("*", "/v1/users*", 2, status=429, retry_after=7))
    response = bapi.get("/users/user_anything")
    assert_clerk_error(response, 429, "too_many_requests")
    assert response.headers["Retry-After"] == "7"
    with pytest.raises(models.SDKError) as caught:
        sdk.users.list(request={})
    assert (caught.value.status_code, caught.value.headers["retry-after"]) == (429, "7")
    assert sdk.users.list(request={}) == []


def test_fault_with_a_custom_code(bapi: httpx.Client, clerk_emulator: Emulator) -> None:
    clerk_emulator.faults.append(Fault("GET", "/v1/jwks", 1, status=500, code="internal_clerk_error", message="boom"))
    body = assert_clerk_error(bapi.get("/jwks"), 500, "internal_clerk_error")
    assert body["errors"][0]["message"] == "boom"
    assert bapi.get("/jwks").status_code == 200


def test_fault_delay_without_status_slows_a_normal_answer(bapi: httpx.Client, clerk_emulator: Emulator) -> None:
    clerk_emulator.faults.append(Fault("GET", "/v1/jwks", 1, delay_s=0.3))
    started = time.monotonic()
    assert bapi.get("/jwks").status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    bapi.get("/jwks")
    assert time.monotonic() - started < 0.3
