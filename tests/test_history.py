"""`togglsync history`: every entry since the account began, through the Reports API, within the quota.

Against the simulator with years of history (entries older than 90 days reach
only the Reports API there, as on Toggl) and other members' entries beside
the user's. The full-size run (50,000 entries over five years) is marked slow.
"""

from __future__ import annotations

import math
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone

import pytest

from togglsync import history_plan as hp
from togglsync.api import DirectAuth, TogglClient
from togglsync.api.retrying import RetryPolicy
from togglsync.db.open import open_database
from togglsync.errors import ExitCode
from togglsync.records import parse_ts
from togglsync.sync.engine import SyncOptions, run_sync
from togglsync.sync.history import History, HistoryOptions

NOW = datetime(2025, 6, 16, 12, 0, 0, tzinfo=timezone.utc)
REPORTS = "/workspace/*/search/time_entries"
FIELDS = ("id", "workspace_id", "user_id", "project_id", "task_id", "description", "start", "stop", "duration",
          "billable", "tag_ids", "tags", "at")


def client_for(sim, token=None):
    return TogglClient(sim.url, DirectAuth(token or sim.seed.api_token), min_interval=0,
                       retry=RetryPolicy.immediate(), wall_clock=sim.clock.now)


def sync_and_history(sim, path, **options):
    engine = open_database(str(path))
    client = client_for(sim)
    synced = run_sync(engine, client, clock=sim.clock.now)
    assert synced.exit_code == ExitCode.OK, synced.summary()
    result = History(engine, client, clock=sim.clock.now).run(HistoryOptions(**options))
    return engine, client, result


def stored(path):
    db = sqlite3.connect(str(path))
    db.row_factory = sqlite3.Row
    try:
        return {r["id"]: dict(r) for r in db.execute("SELECT * FROM time_entries")}
    finally:
        db.close()


def as_stored(entry):
    """A simulator entry (read-shaped) in the table's terms, for a field-for-field comparison."""
    start, stop = parse_ts(entry["start"]), parse_ts(entry["stop"])
    return {
        "id": entry["id"], "workspace_id": entry["workspace_id"], "user_id": entry["user_id"],
        "project_id": entry["project_id"], "task_id": entry["task_id"],
        # The detailed report says "" for an entry without a description (GET /me/time_entries: null).
        "description": entry["description"] or None,
        "start": start, "stop": stop, "duration": entry["duration"], "billable": entry["billable"],
        "tag_ids": sorted(entry["tag_ids"] or []), "tags": None, "at": parse_ts(entry["at"]),
    }


def row_fields(row):
    import json

    return {
        "id": row["id"], "workspace_id": row["workspace_id"], "user_id": row["user_id"],
        "project_id": row["project_id"], "task_id": row["task_id"], "description": row["description"] or None,
        "start": parse_ts(row["start"]), "stop": parse_ts(row["stop"]), "duration": row["duration"],
        "billable": bool(row["billable"]), "tag_ids": json.loads(row["tag_ids"]), "tags": None,
        "at": parse_ts(row["at"]),
    }


def tag_names(sim, entry):
    return [sim.state.tags[t].name for t in sorted(entry["tag_ids"] or [])]


def finished(sim, user_ids=None):
    return {e["id"]: e for e in sim.state.all_time_entries()
            if e["stop"] is not None and (user_ids is None or e["user_id"] in user_ids)}


def assert_same_as_simulator(sim, path, user_ids):
    rows = stored(path)
    expected = finished(sim, user_ids)
    running = {e["id"] for e in sim.state.all_time_entries() if e["stop"] is None and e["user_id"] in user_ids}
    assert set(rows) - running == set(expected), "every entry, and no one else's"
    for entry_id, entry in expected.items():
        assert row_fields(rows[entry_id]) == as_stored(entry), entry_id
        import json

        assert json.loads(rows[entry_id]["tags"]) == tag_names(sim, entry), entry_id


def report_requests(sim):
    return sim.log.find("POST", REPORTS)


def page_fetches(sim):
    """How often each page (range and cursor) was asked for."""
    counts: dict[tuple, int] = {}
    for record in report_requests(sim):
        body = record.json
        key = (body["start_date"], body.get("first_id"), body.get("first_row_number"), tuple(body.get("user_ids") or ()))
        counts[key] = counts.get(key, 0) + 1
    return counts


@pytest.fixture
def years(make_sim):
    """The user's 3,000 entries over five years, two colleagues' (300 each) in the same workspace."""
    return make_sim(entries=3000, years=5, members=2, member_entries=300, seed=3, now=NOW, org_quota=10**6)


# --- the whole history, field for field ----------------------------------------------------------


def test_sync_then_history_has_every_entry_of_the_user_field_for_field_and_no_one_elses(years, tmp_path):
    path = tmp_path / "h.db"
    years.log.clear()
    engine, client, result = sync_and_history(years, path)
    assert result.complete and result.exit_code == ExitCode.OK, result.summary()
    assert_same_as_simulator(years, path, {years.seed.user_id})
    # JSON pages: one request per 50 entries, plus at most one short page per yearly range.
    old = sum(1 for e in finished(years, {years.seed.user_id}).values() if parse_ts(e["start"]) < NOW - timedelta(days=88))
    ranges = sqlite3.connect(str(path)).execute("SELECT count(*) FROM history_ranges").fetchone()[0]
    assert ranges == 7  # 2019 (from the account's creation) to 2025
    assert len(report_requests(years)) <= math.ceil(old / 50) + ranges
    sources = {r["source"] for r in stored(path).values() if parse_ts(r["start"]) < NOW - timedelta(days=95)}
    assert sources == {"report"}
    # Views and tags join as for synced rows.
    db = sqlite3.connect(str(path))
    old_tagged = db.execute("SELECT count(*) FROM time_entry_tags t JOIN time_entries e ON e.id = t.time_entry_id "
                            "WHERE e.source = 'report'").fetchone()[0]
    in_view = db.execute("SELECT count(*) FROM entries WHERE start < '2024-01-01'").fetchone()[0]
    assert old_tagged > 0 and in_view > 0
    # Done: another run costs nothing.
    years.log.clear()
    again = History(engine, client, clock=years.clock.now).run()
    assert again.complete and again.requests == 0


def test_grouped_pages_cost_fewer_requests_than_one_a_fifty_entries_and_lose_nothing(years, tmp_path):
    """Trackers repeat themselves ("Code review", the same project and tags): the history asks
    for grouped rows, a row holding every entry that shares them, so a page brings far more
    than 50 entries, each with its own id and times."""
    path = tmp_path / "g.db"
    years.log.clear()
    _, _, result = sync_and_history(years, path)
    assert result.complete, result.summary()
    assert_same_as_simulator(years, path, {years.seed.user_id})
    old = sum(1 for e in finished(years, {years.seed.user_id}).values() if parse_ts(e["start"]) < NOW - timedelta(days=88))
    assert all(r.json["grouped"] is True for r in report_requests(years))
    # This seed varies project, tags and billable at random (few entries share all of them):
    # 46 requests where one a 50 entries would take 58.
    assert len(report_requests(years)) < math.ceil(old / 50) * 0.85, (len(report_requests(years)), old)


def test_a_page_stored_in_slices_is_whole_and_asked_once(years, tmp_path, monkeypatch):
    """A grouped page can hold thousands of entries: stored a slice per transaction (the
    write lock is never held long), the cursor with the last one."""
    import togglsync.sync.history as history_module

    monkeypatch.setattr(history_module, "STORE_SLICE", 7)
    path = tmp_path / "s.db"
    years.log.clear()
    _, _, result = sync_and_history(years, path)
    assert result.complete, result.summary()
    assert_same_as_simulator(years, path, {years.seed.user_id})
    assert max(page_fetches(years).values()) == 1


def test_every_entry_its_own_group_costs_no_more_than_one_request_a_fifty_entries(years, tmp_path):
    """The worst case for grouping: no two entries alike. Still one request per 50 entries,
    plus at most one short page per yearly range."""
    for entry in years.state.entries.values():
        entry.description = f"unique {entry.id}"
    years.state.version += 1
    path = tmp_path / "u.db"
    years.log.clear()
    _, _, result = sync_and_history(years, path)
    assert result.complete, result.summary()
    assert_same_as_simulator(years, path, {years.seed.user_id})
    old = sum(1 for e in finished(years, {years.seed.user_id}).values() if parse_ts(e["start"]) < NOW - timedelta(days=88))
    ranges = sqlite3.connect(str(path)).execute("SELECT count(*) FROM history_ranges").fetchone()[0]
    assert math.ceil(old / 50) <= len(report_requests(years)) <= math.ceil(old / 50) + ranges


def test_all_users_brings_every_members_entries(years, tmp_path):
    path = tmp_path / "h.db"
    engine, client, mine = sync_and_history(years, path)
    result = History(engine, client, clock=years.clock.now).run(HistoryOptions(all_users=True))
    assert result.complete, result.summary()
    assert_same_as_simulator(years, path, {years.seed.user_id, *years.seed.member_ids})
    # The next regular sync (a full re-sync of the window) keeps the colleagues' recent entries.
    synced = run_sync(engine, client, SyncOptions(full_entries=True), clock=years.clock.now)
    assert synced.exit_code == ExitCode.OK
    assert_same_as_simulator(years, path, {years.seed.user_id, *years.seed.member_ids})


def test_all_users_is_one_error_line_for_a_member(make_sim, tmp_path, monkeypatch):
    from conftest import invoke_cli

    sim = make_sim(entries=300, years=1, seed=4, now=NOW, quotas=False, role="user")
    env = {"TOGGL_API_TOKEN": sim.seed.api_token, "TOGGLSYNC_API_URL": sim.url, "TOGGLSYNC_PACING": "0",
           "TOGGLSYNC_DB": str(tmp_path / "m.db")}
    assert invoke_cli(["sync"], env=env).exit_code == 0
    sim.log.clear()
    refused = invoke_cli(["history", "--all-users"], env=env)
    assert refused.exit_code == ExitCode.AUTH
    assert refused.output.strip().count("\n") == 0 and refused.output.startswith("Error: ")
    assert "not an admin" in refused.output and sim.log.count() == 0
    # Their own history works.
    assert invoke_cli(["history"], env=env).exit_code == 0


def test_a_member_asking_the_server_for_others_gets_403(make_sim):
    from togglsync.errors import AuthError

    sim = make_sim(entries=100, years=1, members=1, member_entries=50, seed=4, now=NOW, quotas=False, role="user")
    client = client_for(sim)
    with pytest.raises(AuthError):
        client.report_page(sim.seed.workspace_id, {"start_date": "2024-01-01", "user_ids": sim.seed.member_ids})


# --- after the history: the regular sync takes over ---------------------------------------------


def test_the_regular_sync_takes_old_entries_over_and_brings_their_edits_and_deletions(years, tmp_path):
    path = tmp_path / "h.db"
    engine, client, _ = sync_and_history(years, path)
    rows = stored(path)
    old = sorted(i for i, r in rows.items() if r["source"] == "report")
    edited, deleted = old[10], old[20]
    years.clock.advance(600)
    assert years.app.act_as_user("PUT", f"/workspaces/{years.seed.workspace_id}/time_entries/{edited}",
                                 {"description": "Edited years later"})[0] == 200
    assert years.app.act_as_user("DELETE", f"/workspaces/{years.seed.workspace_id}/time_entries/{deleted}", None)[0] == 200
    years.log.clear()
    synced = run_sync(engine, client, clock=years.clock.now)
    assert synced.exit_code == ExitCode.OK and synced.requests == 1  # the since pull lists changes of old entries too
    after = stored(path)
    assert after[edited]["description"] == "Edited years later" and after[edited]["source"] == "sync"
    assert '"server_deleted_at"' in after[edited]["raw"]  # now the record as GET /me/time_entries has it
    assert deleted not in after
    assert len(after) == len(rows) - 1
    # A history run afterwards does not take the entry back to the report's version.
    History(engine, client, clock=years.clock.now).run(HistoryOptions(since=date(2019, 1, 1)))
    assert stored(path)[edited]["source"] == "sync" and deleted not in stored(path)


def test_a_report_row_never_replaces_the_syncs_version_of_the_same_entry(years, tmp_path):
    path = tmp_path / "h.db"
    sync_and_history(years, path)
    # The day where the history and the sync's window meet is fetched by both: one row each, the sync's.
    rows = stored(path)
    boundary = hp.window_start(NOW, 89)
    on_boundary = [r for r in rows.values() if parse_ts(r["start"]).date() == boundary]
    assert on_boundary and {r["source"] for r in on_boundary} == {"sync"}


# --- stops and resumes ---------------------------------------------------------------------------


def test_a_402_mid_way_exits_with_the_quota_code_and_the_next_run_resumes(years, tmp_path):
    from conftest import invoke_cli

    env = {"TOGGL_API_TOKEN": years.seed.api_token, "TOGGLSYNC_API_URL": years.url, "TOGGLSYNC_PACING": "0",
           "TOGGLSYNC_DB": str(tmp_path / "q.db")}
    assert invoke_cli(["sync"], env=env).exit_code == 0
    assert "History:   the last 89 days only" in invoke_cli(["status"], env=env).output
    years.log.clear()
    first = invoke_cli(["history", "--budget", "3"], env=env)
    assert first.exit_code == ExitCode.OK and "stopped early: budget" in first.output
    assert "History:   since 2019-10-01, 7 ranges left (about " in invoke_cli(["status"], env=env).output
    # The quota is spent by someone else mid-way (it resets at once, so the test need not wait).
    years.faults.add(status=402, method="POST", path=REPORTS, body="You have hit your hourly limit",
                     headers={"X-Toggl-Quota-Remaining": "0", "X-Toggl-Quota-Resets-In": "0"})
    stopped = invoke_cli(["history"], env=env)
    assert stopped.exit_code == ExitCode.QUOTA, stopped.output
    assert "Error: " in stopped.output
    finished_run = invoke_cli(["history"], env=env)
    assert finished_run.exit_code == 0 and "history complete since 2019-10-01" in finished_run.output
    assert "History:   complete since 2019-10-01" in invoke_cli(["status"], env=env).output
    assert_same_as_simulator(years, tmp_path / "q.db", {years.seed.user_id})
    fetched = page_fetches(years)
    assert max(fetched.values()) == 2 and sum(1 for n in fetched.values() if n == 2) == 1  # only the refused page


def test_a_kill_at_random_points_converges_with_no_page_fetched_more_than_twice(make_sim, tmp_path):
    """Ten runs of `togglsync history` killed (SIGKILL) at random moments, then one to the end:
    the database is the one an uninterrupted run makes, and no page was asked for more than twice.

    Each kill comes at a random moment after the run's second to fifth report request reached
    the server (a run asks for a page only once the one before is stored): a kill at a random
    wall time could land three times on one page while a slow machine starts the processes,
    which says nothing about the history."""
    sim = make_sim(entries=2500, years=4, seed=8, org_quota=10**6, latency=0.01)
    clean = tmp_path / "clean.db"
    env = {**os.environ, "TOGGL_API_TOKEN": sim.seed.api_token, "TOGGLSYNC_API_URL": sim.url,
           "TOGGLSYNC_PACING": "0", "TOGGLSYNC_HOME": str(tmp_path / "home")}

    def togglsync(db, *args, kill_after=None):
        process = subprocess.Popen([sys.executable, "-m", "togglsync", "--db", str(db), *args], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if kill_after is None:
            _, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
            return
        asked, after = kill_after
        before = len(report_requests(sim))
        deadline = time.monotonic() + 60
        while len(report_requests(sim)) - before < asked and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(after)  # somewhere in the storing of the page in flight, or its request
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        # The server logs a request once it has answered it: the killed run's last one may be
        # logged after the next run began, and counted as that run's. Wait for the log to settle.
        settled, seen = time.monotonic(), len(report_requests(sim))
        while time.monotonic() - settled < 0.2:
            time.sleep(0.01)
            if len(report_requests(sim)) != seen:
                settled, seen = time.monotonic(), len(report_requests(sim))

    togglsync(clean, "sync")
    togglsync(clean, "history")
    killed = tmp_path / "killed.db"
    togglsync(killed, "sync")
    sim.log.clear()
    rng = random.Random(14)
    for _ in range(10):
        togglsync(killed, "history", kill_after=(rng.randint(2, 5), rng.uniform(0.0, 0.08)))
    togglsync(killed, "history")
    ours, theirs = stored(killed), stored(clean)
    assert set(ours) == set(theirs)
    for entry_id, row in theirs.items():
        assert row_fields(ours[entry_id]) == row_fields(row) and ours[entry_id]["source"] == row["source"]
    fetched = page_fetches(sim)
    assert max(fetched.values()) <= 2
    assert sum(1 for n in fetched.values() if n == 2) >= 3, "the kills stopped runs with a page in flight"


def test_budget_stops_and_the_next_run_fetches_no_stored_page_again(years, tmp_path):
    path = tmp_path / "b.db"
    engine = open_database(str(path))
    client = client_for(years)
    run_sync(engine, client, clock=years.clock.now)
    years.log.clear()
    runs = 0
    while True:
        client.budget = client.requests_sent + 7
        result = History(engine, client, clock=years.clock.now).run()
        client.budget = None
        runs += 1
        if result.complete:
            break
        assert result.stopped == "budget"
    assert runs > 3 and max(page_fetches(years).values()) == 1
    assert_same_as_simulator(years, path, {years.seed.user_id})


# --- within the quota, on a schedule ------------------------------------------------------------


def test_scheduled_syncs_finish_a_20000_entry_history_on_a_free_plan_and_never_fail(make_sim, tmp_path):
    """Every 15 minutes (the simulator's clock) a scheduled sync, which pushes two entries made
    here: 30 organization requests an hour. The history completes within two days, and no
    sync ever stops for lack of quota."""
    from togglsync.local import LocalStore

    sim = make_sim(entries=21000, years=3, seed=9, now=NOW, plan="free")
    path = tmp_path / "s.db"
    engine = open_database(str(path))
    client = client_for(sim)
    store = LocalStore(engine, clock=sim.clock.now)
    syncs, complete_after = 0, None
    while syncs < 4 * 48:
        when = sim.clock.now()
        if syncs:
            store.add_entry(f"made here {syncs}", start=when - timedelta(minutes=30), stop=when - timedelta(minutes=20),
                            workspace_id=sim.seed.workspace_id)
        result = run_sync(engine, client, SyncOptions(history=HistoryOptions()), clock=sim.clock.now)
        syncs += 1
        assert result.exit_code == ExitCode.OK and result.stopped is None, result.summary()
        assert result.history is not None and not result.history["error"], result.history
        if result.history["complete"]:
            complete_after = sim.clock.now() - NOW
            break
        sim.clock.advance(15 * 60)
    assert complete_after is not None and complete_after <= timedelta(hours=48), syncs
    assert_same_as_simulator(sim, path, {sim.seed.user_id})
    # History complete, nothing changed: a sync costs exactly one request.
    sim.clock.advance(15 * 60)
    quiet = run_sync(engine, client, SyncOptions(history=HistoryOptions()), clock=sim.clock.now)
    assert quiet.requests == 1, quiet.summary()


# --- the plan, pure -----------------------------------------------------------------------------


def test_year_ranges_and_what_a_later_since_adds():
    assert hp.year_ranges(date(2019, 3, 2), date(2021, 2, 1)) == [
        (date(2021, 1, 1), date(2021, 2, 1)), (date(2020, 1, 1), date(2020, 12, 31)), (date(2019, 3, 2), date(2019, 12, 31))]
    stored = [hp.RangeState(1, hp.ME, date(2020, 1, 1), date(2020, 6, 1))]
    assert hp.ranges_to_add(stored, date(2020, 1, 1), date(2021, 6, 1)) == []  # never forward
    assert hp.ranges_to_add(stored, date(2019, 5, 1), date(2021, 6, 1)) == [(date(2019, 5, 1), date(2019, 12, 31))]


def test_an_account_younger_than_the_window_has_nothing_older_and_a_complete_history():
    """Its start after the window's first day: one empty range, done when planned (no request),
    so the history is complete; a later `--since` adds what it asks for, up to the window."""
    young = hp.ranges_to_add([], date(2025, 5, 1), date(2025, 3, 18))
    assert young == [hp.nothing_older(date(2025, 5, 1))] and hp.is_empty(*young[0])
    marker = hp.RangeState(1, hp.ME, *young[0], done=True)
    assert marker.days == 0 and hp.complete([marker])
    status = hp.describe([marker], per_hour=30)
    assert (status.started, status.complete, status.since, status.ranges_left, status.entries) == (
        True, True, "2025-05-01", 0, 0)
    assert hp.ranges_to_add([marker], date(2024, 11, 1), date(2025, 3, 18)) == [
        (date(2025, 1, 1), date(2025, 3, 18)), (date(2024, 11, 1), date(2024, 12, 31))]


def test_the_reserve_and_the_quota_window():
    now = datetime(2025, 1, 1, 12, tzinfo=timezone.utc)
    seen = [hp.Observation("workspace:1", 11, now + timedelta(minutes=5), now - timedelta(minutes=1)),
            hp.Observation("workspace:2", 10, now + timedelta(minutes=5), now)]
    pools = hp.organization_pools(1, {1: 7, 2: 7, 3: 8})
    assert pools == {"workspace:1", "workspace:2", "organization:7"}
    latest = hp.remaining(seen, pools, now)
    assert latest is not None and latest.remaining == 10 and not hp.may_spend(latest)
    assert hp.may_spend(hp.remaining(seen, {"workspace:1"}, now))
    assert hp.remaining(seen, pools, now + timedelta(minutes=6)) is None  # the window reset: whole again


def test_the_estimate_from_what_is_stored():
    done = hp.RangeState(1, hp.ME, date(2024, 1, 1), date(2024, 12, 31), {}, 20, 1000, done=True)
    todo = hp.RangeState(1, hp.ME, date(2023, 1, 1), date(2023, 12, 31))
    left = hp.estimate([done, todo], per_hour=30)
    assert 990 <= left.entries <= 1010 and left.requests == math.ceil(left.entries / 50) + 1
    assert left.hours == pytest.approx(left.requests / 20)


@pytest.mark.slow
def test_fifty_thousand_entries_over_five_years(make_sim, tmp_path):
    """The issue's size: 50,000 of the user's entries over five years, two colleagues' beside them."""
    sim = make_sim(entries=50000, years=5, members=2, member_entries=2000, seed=21, now=NOW, org_quota=10**6,
                   user_quota=10**6)
    path = tmp_path / "big.db"
    sim.log.clear()
    engine, client, result = sync_and_history(sim, path)
    assert result.complete, result.summary()
    assert_same_as_simulator(sim, path, {sim.seed.user_id})
    old = sum(1 for e in finished(sim, {sim.seed.user_id}).values() if parse_ts(e["start"]) < NOW - timedelta(days=88))
    print(f"{old} old entries: {len(report_requests(sim))} report requests (one a 50 entries: {math.ceil(old / 50)})")
    assert len(report_requests(sim)) <= math.ceil(old / 50) * 1.05
    everyone = History(engine, client, clock=sim.clock.now).run(HistoryOptions(all_users=True))
    assert everyone.complete
    assert_same_as_simulator(sim, path, {sim.seed.user_id, *sim.seed.member_ids})


def test_a_scheduled_sync_goes_on_with_history_unless_the_setting_is_off(years, tmp_path):
    from conftest import invoke_cli

    env = {"TOGGL_API_TOKEN": years.seed.api_token, "TOGGLSYNC_API_URL": years.url, "TOGGLSYNC_PACING": "0",
           "TOGGLSYNC_DB": str(tmp_path / "off.db"), "TOGGLSYNC_SYNC_HISTORY": "off"}
    assert invoke_cli(["sync", "--log"], env=env).exit_code == 0
    assert not report_requests(years)
    assert invoke_cli(["sync"], env={**env, "TOGGLSYNC_SYNC_HISTORY": None}).exit_code == 0
    assert not report_requests(years)  # an interactive sync: only when asked (--history)
    scheduled = invoke_cli(["sync", "--log", "--budget", "12"], env={**env, "TOGGLSYNC_SYNC_HISTORY": None})
    assert scheduled.exit_code == 0 and len(report_requests(years)) == 11  # what the sync's one request left
    assert "; history +" in (tmp_path / "togglsync-home" / "sync.log").read_text().splitlines()[-1]
    assert invoke_cli(["sync", "--history"], env=env).exit_code == 0
    assert len(report_requests(years)) > 11


def test_two_accounts_in_one_workspace_each_have_their_own_history(make_sim, tmp_path):
    """Two accounts sharing a workspace (issue 15): each one's history is its own user's entries,
    its ranges its own (`history_ranges.account`): the second never finds the first's ranges done."""
    from togglsync import accounts

    sim = make_sim(entries=300, years=3, members=1, member_entries=200, seed=3, now=NOW, org_quota=10**6)
    path = tmp_path / "two.db"
    engine, _, mine = sync_and_history(sim, path)
    assert mine.complete, mine.summary()
    colleague, token = sim.seed.member_ids[0], sim.seed.member_tokens[0]
    with engine.begin() as conn:
        accounts.add(conn, "ana", sim.clock.now())
    client = client_for(sim, token)
    assert run_sync(engine, client, clock=sim.clock.now, account="ana").exit_code == ExitCode.OK
    sim.log.clear()
    theirs = History(engine, client, clock=sim.clock.now, account="ana").run()
    assert theirs.complete and theirs.stored > 0, theirs.summary()
    # Every report request of ana's history asked for ana's entries, with ana's token.
    assert {tuple(r.json.get("user_ids") or ()) for r in report_requests(sim)} == {(colleague,)}
    assert_same_as_simulator(sim, path, {sim.seed.user_id, colleague})
    db = sqlite3.connect(str(path))
    by_account = dict(db.execute("SELECT account, count(*) FROM history_ranges GROUP BY account").fetchall())
    assert set(by_account) == {"main", "ana"} and by_account["main"] == by_account["ana"]
    # Each is done for its own account: another run of either costs nothing.
    sim.log.clear()
    assert History(engine, client_for(sim), clock=sim.clock.now).run().requests == 0
    assert History(engine, client, clock=sim.clock.now, account="ana").run().requests == 0


def test_a_history_stopped_for_the_reserve_says_when_it_goes_on_in_the_display_zone(make_sim, tmp_path):
    import re

    from conftest import invoke_cli

    sim = make_sim(entries=1500, years=3, seed=5, now=NOW, org_quota=25)
    env = {"TOGGL_API_TOKEN": sim.seed.api_token, "TOGGLSYNC_API_URL": sim.url, "TOGGLSYNC_PACING": "0",
           "TOGGLSYNC_DB": str(tmp_path / "r.db")}
    assert invoke_cli(["sync"], env=env).exit_code == 0
    stopped = invoke_cli(["--tz", "Asia/Tokyo", "history"], env=env)
    assert stopped.exit_code == ExitCode.OK, stopped.output
    assert "stopped to keep 10 requests for the regular sync" in stopped.output
    assert re.search(r"goes on after the quota resets at \d{4}-\d\d-\d\d \d\d:\d\d JST\)", stopped.output), stopped.output
