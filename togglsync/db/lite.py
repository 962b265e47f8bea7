"""The database through the sqlite3 driver alone, for the commands that must answer at once.

`status`, `start` and `stop` do a handful of queries; importing SQLAlchemy
costs more than their whole budget. `Database` is what `db.open` gives in its
fast modes: a sqlite3 connection with the pragmas our engine sets (`configure`).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from togglsync.errors import StorageError

# How long a writer waits for another one (a sync, another command) to finish,
# unless TOGGLSYNC_BUSY_TIMEOUT (seconds) says otherwise.
BUSY_TIMEOUT_MS = 10_000


def busy_timeout_ms() -> int:
    """How long to wait for another writer: TOGGLSYNC_BUSY_TIMEOUT seconds, else BUSY_TIMEOUT_MS."""
    text = os.environ.get("TOGGLSYNC_BUSY_TIMEOUT", "").strip()
    try:
        seconds = float(text) if text else None
    except ValueError:
        seconds = None
    if seconds is None or not 0 <= seconds <= 86_400:
        return BUSY_TIMEOUT_MS
    return int(seconds * 1000)


def storage_error(
    exc: BaseException, file: object, *, read_only: bool = False, timeout_ms: int | None = None
) -> StorageError | None:
    """SQLite's errors about the database file itself, as one line naming it and what to do.

    `exc` is a sqlite3 error, or SQLAlchemy's wrapper of one (`.orig`); None for anything
    else (a statement's own fault, Ctrl-C; with `read_only`, a write tried on a connection opened
    read-only on purpose). The one translation of these errors: the engine's
    error hook (db.engine), `Database` here and the CLI's last resort all call it.
    """
    orig = exc if isinstance(exc, sqlite3.Error) else getattr(exc, "orig", None)
    if not isinstance(orig, sqlite3.Error):
        return None
    name = getattr(orig, "sqlite_errorname", "") or ""
    message = (str(orig).strip().splitlines() or [name or type(orig).__name__])[0]
    if name.startswith("SQLITE_READONLY") or "readonly database" in message:
        if read_only:
            return None
        return StorageError(
            f"cannot write the database at {file}: the file or its folder is read-only; make both writable "
            "(or point --db / TOGGLSYNC_DB at a writable place)")
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_PERM")) or message == "unable to open database file":
        return StorageError(
            f"cannot open the database at {file} ({message}): check that its folder exists and is writable "
            "(or point --db / TOGGLSYNC_DB elsewhere)")
    if name.startswith("SQLITE_FULL") or "disk is full" in message:
        return StorageError(
            f"cannot write the database at {file}: the disk is full; free some space and run the command again "
            "(nothing was half-written)")
    if name.startswith("SQLITE_NOTADB") or "not a database" in message:
        return StorageError(
            f"{file} is not a SQLite database ({message}): point --db / TOGGLSYNC_DB at your database, or move "
            "the file aside and run `togglsync sync` to build a new one from Toggl")
    if name.startswith("SQLITE_CORRUPT") or "disk image is malformed" in message:
        return StorageError(
            f"the database at {file} is damaged ({message}): move it aside and run `togglsync sync` to build a "
            "new one from Toggl (edits not yet pushed stay in the damaged file)")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in message:
        return StorageError(
            f"the database at {file} is busy: another program has been writing to it for more than "
            f"{(busy_timeout_ms() if timeout_ms is None else timeout_ms) / 1000:g} s; let it finish (or close it) and run the command again")
    if name.startswith(("SQLITE_IOERR", "SQLITE_NOMEM", "SQLITE_PROTOCOL")) or "disk I/O error" in message:
        return StorageError(
            f"cannot read or write the database at {file} ({message}): check the disk (full, failing, "
            "or a network folder gone)")
    return None


def file_of(conn: sqlite3.Connection) -> str:
    """The file of this connection's main database, for messages."""
    try:
        for _seq, name, file in conn.execute("PRAGMA database_list"):
            if name == "main":
                return str(file) or ":memory:"
    except sqlite3.Error:
        pass
    return "(unknown file)"


# The WAL file's header; a -wal no longer than this holds no page.
_WAL_HEADER_BYTES = 32


def read_only_parameters(file: Path) -> dict[str, str]:
    """How SQLite must open this file to read it and write nothing, as URI parameters.

    `mode=ro`, in general. A reader of a file in WAL mode (ours are) needs its `-shm` and
    `-wal` beside it, and creates them when they are missing: in a folder it cannot write
    (mounted read-only, a colleague's), that fails (SQLITE_CANTOPEN), though nothing there
    needs writing. Then, and only then, `immutable=1` too: SQLite reads the file as it is,
    without those files and without locks. That is safe because no writer can exist there
    (a writer in WAL mode makes its `-wal` and `-shm` beside the file, which the folder
    refuses; a folder someone else may write is taken as read-only for the moment we read).
    When both side files are there (a writer has the database open, or left them) `mode=ro`
    reads them, committed pages still in the `-wal` included. A `-wal` holding pages without
    its `-shm` cannot be read from a read-only folder, and `immutable=1` would silently leave
    those commits out: `StorageError`, saying why and what to do.
    """
    read_only = {"mode": "ro"}
    folder = file.parent
    if os.access(folder, os.W_OK) or not _wal_mode(file):
        return read_only  # SQLite makes the side files it needs; a rollback journal needs none to read
    wal, shm = file.with_name(file.name + "-wal"), file.with_name(file.name + "-shm")
    if wal.exists() and shm.exists():
        return read_only
    try:
        pages_in_wal = wal.stat().st_size > _WAL_HEADER_BYTES
    except FileNotFoundError:
        pages_in_wal = False
    if pages_in_wal:
        raise StorageError(
            f"cannot read the database at {file}: {wal.name} holds changes not yet written into the file, and "
            f"SQLite cannot read them while its folder is read-only; make {folder} writable (or copy "
            f"{file.name} and {wal.name} together to a writable folder)")
    return {**read_only, "immutable": "1"}


def _wal_mode(file: Path) -> bool:
    """Is this SQLite file in WAL mode (its header's read version, byte 19, is 2)?"""
    try:
        with open(file, "rb") as handle:
            header = handle.read(20)
    except OSError:
        return False  # SQLite says what is wrong with it
    return len(header) == 20 and header[:16] == b"SQLite format 3\x00" and header[19] == 2


def on_server(target: str | os.PathLike[str]) -> bool:
    """Does this database target (a file path or a SQLAlchemy URL) name a PostgreSQL server's database
    rather than a SQLite file? Without importing SQLAlchemy (the fast commands ask)."""
    text = os.fspath(target)
    return "://" in text and text.split("://", 1)[0].split("+", 1)[0].lower() in ("postgresql", "postgres")


# The newest revision in migrations/versions. A test checks it equals alembic's
# head, so forgetting to bump it with a new migration fails the suite.
SCHEMA_HEAD = "0013"


# The sync's probe before its first request: a write that changes nothing (rolled back).
WRITE_PROBE = "UPDATE alembic_version SET version_num = version_num"


def configure(conn: sqlite3.Connection) -> None:
    """The per-connection settings our SQLAlchemy engine applies too (db.engine)."""
    conn.execute(f"PRAGMA busy_timeout={busy_timeout_ms()}")
    conn.execute("PRAGMA foreign_keys=ON")
    # With WAL, NORMAL loses no data on an application crash (only the last
    # commits on power loss) and avoids an fsync per commit.
    conn.execute("PRAGMA synchronous=NORMAL")


# PRAGMAs that take an argument yet only read (table_info(t), index_list(t), ...).
READING_PRAGMAS = frozenset({
    "table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list",
    "foreign_key_check", "integrity_check", "quick_check", "table_list",
})


def _read_only_authorizer(action: int, arg1: str | None, arg2: str | None, db: str | None, source: str | None) -> int:
    if action == sqlite3.SQLITE_PRAGMA and arg2 is not None and (arg1 or "").lower() not in READING_PRAGMAS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def no_escape_hatches(conn: sqlite3.Connection) -> None:
    """On a connection to a file opened `mode=ro` (which protects that file), close the doors to
    others: ATTACH (and VACUUM INTO, which attaches its target) could create or write another file,
    and a PRAGMA that sets something is a write in spirit. The read-only engine (db.engine) and
    `togglsync sql` on the driver alone (query.run) both apply it."""
    conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    conn.set_authorizer(_read_only_authorizer)


# How often a writer asks again for the write lock another holds (see begin_immediate).
LOCK_POLL_S = 0.001


def begin_immediate(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE: the write lock, asked for again every millisecond while another writer
    holds it, up to the connection's busy timeout (then SQLite's SQLITE_BUSY error).

    SQLite's own busy handler sleeps longer and longer between tries (up to 100 ms), and
    a sync storing entries in batches frees the lock for a few milliseconds between two:
    an offline `start` during a cold sync of 300,000 entries waited 0.1 s typically, 0.5 s
    one time in ten and up to 1.2 s, always losing the gap; asking every millisecond takes
    the first one (at most one batch's wait)."""
    timeout_ms = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    deadline = time.monotonic() + timeout_ms / 1000
    conn.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _busy(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(LOCK_POLL_S)
    finally:
        conn.execute(f"PRAGMA busy_timeout={int(timeout_ms)}")


def _busy(exc: sqlite3.Error) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in str(exc)


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
        """A write transaction, taken at once (BEGIN IMMEDIATE) like our engine's.

        SQLite's errors about the file (read-only, full, damaged, busy) come out as `StorageError`."""
        with self.translated():
            begin_immediate(self.conn)
            try:
                yield self.conn
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def check_writable(self) -> None:
        """Can this database be written now? `WRITE_PROBE` in a write transaction, rolled back
        (what `db.engine.check_writable` does on an engine): `StorageError` if not."""
        with self.translated():
            begin_immediate(self.conn)
            try:
                self.conn.execute(WRITE_PROBE)
            finally:
                self.conn.execute("ROLLBACK")

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """Reads that see one state of the database, without blocking a writer (WAL)."""
        with self.translated():
            self.conn.execute("BEGIN")
            try:
                yield self.conn
            finally:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")

    @contextmanager
    def translated(self) -> Iterator[None]:
        """SQLite's errors about the file, raised in the block, as `StorageError` (see storage_error)."""
        try:
            yield
        except sqlite3.Error as exc:
            translated = storage_error(exc, file_of(self.conn))
            if translated is None:
                raise
            raise translated from None

    def close(self) -> None:
        if self._engine is not None:
            self._pooled.close()
            self._engine.dispose()
        else:
            self.conn.close()
