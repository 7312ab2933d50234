"""Organizations and memberships through the official SDK (shape proven by its models, behaviour by asserts)."""

from __future__ import annotations

import pytest
from clerk_backend_api import Clerk, models

from clerk_emulator.state import Emulator


def make_user(sdk: Clerk, email: str, **fields: object) -> str:
    user = sdk.users.create(email_address=[email], **fields)  # type: ignore[arg-type]
    assert user.id is not None
    return user.id


def test_create_with_creator_makes_the_creator_an_admin(sdk: Clerk) -> None:
    owner = make_user(sdk, "owner@example.com")
    org = sdk.organizations.create(
        request={
            "name": "Acme Corp",
            "created_by": owner,
            "public_metadata": {"plan": "pro"},
            "private_metadata": {"billing": 1},
            "max_allowed_memberships": 5,
        }
    )
    assert org.id.startswith("org_")
    assert org.object == models.OrganizationObject.ORGANIZATION
    assert (org.name, org.slug) == ("Acme Corp", "acme-corp")
    assert org.created_by == owner
    assert org.max_allowed_memberships == 5
    assert org.public_metadata == {"plan": "pro"}
    assert org.private_metadata == {"billing": 1}
    members = sdk.organization_memberships.list(organization_id=org.id)
    assert members.total_count == 1
    assert members.data[0].role == "org:admin"
    assert members.data[0].public_user_data is not None
    assert members.data[0].public_user_data.user_id == owner


def test_create_without_creator_has_no_members(sdk: Clerk) -> None:
    org = sdk.organizations.create(request={"name": "Lonely", "slug": "lonely-1"})
    assert org.slug == "lonely-1"
    assert org.created_by is None
    fetched = sdk.organizations.get(organization_id=org.id, include_members_count=True)
    assert fetched.members_count == 0
    assert fetched.pending_invitations_count == 0


def test_create_refuses_a_taken_slug_and_an_unknown_creator(sdk: Clerk) -> None:
    sdk.organizations.create(request={"name": "One", "slug": "same"})
    with pytest.raises(models.ClerkErrors) as caught:
        sdk.organizations.create(request={"name": "Two", "slug": "same"})
    assert caught.value.status_code == 422
    assert caught.value.data.errors[0].code == "form_identifier_exists"
    with pytest.raises(models.ClerkErrors) as missing:
        sdk.organizations.create(request={"name": "Three", "created_by": "user_missing"})
    assert missing.value.status_code == 400
    assert missing.value.data.errors[0].code == "organization_creator_not_found"


def test_duplicate_names_get_distinct_slugs(sdk: Clerk) -> None:
    first = sdk.organizations.create(request={"name": "Twin"})
    second = sdk.organizations.create(request={"name": "Twin"})
    assert first.slug == "twin"
    assert second.slug != first.slug
    assert second.slug.startswith("twin-")


def test_get_by_id_and_by_slug(sdk: Clerk) -> None:
    owner = make_user(sdk, "o@example.com")
    org = sdk.organizations.create(request={"name": "Slugged", "created_by": owner})
    sdk.organization_invitations.create(organization_id=org.id, email_address="p@example.com", role="org:member")
    by_id = sdk.organizations.get(organization_id=org.id)
    by_slug = sdk.organizations.get(organization_id="slugged", include_members_count=True)
    assert by_id.id == by_slug.id == org.id
    assert by_id.members_count is None  # only with include_members_count
    assert by_slug.members_count == 1
    assert by_slug.pending_invitations_count == 1
    with pytest.raises(models.ClerkErrors) as caught:
        sdk.organizations.get(organization_id="no-such-org")
    assert caught.value.status_code == 404


def test_update(sdk: Clerk, clerk_emulator: Emulator) -> None:
    org = sdk.organizations.create(request={"name": "Before"})
    clerk_emulator.advance_clock(1)
    updated = sdk.organizations.update(
        organization_id=org.id, name="After", slug="after", max_allowed_memberships=3, admin_delete_enabled=True
    )
    assert (updated.name, updated.slug, updated.max_allowed_memberships) == ("After", "after", 3)
    assert updated.updated_at > org.updated_at
    assert sdk.organizations.get(organization_id="after").name == "After"


def test_update_refuses_a_taken_slug_and_changes_nothing(sdk: Clerk) -> None:
    sdk.organizations.create(request={"name": "Taken", "slug": "taken"})
    org = sdk.organizations.create(request={"name": "Mine", "slug": "mine"})
    with pytest.raises(models.ClerkErrors) as caught:
        sdk.organizations.update(organization_id=org.id, name="Renamed", slug="taken")
    assert caught.value.data.errors[0].code == "form_identifier_exists"
    assert sdk.organizations.get(organization_id=org.id).name == "Mine"


def test_merge_metadata(sdk: Clerk) -> None:
    org = sdk.organizations.create(
        request={"name": "Meta", "public_metadata": {"a": {"x": 1, "y": 2}, "gone": 1}, "private_metadata": {"k": 1}}
    )
    merged = sdk.organizations.merge_metadata(
        organization_id=org.id, public_metadata={"a": {"y": None, "z": 3}, "gone": None}
    )
    assert merged.public_metadata == {"a": {"x": 1, "z": 3}}
    assert merged.private_metadata == {"k": 1}


def test_delete(sdk: Clerk) -> None:
    owner = make_user(sdk, "d@example.com")
    org = sdk.organizations.create(request={"name": "Doomed", "created_by": owner})
    deleted = sdk.organizations.delete(organization_id=org.id)
    assert (deleted.object, deleted.id, deleted.deleted) == ("organization", org.id, True)
    with pytest.raises(models.ClerkErrors):
        sdk.organizations.get(organization_id=org.id)
    assert sdk.users.get_organization_memberships(user_id=owner).total_count == 0


def test_list_filters_order_and_paging(sdk: Clerk, clerk_emulator: Emulator) -> None:
    user = make_user(sdk, "l@example.com")
    alpha = sdk.organizations.create(request={"name": "Alpha", "created_by": user})
    clerk_emulator.advance_clock(1)
    beta = sdk.organizations.create(request={"name": "Beta"})
    clerk_emulator.advance_clock(1)
    gamma = sdk.organizations.create(request={"name": "Gamma"})
    everything = sdk.organizations.list()
    assert everything.total_count == 3
    assert [o.id for o in everything.data] == [gamma.id, beta.id, alpha.id]
    assert [o.id for o in sdk.organizations.list(order_by="name").data] == [alpha.id, beta.id, gamma.id]
    assert [o.id for o in sdk.organizations.list(query="bet").data] == [beta.id]
    assert [o.id for o in sdk.organizations.list(user_id=[user]).data] == [alpha.id]
    assert {o.id for o in sdk.organizations.list(organization_id=[alpha.id, gamma.id]).data} == {alpha.id, gamma.id}
    page = sdk.organizations.list(order_by="+created_at", limit=1, offset=1)
    assert (page.total_count, [o.id for o in page.data]) == (3, [beta.id])
    counted = sdk.organizations.list(include_members_count=True, order_by="name")
    assert [o.members_count for o in counted.data] == [1, 0, 0]


def test_memberships_create_list_update_delete(sdk: Clerk, clerk_emulator: Emulator) -> None:
    admin = make_user(sdk, "admin@example.com", first_name="Ada")
    org = sdk.organizations.create(request={"name": "Team", "created_by": admin})
    clerk_emulator.advance_clock(1)
    member = make_user(sdk, "member@example.com", first_name="Max")
    created = sdk.organization_memberships.create(
        organization_id=org.id, user_id=member, role="org:member", public_metadata={"team": "a"}
    )
    assert created.id.startswith("orgmem_")
    assert created.object == models.OrganizationMembershipObject.ORGANIZATION_MEMBERSHIP
    assert (created.role, created.role_name) == ("org:member", "Member")
    assert created.public_metadata == {"team": "a"}
    assert created.organization.id == org.id
    assert created.public_user_data is not None
    assert created.public_user_data.identifier == "member@example.com"

    listed = sdk.organization_memberships.list(organization_id=org.id)
    assert listed.total_count == 2
    by_role = sdk.organization_memberships.list(organization_id=org.id, role=["org:member"])
    assert [m.public_user_data.user_id for m in by_role.data if m.public_user_data] == [member]
    by_email = sdk.organization_memberships.list(organization_id=org.id, email_address=["admin@example.com"])
    assert [m.public_user_data.user_id for m in by_email.data if m.public_user_data] == [admin]
    by_user = sdk.organization_memberships.list(organization_id=org.id, user_id=[member])
    assert by_user.total_count == 1
    by_query = sdk.organization_memberships.list(organization_id=org.id, query="max")
    assert [m.public_user_data.user_id for m in by_query.data if m.public_user_data] == [member]
    oldest_first = sdk.organization_memberships.list(organization_id=org.id, order_by="+created_at")
    assert [m.public_user_data.user_id for m in oldest_first.data if m.public_user_data] == [admin, member]
    paged = sdk.organization_memberships.list(organization_id=org.id, limit=1, offset=1)
    assert (paged.total_count, len(paged.data)) == (2, 1)

    promoted = sdk.organization_memberships.update(organization_id=org.id, user_id=member, role="org:admin")
    assert (promoted.role, promoted.role_name) == ("org:admin", "Admin")
    assert promoted.id == created.id

    removed = sdk.organization_memberships.delete(organization_id=org.id, user_id=member)
    assert removed.id == created.id
    assert sdk.organization_memberships.list(organization_id=org.id).total_count == 1
    with pytest.raises(models.ClerkErrors) as caught:
        sdk.organization_memberships.delete(organization_id=org.id, user_id=member)
    assert caught.value.status_code == 404


def test_membership_refuses_an_unknown_role_user_or_organization(sdk: Clerk) -> None:
    user = make_user(sdk, "x@example.com")
    org = sdk.organizations.create(request={"name": "Roles"})
    with pytest.raises(models.ClerkErrors) as bad_role:
        sdk.organization_memberships.create(organization_id=org.id, user_id=user, role="org:owner")
    assert bad_role.value.status_code == 404
    assert bad_role.value.data.errors[0].code == "resource_not_found"
    assert bad_role.value.data.errors[0].meta == {"param_name": "role"}
    with pytest.raises(models.ClerkErrors) as bad_user:
        sdk.organization_memberships.create(organization_id=org.id, user_id="user_missing", role="org:member")
    assert bad_user.value.status_code == 404
    with pytest.raises(models.ClerkErrors) as bad_org:
        sdk.organization_memberships.create(organization_id="org_missing", user_id=user, role="org:member")
    assert bad_org.value.status_code == 404
    with pytest.raises(models.ClerkErrors) as bad_update:
        sdk.organization_memberships.update(organization_id=org.id, user_id=user, role="org:admin")
    assert bad_update.value.status_code == 404


def test_max_allowed_memberships_is_enforced(sdk: Clerk) -> None:
    org = sdk.organizations.create(request={"name": "Tiny", "max_allowed_memberships": 1})
    sdk.organization_memberships.create(
        organization_id=org.id, user_id=make_user(sdk, "one@example.com"), role="org:member"
    )
    with pytest.raises(models.ClerkErrors) as caught:
        sdk.organization_memberships.create(
            organization_id=org.id, user_id=make_user(sdk, "two@example.com"), role="org:member"
        )
    assert caught.value.status_code == 403
    assert caught.value.data.errors[0].code == "organization_membership_quota_exceeded"
