"""Trigram indexes for the staff list's text search (internal_users/selectors.py, issue 13 item 5).

The search is a substring match, any case (``icontains``: ``UPPER(col::text) LIKE UPPER('%…%')`` on PostgreSQL),
which no b-tree serves. These GIN indexes (``pg_trgm``'s ``gin_trgm_ops``) on exactly those expressions do:

- ``internal_users_inv_email_trgm``: staff invitations by email;
- ``accounts_user_staff_*_trgm``: staff users by email, first name and last name, partial on ``is_internal`` as
  the staff list asks (the same predicate as ``accounts_user_staff_email``); they live in this app because only the
  staff search uses them.

Two plain b-trees, on every database, let ``core.text_search.first_matches`` count its window with an index-only
scan: ``internal_users_inv_created_id`` and ``accounts_user_staff_email_id`` (``(LOWER(email), id)`` of staff).

The trigram indexes are PostgreSQL only, with the ``pg_trgm`` extension (as invitations/0003 does for the
history). Elsewhere (the demo's SQLite) only the b-trees are made and the search still works, without trigrams.
None is declared in the models' ``Meta``, so Django neither creates them twice nor tries to drop them.
"""

from typing import Any

from django.db import migrations

STAFF = "WHERE is_internal"
INDEXES = {
    "internal_users_inv_email_trgm": "internal_users_internalinvitation USING gin (UPPER(email::text) gin_trgm_ops)",
    "accounts_user_staff_email_trgm": "accounts_user USING gin (UPPER(email::text) gin_trgm_ops) " + STAFF,
    "accounts_user_staff_first_trgm": "accounts_user USING gin (UPPER(first_name::text) gin_trgm_ops) " + STAFF,
    "accounts_user_staff_last_trgm": "accounts_user USING gin (UPPER(last_name::text) gin_trgm_ops) " + STAFF,
}


# The windows of core.text_search.first_matches, counted by an index-only scan (plain b-trees: every database).
WINDOW_INDEXES = {
    "internal_users_inv_created_id": "internal_users_internalinvitation (created_at DESC, id DESC)",
    "accounts_user_staff_email_id": "accounts_user (LOWER(email), id) WHERE is_internal",
}


def _create_windows(apps: Any, schema_editor: Any) -> None:
    for name, definition in WINDOW_INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")


def _drop_windows(apps: Any, schema_editor: Any) -> None:
    for name in WINDOW_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def _create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, definition in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")


def _drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("internal_users", "0002_normalize_emails"),
        ("accounts", "0003_normalize_emails"),
    ]

    operations = [migrations.RunPython(_create, _drop), migrations.RunPython(_create_windows, _drop_windows)]
