"""togglsync.query through the Python API: a person's SQL, read-only; and a report's named periods.

tests/test_cli_reporting.py checks the `sql` and `report` commands on top.
"""

from __future__ import annotations

import warnings
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from togglsync import query, report
from togglsync.db.models import Account
from togglsync.db.open import Mode, open_database
from togglsync.errors import DatabaseNotFound
from togglsync.errors import TogglSyncError, UsageError

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)  # a Friday


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "q.db"
    engine = open_database(path)
    with engine.begin() as conn:
        conn.execute(Account.__table__.insert().values(id=1, default_workspace_id=10, beginning_of_week=0, synced_at=NOW))
        conn.exec_driver_sql("INSERT INTO workspaces (id, name) VALUES (10, 'A'), (11, 'B'), (12, '')")
    engine.dispose()
    return path


def test_run_streams_columns_and_rows_with_parameters(db):
    with query.run(db, "SELECT w.id, v.id, w.name FROM workspaces w, workspaces v WHERE w.id = v.id AND w.id > :n"
                   " ORDER BY w.id", {"n": 10}) as result:
        assert result is not None
        assert result.columns == ["id", "id", "name"] and result.keys == ["id", "id_2", "name"]
        assert list(result.rows) == [(11, 11, "B"), (12, 12, "")]
    with query.run(db, "SELECT ? + 1", [1]) as result:
        assert result is not None and list(result.rows) == [(2,)]


def test_rows_left_unread_are_dropped_quietly(db):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with query.run(db, "SELECT id FROM workspaces") as result:
            assert result is not None and next(result.rows) == (10,)


@pytest.mark.parametrize("statement", [
    "DELETE FROM workspaces", "UPDATE workspaces SET name = 'x'", "CREATE TABLE t (x)", "PRAGMA user_version = 7",
    "ATTACH DATABASE ':memory:' AS other",
])
def test_run_cannot_write(db, statement):
    with pytest.raises(UsageError, match="read-only"):
        with query.run(db, statement):
            pass
    with query.run(db, "SELECT count(*) FROM workspaces") as result:
        assert result is not None and list(result.rows) == [(3,)]


def test_errors_are_the_querys_or_the_files(db, tmp_path):
    for text, message in [("SELEC 1", "syntax error"), ("SELECT * FROM nope", "no such table"),
                          ("SELECT 1; SELECT 2", "one statement at a time"), ("  ", "the query is empty")]:
        with pytest.raises(UsageError, match=message):
            with query.run(db, text):
                pass
    with pytest.raises(UsageError, match="malformed JSON"):  # while stepping through the rows
        with query.run(db, "SELECT json_extract('x', '$.a')") as result:
            assert result is not None
            list(result.rows)

    missing = tmp_path / "missing.db"
    with pytest.raises(DatabaseNotFound):
        with query.run(missing, "SELECT 1"):
            pass
    assert not missing.exists()

    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(TogglSyncError, match="junk.db is not a SQLite database") as error:
        query.read(junk, lambda conn: conn.execute("SELECT count(*) FROM sqlite_master").fetchall())
    assert not isinstance(error.value, UsageError)


def test_a_statement_without_rows_gives_none(db):
    with query.run(db, "BEGIN") as result:
        assert result is None


def test_report_periods_start_on_the_accounts_first_day_of_the_week(db):
    lite = open_database(db, Mode.FAST_READ_ONLY)
    try:
        start, end, title = report.period_range(lite.conn, None, tz=ZoneInfo("UTC"), now=NOW)
        assert (start.date().isoformat(), end.date().isoformat(), title) == ("2026-11-15", "2026-11-22", "This week")
        start, _, title = report.period_range(lite.conn, "last-month", tz=ZoneInfo("UTC"), now=NOW)
        assert (start.date().isoformat(), title) == ("2026-10-01", "Last month")
        with pytest.raises(UsageError, match="no period 'fortnight'"):
            report.period_range(lite.conn, "fortnight", tz=ZoneInfo("UTC"), now=NOW)
    finally:
        lite.close()
