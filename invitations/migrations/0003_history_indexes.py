"""Indexes of the invitation history (invitations/history.py).

- ``(workspace, status, expires_at)``: the open invitations already past their expiry, which count as expired;
- a trigram index on ``UPPER(email)`` for the email search (``email__icontains`` is ``UPPER(email::text) LIKE``).
  PostgreSQL only, with the ``pg_trgm`` extension (shipped with PostgreSQL; creating it needs the CREATE privilege
  on the database). Other databases (the SQLite of bench/invite_many.py) skip it: the search still works, unindexed.
  It is not declared in the model's ``Meta``, so Django neither creates it elsewhere nor tries to drop it.
"""

from typing import Any

from django.db import migrations, models

TRIGRAM_INDEX = "invitations_email_trgm"


def _create_trigram_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON invitations_workspaceinvitation "
        "USING gin (UPPER(email::text) gin_trgm_ops)"
    )


def _drop_trigram_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")


class Migration(migrations.Migration):
    dependencies = [("invitations", "0002_normalize_emails")]

    operations = [
        migrations.AddIndex(
            model_name="workspaceinvitation",
            index=models.Index(fields=["workspace", "status", "expires_at"], name="invitations_ws_status_expiry"),
        ),
        migrations.RunPython(_create_trigram_index, _drop_trigram_index),
    ]
