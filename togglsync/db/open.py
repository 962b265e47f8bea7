"""The one way into the local database: `open_database(target, mode)`.

| mode | gives | a missing file | an older schema |
|---|---|---|---|
| `READ_WRITE` | SQLAlchemy `Engine` | created | upgraded |
| `READ_ONLY` | `Engine` on the file opened `mode=ro` | `DatabaseNotFound` | upgraded first, when it can be |
| `FAST_READ_WRITE` | `lite.Database` (sqlite3 connection) | created | upgraded |
| `FAST_READ_ONLY` | `lite.Database`, opened `mode=ro` | `DatabaseNotFound` | upgraded first, when it can be |

A run that opens one database for several accounts (a sync of every account) shares one
engine through `Engines` instead: made and checked once, disposed at the end.

The fast modes open a file at this version's schema with the sqlite3 driver
alone, with the pragmas our engine sets: importing SQLAlchemy costs more
than `status`, `start` or `stop` may take in all. Anything else (no file yet,
an older schema, a database named by URL) takes the full way first, and the
connection comes from the driver after all, or from that engine (same driver,
same pragmas).

A read-only open never creates a file, but reads an older database only
after upgrading it, as any other command would (a migration may remove
something that must not be shown, like the API tokens 0004 deletes). A
database that cannot be upgraded (newer, or not writable) is read as it is.

`target` is a file path or a SQLAlchemy URL (SQLite, or PostgreSQL:
`db.postgres`). SQLAlchemy and alembic are imported only on the full way.
On PostgreSQL every way is the full way: the fast modes give a
`postgres.Database`, the same `transaction()`/`snapshot()` on one SQLAlchemy
connection, which `db.sql` runs the same plain SQL on.
"""

from __future__ import annotations

import enum
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode
from typing import TYPE_CHECKING, Literal, overload

from togglsync.db.lite import SCHEMA_HEAD, Database, busy_timeout_ms, configure, on_server, read_only_parameters
from togglsync.errors import TogglSyncError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from togglsync.db import postgres

Target = str | os.PathLike[str]


class Mode(enum.Enum):
    READ_WRITE = "read-write"
    READ_ONLY = "read-only"
    FAST_READ_WRITE = "fast read-write"
    FAST_READ_ONLY = "fast read-only"


@overload
def open_database(
    target: Target,
    mode: Literal[Mode.READ_WRITE, Mode.READ_ONLY] = ...,
    *,
    on_upgrade: Callable[[], None] | None = ...,
) -> Engine: ...


@overload
def open_database(
    target: Target,
    mode: Literal[Mode.FAST_READ_WRITE, Mode.FAST_READ_ONLY],
    *,
    on_upgrade: Callable[[], None] | None = ...,
) -> Database | postgres.Database: ...


def open_database(
    target: Target, mode: Mode = Mode.READ_WRITE, *, on_upgrade: Callable[[], None] | None = None
) -> Engine | Database | postgres.Database:
    """The database at `target`, opened in `mode` (see the table above).

    `on_upgrade` is called after migrations ran on it (a new file, or an
    older schema brought to this version's).
    """
    if mode is Mode.READ_WRITE:
        return _engine(target, on_upgrade)
    if mode is Mode.READ_ONLY:
        return _readonly_engine(target, on_upgrade)
    if mode in (Mode.FAST_READ_WRITE, Mode.FAST_READ_ONLY):
        return _fast(target, readonly=mode is Mode.FAST_READ_ONLY, on_upgrade=on_upgrade)
    raise ValueError(f"not a Mode: {mode!r}")


class Engines:
    """One engine per database for a run that opens it again and again (`togglsync sync` of
    every account, each with an `App` of its own): made, and brought to this version's schema,
    once; lent to each account (`App.engines`: its `engine`; on PostgreSQL also its fast
    `database` and the connection of its sync lock); disposed by `close` at the end of the run,
    never by those who borrowed it.

    On PostgreSQL an engine's first connection asks the server about itself (SQLAlchemy's
    dialect initialization) and each engine keeps its own pool: made afresh for every account
    (three engines each: the lock's, the fast `database`'s and the `engine`), that was about half
    of a no-change sync's time per account (measured in-process, three accounts: 0.27-0.37 s
    before, 0.15-0.17 s after). On SQLite the fast `database` stays the file's own sqlite3
    connection (it costs about a millisecond)."""

    def __init__(self) -> None:
        self._engines: dict[str, Engine] = {}

    def engine(self, target: Target) -> Engine:
        """`open_database(target)` (`Mode.READ_WRITE`), made once for the run."""
        key = os.fspath(target)
        engine = self._engines.get(key)
        if engine is None:
            engine = self._engines[key] = _engine(target, None)
        return engine

    def database(self, target: Target) -> Database | postgres.Database:
        """`open_database(target, Mode.FAST_READ_WRITE)`: on a server, a connection of this run's
        engine (closing it gives the connection back to the pool); else as `open_database` gives it."""
        if on_server(target):
            from togglsync.db import postgres

            return postgres.Database(self.engine(target), owned=False)
        return open_database(target, Mode.FAST_READ_WRITE)

    def close(self) -> None:
        engines, self._engines = list(self._engines.values()), {}
        for engine in engines:
            engine.dispose()

    def __enter__(self) -> Engines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _engine(target: Target, on_upgrade: Callable[[], None] | None) -> Engine:
    from togglsync.db.engine import make_engine
    from togglsync.db.migrate import at_head, upgrade

    engine = make_engine(target)
    try:
        if not at_head(engine) and upgrade(engine) and on_upgrade is not None:
            on_upgrade()
    except BaseException:
        engine.dispose()
        raise
    return engine


def _readonly_engine(target: Target, on_upgrade: Callable[[], None] | None) -> Engine:
    from togglsync.db.engine import make_readonly_engine
    from togglsync.db.migrate import at_head

    engine = make_readonly_engine(target)
    try:
        behind = not at_head(engine)
    except BaseException:
        engine.dispose()  # no connection left open on the file (a read-only mount could not be undone)
        raise
    if behind:
        _upgrade_if_possible(target, on_upgrade)
    return engine


def _upgrade_if_possible(target: Target, on_upgrade: Callable[[], None] | None) -> None:
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    try:
        _engine(target, on_upgrade).dispose()
    except (TogglSyncError, SQLAlchemyError, CommandError, OSError):
        pass  # a newer or unwritable database: reading it may still work


def _fast(target: Target, *, readonly: bool, on_upgrade: Callable[[], None] | None) -> Database | postgres.Database:
    if on_server(target):
        from togglsync.db import postgres

        engine = _readonly_engine(target, on_upgrade) if readonly else _engine(target, on_upgrade)
        try:
            return postgres.Database(engine)
        except BaseException:
            engine.dispose()
            raise
    conn = _connect_at_head(target, readonly=readonly)
    if conn is not None:
        return Database(conn)
    engine = _readonly_engine(target, on_upgrade) if readonly else _engine(target, on_upgrade)
    conn = _connect_at_head(target, readonly=readonly)
    if conn is not None:
        engine.dispose()
        return Database(conn)
    from sqlalchemy.exc import DBAPIError

    try:
        return Database.of_engine(engine)
    except DBAPIError as exc:
        engine.dispose()
        # What the fast modes give is a driver connection, and their callers handle the driver's errors.
        if isinstance(exc.orig, sqlite3.Error):
            raise exc.orig from None
        raise


def _connect_at_head(target: Target, *, readonly: bool) -> sqlite3.Connection | None:
    """The file at `target` opened with the driver alone, when it is at this version's schema
    (and, to write, in WAL mode); else None."""
    text = os.fspath(target)
    if "://" in text or text in ("", ":memory:"):
        return None
    path = Path(text).expanduser()
    if not path.is_file():
        return None
    parameters = read_only_parameters(path.resolve()) if readonly else {}
    try:
        if readonly:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?{urlencode(parameters)}", uri=True, isolation_level=None,
                                   timeout=busy_timeout_ms() / 1000)
        else:
            conn = sqlite3.connect(str(path), isolation_level=None, timeout=busy_timeout_ms() / 1000)
    except sqlite3.Error:
        return None
    try:
        if readonly:
            conn.execute(f"PRAGMA busy_timeout={busy_timeout_ms()}")
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
