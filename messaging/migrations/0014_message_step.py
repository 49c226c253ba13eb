"""A message's campaign step: exactly one current message per (campaign, lead, step).

Count rows get the step in their key, so a campaign's counts per step come
from them as its totals do. On SQLite adding the column rebuilds
messaging_message, which drops the count triggers (0004): they are installed
again here with the step in their key, and the count rows rebuilt from the
messages, in the migration's transaction, so no write falls in between.
"""

import importlib

from django.db import migrations, models

KEY = "account_id, campaign_id, day, step, status, error_id"
COUNTED = "account_id, campaign_id, {day}, step, status, error_id"
GROUPS = "1, 2, 3, 4, 5, 6"

POSTGRES_DAY = "(created_at AT TIME ZONE 'UTC')::date"
SQLITE_DAY = "date({row}created_at)"

POSTGRES_FUNCTION = f"""
    CREATE OR REPLACE FUNCTION messaging_message_count() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO messaging_messagecount ({KEY}, "count")
            SELECT {COUNTED.format(day=POSTGRES_DAY)}, count(*)
            FROM new_rows WHERE NOT superseded
            GROUP BY {GROUPS};
        ELSIF TG_OP = 'DELETE' THEN
            INSERT INTO messaging_messagecount ({KEY}, "count")
            SELECT {COUNTED.format(day=POSTGRES_DAY)}, -count(*)
            FROM old_rows WHERE NOT superseded
            GROUP BY {GROUPS};
        ELSE
            INSERT INTO messaging_messagecount ({KEY}, "count")
            SELECT {KEY}, sum(n) FROM (
                SELECT {COUNTED.format(day=POSTGRES_DAY + " AS day")}, -1 AS n
                FROM old_rows WHERE NOT superseded
                UNION ALL
                SELECT {COUNTED.format(day=POSTGRES_DAY)}, 1
                FROM new_rows WHERE NOT superseded
            ) AS moves
            GROUP BY {GROUPS}
            HAVING sum(n) <> 0;
        END IF;
        RETURN NULL;
    END
    $$
"""


def _sqlite_row(row: str, n: int) -> str:
    return (
        f'INSERT INTO messaging_messagecount ({KEY}, "count") '
        f"SELECT {row}.account_id, {row}.campaign_id, {SQLITE_DAY.format(row=row + '.')}, "
        f"{row}.step, {row}.status, {row}.error_id, {n} WHERE NOT {row}.superseded;"
    )


SQLITE_TRIGGERS = [
    f"""
    CREATE TRIGGER messaging_message_count_insert AFTER INSERT ON messaging_message
    BEGIN {_sqlite_row("NEW", 1)} END
    """,
    f"""
    CREATE TRIGGER messaging_message_count_delete AFTER DELETE ON messaging_message
    BEGIN {_sqlite_row("OLD", -1)} END
    """,
    f"""
    CREATE TRIGGER messaging_message_count_update
    AFTER UPDATE OF account_id, campaign_id, created_at, step, status, error_id, superseded
    ON messaging_message
    WHEN OLD.account_id IS NOT NEW.account_id
        OR OLD.campaign_id IS NOT NEW.campaign_id
        OR date(OLD.created_at) IS NOT date(NEW.created_at)
        OR OLD.step IS NOT NEW.step
        OR OLD.status IS NOT NEW.status
        OR OLD.error_id IS NOT NEW.error_id
        OR OLD.superseded IS NOT NEW.superseded
    BEGIN {_sqlite_row("OLD", -1)} {_sqlite_row("NEW", 1)} END
    """,
]


def _recount(day: str) -> list[str]:
    return [
        "DELETE FROM messaging_messagecount",
        f'INSERT INTO messaging_messagecount ({KEY}, "count") '
        f"SELECT {COUNTED.format(day=day)}, count(*) FROM messaging_message "
        f"WHERE NOT superseded GROUP BY {GROUPS}",
    ]


def install_triggers(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = [
            "LOCK TABLE messaging_message IN SHARE MODE",
            POSTGRES_FUNCTION,
            *_recount(POSTGRES_DAY),
        ]
    else:
        statements = [
            *(
                f"DROP TRIGGER IF EXISTS messaging_message_count_{op}"
                for op in ("insert", "update", "delete")
            ),
            *SQLITE_TRIGGERS,
            *_recount(SQLITE_DAY.format(row="")),
        ]
    for sql in statements:
        schema_editor.execute(sql)


def reinstall_outcome_triggers(apps, schema_editor) -> None:
    """SQLite dropped every trigger of the table it rebuilt: the outcome counts' too (0013)."""
    if schema_editor.connection.vendor == "sqlite":
        outcomes = importlib.import_module("messaging.migrations.0013_outcomecount")
        for sql in outcomes.SQLITE_FORWARD:
            schema_editor.execute(sql)


def restore_previous_triggers(apps, schema_editor) -> None:
    """Undone: the 0004 triggers, keyed without the step, and their count rows."""
    counts = importlib.import_module("messaging.migrations.0004_messagecount")
    if schema_editor.connection.vendor == "postgresql":
        function = counts.POSTGRES_FORWARD[0].replace(
            "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"
        )
        statements = [function, "DELETE FROM messaging_messagecount"]
        statements.append(counts._backfill(counts.POSTGRES_DAY))
    else:
        statements = [
            *(
                f"DROP TRIGGER IF EXISTS messaging_message_count_{op}"
                for op in ("insert", "update", "delete")
            ),
            *counts.SQLITE_FORWARD,
            "DELETE FROM messaging_messagecount",
            counts._backfill(counts.SQLITE_DAY.format(row="")),
        ]
    for sql in statements:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0013_outcomecount"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, restore_previous_triggers),
        migrations.AddField(
            model_name="message",
            name="step",
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.AddField(
            model_name="messagecount",
            name="step",
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.RemoveConstraint(
            model_name="message", name="msg_unique_lead_attempt"
        ),
        migrations.RemoveConstraint(
            model_name="message", name="msg_one_current_per_lead"
        ),
        migrations.AddConstraint(
            model_name="message",
            constraint=models.UniqueConstraint(
                fields=("campaign", "lead", "step", "attempt"),
                name="msg_unique_lead_step_attempt",
            ),
        ),
        migrations.AddConstraint(
            model_name="message",
            constraint=models.UniqueConstraint(
                condition=models.Q(("superseded", False)),
                fields=("campaign", "lead", "step"),
                name="msg_one_current_per_lead_step",
            ),
        ),
        # Undone by the first operation, once the step columns are gone.
        migrations.RunPython(install_triggers, migrations.RunPython.noop),
        migrations.RunPython(reinstall_outcome_triggers, migrations.RunPython.noop),
    ]
