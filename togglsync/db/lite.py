"""The database through the sqlite3 driver alone, for the commands that must answer at once.

`status`, `start` and `stop` do a handful of queries; importing SQLAlchemy
costs more than their whole budget. `connect` opens the file the way our
engine would (same pragmas) when that is all it takes: a file at this
version's schema, in WAL mode. Anything else (no file yet, an older schema,
a database named by URL) goes the full way through `migrate.open_database`,
which creates or upgrades it; `open_database` here does that fallback.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# How long a writer waits for another one (a sync, another command) to finish.
BUSY_TIMEOUT_MS = 10_000

# The newest revision in migrations/versions. A test checks it equals alembic's
# head, so forgetting to bump it with a new migration fails the suite.
SCHEMA_HEAD = "0005"


def connect(target: str) -> sqlite3.Connection | None:
    """The database file at `target`, opened with the driver; None when the quick way does not apply."""
    return _open(target, readonly=False)


def connect_readonly(target: str) -> sqlite3.Connection | None:
    """The same, opened read-only (`mode=ro`): nothing done through it can write the file."""
    return _open(target, readonly=True)


def _open(target: str, *, readonly: bool) -> sqlite3.Connection | None:
    if "://" in target or target in ("", ":memory:"):
        return None
    path = Path(target).expanduser()
    if not path.is_file():
        return None
    try:
        if readonly:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None,
                                   timeout=BUSY_TIMEOUT_MS / 1000)
        else:
            conn = sqlite3.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error:
        return None
    try:
        if readonly:
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            wal = True  # a reader needs no journal mode of its own
        else:
            configure(conn)
            wal = conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        at_head = conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(SCHEMA_HEAD,)]
    except sqlite3.Error:
        conn.close()
        return None
    if not (wal and at_head):
        conn.close()
        return None
    return conn


def configure(conn: sqlite3.Connection) -> None:
    """The per-connection settings our SQLAlchemy engine applies too (db.engine)."""
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys=ON")
    # With WAL, NORMAL loses no data on an application crash (only the last
    # commits on power loss) and avoids an fsync per commit.
    conn.execute("PRAGMA synchronous=NORMAL")


class Database:
    """A driver connection to the database, however it had to be opened."""

    def __init__(self, target: str):
        self._engine: Any = None
        conn = connect(target)
        if conn is None:
            # Create or migrate the full way, then try the quick way again; a database
            # named by URL keeps a connection of the engine (same driver, same pragmas).
            from togglsync.db.migrate import open_database

            engine = open_database(target)
            conn = connect(target)
            if conn is None:
                self._engine = engine
                self._raw = engine.raw_connection()
                conn = self._raw.driver_connection
            else:
                engine.dispose()
        self.conn: sqlite3.Connection = conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, taken at once (BEGIN IMMEDIATE) like our engine's."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """Reads that see one state of the database, without blocking a writer (WAL)."""
        self.conn.execute("BEGIN")
        try:
            yield self.conn
        finally:
            self.conn.execute("ROLLBACK")

    def close(self) -> None:
        if self._engine is not None:
            self._raw.close()
            self._engine.dispose()
        else:
            self.conn.close()
