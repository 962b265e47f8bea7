"""Simulator: deterministic seeding, scale, the clock and the run_forever entry point."""

from __future__ import annotations

import io
import threading
from datetime import datetime, timedelta, timezone

import requests

from togglsync.simulator import SimClock, SimState, seed_account
from togglsync.simulator.server import run_forever

NOW = datetime(2025, 6, 16, 12, 0, 0, tzinfo=timezone.utc)


def seeded(entries=200, seed=0, **kwargs):
    state = SimState(SimClock(frozen_at=NOW))
    return state, seed_account(state, entries=entries, seed=seed, **kwargs)


def test_same_seed_same_account():
    (first, first_info), (second, second_info) = seeded(seed=4), seeded(seed=4)
    assert first_info == second_info
    assert first.all_time_entries(include_deleted=True) == second.all_time_entries(include_deleted=True)
    assert first.all_projects() == second.all_projects()
    assert first.all_tags() == second.all_tags()
    assert first.all_clients() == second.all_clients()
    other, other_info = seeded(seed=5)
    assert other_info.api_token != first_info.api_token
    assert other.all_time_entries() != first.all_time_entries()


def test_seed_is_realistic():
    state, info = seeded(entries=1000, seed=2)
    entries = state.all_time_entries()
    assert len(entries) == 1000
    assert all(e["id"] >= 4_000_000_000 for e in entries)
    assert 100_000_000 <= info.project_ids[0] < 1_000_000_000
    assert 10_000_000 <= info.workspace_id < 100_000_000
    running = [e for e in entries if e["stop"] is None]
    assert [e["id"] for e in running] == [info.running_entry_id]
    descriptions = " ".join(e["description"] or "" for e in entries)
    assert "é" in descriptions and "日本語" in descriptions and "🚀" in descriptions
    assert any(e["description"] is None for e in entries)
    assert any(e["billable"] for e in entries) and any(not e["billable"] for e in entries)
    assert any(len(e["tags"]) >= 2 for e in entries) and any(not e["tags"] for e in entries)
    assert any(e["project_id"] is None for e in entries)
    starts = [datetime.fromisoformat(e["start"]) for e in entries]
    assert any(s > NOW - timedelta(days=10) for s in starts)
    assert any(s < NOW - timedelta(days=95) for s in starts)
    assert max(starts) <= NOW
    ids_by_start = [e["id"] for e in sorted(entries, key=lambda e: e["start"])]
    assert ids_by_start == sorted(ids_by_start)  # ids grow with time, like Toggl's
    projects = state.all_projects()
    assert len(projects) == 8 and sum(not p["active"] for p in projects) == 1
    assert len(state.all_tags()) == 10 and len(state.all_clients()) == 3
    assert all(datetime.fromisoformat(e["at"]) <= NOW for e in entries)
    assert info.maton_api_key in state.maton_keys
    assert state.connections[info.connection_id].status == "ACTIVE"


def test_seed_scales():
    state, info = seeded(entries=20_000, seed=1)
    assert len(state.entries) == 20_000
    window = state.list_time_entries(info.user_id)
    assert 0 < len(window) < 20_000


def test_two_accounts_in_one_state():
    state = SimState(SimClock(frozen_at=NOW))
    first = seed_account(state, entries=10, seed=1)
    second = seed_account(state, entries=10, seed=2, plan="premium")
    assert first.email != second.email and first.workspace_id != second.workspace_id
    assert len(state.list_time_entries(second.user_id)) <= 10
    assert all(e["user_id"] == second.user_id for e in state.list_time_entries(second.user_id))


def test_clock():
    clock = SimClock()
    before = clock.now()
    assert before.tzinfo is not None and not clock.frozen
    frozen = clock.freeze(NOW)
    assert frozen == NOW == clock.now()
    assert clock.advance(90) == NOW + timedelta(seconds=90)
    clock.unfreeze()
    resumed = clock.now()
    assert NOW + timedelta(seconds=90) <= resumed < NOW + timedelta(seconds=100)  # no jump back to real time
    clock.advance(3600)
    assert clock.now() >= resumed + timedelta(seconds=3600)


def test_run_forever_prints_the_environment():
    out, stop = io.StringIO(), threading.Event()
    thread = threading.Thread(target=run_forever, kwargs={"entries": 5, "out": out, "stop": stop}, daemon=True)
    thread.start()
    for _ in range(200):
        if "MATON_API_KEY" in out.getvalue():
            break
        threading.Event().wait(0.01)
    lines = dict(
        line.removeprefix("export ").split("=", 1) for line in out.getvalue().splitlines() if line.startswith("export ")
    )
    text = out.getvalue()
    assert "export TOGGLSYNC_TRANSPORT=maton" in text
    assert "export TOGGLSYNC_API_URL=http://127.0.0.1:" in text
    token = lines["TOGGL_API_TOKEN"]
    url = text.split("export TOGGLSYNC_API_URL=", 1)[1].split()[0]
    assert requests.get(url + "/api/v9/me", auth=(token, "api_token"), timeout=10).status_code == 200
    assert lines["TOGGLSYNC_MATON_CTRL_URL"] == url
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
