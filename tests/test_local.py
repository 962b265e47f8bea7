"""LocalStore: offline edits, the outbox they write, coalescing, and what reaches Toggl.

Every test starts from a database filled by one real sync against the
simulator; what the push sends is read from the simulator's request log.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from test_sync_support import SyncEnv

from togglsync.db.models import PendingOperation, TimeEntry
from togglsync.errors import UsageError
from togglsync.local import LocalStore
from togglsync import records


def _stopped_server_entry(env: SyncEnv) -> dict:
    entries = [e for e in env.entries().values() if e["duration"] >= 0 and e["id"] > 0]
    return max(entries, key=lambda e: e["start"])


def _running(env: SyncEnv) -> dict:
    return env.store.running_entry()


# --- one transaction: the row and its operation ----------------------------------------------


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_an_edit_writes_its_row_and_its_operation_together(env):
    entry = env.store.add_entry("offline work", start=records.parse_ts("2026-01-05T09:00:00Z"), duration=3600)
    assert entry["id"] < 0
    [op] = env.ops()
    assert (op["resource"], op["action"], op["record_id"], op["state"]) == ("time_entry", "create", entry["id"], "queued")
    assert op["workspace_id"] == env.wid

    # Make the outbox refuse writes: the row must not be written without it.
    with env.engine.begin() as conn:
        conn.execute(text(
            "CREATE TRIGGER refuse_ops BEFORE INSERT ON pending_operations BEGIN SELECT RAISE(ABORT, 'outbox down'); END"
        ))
    before = env.dump()
    target = _stopped_server_entry(env)
    with pytest.raises(DatabaseError):
        env.store.add_entry("never stored", start=records.parse_ts("2026-01-06T09:00:00Z"), duration=60)
    with pytest.raises(DatabaseError):
        env.store.edit_entry(target["id"], description="never stored either")
    with pytest.raises(DatabaseError):
        env.store.create_project("Never stored")
    assert env.dump() == before
    with env.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER refuse_ops"))


# --- coalescing ---------------------------------------------------------------------------------


def test_create_then_edits_is_one_create_with_the_final_values(env):
    entry = env.store.add_entry("draft", start=records.parse_ts("2026-01-05T09:00:00Z"), duration=600)
    env.store.edit_entry(entry["id"], description="final")
    env.store.edit_entry(entry["id"], stop=records.parse_ts("2026-01-05T10:00:00Z"), billable=True)
    [op] = env.ops()
    assert op["action"] == "create"

    env.sync()
    posts = env.sim.log.find("POST", "/workspaces/*/time_entries")
    assert len(env.writes()) == 1 and len(posts) == 1
    body = posts[0].json
    assert body["description"] == "final"
    assert body["stop"] == "2026-01-05T10:00:00Z" and body["duration"] == 3600 and body["billable"] is True
    [server] = env.server_entries_described("final")
    assert env.entry(server["id"])["description"] == "final"
    assert env.ops() == []


def test_edit_then_edit_is_one_update_of_only_the_changed_fields(env):
    target = _stopped_server_entry(env)
    env.store.edit_entry(target["id"], description="first")
    env.store.edit_entry(target["id"], description="second", billable=not target["billable"])
    [op] = env.ops()
    assert op["action"] == "update"
    assert op["base"]["description"] == target["description"]  # the server's version, not "first"

    env.sync()
    puts = env.sim.log.find("PUT")
    assert len(env.writes()) == 1 and len(puts) == 1
    assert puts[0].json == {"description": "second", "billable": not target["billable"]}
    assert env.server_entry(target["id"])["description"] == "second"
    assert env.ops() == []


def test_create_then_delete_never_sent_leaves_nothing_and_sends_nothing(env):
    entry = env.store.add_entry("oops", start=records.parse_ts("2026-01-05T09:00:00Z"), duration=60)
    env.store.edit_entry(entry["id"], description="oops again")
    env.store.delete_entry(entry["id"])
    assert env.ops() == []
    assert env.entry(entry["id"]) is None

    project = env.store.create_project("Short-lived")
    env.store.delete_project(project["id"])
    assert env.ops() == [] and env.project(project["id"]) is None

    result = env.sync()
    assert env.writes() == []
    assert result.requests == 1  # the incremental entry pull, nothing else


def test_edit_then_delete_is_one_delete(env):
    target = _stopped_server_entry(env)
    env.store.edit_entry(target["id"], description="doomed")
    env.store.delete_entry(target["id"])
    [op] = env.ops()
    assert op["action"] == "delete" and op["record_id"] == target["id"]
    assert env.entry(target["id"]) is None

    env.sync()
    assert [(r.method, r.normalized_path) for r in env.writes()] == [
        ("DELETE", f"/workspaces/{env.wid}/time_entries/{target['id']}")
    ]
    assert env.server_entry(target["id"]) is None
    assert env.ops() == []


# --- timers -------------------------------------------------------------------------------------


def test_timer_started_and_stopped_offline_is_one_create_with_the_offline_stop(env):
    env.store.stop_timer(env.store.running_entry()["start"] + timedelta(minutes=5))  # the seeded timer
    env.sync()
    env.sim.log.clear()

    start = records.parse_ts(env.sim.clock.now().isoformat()).replace(microsecond=0) - timedelta(hours=3)
    stop = start + timedelta(minutes=47, seconds=13)
    store = LocalStore(env.engine, clock=lambda: start)
    timer = store.start_timer("offline timer")
    assert timer["duration"] == -1 and timer["stop"] is None
    LocalStore(env.engine, clock=lambda: stop).stop_timer()
    [op] = env.ops()
    assert op["action"] == "create"

    env.sync()
    [post] = env.sim.log.find("POST")
    assert len(env.writes()) == 1
    assert post.json["stop"] == records.format_ts(stop) and post.json["duration"] == 2833
    [server] = env.server_entries_described("offline timer")
    assert records.parse_ts(server["stop"]) == stop  # not the push time
    assert server["duration"] == 2833
    local = env.entry(server["id"])
    assert (local["start"], local["stop"], local["duration"]) == (start, stop, 2833)


def test_starting_a_timer_stops_the_running_one_at_the_new_start(env):
    running = _running(env)
    assert running is not None and running["id"] > 0  # the seeded timer, synced
    new_start = running["start"] + timedelta(minutes=20)
    # Timers start no later than now: a clock an hour after the seeded timer's start.
    store = LocalStore(env.engine, clock=lambda: running["start"] + timedelta(hours=1))
    timer = store.start_timer("next task", start=new_start)

    stopped = env.entry(running["id"])
    assert stopped["stop"] == new_start and stopped["duration"] == 1200
    assert _running(env)["id"] == timer["id"]
    assert [op["action"] for op in env.ops()] == ["update", "create"]

    # Both offline: the first offline timer is stopped inside its queued create.
    second_start = new_start + timedelta(minutes=10)
    store.start_timer("third task", start=second_start)
    assert [op["action"] for op in env.ops()] == ["update", "create", "create"]
    assert env.entry(timer["id"])["stop"] == second_start

    env.sync()
    server_old = env.server_entry(running["id"])
    assert records.parse_ts(server_old["stop"]) == new_start
    [server_first] = env.server_entries_described("next task")
    assert records.parse_ts(server_first["stop"]) == second_start and server_first["duration"] == 600
    [server_second] = env.server_entries_described("third task")
    assert server_second["duration"] < 0 and server_second["stop"] is None
    assert _running(env)["id"] == server_second["id"]
    assert env.ops() == []

    with pytest.raises(UsageError):  # a start before the running timer's start
        store.start_timer("too early", start=second_start - timedelta(minutes=1))


# --- in flight ----------------------------------------------------------------------------------


def test_an_operation_in_flight_is_never_modified(env):
    entry = env.store.add_entry("in flight", start=records.parse_ts("2026-01-05T09:00:00Z"), duration=900)
    env.sim.faults.add(method="POST", path="/workspaces/*/time_entries", drop_response=True)
    env.sync()
    [op] = env.ops()
    assert op["state"] == "in_flight" and op["record_id"] == entry["id"]
    assert len(env.server_entries_described("in flight")) == 1  # it landed; we do not know yet

    env.store.edit_entry(entry["id"], description="edited while in flight")
    ops = env.ops()
    assert ops[0] == op  # untouched
    assert [(o["action"], o["state"]) for o in ops] == [("create", "in_flight"), ("update", "queued")]
    assert ops[1]["base"]["description"] == "in flight"

    env.sim.log.clear()
    env.sync()
    assert env.sim.log.count("POST") == 0  # reconciled, not resent
    assert env.server_entries_described("in flight") == []
    [server] = env.server_entries_described("edited while in flight")
    assert env.entry(server["id"])["description"] == "edited while in flight"
    assert env.ops() == []


# --- references to offline records -----------------------------------------------------------


def test_entries_can_use_an_offline_project_and_offline_tags(env):
    project = env.store.create_project("Offline project", color="#112233")
    tag_a = env.store.create_tag("offline-a")
    tag_b = env.store.create_tag("offline-b")
    seeded_tag = env.sim.seed.tag_ids[0]
    entry = env.store.add_entry(
        "on offline things", start=records.parse_ts("2026-01-05T09:00:00Z"), duration=1800,
        project_id=project["id"], tag_ids=[tag_a["id"], tag_b["id"], seeded_tag],
    )
    assert project["id"] < 0 and tag_a["id"] < 0 and entry["project_id"] == project["id"]
    assert sorted(entry["tags"]) == sorted(["offline-a", "offline-b", env.tag(seeded_tag)["name"]])

    env.sync()
    paths = [r.normalized_path.rsplit("/", 1)[-1] for r in env.writes()]
    assert paths == ["projects", "tags", "tags", "time_entries"]
    [server_project] = [p for p in env.sim.state.all_projects() if p["name"] == "Offline project"]
    server_tags = {t["name"]: t["id"] for t in env.sim.state.all_tags()}
    [server_entry] = env.server_entries_described("on offline things")
    assert server_entry["project_id"] == server_project["id"]
    assert sorted(server_entry["tag_ids"]) == sorted([server_tags["offline-a"], server_tags["offline-b"], seeded_tag])
    local = env.entry(server_entry["id"])
    assert local["project_id"] == server_project["id"]
    assert sorted(local["tag_ids"]) == sorted(server_entry["tag_ids"])
    assert env.project(server_project["id"])["name"] == "Offline project"
    with env.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM time_entry_tags WHERE time_entry_id = :i"), {"i": local["id"]}).scalar() == 3
        assert conn.execute(text("SELECT count(*) FROM time_entry_tags WHERE tag_id < 0")).scalar() == 0
    assert env.ops() == []


# --- bad input ----------------------------------------------------------------------------------


def test_bad_input_raises_usage_error_and_changes_nothing(env):
    target = _stopped_server_entry(env)
    running = _running(env)
    start = records.parse_ts("2026-01-05T09:00:00Z")
    before = env.dump()
    bad = [
        lambda: env.store.add_entry("x", start=start, stop=start - timedelta(seconds=1)),
        lambda: env.store.add_entry("x", start=start, stop=start + timedelta(seconds=5), duration=60),
        lambda: env.store.add_entry("x", start=start),
        lambda: env.store.add_entry("x", start=start, duration=60, project_id=123456789),
        lambda: env.store.add_entry("x", start=start, duration=60, tag_ids=[987654321]),
        lambda: env.store.start_timer("x", project_id=123456789),
        lambda: env.store.edit_entry(target["id"], stop=target["start"] - timedelta(minutes=1)),
        lambda: env.store.edit_entry(target["id"], description="half", project_id=123456789),
        lambda: env.store.edit_entry(target["id"], description="half", tag_ids=[987654321]),
        lambda: env.store.edit_entry(-999, description="no such entry"),
        lambda: env.store.stop_timer(running["start"] - timedelta(seconds=1)),
        lambda: env.store.create_project(env.project(env.sim.seed.project_ids[0])["name"].upper()),
        lambda: env.store.create_tag("   "),
        lambda: env.store.edit_project(env.sim.seed.project_ids[0], nonsense=1),
        lambda: env.store.delete_entry(-999),
    ]
    for call in bad:
        with pytest.raises(UsageError):
            call()
        assert env.dump() == before

    env.store.stop_timer(running["start"] + timedelta(minutes=1))
    after_stop = env.dump()
    with pytest.raises(UsageError):
        env.store.stop_timer()  # nothing runs any more
    assert env.dump() == after_stop
    assert env.count(PendingOperation) == 1 and env.count(TimeEntry) == len(before["time_entries"])


def test_a_record_whose_create_was_rejected_can_be_fixed_or_deleted(env):
    project = env.sim.seed.project_ids[3]
    entry = env.store.add_entry("rejected create", start=env.ago(hours=2), duration=60, project_id=project)
    doomed = env.store.add_entry("rejected, then deleted", start=env.ago(hours=3), duration=60, project_id=project)
    # Refused for a reason a catalog refresh cannot fix (a dead reference would be detached and sent again).
    env.sim.faults.add(status=400, method="POST", path="/workspaces/*/time_entries", body="Refused here", count=2)
    result = env.sync()
    assert result.failed == 2
    assert [(op["action"], op["state"]) for op in env.ops()] == [("create", "failed")] * 2

    # Fixing the row does not queue an update nobody can send: the create carries it when retried.
    env.store.edit_entry(entry["id"], project_id=None, description="fixed")
    # Deleting a record the server never accepted needs no request.
    env.store.delete_entry(doomed["id"])
    ops = env.ops()
    assert [(op["action"], op["state"], op["record_id"]) for op in ops] == [("create", "failed", entry["id"])]
    assert env.entry(doomed["id"]) is None

    from togglsync.queue import retry_operation

    retry_operation(env.engine, ops[0]["id"])
    env.sim.log.clear()
    result = env.sync()
    assert result.failed == 0 and env.ops() == []
    assert [r.method for r in env.writes()] == ["POST"]
    [server] = env.server_entries_described("fixed")
    assert server["project_id"] is None
    assert env.server_entries_described("rejected, then deleted") == []


def test_names_are_unique_case_insensitively_beyond_ascii(tmp_path):
    from togglsync.db.open import open_database
    from togglsync.db.models import Account
    from togglsync.errors import UsageError
    from togglsync.local import LocalStore
    from datetime import datetime, timezone

    engine = open_database(tmp_path / "t.db")
    with engine.begin() as conn:
        conn.execute(Account.__table__.insert().values(id=1, default_workspace_id=10, synced_at=datetime.now(timezone.utc)))
    store = LocalStore(engine)
    store.create_client("Société Générale")
    with pytest.raises(UsageError, match="already exists"):
        store.create_client("SOCIÉTÉ GÉNÉRALE")


def test_dropping_a_create_takes_its_row_and_everything_queued_behind_it(env):
    from togglsync.queue import drop_operation

    project = env.store.create_project("dropped offline")
    entry = env.store.add_entry("on it", start=records.parse_ts("2026-01-05T09:00:00Z"), duration=60,
                                project_id=project["id"])
    [create] = [op for op in env.ops() if op["resource"] == "project"]
    drop_operation(env.engine, create["id"])
    # The project is gone; the entry lost its reference, and nothing queued names the project.
    assert all(op["record_id"] != project["id"] for op in env.ops())
    assert env.entry(entry["id"])["project_id"] is None
    env.sim.log.clear()
    result = env.sync()
    assert result.failed == 0 and result.blocked == 0 and env.ops() == []
    assert [r.path.rsplit("/", 1)[-1] for r in env.writes()] == ["time_entries"]


@pytest.mark.parametrize("call", [
    lambda s: s.create_project("tab\there"),
    lambda s: s.create_client("x" * 256),
    lambda s: s.create_tag("   "),
    lambda s: s.create_project("ok name", color="blue"),
    lambda s: s.add_entry("d" * 3001, start=records.parse_ts("2026-01-05T09:00:00Z"), duration=60),
])
def test_the_python_api_validates_what_the_cli_validates(env, call):
    before = env.dump()
    with pytest.raises(UsageError):
        call(env.store)
    assert env.dump() == before
