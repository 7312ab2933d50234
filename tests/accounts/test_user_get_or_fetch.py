"""``accounts.services.user_get_or_fetch``: the one "find the local user, else fetch from Clerk and upsert"."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from accounts import clerk
from accounts.clerk_types import ClerkUser
from accounts.models import User
from accounts.services import user_get_or_fetch, user_upsert_from_clerk
from clerk_emulator.state import Emulator, Fault

pytestmark = pytest.mark.django_db


def _user_gets(em: Emulator, clerk_user_id: str) -> int:
    return sum(1 for method, path, _ in em.request_log if method == "GET" and path == f"/v1/users/{clerk_user_id}")


def test_a_mirrored_user_is_read_locally_without_asking_clerk(
    clerk_gateway: Emulator, clerk_user_factory: Callable[..., ClerkUser]
) -> None:
    local = user_upsert_from_clerk(clerk_user=clerk_user_factory(email="known@example.com"))
    assert user_get_or_fetch(clerk_user_id=local.clerk_user_id) == local
    assert _user_gets(clerk_gateway, local.clerk_user_id) == 0


def test_a_user_not_seen_yet_is_fetched_and_mirrored_once(
    clerk_gateway: Emulator, clerk_user_factory: Callable[..., ClerkUser]
) -> None:
    remote = clerk_user_factory(email="new@example.com", first_name="Nia")
    user = user_get_or_fetch(clerk_user_id=remote.id)
    assert (user.email, user.first_name) == ("new@example.com", "Nia")
    assert user_get_or_fetch(clerk_user_id=remote.id) == user
    assert _user_gets(clerk_gateway, remote.id) == 1


def test_a_user_clerk_does_not_have_is_clerk_not_found_and_not_created(
    clerk_user_factory: Callable[..., ClerkUser],
) -> None:
    remote = clerk_user_factory(email="gone@example.com")
    clerk.delete_user(remote.id)
    with pytest.raises(clerk.ClerkNotFound):
        user_get_or_fetch(clerk_user_id=remote.id)
    assert not User.objects.filter(clerk_user_id=remote.id).exists()


def test_clerk_unavailable_propagates(clerk_gateway: Emulator, clerk_user_factory: Callable[..., ClerkUser]) -> None:
    remote = clerk_user_factory(email="later@example.com")
    clerk_gateway.faults.append(Fault("GET", f"/v1/users/{remote.id}", 10, status=503))
    with pytest.raises(clerk.ClerkUnavailable):
        user_get_or_fetch(clerk_user_id=remote.id)
