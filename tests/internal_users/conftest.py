"""Fixtures shared by the staff tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from accounts.roles import Role
from tests.conftest import ClerkSession


@pytest.fixture
def browser(clerk_session: Callable[..., ClerkSession]) -> Callable[..., tuple[Client, User]]:
    """``browser(role)``: a test client holding a new user's ``__session`` cookie, with CSRF checks on."""

    def make(role: str = Role.SUPER_ADMIN, **fields: Any) -> tuple[Client, User]:
        session = clerk_session(role, **fields)
        client = Client(enforce_csrf_checks=True)
        client.cookies["__session"] = session.token
        assert session.user is not None
        return client, session.user

    return make
