"""Outcome count rows for the delivery monitor, written by triggers like migration 0004's.

A message is counted once it has an outcome, in the minute it happened, with
its sender, error, carrier and, for a receipt, the band of seconds it took
after the send. PostgreSQL: one statement-level trigger per statement over its
transition tables; SQLite: row-level triggers. Existing messages are counted in
the same transaction as the triggers are created.

As with 0004: a later migration that rebuilds messaging_message on SQLite drops
these triggers and must create them again (tests/messaging/test_outcomes.py).
"""

from django.db import migrations, models

OUTCOMES = "('delivered', 'undelivered', 'failed', 'rejected', 'expired', 'unknown')"
RECEIPTS = "('delivered', 'undelivered')"
# Upper bounds in seconds; a receipt over a day late is counted as OVER_A_DAY.
BANDS = (10, 30, 60, 120, 300, 600, 900, 1800, 3600, 10800, 86400)
OVER_A_DAY = 1_000_000
KEY = "account_id, campaign_id, sender_id, minute, status, error_id, carrier, receipt_within"


def _band(row: str, within) -> str:
    whens = " ".join(f"WHEN {within(row, s)} THEN {s}" for s in BANDS)
    return (
        f"CASE WHEN {row}status IN {RECEIPTS} AND {row}sent_at IS NOT NULL "
        f"AND {row}final_at IS NOT NULL THEN CASE {whens} ELSE {OVER_A_DAY} END END"
    )


def _postgres_within(row: str, seconds: int) -> str:
    return f"{row}final_at - {row}sent_at <= interval '{seconds} seconds'"


def _sqlite_within(row: str, seconds: int) -> str:
    return f"(julianday({row}final_at) - julianday({row}sent_at)) * 86400 <= {seconds}"


def _counted(row: str, vendor: str) -> str:
    if vendor == "postgresql":
        minute = f"date_trunc('minute', COALESCE({row}final_at, {row}updated_at))"
        band = _band(row, _postgres_within)
    else:
        minute = f"strftime('%Y-%m-%d %H:%M:00', COALESCE({row}final_at, {row}updated_at))"
        band = _band(row, _sqlite_within)
    return (
        f"{row}account_id, {row}campaign_id, {row}sender_id, {minute}, {row}status, "
        f"{row}error_id, COALESCE({row}carrier, ''), {band}"
    )


def _counts(row: str) -> str:
    return (
        f"{row}direction = 'outbound' AND NOT {row}superseded "
        f"AND {row}status IN {OUTCOMES}"
    )


GROUP = "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8"

POSTGRES_FORWARD = [
    f"""
    CREATE FUNCTION messaging_message_outcome() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO messaging_outcomecount ({KEY}, "count")
            SELECT {_counted("", "postgresql")}, count(*)
            FROM new_rows WHERE {_counts("")} {GROUP};
        ELSIF TG_OP = 'DELETE' THEN
            INSERT INTO messaging_outcomecount ({KEY}, "count")
            SELECT {_counted("", "postgresql")}, -count(*)
            FROM old_rows WHERE {_counts("")} {GROUP};
        ELSE
            -- Claims and sends move no outcome: both sides are empty.
            INSERT INTO messaging_outcomecount ({KEY}, "count")
            SELECT {KEY}, sum(n) FROM (
                SELECT {_counted("", "postgresql")}, -1 AS n
                FROM old_rows WHERE {_counts("")}
                UNION ALL
                SELECT {_counted("", "postgresql")}, 1
                FROM new_rows WHERE {_counts("")}
            ) AS moves ({KEY}, n)
            {GROUP}
            HAVING sum(n) <> 0;
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER messaging_message_outcome_insert
    AFTER INSERT ON messaging_message REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION messaging_message_outcome()
    """,
    """
    CREATE TRIGGER messaging_message_outcome_update
    AFTER UPDATE ON messaging_message
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION messaging_message_outcome()
    """,
    """
    CREATE TRIGGER messaging_message_outcome_delete
    AFTER DELETE ON messaging_message REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION messaging_message_outcome()
    """,
]
POSTGRES_BACKWARD = ["DROP FUNCTION messaging_message_outcome() CASCADE"]


def _sqlite_row(row: str, n: int) -> str:
    return (
        f'INSERT INTO messaging_outcomecount ({KEY}, "count") '
        f"SELECT {_counted(row + '.', 'sqlite')}, {n} WHERE {_counts(row + '.')};"
    )


SQLITE_FORWARD = [
    f"""
    CREATE TRIGGER messaging_message_outcome_insert AFTER INSERT ON messaging_message
    BEGIN {_sqlite_row("NEW", 1)} END
    """,
    f"""
    CREATE TRIGGER messaging_message_outcome_delete AFTER DELETE ON messaging_message
    BEGIN {_sqlite_row("OLD", -1)} END
    """,
    f"""
    CREATE TRIGGER messaging_message_outcome_update AFTER UPDATE ON messaging_message
    WHEN OLD.status IN {OUTCOMES} OR NEW.status IN {OUTCOMES}
    BEGIN {_sqlite_row("OLD", -1)} {_sqlite_row("NEW", 1)} END
    """,
]
SQLITE_BACKWARD = [
    f"DROP TRIGGER messaging_message_outcome_{op}" for op in ("insert", "update", "delete")
]


def install_triggers(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"No outcome count triggers for {vendor}.")
    backfill = (
        f'INSERT INTO messaging_outcomecount ({KEY}, "count") '
        f"SELECT {_counted('', vendor)}, count(*) FROM messaging_message "
        f"WHERE {_counts('')} {GROUP}"
    )
    forward = POSTGRES_FORWARD if vendor == "postgresql" else SQLITE_FORWARD
    for sql in [*forward, backfill]:
        schema_editor.execute(sql)


def drop_triggers(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    for sql in POSTGRES_BACKWARD if vendor == "postgresql" else SQLITE_BACKWARD:
        schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ("campaigns", "0009_lead_time_zone"),
        ("messaging", "0012_quiet_hours_throughput"),
        ("portal", "0006_account_pause_on_alert"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="carrier",
            field=models.CharField(blank=True, max_length=60, null=True),
        ),
        migrations.CreateModel(
            name="OutcomeCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("minute", models.DateTimeField()),
                ("status", models.CharField(choices=[("queued", "Queued"), ("sending", "Sending"), ("sent", "Sent to carrier"), ("unknown", "Delivery unknown"), ("delivered", "Delivered"), ("undelivered", "Undelivered"), ("failed", "Failed"), ("rejected", "Rejected"), ("expired", "Expired"), ("canceled", "Canceled"), ("received", "Received")], max_length=12)),
                ("carrier", models.CharField(blank=True, max_length=60)),
                ("receipt_within", models.PositiveIntegerField(null=True)),
                ("count", models.IntegerField()),
                ("account", models.ForeignKey(db_constraint=False, db_index=False, on_delete=models.deletion.DO_NOTHING, related_name="+", to="portal.account")),
                ("campaign", models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=models.deletion.DO_NOTHING, related_name="+", to="campaigns.campaign")),
                ("error", models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=models.deletion.DO_NOTHING, related_name="+", to="messaging.errorcode")),
                ("sender", models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=models.deletion.DO_NOTHING, related_name="+", to="messaging.sender")),
            ],
            options={
                "indexes": [
                    models.Index(fields=["account", "minute"], name="outcome_account_minute"),
                    models.Index(fields=["campaign", "minute"], name="outcome_campaign_minute"),
                    models.Index(fields=["minute"], name="outcome_minute"),
                ],
            },
        ),
        migrations.RunPython(install_triggers, drop_triggers),
    ]
