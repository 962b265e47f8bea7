"""A sync that finds nothing changed, without importing SQLAlchemy: `sync`.

Most scheduled syncs find nothing new: one `GET /me/time_entries?since=` that
answers `[]`, a cursor moved, no local change to push. The request and the
database work take milliseconds; importing SQLAlchemy, the models and the
rest of the sync engine took most of the process's wall time (0.4-0.8 s).
So `sync` first looks, on the sqlite3 driver alone (`db.open`'s fast mode),
whether this sync can be that one request:

* nothing in the outbox (no change to push, no create in flight, nothing parked),
* no re-sync unfinished, the catalog and its members stored
  (`plan.pull_start` says nothing comes before the entries),
* the entries' cursor within `since`'s reach (`plan.needs_resync`),

and asks. An empty answer with the catalog still fresh (`plan.catalog_decision`)
is the whole sync: the cursor moves (`plan.next_cursor`) and that is all. Any
other answer (entries changed, a `since` refused, the catalog due) goes to
`engine.run_sync` as it is (`state.Prefetched`), which stores it as its own
pull would have: the request is never sent twice, and every decision is the
one the whole sync makes (the `plan` functions above are its own; see
`Puller.pull`). Errors end it as they end a whole sync (`outcome.settled`).

One account at a time (`togglsync.accounts`): the cursors, the outbox and the
quota it reads and writes are that account's, the caller holds that account's
lock (`sync.lock`), and `client` holds its credentials; `sync` of every account
(the CLI) is one such request per account when none has anything new.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from togglsync import accounts, history_plan, outbox, records
from togglsync.db.cursors import cursors, history_ranges, set_cursor
from togglsync.db.lite import Database
from togglsync.errors import BadRequest
from togglsync.sync import plan
from togglsync.sync.outcome import SyncOptions, SyncResult, settled
from togglsync.sync.progress import SILENT, Progress
from togglsync.sync.remote import QuietToggl
from togglsync.sync.state import CATALOG_CURSOR, ENTRIES_CURSOR, RESYNC_MARKER, REWRITE_MARKER, Prefetched, users_due, windows_read

if TYPE_CHECKING:
    from sqlalchemy import Engine

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def sync(
    database: Callable[[], object],
    engine: Callable[[], Engine],
    client: QuietToggl,
    options: SyncOptions | None = None,
    *,
    clock: Clock = _utc_now,
    progress: Progress = SILENT,
    account: str = accounts.IMPLICIT,
) -> SyncResult:
    """One sync of `account`, as `engine.run_sync` does it: the quiet way when nothing changed
    (`database`, the sqlite3 connection; a server's database never goes that way), else the
    whole way (`engine`, built only then, and `client.whole()`). The caller holds the account's
    sync lock; `client` holds its credentials (`api.light.LightClient`: its one request without
    importing requests)."""
    options = options or SyncOptions()
    db = database()
    # On a server (PostgreSQL) there is no sqlite3 fast path: the whole way, from the start.
    done = quiet_sync(db, client, options, clock=clock, account=account) if isinstance(db, Database) else None
    if isinstance(done, SyncResult):
        return done
    from togglsync.sync.engine import run_sync

    return run_sync(engine(), client.whole(), options, clock=clock, progress=progress, account=account, prefetched=done)


def quiet_sync(
    db: Database, client: QuietToggl, options: SyncOptions, *, clock: Clock = _utc_now, account: str = accounts.IMPLICIT
) -> SyncResult | Prefetched | None:
    """The sync of `account` done, when it was one request that found nothing changed; else what
    the whole sync takes over: the entries already asked for (`Prefetched`), or None (nothing asked)."""
    if not options.pull or options.force_catalog or options.full_entries:
        return None
    db.check_writable()  # as run_sync: a file that cannot be written costs no request
    with db.snapshot() as conn:
        stored = cursors(conn, account=account)
        members_due = users_due(conn, account)
        waiting = outbox.counts(conn, account)
        # A sync asked to go on with unfinished history (scheduled syncs) takes the whole way.
        history_due = options.history is not None and not history_plan.complete(
            history_plan.RangeState.from_row(r) for r in history_ranges(conn, history_plan.ME, account=account))
        # A workspace-wide account whose window is due (or that is no admin: the whole sync says so).
        window_due = options.window is not None and (
            not (read := windows_read(conn, account))
            or any(history_plan.window_due(at, clock(), options.window.every) for at in read.values()))
    catalog_at, cursor = stored.get(CATALOG_CURSOR), stored.get(ENTRIES_CURSOR)
    start = plan.pull_start(catalog_at, force_catalog=False, users_due=bool(members_due))
    if (
        waiting
        or history_due
        or window_due
        or RESYNC_MARKER in stored
        or REWRITE_MARKER in stored
        or start is not plan.PullStart.NOTHING
        or cursor is None
        or plan.needs_resync(cursor, client.server_time, options.history_days)
    ):
        return None
    result = SyncResult()
    requests_before = client.requests_sent
    client.budget = None if options.budget is None else requests_before + options.budget
    handover: Prefetched | None = None

    def counts() -> dict[outbox.State, int]:
        with db.snapshot() as conn:
            return outbox.counts(conn, account)

    with settled(result, client, start_requests=requests_before, counts=counts):
        # Credentials other than those the account was bound with: one GET /me first (`accounts`).
        accounts.check_credentials(db.transaction, account, client)
        try:
            answer, refused = client.time_entries(since=plan.since_for(cursor)), False
        except BadRequest:
            answer, refused = None, True
        catalog_due = plan.catalog_decision(catalog_at, client.server_time or clock(), options.catalog_max_age).refresh
        if refused or answer != [] or catalog_due:
            handover = Prefetched(since=cursor, entries=answer, refused=refused, requests_before=requests_before)
        else:
            with db.transaction() as conn:
                set_cursor(conn, ENTRIES_CURSOR, plan.next_cursor(cursor, [], client.server_time) or cursor, now=clock(),
                           account=account)
            table = records.spec(records.Kind.TIME_ENTRY).table
            result.pulled[table] = result.deleted[table] = 0  # what a whole sync's pull of no entries says
    return handover or result
