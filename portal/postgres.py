"""The updated_at trigger of the change feeds, installed on PostgreSQL by migrations."""

from django.db.migrations import RunPython

# A BEFORE UPDATE trigger on each table with a change feed (portal/api/feed.py):
# an UPDATE that leaves updated_at as it was, or stamps it before its own
# transaction began (a time computed before a long batch), gets the clock's
# time instead. So every change path bumps it, set-based UPDATEs included, and
# no row can commit with a time a feed's horizon has already passed.
TOUCH_UPDATED_AT_FUNCTION = """
CREATE OR REPLACE FUNCTION portal_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at
       OR NEW.updated_at < now() THEN
        NEW.updated_at := clock_timestamp();
    END IF;
    RETURN NEW;
END
$$
"""


def touch_updated_at_sql(table: str) -> tuple[list[str], list[str]]:
    """Forward and backward SQL for the updated_at trigger on one table."""
    trigger = f"{table}_touch_updated_at"
    forward = [
        TOUCH_UPDATED_AT_FUNCTION,
        f"CREATE TRIGGER {trigger} BEFORE UPDATE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION portal_touch_updated_at()",
    ]
    return forward, [f"DROP TRIGGER IF EXISTS {trigger} ON {table}"]


def touch_updated_at_operation(tables: list[str]) -> RunPython:
    """A migration step that installs (and on reverse drops) the trigger, on PostgreSQL only."""

    def run(schema_editor, forward: bool) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in tables:
            for sql in touch_updated_at_sql(table)[0 if forward else 1]:
                schema_editor.execute(sql)

    return RunPython(
        lambda apps, schema_editor: run(schema_editor, True),
        lambda apps, schema_editor: run(schema_editor, False),
    )
