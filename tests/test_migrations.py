"""Alembic migrations: up and down, agreement with the models, upgrade on open."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Engine, event, inspect, select, text

from togglsync.db.engine import foreign_keys_disabled, make_engine, table_rebuilds_allowed
from togglsync.db.migrate import (
    DatabaseTooNew,
    alembic_config,
    current_revision,
    head_revision,
    upgrade,
)
from togglsync.db.models import Base, TimeEntry, TimeEntryTag
from togglsync.db.open import Mode, open_database
from togglsync.errors import DatabaseOpenError
from togglsync.db.repo import upsert
from togglsync.errors import TogglSyncError

REPO_ROOT = Path(__file__).resolve().parents[1]

TABLES = {
    "history_ranges",
    "account",
    "accounts",
    "account_workspaces",
    "workspaces",
    "workspace_users",
    "clients",
    "projects",
    "tags",
    "time_entries",
    "time_entry_tags",
    "sync_cursors",
    "quota_state",
    "pending_operations",
    "conflicts",
    "tz_offsets",
    "id_map",
}


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "togglsync.db"


@pytest.fixture
def engine(db_path):
    engine = make_engine(str(db_path))
    yield engine
    engine.dispose()


def run_alembic(engine, action, revision):
    with engine.connect() as connection:
        action(alembic_config(connection), revision)


def tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_empty_to_head_to_base_to_head(engine):
    assert current_revision(engine) is None
    run_alembic(engine, command.upgrade, "head")
    assert tables(engine) == TABLES
    assert current_revision(engine) == head_revision()

    run_alembic(engine, command.downgrade, "base")
    assert tables(engine) == set()
    assert current_revision(engine) is None

    run_alembic(engine, command.upgrade, "head")
    assert tables(engine) == TABLES
    assert current_revision(engine) == head_revision()


def test_models_and_migrations_agree(engine):
    run_alembic(engine, command.upgrade, "head")
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_migrated_schema_matches_create_all(engine, tmp_path):
    """Same indexes, constraints and SQL types as the models would create."""
    run_alembic(engine, command.upgrade, "head")
    reference = make_engine(str(tmp_path / "reference.db"))
    try:
        Base.metadata.create_all(reference)
        assert schema_sql(engine) == schema_sql(reference)
    finally:
        reference.dispose()


def schema_sql(engine) -> dict[str, str]:
    with engine.connect() as connection:
        rows = connection.execute(
            # Views and triggers live in migrations only (the models cannot create them).
            text(
                "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL"
                " AND name != 'alembic_version' AND type NOT IN ('view', 'trigger')"
            )
        )
        # A table rebuilt by alembic's batch mode is renamed into place: SQLite then quotes its name.
        return {name: " ".join(sql.replace(f'"{name}"', name, 1).split()) for name, sql in rows}


def test_migrations_leave_foreign_keys_enforced(engine):
    with engine.connect() as connection:
        command.upgrade(alembic_config(connection), "head")
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_table_rebuild_with_enforcement_off_keeps_dependent_rows(engine):
    """Why env.py disables foreign keys: a batch rebuild drops the table."""
    upgrade(engine)
    with engine.begin() as connection:
        upsert(connection, TimeEntry, [sample_entry(1)])
        upsert(connection, TimeEntryTag, [{"time_entry_id": 1, "tag_id": 2}])
    with engine.connect() as connection:
        with table_rebuilds_allowed(connection):
            with connection.begin():
                operations = Operations(MigrationContext.configure(connection))
                with operations.batch_alter_table("time_entries", recreate="always") as batch:
                    batch.alter_column("description", new_column_name="description")
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.execute(select(TimeEntryTag.tag_id)).scalars().all() == [2]


def test_foreign_keys_disabled_needs_no_open_transaction(engine):
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")  # autobegins
        with pytest.raises(RuntimeError, match="outside a transaction"):
            with foreign_keys_disabled(connection):
                pass


def test_open_database_creates_and_upgrades(tmp_path):
    path = tmp_path / "new" / "dir" / "togglsync.db"
    engine = open_database(str(path))
    try:
        assert path.is_file()
        assert current_revision(engine) == head_revision()
        assert tables(engine) == TABLES
    finally:
        engine.dispose()


def test_database_at_head_opens_without_running_migrations(db_path):
    open_database(str(db_path)).dispose()
    engine = make_engine(str(db_path))
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    try:
        assert upgrade(engine) is False
    finally:
        engine.dispose()
    # Only reads of alembic_version: no env.py (it would check foreign keys),
    # no write lock (BEGIN IMMEDIATE), no DDL.
    assert statements, "the version must have been read"
    assert len(statements) <= 4, statements
    joined = "\n".join(statements).upper()
    for forbidden in ("IMMEDIATE", "FOREIGN_KEY_CHECK", "CREATE", "ALTER", "INSERT", "UPDATE"):
        assert forbidden not in joined, statements


def test_behind_database_is_upgraded(engine):
    run_alembic(engine, command.upgrade, "head")
    run_alembic(engine, command.downgrade, "base")
    assert upgrade(engine) is True
    assert current_revision(engine) == head_revision()


def test_newer_database_is_refused_clearly(db_path):
    open_database(str(db_path)).dispose()
    engine = make_engine(str(db_path))
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    engine.dispose()
    with pytest.raises(DatabaseTooNew, match="created by a newer togglsync") as raised:
        open_database(str(db_path))
    assert isinstance(raised.value, TogglSyncError)
    assert "9999_from_the_future" in str(raised.value)


def _close(opened) -> None:
    if isinstance(opened, Engine):
        opened.dispose()
    else:
        opened.close()


@pytest.mark.parametrize("mode", [Mode.READ_ONLY, Mode.FAST_READ_ONLY])
def test_read_only_opens_upgrade_an_older_database_first(engine, db_path, mode):
    run_alembic(engine, command.upgrade, "0002")
    upgrades: list[Mode] = []
    _close(open_database(db_path, mode, on_upgrade=lambda: upgrades.append(mode)))
    assert upgrades == [mode]
    assert current_revision(engine) == head_revision()
    _close(open_database(db_path, mode, on_upgrade=lambda: upgrades.append(mode)))
    assert upgrades == [mode]  # at head: nothing ran, nothing to say


@pytest.mark.parametrize("mode", [Mode.READ_ONLY, Mode.FAST_READ_ONLY])
def test_read_only_opens_read_a_newer_database_as_it_is(engine, db_path, mode):
    run_alembic(engine, command.upgrade, "head")
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    opened = open_database(db_path, mode)
    try:
        if mode is Mode.READ_ONLY:
            with opened.connect() as connection:
                version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        else:
            version = opened.conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    finally:
        _close(opened)
    assert version == "9999_from_the_future"


def test_a_file_that_is_not_a_database_is_refused_clearly(db_path):
    db_path.write_bytes(b"this is a text file, not SQLite\n" * 100)
    with pytest.raises(DatabaseOpenError, match="not a SQLite database"):
        open_database(str(db_path))


def test_concurrent_first_opens_upgrade_once(db_path):
    """Separate processes (alembic's context is process-global, not per thread)."""
    script = "import sys; from togglsync.db.open import open_database; open_database(sys.argv[1]).dispose()"
    processes = [
        subprocess.Popen([sys.executable, "-c", script, str(db_path)], stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    failures = [p.stderr.read() for p in processes if p.wait(timeout=60) != 0]
    assert failures == []
    engine = make_engine(str(db_path))
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_concurrent_first_opens_in_threads(db_path):
    errors: list[BaseException] = []

    def open_it():
        try:
            open_database(str(db_path)).dispose()
        except BaseException as exc:  # asserted below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a first open never ended"
    assert errors == []


def test_alembic_command_line_from_the_repository_root(db_path):
    alembic = Path(sys.executable).with_name("alembic")
    env = {**os.environ, "TOGGLSYNC_DB": str(db_path)}
    result = subprocess.run(
        [str(alembic), "upgrade", "head"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    engine = make_engine(str(db_path))
    try:
        assert current_revision(engine) == head_revision()
        assert tables(engine) == TABLES
    finally:
        engine.dispose()


def sample_entry(id: int) -> dict:
    from datetime import datetime, timezone

    return {
        "id": id,
        "workspace_id": 1,
        "start": datetime(2024, 1, 1, tzinfo=timezone.utc),
        "duration": 60,
        "description": "x",
    }


def test_views_exist_and_answer(engine):
    run_alembic(engine, command.upgrade, "head")
    with engine.connect() as connection:
        views = set(connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'view'")).scalars())
        assert views == {"entries", "daily_totals", "entry_tags"}
        assert connection.execute(text("SELECT count(*) FROM entries")).scalar() == 0
        assert connection.execute(text("SELECT count(*) FROM daily_totals")).scalar() == 0


def test_schema_head_constant_matches_the_migration_scripts():
    from togglsync.db.migrate import SCHEMA_HEAD, head_revision

    assert SCHEMA_HEAD == head_revision(), "bump SCHEMA_HEAD in togglsync/db/lite.py with each new migration"
