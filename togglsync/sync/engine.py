"""One sync: lock, pull, reconcile creates of unknown outcome, push. Returns what happened.

Pull comes first so that merges see the server's latest version and in-flight
creates can be recognised before anything is resent. Each step commits as it
goes: whatever stops the sync (budget, quota, network, a crash), everything
done so far is kept and the next run resumes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import Engine, func, select

from togglsync import accounts, outbox
from togglsync.db.models import SyncConflict
from togglsync.errors import TogglSyncError
from togglsync import records
from togglsync.sync import plan
from togglsync.sync.lock import lock_path as lock_path
from togglsync.sync.lock import sync_lock as sync_lock
from togglsync.sync.outcome import SyncInterrupted as SyncInterrupted
from togglsync.sync.outcome import SyncOptions as SyncOptions
from togglsync.sync.outcome import SyncResult as SyncResult
from togglsync.sync.outcome import settled
from togglsync.sync.history import History
from togglsync.sync.window import RecentWindow, WindowResult
from togglsync.sync.pull import Puller, PullResult
from togglsync.sync.push import Pusher, PushResult
from togglsync.sync.progress import SILENT, Progress
from togglsync.sync.remote import Toggl
from togglsync.sync.state import Prefetched



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
    account: str = accounts.IMPLICIT,
    prefetched: Prefetched | None = None,
) -> SyncResult:
    """Pull, reconcile and push once for one account (`client` holds its credentials): its
    cursors, its pending operations, deletions by absence only within what its answers cover.
    The caller holds the account's sync lock; `progress` hears what it is doing (a terminal's
    display; nothing by default).

    The database must take a write before the first request (`StorageError` otherwise):
    a read-only or damaged file, or one another program holds, costs no request.

    `prefetched`: the entries `sync.quiet` already asked for (it found them changed, or the
    catalog due); used instead of asking again, and its request is counted in this sync's."""
    from togglsync.db.engine import check_writable

    check_writable(engine)
    options = options or SyncOptions()
    result = SyncResult()
    start_requests = client.requests_sent if prefetched is None else prefetched.requests_before
    client.budget = None if options.budget is None else start_requests + options.budget
    puller = Puller(
        engine, client, policy=options.policy, catalog_max_age=options.catalog_max_age,
        history_days=options.history_days, clock=clock, accept_empty_resync=options.accept_empty_resync,
        progress=progress, account=account, prefetched=prefetched,
    )
    pusher = Pusher(engine, client, clock=clock, progress=progress, account=account)
    pushed = PushResult()

    def counts() -> dict[outbox.State, int]:
        with engine.connect() as conn:
            return outbox.counts(conn, account)

    with settled(result, client, start_requests=start_requests, counts=counts,
                 before_counting=lambda: _merge_push(result, pushed)):
        # Before any request: credentials other than those the account was bound with are
        # checked with one GET /me, another user's refused (`accounts.check_credentials`).
        accounts.check_credentials(engine.begin, account, client)
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
        if options.window is not None and options.pull:
            # A workspace-wide account: every member's recent entries read again when due.
            # What stops it (a 402, the budget, not an admin: one Error line) stops the sync
            # like its own requests would; the pages read so far are kept, nothing is deleted
            # (tests/test_window.py).
            window = WindowResult()
            try:
                RecentWindow(engine, client, clock=clock, progress=progress, account=account).run(options.window, window)
            finally:
                result.window = window.as_dict()
        if options.history is not None and options.pull:
            # The quota this sync left, above the reserve, goes to unfinished history. What
            # stops it (the reserve, a 402, the budget) ends the history, never the sync: its
            # exit code is the sync's (tests/test_history.py). Complete: no request.
            try:
                result.history = History(engine, client, clock=clock, progress=progress, account=account).run(
                    options.history).as_dict()
            except TogglSyncError as exc:
                result.history = {"requests": 0, "stored": 0, "complete": False, "stopped": type(exc).__name__,
                                  "error": str(exc)}
    return result


def reread(
    engine: Engine,
    client: Toggl,
    kind: records.Kind,
    record_id: int,
    workspace_id: int,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    account: str = accounts.IMPLICIT,
) -> bool:
    """Read one record again from Toggl and store it as Toggl has it (removed here when Toggl
    has it no more): after the user gave a local change of it up. One request (and a GET /me
    first when `account`'s credentials changed: another user's 404 would remove the record
    here); the caller holds the account's sync lock. Returns whether Toggl has it."""
    accounts.check_credentials(engine.begin, account, client)
    return Puller(engine, client, clock=clock, account=account).pull_record(kind, record_id, workspace_id)


def open_conflicts(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(SyncConflict).where(SyncConflict.resolved_at.is_(None))).scalar_one()
