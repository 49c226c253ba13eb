"""Count rows for the dashboards, written by triggers on messaging_message.

Triggers, not application code, so that every write path is counted: ORM
inserts and saves, set-based UPDATEs, deletes and COPY. PostgreSQL runs one
statement-level trigger per statement over its transition tables (one grouped
INSERT however many rows moved); SQLite has no statement triggers, so it gets
row-level ones. Existing messages are counted in the same transaction as the
triggers are created, so no write falls between the two.

On SQLite, a later migration that rebuilds messaging_message (most field or
constraint changes do) drops these triggers with the old table: such a
migration must create them again (tests/messaging/test_counts.py fails if not).
"""

from django.db import migrations, models

KEY = "account_id, campaign_id, day, status, error_id"
COUNTED = "account_id, campaign_id, {day}, status, error_id"

POSTGRES_DAY = "(created_at AT TIME ZONE 'UTC')::date"
SQLITE_DAY = "date({row}created_at)"

POSTGRES_FORWARD = [
    f"""
    CREATE FUNCTION messaging_message_count() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO messaging_messagecount ({KEY}, "count")
            SELECT {COUNTED.format(day=POSTGRES_DAY)}, count(*)
            FROM new_rows WHERE NOT superseded
            GROUP BY 1, 2, 3, 4, 5;
        ELSIF TG_OP = 'DELETE' THEN
            INSERT INTO messaging_messagecount ({KEY}, "count")
            SELECT {COUNTED.format(day=POSTGRES_DAY)}, -count(*)
            FROM old_rows WHERE NOT superseded
            GROUP BY 1, 2, 3, 4, 5;
        ELSE
            -- An update moves a message from its old key to its new one; rows
            -- whose key did not change cancel out and write nothing.
            INSERT INTO messaging_messagecount ({KEY}, "count")
            SELECT {KEY}, sum(n) FROM (
                SELECT {COUNTED.format(day=POSTGRES_DAY + " AS day")}, -1 AS n
                FROM old_rows WHERE NOT superseded
                UNION ALL
                SELECT {COUNTED.format(day=POSTGRES_DAY)}, 1
                FROM new_rows WHERE NOT superseded
            ) AS moves
            GROUP BY 1, 2, 3, 4, 5
            HAVING sum(n) <> 0;
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER messaging_message_count_insert
    AFTER INSERT ON messaging_message REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION messaging_message_count()
    """,
    """
    CREATE TRIGGER messaging_message_count_update
    AFTER UPDATE ON messaging_message
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION messaging_message_count()
    """,
    """
    CREATE TRIGGER messaging_message_count_delete
    AFTER DELETE ON messaging_message REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION messaging_message_count()
    """,
]
POSTGRES_BACKWARD = ["DROP FUNCTION messaging_message_count() CASCADE"]


def _sqlite_row(row: str, n: int) -> str:
    return (
        f'INSERT INTO messaging_messagecount ({KEY}, "count") '
        f"SELECT {row}.account_id, {row}.campaign_id, {SQLITE_DAY.format(row=row + '.')}, "
        f"{row}.status, {row}.error_id, {n} WHERE NOT {row}.superseded;"
    )


SQLITE_FORWARD = [
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
    AFTER UPDATE OF account_id, campaign_id, created_at, status, error_id, superseded
    ON messaging_message
    WHEN OLD.account_id IS NOT NEW.account_id
        OR OLD.campaign_id IS NOT NEW.campaign_id
        OR date(OLD.created_at) IS NOT date(NEW.created_at)
        OR OLD.status IS NOT NEW.status
        OR OLD.error_id IS NOT NEW.error_id
        OR OLD.superseded IS NOT NEW.superseded
    BEGIN {_sqlite_row("OLD", -1)} {_sqlite_row("NEW", 1)} END
    """,
]
SQLITE_BACKWARD = [
    f"DROP TRIGGER messaging_message_count_{op}"
    for op in ("insert", "update", "delete")
]


def _backfill(day: str) -> str:
    return (
        f'INSERT INTO messaging_messagecount ({KEY}, "count") '
        f"SELECT {COUNTED.format(day=day)}, count(*) FROM messaging_message "
        "WHERE NOT superseded GROUP BY 1, 2, 3, 4, 5"
    )


def install_triggers(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = [*POSTGRES_FORWARD, _backfill(POSTGRES_DAY)]
    elif vendor == "sqlite":
        statements = [*SQLITE_FORWARD, _backfill(SQLITE_DAY.format(row=""))]
    else:
        raise NotImplementedError(f"No message count triggers for {vendor}.")
    for sql in statements:
        schema_editor.execute(sql)


def drop_triggers(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    for sql in POSTGRES_BACKWARD if vendor == "postgresql" else SQLITE_BACKWARD:
        schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ("campaigns", "0003_leadimport_lead_last_import"),
        ("messaging", "0003_webhookevent"),
        ("portal", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="MessageCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField(help_text="The day (UTC) the messages were created.")),
                ("status", models.CharField(choices=[("queued", "Queued"), ("sending", "Sending"), ("sent", "Sent"), ("unknown", "Delivery unknown"), ("delivered", "Delivered"), ("undelivered", "Undelivered"), ("failed", "Failed"), ("rejected", "Rejected"), ("expired", "Expired"), ("canceled", "Canceled"), ("received", "Received")], max_length=12)),
                ("count", models.IntegerField()),
                ("account", models.ForeignKey(db_constraint=False, db_index=False, on_delete=models.deletion.DO_NOTHING, related_name="+", to="portal.account")),
                ("campaign", models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=models.deletion.DO_NOTHING, related_name="+", to="campaigns.campaign")),
                ("error", models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=models.deletion.DO_NOTHING, related_name="+", to="messaging.errorcode")),
            ],
            options={
                "indexes": [
                    models.Index(fields=["campaign", "status"], name="msgcount_campaign"),
                    models.Index(fields=["account", "day"], name="msgcount_account_day"),
                ],
            },
        ),
        migrations.RemoveIndex(model_name="message", name="msg_account_created"),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["account", "created_at", "id"], name="msg_account_created_id"),
        ),
        migrations.RunPython(install_triggers, drop_triggers),
    ]
