"""A workspace-wide account's recent window: every member's entries of the last days, kept current.

`togglsync history --all-users` backfills every member's entries once; an
admin account set to workspace-wide (setting `all_users`) also keeps the
recent ones current: after its regular sync, each workspace it is an admin of
has its window (`history_plan.window`: the last `days` days, 14 by default)
read again through the detailed report, when that read is due (every `every`
minutes, 60 by default). One read costs ceil(rows / 50) report requests (the
organization's quota; a row groups alike entries, `history_plan.request_body`),
and is begun only when that, estimated from what is stored, fits above the
reserve the history keeps for the regular sync (`history_plan.may_read_window`).

Each page is stored as it comes (`apply.apply_records`, like the history's:
newer `at` wins, a row with edits waiting here is merged). Once the last page
is in, in one transaction: a member's entry stored from a report whose start
lies inside the window's UTC span and which this read did not list is gone
(deleted here), and the workspace's window cursor is stored. A read stopped
before its last page (a 402, the budget, the network, Ctrl-C) deletes nothing
and stores no cursor: the next sync reads the window again from its start.

Never touched: entries outside the window, of another workspace, with local
edits waiting, and those of any Toggl user an account here syncs (the admin's
own included): those are their own sync's (`accounts.synced_users`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, and_, func, select

from togglsync import accounts, outbox, records, rows
from togglsync import history_plan as hp
from togglsync.db.cursors import set_cursor
from togglsync.db.models import TimeEntry, Workspace
from togglsync.db.repo import load_quota
from togglsync.errors import AuthError, QuotaObservation, SyncError
from togglsync.sync.apply import apply_records
from togglsync.sync.outcome import WindowOptions
from togglsync.sync.progress import SILENT, Progress
from togglsync.sync.remote import Toggl
from togglsync.sync.state import WINDOW_CURSOR, windows_read


@dataclass
class WindowResult:
    read: int = 0  # workspace windows read to the end by this run
    due: int = 0  # windows that were due (read, or stopped)
    stored: int = 0  # entries stored or updated
    deleted: int = 0  # entries the report no longer lists inside a window
    pages: int = 0
    requests: int = 0
    stopped: str | None = None  # "reserve": a window waits for the quota's reset
    resumes_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RecentWindow:
    """Reads the due windows of one account's admin workspaces (`run`)."""

    def __init__(
        self,
        engine: Engine,
        client: Toggl,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        progress: Progress = SILENT,
        account: str = accounts.IMPLICIT,
    ):
        self.engine = engine
        self.client = client  # with `account`'s credentials
        self.clock = clock
        self.progress = progress
        self.account = account
        self._stored_quota: list[QuotaObservation] = []

    def run(self, options: WindowOptions, result: WindowResult) -> None:
        """Read every due window; `result` says what was done however it ends (an error that
        stops it, a 402, the budget, is raised after the pages read so far are stored)."""
        start_requests = self.client.requests_sent
        try:
            self._run(options, result)
        finally:
            result.requests = self.client.requests_sent - start_requests

    def _run(self, options: WindowOptions, result: WindowResult) -> None:
        with self.engine.connect() as conn:
            user_id = accounts.user_of(conn, self.account)
            mine = accounts.workspaces(conn, self.account)
            read_at = windows_read(conn, self.account)
            found = conn.execute(select(Workspace.id, Workspace.name, Workspace.organization_id)
                                 .where(Workspace.id.in_(sorted(mine)))).all()
            self._stored_quota = list(load_quota(conn, account=self.account).values())
        if user_id is None:
            raise SyncError(f"account {self.account!r} was never synced: its sync comes before its window")
        if not read_at:
            # One line, before any request: the report would list a member's own entries only
            # (Toggl does not refuse that), and a window read so would look like deletions.
            names = ", ".join(f"{w.name or w.id} ({w.id})" for w in found) or "none"
            raise AuthError(403, f"account {self.account!r} is set to keep every member's entries (all_users), but "
                                 f"it is not an admin of any of its workspaces ({names}): turn all_users off for it, "
                                 "or sync with an admin's credentials")
        organization_of = {int(w.id): w.organization_id for w in found}
        now = self.clock()
        today = (self.client.server_time or now).date()
        for wid, last in read_at.items():
            if not hp.window_due(last, now, options.every):
                continue
            result.due += 1
            span = hp.window(wid, today, options.days)
            pages = hp.window_pages(self._rows_in(span))
            pools = hp.organization_pools(wid, organization_of)
            latest = hp.remaining(self._seen_quota(), pools, self.clock())
            if not hp.may_read_window(latest, pages, options.reserve):
                result.stopped = "reserve"
                if latest is not None and latest.resets_at is not None:
                    result.resumes_at = latest.resets_at.isoformat(timespec="minutes")
                continue
            self._read(span, user_id, pools, options.reserve, result)

    def _seen_quota(self) -> list[hp.Observation]:
        """The quota observations: stored by earlier runs, and this process's answers."""
        return hp.observations(self._stored_quota, self.client.quota.values())

    def _rows_in(self, span: hp.Window) -> int:
        """The report rows the window's next read lists, about (its cost): the groups of alike
        entries (`history_plan.REPORT_GROUP`) stored for the report's days in the workspace."""
        group = select(*(TimeEntry.__table__.c[name] for name in hp.REPORT_GROUP)).distinct().where(
            TimeEntry.id > 0, TimeEntry.workspace_id == span.workspace_id,
            TimeEntry.start >= span.since - timedelta(days=1), TimeEntry.start < span.until + timedelta(days=1))
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(group.subquery())).scalar_one())

    @staticmethod
    def _kept(span: hp.Window, synced: set[int]) -> Any:
        """The rows a window keeps, and may delete by absence: members' entries stored from a
        report, in its workspace, starting inside its UTC span, of no user an account here syncs."""
        return and_(TimeEntry.id > 0, TimeEntry.workspace_id == span.workspace_id,
                    TimeEntry.source == records.REPORT_SOURCE,
                    TimeEntry.start >= span.since, TimeEntry.start < span.until,
                    TimeEntry.user_id.is_not(None), TimeEntry.user_id.not_in(sorted(synced) or [0]))

    def _read(self, span: hp.Window, user_id: int, pools: set[str], reserve: int, result: WindowResult) -> None:
        """Every page of one window, each stored as it comes; then, in one transaction, what it
        no longer lists is deleted and the window's cursor stored."""
        state = span.range_state()
        listed: set[int] = set()
        to_row = records.report_entry_row(span.workspace_id)
        self.progress.stage(f"every member's entries since {span.since:%Y-%m-%d} (workspace {span.workspace_id})")
        while True:
            page = self.client.report_page(span.workspace_id, hp.request_body(state, user_id))
            found = [r for row in page.rows for r in records.report_records(row)]
            built = [to_row(r) for r in found]  # checked before anything is stored
            listed.update(int(r["id"]) for r in built)
            with self.engine.begin() as conn:
                synced = accounts.synced_users(conn)
                keep = [(r, row) for r, row in zip(found, built) if row["user_id"] not in synced]
                stats = apply_records(conn, records.Kind.TIME_ENTRY, [r for r, _ in keep], policy="local",
                                      now=self.clock(), built=[row for _, row in keep])
            result.stored += stats.upserted + stats.merged
            result.pages += 1
            self.progress.advance(len(found))
            state = hp.after_page(state, len(found), page.following)
            if state.done:
                break
            latest = hp.remaining(self._seen_quota(), pools, self.clock())
            if not hp.may_spend(latest, reserve):
                # More rows than the last read had: the rest waits for the quota's reset, and
                # nothing is deleted until a read gets to the end.
                result.stopped = "reserve"
                return
        with self.engine.begin() as conn:
            kept = conn.execute(select(TimeEntry.id).where(self._kept(span, accounts.synced_users(conn)))).scalars()
            waiting = outbox.record_ids(conn, records.Kind.TIME_ENTRY)
            gone = sorted(i for i in kept if i not in listed and i not in waiting)
            if gone:
                result.deleted += rows.delete_records(conn, records.Kind.TIME_ENTRY, gone)
            set_cursor(conn, f"{WINDOW_CURSOR}:{span.workspace_id}", self.client.server_time or self.clock(),
                       now=self.clock(), account=self.account)
        result.read += 1
