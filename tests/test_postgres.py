"""The database on both dialects: one migration history, the same schema as before on SQLite,
PostgreSQL's URL handling, read-only `sql`, the advisory sync lock, and no password in output."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from conftest import invoke_cli
from togglsync.db.engine import database_url, make_engine
from togglsync.db.migrate import alembic_config, current_revision, head_revision
from togglsync.db.models import Base
from togglsync.errors import ConfigError, LockedError

SCHEMA_BEFORE = Path(__file__).parent / "data" / "sqlite_schema_0008.sql"


@pytest.fixture
def empty_database(backend, request, tmp_path):
    """A database with no tables yet: a file path, or a new empty PostgreSQL database's URL."""
    if backend == "sqlite":
        yield str(tmp_path / "empty.db")
        return
    server = request.getfixturevalue("postgres_server")
    url = server.create_database(migrated=False)
    yield url
    server.drop_database(url)


def _alembic(engine, action, revision):
    with engine.connect() as connection:
        action(alembic_config(connection), revision)


def test_one_history_up_down_up_on_both(empty_database):
    engine = make_engine(empty_database)
    try:
        assert current_revision(engine) is None
        _alembic(engine, command.upgrade, "head")
        assert current_revision(engine) == head_revision()
        views = set(inspect(engine).get_view_names())
        assert {"entries", "daily_totals", "entry_tags"} <= views
        _alembic(engine, command.downgrade, "base")
        assert set(inspect(engine).get_table_names()) - {"alembic_version"} == set()
        _alembic(engine, command.upgrade, "head")
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_models_and_migrations_agree_on_both(empty_database):
    engine = make_engine(empty_database)
    try:
        _alembic(engine, command.upgrade, "head")
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def _schema(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").fetchall()
    finally:
        conn.close()
    out = ["-- sqlite_master of a new database at revision 0008, as migrated before PostgreSQL was supported",
           "-- (tests/test_postgres.py: a file migrated today must have exactly this schema)."]
    for kind, name, table, sql in rows:
        out.append(f"-- {kind} {name} on {table}\n{sql};" if sql else f"-- {kind} {name} on {table} (no SQL)")
    return "\n".join(out) + "\n"


def test_a_sqlite_file_migrated_today_has_exactly_the_schema_it_had_before(tmp_path):
    """The dialect-aware migrations write, on SQLite, the very SQL they wrote before (the file beside
    this test is sqlite_master of a database migrated to 0008 by the code before PostgreSQL; later
    revisions were written for both dialects from the start)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        _alembic(engine, command.upgrade, "0008")
    finally:
        engine.dispose()
    assert _schema(tmp_path / "new.db") == SCHEMA_BEFORE.read_text()


def test_urls_of_other_databases_are_refused_without_their_password():
    with pytest.raises(ConfigError) as refused:
        database_url("mysql://me:s3cret@db.example/toggl")
    assert "s3cret" not in str(refused.value) and "mysql" in str(refused.value)
    with pytest.raises(ConfigError) as refused:
        database_url("postgresql+psycopg2://me:s3cret@db.example/toggl")
    assert "s3cret" not in str(refused.value) and "psycopg" in str(refused.value)
    assert database_url("postgresql://me:s3cret@db.example/toggl").drivername == "postgresql+psycopg"


def test_an_unreachable_server_is_one_line_exit_8_without_the_password(tmp_path):
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql+psycopg://me:s3cret@127.0.0.1:{port}/toggl"
    for args in (["status"], ["log"], ["report"], ["sql", "SELECT 1"], ["db", "path"], ["config", "show"]):
        result = invoke_cli(["--db", url, *args], env={"TOGGLSYNC_HOME": str(tmp_path)})
        assert "s3cret" not in result.output, (args, result.output)
        if args[0] in ("status", "log", "report", "sql"):
            assert result.exit_code == 8, (args, result.output)
            assert result.output.count("\n") == 1 and "127.0.0.1" in result.output, (args, result.output)


@pytest.mark.parametrize("statement", [
    "DELETE FROM time_entries",
    "UPDATE time_entries SET description = 'pwned'",
    "CREATE TABLE evil (x int)",
    "SELECT 1; DELETE FROM time_entries",
    "SET default_transaction_read_only = off; COMMIT; DELETE FROM time_entries",
    "WITH x AS (DELETE FROM time_entries RETURNING id) SELECT count(*) FROM x",
])
def test_sql_cannot_write_on_either(synced, statement):
    before = synced.run("sql", "SELECT count(*) AS n FROM time_entries", "--json")
    assert before.exit_code == 0, before.output
    result = synced.run("sql", statement)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error:") and result.output.count("\n") == 1, result.output
    assert synced.run("sql", "SELECT count(*) AS n FROM time_entries", "--json").output == before.output


def test_report_log_status_and_sql_agree_on_both(synced):
    """The everyday reads, through the same code on either database."""
    assert synced.run("status").exit_code == 0
    log = synced.run("log", "--from", "2000-01-01", "--to", "2100-01-01", "--json")
    assert log.exit_code == 0, log.output
    report = synced.run("report", "--from", "2000-01-01", "--to", "2100-01-01", "--by", "project", "--json")
    assert report.exit_code == 0, report.output
    # The views (written for each dialect) against the table: days without a running entry.
    busy = "(SELECT local_date FROM time_entries WHERE duration < 0)"
    both = synced.run("sql", f"SELECT (SELECT sum(seconds) FROM daily_totals WHERE date NOT IN {busy}) AS view, "
                             f"(SELECT sum(duration) FROM time_entries WHERE local_date NOT IN {busy}) AS tbl, "
                             "(SELECT count(*) FROM entries) AS n", "--json")
    assert both.exit_code == 0, both.output
    import json

    found = json.loads(both.output)[0]
    assert found["view"] == found["tbl"] and found["view"] > 0
    assert found["n"] == len(json.loads(log.output)) == 200


def test_db_path_names_the_url_without_its_password(backend, tmp_path, request):
    if backend == "sqlite":
        result = invoke_cli(["--db", str(tmp_path / "x.db"), "db", "path"])
        assert result.output.splitlines()[0] == str((tmp_path / "x.db").resolve())
        return
    server = request.getfixturevalue("postgres_server")
    url = server.url("toggl").replace("togglsync@", "togglsync:s3cret@")
    result = invoke_cli(["--db", url, "db", "path"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == url.replace("s3cret", "***")


def test_the_sync_lock_is_one_per_database_on_the_server(backend, database):
    from togglsync.sync.engine import sync_lock

    target = str(database)
    with sync_lock(target):
        with pytest.raises(LockedError) as locked:
            with sync_lock(target):
                pass
        assert "s3cret" not in str(locked.value)
    with sync_lock(target):  # released
        pass


def test_the_sync_lock_is_one_per_account(backend, database):
    """Two accounts sync one database at once; one account never twice (a lock file each beside a
    SQLite file, an advisory lock each on the server: `accounts.lock_scope`)."""
    from togglsync.sync.engine import sync_lock

    target = str(database)
    with sync_lock(target, account="bob"):
        with sync_lock(target):  # main's is another lock
            with pytest.raises(LockedError) as locked:
                with sync_lock(target, account="bob"):
                    pass
    assert "account 'bob'" in str(locked.value)


def test_the_lock_key_is_a_function_of_its_scope():
    from togglsync.db.postgres import lock_key

    assert lock_key("database") == lock_key("database")
    assert lock_key("database") != lock_key("account alice")
    assert -(2**63) <= lock_key("account alice") < 2**63


def test_concurrent_first_opens_upgrade_once_on_both(empty_database):
    """Two processes opening a new database at once: one migrates, the other waits and finds it done
    (SQLite: BEGIN IMMEDIATE; PostgreSQL: env.py's transaction-level advisory lock)."""
    import subprocess
    import sys

    code = "import sys; from togglsync.db.open import open_database; open_database(sys.argv[1]).dispose()"
    children = [subprocess.Popen([sys.executable, "-c", code, str(empty_database)], stderr=subprocess.PIPE, text=True)
                for _ in range(3)]
    errors = [child.communicate(timeout=120)[1] for child in children]
    assert [child.returncode for child in children] == [0, 0, 0], errors
    engine = make_engine(empty_database)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_the_running_entries_index_is_partial_on_both(empty_database):
    """Its condition is added to the metadata when a PostgreSQL database is opened
    (`db.models.postgresql_options`), not at import; alembic's comparison does not look at it."""
    from sqlalchemy import text
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateIndex

    from togglsync.db.models import RUNNING_INDEX, TimeEntry

    engine = make_engine(empty_database)
    try:
        _alembic(engine, command.upgrade, "head")
        postgres = engine.dialect.name == "postgresql"
        index = next(ix for ix in TimeEntry.__table__.indexes if ix.name == RUNNING_INDEX)
        if postgres:
            assert "WHERE duration < 0" in str(CreateIndex(index).compile(dialect=postgresql.dialect()))
        asked = ("SELECT indexdef FROM pg_indexes WHERE indexname = :n" if postgres
                 else "SELECT sql FROM sqlite_master WHERE name = :n")
        with engine.connect() as connection:
            made = connection.execute(text(asked), {"n": RUNNING_INDEX}).scalar()
        assert made is not None and ("WHERE (duration < 0)" if postgres else "WHERE duration < 0") in made, made
    finally:
        engine.dispose()


def test_a_full_resync_leaves_the_planners_statistics_current(backend, synced):
    """After the cold sync's bulk load PostgreSQL's planner knows the table's size at once
    (`db.engine.statistics_refreshed`), not when its autovacuum gets there; SQLite is left
    without statistics (the plans tests/test_query_plans.py holds)."""
    if backend == "sqlite":
        conn = sqlite3.connect(synced.db)
        try:
            assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone() == (0,)
        finally:
            conn.close()
        return
    from sqlalchemy import text

    engine = make_engine(str(synced.db))
    try:
        with engine.connect() as connection:
            analyzed, estimate = connection.execute(text(
                "SELECT s.last_analyze, c.reltuples FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
                "WHERE s.relname = 'time_entries'")).one()
    finally:
        engine.dispose()
    assert analyzed is not None and estimate == 200
