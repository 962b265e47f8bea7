"""Old databases with data in them reach head with nothing lost, and without the API token.

The data is written with plain SQL at an old revision (today's models describe
head, not 0001), then the file is opened the way togglsync opens it.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import event

from togglsync.cli import cli
from togglsync.db.engine import make_engine
from togglsync.db.migrate import alembic_config, current_revision, head_revision
from togglsync.db.open import open_database

TOKEN = "1971800d4d82861d8f2c1651fea4d212"  # the shape of a Toggl API token
# The secret keys in the account.raw that rows_at_0001 writes.
SECRET_KEYS = {"api_token"}

BERLIN_USER = {
    "id": 6000001,
    "api_token": TOKEN,
    "email": "zoë@example.com",
    "fullname": "Zoë Ångström-Núñez",
    "timezone": "Europe/Berlin",
    "default_workspace_id": 4000001,
    "beginning_of_week": 1,
    "has_password": True,
    "image_url": "https://assets.track.toggl.com/images/profile.png",
    "at": "2025-03-01T08:00:00+00:00",
}


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def running_start() -> str:
    return (datetime.now(timezone.utc) - timedelta(minutes=25)).strftime("%Y-%m-%d %H:%M:%S")


def rows_at_0001(running_started: str) -> dict[str, list[dict]]:
    """A synced account as togglsync wrote it at 0001 (api_token in account.raw, as before the fix)."""
    entry_raw = {"id": 4290254971, "description": "Überarbeitung der Startseite ✓", "tags": ["urgent", "café"]}
    return {
        "account": [{
            "id": 6000001, "email": "zoë@example.com", "fullname": "Zoë Ångström-Núñez",
            "timezone": "Europe/Berlin", "default_workspace_id": 4000001, "beginning_of_week": 1,
            "at": "2025-03-01 08:00:00", "raw": dumps(BERLIN_USER), "synced_at": "2025-03-05 07:59:58.123456",
        }],
        "workspaces": [
            {"id": 4000001, "organization_id": 3000001, "name": "Ærø Studio", "premium": 1,
             "at": "2025-02-01 10:00:00", "raw": dumps({"id": 4000001, "name": "Ærø Studio"})},
            {"id": 4000002, "organization_id": 3000001, "name": "Side", "premium": 0, "at": None, "raw": None},
        ],
        "workspace_users": [
            {"workspace_id": 4000001, "user_id": 6000001, "email": "zoë@example.com",
             "fullname": "Zoë Ångström-Núñez", "role": "admin", "is_active": 1, "raw": dumps({"user_id": 6000001})},
            {"workspace_id": 4000001, "user_id": 6000002, "email": "li@example.cn", "fullname": "李雷",
             "role": "user", "is_active": 0, "raw": None},
        ],
        "clients": [
            {"id": 5000001, "workspace_id": 4000001, "name": "Café Müller GmbH", "archived": 0,
             "notes": "Line 1\nLine \"2\" 'quoted'", "creator_id": 6000001, "at": "2025-02-02 09:00:00",
             "raw": dumps({"id": 5000001, "name": "Café Müller GmbH"})},
            {"id": 5000002, "workspace_id": 4000001, "name": "Old client", "archived": 1, "notes": None,
             "creator_id": None, "at": "2024-01-01 00:00:00", "raw": None},
        ],
        "projects": [
            {"id": 7000001, "workspace_id": 4000001, "client_id": 5000001, "name": "Website relaunch — 2025",
             "active": 1, "is_private": 0, "color": "#0b83d9", "billable": 1, "created_at": "2025-02-03 09:00:00",
             "at": "2025-02-03 09:00:00", "raw": dumps({"id": 7000001, "name": "Website relaunch — 2025"})},
            {"id": 7000002, "workspace_id": 4000001, "client_id": None, "name": "Intern'; DROP TABLE projects;--",
             "active": 0, "is_private": 1, "color": None, "billable": 0, "created_at": None, "at": None, "raw": None},
            # Created offline, not pushed yet: a negative temporary id.
            {"id": -2, "workspace_id": 4000001, "client_id": None, "name": "Neues Projekt", "active": 1,
             "is_private": 1, "color": None, "billable": 0, "created_at": None, "at": None, "raw": None},
        ],
        "tags": [
            {"id": 8000001, "workspace_id": 4000001, "name": "urgent", "creator_id": 6000001,
             "at": "2025-02-04 09:00:00", "raw": dumps({"id": 8000001, "name": "urgent"})},
            {"id": 8000002, "workspace_id": 4000001, "name": "café", "creator_id": 6000001,
             "at": "2025-02-04 09:00:00", "raw": None},
            {"id": 8000003, "workspace_id": 4000001, "name": "日本語", "creator_id": None, "at": None, "raw": None},
        ],
        "time_entries": [
            {"id": 4290254971, "workspace_id": 4000001, "user_id": 6000001, "project_id": 7000001, "task_id": None,
             "description": "Überarbeitung der Startseite ✓", "start": "2025-03-03 08:00:00",
             "stop": "2025-03-03 09:30:00", "duration": 5400, "billable": 1, "tag_ids": "[8000001, 8000002]",
             "tags": dumps(["urgent", "café"]), "at": "2025-03-03 09:30:01.250000", "raw": dumps(entry_raw)},
            {"id": 4290254972, "workspace_id": 4000001, "user_id": 6000001, "project_id": None, "task_id": None,
             "description": None, "start": "2025-03-03 13:00:00", "stop": "2025-03-03 13:45:30",
             "duration": 2730, "billable": 0, "tag_ids": "[8000003]", "tags": dumps(["日本語"]),
             "at": "2025-03-03 13:45:31", "raw": None},
            # Past 2**53: must stay exact (a float anywhere would round it).
            {"id": 9007199254740993, "workspace_id": 4000001, "user_id": 6000001, "project_id": 7000002,
             "task_id": 123, "description": "emoji 🚀 and 'single' \"double\" quotes", "start": "2025-03-04 09:00:00",
             "stop": "2025-03-04 09:20:00", "duration": 1200, "billable": 0, "tag_ids": "[]", "tags": "[]",
             "at": "2025-03-04 09:20:00", "raw": None},
            # Created offline and not pushed yet.
            {"id": -1, "workspace_id": 4000001, "user_id": None, "project_id": -2, "task_id": None,
             "description": "Offline erstellt", "start": "2025-03-04 10:00:00", "stop": "2025-03-04 10:10:00",
             "duration": 600, "billable": 0, "tag_ids": "[8000001]", "tags": dumps(["urgent"]), "at": None,
             "raw": None},
            {"id": 4290254980, "workspace_id": 4000001, "user_id": 6000001, "project_id": 7000001, "task_id": None,
             "description": "Läuft gerade", "start": running_started, "stop": None, "duration": -1, "billable": 1,
             "tag_ids": "[]", "tags": "[]", "at": running_started, "raw": None},
        ],
        "time_entry_tags": [
            {"time_entry_id": 4290254971, "tag_id": 8000001},
            {"time_entry_id": 4290254971, "tag_id": 8000002},
            {"time_entry_id": 4290254972, "tag_id": 8000003},
            {"time_entry_id": -1, "tag_id": 8000001},
        ],
        "sync_cursors": [
            {"resource": "time_entries", "since": "2025-03-05 07:58:00", "full_sync_at": "2025-03-01 08:00:00",
             "updated_at": "2025-03-05 07:59:59"},
            {"resource": "catalog", "since": "2025-03-05 07:00:00", "full_sync_at": None,
             "updated_at": "2025-03-05 07:00:02"},
            {"resource": "workspace_users:4000001", "since": "2025-03-05 07:00:00", "full_sync_at": None,
             "updated_at": "2025-03-05 07:00:03"},
        ],
        "quota_state": [
            {"pool": "user", "remaining": 27, "resets_at": "2025-03-05 08:45:00", "observed_at": "2025-03-05 07:59:59"},
            {"pool": "organization:3000001", "remaining": None, "resets_at": None,
             "observed_at": "2025-03-05 07:00:00"},
        ],
    }


def rows_at_0002() -> dict[str, list[dict]]:
    """What 0002 added: queued edits (incl. creates of the offline records above) and a conflict."""
    now = "2025-03-05 08:00:00"
    return {
        "pending_operations": [
            {"id": 1, "resource": "project", "action": "create", "record_id": -2, "workspace_id": 4000001,
             "state": "in_flight", "base": None, "fingerprint": dumps({"name": "Neues Projekt"}),
             "sent_at": "2025-03-05 07:59:00", "attempts": 1, "error": None, "created_at": now, "updated_at": now},
            {"id": 2, "resource": "time_entry", "action": "create", "record_id": -1, "workspace_id": 4000001,
             "state": "queued", "base": None, "fingerprint": None, "sent_at": None, "attempts": 0, "error": None,
             "created_at": now, "updated_at": now},
            {"id": 5, "resource": "time_entry", "action": "update", "record_id": 4290254971,
             "workspace_id": 4000001, "state": "failed",
             "base": dumps({"id": 4290254971, "description": "Startseite", "tags": ["café"]}), "fingerprint": None,
             "sent_at": None, "attempts": 3, "error": "400: Ungültiger Wert für „billable“",
             "created_at": now, "updated_at": "2025-03-05 08:01:00.5"},
        ],
        "conflicts": [
            {"id": 1, "resource": "time_entry", "record_id": 4290254971, "kind": "both_changed",
             "field": "description", "base_value": dumps("Startseite"), "local_value": dumps("Startseite ✓"),
             "remote_value": dumps("Startseite (Kunde)"), "kept": "local", "detected_at": now, "resolved_at": None},
            {"id": 2, "resource": "time_entry", "record_id": 4290254999, "kind": "deleted_remotely", "field": None,
             "base_value": None, "local_value": dumps({"description": "weg"}), "remote_value": None, "kept": None,
             "detected_at": now, "resolved_at": "2025-03-05 09:00:00"},
        ],
    }


def create_at(path: Path, revision: str) -> None:
    """An empty database at an old revision, migrated with alembic as togglsync would have."""
    engine = make_engine(str(path))
    try:
        with engine.connect() as connection:
            command.upgrade(alembic_config(connection), revision)
    finally:
        engine.dispose()


def insert_rows(path: Path, data: dict[str, list[dict]], **pragmas) -> None:
    with sqlite3.connect(path) as db:
        for name, value in pragmas.items():
            db.execute(f"PRAGMA {name}={value}")
        for table, rows in data.items():
            columns = list(rows[0])
            db.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})", rows
            )
    db.close()


def filled_database(path: Path, revision: str) -> dict[str, list[dict]]:
    """A database at `revision` holding every kind of row its tables can hold; returns what was inserted."""
    create_at(path, revision)
    data = rows_at_0001(running_start())
    if revision != "0001":
        data |= rows_at_0002()
    insert_rows(path, data)
    return data


def snapshot(path: Path) -> dict[str, tuple[list[str], list[tuple]]]:
    """Every table (sqlite_sequence too: it keeps operation ids from being reused): columns and rows.

    Values are kept with their Python type, so an integer that became text or a
    real counts as changed.
    """
    with sqlite3.connect(path) as db:
        names = [name for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'alembic_version'")]
        out = {}
        for name in names:
            cursor = db.execute(f'SELECT * FROM "{name}"')
            columns = [d[0] for d in cursor.description]
            rows = sorted((tuple((type(v).__name__, v) for v in row) for row in cursor), key=repr)
            out[name] = (columns, rows)
    db.close()
    return out


def project(table: tuple[list[str], list[tuple]], columns: list[str]) -> list[tuple]:
    """The rows of a snapshot table restricted to `columns`, sorted."""
    names, rows = table
    where = [names.index(c) for c in columns]
    return sorted((tuple(row[i] for i in where) for row in rows), key=repr)


def without_secret_keys(raw_cell: tuple[str, str]) -> dict:
    return {k: v for k, v in json.loads(raw_cell[1]).items() if k not in SECRET_KEYS}


@pytest.fixture
def db_file(isolated_home) -> Path:
    """Where the CLI looks for the database (conftest points TOGGLSYNC_HOME at a temp dir)."""
    isolated_home.mkdir(parents=True, exist_ok=True)
    return isolated_home / "togglsync.db"


@pytest.mark.parametrize("revision", ["0001", "0002", "0003"])
def test_every_row_and_value_survives_the_upgrade(db_file, revision):
    data = filled_database(db_file, revision)
    before = snapshot(db_file)
    assert {t for t, (_, rows) in before.items() if rows} >= set(data)  # the test really has data

    open_database(str(db_file)).dispose()

    after = snapshot(db_file)
    for table, (columns, rows) in before.items():
        assert table in after, f"the upgrade dropped table {table}"
        dropped = [c for c in columns if c not in after[table][0]]
        assert dropped == [], f"the upgrade dropped {table}.{dropped}"
        if table == "account":
            continue  # below: raw loses the token on purpose
        assert project(after[table], columns) == rows, table

    # account: every column as it was, raw without the token and otherwise equal.
    columns = before["account"][0]
    raw = columns.index("raw")
    (old,), (new,) = before["account"][1], project(after["account"], columns)
    assert [v for i, v in enumerate(new) if i != raw] == [v for i, v in enumerate(old) if i != raw]
    assert TOKEN not in new[raw][1]
    assert json.loads(new[raw][1]) == without_secret_keys(old[raw])


def test_views_answer_over_data_from_0001(db_file):
    data = filled_database(db_file, "0001")
    running_started = next(e["start"] for e in data["time_entries"] if e["duration"] < 0)
    engine = open_database(str(db_file))
    try:
        with engine.connect() as conn:
            entries = conn.exec_driver_sql(
                "SELECT id, workspace, description, project, client, tags, duration, running, billable,"
                " local_date, unsynced FROM entries WHERE NOT running ORDER BY start").all()
            running = conn.exec_driver_sql(
                "SELECT id, description, project, duration, local_date FROM entries WHERE running").all()
            totals = conn.exec_driver_sql(
                "SELECT date, entries, seconds, hours, billable_seconds FROM daily_totals"
                " WHERE date < '2025-12-31' ORDER BY date").all()
    finally:
        engine.dispose()

    # No tz_offsets rows before the first sync at head: the views fall back to UTC dates.
    assert [tuple(r) for r in entries] == [
        (4290254971, "Ærø Studio", "Überarbeitung der Startseite ✓", "Website relaunch — 2025",
         "Café Müller GmbH", "café, urgent", 5400, 0, 1, "2025-03-03", 0),
        (4290254972, "Ærø Studio", None, None, None, "日本語", 2730, 0, 0, "2025-03-03", 0),
        (9007199254740993, "Ærø Studio", "emoji 🚀 and 'single' \"double\" quotes",
         "Intern'; DROP TABLE projects;--", None, None, 1200, 0, 0, "2025-03-04", 0),
        (-1, "Ærø Studio", "Offline erstellt", "Neues Projekt", None, "urgent", 600, 0, 0, "2025-03-04", 1),
    ]
    ((running_id, description, project_name, seconds, local_date),) = running
    assert (running_id, description, project_name) == (4290254980, "Läuft gerade", "Website relaunch — 2025")
    assert 25 * 60 <= seconds < 35 * 60  # counted up to now
    assert local_date == running_started[:10]
    assert [tuple(r) for r in totals] == [
        ("2025-03-03", 2, 8130, 2.26, 5400),
        ("2025-03-04", 2, 1800, 0.5, 0),
    ]


def run_cli(*args: str):
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result.output


def test_the_cli_opens_a_database_from_0001_and_reads_it(db_file):
    filled_database(db_file, "0001")

    # The first command run by a newer togglsync is what upgrades the file.
    status = json.loads(run_cli("status", "--json"))
    engine = make_engine(str(db_file))
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()

    assert status["running"]["id"] == 4290254980  # a Toggl id is a number in --json (README, Ids)
    assert status["running"]["description"] == "Läuft gerade"
    assert 25 * 60 <= status["running"]["seconds"] < 35 * 60
    assert status["timezone"] == "Europe/Berlin"
    assert (status["pending"], status["failed"]) == (0, 0)  # the outbox table came with 0002, empty
    assert status["last_sync"].startswith("2025-03-05")

    logged = json.loads(run_cli("log", "--from", "2025-03-03", "--to", "2025-03-04", "--json"))
    assert [(e["id"], e["date"], e["start"], e["seconds"], e["project"], e["tags"], e["description"])
            for e in logged] == [
        (4290254971, "2025-03-03", "2025-03-03T09:00:00+01:00", 5400, "Website relaunch — 2025",
         ["urgent", "café"], "Überarbeitung der Startseite ✓"),
        (4290254972, "2025-03-03", "2025-03-03T14:00:00+01:00", 2730, None, ["日本語"], None),
        (9007199254740993, "2025-03-04", "2025-03-04T10:00:00+01:00", 1200,
         "Intern'; DROP TABLE projects;--", [], "emoji 🚀 and 'single' \"double\" quotes"),
        ("L1", "2025-03-04", "2025-03-04T11:00:00+01:00", 600, "Neues Projekt", ["urgent"], "Offline erstellt"),
    ]

    projects = json.loads(run_cli("projects", "list", "--json"))
    assert {p["name"] for p in projects} == {"Website relaunch — 2025", "Neues Projekt"}  # active ones


def test_the_cli_shows_the_outbox_of_a_database_from_0002(db_file):
    filled_database(db_file, "0002")
    pending = json.loads(run_cli("pending", "--json"))
    assert [(p["id"], p["action"], p["resource"], p["record_id"], p["state"]) for p in pending] == [
        (1, "create", "project", "L2", "in_flight"),
        (2, "create", "time_entry", "L1", "queued"),
        (5, "update", "time_entry", 4290254971, "failed"),
    ]
    assert pending[2]["error"] == "400: Ungültiger Wert für „billable“"


# --- 0004: the API token leaves account.raw and the file ------------------------------------------

# GET /me with every kind of key 0004 treats as a secret.
ME_WITH_SECRETS = {
    **BERLIN_USER,
    "session_token": "s3ss10n-" + TOKEN[::-1],
    "oauthToken": "oauth-" + TOKEN[:8],
    "api_key": "k-" + TOKEN[8:16],
    "password": "hunter2-" + TOKEN[16:],
    # Only top-level keys are credentials; nested data and lookalikes stay.
    "options": {"api_token_hint": "kept", "nested": ["ü", 1.5, None]},
    "intercom_hash": "abc123",
}


def database_files(path: Path) -> dict[str, bytes]:
    """The database and whatever SQLite keeps beside it (-wal, -shm, -journal)."""
    return {p.name: p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file()}


def token_in(files: dict[str, bytes]) -> list[str]:
    return [name for name, blob in files.items() if TOKEN.encode() in blob]


def test_the_api_token_is_gone_from_account_raw_and_every_file(db_file):
    create_at(db_file, "0003")
    # Builds where secure_delete is off (the default in SQLite's own build) leave
    # old row versions in free space. The first stored /me was large (the
    # related data too), as an old catalog refresh wrote it; later ones replaced it.
    big_me = {**ME_WITH_SECRETS, "projects": [{"id": 7000000 + i, "name": f"Projekt {i} ✓"} for i in range(300)]}
    account = rows_at_0001(running_start())["account"][0]
    insert_rows(db_file, {"account": [{**account, "raw": dumps(big_me)}]}, secure_delete=0)
    with sqlite3.connect(db_file) as db:
        db.execute("PRAGMA secure_delete=0")
        for refresh in ("2025-03-05 07:00:00", "2025-03-05 08:00:00"):
            db.execute("UPDATE account SET raw = ?, synced_at = ? WHERE id = 6000001", (dumps(ME_WITH_SECRETS), refresh))
        db.execute("INSERT INTO account (id, raw, synced_at) VALUES (6000009, NULL, '2025-03-05 08:00:00')")
    db.close()
    assert token_in(database_files(db_file)), "the test must start with the token in the file"

    engine = open_database(str(db_file))
    try:
        # While the engine is open the WAL and shared-memory files exist: check them too.
        files = database_files(db_file)
        assert any(name.endswith("-wal") for name in files), files.keys()
        assert token_in(files) == []
        with engine.connect() as conn:
            stored = dict(conn.exec_driver_sql("SELECT id, raw FROM account").all())
    finally:
        engine.dispose()
    assert token_in(database_files(db_file)) == []

    assert stored[6000009] is None
    removed = {"api_token", "session_token", "oauthToken", "api_key", "password"}
    assert json.loads(stored[6000001]) == {k: v for k, v in ME_WITH_SECRETS.items() if k not in removed}
    for secret in (ME_WITH_SECRETS[key] for key in removed):
        assert all(secret.encode() not in blob for blob in database_files(db_file).values()), secret


def test_the_rewrite_itself_zeroes_the_old_bytes_where_sqlite_would_not(db_file):
    """No VACUUM follows the `alembic` command line; the migration's secure_delete still clears the old row."""
    create_at(db_file, "0003")
    account = rows_at_0001(running_start())["account"][0]
    # SQLite writes the shorter new row over the end of the old one: the
    # secrets removed must be longer than what precedes the token in the row
    # for old bytes to survive (as they would here without secure_delete).
    insert_rows(db_file, {"account": [{**account, "raw": dumps(ME_WITH_SECRETS)}]}, secure_delete=0)
    assert token_in(database_files(db_file))

    engine = make_engine(str(db_file))
    # As on builds whose default is off (this machine's SQLite may default to on).
    event.listen(engine, "connect", lambda dbapi_connection, record: dbapi_connection.execute("PRAGMA secure_delete=0"))
    try:
        with engine.connect() as connection:
            command.upgrade(alembic_config(connection), "head")
            assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 0  # the pooled connection as it was
    finally:
        engine.dispose()
    assert token_in(database_files(db_file)) == []


def test_an_account_without_secrets_is_left_byte_for_byte(db_file):
    create_at(db_file, "0003")
    raw = '{"id":6000001,  "email":"a@example.com","has_password":true}'  # not how JSONText writes it
    insert_rows(db_file, {"account": [{"id": 6000001, "raw": raw, "synced_at": "2025-03-05 08:00:00"}]})
    open_database(str(db_file)).dispose()
    with sqlite3.connect(db_file) as db:
        assert db.execute("SELECT raw FROM account").fetchone() == (raw,)
    db.close()


def test_sql_on_an_old_database_upgrades_it_first_and_never_shows_the_token(db_file):
    create_at(db_file, "0003")
    account = rows_at_0001(running_start())["account"][0]
    insert_rows(db_file, {"account": [{**account, "raw": dumps(ME_WITH_SECRETS)}]})
    result = CliRunner().invoke(cli, ["sql", "SELECT raw FROM account", "--json"])
    assert result.exit_code == 0, result.output
    assert TOKEN not in result.output and "upgraded the database" in result.output
    assert token_in(database_files(db_file)) == []
