"""The driver-only path of status/start/stop: no SQLAlchemy import, same stored forms, same fallbacks."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone

import pytest
from sqlalchemy import Boolean

from togglsync.db import stored
from togglsync.db.models import Base
from togglsync.db.open import Mode, open_database
from togglsync.errors import DatabaseNotFound, DatabaseOpenError
from togglsync.db.types import JSONText, UTCDateTime

PROBE = """
import sys
from togglsync.cli import cli
try:
    cli.main(sys.argv[1:], prog_name="togglsync")
except SystemExit as exit:
    code = exit.code
heavy = sorted(m for m in ("sqlalchemy", "alembic", "requests", "rich") if m in sys.modules)
print("HEAVY=" + ",".join(heavy))
sys.exit(code)
"""


def _probe(home, *args):
    env = {**os.environ, **home.env}
    done = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True, timeout=60)
    heavy = [line for line in done.stdout.splitlines() if line.startswith("HEAVY=")]
    return done, heavy[-1].removeprefix("HEAVY=") if heavy else None


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
@pytest.mark.parametrize("args", [["status"], ["status", "--json"], ["start", "Writing"], ["stop"]])
def test_timer_commands_import_neither_sqlalchemy_nor_http(synced, args):
    if args == ["stop"]:
        assert synced.run("start", "to stop").exit_code == 0
    done, heavy = _probe(synced, *args)
    assert done.returncode == 0, done.stderr
    assert heavy == "", f"togglsync {' '.join(args)} imported {heavy}"


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_start_with_project_and_tags_stays_light_and_matches_the_python_api(synced):
    db = open_database(synced.db, Mode.FAST_READ_ONLY)
    try:
        project = db.conn.execute("SELECT name FROM projects WHERE active = 1 ORDER BY id LIMIT 1").fetchone()[0]
        tag = db.conn.execute("SELECT name FROM tags ORDER BY id LIMIT 1").fetchone()[0]
    finally:
        db.close()
    done, heavy = _probe(synced, "start", "Light", "-p", project.upper(), "-t", tag, "--billable")
    assert done.returncode == 0, done.stderr
    assert heavy == ""
    result = synced.run("status", "--json")
    running = json.loads(result.output)["running"]
    assert running["description"] == "Light" and running["tags"] == [tag] and running["billable"] is True
    # The row and its queued create are what LocalStore writes (same stored forms).
    from togglsync.local import LocalStore

    engine = open_database(synced.db)
    try:
        row = LocalStore(engine).running_entry()
        assert row["start"].tzinfo is not None and row["tag_ids"] and row["stop"] is None and row["duration"] == -1
        with engine.connect() as conn:
            op = conn.exec_driver_sql(
                "SELECT action, state, record_id FROM pending_operations WHERE record_id = ?", (row["id"],)
            ).one()
        assert tuple(op) == ("create", "queued", row["id"])
    finally:
        engine.dispose()


def test_stored_column_sets_match_the_models():
    kinds: dict[type, set[str]] = {UTCDateTime: set(), JSONText: set(), Boolean: set()}
    for table in Base.metadata.tables.values():
        for column in table.columns:
            for kind, names in kinds.items():
                if isinstance(column.type, kind):
                    names.add(column.name)
    assert kinds[UTCDateTime] == stored.TIMESTAMP_COLUMNS
    assert kinds[JSONText] == stored.JSON_COLUMNS
    assert kinds[Boolean] == stored.BOOLEAN_COLUMNS
    clash = (stored.TIMESTAMP_COLUMNS & stored.JSON_COLUMNS) | (stored.TIMESTAMP_COLUMNS & stored.BOOLEAN_COLUMNS)
    assert not clash


def test_stored_forms_round_trip():
    moment = datetime(2026, 3, 29, 1, 30, 5, 120, tzinfo=timezone.utc)
    assert stored.to_utc_text(moment) == "2026-03-29 01:30:05.000120"
    assert stored.from_db({"start": "2026-03-29 01:30:05.000120", "tags": '["café"]', "billable": 1}) == {
        "start": moment, "tags": ["café"], "billable": True,
    }
    assert stored.json_to_db(["café"]) == '["café"]'
    assert stored.json_to_db({"rate": float("nan")}) == '{"rate":null}'  # never text json_extract rejects
    # What orjson refuses goes through the json module: still JSON, nothing lost.
    assert json.loads(stored.json_to_db({"big": 2**70, "odd": "\ud800"})) == {"big": 2**70, "odd": "\ud800"}


def test_fast_open_takes_the_full_way_for_what_the_driver_cannot_open_alone(tmp_path):
    with pytest.raises(DatabaseNotFound):
        open_database(tmp_path / "missing.db", Mode.FAST_READ_ONLY)
    assert not (tmp_path / "missing.db").exists()
    db = open_database(":memory:", Mode.FAST_READ_WRITE)
    try:
        assert db._engine is not None
        assert db.conn.execute("SELECT count(*) FROM time_entries").fetchone() == (0,)
    finally:
        db.close()
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    with pytest.raises(DatabaseOpenError, match="not a SQLite database"):
        open_database(tmp_path / "junk.db", Mode.FAST_READ_WRITE)


def test_fast_open_creates_a_missing_file_then_opens_it_quickly(tmp_path):
    path = tmp_path / "new" / "togglsync.db"
    db = open_database(str(path), Mode.FAST_READ_WRITE)
    try:
        assert db._engine is None  # reopened through the driver after the full open created it
        assert db.conn.execute("SELECT count(*) FROM time_entries").fetchone() == (0,)
        assert db.conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
    finally:
        db.close()
    again = open_database(str(path), Mode.FAST_READ_ONLY)
    try:
        assert again._engine is None
    finally:
        again.close()


def test_fast_open_of_a_database_named_by_url_uses_the_engines_connection(tmp_path):
    db = open_database("sqlite:///" + str(tmp_path / "url.db"), Mode.FAST_READ_WRITE)
    try:
        assert db._engine is not None
        with db.transaction() as conn:
            conn.execute("INSERT INTO tags (id, workspace_id, name) VALUES (1, 1, 'x')")
        assert db.conn.execute("SELECT name FROM tags").fetchall() == [("x",)]
    finally:
        db.close()


def test_a_failed_write_rolls_back(tmp_path):
    db = open_database(str(tmp_path / "t.db"), Mode.FAST_READ_WRITE)
    try:
        with pytest.raises(RuntimeError):
            with db.transaction() as conn:
                conn.execute("INSERT INTO tags (id, workspace_id, name) VALUES (1, 1, 'x')")
                raise RuntimeError("boom")
        assert db.conn.execute("SELECT count(*) FROM tags").fetchone() == (0,)
        assert not db.conn.in_transaction
    finally:
        db.close()


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
@pytest.mark.parametrize("args", [["report", "--week"], ["report", "--by", "day", "--json"], ["log", "--week"],
                                  ["sql", "SELECT count(*) FROM entries", "--json"],
                                  ["sql", "SELECT * FROM entries LIMIT 3", "--csv"]])
def test_reading_commands_do_not_import_sqlalchemy(synced, args):
    done, heavy = _probe(synced, *args)
    assert done.returncode == 0, done.stderr
    assert "sqlalchemy" not in heavy.split(","), f"togglsync {' '.join(args)} imported {heavy}"


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_report_reads_the_same_through_either_path(synced):
    """A database not at this version's schema is read through SQLAlchemy (which upgrades it when a
    table or column is missing); the numbers must not depend on the path taken."""
    import sqlite3

    import time_machine

    instant = datetime.now(timezone.utc).replace(microsecond=0)

    def report():
        # A running entry counts up to now: both runs at the same instant.
        with time_machine.travel(instant, tick=False):
            result = synced.run("report", "--by", "day", "--month", "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    quick = report()
    with sqlite3.connect(synced.db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0003'")
    full = report()
    assert full == quick and quick["total"]["entries"] > 0


def test_a_writer_gets_in_between_the_batches_of_another(tmp_path):
    """A sync stores entries in batches, each its own write transaction, freeing the lock for a few
    milliseconds between two. SQLite's busy handler sleeps longer and longer between tries (up to
    100 ms) and kept missing those gaps (an offline `start` waited up to 1.2 s during a cold sync of
    300,000 entries); the fast writers ask every millisecond and take the first gap."""
    import threading
    import time

    open_database(tmp_path / "t.db").dispose()  # created at head
    stop = threading.Event()
    started = threading.Event()

    def batches() -> None:  # 40 ms of write lock, then a 3 ms gap, again and again
        conn = sqlite3.connect(tmp_path / "t.db", isolation_level=None, timeout=10)
        try:
            while not stop.is_set():
                conn.execute("BEGIN IMMEDIATE")
                started.set()
                time.sleep(0.04)
                conn.execute("COMMIT")
                time.sleep(0.003)
        finally:
            conn.close()

    holder = threading.Thread(target=batches)
    holder.start()
    waits = []
    try:
        assert started.wait(5)
        for _ in range(12):
            db = open_database(tmp_path / "t.db", Mode.FAST_READ_WRITE)
            try:
                began = time.monotonic()
                with db.transaction() as conn:
                    waits.append(time.monotonic() - began)
                    conn.execute("UPDATE alembic_version SET version_num = version_num")
            finally:
                db.close()
    finally:
        stop.set()
        holder.join(10)
    assert not holder.is_alive()
    assert max(waits) < 0.3, [round(w, 3) for w in waits]
