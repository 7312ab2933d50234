"""Organization and application invitations through the official SDK (shape by its models, behaviour by asserts).

Clerk's rules about duplicates, expiry, bulk sizes and revocation live in ``test_behaviour.py``."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from clerk_backend_api import Clerk, models

from clerk_emulator.state import Emulator

DAY_MS = 86_400_000


def make_user(sdk: Clerk, email: str, **fields: object) -> str:
    user = sdk.users.create(email_address=[email], **fields)  # type: ignore[arg-type]
    assert user.id is not None
    return user.id


@pytest.fixture
def org_and_admin(sdk: Clerk) -> tuple[str, str]:
    admin = make_user(sdk, "admin@example.com", first_name="Ada", last_name="Admin")
    org = sdk.organizations.create(request={"name": "Acme", "created_by": admin})
    return org.id, admin


def ticket_claims(em: Emulator, url: str) -> dict[str, object]:
    parts = urlsplit(url)
    assert parts.path == "/v1/tickets/accept"
    ticket = parse_qs(parts.query)["ticket"][0]
    claims: dict[str, object] = jwt.decode(ticket, em.keys.public_pem, algorithms=["RS256"])
    return claims


# -- organization invitations ------------------------------------------------------------------------------------


def test_org_invitation_create(sdk: Clerk, clerk_emulator: Emulator, org_and_admin: tuple[str, str]) -> None:
    org_id, admin = org_and_admin
    invitation = sdk.organization_invitations.create(
        organization_id=org_id,
        email_address="New.Person@Example.com",
        role="org:member",
        inviter_user_id=admin,
        public_metadata={"team": "blue"},
        private_metadata={"source": "test"},
        redirect_url="https://app.example.com/accept-invite/",
        expires_in_days=7,
    )
    assert invitation.id.startswith("orginv_")
    assert invitation.object == models.OrganizationInvitationObject.ORGANIZATION_INVITATION
    assert invitation.email_address == "new.person@example.com"
    assert (invitation.role, invitation.role_name, invitation.status) == ("org:member", "Member", "pending")
    assert invitation.organization_id == org_id
    assert invitation.inviter_id == admin
    assert invitation.public_inviter_data is not None
    assert invitation.public_inviter_data.user_id == admin
    assert invitation.public_inviter_data.identifier == "admin@example.com"
    assert invitation.public_inviter_data.first_name == "Ada"
    assert invitation.public_metadata == {"team": "blue"}
    assert invitation.private_metadata == {"source": "test"}
    assert invitation.expires_at == invitation.created_at + 7 * DAY_MS
    assert invitation.url is not None
    claims = ticket_claims(clerk_emulator, invitation.url)
    assert (claims["sid"], claims["st"]) == (invitation.id, "organization_invitation")
    # Clerk emails the invitee (notify defaults to true) with the accept link.
    [message] = [m for m in clerk_emulator.messages if m.to == "new.person@example.com"]
    assert message.link == invitation.url


def test_org_invitation_without_inviter_and_without_email(
    sdk: Clerk, clerk_emulator: Emulator, org_and_admin: tuple[str, str]
) -> None:
    org_id, _ = org_and_admin
    invitation = sdk.organization_invitations.create(
        organization_id=org_id, email_address="quiet@example.com", role="org:admin", notify=False
    )
    assert invitation.inviter_id is None
    assert invitation.public_inviter_data is None
    assert invitation.role_name == "Admin"
    assert invitation.url is not None  # still returned, so the app can send its own email
    assert not [m for m in clerk_emulator.messages if m.to == "quiet@example.com"]


def test_org_invitation_bulk_create(sdk: Clerk, org_and_admin: tuple[str, str]) -> None:
    org_id, admin = org_and_admin
    entries: list[models.CreateOrganizationInvitationBulkRequestBodyTypedDict] = [
        {"email_address": "one@example.com", "role": "org:member", "inviter_user_id": admin},
        {"email_address": "two@example.com", "role": "org:admin", "expires_in_days": 3},
    ]
    created = sdk.organization_invitations.bulk_create(organization_id=org_id, request_body=entries)
    assert created.total_count == 2
    assert [(inv.email_address, inv.role) for inv in created.data] == [
        ("one@example.com", "org:member"),
        ("two@example.com", "org:admin"),
    ]
    assert created.data[0].inviter_id == admin
    assert created.data[1].expires_at == created.data[1].created_at + 3 * DAY_MS
    assert sdk.organization_invitations.list(organization_id=org_id).total_count == 2


def test_org_invitation_list_filters_and_list_pending(
    sdk: Clerk, clerk_emulator: Emulator, org_and_admin: tuple[str, str]
) -> None:
    org_id, _ = org_and_admin
    first = sdk.organization_invitations.create(
        organization_id=org_id, email_address="a@example.com", role="org:member"
    )
    clerk_emulator.advance_clock(1)
    second = sdk.organization_invitations.create(
        organization_id=org_id, email_address="b@example.com", role="org:member"
    )
    clerk_emulator.advance_clock(1)
    third = sdk.organization_invitations.create(
        organization_id=org_id, email_address="c@example.com", role="org:member"
    )
    sdk.organization_invitations.revoke(organization_id=org_id, invitation_id=second.id)

    everything = sdk.organization_invitations.list(organization_id=org_id)
    assert everything.total_count == 3
    assert [inv.id for inv in everything.data] == [third.id, second.id, first.id]  # -created_at
    pending = sdk.organization_invitations.list(
        organization_id=org_id, status=models.ListOrganizationInvitationsQueryParamStatus.PENDING
    )
    assert [inv.id for inv in pending.data] == [third.id, first.id]
    revoked = sdk.organization_invitations.list(
        organization_id=org_id, status=models.ListOrganizationInvitationsQueryParamStatus.REVOKED
    )
    assert [(inv.id, inv.status) for inv in revoked.data] == [(second.id, "revoked")]
    by_email = sdk.organization_invitations.list(organization_id=org_id, email_address="C@example.com")
    assert [inv.id for inv in by_email.data] == [third.id]
    ordered = sdk.organization_invitations.list(organization_id=org_id, order_by="email_address", limit=2, offset=1)
    assert (ordered.total_count, [inv.id for inv in ordered.data]) == (3, [second.id, third.id])

    legacy = sdk.organization_invitations.list_pending(organization_id=org_id)
    assert {inv.id for inv in legacy.data} == {first.id, third.id}
    assert legacy.total_count == 2


def test_org_invitation_get_and_revoke(sdk: Clerk, clerk_emulator: Emulator, org_and_admin: tuple[str, str]) -> None:
    org_id, admin = org_and_admin
    created = sdk.organization_invitations.create(
        organization_id=org_id, email_address="g@example.com", role="org:member"
    )
    fetched = sdk.organization_invitations.get(organization_id=org_id, invitation_id=created.id)
    assert fetched == created
    clerk_emulator.advance_clock(1)
    revoked = sdk.organization_invitations.revoke(
        organization_id=org_id, invitation_id=created.id, requesting_user_id=admin
    )
    assert revoked.id == created.id
    assert revoked.status == "revoked"
    assert revoked.url is None  # the link is dead
    assert revoked.updated_at > created.updated_at
    assert sdk.organization_invitations.get(organization_id=org_id, invitation_id=created.id).status == "revoked"


def test_org_invitation_get_in_another_organization_is_404(sdk: Clerk, org_and_admin: tuple[str, str]) -> None:
    org_id, _ = org_and_admin
    other = sdk.organizations.create(request={"name": "Other"})
    created = sdk.organization_invitations.create(
        organization_id=org_id, email_address="x@example.com", role="org:member"
    )
    with pytest.raises(models.ClerkErrors) as caught:
        sdk.organization_invitations.get(organization_id=other.id, invitation_id=created.id)
    assert caught.value.status_code == 404


def test_org_invitations_get_all_instance_wide(sdk: Clerk, clerk_emulator: Emulator) -> None:
    acme = sdk.organizations.create(request={"name": "Acme"})
    beta = sdk.organizations.create(request={"name": "Beta"})
    one = sdk.organization_invitations.create(
        organization_id=acme.id, email_address="one@example.com", role="org:member"
    )
    clerk_emulator.advance_clock(1)
    two = sdk.organization_invitations.create(
        organization_id=beta.id, email_address="two@example.com", role="org:member"
    )
    sdk.organization_invitations.revoke(organization_id=beta.id, invitation_id=two.id)

    everything = sdk.organization_invitations.get_all()
    assert everything.total_count == 2
    assert [inv.id for inv in everything.data] == [two.id, one.id]
    organizations = {inv.id: inv.public_organization_data for inv in everything.data}
    assert organizations[one.id] is not None
    assert (organizations[one.id].id, organizations[one.id].name, organizations[one.id].slug) == (  # type: ignore[union-attr]
        acme.id,
        "Acme",
        "acme",
    )
    pending = sdk.organization_invitations.get_all(
        status=models.ListInstanceOrganizationInvitationsQueryParamStatus.PENDING
    )
    assert [inv.id for inv in pending.data] == [one.id]
    assert [inv.id for inv in sdk.organization_invitations.get_all(query="two@").data] == [two.id]
    assert [inv.id for inv in sdk.organization_invitations.get_all(order_by="+created_at", limit=1).data] == [one.id]


# -- application invitations -------------------------------------------------------------------------------------


def test_app_invitation_create(sdk: Clerk, clerk_emulator: Emulator) -> None:
    invitation = sdk.invitations.create(
        request={
            "email_address": "Staff@Example.com",
            "public_metadata": {"role": "admin", "internal": True},
            "redirect_url": "https://app.example.com/internal/accept-invite/?invitation_id=7",
            "notify": False,
            "expires_in_days": 7,
        }
    )
    assert invitation.id.startswith("inv_")
    assert invitation.object == models.InvitationObject.INVITATION
    assert invitation.email_address == "staff@example.com"
    assert invitation.status == models.InvitationStatus.PENDING
    assert invitation.public_metadata == {"role": "admin", "internal": True}
    assert invitation.revoked is None
    assert invitation.expires_at == invitation.created_at + 7 * DAY_MS
    assert invitation.url is not None
    claims = ticket_claims(clerk_emulator, invitation.url)
    assert (claims["sid"], claims["st"]) == (invitation.id, "invitation")
    assert not clerk_emulator.messages  # notify=false: Clerk sends nothing


def test_app_invitation_notify_sends_clerks_email(sdk: Clerk, clerk_emulator: Emulator) -> None:
    invitation = sdk.invitations.create(request={"email_address": "loud@example.com"})
    [message] = clerk_emulator.messages
    assert (message.to, message.slug, message.link) == ("loud@example.com", "invitation", invitation.url)


def test_app_invitation_bulk_create(sdk: Clerk) -> None:
    entries: list[models.RequestBodyTypedDict] = [
        {"email_address": "one@example.com", "notify": False},
        {"email_address": "two@example.com", "notify": False, "public_metadata": {"n": 2}},
    ]
    created = sdk.invitations.bulk_create(request=entries)
    assert [inv.email_address for inv in created] == ["one@example.com", "two@example.com"]
    assert created[1].public_metadata == {"n": 2}
    assert all(inv.status == models.InvitationStatus.PENDING for inv in created)


def test_app_invitation_list_and_revoke(sdk: Clerk, clerk_emulator: Emulator) -> None:
    first = sdk.invitations.create(request={"email_address": "a@example.com", "notify": False})
    clerk_emulator.advance_clock(1)
    second = sdk.invitations.create(request={"email_address": "b@example.com", "notify": False})
    clerk_emulator.advance_clock(1)
    third = sdk.invitations.create(request={"email_address": "c@example.com", "notify": False})

    revoked = sdk.invitations.revoke(invitation_id=second.id)
    assert revoked.id == second.id  # (``revoked: true`` on the wire is checked in test_openapi_conformance.py)
    assert revoked.status == models.InvitationRevokedStatus.REVOKED

    # The default list leaves revoked invitations out; status=revoked is how to see them.
    assert [inv.id for inv in sdk.invitations.list()] == [third.id, first.id]
    assert [inv.id for inv in sdk.invitations.list(status=models.ListInvitationsQueryParamStatus.REVOKED)] == [
        second.id
    ]
    pending = sdk.invitations.list(status=models.ListInvitationsQueryParamStatus.PENDING)
    assert [inv.id for inv in pending] == [third.id, first.id]
    assert [inv.id for inv in sdk.invitations.list(query="c@example")] == [third.id]
    assert [inv.id for inv in sdk.invitations.list(query=first.id)] == [first.id]  # query matches ids too
    assert [inv.id for inv in sdk.invitations.list(order_by="+created_at", limit=1, offset=1)] == [third.id]
    assert [inv.id for inv in sdk.invitations.list(order_by="-email_address")] == [third.id, first.id]


def test_app_invitation_revoke_unknown_is_404(sdk: Clerk) -> None:
    with pytest.raises(models.ClerkErrors) as caught:
        sdk.invitations.revoke(invitation_id="inv_missing")
    assert caught.value.status_code == 404
    assert caught.value.data.errors[0].code == "resource_not_found"
