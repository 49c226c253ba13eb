"""Creating a PostgreSQL database by URL: the benchmarks build their own."""

import os
import sys


def database_create(url: str) -> None:
    """Create the PostgreSQL database of url if it does not exist yet."""
    import psycopg
    from psycopg import sql

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(
                sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            )


def database_ready(url: str) -> None:
    """Set Django up on the PostgreSQL database of url, created and migrated if need be."""
    if not url.startswith("postgres"):
        sys.exit(f"Not a PostgreSQL URL: {url!r}; use postgres://user@host:port/name")
    os.environ["DATABASE_URL"] = url
    database_create(url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
