from django.db import migrations

from core.migration_helpers import normalize_rows


def forwards(apps, schema_editor):
    # Addresses take core.emails.normalize_email form; two open invitations to one address after folding keep theirs.
    normalize_rows(
        apps.get_model("invitations", "WorkspaceInvitation"),
        key=lambda row, email: (row.workspace_id, email) if row.status in ("queued", "pending") else (row.pk, email),
        names={"inviter_name": 300},
    )


class Migration(migrations.Migration):
    dependencies = [
        ("invitations", "0001_initial"),
        ("accounts", "0003_normalize_emails"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
