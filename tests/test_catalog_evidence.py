"""A catalog deletion needs positive evidence (issue 10, case 1).

One answer to GET /me?with_related_data=true that lacks projects, clients, tags
or workspaces (null, [], or one record missing: a gateway hiccup, access lost
for a moment) must not delete them locally, strip them from cached entries, or
make a queued edit send `project_id: null` to Toggl. The sync looks again
(one listing per kind and workspace concerned) and deletes only what that
does not list either. Real database, real simulator over HTTP.
"""

from __future__ import annotations

import pytest
from test_sync_support import SyncEnv, assert_local_equals_server

from togglsync.sync.engine import SyncOptions

FULL = SyncOptions(force_catalog=True)
DATA = ("workspaces", "clients", "projects", "tags", "time_entries", "time_entry_tags", "pending_operations")


def _me_answer(env: SyncEnv, **changes: object) -> dict:
    """What GET /me?with_related_data=true answers now, with some lists replaced."""
    me = env.new_client().me(with_related_data=True)
    env.sim.log.clear()
    me.update(changes)
    return me


def _busiest_project(env: SyncEnv) -> int:
    counts: dict[int, int] = {}
    for e in env.entries().values():
        if e["project_id"]:
            counts[e["project_id"]] = counts.get(e["project_id"], 0) + 1
    return max(counts, key=counts.__getitem__)


def _links(env: SyncEnv) -> dict[int, tuple[int | None, list[int]]]:
    return {i: (e["project_id"], e["tag_ids"]) for i, e in env.entries().items()}


@pytest.mark.parametrize("bad", [None, []], ids=["null", "empty"])
@pytest.mark.parametrize("field", ["projects", "tags", "clients", "workspaces"])
def test_a_catalog_answer_lacking_a_whole_list_deletes_nothing(env, field, bad):
    before, links = env.dump(DATA), _links(env)
    env.sim.faults.add(status=200, method="GET", path="/me", body=_me_answer(env, **{field: bad}))
    result = env.sync(FULL)
    assert result.stopped is None, result
    assert sum(result.deleted.values()) == 0
    assert _links(env) == links
    assert env.dump(DATA) == before
    assert_local_equals_server(env)


def test_one_project_missing_from_the_answer_is_kept_and_a_queued_edit_sends_no_project_change(env):
    project_id = _busiest_project(env)
    entry_id = next(i for i, e in env.entries().items() if e["project_id"] == project_id and e["duration"] >= 0)
    env.store.edit_entry(entry_id, description="only the description changed")
    me = _me_answer(env)
    me["projects"] = [p for p in me["projects"] if p["id"] != project_id]
    env.sim.faults.add(status=200, method="GET", path="/me", body=me)

    env.sync(FULL)
    assert env.project(project_id) is not None
    assert env.entry(entry_id)["project_id"] == project_id
    server = env.server_entry(entry_id)
    assert server["description"] == "only the description changed"
    assert server["project_id"] == project_id
    # The second look: one listing of the workspace's projects, nothing more.
    assert _listings(env) == [f"/workspaces/{env.wid}/projects"]
    assert_local_equals_server(env)


def test_a_project_really_deleted_is_still_deleted_with_one_request_more(env):
    project_id = _busiest_project(env)
    env.remote_delete_project(project_id)
    env.sim.log.clear()
    result = env.sync(FULL)
    assert env.project(project_id) is None
    assert result.deleted.get("projects") == 1
    assert _listings(env) == [f"/workspaces/{env.wid}/projects"]
    assert_local_equals_server(env)


def test_a_refresh_with_nothing_missing_looks_no_further(env):
    before = env.sync(FULL).requests
    assert _listings(env) == []
    env.sim.log.clear()
    assert env.sync(FULL).requests == before


def _listings(env: SyncEnv) -> list[str]:
    """The second looks the sync made: listings of a kind, for the account or a workspace."""
    ends = ("/projects", "/clients", "/tags", "/me/workspaces")
    return [r.normalized_path for r in env.sim.log.records if r.method == "GET" and r.normalized_path.endswith(ends)]


def test_a_stale_snapshot_never_takes_a_record_back_to_an_older_version(env):
    """An eventually consistent read, or a snapshot built before our own write, is older than
    what we stored: the rename pushed here stays, no edit is queued to 'restore' it."""
    stale = _me_answer(env)
    tag = stale["tags"][0]
    project = stale["projects"][0]
    env.store.edit_tag(tag["id"], name="renamed here")
    env.store.edit_project(project["id"], name="Renamed here")
    env.sync()
    assert env.live_ops() == []
    env.sim.faults.add(status=200, method="GET", path="/me", body=stale)
    env.sync(FULL)
    assert env.tag(tag["id"])["name"] == "renamed here"
    assert env.project(project["id"])["name"] == "Renamed here"
    assert env.live_ops() == []
    env.sync(FULL)
    assert_local_equals_server(env)
