from django.db import migrations

from core.migration_helpers import normalize_rows


def forwards(apps, schema_editor):
    # Addresses take core.emails.normalize_email form; two pending invitations to one address after folding keep theirs.
    normalize_rows(
        apps.get_model("internal_users", "InternalInvitation"),
        key=lambda row, email: email if row.status == "pending" else (row.pk, email),
        names={"inviter_name": 300},
    )


class Migration(migrations.Migration):
    dependencies = [
        ("internal_users", "0001_internal_invitation"),
        ("accounts", "0003_normalize_emails"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
