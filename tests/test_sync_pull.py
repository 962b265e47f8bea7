"""Pull: request counts, budgets, remote deletions, cursors, full re-syncs, clock skew.

Against the simulator over real HTTP; request counts come from its log.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select, update
from test_sync_support import SyncEnv, assert_local_equals_server, make_env, utc

from togglsync.db.models import SyncCursor, TimeEntry, TimeEntryTag
from togglsync import records as rec
from togglsync.sync import plan
from togglsync.sync.apply import apply_records
from togglsync.sync.engine import SyncOptions, run_sync


@pytest.fixture
def env(make_sim, tmp_path):
    env = make_env(make_sim, tmp_path, entries=30)
    yield env
    env.close()


def _synced(env: SyncEnv) -> SyncEnv:
    env.sync()
    env.sim.log.clear()
    return env


def _tagged_entry(env: SyncEnv) -> dict:
    return next(e for e in env.entries().values() if e["tag_ids"] and e["id"] > 0)


# --- request counts ---------------------------------------------------------------------------


def test_cold_sync_of_one_workspace_is_cheap_and_complete(env):
    result = env.sync()
    assert result.requests == len(env.sim.log) <= 8
    assert len(env.sim.log) == 3  # /me with related data, workspace users, entries
    assert result.exit_code == 0 and result.stopped is None
    assert_local_equals_server(env)
    assert env.count(TimeEntry) == 30


def test_a_sync_with_nothing_new_costs_exactly_one_request(env):
    _synced(env)
    before = env.dump()
    for _ in range(3):
        result = env.sync()
        assert result.requests == 1
    assert [r.normalized_path for r in env.sim.log.records] == ["/me/time_entries"] * 3
    assert env.dump() == before


# --- the request budget ---------------------------------------------------------------------------


@pytest.mark.parametrize("budget", [1, 2, 3])
def test_the_budget_is_never_exceeded_and_the_next_run_resumes(env, budget):
    """Each run spends at most its budget and keeps what it got; the runs converge.

    A budget of 1 only ever pulls: every run's first request is the pull (see the
    report: pushing needs a budget of 2 or more).
    """
    project = env.sim.seed.project_ids[0]
    for runs in range(1, 40):
        sent_before = len(env.sim.log)
        result = env.sync(budget=budget)
        assert len(env.sim.log) - sent_before == result.requests <= budget
        if runs == 2:
            env.remote_create_entry(description="remote while budgeted", start=rec.format_ts(env.ago(hours=5)), duration=60)
            if budget > 1:
                for i in range(3):
                    env.store.add_entry(f"budgeted {i}", start=env.ago(hours=9 + i), duration=600, project_id=project)
        if runs > 2 and result.stopped is None and not env.live_ops():
            break
    else:
        raise AssertionError("the budgeted syncs never caught up")
    assert_local_equals_server(env)
    assert env.count(TimeEntry) == 30 + 1 + (3 if budget > 1 else 0)
    assert env.sim.log.count("GET", "/me") == 1  # the catalog was paid for once
    assert env.sim.log.count("GET", "/workspaces/*/users") == 1
    env.sim.log.clear()
    assert env.sync(budget=budget).requests == 1


# --- remote deletions --------------------------------------------------------------------------


def test_an_entry_deleted_remotely_leaves_the_table(env):
    _synced(env)
    victim = next(e for e in env.entries().values() if e["duration"] >= 0)
    env.remote_delete_entry(victim["id"])
    result = env.sync()
    assert result.requests == 1
    assert env.entry(victim["id"]) is None
    with env.engine.connect() as conn:
        assert conn.execute(select(TimeEntryTag).where(TimeEntryTag.time_entry_id == victim["id"])).first() is None
    assert_local_equals_server(env)


@pytest.mark.parametrize("how", ["force_catalog", "catalog_max_age"])
def test_a_tag_deleted_remotely_is_stripped_from_cached_entries(env, how):
    _synced(env)
    entry = _tagged_entry(env)
    tag_id = entry["tag_ids"][0]
    tagged = [e["id"] for e in env.entries().values() if tag_id in e["tag_ids"]]
    env.remote_delete_tag(tag_id)
    assert env.server_entry(entry["id"])["at"] == env.server_entry(entry["id"])["at"]

    env.sync()  # catalog still fresh: the entries' `at` did not move, so nothing shows it yet
    assert tag_id in env.entry(entry["id"])["tag_ids"]

    options = SyncOptions(force_catalog=True) if how == "force_catalog" else SyncOptions(catalog_max_age=timedelta(0))
    result = env.sync(options)
    assert result.deleted.get("tags") == 1
    assert env.tag(tag_id) is None
    for entry_id in tagged:
        row = env.entry(entry_id)
        assert tag_id not in row["tag_ids"]
        assert env.tag(tag_id) is None and all(env.tag(t)["name"] in row["tags"] for t in row["tag_ids"])
    with env.engine.connect() as conn:
        assert conn.execute(select(TimeEntryTag).where(TimeEntryTag.tag_id == tag_id)).first() is None
    assert_local_equals_server(env)


@pytest.mark.parametrize("mode", ["unassign", "delete"])
def test_a_project_deleted_remotely_takes_its_entries_along_as_the_server_does(env, mode):
    _synced(env)
    counts: dict[int, int] = {}
    for e in env.entries().values():
        if e["project_id"]:
            counts[e["project_id"]] = counts.get(e["project_id"], 0) + 1
    project_id = max(counts, key=counts.get)
    on_it = [e["id"] for e in env.entries().values() if e["project_id"] == project_id]
    env.remote_delete_project(project_id, mode=mode)

    env.sync()  # the entries' `at` moved: they follow at once
    for entry_id in on_it:
        row = env.entry(entry_id)
        if mode == "unassign":
            assert row is not None and row["project_id"] is None
        else:
            assert row is None
    env.sync(force_catalog=True)
    assert env.project(project_id) is None
    assert_local_equals_server(env)


def test_an_entry_on_an_unknown_project_or_tag_triggers_one_catalog_refresh(env):
    _synced(env)
    project = env.remote_create_project("Brand new elsewhere")
    tag = env.remote_create_tag("new-elsewhere")
    entry = env.remote_create_entry(
        description="uses new things", start=rec.format_ts(env.ago(hours=3)), duration=60,
        project_id=project["id"], tag_ids=[tag["id"]],
    )
    result = env.sync()
    assert [r.normalized_path for r in env.sim.log.records] == ["/me/time_entries", "/me"]
    assert result.requests == 2
    assert env.project(project["id"])["name"] == "Brand new elsewhere"
    assert env.tag(tag["id"])["name"] == "new-elsewhere"
    assert env.entry(entry["id"])["tags"] == ["new-elsewhere"]
    env.sim.log.clear()
    assert env.sync().requests == 1
    assert_local_equals_server(env)


def test_only_the_entries_a_pull_wrote_are_checked_for_unknown_references(env):
    """An entry this pull did not write names what it named when its own pull checked it: one
    whose project is unknown here costs no catalog refresh when another entry changes (the scan
    of every entry took 0.3 s of a 1,000-change sync at 100,000 entries, bench scenario 4)."""
    _synced(env)
    entries = [e for e in env.entries().values() if e["id"] > 0]
    stale, changed = entries[0], entries[1]
    with env.engine.begin() as conn:
        conn.execute(update(TimeEntry).where(TimeEntry.id == stale["id"]).values(project_id=987654321))
    env.remote_update_entry(changed["id"], description="changed elsewhere")
    result = env.sync()
    assert [r.normalized_path for r in env.sim.log.records] == ["/me/time_entries"]
    assert result.requests == 1
    assert env.entry(changed["id"])["description"] == "changed elsewhere"


# --- idempotence and cursors ------------------------------------------------------------------


FIXED = utc(2026, 3, 1, 12)


def test_applying_the_same_pull_twice_changes_nothing(env):
    env.sim.clock.freeze()  # the same Date header on every response
    run_sync(env.engine, env.client, clock=lambda: FIXED)
    env.remote_update_entry(_tagged_entry(env)["id"], description="changed remotely")
    with env.engine.connect() as conn:
        cursor = conn.scalar(select(SyncCursor.since).where(SyncCursor.resource == "time_entries"))
    run_sync(env.engine, env.client, clock=lambda: FIXED)
    once = env.dump(env_tables := ("time_entries", "time_entry_tags", "projects", "tags", "sync_cursors"))
    # Rewind the cursor: the same window is pulled again.
    with env.engine.begin() as conn:
        conn.execute(update(SyncCursor).where(SyncCursor.resource == "time_entries").values(since=cursor))
    run_sync(env.engine, env.client, clock=lambda: FIXED)
    assert env.dump(env_tables) == once

    # The same records applied directly, twice, with a pending edit in the mix.
    target = _tagged_entry(env)
    env.store.edit_entry(target["id"], billable=not target["billable"])
    records = env.client.time_entries(since=plan.since_for(cursor))
    with env.engine.begin() as conn:
        apply_records(conn, "time_entry", records, policy="local", now=FIXED)
    first = env.dump()
    with env.engine.begin() as conn:
        apply_records(conn, "time_entry", records, policy="local", now=FIXED)
    assert env.dump() == first


def test_the_cursor_never_moves_past_data_that_was_not_stored(env):
    _synced(env)
    cursor = env.cursor()
    changed = _tagged_entry(env)
    env.remote_update_entry(changed["id"], description="must arrive")
    created = env.remote_create_entry(description="must arrive too", start=rec.format_ts(env.ago(hours=3)), duration=60)

    # The response comes, but a record in it is one the transform rejects: nothing is stored.
    good = env.client.time_entries(since=plan.since_for(cursor))
    env.sim.faults.add(status=200, method="GET", path="/me/time_entries", body=good + [{"id": "not a number"}])
    result = env.sync()
    assert result.stopped == "BadResponse" and "malformed time entry record" in result.error
    assert env.cursor() == cursor
    assert env.entry(created["id"]) is None

    # A server error on the read (retried, then given up): the sync stops, the cursor stays.
    env.sim.faults.add(status=503, method="GET", path="/me/time_entries", count=4)
    result = env.sync()
    assert result.stopped == "ServerError" and env.cursor() == cursor

    # The response is lost on the way back.
    env.sim.faults.add(method="GET", path="/me/time_entries", drop_response=True, count=2)
    result = env.sync()
    assert result.stopped == "network" and env.cursor() == cursor

    env.sim.clock.advance(5)
    env.sync()
    assert env.entry(changed["id"])["description"] == "must arrive"
    assert env.entry(created["id"])["description"] == "must arrive too"
    assert env.cursor() > cursor
    assert_local_equals_server(env)


@pytest.mark.parametrize("how", ["rejected_by_the_server", "too_old_by_the_server_clock"])
def test_since_too_old_means_a_full_resync_that_keeps_pending_rows(env, how):
    _synced(env)
    entries = sorted((e for e in env.entries().values() if e["duration"] >= 0), key=lambda e: e["start"])
    gone, edited, kept = entries[-1], entries[-2], entries[-3]
    env.store.edit_entry(edited["id"], description="edited while the server deleted it")
    offline = env.store.add_entry("offline, never pushed", start=env.ago(days=2), duration=60)
    # Deleted while we were away; a since-pull would tell, a date-range pull cannot.
    env.remote_delete_entry(gone["id"])
    env.remote_delete_entry(edited["id"])
    old = env.cursor() - timedelta(days=100)
    with env.engine.begin() as conn:
        conn.execute(update(SyncCursor).where(SyncCursor.resource == "time_entries").values(since=old))
    if how == "rejected_by_the_server":
        env.reopen()  # a new process knows no server time yet: it asks, and the server refuses
    env.sim.log.clear()

    result = env.sync(push=False)
    assert result.stopped is None
    queries = [r.query for r in env.sim.log.find("GET", "/me/time_entries")]
    if how == "rejected_by_the_server":
        assert [set(q) for q in queries] == [{"since"}, {"start_date", "end_date"}]
        assert env.sim.log.records[0].status == 400
    else:
        assert [set(q) for q in queries] == [{"start_date", "end_date"}]
    assert env.entry(gone["id"]) is None  # missing on the server, nothing pending: removed
    assert env.entry(edited["id"]) is not None  # pending edit: kept for the push to settle
    assert env.entry(offline["id"]) is not None
    assert env.entry(kept["id"]) is not None
    assert env.cursor() > old

    env.sync_until_idle()
    assert env.entry(edited["id"]) is None
    [conflict] = env.conflicts()
    assert conflict["kind"] == "deleted_remotely" and conflict["record_id"] == edited["id"]
    assert conflict["local_value"] == {"description": "edited while the server deleted it"}
    assert len(env.server_entries_described("offline, never pushed")) == 1
    assert_local_equals_server(env)


def test_equal_at_values_at_the_cursor_boundary_skip_nothing(env):
    t0 = env.sim.clock.freeze().replace(microsecond=0)
    env.sim.clock.freeze(t0)
    _synced(env)
    cursor = env.cursor()
    assert cursor == t0  # the server's Date, not our clock

    # Changes stamped exactly at the cursor, and two sharing one `at` value.
    a, b, c = [e["id"] for e in sorted(env.entries().values(), key=lambda e: e["id"])[:3]]
    env.remote_update_entry(a, description="at the boundary")
    env.remote_update_entry(b, description="same at as c")
    env.remote_update_entry(c, description="same at as b")
    with env.sim.state.lock:
        env.sim.state.entries[a].at = cursor
        env.sim.state.entries[b].at = cursor + timedelta(microseconds=500)
        env.sim.state.entries[c].at = cursor + timedelta(microseconds=500)
    env.sync()
    assert env.entry(a)["description"] == "at the boundary"
    assert env.entry(b)["description"] == "same at as c"
    assert env.entry(c)["description"] == "same at as b"

    # One more at the new cursor's exact instant, after a sync that already saw that instant.
    env.sim.clock.advance(1)
    env.sync()
    d = sorted(env.entries())[4]
    env.remote_update_entry(d, description="late at the same instant")
    with env.sim.state.lock:
        env.sim.state.entries[d].at = env.cursor()
    env.sync()
    assert env.entry(d)["description"] == "late at the same instant"
    assert_local_equals_server(env)


@pytest.mark.parametrize("skew_hours", [-2, 2])
def test_a_client_clock_two_hours_off_misses_and_duplicates_nothing(make_sim, tmp_path, skew_hours):
    # Just after UTC midnight on the server: a skewed client would be on another day.
    server_t = datetime(2026, 5, 4, 0, 30, 0, tzinfo=UTC)
    env = make_env(make_sim, tmp_path, entries=30, now=server_t)
    env.sim.clock.freeze(server_t)
    early = env.remote_create_entry(description="just after midnight", start="2026-05-04T00:05:00Z", duration=300)
    skew = timedelta(hours=skew_hours)
    try:
        with time_machine.travel(server_t + skew, tick=True):
            env.sync()
            assert env.cursor() == server_t  # the server's clock, whatever ours says
            assert env.entry(early["id"]) is not None
            for step in range(3):
                env.sim.clock.advance(30)
                changed = sorted(env.entries())[step]
                env.remote_update_entry(changed, description=f"skewed step {step}")
                env.remote_create_entry(description=f"new at step {step}", start=f"2026-05-04T00:1{step}:00Z", duration=60)
                env.store.add_entry(f"offline at step {step}", start=utc(2026, 5, 3, 20 + step), duration=120)
                env.sync()
                assert env.entry(changed)["description"] == f"skewed step {step}"
                assert env.cursor() == env.sim.clock.now()
            # A new process whose first request is the entry pull.
            env.reopen()
            env.sim.clock.advance(30)
            env.remote_update_entry(early["id"], description="after reopening")
            env.sync()
            assert env.entry(early["id"])["description"] == "after reopening"
        for step in range(3):
            assert len(env.server_entries_described(f"new at step {step}")) == 1
            assert len(env.server_entries_described(f"offline at step {step}")) == 1
        assert env.live_ops() == []
        assert_local_equals_server(env)
    finally:
        env.close()


@pytest.mark.parametrize("skew_days", [-400, 200])
def test_a_client_clock_far_off_does_not_decide_what_is_pulled(env, skew_days):
    """A new process's first request is the entry pull; the local clock must not pick its window."""
    frozen = env.sim.clock.freeze()
    _synced(env)
    target = min(env.entries())
    env.sim.clock.advance(600)
    env.remote_update_entry(target, description="changed while we were closed")
    created = env.remote_create_entry(description="created while we were closed", start=rec.format_ts(env.ago(hours=1)), duration=60)
    env.reopen()
    with time_machine.travel(frozen + timedelta(days=skew_days), tick=True):
        result = env.sync()
    assert result.stopped is None
    assert [r.query.keys() for r in env.sim.log.find("GET", "/me/time_entries")][-1] == {"since"}
    assert env.entry(target)["description"] == "changed while we were closed"
    assert env.entry(created["id"]) is not None
    assert_local_equals_server(env)


def test_a_tag_renamed_remotely_is_renamed_in_cached_entries(env):
    """Entries keep tag names for plain-SQL readers; Toggl renames without touching the entries' `at`."""
    _synced(env)
    entry = _tagged_entry(env)
    tag_id = entry["tag_ids"][0]
    env.sim.state.update_tag(env.uid, env.wid, tag_id, {"name": "renamed elsewhere"})
    env.sync(force_catalog=True)
    assert env.tag(tag_id)["name"] == "renamed elsewhere"
    assert "renamed elsewhere" in env.entry(entry["id"])["tags"]
    assert_local_equals_server(env)


def test_a_catalog_record_deleted_remotely_goes_even_with_a_pending_edit(env):
    _synced(env)
    edited, reverted = env.sim.seed.project_ids[:2]
    env.store.edit_project(edited, color="#010203")
    original = env.project(reverted)["billable"]
    env.store.edit_project(reverted, billable=not original)
    env.store.edit_project(reverted, billable=original)  # back where it was: nothing left to send
    env.remote_delete_project(edited)
    env.remote_delete_project(reverted)
    env.sim.log.clear()
    env.sync(force_catalog=True)
    assert env.project(edited) is None and env.project(reverted) is None
    assert env.writes() == []  # nothing sent to records the snapshot says are gone
    [conflict] = env.conflicts()
    assert (conflict["record_id"], conflict["kind"], conflict["local_value"]) == (edited, "deleted_remotely", {"color": "#010203"})
    assert env.ops() == []
    assert_local_equals_server(env)


def test_keeping_an_edit_lost_to_a_remote_delete_recreates_the_entry_with_its_tags(env):
    from togglsync.queue import resolve_conflict

    _synced(env)
    entry = next(e for e in env.entries().values() if e["tag_ids"] and e["duration"] >= 0 and e["id"] > 0)
    env.store.edit_entry(entry["id"], description="kept after all")
    env.remote_delete_entry(entry["id"])
    env.sim.clock.advance(61)
    env.sync()
    [conflict] = [c for c in env.conflicts() if c["kind"] == "deleted_remotely"]
    resolve_conflict(env.engine, conflict["id"], "local")
    [recreated] = [e for e in env.entries().values() if e["description"] == "kept after all"]
    assert recreated["id"] < 0 and recreated["workspace_id"] == env.wid
    with env.engine.connect() as conn:
        pairs = conn.exec_driver_sql(
            "SELECT tag_id FROM time_entry_tags WHERE time_entry_id = ? ORDER BY tag_id", (recreated["id"],)
        ).scalars().all()
    assert pairs == sorted(recreated["tag_ids"]) and pairs
    env.sim.clock.advance(61)
    env.sync()
    assert len(env.server_entries_described("kept after all")) == 1
    assert_local_equals_server(env)


def test_a_stale_snapshot_neither_cancels_a_delete_nor_reverts_an_edit_made_here(env):
    """GET /me answers with the catalog as it was before our own pushes (a stale read, a
    gateway's cache): under the "remote" policy that old version is not an edit made
    elsewhere. A tag deleted here is deleted on Toggl, a tag edited here keeps the edit, and
    no conflict names the old values (found by tests/test_sync_model.py: `pending_operations.base_at`)."""
    _synced(env)
    deleted, edited = env.sim.seed.tag_ids[:2]
    stale = env.sim.state.me(env.uid, with_related_data=True)
    env.store.edit_tag(deleted, name="renamed here")
    env.store.edit_tag(edited, name="first edit")
    env.sim.clock.advance(5)
    env.sync()  # both renames pushed: Toggl's versions are now newer than the stale snapshot's
    env.store.delete_tag(deleted)
    env.store.edit_tag(edited, name="second edit")
    env.sim.clock.advance(5)
    env.sim.faults.add(status=200, method="GET", path="/me", body=stale, count=1)
    env.sim.log.clear()
    env.sync(force_catalog=True, policy="remote")
    assert env.conflicts() == []
    server = {t["id"]: t for t in env.sim.state.me(env.uid, with_related_data=True)["tags"]}
    assert deleted not in server and env.tag(deleted) is None
    assert server[edited]["name"] == "second edit" == env.tag(edited)["name"]
    assert env.ops() == []
    assert_local_equals_server(env)
