"""The search windows' indexes (0003) carry what the walk tests, so that ``core.text_search.first_matches`` reads
no table row for the rows of its window (PostgreSQL: ``INCLUDE``, an index-only scan).

A search walks up to 2,000 rows of the list in order and tests each; with the plain b-trees every row tested was a
heap fetch, and at 100,000 rows those rows lie on as many scattered pages (14,147 buffers for a search by a common
first name, against 230 with these indexes: bench/search_scale.py, docs/figures.md "Search at 100,000 rows"):

- ``accounts_user_staff_email_id``: ``(LOWER(email), id)`` of staff, with the email, names, role and
  ``disabled_at`` (the staff filters and ``internal_users.selectors._user_match``);
- ``internal_users_inv_created_id``: ``(created_at DESC, id DESC)``, with the status, expiry, role and email.

Index-only scans skip the heap only for pages the visibility map marks all-visible (autovacuum keeps it; these
tables change rarely). SQLite (the demo) has no ``INCLUDE``: the plain b-trees of 0003 stay there. On a large
production table, build them ``CONCURRENTLY`` by hand first (same names), and this migration only replaces them.
"""

from typing import Any

from django.db import migrations

COVERING = {
    "accounts_user_staff_email_id": (
        "accounts_user (LOWER(email), id) INCLUDE (email, first_name, last_name, role, disabled_at) WHERE is_internal"
    ),
    "internal_users_inv_created_id": (
        "internal_users_internalinvitation (created_at DESC, id DESC) INCLUDE (status, expires_at, role, email)"
    ),
}
PLAIN = {
    "accounts_user_staff_email_id": "accounts_user (LOWER(email), id) WHERE is_internal",
    "internal_users_inv_created_id": "internal_users_internalinvitation (created_at DESC, id DESC)",
}


def _replace(definitions: dict[str, str]) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for name, definition in definitions.items():
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
            schema_editor.execute(f"CREATE INDEX {name} ON {definition}")

    return run


class Migration(migrations.Migration):
    dependencies = [("internal_users", "0003_search_trigram_indexes")]

    operations = [migrations.RunPython(_replace(COVERING), _replace(PLAIN))]
