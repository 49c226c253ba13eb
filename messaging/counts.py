"""Count rows: fold each key's +n/-n rows into one.

Triggers (migrations 0004, 0013 and 0014) insert the rows; readers sum them, so a count is
exact whether or not it has been squashed. The squash only keeps the sums cheap.
"""

from django.db import connection, transaction

# Each count table and its key (migrations 0004, 0013 and 0014).
KEYS = {
    "messaging_messagecount": "account_id, campaign_id, day, step, status, error_id",
    "messaging_outcomecount": "account_id, campaign_id, sender_id, minute, status, "
    "error_id, carrier, receipt_within",
}

# Ids of the rows whose key has more than one row (the only ones worth folding).
FOLDABLE_IDS = """
    SELECT id FROM (
        SELECT id, count(*) OVER (PARTITION BY {key}) AS rows_in_key
        FROM {table} {where}
    ) AS keyed
    WHERE rows_in_key > 1
"""

# Keyed on the table's oid; released when the squash's transaction ends.
SQUASH_LOCK = "SELECT pg_try_advisory_xact_lock('{table}'::regclass::oid::bigint)"

# One statement: the DELETE's snapshot is exactly what is summed back, so a
# row inserted meanwhile is neither deleted nor counted twice, and a second
# squash running at once skips the rows the first one deleted.
SQUASH_POSTGRES = """
    WITH gone AS (
        DELETE FROM {table}
        WHERE id IN ({foldable})
        RETURNING {key}, "count"
    )
    INSERT INTO {table} ({key}, "count")
    SELECT {key}, sum("count") FROM gone
    GROUP BY {key}
    HAVING sum("count") <> 0
"""

# SQLite has no DELETE in a WITH clause; the transaction holds its one write
# lock, and rows up to the id read first are summed, then deleted.
SQUASH_SQLITE = [
    """
    INSERT INTO {table} ({key}, "count")
    SELECT {key}, sum("count") FROM {table} WHERE id <= %(last)s
    GROUP BY {key}
    HAVING count(*) > 1 AND sum("count") <> 0
    """,
    """
    DELETE FROM {table}
    WHERE id IN ({foldable})
    """,
]


def message_counts_squash() -> int:
    """Fold each key's count rows into one row (none when they sum to zero), in every count table.

    Safe while triggers insert rows and while another squash runs: no count
    is lost or doubled. Returns the number of folded rows written.
    """
    return sum(_squash(table, key) for table, key in KEYS.items())


def _squash(table: str, key: str) -> int:
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One squash at a time: a second one would only wait on the same rows.
            cursor.execute(SQUASH_LOCK.format(table=table))
            if not cursor.fetchone()[0]:
                return 0
            foldable = FOLDABLE_IDS.format(key=key, table=table, where="")
            cursor.execute(
                SQUASH_POSTGRES.format(table=table, key=key, foldable=foldable)
            )
            return cursor.rowcount
        cursor.execute(f"SELECT max(id) FROM {table}")
        last = cursor.fetchone()[0] or 0
        foldable = FOLDABLE_IDS.format(
            key=key, table=table, where="WHERE id <= %(last)s"
        )
        insert, delete = (
            sql.format(table=table, key=key, foldable=foldable) for sql in SQUASH_SQLITE
        )
        cursor.execute(insert, {"last": last})
        written = cursor.rowcount
        cursor.execute(delete, {"last": last})
    return written
