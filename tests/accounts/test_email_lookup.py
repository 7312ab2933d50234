"""Users by email: found case-insensitively through the ``Lower("email")`` index (``email__lower``), and never
mirrored with a NULL one."""

from __future__ import annotations

import httpx
import pytest
from django.db import connection
from django.test import RequestFactory

from accounts import clerk
from accounts.authentication import authenticate_request
from accounts.clerk_types import ClerkUser
from accounts.models import User
from accounts.services import user_upsert_from_clerk
from clerk_emulator.server import EmulatorServer
from clerk_emulator.state import Emulator

pytestmark = pytest.mark.django_db


def _clerk_user(clerk_id: str, email: str, updated_at: int) -> ClerkUser:
    return ClerkUser.from_json(
        {
            "id": clerk_id,
            "primary_email_address_id": "idn_1",
            "email_addresses": [{"id": "idn_1", "email_address": email}],
            "first_name": "Ann",
            "last_name": "Lee",
            "updated_at": updated_at,
        }
    )


def test_a_new_clerk_id_for_a_stored_address_in_other_case_takes_over_that_row() -> None:
    stored = User.objects.create(clerk_user_id="user_old", email="Ann@Example.COM", clerk_updated_at=10)
    user = user_upsert_from_clerk(clerk_user=_clerk_user("user_new", "ann@example.com", updated_at=20))
    assert user.pk == stored.pk
    assert user.clerk_user_id == "user_new"
    assert User.objects.count() == 1


def test_the_lookup_is_lower_and_the_index_serves_it() -> None:
    queryset = User.objects.filter(email__lower="ann@example.com")
    sql, params = queryset.query.sql_with_params()
    assert 'LOWER("ACCOUNTS_USER"."EMAIL")' in sql.upper()
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # the table is tiny; ask whether the index *can* serve it
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "accounts_user_email_ci_unique" in plan


def _phone_only_session(server: EmulatorServer, secret_key: str, phone: str) -> tuple[str, str]:
    """A Clerk user with a phone number and no email address, and a session token: ``(clerk user id, token)``."""
    with httpx.Client(base_url=server.api_url, headers={"Authorization": f"Bearer {secret_key}"}, timeout=10) as http:
        user = http.post("users", json={"phone_number": [phone], "first_name": "Pho"})
        assert user.status_code == 200, user.text
        assert user.json()["email_addresses"] == []
    session = clerk.create_session(user.json()["id"])
    return user.json()["id"], clerk.create_session_token(session.id, expires_in_seconds=600)


def test_clerk_users_without_an_email_are_mirrored_with_a_null_email(
    clerk_gateway: Emulator, clerk_emulator_server: EmulatorServer
) -> None:
    for phone in ("+15555550101", "+15555550102"):  # the second used to break the unique (empty) email: a 500
        clerk_user_id, token = _phone_only_session(clerk_emulator_server, clerk_gateway.secret_key, phone)
        request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
        result = authenticate_request(request)
        assert result is not None
        user = result[0]
        assert (user.clerk_user_id, user.email, user.phone_number) == (clerk_user_id, None, phone)
        assert user.role == "member"
    assert User.objects.filter(email__isnull=True).count() == 2
    assert not User.objects.filter(email="").exists()


def test_a_known_user_whose_clerk_email_is_gone_keeps_theirs_and_still_gets_a_ban() -> None:
    stored = User.objects.create(clerk_user_id="user_1", email="ann@example.com", clerk_updated_at=10)
    data = _clerk_user("user_1", "", updated_at=20)
    banned = ClerkUser(**{**data.__dict__, "banned": True})
    user = user_upsert_from_clerk(clerk_user=banned)
    assert (user.pk, user.email) == (stored.pk, "ann@example.com")
    assert user.disabled_at is not None
