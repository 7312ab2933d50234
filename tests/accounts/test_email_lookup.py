"""Users are found by email case-insensitively through the ``Lower("email")`` index (``email__lower``)."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts.clerk_types import ClerkUser
from accounts.models import User
from accounts.services import user_upsert_from_clerk

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
