"""Push: the regression scenarios of SYNC-DESIGN.md, bulk edits, rejected operations, lost responses.

Against the simulator over real HTTP; what was sent comes from its request log.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import timedelta

import pytest
import time_machine
from test_sync_support import (
    SyncEnv,
    assert_local_equals_server,
    dump,
    local_states,
    make_env,
)

from togglsync.errors import ExitCode, LockedError
from togglsync import records
from togglsync.local import LocalStore
from togglsync.sync import plan
from togglsync.sync.engine import run_sync, sync_lock

QUOTA_HEADERS = {"X-Toggl-Quota-Remaining": "0", "X-Toggl-Quota-Resets-In": "1800"}
ENTRY_POSTS = "/workspaces/*/time_entries"


def _stopped(env: SyncEnv, n: int = 1) -> list[dict]:
    rows = sorted((e for e in env.entries().values() if e["duration"] >= 0 and e["id"] > 0), key=lambda e: -e["id"])
    return rows[:n]


def _assert_idle(env: SyncEnv) -> None:
    """Nothing left to send; a further sync sends no write and changes no record.

    That sync may still store the server's new `at`/raw of entries a bulk PATCH
    changed (its response has ids only); the one after it writes nothing at all.
    """
    assert env.live_ops() == []
    states = local_states(env)
    env.sim.log.clear()
    result = env.sync()
    assert env.writes() == [], [(r.method, r.normalized_path) for r in env.writes()]
    assert result.requests == 1
    assert local_states(env) == states
    before = env.dump()
    env.sync()
    assert env.writes() == []
    assert env.dump() == before


# --- 1. create applied, response lost, process killed ------------------------------------------


@pytest.mark.parametrize("resource", ["time_entry", "project", "tag"])
def test_1_create_applied_response_lost_then_restart_gives_one_linked_record(env, resource):
    if resource == "time_entry":
        local = env.store.add_entry("lost response", start=env.ago(hours=4), duration=600)
        path, server_list = ENTRY_POSTS, lambda: env.server_entries_described("lost response")
    elif resource == "project":
        local = env.store.create_project("Lost response project")
        path = "/workspaces/*/projects"
        server_list = lambda: [p for p in env.sim.state.all_projects() if p["name"] == "Lost response project"]
    else:
        local = env.store.create_tag("lost-response")
        path = "/workspaces/*/tags"
        server_list = lambda: [t for t in env.sim.state.all_tags() if t["name"] == "lost-response"]
    env.sim.faults.add(method="POST", path=path, drop_response=True)
    env.sync()
    [op] = env.ops()
    assert op["state"] == "in_flight" and op["fingerprint"]
    assert len(server_list()) == 1

    env.reopen()  # the process died; a new one starts
    env.sim.log.clear()
    result = env.sync()
    assert env.sim.log.count("POST") == 0
    assert result.adopted == 1
    [server] = server_list()
    assert env.ops() == []
    if resource == "time_entry":
        assert env.entry(local["id"]) is None and env.entry(server["id"])["description"] == "lost response"
    elif resource == "project":
        assert env.project(local["id"]) is None and env.project(server["id"])["name"] == "Lost response project"
    else:
        assert env.tag(local["id"]) is None and env.tag(server["id"])["name"] == "lost-response"
    assert_local_equals_server(env)
    _assert_idle(env)


def test_1b_create_sent_but_never_applied_is_resent_once_it_would_be_visible(env):
    env.sim.clock.freeze()
    env.store.add_entry("not applied", start=env.ago(hours=4), duration=600)
    env.sim.faults.add(status=502, method="POST", path=ENTRY_POSTS)  # refused before applying
    env.sync()
    assert env.ops()[0]["state"] == "in_flight"
    assert env.server_entries_described("not applied") == []

    env.sim.log.clear()
    env.sync()  # too soon to tell "did not land" from "not visible yet": nothing resent
    assert env.sim.log.count("POST") == 0 and env.ops()[0]["state"] == "in_flight"

    env.sim.clock.advance(plan.VISIBILITY_MARGIN.total_seconds() + 1)
    env.sync()
    assert env.sim.log.count("POST") == 1
    assert len(env.server_entries_described("not applied")) == 1
    assert_local_equals_server(env)
    _assert_idle(env)


def test_1c_a_lost_timer_create_stopped_by_another_device_is_still_recognised(env):
    env.store.stop_timer(env.store.running_entry()["start"] + timedelta(minutes=1))
    env.sync()
    timer = env.store.start_timer("lost running timer", start=env.ago(minutes=30))
    env.sim.faults.add(method="POST", path=ENTRY_POSTS, drop_response=True)
    env.sync()
    assert env.ops()[0]["state"] == "in_flight"
    # Another device starts a timer: Toggl stops ours (it landed) at its own now.
    env.sim.clock.advance(120)
    env.remote_create_entry(description="other device timer", start=records.format_ts(env.ago(seconds=5)), duration=-1)
    [landed] = env.server_entries_described("lost running timer")
    assert landed["duration"] >= 0

    env.sim.log.clear()
    result = env.sync()
    assert env.sim.log.count("POST") == 0 and result.adopted == 1
    assert len(env.server_entries_described("lost running timer")) == 1
    local = env.entry(landed["id"])
    assert local is not None and local["stop"] == records.parse_ts(landed["stop"])
    assert env.entry(timer["id"]) is None
    assert_local_equals_server(env)
    _assert_idle(env)


# --- 2. entry on an offline project ----------------------------------------------------------


def test_2_entry_on_offline_project_is_pushed_in_order_with_its_id_translated(env):
    client = env.store.create_client("Offline client")
    project = env.store.create_project("Offline project", client_id=client["id"])
    entry = env.store.add_entry("on it", start=env.ago(hours=2), duration=60, project_id=project["id"])
    env.sync()
    assert [r.normalized_path.rsplit("/", 1)[-1] for r in env.writes()] == ["clients", "projects", "time_entries"]
    posts = env.sim.log.find("POST")
    server_client_id = next(c["id"] for c in env.sim.state.all_clients() if c["name"] == "Offline client")
    assert posts[1].json["client_id"] == server_client_id
    [server_project] = [p for p in env.sim.state.all_projects() if p["name"] == "Offline project"]
    assert posts[2].json["project_id"] == server_project["id"]
    [server_entry] = env.server_entries_described("on it")
    assert env.entry(server_entry["id"])["project_id"] == server_project["id"]
    assert env.entry(entry["id"]) is None
    assert_local_equals_server(env)
    _assert_idle(env)


def test_2b_entry_waits_while_its_project_create_failed(env):
    project = env.store.create_project("Will fail")
    env.store.add_entry("waits", start=env.ago(hours=2), duration=60, project_id=project["id"])
    env.sim.faults.add(status=403, method="POST", path="/workspaces/*/projects", body="Only admins may create projects in this workspace")
    result = env.sync()
    assert result.failed == 1 and result.blocked == 1 and result.exit_code == ExitCode.FAILED_OPS
    assert env.sim.log.count("POST", ENTRY_POSTS) == 0  # never sent with a null project
    failed = env.ops("failed")
    assert failed[0]["resource"] == "project" and "Only admins" in failed[0]["error"]


# --- 3. duplicate names -------------------------------------------------------------------------


@pytest.mark.parametrize("catalog_refreshed", [False, True])
def test_3_project_create_rejected_as_duplicate_adopts_the_existing_one(env, catalog_refreshed):
    # Made offline; meanwhile another device creates the same names.
    project = env.store.create_project("Shared name")
    tag = env.store.create_tag("shared-tag")
    entry = env.store.add_entry("on shared", start=env.ago(hours=2), duration=60, project_id=project["id"], tag_ids=[tag["id"]])
    remote = env.remote_create_project("shared NAME")
    remote_tag = env.remote_create_tag("Shared-Tag")

    # With a catalog refresh the pull caches the remote ones first: two local rows per name until the push.
    result = env.sync(force_catalog=catalog_refreshed)
    assert result.adopted == 2 and result.failed == 0
    assert [p["id"] for p in env.sim.state.all_projects() if p["name"].casefold() == "shared name"] == [remote["id"]]
    assert [t["id"] for t in env.sim.state.all_tags() if t["name"].casefold() == "shared-tag"] == [remote_tag["id"]]
    [server_entry] = env.server_entries_described("on shared")
    assert server_entry["project_id"] == remote["id"] and server_entry["tag_ids"] == [remote_tag["id"]]
    assert env.project(project["id"]) is None and env.project(remote["id"])["name"] == "shared NAME"
    assert env.tag(tag["id"]) is None and env.tag(remote_tag["id"])["name"] == "Shared-Tag"
    local_entry = env.entry(server_entry["id"])
    assert local_entry["project_id"] == remote["id"] and local_entry["tag_ids"] == [remote_tag["id"]]
    assert local_entry["tags"] == ["Shared-Tag"]
    assert env.entry(entry["id"]) is None
    assert_local_equals_server(env)
    _assert_idle(env)


# --- 4. create -> edit -> delete offline ---------------------------------------------------------


def test_4_create_edit_delete_offline_sends_no_request_at_all(env):
    entry = env.store.add_entry("ephemeral", start=env.ago(hours=2), duration=60)
    env.store.edit_entry(entry["id"], description="still ephemeral", billable=True)
    env.store.delete_entry(entry["id"])
    tag = env.store.create_tag("ephemeral-tag")
    env.store.edit_tag(tag["id"], name="ephemeral-tag-2")
    env.store.delete_tag(tag["id"])
    assert env.ops() == []
    result = env.sync(pull=False)
    assert result.requests == 0 and len(env.sim.log) == 0


# --- 5. server deletes what the user edited ------------------------------------------------------


@pytest.mark.parametrize("seen_by", ["pull", "push"])
def test_5_server_deletes_what_was_edited_offline(env, seen_by):
    [target] = _stopped(env)
    env.store.edit_entry(target["id"], description="my precious edit")
    env.remote_delete_entry(target["id"])
    result = env.sync(pull=(seen_by == "pull"))
    if seen_by == "push":
        assert env.sim.log.count("PUT") == 1  # 404: deleted there
    else:
        assert env.sim.log.count("PUT") == 0
    assert env.entry(target["id"]) is None
    [conflict] = env.conflicts()
    assert (conflict["kind"], conflict["record_id"], conflict["kept"]) == ("deleted_remotely", target["id"], "remote")
    assert conflict["local_value"] == {"description": "my precious edit"}
    assert env.ops() == [] and result.exit_code == ExitCode.OK
    assert_local_equals_server(env)
    _assert_idle(env)


# --- 6. both sides edit --------------------------------------------------------------------------


def test_6a_both_sides_edit_different_fields_and_both_survive(env):
    a, b = _stopped(env, 2)
    tags = env.sim.seed.tag_ids
    env.store.edit_entry(a["id"], description="local description")
    env.remote_update_entry(a["id"], billable=not a["billable"])
    # Tags are a set: an addition on each side, a removal here.
    env.store.edit_entry(b["id"], tag_ids=[tags[0]])
    env.remote_update_entry(b["id"], tag_ids=sorted(set(b["tag_ids"]) | {tags[1]}))
    result = env.sync()
    assert result.conflicts == 0 and env.conflicts() == []
    server_a = env.server_entry(a["id"])
    assert server_a["description"] == "local description" and server_a["billable"] is (not a["billable"])
    assert sorted(env.server_entry(b["id"])["tag_ids"]) == sorted({tags[0], tags[1]})
    assert_local_equals_server(env)
    _assert_idle(env)


@pytest.mark.parametrize("policy", ["local", "remote"])
def test_6b_both_sides_edit_the_same_field_policy_wins_and_a_conflict_is_kept(env, policy):
    [target] = _stopped(env)
    env.store.edit_entry(target["id"], description="mine")
    env.remote_update_entry(target["id"], description="theirs")
    result = env.sync(policy=policy)
    winner = "mine" if policy == "local" else "theirs"
    assert env.server_entry(target["id"])["description"] == winner
    assert env.entry(target["id"])["description"] == winner
    [conflict] = env.conflicts()
    assert (conflict["kind"], conflict["field"], conflict["kept"]) == ("both_changed", "description", policy)
    assert (conflict["base_value"], conflict["local_value"], conflict["remote_value"]) == (target["description"], "mine", "theirs")
    assert result.conflicts == 1
    assert env.sim.log.count("PUT") == (1 if policy == "local" else 0)
    assert_local_equals_server(env)
    _assert_idle(env)


# --- 7. crash between storing and advancing the cursor -------------------------------------------


def test_7_crash_between_storing_and_advancing_the_cursor_replays_to_the_same_database(make_sim, tmp_path):
    sim = make_sim(entries=20, seed=3, quotas=False)
    sim.clock.freeze()
    fixed = sim.clock.now()
    crashed = SyncEnv(sim, tmp_path / "crashed.db")
    clean = SyncEnv(sim, tmp_path / "clean.db")
    try:
        for env in (crashed, clean):
            run_sync(env.engine, env.client, clock=lambda: fixed)
        a, b = _stopped(crashed, 2)
        crashed.remote_update_entry(a["id"], description="changed remotely")
        crashed.remote_delete_entry(b["id"])
        crashed.remote_create_entry(description="created remotely", start=records.format_ts(crashed.ago(hours=1)), duration=60)
        sim.clock.advance(10)
        cursor = crashed.cursor()

        # The response arrives; storing it fails half way (a record the transform rejects).
        good = crashed.client.time_entries(since=plan.since_for(cursor))
        sim.faults.add(status=200, method="GET", path="/me/time_entries", body=good + [{"id": None}])
        stopped = run_sync(crashed.engine, crashed.client, clock=lambda: fixed)
        assert stopped.stopped == "BadResponse" and "malformed time entry record" in stopped.error
        assert crashed.cursor() == cursor
        crashed.reopen()
        run_sync(crashed.engine, crashed.client, clock=lambda: fixed)
        run_sync(clean.engine, clean.client, clock=lambda: fixed)
        tables = ("time_entries", "time_entry_tags", "projects", "tags", "sync_cursors", "pending_operations")
        assert dump(crashed.engine, tables) == dump(clean.engine, tables)
        assert crashed.entry(a["id"])["description"] == "changed remotely" and crashed.entry(b["id"]) is None
    finally:
        crashed.close()
        clean.close()


# --- 8. equal `at` values ---------------------------------------------------------------------------


def test_8_a_remote_change_with_the_same_at_as_our_write_is_not_skipped(env):
    env.sim.clock.freeze()
    a, b = _stopped(env, 2)
    env.store.edit_entry(a["id"], description="our write")
    env.sync()
    our_at = records.parse_ts(env.server_entry(a["id"])["at"])
    assert env.entry(a["id"])["at"] == our_at
    env.remote_update_entry(b["id"], description="their write, same instant")
    with env.sim.state.lock:
        env.sim.state.entries[b["id"]].at = our_at
    env.sync()
    assert env.entry(b["id"])["description"] == "their write, same instant"
    assert_local_equals_server(env)


# --- 9. clock skew --------------------------------------------------------------------------------


@pytest.mark.parametrize("skew_hours", [-2, 2])
def test_9_a_client_clock_two_hours_off_reverts_nothing_and_duplicates_nothing(env, skew_hours):
    frozen = env.sim.clock.freeze()
    a, b = _stopped(env, 2)
    with time_machine.travel(frozen + timedelta(hours=skew_hours), tick=True):
        env.store.edit_entry(a["id"], description="edited on a skewed clock")
        env.sim.clock.advance(30)
        env.remote_update_entry(a["id"], billable=not a["billable"])  # newer on the server's clock
        env.store.add_entry("skewed create", start=env.ago(hours=1), duration=60)
        env.sim.faults.add(method="POST", path=ENTRY_POSTS, drop_response=True)
        env.sync()
        env.sim.clock.advance(5)
        env.reopen()
        env.sync()
        env.remote_update_entry(b["id"], description="remote after our sync")
        env.sync()
    assert env.server_entry(a["id"])["description"] == "edited on a skewed clock"
    assert env.server_entry(a["id"])["billable"] is (not a["billable"])
    assert len(env.server_entries_described("skewed create")) == 1
    assert env.entry(b["id"])["description"] == "remote after our sync"
    assert env.conflicts() == []
    assert_local_equals_server(env)
    _assert_idle(env)


# --- 10. overlapping syncs ---------------------------------------------------------------------------


_HOLDER = """
import sys
from togglsync.sync.engine import sync_lock
with sync_lock(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.readline()
"""


def test_10_a_second_sync_on_the_same_database_exits_cleanly_or_waits(env):
    target = str(env.db_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, target], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(LockedError) as caught, sync_lock(target):
            pytest.fail("got the lock another process holds")
        assert caught.value.exit_code == ExitCode.LOCKED

        waited: dict = {}

        def second() -> None:
            with sync_lock(target, wait=True):
                waited["result"] = run_sync(env.engine, env.new_client())

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(0.2)
        assert thread.is_alive() and "result" not in waited  # waiting for the first
        holder.stdin.write("\n")
        holder.stdin.flush()
        thread.join(10)
        assert not thread.is_alive() and waited["result"].exit_code == ExitCode.OK
    finally:
        holder.kill()
        holder.wait()
    # Released by the kernel when the holder ended: the lock is free again.
    with sync_lock(target):
        pass


# --- 11. quota and rate limit mid-push -------------------------------------------------------------


def _queue_creates(env: SyncEnv, n: int) -> None:
    env.store.create_project("Before the limit")
    for i in range(n):
        env.store.add_entry(f"queued {i}", start=env.ago(hours=10 - i), duration=60)


def _assert_each_pushed_once(env: SyncEnv, n: int) -> None:
    for i in range(n):
        assert len(env.server_entries_described(f"queued {i}")) == 1
    assert [p["name"] for p in env.sim.state.all_projects()].count("Before the limit") == 1


@pytest.mark.parametrize("how", ["fault_402", "fault_429"])
def test_11_quota_or_rate_limit_mid_push_keeps_the_queue_and_the_next_sync_resumes(env, how):
    _queue_creates(env, 4)
    if how == "fault_402":
        env.sim.faults.add(status=402, method="POST", path=ENTRY_POSTS, headers=QUOTA_HEADERS, body="hourly limit")
    else:
        env.sim.faults.add(status=429, method="POST", path=ENTRY_POSTS, count=4)  # outlasts the retries
    result = env.sync()
    assert result.stopped == ("quota" if how == "fault_402" else "rate limit")
    assert result.exit_code == (ExitCode.QUOTA if how == "fault_402" else ExitCode.ERROR)
    assert result.pushed == 1  # the project went before
    ops = env.ops()
    assert len(ops) == 4 and all(op["state"] == "queued" and op["action"] == "create" for op in ops)

    result = env.sync()
    assert result.pushed == 4 and result.stopped is None
    _assert_each_pushed_once(env, 4)
    assert_local_equals_server(env)
    _assert_idle(env)


def test_11b_the_real_hourly_quota_stops_the_push_and_the_next_hour_resumes(make_sim, tmp_path):
    env = make_env(make_sim, tmp_path, quotas=True, org_quota=4)
    try:
        env.sim.clock.freeze()
        env.sync()  # /me (user pool), users (1 of 4), entries (user pool)
        _queue_creates(env, 5)
        result = env.sync()
        assert result.stopped == "quota" and result.exit_code == ExitCode.QUOTA
        assert result.quota[f"workspace:{env.wid}"]["remaining"] == 0
        assert len(env.ops()) == 3  # project + 2 entries went, 3 wait
        assert all(op["state"] == "queued" for op in env.ops())
        env.sim.clock.advance(3601)
        result = env.sync()
        assert result.stopped is None and result.pushed == 3
        _assert_each_pushed_once(env, 5)
        assert_local_equals_server(env)
    finally:
        env.close()


# --- bulk edits -------------------------------------------------------------------------------------


def test_the_same_edit_to_150_entries_goes_as_two_patch_requests(make_sim, tmp_path):
    env = make_env(make_sim, tmp_path, entries=160)
    try:
        env.sync()
        env.sim.log.clear()
        targets = _stopped(env, 150)
        project = env.remote_create_project("Bulk target")["id"]  # on none of them yet
        env.sync(force_catalog=True)
        env.sim.log.clear()
        for e in targets:
            env.store.edit_entry(e["id"], description="bulk renamed", project_id=project)
        result = env.sync()
        assert result.pushed == 150
        patches = env.sim.log.find("PATCH")
        assert [len(r.normalized_path.rsplit("/", 1)[-1].split(",")) for r in patches] == [100, 50]
        assert len(env.writes()) == 2
        assert sorted(patches[0].json, key=lambda op: op["path"]) == [
            {"op": "replace", "path": "/description", "value": "bulk renamed"},
            {"op": "replace", "path": "/project_id", "value": project},
        ]
        for e in targets:
            server = env.server_entry(e["id"])
            assert server["description"] == "bulk renamed" and server["project_id"] == project
        assert_local_equals_server(env)
        _assert_idle(env)
    finally:
        env.close()


def test_a_bulk_patch_partial_failure_parks_only_the_failed_ids(env):
    targets = _stopped(env, 6)
    for e in targets:
        env.store.edit_entry(e["id"], description="bulk with failures")
    deleted, rejected = targets[0]["id"], targets[1]["id"]
    env.remote_delete_entry(deleted)  # after our pull: the PATCH finds it gone
    env.sim.faults.add(
        status=200, apply=True, method="PATCH", path="/workspaces/*/time_entries/*",
        body={"success": [e["id"] for e in targets[2:]], "failure": [
            {"id": deleted, "message": "Time entry not found"},
            {"id": rejected, "message": "Entry is locked for editing"},
        ]},
    )
    result = env.sync(pull=False)
    assert env.sim.log.count("PATCH") == 1 and len(env.writes()) == 1
    assert result.pushed == 4 and result.failed == 1 and result.exit_code == ExitCode.FAILED_OPS
    [failed] = env.ops()
    assert failed["record_id"] == rejected and failed["state"] == "failed"
    assert "Entry is locked for editing" in failed["error"]
    [conflict] = env.conflicts()
    assert conflict["record_id"] == deleted and conflict["kind"] == "deleted_remotely"
    assert env.entry(deleted) is None
    for e in targets[2:]:
        assert env.server_entry(e["id"])["description"] == "bulk with failures"
    env.sim.log.clear()
    env.sync()
    assert env.writes() == []  # a failed operation is not retried by itself
    assert_local_equals_server(env)


# --- rejected creates and unknown outcomes -----------------------------------------------------------


def test_a_400_on_one_create_parks_it_with_the_servers_message_and_the_rest_continue(env):
    bad = env.store.add_entry("refused by Toggl", start=env.ago(hours=6), duration=60)
    env.store.add_entry("before", start=env.ago(hours=5), duration=60)
    env.store.add_entry("after", start=env.ago(hours=3), duration=60)
    [edited] = _stopped(env)
    env.store.edit_entry(edited["id"], description="an update behind it")
    env.sim.faults.add(status=400, method="POST", path=ENTRY_POSTS, body="Description refused for its own reasons")

    result = env.sync()
    assert result.failed == 1 and result.pushed == 3 and result.exit_code == ExitCode.FAILED_OPS
    [failed] = env.ops()
    assert failed["record_id"] == bad["id"] and failed["state"] == "failed"
    assert failed["error"] == "400: Description refused for its own reasons"
    assert any("refused for its own reasons" in f for f in result.failures)
    assert env.server_entries_described("refused by Toggl") == []
    assert len(env.server_entries_described("before")) == 1 and len(env.server_entries_described("after")) == 1
    assert env.server_entry(edited["id"])["description"] == "an update behind it"
    env.sim.log.clear()
    env.sync(force_catalog=True)
    assert env.writes() == []  # parked until the user retries or drops it
    assert_local_equals_server(env)


def test_a_create_on_a_project_deleted_elsewhere_lands_without_it_in_the_same_sync(env):
    doomed_project = env.sim.seed.project_ids[2]
    env.store.add_entry("before", start=env.ago(hours=5), duration=60)
    bad = env.store.add_entry("on a project deleted elsewhere", start=env.ago(hours=4), duration=60, project_id=doomed_project)
    env.remote_delete_project(doomed_project)
    env.sim.log.clear()
    result = env.sync()
    # Refused (400), then one catalog request detaches the dead project and the create goes again.
    assert result.failed == 0 and result.exit_code == ExitCode.OK, result
    assert [r.method for r in env.writes()] == ["POST", "POST", "POST"]
    [landed] = env.server_entries_described("on a project deleted elsewhere")
    assert landed["project_id"] is None and env.entry(landed["id"])["project_id"] is None
    assert env.entry(bad["id"]) is None and env.project(doomed_project) is None
    assert_local_equals_server(env)
    _assert_idle(env)


@pytest.mark.parametrize("resource", ["time_entry", "project"])
def test_a_5xx_after_the_create_was_applied_is_reconciled_without_a_duplicate(env, resource):
    if resource == "time_entry":
        env.store.add_entry("applied then 500", start=env.ago(hours=2), duration=60)
        path = ENTRY_POSTS
        on_server = lambda: env.server_entries_described("applied then 500")
    else:
        project = env.store.create_project("Applied then 500")
        env.store.add_entry("on the 500 project", start=env.ago(hours=2), duration=60, project_id=project["id"])
        path = "/workspaces/*/projects"
        on_server = lambda: [p for p in env.sim.state.all_projects() if p["name"] == "Applied then 500"]
    env.sim.faults.add(status=500, apply=True, method="POST", path=path)
    env.sync()
    assert env.sim.log.count("POST", path) == 1  # a create is never retried blindly
    assert env.ops()[0]["state"] == "in_flight"
    env.sim.log.clear()
    result = env.sync()
    assert result.adopted == 1 and env.sim.log.count("POST", path) == 0
    assert len(on_server()) == 1
    if resource == "project":
        [entry] = env.server_entries_described("on the 500 project")
        assert entry["project_id"] == on_server()[0]["id"]
    assert_local_equals_server(env)
    _assert_idle(env)


def test_a_second_sync_after_a_successful_push_sends_no_write(env):
    a, b, c = _stopped(env, 3)
    project = env.store.create_project("Fresh project", color="#123456")
    tag = env.store.create_tag("fresh-tag")
    env.store.edit_entry(a["id"], description="edited", project_id=project["id"], tag_ids=[tag["id"]])
    env.store.edit_entry(b["id"], start=b["start"] - timedelta(minutes=5))
    env.store.delete_entry(c["id"])
    env.store.add_entry("added", start=env.ago(hours=1), duration=120, tag_ids=[tag["id"]])
    env.store.edit_project(env.sim.seed.project_ids[0], color="#abcdef")
    running = env.store.running_entry()
    env.store.stop_timer(running["start"] + timedelta(minutes=3))
    env.store.start_timer("new timer", project_id=project["id"])
    result = env.sync()
    assert result.failed == 0 and result.blocked == 0 and env.ops() == []
    assert_local_equals_server(env)
    _assert_idle(env)


# --- regressions found by the model test (test_sync_model.py) ----------------------------------


def test_a_tag_renamed_here_but_deleted_there_leaves_the_cached_entries(env):
    entry = next(e for e in env.entries().values() if e["tag_ids"])
    tag_id = entry["tag_ids"][0]
    env.store.edit_tag(tag_id, name="renamed here")
    env.remote_delete_tag(tag_id)  # Toggl strips it from entries without touching their `at`
    env.sync()  # the PUT meets a 404
    assert env.tag(tag_id) is None
    assert tag_id not in env.entry(entry["id"])["tag_ids"]
    [conflict] = env.conflicts()
    assert conflict["kind"] == "deleted_remotely" and conflict["local_value"] == {"name": "renamed here"}
    assert_local_equals_server(env)
    _assert_idle(env)


def test_a_tag_deleted_here_is_stripped_from_entries_pulled_before_the_delete_went_out(env):
    tag_id = env.sim.seed.tag_ids[0]
    env.store.delete_tag(tag_id)
    # Another device tags a new entry with it before our delete reaches Toggl.
    other = env.remote_create_entry(description="tagged elsewhere", start=records.format_ts(env.ago(hours=1)), duration=60, tag_ids=[tag_id])
    env.sync()  # pulls that entry (with the tag), then deletes the tag
    assert env.sim.log.count("DELETE", f"/workspaces/*/tags/{tag_id}") == 1
    assert env.entry(other["id"])["tag_ids"] == [] and env.entry(other["id"])["tags"] == []
    assert_local_equals_server(env)
    _assert_idle(env)


def test_a_lost_create_deleted_here_and_never_landed_leaves_nothing_behind(env):
    entry = env.store.add_entry("never landed", start=env.ago(hours=1), duration=60)
    env.sim.faults.add(status=503, method="POST", path=ENTRY_POSTS)  # refused, not applied
    env.sync()
    env.store.delete_entry(entry["id"])
    assert [(op["action"], op["state"]) for op in env.ops()] == [("create", "in_flight"), ("delete", "queued")]
    env.sim.clock.advance(plan.VISIBILITY_MARGIN.total_seconds() + 1)
    env.sim.log.clear()
    result = env.sync()
    assert env.writes() == [] and env.ops() == [] and result.blocked == 0
    assert env.server_entries_described("never landed") == []


def test_edits_made_while_a_create_was_in_flight_do_not_block_once_it_is_rejected(env):
    project = env.sim.seed.project_ids[0]
    entry = env.store.add_entry("rejected later", start=env.ago(hours=1), duration=60, project_id=project)
    env.sim.faults.add(status=503, method="POST", path=ENTRY_POSTS)
    env.sync()
    env.store.edit_entry(entry["id"], description="edited in flight")
    env.sim.faults.add(status=400, method="POST", path=ENTRY_POSTS, body="Refused for its own reasons")
    env.sim.clock.advance(plan.VISIBILITY_MARGIN.total_seconds() + 1)
    result = env.sync()  # resent, now rejected
    assert result.failed == 1 and result.blocked == 0
    assert [(op["action"], op["state"]) for op in env.ops()] == [("create", "failed")]
    assert env.entry(entry["id"])["description"] == "edited in flight"


def test_a_row_pointing_at_a_deleted_project_does_not_refresh_the_catalog_on_every_sync(env):
    project = env.sim.seed.project_ids[0]
    env.store.add_entry("on a doomed project", start=env.ago(hours=1), duration=60, project_id=project)
    env.remote_delete_project(project)
    env.sync(force_catalog=True)  # the project leaves the cache and our entry loses it, as on Toggl
    assert env.ops() == [] and env.project(project) is None
    [landed] = env.server_entries_described("on a doomed project")
    assert landed["project_id"] is None
    env.sim.log.clear()
    for _ in range(2):
        assert env.sync().requests == 1


def test_a_tag_renamed_here_names_entries_pulled_before_the_rename_went_out(env):
    entry = next(e for e in env.entries().values() if e["tag_ids"] and e["duration"] >= 0)
    tag_id = entry["tag_ids"][0]
    env.store.edit_tag(tag_id, name="renamed here first")
    env.remote_update_entry(entry["id"], description="touched elsewhere")  # comes back with the old tag name
    env.sync()
    assert "renamed here first" in env.entry(entry["id"])["tags"]
    assert_local_equals_server(env)
    _assert_idle(env)


def test_a_start_moved_here_past_a_stop_made_there_is_resolved_not_stored_inconsistent(env):
    running = env.store.running_entry()
    assert running is not None and running["id"] > 0
    later = running["start"] + timedelta(minutes=20)
    # Still running, from a later start (edited once that start has passed: a start is never in the future).
    LocalStore(env.engine, clock=lambda: later + timedelta(minutes=1)).edit_entry(running["id"], start=later)
    env.sim.clock.advance(60)
    env.sim.state.stop_time_entry(env.uid, env.wid, running["id"])  # stopped elsewhere, before that start
    server_stop = records.parse_ts(env.server_entry(running["id"])["stop"])
    assert server_stop < later
    result = env.sync()  # a merged (start, stop) pair with stop < start must never be stored
    assert result.stopped is None
    local = env.entry(running["id"])
    assert local["duration"] == -1 or local["stop"] >= local["start"]
    # The time fields are one value: the policy (local) keeps ours whole, the other is a conflict.
    assert (local["start"], local["stop"], local["duration"]) == (later, None, -1)
    assert {c["field"] for c in env.conflicts()} >= {"stop"}
    assert_local_equals_server(env)
    _assert_idle(env)


def test_deleting_a_record_drops_its_rejected_update(env):
    [target] = _stopped(env)
    project = env.sim.seed.project_ids[0]
    env.store.edit_entry(target["id"], project_id=project)
    env.remote_delete_project(project)
    env.sync(pull=False)  # the PUT is rejected: the project is gone
    assert [(op["action"], op["state"]) for op in env.ops()] == [("update", "failed")]
    env.store.delete_entry(target["id"])
    assert [(op["action"], op["state"]) for op in env.ops()] == [("delete", "queued")]
    env.sync()
    assert env.ops() == [] and env.server_entry(target["id"]) is None


def test_1d_a_lost_create_pulled_by_a_sync_that_stopped_part_way_is_adopted_not_resent(env):
    """Found by the soak: the record a lost create made was stored by a pull that then failed
    (network), left beside the temporary row; a local stop landed on that copy, a record with
    edits is never adopted, and the timer was sent again: two on Toggl, an ambiguous create."""
    env.store.stop_timer(env.store.running_entry()["start"] + timedelta(minutes=1))
    env.sync()
    timer = env.store.start_timer("lost then stopped", start=env.ago(minutes=30))
    env.sim.faults.add(method="POST", path=ENTRY_POSTS, apply=True, drop_response=True)
    env.sync()
    [landed] = env.server_entries_described("lost then stopped")
    assert env.ops()[0]["state"] == "in_flight"

    # The next sync stores the entry, then the hourly catalog refresh is cut off (every retry).
    env.sim.clock.advance(3700)
    env.sim.faults.add(method="GET", path="/me", drop_response=True, count=10)
    stopped = env.sync()
    assert stopped.stopped == "network", stopped
    assert env.entry(timer["id"]) is None, "still two local copies of one timer"
    assert env.ops() == []
    env.sim.faults.clear()

    LocalStore(env.engine, clock=env.sim.clock.now).stop_timer(env.ago(minutes=5))  # an hour on: the server's time
    env.sim.clock.advance(120)
    env.sync()
    assert [e["id"] for e in env.server_entries_described("lost then stopped")] == [landed["id"]]
    assert env.server_entries_described("lost then stopped")[0]["duration"] > 0
    assert_local_equals_server(env)
    _assert_idle(env)
