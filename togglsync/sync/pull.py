"""Pull: bring the server's changes into the tables, spending as few requests as possible.

Time entries: one `GET /me/time_entries?since=` per sync (deleted records
included). The catalog (account, workspaces, clients, projects, tags) comes
from one `GET /me?with_related_data=true` snapshot, fetched only when it is
stale or an entry references something unknown; workspace users from one
request per workspace, only on a cold or age-based refresh.

Every response is stored together with the cursor that covers it, in one
transaction: a crash leaves the cursor where the stored data ends.
"""

from __future__ import annotations

import heapq
import tempfile
import threading
import time
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, BinaryIO

from sqlalchemy import Connection, Engine, and_, delete, or_, select

from togglsync.db.engine import bulk_writes, for_reading, statistics_refreshed
from togglsync.db.models import Account, SyncCursor, Tag, TimeEntry, TimeEntryTag, WorkspaceUser, Project
from togglsync.db.cursors import cursor_stored_at, get_cursor, set_cursor
from togglsync.db.repo import upsert
from togglsync.db.tzoffsets import store_zone
from togglsync.errors import AuthError, BadRequest, BadResponse, NotFound, PremiumRequired
from togglsync.api.streaming import JSONStreamError, iter_json_array, iter_json_object
from togglsync import accounts, outbox, records, rows
from togglsync.sync import plan, remote
from togglsync.sync.apply import ApplyStats, apply_records, contents_gone, deleted_while_pending, table_for
from togglsync.sync.progress import SILENT, Progress
from togglsync.sync.remote import Toggl
from togglsync.sync.state import (
    CATALOG_CURSOR, ENTRIES_CURSOR, RESYNC_MARKER, REWRITE_MARKER, USERS_CURSOR, Prefetched, users_due,
)


# Entries parsed and checked at a time during a full re-sync, outside any transaction; also the
# fewest rows a transaction stores. Small: on a busy machine (a core shared with other work) 500
# rows held the write lock 60-300 ms, where an offline edit may wait for one.
ENTRY_BATCH = 200
# The re-sync stores what it converted in transactions sized by time: each one holds the
# write lock about this long (an offline edit waits for one at most), and the next is
# sized from how long the last took per row (ENTRY_BATCH rows at first): fewer commits than a
# fixed size on a fast machine, never a long wait for an offline edit on a slow or busy one.
RESYNC_TXN_SECONDS = 0.05
# ...and never more rows than this in one (memory: the records wait converted beside their rows).
RESYNC_TXN_ROWS = 5000
# The kinds GET /me?with_related_data=true lists, in the order they are stored.
CATALOG = (records.Kind.WORKSPACE, records.Kind.CLIENT, records.Kind.PROJECT, records.Kind.TAG)


@dataclass
class PullResult:
    tables: dict[str, ApplyStats] = field(default_factory=dict)
    catalog_refreshed: bool = False
    full_entry_resync: bool = False
    # Deleted records this pull saw, as rows, by kind (the tables keep none): what
    # reconciliation needs to recognise a create that landed and was deleted since.
    seen: dict[records.Kind, list[dict[str, Any]]] = field(default_factory=dict)

    def stats(self, table: str) -> ApplyStats:
        return self.tables.setdefault(table, ApplyStats())

    @property
    def conflicts(self) -> int:
        return sum(s.conflicts for s in self.tables.values())


def _expect_list(value: Any, what: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise BadResponse(200, f"expected a list of records for {what}, got {type(value).__name__}")
    return value


class Puller:
    def __init__(
        self,
        engine: Engine,
        client: Toggl,
        *,
        policy: str = "local",
        catalog_max_age: timedelta = timedelta(hours=1),
        history_days: int = plan.HISTORY_DAYS,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        accept_empty_resync: bool = False,
        progress: Progress = SILENT,
        account: str = accounts.IMPLICIT,
        prefetched: Prefetched | None = None,
    ):
        self.progress = progress
        # Whose pull this is (`togglsync.accounts`): its cursors, its deletions, its guard.
        self.account = account
        # Entries the quiet sync already asked for (see pull_entries).
        self.prefetched = prefetched
        self._account_id: int | None = None
        self._account_read = False
        # The user an answer named while this account was unbound, bound when it is stored (`_bind`).
        self._binding: int | None = None
        # The workspaces the last catalog snapshot found this account no longer belongs to.
        self.left_workspaces: set[int] = set()
        # The re-sync's entries downloading beside GET /me (see pull), until full_entry_resync takes them.
        self._aside: _EntriesDownload | None = None
        # The entries this pull wrote by `since` (their references are the only new ones);
        # None once a re-sync wrote the whole window (`_unknown_refs` then looks at every entry).
        self._written: set[int] | None = set()
        self.engine = engine
        self.client = client
        self.policy = policy
        self.catalog_max_age = catalog_max_age
        self.history_days = history_days
        self.clock = clock
        # See full_entry_resync: only an explicit `sync --full` trusts an empty window.
        self.accept_empty_resync = accept_empty_resync

    def server_now(self) -> datetime:
        """The server's clock as last seen (Date header); the local clock only before any response."""
        return self.client.server_time or self.clock()

    # --- orchestration ---------------------------------------------------------------------

    def pull(
        self, *, force_catalog: bool = False, look_back: Mapping[records.Kind, datetime] | None = None,
        parked_refs: bool = False, full_entries: bool = False,
    ) -> PullResult:
        """Entries since the cursor, and the catalog when due (`parked_refs`: parked edits
        wait for a refresh, see plan.parked_step; the entries' own reasons come first).
        `full_entries` (`sync --full`): every entry of the re-sync window read again.
        `look_back`: per kind, the moment a create in flight was sent; what changed since
        then is read too (deleted records included), whatever the cursor."""
        result = PullResult()
        look_back = look_back or {}
        self.account_id()
        with self.engine.connect() as conn:
            catalog_at = self._cursor(conn, CATALOG_CURSOR)
            entries_cursor = self._cursor(conn, ENTRIES_CURSOR)
            members_due = users_due(conn, self.account)
            # A full re-sync interrupted between batches is done again, as it was asked.
            full_entries = full_entries or self._cursor(conn, REWRITE_MARKER) is not None
            unfinished = self._cursor(conn, RESYNC_MARKER) is not None
        start = plan.pull_start(catalog_at, force_catalog=force_catalog, users_due=bool(members_due))
        reach = look_back.get(records.Kind.TIME_ENTRY)
        resync = full_entries or unfinished
        try:
            return self._pull(result, start, resync=resync, full_entries=full_entries, reach=reach,
                              entries_cursor=entries_cursor, catalog_at=catalog_at, look_back=look_back,
                              parked_refs=parked_refs)
        finally:
            if self._aside is not None:  # stopped before the re-sync took it (an error, Ctrl-C)
                self._aside.discard()
                self._aside = None

    def _pull(
        self, result: PullResult, start: plan.PullStart, *, resync: bool, full_entries: bool, reach: datetime | None,
        entries_cursor: datetime | None, catalog_at: datetime | None, look_back: Mapping[records.Kind, datetime],
        parked_refs: bool,
    ) -> PullResult:
        if start is plan.PullStart.CATALOG:
            # A first sync (or an unfinished re-sync) sends the entries' request as soon as GET /me
            # has answered, without waiting its turn: the server builds that long answer while
            # this stores the catalog (they do not wait on each other). Not under a request
            # budget: the catalog comes first there, so even --budget 1 makes progress.
            # The members come after the entries: their request then waits for no pacing.
            aside = self.client.budget is None and (resync or entries_cursor is None)
            self.pull_catalog(result, with_users=True, members_now=False, entries_aside=aside)
        elif start is plan.PullStart.USERS:
            self.pull_users(result)
        if resync:
            self.full_entry_resync(result, rewrite=full_entries)
        if not resync or reach is not None:
            # (A create in flight also wants the deleted entries since its send: a re-sync lists none.)
            with self.engine.connect() as conn:
                entries_cursor = self._cursor(conn, ENTRIES_CURSOR) if resync else entries_cursor
            self.pull_entries(result, entries_cursor, reach=reach)
        if start is plan.PullStart.CATALOG:
            self.pull_users(result)
        for kind, sent_at in sorted(look_back.items()):
            changed_since = remote.endpoints(kind).changed_since if kind in remote.ENDPOINTS else None
            if changed_since is not None:
                table = records.spec(kind).table
                found = _expect_list(changed_since(self.client, plan.since_for(sent_at)), table)
                with self.engine.begin() as conn:
                    result.stats(table).add(apply_records(conn, kind, found, policy=self.policy, now=self.clock()))
                result.seen[kind] = [records.to_row(kind, r) for r in found if records.is_deleted(r)]
        if not result.catalog_refreshed:
            entries = result.tables.get("time_entries")
            # Only entries this pull wrote can bring new references: skip the scan otherwise.
            changed = entries is not None and (entries.upserted or entries.merged)
            decision = plan.catalog_decision(
                catalog_at, self.server_now(), self.catalog_max_age,
                unknown_refs=bool(changed) and self._unknown_refs(), parked_refs=parked_refs,
                pending_edits=self._catalog_edits_waiting(),
            )
            if decision.refresh:
                self.pull_catalog(result, with_users=decision.users_too)
        return result

    def pull_record(self, kind: records.Kind, record_id: int, workspace_id: int) -> bool:
        """One record read again, as Toggl has it now (the user gave a local change of it up):
        stored, or removed here when Toggl has it no more. One request (`remote.Endpoints.fetch`).
        Returns whether Toggl has it."""
        fetch = remote.endpoints(kind).fetch
        if fetch is None or record_id < 0:
            raise ValueError(f"{kind} {record_id} cannot be read again from Toggl")
        table = records.spec(kind).table
        try:
            found = _expect_list([fetch(self.client, workspace_id, record_id)], table)
        except NotFound:
            found = []
        with self.engine.begin() as conn:
            if found:
                stats = apply_records(conn, kind, found, policy=self.policy, now=self.clock())
                if kind is records.Kind.TIME_ENTRY:
                    self._one_timer(conn, stats)
            elif not outbox.for_record(conn, kind, record_id):
                rows.delete_records(conn, kind, [record_id])
        return bool(found) and not records.is_deleted(found[0])

    def account_id(self) -> int | None:
        """The Toggl user this account is bound to (read once per puller: the check runs
        inside the re-sync's write transaction, where another connection would wait)."""
        if not self._account_read:
            with self.engine.connect() as conn:
                self._account_id = accounts.user_of(conn, self.account)
            self._account_read = True
        return self._account_id

    def _same_account(self, user_ids: Iterable[Any]) -> None:
        """Refuse, before anything is stored, an answer for another Toggl user than this account's
        (`accounts.bind`; an unbound account is bound to it): its cursors, and a re-sync's deletions
        by absence, would wreck both (tests/test_account_guard.py, tests/test_accounts.py)."""
        seen = list(user_ids)
        stored = self.account_id()
        if stored is None or plan.another_account(stored, seen) is not None:
            with self.engine.connect() as conn:
                self._binding = accounts.bind(conn, self.account, seen, self.clock(), check_only=True)

    def _bind(self, conn: Connection) -> None:
        """Bind an account's name to the user its first answer named, in the transaction that
        stores that answer: an answer refused later (malformed) leaves nothing behind."""
        if self._binding is not None and self._account_id is None:
            accounts.bind(conn, self.account, [self._binding], self.clock(),
                          fingerprint=self.client.credential_fingerprint)
            self._account_id = self._binding

    def _cursor(self, conn: Connection, resource: str) -> datetime | None:
        return get_cursor(conn, resource, account=self.account)

    def _set_cursor(self, conn: Connection, resource: str, since: datetime, *, full_sync_at: datetime | None = None) -> None:
        set_cursor(conn, resource, since, full_sync_at=full_sync_at, now=self.clock(), account=self.account)

    def _drop_cursors(self, conn: Connection, *where: Any) -> None:
        conn.execute(delete(SyncCursor).where(SyncCursor.account == self.account, *where))

    def catalog_stored_at(self) -> datetime | None:
        """When the catalog was last refreshed, on our clock (the one parked operations are stamped with)."""
        with self.engine.connect() as conn:
            return cursor_stored_at(conn, CATALOG_CURSOR, account=self.account)

    # --- time entries ------------------------------------------------------------------------

    def pull_entries(self, result: PullResult, cursor: datetime | None, *, reach: datetime | None = None) -> None:
        # "Too old" is judged by the server's clock only, never the local one (which
        # may be far off): without a server time yet, ask with `since`; a server that
        # finds it too old says so (400) and we re-sync then (tests/test_sync_pull.py).
        server_time = self.client.server_time
        if cursor is None or plan.needs_resync(cursor, server_time, self.history_days):
            self.full_entry_resync(result)
            return
        # A create in flight since `reach`: read back to its send, so an eventually
        # consistent server that showed it late, or a deletion of it, is seen.
        since = min(cursor, reach) if reach is not None and not plan.beyond_since_reach(reach, server_time, self.history_days) else cursor
        prefetched, self.prefetched = self.prefetched, None
        if prefetched is not None and prefetched.since == since:
            answer, refused = prefetched.entries, prefetched.refused  # sync.quiet asked already: not twice
        else:
            try:
                answer, refused = self.client.time_entries(since=plan.since_for(since)), False
            except BadRequest:
                answer, refused = None, True
        if refused:
            # The server refuses a `since` this old: start over from what it still serves.
            self.full_entry_resync(result)
            return
        changed = _expect_list(answer, "time entries")
        self._same_account(r.get("user_id") for r in changed)
        new_cursor = plan.next_cursor(cursor, [], self.client.server_time) or cursor
        result.seen[records.Kind.TIME_ENTRY] = [records.to_row(records.Kind.TIME_ENTRY, r) for r in changed if records.is_deleted(r)]
        with self.engine.begin() as conn:
            self._bind(conn)
            stats = apply_records(conn, records.Kind.TIME_ENTRY, changed, policy=self.policy, now=self.clock())
            self._one_timer(conn, stats)
            result.stats("time_entries").add(stats)
            self._set_cursor(conn, ENTRIES_CURSOR, new_cursor)
        if self._written is not None:
            self._written.update(r["id"] for r in changed if isinstance(r.get("id"), int) and not records.is_deleted(r))

    def _one_timer(self, conn: Connection, stats: ApplyStats) -> None:
        """A running entry pulled beside one started here and not sent yet: one timer runs,
        the later start wins (`records.overtaken`). The stop is an ordinary edit here, queued
        for Toggl in the same transaction (tests/test_sync_timers.py). Only entries this pull
        wrote can bring a second timer: nothing is read otherwise."""
        if stats.upserted or stats.merged:
            rows.one_timer(conn, self.clock())

    def full_entry_resync(self, result: PullResult, *, rewrite: bool = False) -> None:
        """The last `history_days` of entries; local rows in that window that the server lacks go.
        `rewrite` (`sync --full`): every entry is stored again, whatever its `at` says.

        The answer can be tens of megabytes: it is spooled to a temporary file,
        then parsed and stored in batches, each batch in its own short
        transaction, so memory stays at one batch, no transaction is open during
        the download, and an offline edit never waits for more than one batch
        (a single transaction held the write lock for seconds at 100,000 entries).
        The first batch stores a marker (RESYNC_MARKER, or REWRITE_MARKER for
        `rewrite`); only the last transaction, once the whole window was seen,
        deletes the local rows the server lacks, moves the cursor and removes the
        marker. A re-sync interrupted between batches keeps the batches stored
        (each one the server's records, applied as any pull applies them) and
        deletes nothing; the next sync finds the marker and does it again.

        An empty answer (`[]` or `null`) while synced entries are cached in the
        window is refused with BadResponse, changing nothing: a broken server or
        gateway sends exactly that, and trusting it would wipe 89 days of cache.
        A user who really deleted everything on Toggl runs `togglsync sync
        --full` (accept_empty_resync), which the message says.
        """
        download, self._aside = self._aside, None
        self._written = None
        if download is None:
            download = _EntriesDownload(self.client, self.server_now(), self.history_days)
        self.progress.stage(f"downloading time entries from {download.start_date}")
        with download as spool:
            download.wait()
            start_date, end_date = download.start_date, download.end_date
            # Entries changed while this response was built come again next time (the cursor is its time).
            server_now = download.answered_at or self.client.server_time or download.now
            spool.seek(0)
            stream = iter_json_array(iter(lambda: spool.read(1 << 16), b""))
            window_start = datetime(start_date.year, start_date.month, start_date.day, tzinfo=timezone.utc)
            window_end = datetime(end_date.year, end_date.month, end_date.day, tzinfo=timezone.utc)
            marker = REWRITE_MARKER if rewrite else RESYNC_MARKER
            stats = ApplyStats()
            # The ids seen, 8 bytes each (a set of ints takes about 90: 27 MB at 300,000 entries).
            seen = array("q")
            to_row = records.row_builder(records.Kind.TIME_ENTRY)
            # One connection for the whole re-sync, its page cache kept warm from one
            # transaction to the next (SQLite keeps it while no one else writes).
            with self.engine.connect() as conn, bulk_writes(conn):
                waiting: list[dict[str, Any]] = []  # records converted, not stored yet
                waiting_rows: list[dict[str, Any]] = []
                take = ENTRY_BATCH  # rows the next transaction stores

                def store() -> int:
                    """The waiting records in one transaction; how many rows the next one should take."""
                    began = time.perf_counter()
                    with conn.begin():
                        self._bind(conn)
                        if not len(seen):
                            self._set_cursor(conn, marker, server_now)
                        stats.add(apply_records(conn, records.Kind.TIME_ENTRY, waiting, policy=self.policy,
                                                now=self.clock(), rewrite=rewrite, built=waiting_rows))
                    per_row = (time.perf_counter() - began) / len(waiting)
                    seen.extend(int(r["id"]) for r in waiting_rows)  # validated by records.entry_row
                    waiting.clear()
                    waiting_rows.clear()
                    return max(ENTRY_BATCH, min(RESYNC_TXN_ROWS, int(RESYNC_TXN_SECONDS / max(per_row, 1e-6))))

                try:
                    self.progress.stage("storing time entries")
                    for batch in _batches(stream, ENTRY_BATCH):
                        self.progress.advance(len(batch))
                        if not all(isinstance(r, dict) for r in batch):
                            raise BadResponse(200, "expected a list of time entry objects")
                        self._same_account(r.get("user_id") for r in batch)
                        # Checked and converted before the write lock is taken: offline edits wait
                        # less, and converting the next batch leaves them the lock between two.
                        built = [to_row(r) for r in batch]
                        waiting.extend(batch)
                        waiting_rows.extend(built)
                        if len(waiting) >= take:
                            take = store()
                except Exception as error:
                    if waiting:  # whole batches checked before the broken one: kept, as a batch each was
                        store()
                    if isinstance(error, JSONStreamError):
                        raise BadResponse(200, f"time entries: unusable JSON ({error})") from None
                    raise
                if waiting:
                    store()
            # Deferred (no write lock): this read takes over a second at 300,000 entries, and an offline
            # `start` must not wait for it (on our engine a transaction starts IMMEDIATE by default).
            with for_reading(self.engine).connect() as conn:
                # Read before the last write transaction (the window can hold 100,000s of rows):
                # positive ids of this account's user are only stored by its sync, which holds
                # this account's lock. Only this account's own entries, in the workspaces it
                # belongs to, are what the answer covers: another account's are never touched.
                local = conn.execute(
                    select(TimeEntry.id).where(
                        and_(TimeEntry.id > 0, TimeEntry.start >= window_start, TimeEntry.start < window_end,
                             self._own_entries(conn))
                    )
                ).scalars()
                listed = sorted_ids(seen)
                del seen
                unseen = [i for i in local if not _sorted_contains(listed, i)]
            with self.engine.begin() as conn:
                self._one_timer(conn, stats)
                pending = _pending_ids(conn, records.Kind.TIME_ENTRY)  # edits made while it ran included
                missing = [i for i in unseen if i not in pending]
                if not listed and missing and not self.accept_empty_resync:
                    # Raising rolls the transaction back: no row and no cursor changes.
                    raise BadResponse(
                        200,
                        f"the full re-sync got no time entries for {start_date} to {end_date}, but "
                        f"{len(missing)} synced entries are cached for those days; kept them (a broken server or "
                        "gateway answers empty too). If you deleted them on Toggl, run `togglsync sync --full` "
                        "to remove them here",
                    )
                if missing:
                    stats.deleted += rows.delete_records(conn, records.Kind.TIME_ENTRY, missing)
                result.stats("time_entries").add(stats)
                # Entries changed while this response was built come again next time (overlap).
                self._set_cursor(conn, ENTRIES_CURSOR, server_now, full_sync_at=self.clock())
                self._drop_cursors(conn, SyncCursor.resource.in_([RESYNC_MARKER, REWRITE_MARKER]))
            with self.engine.connect() as conn:
                statistics_refreshed(conn, TimeEntry.__tablename__)
        result.full_entry_resync = True

    def _own_entries(self, conn: Connection) -> Any:
        """The condition on time_entries that a full re-sync of this account covers: its user's
        entries (those of no user too, for main: rows from before accounts) in its workspaces."""
        user = self.account_id()
        mine = TimeEntry.user_id == user if user is not None else TimeEntry.id.is_(None)
        if self.account == accounts.IMPLICIT:
            mine = or_(mine, TimeEntry.user_id.is_(None))
        return and_(mine, TimeEntry.workspace_id.in_(sorted(accounts.workspaces(conn, self.account))))

    def _catalog_edits_waiting(self) -> bool:
        """Is an update or delete of a synced catalog record queued (see plan.catalog_decision)?"""
        with self.engine.connect() as conn:
            return any(
                op.resource in CATALOG and op.action is not outbox.Action.CREATE and not op.temporary
                for op in outbox.queued(conn, self.account)
            )

    def _unknown_refs(self) -> bool:
        """Does any synced entry this pull wrote point at a project or tag we do not have?
        (Every entry after a re-sync.) An entry it did not write names what it named at the
        last pull, when it was checked: a catalog refresh then could not help either."""
        # Only entries as the server has them count: rows created or edited here
        # (negative ids, pending operations) may point at what the server deleted; the
        # push reports those, and a catalog refresh cannot help, so they never cost an
        # extra GET /me (tests/test_sync_pull.py).
        written = self._written
        with self.engine.connect() as conn:
            pending = outbox.record_ids(conn, records.Kind.TIME_ENTRY)
            # This account's entries only: another's may name what this one cannot see.
            own = self._own_entries(conn)
            if written is None:
                return self._naming_unknown(conn, [own], pending)
            # The entries written by `since`, by their ids first: SQLite would rather walk the
            # workspace's index (every entry of it) than look the ids up, were `own` beside them.
            for chunk in rows.chunks(sorted(written)):
                if self._naming_unknown(conn, [TimeEntry.id.in_(chunk)], pending) and self._naming_unknown(
                        conn, [own, TimeEntry.id.in_(chunk)], pending):
                    return True
        return False

    @staticmethod
    def _naming_unknown(conn: Connection, where: list[Any], pending: set[int]) -> bool:
        """Does a synced entry (`where`), not one with a change waiting, name a project or tag not stored?"""
        missing_project = conn.execute(
            select(TimeEntry.id).where(TimeEntry.id > 0, *where, TimeEntry.project_id.is_not(None),
                                       TimeEntry.project_id.not_in(select(Project.id)))
        ).scalars()
        if any(entry_id not in pending for entry_id in missing_project):
            return True
        missing_tag = conn.execute(
            select(TimeEntryTag.time_entry_id)
            .join(TimeEntry, TimeEntry.id == TimeEntryTag.time_entry_id)
            .where(TimeEntry.id > 0, *where, TimeEntryTag.tag_id.not_in(select(Tag.id)))
        ).scalars()
        return any(entry_id not in pending for entry_id in missing_tag)

    # --- catalog --------------------------------------------------------------------------------

    def pull_catalog(
        self, result: PullResult, *, with_users: bool, members_now: bool = True, entries_aside: bool = False
    ) -> None:
        """The catalog snapshot (GET /me?with_related_data=true), stored. `with_users`: the workspace
        members are due again (fetched here, or by the caller's `pull_users` without `members_now`).
        `entries_aside`: once GET /me answered (the server's clock known), the re-sync's entries
        start downloading on a thread of their own (`full_entry_resync` takes them)."""
        self.progress.stage("reading workspaces, clients, projects and tags")
        with tempfile.TemporaryFile() as spool:
            # Spooled and parsed as a stream, leaving out the ten days of entries it embeds (the
            # entries come from their own request): at 300,000 entries those were about 35,000
            # records, and decoding them whole took a cold sync's peak memory from 68 to 169 MB.
            self.client.download_me(spool)
            if entries_aside:
                self._aside = _EntriesDownload(self.client, self.server_now(), self.history_days)
                self._aside.start()
            spool.seek(0)
            try:
                me = dict(iter_json_object(iter(lambda: spool.read(1 << 16), b""), drop={"time_entries"}))
            except JSONStreamError as exc:
                raise BadResponse(200, f"GET /me: unusable JSON ({exc})") from None
        if "id" not in me:
            raise BadResponse(200, "GET /me returned no account")
        self._same_account([me.get("id")])
        # The catalog's kinds, in the order references need them; GET /me lists each under its table's name.
        snapshot = {kind: _expect_list(me.get(records.spec(kind).table), records.spec(kind).table) for kind in CATALOG}
        gone = self._confirm_missing(snapshot)
        server_now = self.server_now()
        # The catalog is stored as soon as it arrives, before the workspace members:
        # a run whose budget ends after GET /me keeps it, and the next run resumes with
        # the members, so even --budget 1 makes progress (tests/test_sync_pull.py).
        with self.engine.begin() as conn:
            self._bind(conn)
            upsert(conn, Account, [records.account_row(me, synced_at=self.clock())])
            if accounts.keeps_zone(conn, self.account):
                store_zone(conn, me.get("timezone"))  # the views show local times in it
            for resource in CATALOG:
                table = records.spec(resource).table
                listed = snapshot[resource]
                stats = apply_records(conn, resource, listed, policy=self.policy, now=self.clock())
                # A full snapshot: what the server no longer lists is gone (edits made here go to conflicts).
                stats.deleted += self._delete_missing(conn, resource, gone.get(resource), stats, result)
                result.stats(table).add(stats)
            # Its workspaces: those listed, and those kept for lack of evidence that it left them.
            accounts.set_workspaces(conn, self.account, _ids(records.Kind.WORKSPACE, snapshot[records.Kind.WORKSPACE])
                                    | (accounts.workspaces(conn, self.account) - self.left_workspaces))
            self._set_cursor(conn, CATALOG_CURSOR, server_now, full_sync_at=self.clock())
            if with_users:
                self._drop_cursors(conn, SyncCursor.resource.like(USERS_CURSOR + ":%"))
        result.catalog_refreshed = True
        if with_users and members_now:
            self.pull_users(result)

    def pull_users(self, result: PullResult) -> None:
        """Members of the workspaces still due (one request each), each stored as it comes."""
        with self.engine.connect() as conn:
            due = users_due(conn, self.account)
        for wid in due:
            try:
                members: list[dict[str, Any]] | None = _expect_list(self.client.workspace_users(wid), "workspace users")
            except (AuthError, PremiumRequired):
                members = None  # not allowed to list members here: keep what we have
            with self.engine.begin() as conn:
                if members is not None:
                    rows = [records.workspace_user_row(wid, m) for m in members]
                    conn.execute(delete(WorkspaceUser).where(WorkspaceUser.workspace_id == wid))
                    upsert(conn, WorkspaceUser, rows)
                    result.stats("workspace_users").upserted += len(rows)
                self._set_cursor(conn, f"{USERS_CURSOR}:{wid}", self.server_now())

    def _confirm_missing(self, snapshot: dict[records.Kind, list[dict[str, Any]]]) -> dict[records.Kind, set[int]]:
        """Which cached records the snapshot lacks are really gone: a deletion needs positive evidence.

        One answer to GET /me that lacks records (null or [] for a list, one project
        missing: a gateway hiccup, access lost for a moment) must not delete them and
        strip them from every cached entry. Where the snapshot lacks some, a second
        look asks once more: GET /me/workspaces for workspaces, and for projects,
        clients and tags one listing per workspace concerned (`remote.ENDPOINTS`).
        What that does not list either is gone; what it lists joins the snapshot.
        Nothing is asked when nothing is missing: the ordinary refresh costs no
        request more (tests/test_catalog_evidence.py).
        """
        gone: dict[records.Kind, set[int]] = {}
        with self.engine.connect() as conn:
            # Deletions by absence stay inside what this answer covers: the workspaces this
            # account belonged to (its last snapshot) or belongs to now; another account's
            # workspaces, and a workspace another account still belongs to, are never touched.
            mine = accounts.workspaces(conn, self.account)
            listed_workspaces = _ids(records.Kind.WORKSPACE, snapshot[records.Kind.WORKSPACE])
            for kind in CATALOG:
                listed = snapshot[kind]
                seen = _ids(kind, listed)
                table = table_for(kind)
                missing: dict[int, set[int]] = {}
                account_listing = remote.ACCOUNT_LISTINGS.get(kind)
                if account_listing is not None:  # listed for the whole account (workspaces)
                    cached = conn.execute(select(table.c.id)).scalars().all()
                    ids = {int(i) for i in cached if int(i) not in seen and int(i) in mine}
                    if ids:
                        again = self._look_again(lambda: account_listing(self.client), table.name)
                        if again is None or not again or not seen <= _ids(kind, again):
                            # No evidence: the second look was refused, lists no workspace at all
                            # (no Toggl account has none; a broken gateway answers so), or lacks
                            # one the snapshot lists (one of the two answers is broken).
                            ids = set()
                        else:
                            listed.extend(r for r in again if _ids(kind, [r]) & ids)
                            ids -= _ids(kind, again)
                    # Left by this account (no longer its own), kept for another that still belongs to it.
                    self.left_workspaces = ids
                    gone[kind] = ids - accounts.shared(conn, self.account, ids)
                    continue
                containers = listed_workspaces | gone.get(records.Kind.WORKSPACE, set())
                for record_id, wid in conn.execute(select(table.c.id, table.c.workspace_id).where(table.c.id > 0)):
                    if record_id not in seen and int(wid) in containers:
                        missing.setdefault(int(wid), set()).add(int(record_id))
                # The containers confirmed gone (a workspace left): what they held goes with them.
                containers_gone = set().union(*(gone.get(ref.target, set()) for ref in records.CONTAINMENT if ref.source == kind))
                listing = remote.endpoints(kind).listing
                gone[kind] = set()
                for wid, ids in sorted(missing.items()):
                    if wid in containers_gone or listing is None:
                        gone[kind] |= ids  # the workspace itself is gone (or we left it)
                        continue
                    # Refused (403/404): we may no longer see that workspace's records.
                    again = self._look_again(lambda: listing(self.client, wid), table.name) or []
                    listed.extend(r for r in again if _ids(kind, [r]) & ids)
                    gone[kind] |= ids - _ids(kind, again)
        return gone

    def _look_again(self, ask: Callable[[], Any], what: str) -> list[dict[str, Any]] | None:
        """The live records a second request lists; None when it is refused (403/404)."""
        try:
            answer = ask()
        except (NotFound, AuthError):
            return None
        return [r for r in _expect_list(list(answer or []), what) if not records.is_deleted(r)]

    def _delete_missing(
        self, conn: Connection, resource: str, gone: set[int] | None, stats: ApplyStats, result: PullResult
    ) -> int:
        missing = sorted(gone or ())
        if not missing:
            return 0
        # A workspace gone takes everything in it, in this transaction; edits made in it
        # that can no longer reach Toggl become conflicts (tests/test_workspace_gone.py).
        for table, count in contents_gone(conn, resource, missing, self.clock(), stats).items():
            result.stats(table).deleted += count
        if any(table == WorkspaceUser.__tablename__ for table, _ in records.owned_rows(resource)):
            # Their members went too: a workspace joined again has its members fetched again.
            conn.execute(delete(SyncCursor).where(SyncCursor.resource.in_([f"{USERS_CURSOR}:{i}" for i in missing])))
        # A deletion wins here as in a `since` pull, records with pending operations
        # included (an update that became a no-op sends no request that could meet the
        # 404): lost edits go to `conflicts`, their operations go (tests/test_sync_pull.py).
        pending = outbox.by_record(conn, resource) if records.spec(resource).local else {}
        for record_id in missing:
            if record_id in pending:
                deleted_while_pending(conn, resource, record_id, pending[record_id], self.clock(), stats)
        return rows.delete_records(conn, resource, missing)


class _EntriesDownload:
    """The re-sync's GET /me/time_entries into a temporary file: its window (the last
    `history_days` by the server's clock `now`, and `plan.FUTURE_REACH` ahead; a server that
    refuses a window reaching that far gets one up to tomorrow), and the server's clock when it
    answered. Run here by `wait`, or on a thread of its own after `start` (sent without waiting
    for the pacing: see `Puller.pull`), `wait` then waiting for it and raising what it raised.
    As a context manager it gives the file, and closes it on the way out."""

    def __init__(self, client: Toggl, now: datetime, history_days: int):
        self.client = client
        self.now = now
        self.start_date = (now - timedelta(days=history_days)).date()
        self.end_date = (now + plan.FUTURE_REACH).date()
        self.answered_at: datetime | None = None
        self.spool = tempfile.TemporaryFile()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._done = False
        self._discarded = False
        self._lock = threading.Lock()  # who closes the file: the thread if it is still writing

    def start(self) -> None:
        self._thread = threading.Thread(target=self._in_thread, name="togglsync-entries", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        if self._thread is None:
            self._download(paced=True)
            return
        self._thread.join()
        if self._error is not None:
            raise self._error

    def discard(self) -> None:
        """Not wanted after all: the file goes as soon as no one writes to it (never waits)."""
        with self._lock:
            self._discarded = True
            if self._thread is None or self._done:
                self.spool.close()

    def __enter__(self) -> BinaryIO:
        return self.spool

    def __exit__(self, *exc: object) -> None:
        self.discard()

    def _in_thread(self) -> None:
        try:
            self._download(paced=False)
        except BaseException as error:  # raised again by `wait`, in the sync's thread
            self._error = error
        finally:
            with self._lock:
                self._done = True
                if self._discarded:
                    self.spool.close()

    def _download(self, *, paced: bool) -> None:
        try:
            self.answered_at = self.client.download_time_entries(
                self.spool, start_date=self.start_date, end_date=self.end_date, paced=paced)
        except BadRequest:
            # A server that refuses a window reaching this far ahead: up to tomorrow, then.
            self.end_date = (self.now + timedelta(days=1)).date()
            self.spool.seek(0)
            self.spool.truncate()
            self.answered_at = self.client.download_time_entries(
                self.spool, start_date=self.start_date, end_date=self.end_date)


def _ids(kind: str, listed: list[dict[str, Any]]) -> set[int]:
    """The ids of API records, each checked as a row would be (a malformed one is a BadResponse)."""
    return {int(records.to_row(kind, r)["id"]) for r in listed}


def _batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# Ids sorted at a time by `sorted_ids`: a list of Python ints is 36 bytes an id.
SORT_SLICE = 16384


def sorted_ids(ids: array[int]) -> array[int]:
    """The ids in ascending order, as an array (8 bytes an id): sorted a slice at a time and
    merged, never a Python int for every id at once (`sorted` of all 300,000 entries' ids
    made a list of 11 MB, a cold sync's peak memory grow with the account)."""
    runs = [array("q", sorted(ids[at:at + SORT_SLICE])) for at in range(0, len(ids), SORT_SLICE)]
    return array("q", heapq.merge(*runs))


def _sorted_contains(items: array[int], value: int) -> bool:
    at = bisect_left(items, value)
    return at < len(items) and items[at] == value


def _pending_ids(conn: Connection, resource: str) -> set[int]:
    return outbox.record_ids(conn, resource)
