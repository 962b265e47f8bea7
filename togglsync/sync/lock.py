"""One sync per account and database: the OS lock beside the file, or on PostgreSQL an
advisory lock on the server (`sync_lock`).

Two accounts sync into one database at once; one account never twice: each has
its own lock, named by `accounts.lock_suffix` beside a file (`<file>.lock` for
main, as before accounts; `<file>.<name>.lock` for another) and by
`accounts.lock_scope` on a server.

Kept apart from `sync.engine` (which imports SQLAlchemy) so that a sync that
finds nothing to do (`sync.quiet`) takes the lock without that import.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from togglsync import accounts
from togglsync.errors import LockedError, StorageError
from togglsync.sync.progress import SILENT, Progress

if TYPE_CHECKING:
    from sqlalchemy import Engine


def lock_path(db_target: str, account: str = accounts.IMPLICIT) -> Path | None:
    """The lock file of one account's sync beside a file database (a path or any SQLite URL
    form: `sqlite:///`, `sqlite+pysqlite:///`, a `file:` URI filename); None for in-memory
    databases and a server's database (its lock is the server's, `sync_lock`)."""
    from togglsync.db.lite import on_server

    if on_server(db_target):
        return None
    text = os.fspath(db_target)
    if "://" in text:
        from togglsync.db.engine import file_name, sqlite_url

        url = sqlite_url(text)
        if url.query.get("mode") == "memory":
            return None
        file = file_name(url) if url.database else ""
    else:
        file = str(Path(text).expanduser())  # what sqlite_url makes of a path, without importing SQLAlchemy
    if file in ("", ":memory:") or file.startswith("sqlite:"):
        return None
    path = Path(file).expanduser()
    return path.with_name(path.name + accounts.lock_suffix(account))


@contextmanager
def sync_lock(
    db_target: str, *, wait: bool = False, progress: Progress = SILENT, account: str = accounts.IMPLICIT,
    engine: Callable[[], Engine] | None = None,
) -> Iterator[None]:
    """One sync per account and database: an OS lock the kernel drops if the process dies; on
    PostgreSQL an advisory lock (`accounts.lock_scope`) the server drops if the process or its
    connection does, held on a connection of `engine()` when given (a run's shared engine,
    `db.open.Engines`), else of an engine of its own. `wait`: wait for a running sync to
    finish (saying so to `progress`) instead of refusing."""
    from togglsync.db.lite import on_server

    whose = "" if account == accounts.IMPLICIT else f" for account {account!r}"
    if on_server(db_target):
        from togglsync.db import postgres
        from togglsync.db.engine import database_url

        url = database_url(db_target)
        with postgres.advisory_lock(url, accounts.lock_scope(account), wait=wait,
                                    on_wait=lambda: progress.stage("waiting for another sync to finish"),
                                    engine=engine() if engine is not None else None) as taken:
            if not taken:
                raise LockedError(
                    f"another sync{whose} is running on {postgres.shown(url)} (an advisory lock on the server)")
            yield
        return
    path = lock_path(db_target, account)
    if path is None:
        yield
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        release = _take(path, block=False)
        if release is None:
            if not wait:
                raise LockedError(f"another sync{whose} is running on {db_target} (lock {path})")
            progress.stage("waiting for another sync to finish")
            release = _take(path, block=True)
    except OSError as exc:
        raise StorageError(
            f"cannot create the sync's lock file {path} ({exc.strerror or exc}): make its folder writable "
            "(or point --db / TOGGLSYNC_DB at a writable place)") from None
    try:
        # For diagnostics only; the lock itself is the kernel's.
        info = path.with_name(path.name + ".info")
        info.write_text(f"pid {os.getpid()} on {socket.gethostname()} since {datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ}\n")
        yield
    finally:
        if release is not None:
            release()


def _take(path: Path, *, block: bool) -> Callable[[], None] | None:
    """The lock on `path` taken (the function that releases it), or None when another holds it
    (only without `block`).

    On POSIX it is `flock` on the file, the lock filelock's UnixFileLock takes: importing
    filelock (it imports asyncio) cost about 45 ms of CPU, a sixth of a sync that finds
    nothing to do. Elsewhere, filelock."""
    if os.name != "posix":
        from filelock import FileLock, Timeout

        lock = FileLock(str(path), timeout=-1 if block else 0)
        try:
            lock.acquire()
        except Timeout:
            return None
        return lock.release
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if block else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise

    def release() -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    return release
