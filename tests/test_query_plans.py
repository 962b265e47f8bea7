"""The queries the fast commands run on every call answer from small indexes, whatever other
index a migration adds (SQLite's planner picks by the terms it can match, not by size).

Checked on the planner's own word (EXPLAIN QUERY PLAN) on a synced database: a
scan of the user's entries cost `status`, `start` and `stop` 60 ms at 100,000
entries once `(user_id, start)` was indexed (migration 0011)."""

from __future__ import annotations

import sqlite3

from togglsync import timer
from togglsync.api import DirectAuth, TogglClient
from togglsync.api.retrying import RetryPolicy
from togglsync.db.open import open_database
from togglsync.errors import ExitCode
from togglsync.sync.engine import run_sync


def test_the_running_timer_is_found_through_the_index_of_running_entries(make_sim, tmp_path):
    sim = make_sim(entries=200, seed=5)
    path = tmp_path / "p.db"
    engine = open_database(str(path))
    client = TogglClient(sim.url, DirectAuth(sim.seed.api_token), min_interval=0, retry=RetryPolicy.immediate())
    assert run_sync(engine, client).exit_code == ExitCode.OK
    engine.dispose()

    plans: list[str] = []
    conn = sqlite3.connect(str(path))
    explain = sqlite3.connect(str(path))

    def trace(statement: str) -> None:
        if "FROM time_entries" in statement and statement.lstrip().upper().startswith("SELECT"):
            plans.extend(row[3] for row in explain.execute("EXPLAIN QUERY PLAN " + statement))

    conn.set_trace_callback(trace)
    conn.row_factory = sqlite3.Row
    timer.running_entry(conn)  # the default account: bound to its user by the sync
    conn.close()
    explain.close()
    assert plans, "running_entry asked nothing of time_entries"
    assert all("ix_time_entries_running" in line for line in plans if "time_entries" in line), plans
