"""The members list's indexes: ``(workspace, -created_at, -id)``, a workspace's members newest first, which the list
pages through with LIMIT/OFFSET (invitations.selectors.workspace_members), and the workspace's admins alone (a
partial index), which the last-admin rule locks and the list asks about. Plain b-trees: the same on SQLite."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_normalize_emails")]

    operations = [
        migrations.AddIndex(
            model_name="workspacemembership",
            index=models.Index(fields=["workspace", "-created_at", "-id"], name="accounts_membership_ws_joined"),
        ),
        migrations.AddIndex(
            model_name="workspacemembership",
            index=models.Index(
                condition=models.Q(("role", "admin")), fields=["workspace"], name="accounts_membership_ws_admins"
            ),
        ),
    ]
