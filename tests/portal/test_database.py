"""Connection settings that pages at production size depend on."""

import pytest

from django.db import connection

pytestmark = pytest.mark.django_db


def test_postgresql_connections_run_without_jit(postgres):
    # JIT compiled the dashboard's cheap subqueries for 265 ms a page.
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
