"""Undo that works (issue 11): `pending drop` puts the server's version back, `sync --full`
re-reads entries, `togglsync undo` reverses the last local change not pushed, `rm` says how
to undo it, and `connections delete` asks first. All through the real CLI, against the simulator."""

from __future__ import annotations

import pytest

import sqlite3

from conftest import invoke_cli, run_in_terminal


def _query(home, sql, *params):
    with sqlite3.connect(home.db) as conn:
        return conn.execute(sql, params).fetchall()


def _latest_synced(home):
    """(id, description) of the most recent stopped entry Toggl has."""
    return _query(
        home, "SELECT id, description FROM time_entries WHERE id > 0 AND duration >= 0 ORDER BY start DESC LIMIT 1"
    )[0]


def _entry(home, entry_id):
    found = _query(home, "SELECT description, project_id, start, stop, duration, tag_ids FROM time_entries WHERE id = ?",
                   entry_id)
    return found[0] if found else None


def _ops(home):
    return _query(home, "SELECT id, action, record_id FROM pending_operations ORDER BY id")


def _ok(result):
    assert result.exit_code == 0, (result.output, result.stderr, result.exception)
    assert "Traceback" not in result.output
    return result


def _new_requests(home, before):
    return [(r.method, r.normalized_path) for r in home.sim.log.records[before:]]


# --- pending drop -------------------------------------------------------------------------------


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_pending_drop_of_a_delete_brings_the_entry_back_as_toggl_has_it(synced):
    entry_id, description = _latest_synced(synced)
    before = _entry(synced, entry_id)
    _ok(synced.run("rm", entry_id))
    assert _entry(synced, entry_id) is None
    (op_id, action, _), = _ops(synced)
    assert action == "delete"
    # Meanwhile someone renames it on Toggl: the drop fetches that one record.
    synced.sim.state.update_time_entry(synced.sim.seed.user_id, synced.sim.seed.workspace_id, entry_id,
                                       {"description": "renamed elsewhere"})
    requests = synced.requests()
    result = _ok(synced.run("pending", "drop", op_id))
    assert _ops(synced) == []
    assert _entry(synced, entry_id)[0] == "renamed elsewhere"
    assert _entry(synced, entry_id)[1:] == before[1:]
    assert _new_requests(synced, requests) == [("GET", f"/me/time_entries/{entry_id}")]
    assert "as Toggl has it (read from Toggl" in result.stdout, result.stdout
    assert "full sync" not in result.stdout


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_pending_drop_offline_restores_the_state_the_edit_was_made_on(synced):
    entry_id, description = _latest_synced(synced)
    before = _entry(synced, entry_id)
    _ok(synced.run("edit", entry_id, "-d", "a typo I regret"))
    _ok(synced.run("rm", entry_id))
    (op_id, action, _), = _ops(synced)
    synced.sim.stop()
    result = _ok(synced.run("pending", "drop", op_id))
    assert _ops(synced) == []
    assert _entry(synced, entry_id) == before
    assert "next sync" in result.stdout, result.stdout


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_pending_drop_of_an_update_puts_the_server_version_back(synced):
    entry_id, description = _latest_synced(synced)
    before = _entry(synced, entry_id)
    _ok(synced.run("edit", entry_id, "-d", "not what Toggl has"))
    (op_id, action, _), = _ops(synced)
    assert action == "update"
    _ok(synced.run("pending", "drop", op_id))
    assert _entry(synced, entry_id) == before
    requests = synced.requests()
    _ok(synced.run("sync"))
    assert not [r for r in _new_requests(synced, requests) if r[0] != "GET"]  # nothing to push


# --- sync --full --------------------------------------------------------------------------------


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_sync_full_re_reads_entries_as_well_as_the_catalog(synced):
    """A cache gone wrong behind the sync's back (a row lost, a row altered) is put right by --full."""
    entry_id, description = _latest_synced(synced)
    other = _query(synced, "SELECT id FROM time_entries WHERE id > 0 AND id != ? ORDER BY start DESC LIMIT 1",
                   entry_id)[0][0]
    with sqlite3.connect(synced.db) as conn:
        conn.execute("DELETE FROM time_entries WHERE id = ?", (entry_id,))
        conn.execute("UPDATE time_entries SET description = 'wrong' WHERE id = ?", (other,))
    requests = synced.requests()
    _ok(synced.run("sync", "--full"))
    paths = [path for _, path in _new_requests(synced, requests)]
    assert "/me" in paths and paths.count("/me/time_entries") == 1
    assert _entry(synced, entry_id)[0] == description
    assert _query(synced, "SELECT description FROM time_entries WHERE id = ?", other)[0][0] != "wrong"
    # An ordinary sync afterwards is still one request.
    requests = synced.requests()
    _ok(synced.run("sync"))
    assert len(_new_requests(synced, requests)) == 1


# --- undo ---------------------------------------------------------------------------------------


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_undo_reverses_the_last_change_and_says_what_it_did(synced):
    synced.sim.stop()  # undo is offline
    entry_id, description = _latest_synced(synced)
    before = _entry(synced, entry_id)
    _ok(synced.run("add", "written by mistake", "--start", "2026-01-05 09:00", "--stop", "2026-01-05 10:00"))
    _ok(synced.run("edit", entry_id, "-d", "first edit"))
    _ok(synced.run("edit", entry_id, "-d", "second edit"))
    _ok(synced.run("rm", entry_id))
    # 1: the delete (it carries the edits before it: Toggl still has the original).
    dry = _ok(synced.run("undo", "--dry-run"))
    assert "Would undo" in dry.stdout and _entry(synced, entry_id) is None
    result = _ok(synced.run("undo"))
    assert "Undid" in result.stdout and str(entry_id) in result.stdout, result.stdout
    assert _entry(synced, entry_id) == before
    # 2: the add.
    result = _ok(synced.run("undo"))
    assert "written by mistake" in result.stdout, result.stdout
    assert not _query(synced, "SELECT 1 FROM time_entries WHERE description = 'written by mistake'")
    assert _ops(synced) == []
    # 3: nothing left.
    result = synced.run("undo")
    assert result.exit_code == 0 and "Nothing to undo" in result.stdout, result.output


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_undo_of_coalesced_edits_restores_toggls_version_and_says_so(synced):
    synced.sim.stop()
    entry_id, _ = _latest_synced(synced)
    before = _entry(synced, entry_id)
    _ok(synced.run("edit", entry_id, "-d", "first edit"))
    _ok(synced.run("add", "kept", "--start", "2026-01-05 09:00", "--stop", "2026-01-05 10:00"))
    _ok(synced.run("edit", entry_id, "-d", "second edit"))
    # The last change is the second edit: undo reverses that record, not the add in between.
    result = _ok(synced.run("undo"))
    assert _entry(synced, entry_id) == before
    assert "every edit" in result.stdout, result.stdout
    assert _query(synced, "SELECT 1 FROM time_entries WHERE description = 'kept'")


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_undo_of_rm_of_several_entries_brings_them_all_back(synced):
    synced.sim.stop()
    ids = [row[0] for row in _query(synced, "SELECT id FROM time_entries WHERE id > 0 AND duration >= 0 "
                                            "ORDER BY start DESC LIMIT 2")]
    before = [_entry(synced, i) for i in ids]
    result = _ok(synced.run("rm", *ids))
    assert result.stdout.count("togglsync undo") == 1, result.stdout
    _ok(synced.run("undo"))
    assert [_entry(synced, i) for i in ids] == before
    assert _ops(synced) == []


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_undo_after_a_push_undoes_nothing_and_says_how_to_reverse_it(synced):
    entry_id, _ = _latest_synced(synced)
    _ok(synced.run("edit", entry_id, "-d", "pushed already"))
    _ok(synced.run("sync"))
    result = _ok(synced.run("undo"))
    assert "Nothing to undo" in result.stdout and "togglsync edit" in result.stdout, result.stdout
    assert _entry(synced, entry_id)[0] == "pushed already"


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_undo_of_a_timer_start_restarts_the_timer_it_stopped(synced):
    synced.sim.stop()
    running = _query(synced, "SELECT id FROM time_entries WHERE duration < 0")
    assert running, "the seeded account has a running timer"
    before = _entry(synced, running[0][0])
    _ok(synced.run("start", "oops"))
    assert _entry(synced, running[0][0])[4] >= 0
    _ok(synced.run("undo"))
    assert _entry(synced, running[0][0]) == before
    assert not _query(synced, "SELECT 1 FROM time_entries WHERE description = 'oops'")
    assert _ops(synced) == []


# --- rm and connections delete ------------------------------------------------------------------


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_rm_of_a_synced_entry_says_what_was_deleted_and_how_to_undo_it(synced):
    entry_id, description = _latest_synced(synced)
    result = _ok(synced.run("rm", entry_id))
    assert f"Deleted {entry_id}" in result.stdout and (description or "") in result.stdout
    assert "togglsync undo" in result.stdout, result.stdout


def test_connections_delete_refuses_without_a_terminal_or_yes(make_sim):
    sim = make_sim(entries=0, quotas=False)
    env = sim.env("maton")
    connection = sim.seed.connection_id
    requests = len(sim.log.records)
    result = invoke_cli(["connections", "delete", connection], env=env)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1 and "--yes" in result.stderr
    assert len(sim.log.records) == requests and connection in sim.state.connections
    result = invoke_cli(["connections", "delete", connection, "--yes"], env=env)
    assert result.exit_code == 0, result.output
    assert connection not in sim.state.connections


def test_connections_delete_asks_in_a_terminal(make_sim, isolated_home):
    sim = make_sim(entries=0, quotas=False)
    env = {**sim.env("maton"), "TOGGLSYNC_HOME": str(isolated_home)}
    connection = sim.seed.connection_id
    code, out, err = run_in_terminal(["connections", "delete", connection], env, "n\n")
    assert code == 1 and "[y/N]" in out and "Nothing deleted." in out, (out, err)
    assert connection in sim.state.connections
    code, out, err = run_in_terminal(["connections", "delete", connection], env, "y\n")
    assert code == 0, (out, err)
    assert connection not in sim.state.connections and f"Deleted connection {connection}" in out
    assert err == ""


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_undo_of_a_project_delete_gives_its_entries_their_project_back(synced):
    synced.sim.stop()
    (project_id, name), = _query(synced, "SELECT p.id, p.name FROM projects p WHERE p.id > 0 AND EXISTS "
                                         "(SELECT 1 FROM time_entries e WHERE e.project_id = p.id AND e.id > 0) LIMIT 1")
    entries = _query(synced, "SELECT id FROM time_entries WHERE project_id = ? ORDER BY id", project_id)
    # One of them was edited before: that edit stays queued, only the delete is undone.
    edited = entries[0][0]
    _ok(synced.run("edit", edited, "-d", "edited before"))
    _ok(synced.run("projects", "rm", project_id, "--yes"))
    assert not _query(synced, "SELECT 1 FROM time_entries WHERE project_id = ?", project_id)
    result = _ok(synced.run("undo"))
    assert name in result.stdout, result.stdout
    assert _query(synced, "SELECT id FROM time_entries WHERE project_id = ? ORDER BY id", project_id) == entries
    assert _ops(synced) == [(_ops(synced)[0][0], "update", edited)]
    assert _entry(synced, edited)[0] == "edited before"


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_undo_never_removes_an_earlier_record_an_edit_rode_on(synced):
    """A timer started here and not pushed, stopped by the next start: undoing that start
    removes the new timer only (the earlier one was added by a change of its own)."""
    synced.sim.stop()
    _ok(synced.run("stop"))
    _ok(synced.run("start", "first", "--at", "-2m"))
    _ok(synced.run("start", "second"))
    result = _ok(synced.run("undo"))
    assert "second" in result.stdout and "first" not in result.stdout, result.stdout
    assert _query(synced, "SELECT description FROM time_entries WHERE id < 0") == [("first",)]
    assert "Would undo the add of time entry L" in _ok(synced.run("undo", "--dry-run")).stdout


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_pending_drop_of_an_edit_of_an_entry_deleted_on_toggl_removes_it_here(synced):
    entry_id, _ = _latest_synced(synced)
    _ok(synced.run("edit", entry_id, "-d", "edited here"))
    (op_id, _, _), = _ops(synced)
    synced.sim.state.delete_time_entry(synced.sim.seed.user_id, synced.sim.seed.workspace_id, entry_id)
    result = _ok(synced.run("pending", "drop", op_id))
    assert _entry(synced, entry_id) is None
    assert "Toggl has it no more" in result.stdout, result.stdout
