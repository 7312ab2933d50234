"""``core_waiting_runs_after_gate``: the webhook inbox's gate and its count of waiting drains in one call (PostgreSQL).

The count is ``core.jobs.WaitingRuns.statement``'s, over django-tasks-db's table; ``WaitingRuns.after_gate`` calls it
from the RETURNING of a delivery's INSERT, and its docstring says why a VOLATILE function.
"""

from django.db import migrations

FUNCTION = "core_waiting_runs_after_gate"


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("django_tasks_database", "DBTaskResult")._meta.db_table)
    schema_editor.execute(
        f"""
        CREATE OR REPLACE FUNCTION {FUNCTION}(
            gate bigint, wanted_task_path text, wanted_queue text, wanted_backend text, not_deferred timestamptz,
            max_runs integer
        ) RETURNS bigint LANGUAGE plpgsql VOLATILE AS $body$
        BEGIN
            PERFORM pg_advisory_xact_lock_shared(gate);
            RETURN (
                SELECT count(*) FROM (
                    SELECT 1 FROM {table} AS run
                    WHERE run.status = 'READY' AND run.task_path = wanted_task_path AND run.queue_name = wanted_queue
                        AND run.backend_name = wanted_backend AND run.run_after = not_deferred
                    LIMIT max_runs
                ) AS waiting
            );
        END
        $body$
        """,  # noqa: S608 - only the model's table name is interpolated
    )


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}(bigint, text, text, text, timestamptz, integer)")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0004_webhook_inbox"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
