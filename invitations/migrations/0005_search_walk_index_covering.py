"""``invitations_ws_created`` (0004), the order a text search walks (``core.text_search.first_matches``: the pending
list and the history), carries what the walk tests on PostgreSQL, the status, expiry and email (``INCLUDE``), so
that a search reads its window index-only instead of fetching each row it tests from the table (the staff lists'
window indexes do the same: internal_users/0004).

SQLite (the demo) has no ``INCLUDE``: the index of 0004 stays as it is there. The model's ``Meta`` keeps the key
columns only, which is what Django compares; Django's ``include=`` would warn on SQLite (models.W040).

It also drops the lone ``created_at`` index: every list of invitations is one workspace's, and with that index the
planner could walk all workspaces' invitations in time order and filter them (the pending search's window did, on
the bench's one-workspace table, where it costs nothing; with many workspaces it reads theirs too).
"""

from typing import Any

from django.db import migrations, models

NAME = "invitations_ws_created"
KEY = "invitations_workspaceinvitation (workspace_id, created_at DESC, id DESC)"


def _replace(include: str) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")
        schema_editor.execute(f"CREATE INDEX {NAME} ON {KEY}{include}")

    return run


class Migration(migrations.Migration):
    dependencies = [("invitations", "0004_search_walk_index")]

    operations = [
        migrations.RunPython(_replace(" INCLUDE (status, expires_at, email)"), _replace("")),
        migrations.AlterField(
            model_name="workspaceinvitation", name="created_at", field=models.DateTimeField(auto_now_add=True)
        ),
    ]
