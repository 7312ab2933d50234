"""The Clerk budget of staff invitations (core/budgets.py) as the services reserve it: one person's share, and the
service budgeted without the API. Real emulator, real services and cache."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accounts.roles import Role
from clerk_emulator.state import Emulator
from core.exceptions import RateLimited
from internal_users import services
from internal_users.models import InternalInvitation
from tests.conftest import SignedInClient
from tests.internal_users.test_api import assert_error, create_invitation_calls, invite, user_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(signed_in: Callable[..., SignedInClient]) -> SignedInClient:
    return signed_in(Role.ADMIN, email="admin@example.com")


@pytest.fixture
def super_admin(signed_in: Callable[..., SignedInClient]) -> SignedInClient:
    return signed_in(Role.SUPER_ADMIN, email="root@example.com")


def test_one_person_gets_at_most_the_share(
    settings: Any, admin: SignedInClient, super_admin: SignedInClient, clerk_gateway: Emulator
) -> None:
    settings.INTERNAL_USERS_GLOBAL_INVITATIONS_RATE = "4/h"
    settings.CLERK_BUDGET_SHARE = 0.5
    assert invite(admin, "s1@example.com").status_code == 201
    assert invite(admin, "s2@example.com").status_code == 201
    before = create_invitation_calls(clerk_gateway)
    body = assert_error(invite(admin, "s3@example.com"), 429, "rate_limited")
    assert body["extra"]["limit"] == "user_staff_invitations"
    assert create_invitation_calls(clerk_gateway) == before
    assert invite(super_admin, "s3@example.com").status_code == 201  # the rest of the staff keeps its headroom


def test_the_service_is_budgeted_without_the_api(settings: Any, admin: SignedInClient) -> None:
    settings.INTERNAL_USERS_GLOBAL_INVITATIONS_RATE = "1/h"
    settings.CLERK_BUDGET_SHARE = 1
    actor = user_of(admin)
    services.internal_invite(email="c1@example.com", role="pm", actor=actor)
    with pytest.raises(RateLimited):
        services.internal_invite(email="c2@example.com", role="pm", actor=actor)
    assert not InternalInvitation.objects.filter(email="c2@example.com").exists()
