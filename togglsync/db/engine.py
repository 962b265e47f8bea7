"""Engines for the database, configured on *our* engine only.

A target is a SQLite file (a path or a `sqlite://` URL) or a PostgreSQL
server's database (`postgresql+psycopg://`, see `db.postgres`); `database_url`
reads either and refuses the rest. What follows is about SQLite.

Every connection gets WAL, enforced foreign keys and a busy timeout, and
transactions start with `BEGIN IMMEDIATE`: in WAL mode a transaction that
reads and then writes ("deferred") fails with SQLITE_BUSY when another
writer got in between, *regardless of the busy timeout*. Taking the write
lock at BEGIN makes the second writer wait (up to the timeout) instead.

The listeners sit on the engine instance we return; other engines in the
same process (tests, users' scripts) keep SQLAlchemy's defaults.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, unquote

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError

from togglsync.db import lite
from togglsync.errors import DatabaseNotFound
from togglsync.config import without_password
from togglsync.errors import ConfigError


# Execution option naming how our "begin" listener starts a transaction.
BEGIN_MODE_OPTION = "togglsync_begin"
_BEGIN_MODES = frozenset({"DEFERRED", "IMMEDIATE", "EXCLUSIVE"})


def make_engine(url_or_path: str | os.PathLike[str], *, busy_timeout_ms: int | None = None) -> Engine:
    """An engine for the read-write database at a SQLAlchemy URL or a file path.

    A plain path (or a sqlite URL naming a file) gets its parent directory
    created. `sqlite:///:memory:` works too (no WAL there).
    """
    url = database_url(url_or_path)
    if url.get_backend_name() == "postgresql":
        from togglsync.db import postgres

        return postgres.make_engine(url)
    if _is_file_database(url):
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)  # type: ignore[arg-type]
    engine = create_engine(url)
    _configure(engine, busy_timeout_ms=busy_timeout_ms, wal=_is_file_database(url), begin="IMMEDIATE")
    return engine


def make_readonly_engine(path: str | os.PathLike[str], *, busy_timeout_ms: int | None = None) -> Engine:
    """An engine that cannot write: SQLite opens the file with `mode=ro` (and `immutable=1` in a folder
    no one can write, `lite.read_only_parameters`).

    Read-only is enforced by how the file is opened, not by inspecting SQL,
    so it holds for anything a user types. Transactions are plain (deferred)
    BEGINs: they read a consistent snapshot and never take the write lock.
    On PostgreSQL every transaction is READ ONLY (`db.postgres`).
    """
    if lite.on_server(path):
        from togglsync.db import postgres

        return postgres.make_engine(database_url(path), read_only=True)
    file = Path(sqlite_url(path).database or "").expanduser().resolve()
    if not file.is_file():
        raise DatabaseNotFound(f"no database at {file}")
    # SQLite URI filenames are percent-encoded; a '?' or '#' in the path
    # would otherwise start the query or fragment.
    url = URL.create(
        "sqlite",
        database="file:" + quote(str(file)),
        query={**lite.read_only_parameters(file), "uri": "true"},
    )
    engine = create_engine(url)
    _configure(engine, busy_timeout_ms=busy_timeout_ms, wal=False, begin="DEFERRED")

    @event.listens_for(engine, "connect")
    def _no_escape_hatches(dbapi_connection: sqlite3.Connection, connection_record: object) -> None:
        lite.no_escape_hatches(dbapi_connection)

    return engine


def for_reading(engine: Engine) -> Engine:
    """The same engine (same pool), but its transactions start DEFERRED.

    For read-only work on the hot path (listing, checking the schema
    version): it neither waits for nor blocks a running sync's writes.
    Writing through it is still possible but may fail with SQLITE_BUSY.
    """
    return engine.execution_options(**{BEGIN_MODE_OPTION: "DEFERRED"})


@contextmanager
def table_rebuilds_allowed(connection: Connection) -> Iterator[None]:
    """What alembic's batch mode needs on SQLite: foreign keys off, legacy ALTER TABLE on.

    Batch mode rebuilds a table and renames the copy into place; with views
    over it (entries, daily_totals) modern SQLite refuses that rename unless
    legacy_alter_table is on. The views name tables, which keep their names.
    """
    dbapi = driver_connection(connection)
    with foreign_keys_disabled(connection):
        dbapi.execute("PRAGMA legacy_alter_table=ON")
        try:
            yield
        finally:
            dbapi.execute("PRAGMA legacy_alter_table=OFF")


@contextmanager
def bulk_writes(connection: Connection, mebibytes: int = 64) -> Iterator[None]:
    """SQLite set for a bulk write on this connection (a full re-sync of 100,000 entries):
    a bigger page cache, and statement journals in memory.

    With SQLite's default 2 MB cache, a transaction that writes tens of megabytes
    spills pages to the WAL and reads them back as its B-trees grow: measured
    about 40% of the time of the inserts. 64 MB rather than 32: a 300,000-entry
    cold sync 0.86x wall (42.6 -> 36.6 s, A/B 3 pairs), 100,000 entries 1.04x
    (within noise), peak RSS +35 MB at both (flat: 147 and 152 MB). The cache only grows as pages are
    used, and it stays warm from one transaction to the next while no one else
    writes. Each upsert of an entry opens a statement journal (its table has a
    trigger and a cascading reference): in a temporary file, that was about 13
    `pwrite` calls per entry stored (1.5 million for 100,000), in memory none.
    The connection's own settings come back afterwards (it is pooled).
    Nothing to do on PostgreSQL (the server's shared buffers are its own).
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    dbapi = driver_connection(connection)
    cache = dbapi.execute("PRAGMA cache_size").fetchone()[0]
    temp_store = dbapi.execute("PRAGMA temp_store").fetchone()[0]
    dbapi.execute(f"PRAGMA cache_size={-1024 * int(mebibytes)}")
    dbapi.execute("PRAGMA temp_store=MEMORY")
    try:
        yield
    finally:
        dbapi.execute(f"PRAGMA cache_size={int(cache)}")
        dbapi.execute(f"PRAGMA temp_store={int(temp_store)}")


def statistics_refreshed(connection: Connection, table: str) -> None:
    """After a bulk load, the planner's statistics of `table` brought up to date, on PostgreSQL:
    until its autovacuum gets to the table (a minute or more later), the planner kept the
    estimate of the empty table; a team's `report --by user` over 400,000 entries just synced
    was planned for 3,456 rows and sorted 29 MB on disk (1.2 s, 0.4 s after ANALYZE).
    On SQLite nothing: its planner has no statistics unless ANALYZE made some, and the
    plans tests/test_query_plans.py holds are those without. Commits what it did."""
    if connection.dialect.name != "postgresql":
        return
    connection.exec_driver_sql(f"ANALYZE {connection.dialect.identifier_preparer.quote(table)}")
    connection.commit()


@contextmanager
def durable_commits(connection: Connection) -> Iterator[None]:
    """Commits on this connection survive a power loss, for the block: SQLite's
    synchronous=FULL (our connections run NORMAL), set outside a transaction.
    PostgreSQL's commits are durable already (synchronous_commit, its default)."""
    if connection.dialect.name != "sqlite":
        yield
        return
    dbapi = driver_connection(connection)
    dbapi.execute("PRAGMA synchronous=FULL")  # only outside a transaction
    try:
        yield
    finally:
        dbapi.execute("PRAGMA synchronous=NORMAL")


@contextmanager
def foreign_keys_disabled(connection: Connection) -> Iterator[None]:
    """Turn off foreign key enforcement on this connection for the duration.

    Needed around migrations: alembic's batch mode rebuilds a table by
    copying it and dropping the original, and with enforcement on that DROP
    cascades (time_entries -> time_entry_tags rows would vanish). SQLite
    ignores this pragma inside a transaction, so the connection must not be
    in one; we check instead of silently running with enforcement on.
    """
    if connection.in_transaction():
        raise RuntimeError("foreign_keys_disabled() needs a connection outside a transaction")
    # The raw DBAPI connection runs the pragma without SQLAlchemy's autobegin
    # (our isolation_level=None means no implicit BEGIN either).
    dbapi = driver_connection(connection)
    dbapi.execute("PRAGMA foreign_keys=OFF")
    if dbapi.execute("PRAGMA foreign_keys").fetchone()[0] != 0:
        raise RuntimeError("could not disable foreign keys (is a transaction open?)")
    try:
        yield
    finally:
        if not connection.in_transaction():
            dbapi.execute("PRAGMA foreign_keys=ON")
        else:
            # Leaving enforcement off on a pooled connection would leak to
            # the next user of it; drop the connection instead.
            connection.invalidate()


def driver_connection(connection: Connection) -> sqlite3.Connection:
    """The sqlite3 connection under a SQLAlchemy one (for PRAGMAs outside SQLAlchemy's transaction)."""
    dbapi = connection.connection.driver_connection
    if not isinstance(dbapi, sqlite3.Connection):
        raise TypeError(f"not a sqlite3 connection: {type(dbapi).__name__}")
    return dbapi


def database_url(url_or_path: str | os.PathLike[str]) -> URL:
    """A SQLAlchemy URL from either a URL or a file path: SQLite, or PostgreSQL through psycopg 3
    (`postgresql://` means `postgresql+psycopg://`); other databases are refused."""
    text = os.fspath(url_or_path)
    if "://" not in text:
        return URL.create("sqlite", database=str(Path(text).expanduser()))
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        raise ConfigError(f"cannot read the database URL {without_password(text)}") from None
    backend = url.get_backend_name()
    if backend == "postgresql":
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        if url.drivername != "postgresql+psycopg":
            raise ConfigError(
                f"togglsync talks to PostgreSQL through psycopg 3: use postgresql+psycopg:// in "
                f"{url.render_as_string(hide_password=True)}")
        return url
    if backend != "sqlite":
        raise ConfigError(
            f"togglsync keeps its data in SQLite or PostgreSQL; cannot use {url.render_as_string(hide_password=True)}")
    return url


def sqlite_url(url_or_path: str | os.PathLike[str]) -> URL:
    """A SQLAlchemy URL for a SQLite file, from a URL or a file path; a server's database is refused."""
    url = database_url(url_or_path)
    if url.get_backend_name() != "sqlite":
        raise ConfigError(f"{url.render_as_string(hide_password=True)} is not a SQLite file")
    return url


def _is_file_database(url: URL) -> bool:
    """False for in-memory databases and SQLite URI filenames (file:...?uri=true)."""
    database = url.database or ""
    return database not in ("", ":memory:") and url.query.get("uri") not in ("true", "1")


def _use_wal(dbapi_connection: sqlite3.Connection, *, timeout_s: float) -> None:
    """Put the file in WAL mode (persistent; a no-op when it already is).

    Repeated on every connect so a file created by another tool ends up in
    the mode we rely on. Switching needs an exclusive lock that SQLite takes
    without its busy handler, so two processes opening a brand-new file at
    once can get SQLITE_BUSY here: retry until the busy timeout.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorname", "") != "SQLITE_BUSY" or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def check_writable(engine: Engine) -> None:
    """Can this database be written now? A write that changes nothing, rolled back.

    For the sync, before its first request: a read-only file or folder, a damaged
    file or another program holding the write lock longer than the busy timeout is
    `StorageError` here, before anything was sent (a full disk shows only when a
    write grows the file)."""
    with engine.connect() as connection:
        with connection.begin() as transaction:
            connection.exec_driver_sql(lite.WRITE_PROBE)
            transaction.rollback()


def file_name(url: URL) -> str:
    """The file an engine's URL names, for messages (a `file:` URI filename unquoted)."""
    database = url.database or ""
    if url.query.get("uri") in ("true", "1"):
        database = unquote(database.removeprefix("file:"))
    return database or url.render_as_string(hide_password=True)


def _configure(engine: Engine, *, busy_timeout_ms: int | None, wal: bool, begin: str) -> None:
    if busy_timeout_ms is None:
        busy_timeout_ms = lite.busy_timeout_ms()
    where = file_name(engine.url)

    @event.listens_for(engine, "handle_error")
    def _storage(context: ExceptionContext) -> BaseException | None:
        # SQLite's errors about the file itself (read-only, full, damaged, busy) become one
        # line naming it; the statement's own errors stay SQLAlchemy's.
        return lite.storage_error(context.original_exception, where, read_only=begin == "DEFERRED",
                                  timeout_ms=busy_timeout_ms)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, connection_record: object) -> None:
        # Stop the sqlite3 driver from issuing its own (deferred) BEGIN before
        # DML; the "begin" listener below decides how transactions start.
        dbapi_connection.isolation_level = None
        # busy_timeout first: switching to WAL may itself wait for a lock.
        dbapi_connection.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        if wal:
            _use_wal(dbapi_connection, timeout_s=busy_timeout_ms / 1000)
            # With WAL, NORMAL loses no data on an application crash (only
            # the last commits on power loss) and avoids an fsync per commit.
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(BEGIN_MODE_OPTION, begin)
        if mode not in _BEGIN_MODES:
            raise ValueError(f"{BEGIN_MODE_OPTION} must be one of {sorted(_BEGIN_MODES)}, not {mode!r}")
        connection.exec_driver_sql(f"BEGIN {mode}")
