"""Regressions found by the randomized suites (the sync model, the soak), each reduced to a few steps.

Real database, real simulator over HTTP, as tests/test_sync_push.py.
"""

from __future__ import annotations

import pytest

from test_sync_support import SyncEnv, assert_local_equals_server

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


def _tag_made_on_both_devices(env: SyncEnv) -> tuple[int, int, int]:
    """A tag made here offline ("shared", not pushed yet) and an offline entry tagged with it;
    another device makes a tag of the same name. Returns (local tag, offline entry, Toggl's tag)."""
    tag = env.store.create_tag("shared")
    entry = env.store.add_entry("offline", start=env.ago(hours=2), duration=600, tag_ids=[tag["id"]])
    theirs = env.remote_create_tag("shared")
    env.sim.clock.advance(61)
    return tag["id"], entry["id"], theirs["id"]


def _assert_tags_agree_with_server(env: SyncEnv, entry_ids: list[int], tag_id: int) -> None:
    """After the push adopted Toggl's tag (its create answered 400, name taken): each entry's tag
    ids and names agree with each other and with the server's."""
    env.sync()  # anything a first sync left
    assert env.live_ops() == [] and env.ops("failed") == []
    assert env.tag(tag_id)["name"] == "shared"
    for entry_id in entry_ids:
        server, local = env.server_entry(entry_id), env.entry(entry_id)
        assert server is not None and local is not None, entry_id
        assert (local["tag_ids"], local["tags"]) == (server["tag_ids"], server["tags"]) == ([tag_id], ["shared"])
    assert_local_equals_server(env)


def test_a_tag_adopted_after_name_taken_names_an_entry_pulled_before_its_catalog_knew_it(env):
    """The model test's divergence: an entry edited here is edited the same way on another
    device, which also tags it with its new tag; the pull's catalog answer comes from before
    that tag was made (a race between GET /me and GET /me/time_entries), so the merged entry
    was named without it. The push then adopts Toggl's tag for ours (name taken): the entry's
    names must follow its ids."""
    existing = next(e for e in env.entries().values() if e["id"] > 0 and e["stop"] is not None and not e["tag_ids"])
    env.store.edit_entry(existing["id"], billable=not existing["billable"])
    before = env.sim.state.me(env.uid, with_related_data=True)
    _, _, theirs = _tag_made_on_both_devices(env)
    env.remote_update_entry(existing["id"], tag_ids=[theirs], billable=not existing["billable"])
    env.sim.faults.add(status=200, method="GET", path="/me", body=before, count=1)
    env.sim.clock.advance(61)
    result = env.sync()
    assert result.exit_code == 0 and result.adopted == 1, result.summary()
    _assert_tags_agree_with_server(env, [existing["id"], _pushed(env, "offline")], theirs)


def test_an_entry_holding_both_our_tag_and_the_one_toggl_has_under_its_name_keeps_one(env):
    """The same tag put on one entry here (our new tag) and on another device (theirs, same
    name): the merge keeps both ids until the push adopts theirs for ours; then the entry
    holds it once (it stopped the sync with a UNIQUE constraint error on time_entry_tags)."""
    existing = next(e for e in env.entries().values() if e["id"] > 0 and e["stop"] is not None and not e["tag_ids"])
    tag_id, _, theirs = _tag_made_on_both_devices(env)
    env.store.edit_entry(existing["id"], tag_ids=[tag_id])
    env.remote_update_entry(existing["id"], tag_ids=[theirs])
    env.sim.clock.advance(61)
    result = env.sync()
    assert result.exit_code == 0, result.summary()
    _assert_tags_agree_with_server(env, [existing["id"], _pushed(env, "offline")], theirs)


def _pushed(env: SyncEnv, description: str) -> int:
    (entry_id,) = [e["id"] for e in env.entries().values() if e["description"] == description]
    assert entry_id > 0
    return entry_id
