"""Message count rows: fold each key's +n/-n rows into one.

Triggers (migrations 0004, 0012) insert the rows; readers sum them, so a count is
exact whether or not it has been squashed. The squash only keeps the sums cheap.
"""

from django.db import connection, transaction

KEY = "account_id, campaign_id, day, step, status, error_id"

# Ids of the rows whose key has more than one row (the only ones worth folding).
FOLDABLE_IDS = f"""
    SELECT id FROM (
        SELECT id, count(*) OVER (PARTITION BY {KEY}) AS rows_in_key
        FROM messaging_messagecount {{where}}
    ) AS keyed
    WHERE rows_in_key > 1
"""

# Keyed on the table's oid; released when the squash's transaction ends.
SQUASH_LOCK = (
    "SELECT pg_try_advisory_xact_lock('messaging_messagecount'::regclass::oid::bigint)"
)

# One statement: the DELETE's snapshot is exactly what is summed back, so a
# row inserted meanwhile is neither deleted nor counted twice, and a second
# squash running at once skips the rows the first one deleted.
SQUASH_POSTGRES = f"""
    WITH gone AS (
        DELETE FROM messaging_messagecount
        WHERE id IN ({FOLDABLE_IDS.format(where="")})
        RETURNING {KEY}, "count"
    )
    INSERT INTO messaging_messagecount ({KEY}, "count")
    SELECT {KEY}, sum("count") FROM gone
    GROUP BY {KEY}
    HAVING sum("count") <> 0
"""

# SQLite has no DELETE in a WITH clause; the transaction holds its one write
# lock, and rows up to the id read first are summed, then deleted.
SQUASH_SQLITE = [
    f"""
    INSERT INTO messaging_messagecount ({KEY}, "count")
    SELECT {KEY}, sum("count") FROM messaging_messagecount WHERE id <= %(last)s
    GROUP BY {KEY}
    HAVING count(*) > 1 AND sum("count") <> 0
    """,
    f"""
    DELETE FROM messaging_messagecount
    WHERE id IN ({FOLDABLE_IDS.format(where="WHERE id <= %(last)s")})
    """,
]


def message_counts_squash() -> int:
    """Fold each key's count rows into one row (none when they sum to zero).

    Safe while triggers insert rows and while another squash runs: no count
    is lost or doubled. Returns the number of folded rows written.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One squash at a time: a second one would only wait on the same rows.
            cursor.execute(SQUASH_LOCK)
            if not cursor.fetchone()[0]:
                return 0
            cursor.execute(SQUASH_POSTGRES)
            return cursor.rowcount
        cursor.execute("SELECT max(id) FROM messaging_messagecount")
        last = cursor.fetchone()[0] or 0
        insert, delete = SQUASH_SQLITE
        cursor.execute(insert, {"last": last})
        written = cursor.rowcount
        cursor.execute(delete, {"last": last})
    return written
