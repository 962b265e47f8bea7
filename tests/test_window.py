"""A workspace-wide admin account keeps every member's recent entries current (issue 15, point 3).

Against the simulator over HTTP: the seeded user is the admin of a workspace
with two members (role "user") who track time there. The admin's sync, with the
window on (`SyncOptions.window`, the setting all_users), re-reads the last 14
days of every member's entries through the detailed report when due; members'
additions, edits and deletions inside the window arrive; what lies outside it,
in another workspace, or is the admin's own is never touched by the window's
deletions. Runs on SQLite and PostgreSQL (conftest.POSTGRES_MODULES).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select, update

from test_sync_support import make_env

from togglsync import history_plan as hp
from togglsync.db.models import SyncCursor, TimeEntry
from togglsync.errors import ExitCode
from togglsync.records import parse_ts
from togglsync.sync.engine import SyncOptions, run_sync
from togglsync.sync.history import History, HistoryOptions
from togglsync.sync.outcome import WindowOptions
from togglsync.sync.window import RecentWindow, WindowResult

REPORTS = "/workspace/*/search/time_entries"
DAYS = 14
# The simulators' clock starts at a fixed moment, a little after noon: tests move it an hour or
# more, and a window read again after midnight is a day later (tests chose its entries the day
# before); the seeded entries, and so the report's pages, then fall the same way every run.
NOON = datetime(2025, 6, 16, 12, 7, tzinfo=timezone.utc)


@pytest.fixture
def team(make_sim, database):
    env = make_env(make_sim, database=database, entries=300, members=2, member_entries=150, seed=5, org_quota=10**6,
                   now=NOON)
    yield env
    env.close()


def sync(env, progress=None, **options):
    kwargs = {"progress": progress} if progress is not None else {}
    return run_sync(env.engine, env.client, SyncOptions(window=WindowOptions(days=DAYS, **options)),
                    clock=env.sim.clock.now, **kwargs)


def window_span(env):
    return hp.window(env.sim.seed.workspace_id, env.sim.clock.now().date(), DAYS)


def members(env):
    return set(env.sim.seed.member_ids)


def simulator_members_in(env, span):
    """The members' finished entries on the simulator starting inside the window's UTC span."""
    return {e["id"]: e for e in env.sim.state.all_time_entries()
            if e["user_id"] in members(env) and e["stop"] is not None
            and span.since <= parse_ts(e["start"]) < span.until}


def stored_members_in(env, span):
    with env.engine.connect() as conn:
        found = conn.execute(select(TimeEntry.__table__).where(
            TimeEntry.user_id.in_(sorted(members(env))), TimeEntry.start >= span.since,
            TimeEntry.start < span.until)).mappings().all()
    return {r["id"]: dict(r) for r in found}


def fields_of_entry(entry):
    """A simulator entry in the table's terms, for a field-for-field comparison."""
    return {"workspace_id": entry["workspace_id"], "user_id": entry["user_id"], "project_id": entry["project_id"],
            "task_id": entry["task_id"], "description": entry["description"] or None,
            "start": parse_ts(entry["start"]), "stop": parse_ts(entry["stop"]), "duration": entry["duration"],
            "billable": bool(entry["billable"]), "tag_ids": sorted(entry["tag_ids"] or []),
            "at": parse_ts(entry["at"])}


def fields_of_row(row):
    return {"workspace_id": row["workspace_id"], "user_id": row["user_id"], "project_id": row["project_id"],
            "task_id": row["task_id"], "description": row["description"] or None, "start": row["start"],
            "stop": row["stop"], "duration": row["duration"], "billable": bool(row["billable"]),
            "tag_ids": sorted(row["tag_ids"] or []), "at": row["at"]}


def assert_members_current(env):
    span = window_span(env)
    expected = simulator_members_in(env, span)
    stored = stored_members_in(env, span)
    assert set(stored) == set(expected)
    for entry_id, entry in expected.items():
        assert fields_of_row(stored[entry_id]) == fields_of_entry(entry), entry_id


def report_requests(env):
    return env.sim.log.find("POST", REPORTS)


def member_entry_in(env, span, *, index=0):
    """A member's entry inside the window, the `index`th by start (the report's order)."""
    inside = sorted(simulator_members_in(env, span).values(), key=lambda e: (e["start"], e["id"]))
    return inside[index]


def test_members_add_edit_and_delete_inside_the_window_and_the_admins_sync_converges(team):
    first = sync(team)
    assert first.exit_code == ExitCode.OK, first.summary()
    assert first.window is not None and first.window["read"] == 1
    assert_members_current(team)
    span = window_span(team)
    # What the first read cost: one request per 50 report rows of the window (a day more on each
    # side), a row grouping alike entries.
    rows = {(e["user_id"], e["project_id"], e["task_id"], e["billable"], e["description"], tuple(sorted(e["tag_ids"])))
            for e in team.sim.state.all_time_entries()
            if e["stop"] is not None and span.first <= parse_ts(e["start"]).date() <= span.last}
    assert len(report_requests(team)) == math.ceil(len(rows) / 50) == first.window["pages"]

    # The members work: one adds an entry, edits two (fields, and a start moved within the
    # window), deletes one.
    state, wid = team.sim.state, team.sim.seed.workspace_id
    bob, carol = team.sim.seed.member_ids
    team.sim.clock.advance(600)
    added = state.create_time_entry(bob, wid, {
        "created_with": "test", "workspace_id": wid, "duration": 1800, "description": "new on bob's phone",
        "start": (team.sim.clock.now() - timedelta(days=2)).isoformat().replace("+00:00", "Z")})
    edited = member_entry_in(team, span, index=3)
    state.update_time_entry(edited["user_id"], wid, edited["id"], {"description": "renamed", "billable": True})
    moved = member_entry_in(team, span, index=5)
    state.update_time_entry(moved["user_id"], wid, moved["id"], {
        "start": (team.sim.clock.now() - timedelta(days=4)).isoformat().replace("+00:00", "Z"), "duration": 600})
    gone = member_entry_in(team, span, index=7)
    state.delete_time_entry(gone["user_id"], wid, gone["id"])

    # Within the interval, the window is not read again: nothing changes, no report request.
    team.sim.log.clear()
    quiet = sync(team)
    assert quiet.exit_code == ExitCode.OK and not report_requests(team)
    assert team.entry(gone["id"]) is not None

    team.sim.clock.advance(3600)
    team.sim.log.clear()
    second = sync(team)
    assert second.exit_code == ExitCode.OK, second.summary()
    assert second.window["read"] == 1 and second.window["deleted"] == 1
    assert "all users: 1 workspace window read" in second.summary()
    assert team.entry(gone["id"]) is None
    assert team.entry(added["id"])["description"] == "new on bob's phone"
    assert_members_current(team)
    assert {bob, carol} <= {r["user_id"] for r in stored_members_in(team, span).values()}


def test_the_window_deletes_nothing_outside_it_of_another_workspace_or_of_the_admin(team):
    wid, state = team.sim.seed.workspace_id, team.sim.state
    assert sync(team).exit_code == ExitCode.OK
    # Every member's older entries too (the backfill), stored from reports.
    history = History(team.engine, team.client, clock=team.sim.clock.now).run(HistoryOptions(all_users=True))
    assert history.complete, history.summary()
    span = window_span(team)
    admin = team.sim.seed.user_id
    everyone = state.all_time_entries()
    outside = next(e for e in everyone if e["user_id"] in members(team) and e["stop"] is not None
                   and parse_ts(e["start"]) < span.since - timedelta(days=3))
    own = next(e for e in everyone if e["user_id"] == admin and e["stop"] is not None
               and span.since + timedelta(days=1) <= parse_ts(e["start"]) < span.until - timedelta(days=1))
    inside = member_entry_in(team, span, index=2)
    assert team.entry(outside["id"]) is not None and team.entry(own["id"]) is not None
    with team.engine.begin() as conn:
        # As if a report had brought it last (its sync's version takes over at the same `at`).
        conn.execute(update(TimeEntry).where(TimeEntry.id == own["id"]).values(source="report"))
    # A member's entry of a workspace this account does not belong to, stored from a report.
    foreign = {**{c: v for c, v in team.entry(inside["id"]).items() if c in TimeEntry.__table__.c},
               "id": 9_000_000_001, "workspace_id": 424242}
    with team.engine.begin() as conn:
        conn.execute(insert(TimeEntry.__table__), [foreign])
    for entry in (outside, own, inside):
        state.delete_time_entry(entry["user_id"], wid, entry["id"])
    team.sim.clock.advance(3600)

    # The window alone (the regular pull would remove the admin's own deleted entry itself).
    result = WindowResult()
    RecentWindow(team.engine, team.client, clock=team.sim.clock.now).run(WindowOptions(days=DAYS), result)
    assert result.read == 1 and result.deleted == 1
    assert team.entry(inside["id"]) is None
    assert team.entry(outside["id"]) is not None, "outside the window: never the window's to delete"
    assert team.entry(own["id"]) is not None, "the admin's own entries are its /me sync's"
    assert team.entry(foreign["id"]) is not None, "another workspace's"
    # The regular sync removes the admin's own deleted entry; the outside one stays (as history left it).
    assert run_sync(team.engine, team.client, clock=team.sim.clock.now).exit_code == ExitCode.OK
    assert team.entry(own["id"]) is None and team.entry(outside["id"]) is not None


class FaultAfterFirstPage:
    """A progress display that has the quota run out (someone else spent it) once a page is stored."""

    def __init__(self, sim):
        self.sim, self.pages = sim, 0

    def stage(self, text, total=None):
        pass

    def advance(self, amount=1):
        if self.pages == 0 and amount:
            self.sim.faults.add(status=402, method="POST", path=REPORTS, body="You have hit your hourly limit",
                                headers={"X-Toggl-Quota-Remaining": "0", "X-Toggl-Quota-Resets-In": "0"})
        self.pages += 1


def test_a_402_in_the_middle_of_the_window_keeps_the_database_consistent_and_the_next_run_finishes(team):
    assert sync(team).exit_code == ExitCode.OK
    span, wid, state = window_span(team), team.sim.seed.workspace_id, team.sim.state
    assert len(report_requests(team)) >= 3  # several pages: the 402 comes after the first
    edited = member_entry_in(team, span, index=0)  # on the first page
    state.update_time_entry(edited["user_id"], wid, edited["id"], {"description": "edited before the 402"})
    gone = member_entry_in(team, span, index=1)
    state.delete_time_entry(gone["user_id"], wid, gone["id"])
    team.sim.clock.advance(3600)
    with team.engine.connect() as conn:
        read_before = conn.execute(select(SyncCursor.updated_at).where(
            SyncCursor.resource == f"all_users:{wid}")).scalar_one()

    team.sim.log.clear()
    stopped = sync(team, progress=FaultAfterFirstPage(team.sim))
    assert stopped.exit_code == ExitCode.QUOTA, stopped.summary()
    assert stopped.error and stopped.window["pages"] == 1 and stopped.window["read"] == 0
    # The page stored is kept (its edit arrived); nothing was deleted (the read did not get to
    # its end), and the window is still due.
    assert team.entry(edited["id"])["description"] == "edited before the 402"
    assert team.entry(gone["id"]) is not None
    with team.engine.connect() as conn:
        assert conn.execute(select(SyncCursor.updated_at).where(
            SyncCursor.resource == f"all_users:{wid}")).scalar_one() == read_before

    finished = sync(team)
    assert finished.exit_code == ExitCode.OK, finished.summary()
    assert finished.window["read"] == 1 and finished.window["deleted"] == 1
    assert team.entry(gone["id"]) is None
    assert_members_current(team)


def test_the_window_waits_when_its_read_would_eat_into_the_reserve(make_sim, database):
    # The organization's hourly quota is 18: the first sync and its window (4 pages, the data
    # seeded at NOON) leave 13; the next read (about as many pages as last time) would leave fewer
    # than the 10 kept for the regular sync, so it waits for the quota's reset.
    env = make_env(make_sim, database=database, entries=300, members=2, member_entries=150, seed=5, quotas=True,
                   org_quota=18, now=NOON)
    try:
        first = sync(env, every=10)
        assert first.exit_code == ExitCode.OK and first.window["read"] == 1, first.summary()
        pages = len(report_requests(env))
        assert pages == 4
        env.sim.clock.advance(15 * 60)
        gone = member_entry_in(env, window_span(env), index=1)
        env.sim.state.delete_time_entry(gone["user_id"], env.sim.seed.workspace_id, gone["id"])
        env.sim.log.clear()
        waiting = sync(env, every=10)
        assert waiting.exit_code == ExitCode.OK, waiting.summary()
        assert waiting.window["stopped"] == "reserve" and not report_requests(env)
        assert "waiting for the quota" in waiting.summary()
        assert env.entry(gone["id"]) is not None
        # After the quota's reset, the window is read and the deletion arrives.
        env.sim.clock.advance(3600)
        later = sync(env, every=10)
        assert later.exit_code == ExitCode.OK and later.window["deleted"] == 1, later.summary()
        assert env.entry(gone["id"]) is None
    finally:
        env.close()


def test_a_member_set_to_all_users_gets_one_error_line_and_no_report_request(make_sim, tmp_path):
    from conftest import invoke_cli

    sim = make_sim(entries=60, members=1, member_entries=60, seed=6, quotas=False, role="user")
    env = {"TOGGL_API_TOKEN": sim.seed.api_token, "TOGGLSYNC_API_URL": sim.url, "TOGGLSYNC_PACING": "0",
           "TOGGLSYNC_DB": str(tmp_path / "m.db"), "TOGGLSYNC_ALL_USERS": "on"}
    refused = invoke_cli(["sync", "--quiet"], env=env)
    assert refused.exit_code == ExitCode.AUTH, refused.output
    errors = [line for line in refused.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "not an admin" in errors[0] and "(403" in errors[0], refused.output
    assert not sim.log.find("POST", REPORTS)
    # Its own sync went through; off again, its syncs are clean.
    assert invoke_cli(["accounts", "all-users", "main", "off"], env={**env, "TOGGLSYNC_ALL_USERS": ""}).exit_code == 0
    assert invoke_cli(["sync"], env={**env, "TOGGLSYNC_ALL_USERS": ""}).exit_code == 0


def test_the_cli_setting_turns_the_window_on_for_an_account_and_a_quiet_sync_stays_one_request(make_sim, tmp_path):
    from conftest import invoke_cli

    sim = make_sim(entries=60, members=1, member_entries=60, seed=6, quotas=False,
                   now=datetime(2025, 6, 16, 12, tzinfo=timezone.utc))
    env = {"TOGGL_API_TOKEN": sim.seed.api_token, "TOGGLSYNC_API_URL": sim.url, "TOGGLSYNC_PACING": "0",
           "TOGGLSYNC_DB": str(tmp_path / "c.db")}
    assert invoke_cli(["sync"], env=env).exit_code == 0
    assert not sim.log.find("POST", REPORTS)
    assert invoke_cli(["accounts", "all-users", "main"], env=env).output.strip() == "off"
    assert invoke_cli(["accounts", "all-users", "main", "on"], env=env).exit_code == 0
    assert invoke_cli(["accounts", "all-users", "main"], env=env).output.strip() == "on"
    done = invoke_cli(["sync"], env=env)
    assert done.exit_code == 0 and "all users: 1 workspace window read" in done.output, done.output
    member = sim.seed.member_ids[0]
    with __import__("sqlite3").connect(str(tmp_path / "c.db")) as db:
        assert db.execute("SELECT count(*) FROM time_entries WHERE user_id = ?", (member,)).fetchone()[0] > 0
    # Not due yet: the quiet way, one request.
    sim.log.clear()
    assert invoke_cli(["sync"], env=env).exit_code == 0
    assert sim.log.count() == 1


def test_an_admin_account_added_with_all_users_beside_a_members_own_account(make_sim, isolated_home):
    """`accounts add boss --all-users`: boss's window brings the members no account here syncs
    (carol), and leaves a member synced as an account of their own (main: bob) to that account."""
    import json
    import sqlite3

    from conftest import SyncedHome

    sim = make_sim(entries=60, members=2, member_entries=60, seed=6, quotas=False)
    bob, carol = sim.seed.member_ids
    home = SyncedHome(sim, isolated_home)
    home.env["TOGGL_API_TOKEN"] = sim.seed.member_tokens[0]  # main is bob, a member
    assert home.run("sync").exit_code == 0
    added = home.run("accounts", "add", "boss", "--all-users", input=sim.seed.api_token + "\n")
    assert added.exit_code == 0 and "every member's recent entries" in added.output, added.output
    assert json.loads((home.home / "config.json").read_text())["accounts"]["boss"]["all_users"] == "on"
    listed = {a["name"]: a["all_users"] for a in json.loads(home.run("accounts", "list", "--json").output)}
    assert listed == {"main": "", "boss": "on"}

    done = home.run("sync")
    assert done.exit_code == 0, done.output
    assert "boss: sync:" in done.output and "all users: 1 workspace window read" in done.output
    assert "main: sync:" in done.output and "all users" not in done.output.split("boss: sync:")[0]

    def sources(user):
        with sqlite3.connect(home.db) as db:
            return {s for (s,) in db.execute("SELECT DISTINCT source FROM time_entries WHERE user_id = ?", (user,))}

    assert sources(carol) == {"report"}  # boss's window
    assert sources(bob) == {"sync"}  # bob's own sync; never the window's
    # Bob deletes an entry: his own sync removes it, boss's window counts nothing of his.
    entry = next(e for e in sim.state.all_time_entries() if e["user_id"] == bob and e["stop"] is not None)
    sim.state.delete_time_entry(bob, sim.seed.workspace_id, entry["id"])
    boss = json.loads(home.run("--account", "boss", "sync", "--json", env={"TOGGLSYNC_ALL_USERS_EVERY": "0"}).output)
    window = boss["accounts"]["boss"]["window"]
    assert window["read"] == 1 and window["deleted"] == 0, boss

    def stored(entry_id):
        with sqlite3.connect(home.db) as db:
            return db.execute("SELECT count(*) FROM time_entries WHERE id = ?", (entry_id,)).fetchone()[0]

    assert stored(entry["id"]) == 1
    assert home.run("sync").exit_code == 0
    assert stored(entry["id"]) == 0
