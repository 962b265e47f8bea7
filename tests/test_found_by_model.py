"""Regressions found by the randomized suites (the sync model, the soak), each reduced to a few steps.

Real database, real simulator over HTTP, as tests/test_sync_push.py.
"""

from __future__ import annotations

import pytest

from test_sync_support import SyncEnv

from togglsync import records


def _entry_with_unsorted_tags(env: SyncEnv) -> tuple[int, list[int]]:
    """Another device creates an entry whose tags are not in ascending id order; a sync pulls it."""
    low, high = sorted(env.sim.seed.tag_ids[:2])
    record = env.remote_create_entry(description="two tags", start=records.format_ts(env.ago(hours=3)),
                                     duration=600, tag_ids=[high, low])
    assert record["tag_ids"] == [high, low]
    env.sync()
    return record["id"], [high, low]


def _assert_same_tags_as_server(env: SyncEnv, entry_id: int, order: list[int]) -> None:
    """The server's tags, in our order (by id), names alongside; the row equals a cold sync's."""
    assert env.live_ops() == []
    server = env.server_entry(entry_id)
    assert server["tag_ids"] == order
    names = dict(zip(server["tag_ids"], server["tags"]))
    local = env.entry(entry_id)
    assert (local["tag_ids"], local["tags"]) == (sorted(order), [names[t] for t in sorted(order)])
    cold = SyncEnv(env.sim, env.db_path.with_name("cold.db"))
    try:
        cold.sync()
        assert _tags(cold) == _tags(env)
    finally:
        cold.close()


def _tags(env: SyncEnv) -> dict[int, tuple[list[int], list[str]]]:
    return {e["id"]: (e["tag_ids"], e["tags"]) for e in env.entries().values() if e["id"] > 0}


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_a_pulled_entry_stores_its_tags_in_our_order(env):
    entry_id, order = _entry_with_unsorted_tags(env)
    _assert_same_tags_as_server(env, entry_id, order)


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_a_merged_pending_edit_leaves_the_tags_as_a_cold_sync_would(env):
    entry_id, order = _entry_with_unsorted_tags(env)
    # The same edit here (offline) and there: the pull merges it into the pending operation, which settles.
    env.store.edit_entry(entry_id, billable=True)
    env.sim.clock.advance(61)
    env.remote_update_entry(entry_id, billable=True)
    env.sync()
    _assert_same_tags_as_server(env, entry_id, order)


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_an_offline_edit_naming_the_same_tags_leaves_them_as_a_cold_sync_would(env):
    entry_id, order = _entry_with_unsorted_tags(env)
    env.store.edit_entry(entry_id, tag_ids=order)
    env.sync()
    _assert_same_tags_as_server(env, entry_id, order)
