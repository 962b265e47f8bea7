"""Reading the local database, read-only: a person's own SQL (`togglsync sql`) and the reports' reads.

The file is opened `mode=ro` (db.open's read-only modes), so nothing run here
can change it, whatever the statement; the read-only engine also refuses
ATTACH and the PRAGMAs that set something (db.engine). A missing database is
never created (`errors.DatabaseNotFound`); an older one is upgraded first
and `on_upgrade` is told. SQLite's errors come out as ours, in one line: the
query's fault is a `UsageError` (exit 2), the file's a `StorageError` (exit 8,
the db layer's one translation, `db.lite.storage_error`).

    with query.run("~/toggl.db", "SELECT * FROM entries WHERE project = :p", {"p": "Website"}) as result:
        for row in result.rows:
            ...

On PostgreSQL (`postgresql+psycopg://...`) the statement runs in a READ ONLY
transaction the server enforces (db.postgres), as one prepared statement (a
`;` cannot smuggle in a second one); the server's errors come out as the same
`UsageError`. A role granted only SELECT is the stronger guard (README).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from togglsync.errors import UsageError

T = TypeVar("T")
Target = str | os.PathLike[str]

def database_file(target: Target) -> Path:
    """The file a database target (path or SQLite URL) names; it may not exist."""
    from togglsync.db.engine import sqlite_url

    return Path(sqlite_url(target).database or "").expanduser().resolve()


def on_server(target: Target) -> bool:
    """Is the database on a PostgreSQL server (not a SQLite file)?"""
    from togglsync.db.lite import on_server

    return on_server(target)


def database_name(target: Target) -> str:
    """The database for messages: its file, or its URL without the password."""
    if on_server(target):
        from togglsync.config import without_password

        return without_password(os.fspath(target))
    return str(database_file(target))


def server_error(exc: Exception) -> BaseException | None:
    """A PostgreSQL error raised through SQLAlchemy -> ours (UsageError: the statement's fault), else None."""
    from sqlalchemy.exc import DBAPIError

    if not isinstance(exc, DBAPIError) or exc.orig is None:
        return None
    message = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
    if getattr(exc.orig, "sqlstate", None) in ("25006", "42501"):  # read-only transaction, permission denied
        return UsageError(f"{message}: togglsync sql is read-only (change data with togglsync's commands)")
    return UsageError(message)


def error(exc: sqlite3.Error, target: Target) -> BaseException:
    """A sqlite3 error -> ours: the query's fault (UsageError) or the file's (StorageError);
    a statement interrupted by Ctrl-C -> KeyboardInterrupt."""
    message = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if message == "interrupted":  # Ctrl-C, let in by the progress handler of `run`
        return KeyboardInterrupt()
    name = getattr(exc, "sqlite_errorname", "") or ""
    # "not authorized" / "too many attached databases": what the read-only
    # engine refuses beyond the file itself (setting PRAGMAs, ATTACH, VACUUM INTO).
    if (name.startswith(("SQLITE_READONLY", "SQLITE_AUTH")) or "readonly database" in message
            or "not authorized" in message or "too many attached databases" in message):
        return UsageError(f"{message}: togglsync sql is read-only (change data with togglsync's commands)")
    from togglsync.db.lite import storage_error

    about_the_file = storage_error(exc, database_file(target), read_only=True)
    return about_the_file if about_the_file is not None else UsageError(message)


def read(target: Target, run: Callable[[sqlite3.Connection], T], *, on_upgrade: Callable[[], None] | None = None) -> T:
    """run(connection) on the database, read-only, through the sqlite3 driver (db.open's fast
    mode: no SQLAlchemy import at this version's schema, most of a report's start-up)."""
    from togglsync.db.open import Mode, open_database

    if on_server(target):
        server = open_database(target, Mode.FAST_READ_ONLY, on_upgrade=on_upgrade)
        try:
            with server.snapshot() as conn:
                return run(conn)  # type: ignore[arg-type]
        except Exception as exc:
            translated = server_error(exc)
            if translated is None:
                raise
            raise translated from None
        finally:
            server.close()
    try:
        db = open_database(target, Mode.FAST_READ_ONLY, on_upgrade=on_upgrade)
    except sqlite3.Error as exc:
        raise error(exc, target) from None
    try:
        return run(db.conn)  # type: ignore[arg-type]
    except sqlite3.Error as exc:
        raise error(exc, target) from None
    finally:
        db.close()


@dataclass
class Result:
    """A statement's columns, as SQLite names them, and its rows, streamed."""

    columns: list[str]
    rows: Iterator[tuple[Any, ...]]

    @property
    def keys(self) -> list[str]:
        """The column names made unique, e.g. as JSON keys: `SELECT a.id, b.id` gives id, id_2."""
        return unique_names(self.columns)


def unique_names(columns: Sequence[str]) -> list[str]:
    used: set[str] = set()
    out = []
    for name in columns:
        key, n = name, 1
        while key in used:
            n += 1
            key = f"{name}_{n}"
        used.add(key)
        out.append(key)
    return out


@contextmanager
def run(
    target: Target,
    text: str,
    params: Mapping[str, Any] | Sequence[Any] = (),
    *,
    on_upgrade: Callable[[], None] | None = None,
) -> Iterator[Result | None]:
    """One SQL statement on the database at `target`, read-only, with `:name` (mapping) or `?`
    (sequence) parameters. Yields its result, whose rows stream while the block runs, or None
    for a statement without rows. Ctrl-C stops a long statement (KeyboardInterrupt)."""
    from togglsync.db.lite import no_escape_hatches
    from togglsync.db.open import Mode, open_database

    if not text.strip():
        raise UsageError("the query is empty")
    bound = dict(params) if isinstance(params, Mapping) else tuple(params)
    if on_server(target):
        engine = open_database(target, Mode.READ_ONLY, on_upgrade=on_upgrade)
        try:
            with _run_on_server(engine, text, bound) as result:
                yield result
        finally:
            engine.dispose()
        return
    # A SQLite file on the driver alone (db.open's fast read-only mode: mode=ro, and no SQLAlchemy
    # import at this version's schema, most of a short query's time), without the escape hatches.
    try:
        db = open_database(target, Mode.FAST_READ_ONLY, on_upgrade=on_upgrade)
    except sqlite3.Error as exc:
        raise error(exc, target) from None
    try:
        dbapi = db.conn
        assert isinstance(dbapi, sqlite3.Connection)
        no_escape_hatches(dbapi)
        # SQLite runs a long statement without returning to Python, so Ctrl-C would wait for
        # it; a progress callback lets the KeyboardInterrupt in, which aborts the statement.
        dbapi.set_progress_handler(_no_op, 100_000)
        try:
            cursor = dbapi.execute(text, bound)
        except sqlite3.Warning as exc:  # older Pythons: "You can only execute one statement at a time."
            raise error(sqlite3.ProgrammingError(str(exc)), target) from None
        except sqlite3.Error as exc:
            raise error(exc, target) from None
        if cursor.description is None:  # e.g. some PRAGMAs
            yield None
            return
        rows = _stream(cursor, target)
        try:
            yield Result([d[0] for d in cursor.description], rows)
        finally:
            rows.close()  # rows not read are dropped before the connection closes
    finally:
        db.close()


@contextmanager
def _run_on_server(engine: Any, text: str, bound: Mapping[str, Any] | tuple[Any, ...]) -> Iterator[Result | None]:
    from sqlalchemy.exc import DBAPIError

    from togglsync.db.sql import driver_text

    def translated(exc: Exception) -> BaseException:
        return server_error(DBAPIError.instance(text, bound, exc, type(exc))) or exc

    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()
        import psycopg

        try:
            # Prepared: one statement only. Parameters the query does not name are an error, as in SQLite.
            cursor.execute(driver_text(engine, text) if bound else text, bound or None, prepare=True)
        except psycopg.Error as exc:
            raise translated(exc) from None
        if cursor.description is None:
            yield None
            return

        def stream() -> Generator[tuple[Any, ...], None, None]:
            try:
                yield from cursor
            except psycopg.Error as exc:
                raise translated(exc) from None

        rows = stream()
        try:
            yield Result([d.name for d in cursor.description], rows)
        finally:
            rows.close()
    finally:
        raw.close()


def _stream(cursor: sqlite3.Cursor, target: Target) -> Generator[tuple[Any, ...], None, None]:
    """The cursor's rows; an error while stepping (e.g. in an expression) becomes ours too."""
    try:
        for row in cursor:
            yield row
    except sqlite3.Error as exc:
        raise error(exc, target) from None


def _no_op() -> int:
    return 0
