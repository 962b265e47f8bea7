"""Concurrent changes in the same sync (issue 10, case 6): every value that loses is a conflict.

* An entry's tags go to Toggl as additions and removals relative to the
  operation's base, so a tag another device added between our pull and our
  push survives; an edit that adds and removes tags is still one request.
* A catalog record (tag, project, client) renamed on both sides: the pull of a
  sync pushing a catalog edit looks at the catalog first, and the name that
  loses is a conflict.
* An entry deleted here and edited elsewhere: the remote edit is a conflict;
  the delete wins under the "local" policy, the edit under "remote".

Real database, real simulator over HTTP; "another device" writes straight into
the simulator's state.
"""

from __future__ import annotations

import pytest
from test_sync_support import SyncEnv, assert_local_equals_server, make_env

from togglsync import records
from togglsync.queue import list_conflicts


@pytest.fixture
def env(make_sim, tmp_path):
    env = make_env(make_sim, tmp_path, entries=30)
    env.sync()
    env.sim.log.clear()
    yield env
    env.close()


def _tag_ids(env: SyncEnv) -> list[int]:
    return sorted(t["id"] for t in env.sim.state.all_tags() if t["workspace_id"] == env.wid)


def _stopped_entry(env: SyncEnv, tags: list[int]) -> int:
    """A synced, stopped entry, given exactly these tags (on both sides)."""
    entry_id = next(i for i, e in sorted(env.entries().items()) if i > 0 and e["duration"] >= 0)
    env.remote_update_entry(entry_id, tag_ids=tags)
    env.sync()
    assert env.entry(entry_id)["tag_ids"] == sorted(tags)
    env.sim.log.clear()
    return entry_id


def _server_tags(env: SyncEnv, entry_id: int) -> list[int]:
    return sorted(env.server_entry(entry_id)["tag_ids"] or [])


# --- 1. tags as additions and removals --------------------------------------------------------


def test_a_tag_added_elsewhere_between_our_pull_and_our_push_survives(env):
    mine, theirs, kept = _tag_ids(env)[:3]
    entry_id = _stopped_entry(env, [kept])
    env.store.edit_entry(entry_id, add_tag_ids=[mine])  # offline, on the pulled state
    env.remote_update_entry(entry_id, tag_ids=[theirs], tag_action="add")  # the phone, after our pull
    result = env.sync(pull=False)  # the push meets the phone's change
    assert result.requests == 1 and result.pushed == 1
    assert _server_tags(env, entry_id) == sorted([kept, mine, theirs])
    assert env.entry(entry_id)["tag_ids"] == sorted([kept, mine, theirs])  # Toggl's answer is stored
    assert env.ops() == []
    env.sync()
    assert_local_equals_server(env)


def test_an_edit_adding_and_removing_tags_is_one_request_and_keeps_a_tag_added_elsewhere(env):
    gone, mine, theirs, kept = _tag_ids(env)[:4]
    entry_id = _stopped_entry(env, [gone, kept])
    env.store.edit_entry(entry_id, description="retagged", add_tag_ids=[mine], remove_tag_ids=[gone])
    env.remote_update_entry(entry_id, tag_ids=[theirs], tag_action="add")
    result = env.sync(pull=False)
    assert result.requests == 1 and result.pushed == 1, [(r.method, r.normalized_path) for r in env.sim.log.records]
    server = env.server_entry(entry_id)
    assert _server_tags(env, entry_id) == sorted([kept, mine, theirs])
    assert server["description"] == "retagged"
    assert env.ops() == []
    env.sync()
    assert_local_equals_server(env)


def test_an_edit_moving_the_start_past_the_old_stop_and_retagging_is_one_request(env):
    gone, mine = _tag_ids(env)[:2]
    entry_id = _stopped_entry(env, [gone])
    entry = env.entry(entry_id)
    start = entry["stop"] + (entry["stop"] - entry["start"])  # the entry moves forward, past its old stop
    env.store.edit_entry(entry_id, start=start, duration=600, add_tag_ids=[mine], remove_tag_ids=[gone])
    result = env.sync()
    assert result.requests == 2 and result.pushed == 1 and result.failed == 0, result
    assert _server_tags(env, entry_id) == [mine]
    assert env.server_entry(entry_id)["duration"] == 600
    env.sync()
    assert_local_equals_server(env)


def test_a_description_edit_sends_no_tags(env):
    entry_id = _stopped_entry(env, _tag_ids(env)[:1])
    env.store.edit_entry(entry_id, description="only this")
    env.sim.log.clear()
    assert env.sync().requests == 2
    [put] = env.writes()
    assert put.method == "PUT" and put.json == {"description": "only this"}


def test_the_same_tag_added_to_several_entries_is_one_bulk_patch_of_additions(env):
    tag = _tag_ids(env)[0]
    ids = [i for i, e in sorted(env.entries().items()) if i > 0 and e["duration"] >= 0 and tag not in e["tag_ids"]][:3]
    for entry_id in ids:
        env.store.edit_entry(entry_id, add_tag_ids=[tag])
    result = env.sync()
    assert result.requests == 2
    [patch] = env.writes()
    assert patch.method == "PATCH" and patch.json == [{"op": "add", "path": "/tag_ids", "value": [tag]}]
    env.sync()
    assert_local_equals_server(env)


# --- 2. catalog records renamed on both sides --------------------------------------------------


def _rename_remotely(env: SyncEnv, kind: str, record_id: int, name: str) -> None:
    update = {"tag": env.sim.state.update_tag, "project": env.sim.state.update_project,
              "client": env.sim.state.update_client}[kind]
    update(env.uid, env.wid, record_id, {"name": name})


def _catalog_record(env: SyncEnv, kind: str) -> int:
    listing = {"tag": env.sim.state.all_tags, "project": env.sim.state.all_projects,
               "client": env.sim.state.all_clients}[kind]
    return min(r["id"] for r in listing() if r.get("workspace_id", r.get("wid")) == env.wid)


def _rename_here(env: SyncEnv, kind: str, record_id: int, name: str) -> None:
    if kind == "tag":
        env.store.edit_tag(record_id, name=name)
    elif kind == "project":
        env.store.edit_project(record_id, name=name)
    else:
        env.store.edit_client(record_id, name=name)


def _server_name(env: SyncEnv, kind: str, record_id: int) -> str:
    listing = {"tag": env.sim.state.all_tags, "project": env.sim.state.all_projects,
               "client": env.sim.state.all_clients}[kind]
    return next(r["name"] for r in listing() if r["id"] == record_id)


@pytest.mark.parametrize("kind", ["tag", "project", "client"])
def test_a_catalog_record_renamed_on_both_sides_keeps_ours_and_records_theirs(env, kind):
    record_id = _catalog_record(env, kind)
    _rename_here(env, kind, record_id, "ours")
    _rename_remotely(env, kind, record_id, "theirs")  # within the catalog's max age: no refresh due
    result = env.sync()
    assert result.conflicts == 1
    assert _server_name(env, kind, record_id) == "ours"
    [conflict] = list_conflicts(env.engine)  # what `togglsync conflicts` shows
    assert (conflict["resource"], conflict["record_id"], conflict["kind"], conflict["field"]) == (
        kind, record_id, "both_changed", "name")
    assert (conflict["local_value"], conflict["remote_value"], conflict["kept"]) == ("ours", "theirs", "local")
    assert env.ops() == []
    env.sim.log.clear()
    assert env.sync().requests == 1  # the look at the catalog is paid only while a catalog edit waits


@pytest.mark.parametrize("kind", ["tag", "project"])
def test_a_catalog_rename_on_both_sides_with_the_remote_policy_keeps_theirs(env, kind):
    record_id = _catalog_record(env, kind)
    _rename_here(env, kind, record_id, "ours")
    _rename_remotely(env, kind, record_id, "theirs")
    result = env.sync(policy="remote")
    assert result.conflicts == 1
    assert _server_name(env, kind, record_id) == "theirs"
    [conflict] = env.conflicts()
    assert (conflict["local_value"], conflict["remote_value"], conflict["kept"]) == ("ours", "theirs", "remote")
    assert_local_equals_server(env)


# --- 3. deleted here, edited elsewhere ---------------------------------------------------------


def test_an_entry_deleted_here_and_edited_elsewhere_records_the_edit_and_the_delete_wins(env):
    entry_id = next(i for i, e in sorted(env.entries().items()) if i > 0 and e["duration"] >= 0)
    env.store.delete_entry(entry_id)
    env.remote_update_entry(entry_id, description="edited on the phone")
    result = env.sync()
    assert result.conflicts == 1
    assert env.server_entry(entry_id) is None and env.entry(entry_id) is None
    [conflict] = list_conflicts(env.engine)
    assert (conflict["resource"], conflict["record_id"], conflict["kind"], conflict["kept"]) == (
        "time_entry", entry_id, "deleted_locally", "local")
    assert conflict["remote_value"] == {"description": "edited on the phone"}
    assert env.ops() == []
    assert env.sync().conflicts == 0
    assert len(env.conflicts()) == 1
    assert_local_equals_server(env)


def test_an_entry_deleted_here_and_edited_elsewhere_survives_with_the_remote_policy(env):
    entry_id = next(i for i, e in sorted(env.entries().items()) if i > 0 and e["duration"] >= 0)
    env.store.delete_entry(entry_id)
    env.remote_update_entry(entry_id, description="edited on the phone")
    result = env.sync(policy="remote")
    assert result.conflicts == 1
    assert env.server_entry(entry_id)["description"] == "edited on the phone"
    assert env.entry(entry_id)["description"] == "edited on the phone"
    [conflict] = env.conflicts()
    assert (conflict["kind"], conflict["kept"]) == ("deleted_locally", "remote")
    assert env.ops() == []
    assert_local_equals_server(env)


def test_an_entry_deleted_here_and_untouched_elsewhere_is_no_conflict(env):
    entry_id = next(i for i, e in sorted(env.entries().items()) if i > 0 and e["duration"] >= 0)
    env.store.delete_entry(entry_id)
    result = env.sync()
    assert result.conflicts == 0 and env.server_entry(entry_id) is None
    assert result.requests == 2


def test_keeping_the_remote_edit_of_an_entry_deleted_here_brings_it_back(env):
    from togglsync.queue import resolve_conflict

    entry_id = next(i for i, e in sorted(env.entries().items()) if i > 0 and e["duration"] >= 0)
    start = env.entry(entry_id)["start"]
    env.store.delete_entry(entry_id)
    env.remote_update_entry(entry_id, description="edited on the phone")
    env.sync()
    [conflict] = env.conflicts()
    assert "Re-created" in resolve_conflict(env.engine, conflict["id"], "remote")
    env.sync()
    [back] = env.server_entries_described("edited on the phone")
    assert back["id"] != entry_id and records.parse_ts(back["start"]) == start
    assert env.ops() == []
    assert_local_equals_server(env)
