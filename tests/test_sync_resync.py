"""A full re-sync of the entries is stored in batches, each its own transaction.

An offline edit must never wait for a sync, whatever the account's size: the
write lock is free between batches. A re-sync interrupted between batches
keeps what it stored, deletes nothing and leaves the cursor where it was; the
next sync does it again and completes it (issue 13).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import pytest
import requests
from sqlalchemy import event
from test_sync_support import assert_local_equals_server, make_env

from togglsync.sync import pull
from togglsync.sync.engine import SyncOptions

BATCH = 4


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(pull, "ENTRY_BATCH", BATCH)


def _server_body(sim) -> list[dict]:
    """The server's entries as GET /me/time_entries lists them (newest first)."""
    now = sim.clock.now()
    answer = requests.get(
        sim.url + "/api/v9/me/time_entries", params={"start_date": (now - timedelta(days=89)).date().isoformat(), "end_date": (now + timedelta(days=1)).date().isoformat()},
        auth=(sim.seed.api_token, "api_token"), timeout=10,
    )
    answer.raise_for_status()
    sim.log.clear()
    return answer.json()


def _cut_after(entries: list[dict], count: int) -> bytes:
    """A body that breaks off inside the element after the first `count` (a connection dropped mid-body)."""
    return (json.dumps(entries[:count])[:-1] + ', {"id": ').encode()


def _write_lock_free(db_path) -> tuple[bool, int]:
    """Another program wanting to write now (an offline `start`): does it get the lock at once?
    And how many entries does it see stored?"""
    other = sqlite3.connect(db_path, timeout=0, isolation_level=None)
    try:
        try:
            other.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            got = False
        else:
            got = True
            other.execute("ROLLBACK")
        return got, other.execute("SELECT count(*) FROM time_entries").fetchone()[0]
    finally:
        other.close()


def test_the_write_lock_is_free_between_batches_of_a_cold_sync(make_sim, tmp_path, small_batches):
    env = make_env(make_sim, tmp_path, entries=20)
    total = len(_server_body(env.sim))
    probes: list[tuple[bool, int]] = []

    def probe(*_args: object) -> None:
        probes.append(_write_lock_free(env.db_path))

    event.listen(env.engine, "before_cursor_execute", probe)
    try:
        env.sync()
    finally:
        event.remove(env.engine, "before_cursor_execute", probe)
    assert len(env.entries()) == total
    midway = [got for got, stored in probes if 0 < stored < total]
    assert midway, "no batch was committed before the last one"
    assert any(midway), "the write lock was held from the first batch to the last"


def test_reading_the_stored_window_before_the_last_transaction_leaves_the_write_lock_free(make_sim, tmp_path):
    """After the last batch, the re-sync reads the ids of every entry stored in its window (300,000 at
    that size, over a second): outside a write transaction, so an offline `start` does not wait for it."""
    env = make_env(make_sim, tmp_path, entries=20)
    seen: list[bool] = []

    def probe(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if not (statement.startswith("SELECT time_entries.id") and "time_entries.start >=" in statement):
            return
        seen.append(_write_lock_free(env.db_path)[0])

    event.listen(env.engine, "before_cursor_execute", probe)
    try:
        env.sync()
    finally:
        event.remove(env.engine, "before_cursor_execute", probe)
    assert seen == [True], "the read of the stored window held the write lock" if seen else "no such read"


@pytest.mark.parametrize("how", ["full", "cold"])
def test_an_interrupted_resync_keeps_its_batches_deletes_nothing_and_the_next_sync_completes_it(
    make_sim, tmp_path, small_batches, how
):
    env = make_env(make_sim, tmp_path, entries=20)
    entries = _server_body(env.sim)
    wrong = entries[15]["id"]  # beyond the part of the body that arrives
    if how == "full":
        env.sync()
        # A cache gone wrong (what `sync --full` is for): same `at`, another description.
        with sqlite3.connect(env.db_path) as conn:
            conn.execute("UPDATE time_entries SET description = 'gone wrong' WHERE id = ?", (wrong,))
        env.store.add_entry("made offline", start=env.ago(hours=2), duration=600)
    before_cursor = env.cursor()
    before_ids = set(env.entries())

    env.sim.faults.add(status=200, method="GET", path="/me/time_entries", raw_body=_cut_after(entries, 10))
    failed = env.sync(SyncOptions(full_entries=how == "full"))
    assert failed.error and "unusable JSON" in failed.error

    stored = set(env.entries())
    assert before_ids <= stored  # nothing deleted, though most of the window never arrived
    assert {e["id"] for e in entries[:2 * BATCH]} <= stored  # the batches before the break are kept
    assert env.cursor() == before_cursor
    if how == "full":
        assert env.entry(wrong)["description"] == "gone wrong"

    env.sim.clock.advance(60)
    done = env.sync()  # an ordinary sync: it does the interrupted re-sync again
    assert done.error is None, done.error
    assert env.cursor() is not None and env.cursor() != before_cursor
    assert {e["id"] for e in entries} <= set(env.entries())
    if how == "full":
        assert env.entry(wrong)["description"] == entries[15]["description"]
        assert [e for e in env.entries().values() if e["description"] == "made offline"]
    env.sync_until_idle()
    assert_local_equals_server(env)


def _paced_env(make_sim, tmp_path, clock):
    """A SyncEnv whose client keeps the default pacing (1 s between request starts) on `clock`."""
    from togglsync.api.client import TogglClient
    from togglsync.api.transport import DirectAuth

    env = make_env(make_sim, tmp_path, entries=20)
    env.client.close()
    env.client = TogglClient(env.sim.url, DirectAuth(env.sim.seed.api_token), min_interval=1.0, retry=env.retry,
                             timeout=(5.0, 10.0), clock=clock)
    return env


def test_a_cold_sync_sends_the_entries_request_beside_the_catalog_without_waiting_for_the_pacing(
    make_sim, tmp_path, clock
):
    # The entries' request does not wait on GET /me's answer being stored: it goes at once
    # (the server builds its long answer meanwhile); the members' request, which needs the
    # workspaces, keeps its turn: one pacing wait in all, not two (issue 13).
    env = _paced_env(make_sim, tmp_path, clock)
    result = env.sync()
    assert result.error is None, result.error
    assert [r.normalized_path for r in env.sim.log.records] == [
        "/me", "/me/time_entries", f"/workspaces/{env.sim.seed.workspace_id}/users"]
    assert result.requests == 3
    assert clock.slept == [pytest.approx(1.0)]
    assert_local_equals_server(env)


def test_a_budget_keeps_the_cold_sync_one_request_at_a_time(make_sim, tmp_path, clock):
    # Under --budget the catalog comes first and alone, paced, so a budget of 1 still stores it.
    env = _paced_env(make_sim, tmp_path, clock)
    env.sync(SyncOptions(budget=1))
    assert [r.normalized_path for r in env.sim.log.records] == ["/me"]
    assert env.entries() == {}
    assert clock.slept == []


def test_an_entries_download_that_fails_beside_the_catalog_fails_the_sync_after_the_catalog_is_stored(
    make_sim, tmp_path
):
    env = make_env(make_sim, tmp_path, entries=20)
    env.sim.faults.add(status=500, method="GET", path="/me/time_entries", count=10)
    failed = env.sync()
    assert failed.error
    assert env.entries() == {} and env.cursor() is None
    with sqlite3.connect(env.db_path) as conn:
        assert conn.execute("SELECT count(*) FROM workspaces").fetchone()[0] >= 1  # the catalog was stored
    env.sim.faults.clear()
    done = env.sync()
    assert done.error is None, done.error
    env.sync_until_idle()
    assert_local_equals_server(env)


def test_the_ids_a_resync_saw_are_sorted_without_a_python_int_for_each():
    """The deletions check sorts every id the answer listed (300,000 at 300,000 entries): as
    8-byte array items, a slice at a time, so a cold sync's peak memory stays flat past
    100,000 entries (`sorted` of them all made a list of 11 MB at 300,000)."""
    import random
    import tracemalloc
    from array import array

    ids = array("q", random.Random(13).sample(range(4_100_000_000, 4_100_400_000), 200_000))
    tracemalloc.start()
    try:
        ordered = pull.sorted_ids(ids)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert list(ordered) == sorted(ids)
    assert peak < 3 * 8 * len(ids), f"{peak / 1e6:.1f} MB to sort {len(ids):,} ids"
