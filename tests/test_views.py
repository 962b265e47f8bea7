"""The `entries` and `daily_totals` views: local times across DST, running entries, tags, unsynced rows, sums.

Rows are inserted directly and `tz_offsets` is filled with store_zone, as a
sync does from the account's Toggl time zone. The last test checks that
`togglsync report --by day` cuts days exactly where the views do.
"""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, text

from togglsync.db.open import open_database
from togglsync.db.models import (
    Account,
    Client,
    Project,
    Tag,
    TimeEntry,
    TimeEntryTag,
    Workspace,
)
from togglsync.db.tzoffsets import store_zone

UTC = timezone.utc
PARIS = ZoneInfo("Europe/Paris")


def utc(text_: str) -> datetime:
    return datetime.fromisoformat(text_).replace(tzinfo=UTC)


class Db:
    """A database with a small catalog (workspace 10, client 20, projects 30/31, tags 40/41)."""

    def __init__(self, path, zone: str | None = "Europe/Paris", week_start: int = 1):
        self.path = path
        self.engine = open_database(str(path))
        with self.engine.begin() as conn:
            conn.execute(insert(Account), [{
                "id": 1, "email": "a@example.com", "fullname": "A", "timezone": zone or "UTC",
                "default_workspace_id": 10, "beginning_of_week": week_start, "synced_at": datetime.now(UTC),
            }])
            conn.execute(insert(Workspace), [{"id": 10, "name": "Main"}])
            conn.execute(insert(Client), [{"id": 20, "workspace_id": 10, "name": "Acme"}])
            conn.execute(insert(Project), [
                {"id": 30, "workspace_id": 10, "client_id": 20, "name": "Site"},
                {"id": 31, "workspace_id": 10, "client_id": None, "name": "Internal"},
            ])
            conn.execute(insert(Tag), [
                {"id": 40, "workspace_id": 10, "name": "urgent"},
                {"id": 41, "workspace_id": 10, "name": "café"},
            ])
            if zone is not None:
                store_zone(conn, zone)
        self._next_id = 1000

    def add(self, start: datetime, duration: int, *, entry_id: int | None = None, project_id: int | None = None,
            tag_ids=(), billable: bool = False, description: str | None = None) -> int:
        if entry_id is None:
            self._next_id += 1
            entry_id = self._next_id
        running = duration < 0
        names = {40: "urgent", 41: "café"}
        with self.engine.begin() as conn:
            conn.execute(insert(TimeEntry), [{
                "id": entry_id, "workspace_id": 10, "project_id": project_id, "description": description,
                "start": start, "stop": None if running else start + timedelta(seconds=duration),
                "duration": -1 if running else duration, "billable": billable,
                "tag_ids": list(tag_ids), "tags": [names[t] for t in tag_ids],
            }])
            if tag_ids:
                conn.execute(insert(TimeEntryTag), [{"time_entry_id": entry_id, "tag_id": t} for t in tag_ids])
        return entry_id

    def query(self, sql: str, **params):
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(sql), params).mappings()]

    def one(self, sql: str, **params):
        (row,) = self.query(sql, **params)
        return row


@pytest.fixture
def db(tmp_path):
    database = Db(tmp_path / "togglsync.db")
    yield database
    database.engine.dispose()


# -- local_start / local_date across DST (Europe/Paris) ------------------------------------

DST_CASES = [
    # Autumn 2026: CEST (+2) until 2026-10-25T01:00Z, then CET (+1).
    ("2026-10-24 21:59:59", "2026-10-24 23:59:59", "2026-10-24"),
    ("2026-10-24 22:00:00", "2026-10-25 00:00:00", "2026-10-25"),
    ("2026-10-24 22:30:00", "2026-10-25 00:30:00", "2026-10-25"),
    ("2026-10-25 00:30:00", "2026-10-25 02:30:00", "2026-10-25"),  # 02:30 CEST, first time round
    ("2026-10-25 00:59:59", "2026-10-25 02:59:59", "2026-10-25"),
    ("2026-10-25 01:00:00", "2026-10-25 02:00:00", "2026-10-25"),  # clocks went back: 02:00 CET
    ("2026-10-25 01:30:00", "2026-10-25 02:30:00", "2026-10-25"),  # 02:30 CET, second time round
    ("2026-10-25 22:59:59", "2026-10-25 23:59:59", "2026-10-25"),
    ("2026-10-25 23:00:00", "2026-10-26 00:00:00", "2026-10-26"),
    # Spring 2026: CET (+1) until 2026-03-29T01:00Z, then CEST (+2).
    ("2026-03-28 22:59:59", "2026-03-28 23:59:59", "2026-03-28"),
    ("2026-03-28 23:00:00", "2026-03-29 00:00:00", "2026-03-29"),
    ("2026-03-28 23:30:00", "2026-03-29 00:30:00", "2026-03-29"),
    ("2026-03-29 00:59:59", "2026-03-29 01:59:59", "2026-03-29"),
    ("2026-03-29 01:00:00", "2026-03-29 03:00:00", "2026-03-29"),  # 02:00-03:00 does not exist
    ("2026-03-29 21:59:59", "2026-03-29 23:59:59", "2026-03-29"),
    ("2026-03-29 22:00:00", "2026-03-30 00:00:00", "2026-03-30"),
]


def test_local_start_and_date_across_dst_in_paris(db):
    ids = {db.add(utc(start), 60): (local_start, local_date) for start, local_start, local_date in DST_CASES}
    rows = {r["id"]: r for r in db.query("SELECT id, start, local_start, local_date FROM entries")}
    for entry_id, (local_start, local_date) in ids.items():
        row = rows[entry_id]
        assert (row["local_start"], row["local_date"]) == (local_start, local_date), row


def test_local_times_match_zoneinfo_for_random_instants(db):
    rng = random.Random(3)
    first = utc("2025-01-01 00:00:00")
    starts = [first + timedelta(seconds=rng.randrange(3 * 365 * 86400)) for _ in range(300)]
    # Every instant near this year's changes too.
    for change in ("2026-03-29 01:00:00", "2026-10-25 01:00:00"):
        starts += [utc(change) + timedelta(seconds=s) for s in (-3601, -1, 0, 1, 3599, 3600)]
    ids = {db.add(start, 1): start for start in starts}
    for row in db.query("SELECT id, local_start, local_date FROM entries"):
        local = ids[row["id"]].astimezone(PARIS)
        assert row["local_start"] == local.strftime("%Y-%m-%d %H:%M:%S")
        assert row["local_date"] == local.date().isoformat()


def test_without_tz_offsets_the_views_use_utc(db):
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM tz_offsets"))
    db.add(utc("2026-10-24 22:30:00"), 60)
    row = db.one("SELECT local_start, local_date FROM entries")
    assert row == {"local_start": "2026-10-24 22:30:00", "local_date": "2026-10-24"}


def test_changing_the_zone_moves_local_dates(db):
    db.add(utc("2026-10-25 03:30:00"), 60)
    assert db.one("SELECT local_date FROM entries")["local_date"] == "2026-10-25"
    with db.engine.begin() as conn:
        assert store_zone(conn, "America/Los_Angeles") is True
        assert store_zone(conn, "America/Los_Angeles") is False  # unchanged: no rewrite
    row = db.one("SELECT local_start, local_date FROM entries")
    assert row == {"local_start": "2026-10-24 20:30:00", "local_date": "2026-10-24"}  # PDT, -7


# -- the other columns ------------------------------------------------------------------------------


def test_running_entry_counts_up_to_now(db):
    now = datetime.now(UTC).replace(microsecond=0)
    db.add(now - timedelta(hours=1, minutes=30), -1, entry_id=7)
    db.add(now - timedelta(hours=5), 600, entry_id=8)
    rows = {r["id"]: r for r in db.query("SELECT id, duration, running, stop FROM entries")}
    assert rows[7]["running"] == 1 and rows[7]["stop"] is None
    assert 5400 <= rows[7]["duration"] <= 5400 + 5  # SQLite's clock, read a moment later
    assert rows[8]["running"] == 0 and rows[8]["duration"] == 600


def test_names_tags_and_unsynced(db):
    start = utc("2026-11-20 09:00:00")
    db.add(start, 60, entry_id=1, project_id=30, tag_ids=(41, 40), billable=True, description="Design")
    db.add(start, 60, entry_id=2, project_id=31, tag_ids=(40,))
    db.add(start, 60, entry_id=-5)  # created offline, not pushed yet
    db.add(start, 60, entry_id=3, project_id=999)  # a project the database does not have
    rows = {r["id"]: r for r in db.query("SELECT * FROM entries")}
    assert {k: rows[1][k] for k in (
        "workspace", "project", "client", "tags", "billable", "unsynced", "description", "client_id")} == {
        "workspace": "Main", "project": "Site", "client": "Acme", "tags": "café, urgent", "billable": 1,
        "unsynced": 0, "description": "Design", "client_id": 20,
    }
    assert (rows[2]["project"], rows[2]["client"], rows[2]["tags"]) == ("Internal", None, "urgent")
    assert (rows[-5]["unsynced"], rows[-5]["project"], rows[-5]["tags"]) == (1, None, None)
    assert (rows[3]["project_id"], rows[3]["project"]) == (999, None)
    # The README's documented column list is the view's.
    assert list(rows[1]) == [
        "id", "workspace_id", "workspace", "description", "project_id", "project", "client_id", "client", "tags",
        "start", "stop", "duration", "running", "billable", "local_start", "local_date", "unsynced",
        "user_id", "user", "account",
    ]


def test_daily_totals_sum_by_local_date(db):
    # 2026-10-25 in Paris (25 hours long) gets the first three; the fourth is on the 26th locally.
    db.add(utc("2026-10-24 22:30:00"), 1000, billable=True)   # 00:30 CEST on the 25th
    db.add(utc("2026-10-25 00:30:00"), 2000)                  # 02:30 CEST
    db.add(utc("2026-10-25 01:30:00"), 3000, billable=True)   # 02:30 CET
    db.add(utc("2026-10-25 23:10:00"), 400)                   # 00:10 CET on the 26th
    db.add(utc("2026-10-24 21:00:00"), 7200)                  # 23:00 CEST on the 24th
    rows = db.query("SELECT * FROM daily_totals ORDER BY date")
    assert rows == [
        {"date": "2026-10-24", "entries": 1, "seconds": 7200, "hours": 2.0, "billable_seconds": 0},
        {"date": "2026-10-25", "entries": 3, "seconds": 6000, "hours": 1.67, "billable_seconds": 4000},
        {"date": "2026-10-26", "entries": 1, "seconds": 400, "hours": 0.11, "billable_seconds": 0},
    ]
    # Same as summing the entries view by hand.
    assert db.query("SELECT local_date AS date, sum(duration) AS s FROM entries GROUP BY 1 ORDER BY 1") == [
        {"date": r["date"], "s": r["seconds"]} for r in rows
    ]


# -- report --by day cuts days where the views do ----------------------------------------------------


def run_cli(home, *args):
    from click.testing import CliRunner

    from togglsync.cli import cli

    return CliRunner().invoke(cli, [str(a) for a in args], env={"TOGGLSYNC_HOME": str(home)})


def test_report_by_day_equals_daily_totals_across_dst(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    db = Db(home / "togglsync.db", week_start=0)  # weeks start on Sunday
    try:
        rng = random.Random(5)
        for day in range(14):  # 2026-10-18 .. 2026-10-31, around the autumn change
            for _ in range(6):
                start = utc("2026-10-18 00:00:00") + timedelta(days=day, seconds=rng.randrange(86400))
                db.add(start, rng.randrange(60, 7200), project_id=rng.choice([30, 31, None]))
        for start, _, _ in DST_CASES[:9]:
            db.add(utc(start), 100)
        result = run_cli(home, "report", "--by", "day", "--from", "2026-10-19", "--to", "2026-10-30", "--json")
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert report["timezone"] == "Europe/Paris"
        assert (report["from"], report["to"]) == ("2026-10-18T22:00:00Z", "2026-10-30T23:00:00Z")
        got = {r["day"]: (r["seconds"], r["entries"]) for r in report["rows"]}
        assert list(got) == [(date(2026, 10, 19) + timedelta(days=i)).isoformat() for i in range(12)]
        expected = {
            r["date"]: (r["seconds"], r["entries"])
            for r in db.query("SELECT * FROM daily_totals WHERE date BETWEEN '2026-10-19' AND '2026-10-30'")
        }
        assert got == expected
        assert got["2026-10-25"][1] >= 9  # the DST day really is busy

        # Weeks start on the account's day: 2026-10-25 is a Sunday.
        result = run_cli(home, "--tz", "Europe/Paris", "report", "--week", "--json")
        assert result.exit_code == 0, result.output
        first = date.fromisoformat(json.loads(result.stdout)["first_day"])
        assert first.weekday() == 6  # Sunday
    finally:
        db.engine.dispose()


def test_report_by_day_in_another_zone_shifts_days(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    db = Db(home / "togglsync.db")
    try:
        db.add(utc("2026-10-25 03:30:00"), 600)  # the 25th in Paris, the 24th in Los Angeles
        paris = json.loads(run_cli(home, "report", "--by", "day", "--from", "2026-10-24", "--to", "2026-10-25",
                                   "--json").stdout)
        la = json.loads(run_cli(home, "--tz", "America/Los_Angeles", "report", "--by", "day",
                                "--from", "2026-10-24", "--to", "2026-10-25", "--json").stdout)
        assert {r["day"]: r["seconds"] for r in paris["rows"]} == {"2026-10-24": 0, "2026-10-25": 600}
        assert {r["day"]: r["seconds"] for r in la["rows"]} == {"2026-10-24": 600, "2026-10-25": 0}
        assert la["from"] == "2026-10-24T07:00:00Z"
    finally:
        db.engine.dispose()


def test_entries_say_who_tracked_them_and_through_which_account(db):
    """Several accounts in one database (issue 15): the view names each entry's user and account."""
    from togglsync.db.models import SyncAccount, WorkspaceUser

    start = utc("2026-11-20 09:00:00")
    mine, theirs, unknown = db.add(start, 60), db.add(start, 60), db.add(start, 60)
    now = datetime.now(UTC)
    with db.engine.begin() as conn:
        conn.execute(insert(SyncAccount), [{"name": "main", "user_id": 1, "added_at": now},
                                           {"name": "bob", "user_id": 2, "added_at": now}])
        conn.execute(insert(WorkspaceUser), [{"workspace_id": 10, "user_id": 2, "fullname": "Bob", "email": "b@x"}])
        for entry_id, user in ((mine, 1), (theirs, 2), (unknown, 3)):
            conn.execute(text("UPDATE time_entries SET user_id = :u WHERE id = :i"), {"u": user, "i": entry_id})
    rows = {r["id"]: r for r in db.query("SELECT id, user_id, user, account FROM entries")}
    assert (rows[mine]["user"], rows[mine]["account"]) == ("A", "main")
    assert (rows[theirs]["user_id"], rows[theirs]["user"], rows[theirs]["account"]) == (2, "Bob", "bob")
    assert (rows[unknown]["user_id"], rows[unknown]["user"], rows[unknown]["account"]) == (3, None, None)
