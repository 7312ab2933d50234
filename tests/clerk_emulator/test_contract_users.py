"""Users through the official SDK: its pydantic models reject a missing or mistyped field, so every call that
returns proves the emulator's JSON; the assertions prove the behaviour behind it."""

from __future__ import annotations

from typing import Any

import pytest
from clerk_backend_api import Clerk, models

from clerk_emulator.state import Emulator


def make_user(sdk: Clerk, email: str, **fields: object) -> models.User:
    return sdk.users.create(email_address=[email], password="correct-horse-1", **fields)  # type: ignore[arg-type]


def ids(users: list[models.User]) -> list[str]:
    return [user.id for user in users if user.id is not None]


@pytest.fixture
def trio(sdk: Clerk, clerk_emulator: Emulator) -> dict[str, Any]:
    """ann < bob < cat by creation time; bob belongs to an organization, cat is banned."""
    ann = make_user(sdk, "ann@example.com", first_name="Ann", last_name="Zed", username="annie")
    clerk_emulator.advance_clock(1)
    bob = make_user(sdk, "bob@example.com", first_name="Bob", last_name="Young")
    clerk_emulator.advance_clock(1)
    cat = make_user(sdk, "cat@example.com", first_name="Cat", last_name="Xu")
    sdk.users.ban(user_id=cat.id or "")
    org = sdk.organizations.create(request={"name": "Bobs"})
    sdk.organization_memberships.create(organization_id=org.id, user_id=bob.id or "", role="org:member")
    return {"ann": ann, "bob": bob, "cat": cat, "org": org}


def test_create_returns_a_complete_user(sdk: Clerk) -> None:
    user = sdk.users.create(
        email_address=["Ann.Lee@Example.com"],
        password="correct-horse-1",
        first_name="Ann",
        last_name="Lee",
        username="annlee",
        external_id="ext-1",
        public_metadata={"role": "pm"},
        private_metadata={"secret": 1},
        unsafe_metadata={"theme": "dark"},
    )
    assert user.id is not None
    assert user.id.startswith("user_")
    assert user.object == models.UserObject.USER
    assert (user.first_name, user.last_name, user.username, user.external_id) == ("Ann", "Lee", "annlee", "ext-1")
    assert user.password_enabled is True
    assert user.banned is False
    assert user.locked is False
    assert [email.email_address for email in user.email_addresses] == ["ann.lee@example.com"]
    assert user.primary_email_address_id == user.email_addresses[0].id
    verification = user.email_addresses[0].verification
    assert verification is not None
    assert verification.status == "verified"
    assert user.public_metadata == {"role": "pm"}
    assert user.private_metadata == {"secret": 1}
    assert user.unsafe_metadata == {"theme": "dark"}
    assert user.created_at == user.updated_at
    assert user.created_at > 1_600_000_000_000  # milliseconds, as Clerk sends them


def test_create_without_a_password_and_with_a_phone(sdk: Clerk) -> None:
    user = sdk.users.create(email_address=["p@example.com"], phone_number=["+15555550123"])
    assert user.password_enabled is False
    assert [phone.phone_number for phone in user.phone_numbers] == ["+15555550123"]
    assert user.primary_phone_number_id == user.phone_numbers[0].id


def test_create_honours_banned_and_locked(sdk: Clerk) -> None:
    user = sdk.users.create(email_address=["b@example.com"], banned=True, locked=True)
    assert (user.banned, user.locked) == (True, True)


def test_create_refuses_a_taken_email(sdk: Clerk) -> None:
    make_user(sdk, "dup@example.com")
    with pytest.raises(models.ClerkErrors) as caught:
        make_user(sdk, "DUP@example.com")
    assert caught.value.status_code == 422
    assert caught.value.data.errors[0].code == "form_identifier_exists"


def test_get_round_trips(sdk: Clerk) -> None:
    created = make_user(sdk, "g@example.com", first_name="G")
    fetched = sdk.users.get(user_id=created.id or "")
    assert fetched == created


def test_get_unknown_user_is_404(sdk: Clerk) -> None:
    with pytest.raises(models.ClerkErrors) as caught:
        sdk.users.get(user_id="user_missing")
    assert caught.value.status_code == 404
    assert caught.value.data.errors[0].code == "resource_not_found"


def test_list_filters(sdk: Clerk, trio: dict[str, Any]) -> None:
    ann, bob, cat = trio["ann"], trio["bob"], trio["cat"]
    assert ids(sdk.users.list(request={"email_address": ["ANN@example.com"]})) == [ann.id]
    assert set(ids(sdk.users.list(request={"email_address": ["ann@example.com", "cat@example.com"]}))) == {
        ann.id,
        cat.id,
    }
    assert set(ids(sdk.users.list(request={"user_id": [ann.id or "", bob.id or ""]}))) == {ann.id, bob.id}
    assert set(ids(sdk.users.list(request={"user_id": ["-" + (ann.id or "")]}))) == {bob.id, cat.id}
    assert ids(sdk.users.list(request={"query": "bob@"})) == [bob.id]
    assert ids(sdk.users.list(request={"query": "YOUNG"})) == [bob.id]
    assert ids(sdk.users.list(request={"query": "annie"})) == [ann.id]
    assert ids(sdk.users.list(request={"banned": True})) == [cat.id]
    assert set(ids(sdk.users.list(request={"banned": False}))) == {ann.id, bob.id}
    org_id = trio["org"].id
    assert ids(sdk.users.list(request={"organization_id": [org_id]})) == [bob.id]
    assert set(ids(sdk.users.list(request={"organization_id": ["-" + org_id]}))) == {ann.id, cat.id}
    assert ids(sdk.users.list(request={"query": "nobody-matches"})) == []


def test_list_order_and_paging(sdk: Clerk, trio: dict[str, Any]) -> None:
    ann, bob, cat = trio["ann"].id, trio["bob"].id, trio["cat"].id
    assert ids(sdk.users.list(request={})) == [cat, bob, ann]  # default -created_at
    assert ids(sdk.users.list(request={"order_by": "+created_at"})) == [ann, bob, cat]
    assert ids(sdk.users.list(request={"order_by": "-first_name"})) == [cat, bob, ann]
    assert ids(sdk.users.list(request={"order_by": "last_name"})) == [cat, bob, ann]  # Xu, Young, Zed
    assert ids(sdk.users.list(request={"order_by": "+created_at", "limit": 2})) == [ann, bob]
    assert ids(sdk.users.list(request={"order_by": "+created_at", "limit": 2, "offset": 1})) == [bob, cat]
    assert ids(sdk.users.list(request={"offset": 10})) == []


def test_list_refuses_an_unknown_order(sdk: Clerk) -> None:
    with pytest.raises(models.ClerkErrors) as caught:
        sdk.users.list(request={"order_by": "password"})
    assert caught.value.status_code == 422
    assert caught.value.data.errors[0].code == "form_param_value_invalid"


def test_count_uses_the_same_filters(sdk: Clerk, trio: dict[str, Any]) -> None:
    total = sdk.users.count(request={})
    assert total.object == models.TotalCountObject.TOTAL_COUNT
    assert total.total_count == 3
    assert sdk.users.count(request={"banned": True}).total_count == 1
    assert sdk.users.count(request={"query": "example.com"}).total_count == 3
    assert sdk.users.count(request={"email_address": ["bob@example.com", "zzz@example.com"]}).total_count == 1


def test_update_changes_profile_fields(sdk: Clerk, clerk_emulator: Emulator) -> None:
    user = make_user(sdk, "u@example.com", first_name="Old")
    clerk_emulator.advance_clock(1)
    updated = sdk.users.update(user_id=user.id or "", first_name="New", last_name="Name", username="newname")
    assert (updated.first_name, updated.last_name, updated.username) == ("New", "Name", "newname")
    assert updated.updated_at > user.updated_at
    assert sdk.users.get(user_id=user.id or "").first_name == "New"


def test_update_refuses_a_taken_username_and_changes_nothing(sdk: Clerk) -> None:
    make_user(sdk, "a@example.com", username="taken")
    other = make_user(sdk, "b@example.com", first_name="Keep")
    with pytest.raises(models.ClerkErrors) as caught:
        sdk.users.update(user_id=other.id or "", first_name="Changed", username="taken")
    assert caught.value.data.errors[0].code == "form_identifier_exists"
    assert sdk.users.get(user_id=other.id or "").first_name == "Keep"


def test_update_metadata_deep_merges_and_null_removes(sdk: Clerk) -> None:
    user = make_user(
        sdk,
        "m@example.com",
        public_metadata={"a": {"x": 1, "y": 2}, "keep": 1, "drop": True},
        private_metadata={"p": 1},
    )
    merged = sdk.users.update_metadata(
        user_id=user.id or "",
        public_metadata={"a": {"y": None, "z": 3}, "drop": None, "new": [1, 2]},
        unsafe_metadata={"u": "v"},
    )
    assert merged.public_metadata == {"a": {"x": 1, "z": 3}, "keep": 1, "new": [1, 2]}
    assert merged.private_metadata == {"p": 1}  # not supplied: untouched
    assert merged.unsafe_metadata == {"u": "v"}
    assert sdk.users.get(user_id=user.id or "").public_metadata == merged.public_metadata


def test_replace_metadata_overwrites_only_supplied_fields(sdk: Clerk) -> None:
    user = make_user(sdk, "r@example.com", public_metadata={"a": {"x": 1}, "b": 2}, private_metadata={"p": 1})
    replaced = sdk.users.replace_metadata(user_id=user.id or "", public_metadata={"a": {"y": 2}})
    assert replaced.public_metadata == {"a": {"y": 2}}
    assert replaced.private_metadata == {"p": 1}


def test_ban_and_unban(sdk: Clerk) -> None:
    user = make_user(sdk, "ban@example.com")
    assert sdk.users.ban(user_id=user.id or "").banned is True
    assert sdk.users.get(user_id=user.id or "").banned is True
    assert sdk.users.unban(user_id=user.id or "").banned is False


def test_lock_and_unlock(sdk: Clerk) -> None:
    user = make_user(sdk, "lock@example.com")
    assert sdk.users.lock(user_id=user.id or "").locked is True
    assert sdk.users.get(user_id=user.id or "").locked is True
    assert sdk.users.unlock(user_id=user.id or "").locked is False


def test_delete(sdk: Clerk) -> None:
    user = make_user(sdk, "del@example.com")
    deleted = sdk.users.delete(user_id=user.id or "")
    assert (deleted.object, deleted.id, deleted.deleted) == ("user", user.id, True)
    with pytest.raises(models.ClerkErrors) as caught:
        sdk.users.get(user_id=user.id or "")
    assert caught.value.status_code == 404
    with pytest.raises(models.ClerkErrors):
        sdk.users.delete(user_id=user.id or "")


def test_delete_removes_memberships(sdk: Clerk) -> None:
    admin = make_user(sdk, "admin@example.com")
    org = sdk.organizations.create(request={"name": "Acme", "created_by": admin.id})
    member = make_user(sdk, "member@example.com")
    sdk.organization_memberships.create(organization_id=org.id, user_id=member.id or "", role="org:member")
    sdk.users.delete(user_id=member.id or "")
    listed = sdk.organization_memberships.list(organization_id=org.id)
    assert listed.total_count == 1
    assert [m.public_user_data.user_id for m in listed.data if m.public_user_data] == [admin.id]


def test_get_organization_memberships(sdk: Clerk) -> None:
    user = make_user(sdk, "om@example.com")
    first = sdk.organizations.create(request={"name": "First", "created_by": user.id})
    second = sdk.organizations.create(request={"name": "Second"})
    sdk.organization_memberships.create(organization_id=second.id, user_id=user.id or "", role="org:member")
    memberships = sdk.users.get_organization_memberships(user_id=user.id or "")
    assert memberships.total_count == 2
    by_org = {m.organization.id: m.role for m in memberships.data}
    assert by_org == {first.id: "org:admin", second.id: "org:member"}
    page = sdk.users.get_organization_memberships(user_id=user.id or "", limit=1, offset=1)
    assert (page.total_count, len(page.data)) == (2, 1)
