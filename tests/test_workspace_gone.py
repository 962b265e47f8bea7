"""A workspace the user leaves (or is removed from, or that is deleted) goes from the cache (issue 10, case 8).

Once the catalog confirms it gone (GET /me no longer lists it, and a second
look at GET /me/workspaces agrees), everything that belongs to it goes in the
same transaction: its entries and their tag pairs, projects, clients, tags and
members. Offline edits made in it cannot reach Toggl any more: each becomes a
conflict saying so (`togglsync conflicts`), and nothing is sent for it. A
single snapshot lacking the workspace deletes nothing. Real database, real
simulator over HTTP.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import MetaData, func, select, text
from test_sync_support import SyncEnv, make_env

from togglsync import records
from togglsync.db.models import Base, TimeEntry
from togglsync.queue import resolve_conflict
from togglsync.report import summarize
from togglsync.sync.engine import SyncOptions

FULL = SyncOptions(force_catalog=True)
EVERYTHING = SyncOptions(force_catalog=True, accept_empty_resync=True)
# Tables whose rows name their workspace and are not records of the outbox or the conflicts.
SKIPPED = {"pending_operations", "workspaces"}


@pytest.fixture
def env(make_sim, tmp_path):
    """Two workspaces, the second with entries, projects, tags and a client of its own; synced once."""
    synced = make_env(make_sim, tmp_path, entries=80, second_workspace=True)
    sim, uid, second = synced.sim, synced.uid, synced.sim.seed.second_workspace_id
    client = sim.state.create_client(uid, second, {"name": "Side client"})
    sim.state.create_project(uid, second, {"name": "Side work", "client_id": client["id"]})
    synced.sync()
    with synced.engine.begin() as conn:  # how far a `togglsync history` reached in it
        conn.execute(text("INSERT INTO history_ranges (workspace_id, scope, range_start, range_end, updated_at) "
                          "VALUES (:wid, 'me', '2024-01-01', '2024-12-31', '2025-01-01 00:00:00')"), {"wid": second})
    synced.sim.log.clear()
    yield synced
    synced.close()


def _second(env: SyncEnv) -> int:
    wid = env.sim.seed.second_workspace_id
    assert wid is not None
    return int(wid)


def _rows_of(env: SyncEnv, wid: int) -> dict[str, int]:
    """How many rows of each table name the workspace (tag pairs of its entries included)."""
    meta = MetaData()
    meta.reflect(env.engine)
    found: dict[str, int] = {}
    with env.engine.connect() as conn:
        for name, table in meta.tables.items():
            if "workspace_id" in table.c and name not in SKIPPED:
                found[name] = conn.scalar(select(func.count()).select_from(table).where(table.c.workspace_id == wid))
        pairs = meta.tables["time_entry_tags"]
        entries = select(TimeEntry.id).where(TimeEntry.workspace_id == wid)
        found["time_entry_tags"] = conn.scalar(
            select(func.count()).select_from(pairs).where(pairs.c.time_entry_id.in_(entries))
        )
        workspaces = meta.tables["workspaces"]
        found["workspaces"] = conn.scalar(select(func.count()).select_from(workspaces).where(workspaces.c.id == wid))
    return found


def _report_entries(env: SyncEnv) -> int:
    """Entries `togglsync report` counts over the whole synced window."""
    now = env.sim.clock.now()
    with env.engine.connect() as conn:
        report = summarize(
            conn, by="project", start=now - timedelta(days=400), end=now + timedelta(days=400),
            tz=ZoneInfo("UTC"), now=now,
        )
    return report.total_entries


def test_the_fixture_has_rows_in_every_table_a_workspace_owns(env):
    found = _rows_of(env, _second(env))
    assert all(found.values()), found
    # Every table with a workspace_id is one this test looks at (a new one must be covered too).
    assert {t.name for t in Base.metadata.sorted_tables if "workspace_id" in t.c} - SKIPPED <= set(found)


def test_leaving_a_workspace_removes_everything_it_owns_and_reports_stop_counting_it(env):
    wid = _second(env)
    before = _rows_of(env, wid)
    kept = _report_entries(env) - before["time_entries"]
    env.sim.state.remove_membership(wid, env.uid)

    result = env.sync(FULL)
    assert result.stopped is None, result
    assert _rows_of(env, wid) == {name: 0 for name in before}
    assert result.deleted["time_entries"] == before["time_entries"]
    assert _report_entries(env) == kept
    # Nothing was ever pending, so nothing is recorded as lost.
    assert env.conflicts() == [] and env.ops() == []

    # And it stays so: an ordinary sync, then a full one, bring nothing of it back.
    env.sync()
    env.sync(EVERYTHING)
    assert _rows_of(env, wid) == {name: 0 for name in before}
    assert _report_entries(env) == kept


def test_a_workspace_left_keeps_nothing_even_outside_the_resync_window(env):
    """Entries older than the 89-day window are never listed again: only the workspace's going removes them."""
    wid = _second(env)
    with env.engine.begin() as conn:
        conn.execute(text(
            "UPDATE time_entries SET start = datetime(start, '-200 days'), stop = datetime(stop, '-200 days') "
            "WHERE workspace_id = :wid AND stop IS NOT NULL"
        ), {"wid": wid})
    env.sim.state.remove_membership(wid, env.uid)
    env.sync(EVERYTHING)
    assert _rows_of(env, wid)["time_entries"] == 0


def test_offline_edits_in_a_workspace_left_become_conflicts_and_are_not_sent(env):
    wid = _second(env)
    with env.engine.connect() as conn:
        entry_id = conn.scalar(select(TimeEntry.id).where(TimeEntry.workspace_id == wid, TimeEntry.duration >= 0))
        doomed = conn.scalar(
            select(TimeEntry.id).where(TimeEntry.workspace_id == wid, TimeEntry.duration >= 0, TimeEntry.id != entry_id)
        )
    env.store.edit_entry(entry_id, description="edited offline, then I left")
    new = env.store.add_entry("made offline", start=env.ago(hours=30), duration=600, workspace_id=wid)
    env.store.delete_entry(doomed)
    tag = env.store.create_tag("offline tag", workspace_id=wid)
    # An edit in the workspace that stays goes through as usual.
    stays = env.store.add_entry("kept", start=env.ago(hours=29), duration=600, workspace_id=env.wid)
    env.sim.state.remove_membership(wid, env.uid)

    result = env.sync(FULL)
    assert result.stopped is None, result
    assert result.exit_code == 0
    assert _rows_of(env, wid)["time_entries"] == 0
    # Nothing was sent for the workspace left; the other one's create went.
    sent = [r for r in env.writes()]
    assert len(sent) == 1 and sent[0].method == "POST" and f"/workspaces/{env.wid}/" in sent[0].path, sent
    assert env.server_entries_described("kept")
    assert env.server_entries_described("made offline") == []
    assert env.ops() == []
    lost = {(c["resource"], c["record_id"]): c for c in env.conflicts()}
    assert set(lost) == {
        ("time_entry", entry_id), ("time_entry", new["id"]), ("time_entry", doomed), ("tag", tag["id"]),
    }
    for conflict in lost.values():
        assert conflict["kind"] == "workspace_gone"
        assert conflict["remote_value"] == f"workspace {wid} is no longer accessible"
    assert lost[("time_entry", entry_id)]["local_value"] == {"description": "edited offline, then I left"}
    assert lost[("time_entry", new["id"])]["local_value"]["description"] == "made offline"
    assert lost[("tag", tag["id"])]["local_value"] == {"name": "offline tag"}
    assert result.conflicts == 4
    assert stays["id"] < 0 and env.entry(stays["id"]) is None  # pushed: it has Toggl's id now

    # The next sync has nothing left to try.
    env.sim.log.clear()
    again = env.sync()
    assert again.exit_code == 0 and again.failed == 0 and env.writes() == []

    # Keeping the entry made offline re-creates it in the workspace that stays, without the
    # references it had there; the next sync sends it.
    message = resolve_conflict(env.engine, lost[("time_entry", new["id"])]["id"], "local")
    assert f"in workspace {env.wid}" in message
    assert "nothing to re-create" in resolve_conflict(env.engine, lost[("time_entry", doomed)]["id"], "local")
    env.sync()
    [made] = env.server_entries_described("made offline")
    assert made["workspace_id"] == env.wid and made["duration"] == 600 and made["project_id"] is None


@pytest.mark.parametrize("answer", ["snapshot", "both"])
def test_one_answer_lacking_the_workspace_deletes_nothing(env, answer):
    """GET /me lacks the workspace but GET /me/workspaces still lists it (or an empty second look): kept."""
    wid = _second(env)
    before = _rows_of(env, wid)
    me = env.new_client().me(with_related_data=True)
    env.sim.log.clear()
    for kind in ("workspaces", "projects", "clients", "tags"):
        me[kind] = [r for r in me[kind] or [] if r.get("workspace_id", r.get("id")) != wid]
    env.sim.faults.add(status=200, method="GET", path="/me", body=me)
    if answer == "both":
        # The second look fails too, with an answer no account can have (no workspace at all).
        env.sim.faults.add(status=200, method="GET", path="/me/workspaces", body=[])
    result = env.sync(FULL)
    assert result.stopped is None, result
    assert sum(result.deleted.values()) == 0
    assert _rows_of(env, wid) == before


def test_a_workspace_left_that_the_second_look_cannot_read_is_kept(env):
    """GET /me/workspaces refused (403): no evidence, nothing deleted."""
    wid = _second(env)
    before = _rows_of(env, wid)
    me = env.new_client().me(with_related_data=True)
    env.sim.log.clear()
    me["workspaces"] = [w for w in me["workspaces"] if w["id"] != wid]
    env.sim.faults.add(status=200, method="GET", path="/me", body=me)
    env.sim.faults.add(status=403, method="GET", path="/me/workspaces")
    env.sync(FULL)
    assert _rows_of(env, wid) == before


def test_what_a_workspace_owns_covers_every_table_naming_one():
    """The rule is data: every table with a workspace_id is owned (or is the outbox, or the workspace)."""
    owned = {records.spec(ref.source).table for ref in records.contents(records.Kind.WORKSPACE)}
    owned |= {table for table, _ in records.owned_rows(records.Kind.WORKSPACE)}
    naming = {t.name for t in Base.metadata.sorted_tables if "workspace_id" in t.c}
    assert naming - SKIPPED == owned


def test_an_edit_sent_before_the_catalog_knows_is_parked_then_becomes_a_conflict(env):
    """The catalog is fresh, so the sync pushes before it learns the workspace went: Toggl refuses
    (403), the edit is parked (exit 7, `pending` shows why); the next catalog refresh makes it a
    conflict, and syncs exit 0 again with nothing left to send."""
    wid = _second(env)
    with env.engine.connect() as conn:
        entry_id = conn.scalar(select(TimeEntry.id).where(TimeEntry.workspace_id == wid, TimeEntry.duration >= 0))
    # No project, no tags: a refusal naming nothing does not make the sync refresh its catalog.
    env.store.edit_entry(entry_id, description="sent too late", project_id=None, tag_ids=[])
    env.sim.state.remove_membership(wid, env.uid)

    first = env.sync()
    assert first.failed == 1 and first.exit_code == 7, first
    assert [op["state"] for op in env.ops()] == ["failed"]

    second = env.sync(FULL)
    assert second.exit_code == 0 and env.ops() == []
    assert [(c["kind"], c["record_id"]) for c in env.conflicts()] == [("workspace_gone", entry_id)]
    assert _rows_of(env, wid)["time_entries"] == 0
    env.sim.log.clear()
    assert env.sync().exit_code == 0 and env.writes() == []


def test_an_edit_naming_a_project_refused_there_learns_at_once(env):
    """Toggl refuses an edit that names a project: the sync refreshes its catalog (one request, as
    for a project deleted elsewhere), which finds the workspace gone: a conflict in the same sync."""
    wid = _second(env)
    with env.engine.connect() as conn:
        entry_id = conn.scalar(select(TimeEntry.id).where(
            TimeEntry.workspace_id == wid, TimeEntry.duration >= 0, TimeEntry.project_id.is_not(None)))
    env.store.edit_entry(entry_id, description="sent too late")
    env.sim.state.remove_membership(wid, env.uid)

    result = env.sync()
    assert result.exit_code == 0 and result.failed == 0 and result.failures == [], result
    assert env.ops() == []
    assert [(c["kind"], c["record_id"]) for c in env.conflicts()] == [("workspace_gone", entry_id)]
    assert _rows_of(env, wid)["time_entries"] == 0
