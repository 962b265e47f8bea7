"""Entries planned ahead (issue 10, case 7): a full re-sync reaches a year into the future.

Real database, real simulator over HTTP.
"""

from __future__ import annotations

import pytest

from test_sync_support import SyncEnv, assert_local_equals_server

from togglsync import records

DAY = 86400


def _planned(env: SyncEnv, days: float, description: str) -> dict:
    return env.remote_create_entry(
        description=description, start=records.format_ts(env.ago(days=-days)), duration=3600,
    )


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_a_cold_sync_brings_entries_planned_for_next_week_and_next_month(env):
    week = _planned(env, 7, "planned next week")
    month = _planned(env, 40, "planned next month")
    fresh = SyncEnv(env.sim, env.db_path.with_name("fresh.db"))
    try:
        fresh.sync()
        assert fresh.entry(week["id"])["description"] == "planned next week"
        assert fresh.entry(month["id"])["description"] == "planned next month"
        assert_local_equals_server(fresh)
    finally:
        fresh.close()


def test_a_full_re_sync_keeps_a_cached_entry_planned_far_ahead(env):
    far = _planned(env, 200, "planned in half a year")
    recent = _planned(env, 101, "the week after the jump")  # the re-sync's answer is not empty
    env.sync()  # `since` brings it
    assert env.entry(far["id"]) is not None
    env.sim.clock.advance(100 * DAY)  # the cursor is too old now: the next sync re-reads the window
    result = env.sync()
    assert result.error is None and result.stopped is None, result
    assert env.entry(far["id"])["description"] == "planned in half a year"
    assert env.entry(recent["id"]) is not None
    assert_local_equals_server(env)


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_a_server_refusing_a_window_that_far_ahead_is_asked_up_to_tomorrow(env):
    fresh = SyncEnv(env.sim, env.db_path.with_name("fresh.db"))
    try:
        env.sim.faults.add(status=400, method="GET", path="/me/time_entries", body="end_date is too far ahead")
        result = fresh.sync()
        assert result.stopped is None, result
        windows = [r for r in env.sim.log.records if r.normalized_path == "/me/time_entries"]
        assert [r.status for r in windows] == [400, 200]
        assert_local_equals_server(fresh)
    finally:
        fresh.close()
