"""One sync: lock, pull, reconcile creates of unknown outcome, push. Returns what happened.

Pull comes first so that merges see the server's latest version and in-flight
creates can be recognised before anything is resent. Each step commits as it
goes: whatever stops the sync (budget, quota, network, a crash), everything
done so far is kept and the next run resumes.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from sqlalchemy import Engine, func, select

from togglsync import outbox
from togglsync.db.models import SyncConflict
from togglsync.errors import (
    BudgetExhausted,
    ExitCode,
    LockedError,
    NetworkError,
    QuotaExceeded,
    RateLimited,
    StorageError,
    TogglSyncError,
)
from togglsync import records
from togglsync.sync import plan
from togglsync.sync.pull import Puller, PullResult
from togglsync.sync.push import Pusher, PushResult
from togglsync.sync.progress import SILENT, Progress
from togglsync.sync.remote import Toggl



class SyncInterrupted(KeyboardInterrupt):
    """A sync stopped by Ctrl-C (or SIGINT); `result` says what it did before.

    Everything done so far is committed; a create whose answer was not read
    stays in flight and the next sync reconciles it (tests/test_sync_interrupt.py).
    """

    def __init__(self, result: "SyncResult"):
        super().__init__(f"interrupted: pushed {result.pushed} of {result.to_push}")
        self.result = result


@dataclass
class SyncOptions:
    pull: bool = True
    push: bool = True
    budget: int | None = None
    policy: str = "local"  # who wins when both sides changed a field: "local" or "remote"
    catalog_max_age: timedelta = timedelta(hours=1)
    history_days: int = 89
    force_catalog: bool = False
    # Every entry of the window read again (`sync --full`; see Puller.full_entry_resync).
    full_entries: bool = False
    # A full entry re-sync may empty the cached window (see Puller.full_entry_resync).
    accept_empty_resync: bool = False


@dataclass
class SyncResult:
    pulled: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    pushed: int = 0
    adopted: int = 0
    failed: int = 0
    blocked: int = 0
    conflicts: int = 0
    requests: int = 0
    pending: int = 0
    # Operations left parked (refused, or a create that could not be decided) at the end.
    parked: int = 0
    quota: dict[str, Any] = field(default_factory=dict)
    stopped: str | None = None  # why the sync ended early: "budget", "quota", "network", "rate limit"
    error: str | None = None
    exit_code: int = ExitCode.OK
    failures: list[str] = field(default_factory=list)
    # Operations the push set out to send (`pushed` of them went).
    to_push: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        pulled = ", ".join(f"{k} {v}" for k, v in sorted(self.pulled.items()) if v) or "nothing new"
        deleted = sum(self.deleted.values())
        parts = [f"pulled {pulled}"]
        if deleted:
            parts.append(f"removed {deleted}")
        parts.append(f"pushed {self.pushed}")
        if self.adopted:
            parts.append(f"adopted {self.adopted}")
        if self.failed:
            parts.append(f"failed {self.failed}")
        if self.blocked:
            parts.append(f"waiting {self.blocked}")
        if self.conflicts:
            parts.append(f"conflicts {self.conflicts}")
        if self.parked:
            parts.append(f"parked {self.parked}")
        parts.append(f"{self.requests} request{'s' if self.requests != 1 else ''}")
        left = [f"{pool} {q['remaining']}" for pool, q in sorted(self.quota.items()) if q.get("remaining") is not None]
        if left:
            parts.append("quota left: " + ", ".join(left))
        line = "sync: " + "; ".join(parts)
        if self.stopped:
            line += f" (stopped early: {self.stopped})"
        return line


    def parked_line(self) -> str:
        """The one line that says edits wait for the user (exit code 7), even under --quiet."""
        n = self.parked
        return (
            f"sync: {n} local change{' is' if n == 1 else 's are'} waiting for you (refused by Toggl, "
            "retried automatically after a back-off): see `togglsync pending`"
        )


# What one sync lock covers on a server's database: the whole database, for now (a scope per
# account is this function's change).
def lock_scope(db_target: str) -> str:
    return "database"


def lock_path(db_target: str) -> Path | None:
    """The lock file beside a file database (a path or any SQLite URL form: `sqlite:///`,
    `sqlite+pysqlite:///`, a `file:` URI filename); None for in-memory databases and a
    server's database (its lock is the server's, `sync_lock`)."""
    from togglsync.db.engine import file_name, sqlite_url
    from togglsync.db.lite import on_server

    if on_server(db_target):
        return None

    url = sqlite_url(db_target)
    file = file_name(url) if url.database else ""
    if file in ("", ":memory:") or url.query.get("mode") == "memory" or file.startswith("sqlite:"):
        return None
    path = Path(file).expanduser()
    return path.with_name(path.name + ".lock")


@contextmanager
def sync_lock(db_target: str, *, wait: bool = False, progress: Progress = SILENT) -> Iterator[None]:
    """One sync per database: an OS lock the kernel drops if the process dies; on PostgreSQL
    an advisory lock (`lock_scope`) the server drops if the process or its connection does.
    `wait`: wait for a running sync to finish (saying so to `progress`) instead of refusing."""
    from togglsync.db.lite import on_server

    if on_server(db_target):
        from togglsync.db import postgres
        from togglsync.db.engine import database_url

        url = database_url(db_target)
        with postgres.advisory_lock(url, lock_scope(db_target), wait=wait,
                                    on_wait=lambda: progress.stage("waiting for another sync to finish")) as taken:
            if not taken:
                raise LockedError(f"another sync is running on {postgres.shown(url)} (an advisory lock on the server)")
            yield
        return
    path = lock_path(db_target)
    if path is None:
        yield
        return
    lock = FileLock(str(path), timeout=0)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            lock.acquire()
        except Timeout:
            if not wait:
                raise
            progress.stage("waiting for another sync to finish")
            lock.acquire(timeout=-1)
    except Timeout:
        raise LockedError(f"another sync is running on {db_target} (lock {path})") from None
    except OSError as exc:
        raise StorageError(
            f"cannot create the sync's lock file {path} ({exc.strerror or exc}): make its folder writable "
            "(or point --db / TOGGLSYNC_DB at a writable place)") from None
    try:
        # For diagnostics only; the lock itself is the kernel's.
        info = path.with_suffix(".lock.info")
        info.write_text(f"pid {os.getpid()} on {socket.gethostname()} since {datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ}\n")
        yield
    finally:
        lock.release()


def _merge_pull(result: SyncResult, pulled: PullResult) -> None:
    for table, stats in pulled.tables.items():
        result.pulled[table] = result.pulled.get(table, 0) + stats.upserted + stats.merged
        result.deleted[table] = result.deleted.get(table, 0) + stats.deleted
        result.conflicts += stats.conflicts


def _merge_push(result: SyncResult, pushed: PushResult) -> None:
    result.pushed += pushed.pushed
    result.adopted += pushed.adopted
    result.failed += pushed.failed
    result.blocked = pushed.blocked
    result.failures.extend(pushed.failures)
    result.to_push = len(pushed.to_send)


def run_sync(
    engine: Engine,
    client: Toggl,
    options: SyncOptions | None = None,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    progress: Progress = SILENT,
) -> SyncResult:
    """Pull, reconcile and push once. The caller holds the sync lock; `progress` hears
    what it is doing (a terminal's display; nothing by default).

    The database must take a write before the first request (`StorageError` otherwise):
    a read-only or damaged file, or one another program holds, costs no request."""
    from togglsync.db.engine import check_writable

    check_writable(engine)
    options = options or SyncOptions()
    result = SyncResult()
    start_requests = client.requests_sent
    client.budget = None if options.budget is None else start_requests + options.budget
    puller = Puller(
        engine, client, policy=options.policy, catalog_max_age=options.catalog_max_age,
        history_days=options.history_days, clock=clock, accept_empty_resync=options.accept_empty_resync,
        progress=progress,
    )
    pusher = Pusher(engine, client, clock=clock, progress=progress)
    pushed = PushResult()
    interrupted: KeyboardInterrupt | None = None
    try:
        in_flight = pusher.in_flight()
        # Parked operations go again on their own once plan.parked_step says so; one that
        # names a project, client or tag first wants a catalog refresh newer than its
        # parking (the healing refresh of its own sync may have failed: 503, 402, budget).
        # Nothing parked: one local query, no request (tests/test_parked.py).
        parked_refs = options.pull and options.push and any(
            step is plan.Parked.REFRESH for step in pusher.parked_steps(puller.catalog_stored_at()).values()
        )
        catalog_refreshed = False
        if options.pull or in_flight:
            # Creates of unknown outcome are recognised from what changed since they were
            # sent (deleted records included): the pull reads back that far for their kinds.
            look_back: dict[records.Kind, datetime] = {}
            for op in in_flight:
                if op.sent_at is not None:
                    look_back[op.resource] = min(op.sent_at, look_back.get(op.resource, op.sent_at))
            try:
                pulled = puller.pull(force_catalog=options.force_catalog, look_back=look_back, parked_refs=parked_refs,
                                     full_entries=options.full_entries)
                _merge_pull(result, pulled)
                catalog_refreshed = pulled.catalog_refreshed
            except TogglSyncError:
                # A pull that stopped part-way (network, quota, budget) may already have
                # stored the record a lost create made: it is adopted now, so no second copy
                # sits beside the temporary row for a local edit to land on (a record with
                # edits is never adopted, and the create would go again). Resending waits
                # for a complete pull (tests/test_sync_push.py).
                if in_flight:
                    pusher.reconcile(pushed, adopt_only=True)
                raise
            pusher.reconcile(pushed, seen=pulled.seen)
        if options.push:
            # Counts go into `pushed` as they happen: a push stopped half way (402, 429,
            # network, Ctrl-C) still reports what it did (tests/test_sync_push.py,
            # tests/test_sync_interrupt.py).
            pusher.retry_parked(puller.catalog_stored_at())
            pusher.push(pushed)
            # After a catalog refreshed in this very sync, another would tell nothing new.
            refused = pusher.references(pushed.rejected) if options.pull and not catalog_refreshed else {}
            if refused:
                # Toggl refused edits naming a project, client or tag: most likely one
                # deleted elsewhere since our last catalog. One more request refreshes
                # the catalog, which detaches what is gone (as Toggl did to its own
                # rows); the edits that lost a dead reference go again in this sync, the
                # rest stay parked, and go again after their back-off (plan.parked_step).
                # Should this request fail, a later sync asks again (tests/test_sync_push.py,
                # tests/test_parked.py).
                catalog = PullResult()
                puller.pull_catalog(catalog, with_users=False)
                _merge_pull(result, catalog)
                if pusher.retry_if_changed(refused, pushed):
                    pusher.push(pushed)
    except BudgetExhausted:
        result.stopped = "budget"
    except QuotaExceeded as exc:
        result.stopped, result.error, result.exit_code = "quota", str(exc), exc.exit_code
    except RateLimited as exc:
        result.stopped, result.error, result.exit_code = "rate limit", str(exc), ExitCode.ERROR
    except NetworkError as exc:
        result.stopped, result.error, result.exit_code = "network", str(exc), exc.exit_code
    except TogglSyncError as exc:
        result.stopped, result.error, result.exit_code = type(exc).__name__, str(exc), exc.exit_code
    except KeyboardInterrupt as exc:
        result.stopped, result.exit_code = "interrupted", ExitCode.INTERRUPTED
        interrupted = exc
    finally:
        client.budget = None
        _merge_push(result, pushed)
        result.requests = client.requests_sent - start_requests
        result.quota = {
            pool: {"remaining": q.remaining, "resets_at": q.resets_at.isoformat() if q.resets_at else None}
            for pool, q in client.quota.items()
        }
        with engine.connect() as conn:
            counts = outbox.counts(conn)
        result.pending = sum(counts.values())
        result.parked = counts.get(outbox.State.FAILED, 0)
    if interrupted is not None:
        raise SyncInterrupted(result) from interrupted
    if result.exit_code == ExitCode.OK and (result.failed or result.parked):
        # Some edits are waiting for the user: never exit 0 while anything is parked, so
        # cron mails them (`togglsync pending` lists them).
        result.exit_code = ExitCode.FAILED_OPS
    return result


def reread(
    engine: Engine,
    client: Toggl,
    kind: records.Kind,
    record_id: int,
    workspace_id: int,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> bool:
    """Read one record again from Toggl and store it as Toggl has it (removed here when Toggl
    has it no more): after the user gave a local change of it up. One request; the caller
    holds the sync lock. Returns whether Toggl has it."""
    return Puller(engine, client, clock=clock).pull_record(kind, record_id, workspace_id)


def open_conflicts(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(SyncConflict).where(SyncConflict.resolved_at.is_(None))).scalar_one()
