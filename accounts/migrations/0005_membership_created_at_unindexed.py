"""Drops the lone ``created_at`` index of memberships: ``accounts_membership_ws_joined`` (0004) serves the only list
ordered by it, and with the lone index beside it the planner could walk every workspace's members newest first and
filter (seen on a bloated table). One index fewer to write on every membership webhook."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_membership_list_indexes")]

    operations = [
        migrations.AlterField(
            model_name="workspacemembership",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True),
        ),
    ]
