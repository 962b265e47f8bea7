"""The everyday commands: start, stop, continue, cancel, status, add, edit, rm, log.

They work on the local database alone: most tests run on a copy of a synced
database whose simulator is down (`offline`); the ones that push afterwards
use the conftest `synced` home and check what reached the simulator.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from test_cli_tracking_support import (
    back_online,
    dump,
    entries,
    error_line,
    offline_copy,
    ok,
    online,
    pending,
    running,
    synced_template,
)

from togglsync.db.open import open_database
from togglsync.errors import UsageError
from togglsync.local import LocalStore


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return synced_template(tmp_path_factory)


@pytest.fixture
def offline(template, tmp_path):
    return offline_copy(template, tmp_path)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def ts(value: str) -> datetime:
    """A UTC text timestamp from the database -> aware datetime."""
    return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)


def server_entries(sim, description: str) -> list[dict]:
    return [e for e in sim.state.all_time_entries() if e.get("description") == description]


def server_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


# --- zero requests, offline -------------------------------------------------------------------


def test_start_stop_status_send_no_request(synced):
    home = online(synced)
    before = synced.requests()
    ok(home.run("status"))
    out = ok(home.run("start", "Quiet work", "-p", "website relaunch", "-t", "CAFÉ"))
    assert 'Started L' in out and '"Quiet work" [Website relaunch] #café' in out
    ok(home.run("status", "--json"))
    ok(home.run("stop"))
    ok(home.run("log"))
    assert synced.requests() == before


def test_every_command_works_offline(offline):
    seeded = running(offline)
    assert seeded is not None and seeded["id"] > 0  # the simulator's running timer, synced

    out = ok(offline.run("start", "Offline", "-t", "meeting"))
    assert f"Stopped {seeded['id']} " in out  # the running timer stops at the new start
    [timer] = entries(offline, "Offline")
    assert timer["id"] < 0 and timer["duration"] == -1
    assert ts(entries(offline, seeded["description"])[-1]["stop"]) == ts(timer["start"])

    ok(offline.run("stop"))
    ok(offline.run("continue"))  # the most recent stopped entry: "Offline"
    [_, again] = entries(offline, "Offline")
    assert again["duration"] == -1 and json.loads(again["tags"]) == ["meeting"]
    ok(offline.run("cancel"))
    assert running(offline) is None and len(entries(offline, "Offline")) == 1

    ok(offline.run("add", "Added", "--start", "2026-11-02 09:00", "--duration", "1h30m"))
    ok(offline.run("edit", "-1", "--description", "Edited"))
    ok(offline.run("rm", "-1"))
    ok(offline.run("log", "--week"))
    status = json.loads(ok(offline.run("status", "--json")))
    assert status["running"] is None and status["pending"] == len(pending(offline))


# --- the timer reaches Toggl with the offline times ----------------------------------------


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_offline_timer_then_sync_sends_the_offline_stop_time(synced):
    home = online(synced)
    synced.sim.stop()
    ok(home.run("stop"))  # the seeded timer
    ok(home.run("start", "Written offline", "--at", "-40m"))
    ok(home.run("stop", "--at", "-5m"))
    [local] = entries(home, "Written offline")
    assert local["id"] < 0 and abs(local["duration"] - 35 * 60) <= 2  # two commands, two "now"s

    back_online(home)
    out = ok(home.run("sync"))
    assert "pushed 2" in out
    [server] = server_entries(synced.sim, "Written offline")
    assert server_time(server["stop"]) == ts(local["stop"])  # the offline stop, not the sync time
    assert server_time(server["start"]) == ts(local["start"]) and server["duration"] == local["duration"]
    [after] = entries(home, "Written offline")
    assert after["id"] == server["id"] and pending(home) == []


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_project_and_tag_created_offline_with_create(synced):
    home = online(synced)
    synced.sim.stop()
    result = home.run("start", "New things", "-p", "Brand new", "-t", "fresh", "-t", "urgent", "--create")
    out = ok(result)
    assert 'Created project L' in out and 'Created tag L' in out
    [timer] = entries(home, "New things")
    project_id = home.sql("SELECT id FROM projects WHERE name = 'Brand new'")[0][0]
    assert project_id < 0 and timer["project_id"] == project_id
    ok(home.run("stop"))
    # The names are known now: no --create needed, and a second --create creates nothing.
    out = ok(home.run("add", "More", "--start", "2026-11-02 09:00", "--duration", "1h", "-p", "brand NEW", "--create"))
    assert "Created" not in out
    assert [r[0] for r in pending(home)].count("create") == 4  # project, tag, two entries

    back_online(home)
    ok(home.run("sync"))
    [server] = server_entries(synced.sim, "New things")
    [(project_id,)] = home.sql("SELECT id FROM projects WHERE name = 'Brand new'")
    assert project_id > 0 and server["project_id"] == project_id
    assert [p.id for p in synced.sim.state.projects.values() if p.name == "Brand new"] == [project_id]
    assert sorted(server["tags"]) == ["fresh", "urgent"]
    assert pending(home) == []


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_cancel_of_an_unpushed_timer_sends_nothing(synced):
    home = online(synced)
    ok(home.run("stop"))
    ok(home.run("start", "Never mind"))
    out = ok(home.run("cancel"))
    assert "never sent to Toggl" in out
    assert entries(home, "Never mind") == []
    assert [op[:2] for op in pending(home)] == [("update", "time_entry")]  # only the stop of the seeded timer

    synced.sim.log.clear()
    ok(home.run("sync"))
    writes = [r for r in synced.sim.log.records if r.method in ("POST", "PUT", "PATCH", "DELETE")]
    assert len(writes) == 1 and "Never mind" not in json.dumps(writes[0].json)
    assert server_entries(synced.sim, "Never mind") == []


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_cancel_of_a_pushed_timer_deletes_it_on_toggl(synced):
    home = online(synced)
    seeded = running(home)
    out = ok(home.run("cancel"))
    assert "Toggl deletes it on the next sync" in out
    assert pending(home) == [("delete", "time_entry", seeded["id"], "queued")]
    ok(home.run("sync"))
    assert all(e["id"] != seeded["id"] for e in synced.sim.state.all_time_entries())


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_sync_option_pushes_right_after_the_change(synced):
    home = online(synced)
    out = ok(home.run("start", "Pushed at once", "--sync"))
    lines = out.strip().splitlines()
    assert lines[-1].startswith("sync: ") and "pushed 2" in lines[-1]  # the stop of the seeded timer, the create
    [server] = server_entries(synced.sim, "Pushed at once")
    assert server["stop"] is None and pending(home) == []
    out = ok(home.run("stop", "--sync"))
    assert out.strip().splitlines()[-1].startswith("sync: ")
    assert server_entries(synced.sim, "Pushed at once")[0]["stop"] is not None


def test_sync_option_failure_keeps_the_change(offline):
    result = offline.run("start", "Kept", "--sync")
    assert result.exit_code == 6, result.output  # the simulator is down: network error
    assert 'Started L' in result.stdout
    assert "not synced" in result.stderr or "sync: " in result.stderr
    assert entries(offline, "Kept")[0]["duration"] == -1


# --- continue, ids ------------------------------------------------------------------------


def test_continue_minus_one_copies_the_entry(offline):
    ok(offline.run("stop"))
    ok(offline.run(  # planned for later today: the most recent entry by start
        "add", "Template", "--start", "+1h", "--duration", "1h", "-p", "Internal tools", "-t", "review",
        "-t", "deep-work", "--billable",
    ))
    out = ok(offline.run("continue", "-1"))
    assert 'Started L' in out and '"Template" [Internal tools]' in out
    new, template_row = entries(offline, "Template")  # the copy starts now, before the planned one
    for key in ("project_id", "tags", "tag_ids", "billable", "workspace_id"):
        assert new[key] == template_row[key], key
    assert new["duration"] == -1 and new["billable"] == 1 and new["id"] == running(offline)["id"]


def test_continue_refuses_the_running_timer_and_stops_another(offline):
    seeded = running(offline)
    assert "running timer" in error_line(offline.run("continue", "-1"))
    # -2 is the entry before the running one: continuing it stops the running timer.
    [(previous_description,)] = offline.sql(
        "SELECT description FROM time_entries ORDER BY start DESC, id DESC LIMIT 1 OFFSET 1"
    )
    out = ok(offline.run("continue", "-2"))
    assert out.startswith(f"Stopped {seeded['id']} ")
    [(duration,)] = offline.sql("SELECT duration FROM time_entries WHERE id = ?", seeded["id"])
    new = running(offline)
    assert duration >= 0 and new["id"] < 0 and new["description"] == previous_description


def test_relative_local_and_toggl_ids(offline):
    # Planned for later: the two most recent entries by start.
    ok(offline.run("add", "First", "--start", "+1h", "--duration", "10m"))
    ok(offline.run("add", "Second", "--start", "+2h", "--duration", "10m"))
    [first], [second] = entries(offline, "First"), entries(offline, "Second")
    local_id = f"L{-first['id']}"

    ok(offline.run("edit", "-1", "-d", "Second (edited)"))  # -1: the most recent by start
    assert entries(offline, "Second (edited)")[0]["id"] == second["id"]
    ok(offline.run("edit", local_id, "--billable"))
    assert entries(offline, "First")[0]["billable"] == 1

    toggl_id = offline.sql("SELECT id FROM time_entries WHERE id > 0 ORDER BY start DESC LIMIT 1")[0][0]
    ok(offline.run("edit", toggl_id, "--add-tag", "meeting", "--remove-tag", "urgent"))
    tags = json.loads(offline.sql("SELECT tags FROM time_entries WHERE id = ?", toggl_id)[0][0])
    assert "meeting" in tags and "urgent" not in tags

    # rm -1 -2 means the two most recent, both resolved before deleting.
    out = ok(offline.run("rm", "-1", "-2"))
    assert out.count("Deleted") == 2
    assert entries(offline, "First") == [] and entries(offline, "Second (edited)") == []
    assert pending(offline) == [("update", "time_entry", toggl_id, "queued")]  # the creates vanished with them


# --- edit ------------------------------------------------------------------------------------


def test_edit_fields_and_times(offline):
    ok(offline.run("stop"))
    ok(offline.run("add", "Draft", "--start", "2026-11-02 09:00", "--stop", "10:00", "-t", "review"))
    [entry] = entries(offline, "Draft")
    lid = f"L{-entry['id']}"
    ok(offline.run("--tz", "UTC", "edit", lid, "--start", "8:30"))  # on the entry's day, in the zone given
    [entry] = entries(offline, "Draft")
    assert ts(entry["start"]) == utc(2026, 11, 2, 8, 30) and ts(entry["stop"]) == utc(2026, 11, 2, 9)
    assert entry["duration"] == 1800
    ok(offline.run("--tz", "UTC", "edit", lid, "--duration", "2h", "-p", "Mobile app", "--tags", "café, meeting"))
    [entry] = entries(offline, "Draft")
    assert ts(entry["stop"]) == utc(2026, 11, 2, 10, 30) and entry["duration"] == 7200
    assert sorted(json.loads(entry["tags"])) == ["café", "meeting"]
    project = offline.sql("SELECT name FROM projects WHERE id = ?", entry["project_id"])[0][0]
    assert project == "Mobile app"
    ok(offline.run("edit", lid, "--project", "none", "--tags", "", "--description", ""))
    [row] = offline.sql("SELECT description, project_id, tags FROM time_entries WHERE id = ?", entry["id"])
    assert row == (None, None, "[]")
    [(op,)] = offline.sql("SELECT action FROM pending_operations WHERE record_id = ?", entry["id"])
    assert op == "create"  # edits of an unpushed entry ride on its create


def test_edit_stop_of_the_running_timer_stops_it(offline):
    seeded = running(offline)
    out = ok(offline.run("edit", "-1", "--stop", "now"))
    assert "Updated" in out
    [row] = offline.sql("SELECT duration, stop FROM time_entries WHERE id = ?", seeded["id"])
    assert row[0] >= 0 and row[1] is not None and running(offline) is None


# --- status ------------------------------------------------------------------------------------


def test_status_totals_pending_and_last_sync(offline):
    offline.execute("DELETE FROM time_entries", "DELETE FROM pending_operations")
    # Sunday 2026-10-25 13:00 in Paris (UTC+1 since the night); weeks start on Monday.
    with time_machine.travel(utc(2026, 10, 25, 12, 0), tick=False):
        tz = ("--tz", "Europe/Paris")
        ok(offline.run(*tz, "add", "Mon", "--start", "2026-10-19 09:00", "--duration", "1h"))
        ok(offline.run(*tz, "add", "Last week", "--start", "2026-10-18 23:30", "--duration", "5h"))
        ok(offline.run(*tz, "add", "Today", "--start", "2026-10-25 08:00", "--duration", "30m"))
        ok(offline.run(*tz, "start", "Running", "--at", "11:00"))  # 2 h by 13:00
        status = json.loads(ok(offline.run(*tz, "status", "--json")))
        text = ok(offline.run(*tz, "status"))
    assert status["running"]["description"] == "Running" and status["running"]["seconds"] == 7200
    assert status["running"]["id"].startswith("L")
    assert status["today"] == {"date": "2026-10-25", "seconds": 1800 + 7200}
    assert status["week"] == {"start": "2026-10-19", "seconds": 3600 + 1800 + 7200}
    assert status["pending"] == 4 and status["failed"] == 0
    assert status["last_sync"] is not None
    assert 'Running:   L' in text and '"Running" since 11:00 (2:00:00)' in text
    assert "Today:     2:30:00" in text and "This week: 3:30:00 (since Mon 2026-10-19)" in text
    assert "Pending:   4 changes to push" in text

    offline.execute("UPDATE pending_operations SET state = 'failed', error = 'rejected' WHERE id = (SELECT min(id) FROM pending_operations)")
    offline.execute("DELETE FROM sync_cursors")
    text = ok(offline.run("status"))
    assert "Pending:   4 changes to push (1 waiting for you: see `togglsync pending`)" in text and "Last sync: never" in text


def test_status_reports_the_age_of_the_last_sync(offline):
    [(updated_at,)] = offline.sql("SELECT updated_at FROM sync_cursors WHERE resource = 'time_entries'")
    with time_machine.travel(ts(updated_at) + timedelta(minutes=42, seconds=5), tick=False):
        text = ok(offline.run("status"))
        data = json.loads(ok(offline.run("status", "--json")))
    assert "Last sync: 42 min ago" in text
    assert data["last_sync_seconds_ago"] == 42 * 60 + 5


# --- log -------------------------------------------------------------------------------------


def test_log_defaults_to_today_with_local_ids_and_a_total(offline):
    offline.execute("DELETE FROM time_entries")
    with time_machine.travel(utc(2026, 11, 20, 15, 0), tick=False):  # 16:00 in Paris
        ok(offline.run("add", "Yesterday's", "--start", "yesterday 9:00", "--duration", "1h"))
        ok(offline.run("add", "Morning", "--start", "9:00", "--stop", "10:30", "-p", "Mobile app", "-t", "review"))
        ok(offline.run("start", "Afternoon", "--at", "15:00"))
        table = ok(offline.run("log", "--table"))
        data = json.loads(ok(offline.run("log", "--json")))
        csv_text = ok(offline.run("log", "--csv"))
        yesterday = json.loads(ok(offline.run("log", "--yesterday", "--json")))
    assert "Total: 2:30:00 in 2 entries" in table
    assert "Morning" in table and "Afternoon" in table and "Yesterday" not in table
    assert "09:00-10:30" in table and "15:00-running" in table and "2026-11-20" in table
    assert [r["description"] for r in data] == ["Morning", "Afternoon"]  # oldest first
    morning = data[0]
    assert morning["id"].startswith("L") and morning["unsynced"] is True
    assert morning["start"] == "2026-11-20T09:00:00+01:00" and morning["stop"] == "2026-11-20T10:30:00+01:00"
    assert morning["seconds"] == 5400 and morning["project"] == "Mobile app" and morning["tags"] == ["review"]
    assert data[1]["running"] is True and data[1]["seconds"] == 3600
    assert csv_text.splitlines()[0].startswith("id,date,start,stop,seconds,duration")
    assert [r["description"] for r in yesterday] == ["Yesterday's"]


def test_log_filters_and_ranges(offline):
    with time_machine.travel(utc(2026, 11, 20, 15, 0), tick=False):
        ok(offline.run("add", "Tagged", "--start", "2026-11-18 09:00", "--duration", "1h", "-t", "research"))
        ok(offline.run("add", "Other", "--start", "2026-11-18 11:00", "--duration", "1h", "-p", "Admin & ops"))
        week = json.loads(ok(offline.run("log", "--week", "--json")))
        tagged = json.loads(ok(offline.run("log", "--week", "-t", "RESEARCH", "--json")))
        project = json.loads(ok(offline.run("log", "--from", "2026-11-18", "--to", "2026-11-18", "-p", "admin & ops", "--json")))
    assert {"Tagged", "Other"} <= {r["description"] for r in week}
    assert all(r["date"] >= "2026-11-16" for r in week)  # Monday
    assert "Tagged" in {r["description"] for r in tagged} and all("research" in r["tags"] for r in tagged)
    assert "Other" in {r["description"] for r in project} and {r["project"] for r in project} == {"Admin & ops"}
    assert {r["date"] for r in project} == {"2026-11-18"}


# --- DST ---------------------------------------------------------------------------------------

PARIS = ("--tz", "Europe/Paris")


def test_add_across_the_spring_forward_gap(offline):
    ok(offline.run(*PARIS, "add", "Spring 1", "--start", "2026-03-29 01:30", "--stop", "2026-03-29 03:30"))
    ok(offline.run(*PARIS, "add", "Spring 2", "--start", "2026-03-29 01:45", "--duration", "30m"))
    [one], [two] = entries(offline, "Spring 1"), entries(offline, "Spring 2")
    # 01:30 CET = 00:30Z; 03:30 CEST = 01:30Z: one hour, not two.
    assert (ts(one["start"]), ts(one["stop"]), one["duration"]) == (utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 30), 3600)
    # 01:45 + 30 min = 03:15 on the wall clock.
    assert ts(two["stop"]) == utc(2026, 3, 29, 1, 15)
    out = ok(offline.run(*PARIS, "log", "--from", "2026-03-29", "--to", "2026-03-29", "--json"))
    mine = [r for r in json.loads(out) if r["description"].startswith("Spring")]
    assert [(r["start"], r["stop"]) for r in mine] == [
        ("2026-03-29T01:30:00+01:00", "2026-03-29T03:30:00+02:00"),
        ("2026-03-29T01:45:00+01:00", "2026-03-29T03:15:00+02:00"),
    ]


def test_add_across_the_fall_back_overlap_and_log_by_local_day(offline):
    adds = [
        ("Fall before", "2026-10-24 23:30", "1h"),  # 21:30Z: belongs to the 24th in Paris
        ("Fall 1", "2026-10-25 00:30", "1h"),  # 22:30Z on the 24th, but the 25th in Paris
        ("Fall 2", "2026-10-25 02:30", "1h"),  # ambiguous: the first 02:30 (CEST) = 00:30Z
        ("Fall 3", "2026-10-25 03:00", "30m"),  # 02:00Z
        ("Fall 4", "2026-10-25 23:30", "1h"),  # 22:30Z on the 25th
    ]
    for description, start, duration in adds:
        ok(offline.run(*PARIS, "add", description, "--start", start, "--duration", duration))
    starts = {d: ts(entries(offline, d)[0]["start"]) for d, _, _ in adds}
    assert starts == {
        "Fall before": utc(2026, 10, 24, 21, 30),
        "Fall 1": utc(2026, 10, 24, 22, 30),
        "Fall 2": utc(2026, 10, 25, 0, 30),
        "Fall 3": utc(2026, 10, 25, 2, 0),
        "Fall 4": utc(2026, 10, 25, 22, 30),
    }
    # Fall 2 runs 02:30 CEST -> 02:30 CET: one hour between the two 02:30s.
    assert ts(entries(offline, "Fall 2")[0]["stop"]) == utc(2026, 10, 25, 1, 30)

    out = json.loads(ok(offline.run(*PARIS, "log", "--from", "2026-10-25", "--to", "2026-10-25", "--json")))
    assert {r["date"] for r in out} == {"2026-10-25"}
    mine = {r["description"]: r for r in out if r["description"] and r["description"].startswith("Fall")}
    assert sorted(mine) == ["Fall 1", "Fall 2", "Fall 3", "Fall 4"]
    assert mine["Fall 2"]["start"] == "2026-10-25T02:30:00+02:00" and mine["Fall 2"]["stop"] == "2026-10-25T02:30:00+01:00"
    # Every entry starting on the 25th in Paris is listed, and only those (the day is 25 hours long).
    expected = offline.sql(
        "SELECT count(*) FROM time_entries WHERE start >= '2026-10-24 22:00:00' AND start < '2026-10-25 23:00:00'"
    )[0][0]
    assert len(out) == expected
    table = ok(offline.run(*PARIS, "log", "--from", "2026-10-25", "--to", "2026-10-25"))
    assert "02:30 CEST-02:30 CET" in table  # the two 02:30s told apart

    # Another zone cuts the days elsewhere: in New York (UTC-4) only Fall 4 starts on the 25th.
    ny = json.loads(ok(offline.run("--tz", "America/New_York", "log", "--from", "2026-10-25", "--to", "2026-10-25", "--json")))
    assert {r["description"] for r in ny} & {d for d, _, _ in adds} == {"Fall 4"}


# --- LocalStore additions ------------------------------------------------------------------------


def test_batch_is_all_or_nothing_and_continue_entry(offline):
    engine = open_database(offline.db)
    try:
        store = LocalStore(engine)
        before = dump(offline.db)
        with pytest.raises(UsageError), store.batch() as batch:
            batch.create_project("Half done")
            batch.start_timer("never", start=utc(2000, 1, 1))  # before the running timer: refused
        assert dump(offline.db) == before

        with pytest.raises(UsageError, match="is the running timer"):
            store.continue_entry(store.running_entry()["id"])
        earlier = offline.sql("SELECT id, description FROM time_entries WHERE duration >= 0 ORDER BY start DESC LIMIT 1")[0]
        entry = store.continue_entry(earlier[0])
        assert entry["description"] == earlier[1] and entry["duration"] == -1
    finally:
        engine.dispose()
