"""The database through the sqlite3 driver alone, for the commands that must answer at once.

`status`, `start` and `stop` do a handful of queries; importing SQLAlchemy
costs more than their whole budget. `Database` is what `db.open` gives in its
fast modes: a sqlite3 connection with the pragmas our engine sets (`configure`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# How long a writer waits for another one (a sync, another command) to finish.
BUSY_TIMEOUT_MS = 10_000

# The newest revision in migrations/versions. A test checks it equals alembic's
# head, so forgetting to bump it with a new migration fails the suite.
SCHEMA_HEAD = "0006"


def configure(conn: sqlite3.Connection) -> None:
    """The per-connection settings our SQLAlchemy engine applies too (db.engine)."""
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys=ON")
    # With WAL, NORMAL loses no data on an application crash (only the last
    # commits on power loss) and avoids an fsync per commit.
    conn.execute("PRAGMA synchronous=NORMAL")


class Database:
    """A driver connection to the database: opened by the driver itself, or one of an engine's."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self._engine: Any = None
        self._pooled: Any = None

    @classmethod
    def of_engine(cls, engine: Any) -> Database:
        """A connection of this SQLAlchemy engine (same driver, same pragmas); closing disposes the engine."""
        pooled = engine.raw_connection()
        db = cls(pooled.driver_connection)
        db._engine, db._pooled = engine, pooled
        return db

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
            self._pooled.close()
            self._engine.dispose()
        else:
            self.conn.close()
