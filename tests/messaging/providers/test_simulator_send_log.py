"""The simulator's send log: bounded, and looked up by uuid without reading it whole."""

import sqlite3
import time

import pytest

from messaging.providers import simulator
from messaging.providers.simulator import send_record, sends_logged, sends_recorded


@pytest.fixture
def send_log(settings, tmp_path):
    settings.SIMULATOR_SEND_LOG = str(tmp_path / "sends.sqlite3")
    return settings.SIMULATOR_SEND_LOG


def test_the_send_log_forgets_sends_older_than_a_week(send_log, monkeypatch):
    # given a send recorded eight days ago
    monkeypatch.setattr(simulator, "SEND_LOG_PRUNE_EVERY", 3)
    eight_days_ago = time.time() - 8 * 86400
    monkeypatch.setattr(simulator.time, "time", lambda: eight_days_ago)
    send_record("old", "SMold")
    monkeypatch.undo()
    monkeypatch.setattr(simulator, "SEND_LOG_PRUNE_EVERY", 3)
    # when more sends are recorded (every third one prunes)
    send_record("new", "SMnew")
    send_record("newer", "SMnewer")
    # then the old one is gone and the recent ones are kept
    assert sends_recorded(send_log) == {"new": 1, "newer": 1}


def test_the_stuck_sweep_looks_sends_up_by_uuid_in_the_index(send_log):
    # given a log of many sends, one message sent twice
    for n in range(200):
        send_record(f"uuid-{n}", f"SM{n}")
    send_record("uuid-7", "SMagain")
    statements: list[str] = []
    simulator._send_log(send_log).set_trace_callback(statements.append)
    # when the sends of a few messages are looked up
    found = sends_logged(send_log, ["uuid-7", "uuid-150", "never-sent"])
    # then their references come back in order, found through the uuid index
    assert found == {"uuid-7": ["SM7", "SMagain"], "uuid-150": ["SM150"]}
    (lookup,) = [s for s in statements if s.startswith("SELECT")]
    plan = sqlite3.connect(send_log).execute(f"EXPLAIN QUERY PLAN {lookup}")
    assert any("USING INDEX sends_uuid" in row[-1] for row in plan)
