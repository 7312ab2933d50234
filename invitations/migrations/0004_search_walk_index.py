"""``(workspace, -created_at, -id)``: the workspace's invitations of every status in list order, which a text search
of the history or the pending list walks (core/text_search.py). A plain b-tree: the same on SQLite."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("invitations", "0003_history_indexes")]

    operations = [
        migrations.AddIndex(
            model_name="workspaceinvitation",
            index=models.Index(fields=["workspace", "-created_at", "-id"], name="invitations_ws_created"),
        ),
    ]
