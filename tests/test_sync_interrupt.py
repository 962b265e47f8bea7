"""Ctrl-C during a sync never duplicates or loses a record.

A KeyboardInterrupt is raised inside the real client's HTTP session, against
the simulator: after the server applied a request and before its answer was
read, or before a request went out. Then normal syncs run, and the server and
the cache must each hold every record exactly once, linked by Toggl's id.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
import requests
from test_sync_support import SyncEnv, assert_local_equals_server

from togglsync.errors import ExitCode
from togglsync.sync.engine import SyncInterrupted
from togglsync.sync import plan

ENTRY_POSTS = "/api/v9/workspaces/*/time_entries"


def interrupt(
    monkeypatch: pytest.MonkeyPatch, method: str, path: str, *, after: bool, skip: int = 0
) -> Callable[[], int]:
    """Raise KeyboardInterrupt in the session on the matching request: `after` the server
    answered (it applied the request; the answer is never read), or before it is sent.
    `skip` matching requests go through first. Returns how many were interrupted."""
    real_send = requests.Session.send
    state = {"seen": 0, "fired": 0}

    def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        hit = request.method == method and fnmatch.fnmatchcase(urlsplit(request.url or "").path, path)
        if hit:
            state["seen"] += 1
        fire = hit and state["seen"] > skip and not state["fired"]
        if fire and not after:
            state["fired"] += 1
            raise KeyboardInterrupt
        response = real_send(self, request, **kwargs)
        if fire:
            state["fired"] += 1
            raise KeyboardInterrupt
        return response

    monkeypatch.setattr(requests.Session, "send", send)
    return lambda: state["fired"]


def _sync_interrupted(env: SyncEnv, monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(KeyboardInterrupt) as caught:
        env.sync()
    monkeypatch.undo()
    assert isinstance(caught.value, SyncInterrupted)
    return caught.value.result


def _rows(env: SyncEnv, table: str) -> list[dict]:
    with env.engine.connect() as conn:
        return [dict(r) for r in conn.exec_driver_sql(f"SELECT * FROM {table}").mappings()]


def _settle(env: SyncEnv) -> None:
    """Normal syncs until nothing is left, with the server's clock moving past the visibility margin."""
    for _ in range(4):
        env.sim.clock.advance(plan.VISIBILITY_MARGIN.total_seconds() + 1)
        env.sync()
        if not env.ops():
            return
    raise AssertionError(f"still pending: {env.ops()}")


@pytest.mark.parametrize("resource", ["time_entry", "project", "tag"])
@pytest.mark.parametrize("restart", [False, True])
def test_interrupt_after_the_server_applied_a_create_gives_one_linked_record(env, monkeypatch, resource, restart):
    if resource == "time_entry":
        local = env.store.add_entry("interrupted create", start=env.ago(hours=3), duration=900)
        path = ENTRY_POSTS
        on_server = lambda: env.server_entries_described("interrupted create")
        cached = lambda: [e for e in env.entries().values() if e["description"] == "interrupted create"]
    elif resource == "project":
        local = env.store.create_project("Interrupted project")
        path = "/api/v9/workspaces/*/projects"
        on_server = lambda: [p for p in env.sim.state.all_projects() if p["name"] == "Interrupted project"]
        cached = lambda: [r for r in _rows(env, "projects") if r["name"] == "Interrupted project"]
    else:
        local = env.store.create_tag("interrupted")
        path = "/api/v9/workspaces/*/tags"
        on_server = lambda: [t for t in env.sim.state.all_tags() if t["name"] == "interrupted"]
        cached = lambda: [r for r in _rows(env, "tags") if r["name"] == "interrupted"]
    fired = interrupt(monkeypatch, "POST", path, after=True)

    result = _sync_interrupted(env, monkeypatch)
    assert fired() == 1
    assert (result.pushed, result.to_push, result.stopped) == (0, 1, "interrupted")
    assert len(on_server()) == 1  # Toggl applied it; we never read the answer
    [op] = env.ops()
    assert op["state"] == "in_flight"  # not back in the queue: resending would duplicate it

    if restart:
        env.reopen()
    env.sim.log.clear()
    _settle(env)
    assert env.sim.log.count("POST") == 0
    [server] = on_server()
    [row] = cached()
    assert row["id"] == server["id"] and row["id"] != local["id"]
    assert_local_equals_server(env)


def test_interrupt_before_a_create_is_sent_sends_it_once_later(env, monkeypatch):
    env.store.add_entry("never sent", start=env.ago(hours=3), duration=900)
    fired = interrupt(monkeypatch, "POST", ENTRY_POSTS, after=False)
    result = _sync_interrupted(env, monkeypatch)
    assert fired() == 1 and result.pushed == 0
    assert env.server_entries_described("never sent") == []

    _settle(env)
    [server] = env.server_entries_described("never sent")
    assert [e["id"] for e in env.entries().values() if e["description"] == "never sent"] == [server["id"]]
    assert_local_equals_server(env)


def test_interrupt_between_creates_loses_and_duplicates_nothing(env, monkeypatch):
    for n in range(3):
        env.store.add_entry(f"batch {n}", start=env.ago(hours=5 - n), duration=600)
    fired = interrupt(monkeypatch, "POST", ENTRY_POSTS, after=False, skip=1)
    result = _sync_interrupted(env, monkeypatch)
    assert fired() == 1
    assert (result.pushed, result.to_push) == (1, 3)
    assert len(env.server_entries_described("batch 0")) == 1

    _settle(env)
    for n in range(3):
        [server] = env.server_entries_described(f"batch {n}")
        assert [e["id"] for e in env.entries().values() if e["description"] == f"batch {n}"] == [server["id"]]
    assert_local_equals_server(env)


def test_interrupt_during_a_bulk_patch_resends_the_same_absolute_change(env, monkeypatch):
    stopped = sorted((e for e in env.entries().values() if e["duration"] >= 0 and e["id"] > 0), key=lambda e: e["id"])
    ids = [e["id"] for e in stopped[:3]]
    for entry_id in ids:
        env.store.edit_entry(entry_id, description="bulk edited")
    fired = interrupt(monkeypatch, "PATCH", "/api/v9/workspaces/*/time_entries/*", after=True)
    result = _sync_interrupted(env, monkeypatch)
    assert fired() == 1 and result.pushed == 0
    assert all(env.server_entry(i)["description"] == "bulk edited" for i in ids)  # applied, answer lost
    assert {op["record_id"] for op in env.ops()} == set(ids)  # still queued: a resend is harmless

    _settle(env)
    assert all(env.server_entry(i)["description"] == "bulk edited" for i in ids)
    assert_local_equals_server(env)


def test_interrupt_during_an_update_and_a_delete(env, monkeypatch):
    first, second = sorted((e for e in env.entries().values() if e["duration"] >= 0), key=lambda e: e["id"])[:2]
    env.store.edit_entry(first["id"], description="edited once")
    env.store.delete_entry(second["id"])
    fired = interrupt(monkeypatch, "DELETE", "/api/v9/workspaces/*/time_entries/*", after=True)
    _sync_interrupted(env, monkeypatch)
    assert fired() == 1

    _settle(env)
    assert env.server_entry(second["id"]) is None and env.entry(second["id"]) is None
    assert env.server_entry(first["id"])["description"] == "edited once"
    assert_local_equals_server(env)


# --- the command ---------------------------------------------------------------------------------


def test_sync_command_interrupted_says_what_was_pushed_and_exits_130(synced, monkeypatch):
    assert synced.run("start", "interrupted via cli").exit_code == 0
    interrupt(monkeypatch, "POST", ENTRY_POSTS, after=True)
    result = synced.run("sync")
    monkeypatch.undo()
    assert result.exit_code == ExitCode.INTERRUPTED == 130, result.output
    # Starting the timer stopped the seeded running one: that update went, the create did not finish.
    assert result.stderr.splitlines() == [
        "Interrupted: pushed 1 of 2 local changes; run `togglsync sync` again to finish."
    ]
    assert "Traceback" not in result.output

    # The next sync adopts what Toggl made; nothing is sent twice.
    assert synced.run("sync").exit_code == 0
    created = [e for e in synced.sim.state.all_time_entries() if e.get("description") == "interrupted via cli"]
    assert len(created) == 1
    assert synced.run("sync").exit_code == 0
    assert len([e for e in synced.sim.state.all_time_entries() if e.get("description") == "interrupted via cli"]) == 1
