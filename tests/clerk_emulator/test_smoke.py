"""The emulator answers the official SDK end to end for the main objects."""

from __future__ import annotations

from clerk_backend_api import Clerk


def test_user_organization_and_invitation_round_trip(sdk: Clerk) -> None:
    user = sdk.users.create(email_address=["Ann@Example.com"], password="secret-pass-1", first_name="Ann")
    assert user.email_addresses[0].email_address == "ann@example.com"
    org = sdk.organizations.create(request={"name": "Acme", "created_by": user.id})
    assert org.slug == "acme"
    invitation = sdk.organization_invitations.create(
        organization_id=org.id, email_address="bob@example.com", role="org:member", inviter_user_id=user.id
    )
    assert invitation.status == "pending"
    assert invitation.url is not None
    assert "/v1/tickets/accept?ticket=" in invitation.url
