"""`togglsync history`: the entries older than the regular sync's window, through the Reports API.

`/me/time_entries` reaches back about three months; the detailed report
(`POST /reports/api/v3/workspace/{wid}/search/time_entries`) reaches the whole
account. `history_plan` decides (ranges, the next request, the reserve, the
estimate); this module executes: it sends one page request at a time and
stores the page's entries together with the cursor that follows them, in one
transaction (`history_ranges`). A run stopped anywhere (Ctrl-C, a kill, a 402,
`--budget`, the quota reserve) resumes with the next page: no stored page is
asked for again.

Report rows become ordinary `time_entries` rows (`records.report_entry_row`:
the same columns, tags mirrored, the report's row in `raw`, `source` "report"),
applied like a pull's (`apply.apply_records`: a row with edits waiting here is
merged, never overwritten). The regular sync takes a row over when it sees
the entry (`records.supersedes`); an old entry edited or deleted on Toggl
later arrives through the regular `since` pull, which lists changes whatever
the entry's date.

The CSV export (`search/time_entries.csv`, one request for a whole range on
paid plans) is not used: its documented columns carry no time entry id (nor
`at`, nor project or tag ids, only names), so its rows cannot be keyed to
entries; storing them would mean inventing ids or duplicating entries
(docs/architecture.md, "History").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone, tzinfo
from typing import Any

from sqlalchemy import Connection, Engine, and_, select, update

from togglsync import accounts, records
from togglsync.db.models import Account, HistoryRange, SyncCursor, Workspace
from togglsync.db.repo import insert, load_quota
from togglsync.errors import (
    AnotherAccount,
    AuthError,
    ExitCode,
    SyncError,
    TogglSyncError,
)
from togglsync import history_plan as hp
from togglsync.sync import plan
from togglsync.sync.apply import apply_records
from togglsync.sync.progress import SILENT, Progress
from togglsync.sync.state import ENTRIES_CURSOR
from togglsync.sync.outcome import HistoryOptions as HistoryOptions
from togglsync.sync.outcome import quota_seen, stopped_by
from togglsync.sync.remote import Toggl


# Entries stored per transaction: a grouped page can hold thousands.
STORE_SLICE = 1000


@dataclass
class HistoryResult:
    stored: int = 0  # entries stored by this run
    pages: int = 0
    requests: int = 0
    complete: bool = False
    since: str | None = None  # the oldest day the history covers (when complete)
    ranges_left: int = 0
    entries_left: int = 0  # estimated
    hours_left: float = 0.0  # estimated, at this plan's quota less the reserve
    stopped: str | None = None  # "budget", "quota", "reserve", "network", or an error's name
    resumes_at: str | None = None  # when the quota's reset lets it go on (a "reserve" stop)
    error: str | None = None
    exit_code: int = ExitCode.OK
    quota: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self, zone: tzinfo | None = None) -> str:
        """One line; `zone`: the display zone the quota's reset time is shown in (else UTC)."""
        parts = [f"stored {self.stored} entries ({self.pages} page{'s' if self.pages != 1 else ''})",
                 f"{self.requests} request{'s' if self.requests != 1 else ''}"]
        left = [f"{pool} {q['remaining']}" for pool, q in sorted(self.quota.items()) if q.get("remaining") is not None]
        if left:
            parts.append("quota left: " + ", ".join(left))
        if self.complete:
            parts.append(f"history complete since {self.since}")
        else:
            parts.append(f"{self.ranges_left} range{'s' if self.ranges_left != 1 else ''} left, about "
                         f"{self.entries_left} entries, {hp.describe_hours(self.hours_left)} at this plan's quota")
        line = "history: " + "; ".join(parts)
        if self.stopped == "reserve":
            line += f" (stopped to keep {hp.RESERVE} requests for the regular sync; goes on after the quota resets"
            if self.resumes_at:
                at = datetime.fromisoformat(self.resumes_at).astimezone(zone or timezone.utc)
                line += f" at {at:%Y-%m-%d %H:%M %Z})"
            else:
                line += ")"
        elif self.stopped:
            line += f" (stopped early: {self.stopped})"
        return line


class History:
    """Fills the database with the entries older than the regular sync's window."""

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
        # Whose history: its user's entries, its workspaces, its cursor, ranges and quota.
        self.account = account

    def run(self, options: HistoryOptions | None = None) -> HistoryResult:
        """Fetch and store pages until the history is complete or a stop (see HistoryResult)."""
        options = options or HistoryOptions()
        result = HistoryResult()
        start_requests = self.client.requests_sent
        scope = hp.ALL if options.all_users else hp.ME
        # What cannot be done at all (no synced account, --all-users for a member) is raised
        # before any request: one Error line.
        account, workspaces, organization_of = self._plan(options, scope)
        try:
            accounts.check_credentials(self.engine.begin, self.account, self.client)
            self._fetch(options, scope, account, organization_of, workspaces, result)
        except TogglSyncError as exc:
            stopped_by(result, exc)
        finally:
            result.requests = self.client.requests_sent - start_requests
            result.quota = quota_seen(self.client)
            self._describe(result, scope)
        return result

    # --- planning -------------------------------------------------------------------------------

    def _plan(self, options: HistoryOptions, scope: str) -> tuple[dict[str, Any], dict[int, dict[str, Any]], dict[int, int | None]]:
        """Read the account and its workspaces, refuse what cannot be done, store the ranges to add."""
        with self.engine.connect() as conn:
            user_id = accounts.user_of(conn, self.account)
            account_row = None if user_id is None else conn.execute(
                select(Account.id, Account.raw).where(Account.id == user_id)).first()
            cursor = conn.execute(select(SyncCursor.since, SyncCursor.full_sync_at)
                                  .where(SyncCursor.account == self.account, SyncCursor.resource == ENTRIES_CURSOR)).first()
            # The workspaces the account's last catalog listed (`accounts.workspaces`).
            mine = accounts.workspaces(conn, self.account)
            found = conn.execute(select(Workspace.id, Workspace.raw, Workspace.organization_id)
                                 .where(Workspace.id.in_(sorted(mine)))).all()
            workspaces = {int(w.id): dict(w.raw or {}) for w in found}
            organization_of = {int(w.id): w.organization_id for w in found}
            existing = _states(conn, scope, self.account)
            admin = accounts.admin_of(conn, self.account)
        if account_row is None or cursor is None:
            whose = "" if self.account == accounts.IMPLICIT else f" for account {self.account!r}"
            raise SyncError(f"no synced account{whose} in this database yet: run `togglsync sync` first "
                            "(history reaches back from where the regular sync's window begins)")
        account = {"id": int(account_row.id), **dict(account_row.raw or {})}
        if scope == hp.ALL:
            # Its user's role in each (`accounts.admin_of`): the workspace record is shared by
            # the accounts of a workspace, its `admin` flag is whoever stored it last.
            refused = [w for w in sorted(workspaces) if w not in admin]
            if refused:
                names = ", ".join(f"{workspaces[w].get('name') or w} ({w})" for w in refused)
                raise AuthError(403, f"--all-users needs a workspace admin; you are not an admin of {names}: "
                                     "run `togglsync history` without it for your own entries")
        today = (self.client.server_time or self.clock()).date()
        until = hp.history_end(scope, hp.window_start(cursor.full_sync_at or cursor.since, options.history_days), today)
        since = options.since or hp.default_start(account, until)
        now = self.clock()
        added = []
        for wid in sorted(workspaces):
            for start, end in hp.ranges_to_add([s for s in existing if s.workspace_id == wid], since, until):
                added.append({"account": self.account, "workspace_id": wid, "scope": scope,
                              "range_start": start.isoformat(), "range_end": end.isoformat(), "updated_at": now,
                              "done_at": now if hp.is_empty(start, end) else None})
        if added:
            with self.engine.begin() as conn:
                conn.execute(insert(conn.dialect, HistoryRange.__table__).on_conflict_do_nothing(), added)
        return account, workspaces, organization_of

    # --- fetching -------------------------------------------------------------------------------

    def _fetch(
        self, options: HistoryOptions, scope: str, account: dict[str, Any], organization_of: dict[int, int | None],
        workspaces: dict[int, dict[str, Any]], result: HistoryResult,
    ) -> None:
        with self.engine.connect() as conn:
            states = _states(conn, scope, self.account)
            stored_quota = list(load_quota(conn, account=self.account).values())
        user_id = int(account["id"])
        while True:
            state = hp.next_range(states)
            if state is None:
                return
            pools = hp.organization_pools(state.workspace_id, organization_of)
            latest = hp.remaining(hp.observations(stored_quota, self.client.quota.values()), pools, self.clock())
            if not hp.may_spend(latest, options.reserve):
                result.stopped = "reserve"
                result.resumes_at = latest.resets_at.isoformat(timespec="minutes") if latest and latest.resets_at else None
                return
            self._show(state, states, result, latest, workspaces)
            body = hp.request_body(state, user_id)
            page = self.client.report_page(state.workspace_id, body)
            found = [r for row in page.rows for r in records.report_records(row)]
            if scope == hp.ME:
                other = plan.another_account(user_id, (r.get("user_id") for r in found))
                if other is not None:
                    raise AnotherAccount(f"the report for your entries listed user {other}'s: refused, nothing stored")
            done = hp.after_page(state, len(found), page.following)
            # A grouped page may hold thousands of entries: stored a slice per transaction so
            # an offline edit never waits long for the write lock, the cursor with the last
            # slice (a kill before it fetches the page again; its rows are upserted again).
            slices = [found[i:i + STORE_SLICE] for i in range(0, len(found), STORE_SLICE)] or [[]]
            for number, part in enumerate(slices, 1):
                with self.engine.begin() as conn:
                    stats = apply_records(conn, records.Kind.TIME_ENTRY, part, policy="local", now=self.clock(),
                                          to_row=records.report_entry_row(state.workspace_id))
                    if number == len(slices):
                        _store_state(conn, done, self.clock(), self.account)
                result.stored += stats.upserted + stats.merged
            result.pages += 1
            states = [done if _same(s, done) else s for s in states]
            self.progress.advance(len(found))

    def _show(self, state: hp.RangeState, states: list[hp.RangeState], result: HistoryResult,
              latest: hp.Observation | None, workspaces: dict[int, dict[str, Any]]) -> None:
        left = hp.estimate(states, hp.hourly_quota(workspaces.get(state.workspace_id)))
        quota = f", quota left {latest.remaining}" if latest is not None else ""
        self.progress.stage(
            f"history {state.start.year} (workspace {state.workspace_id}): {result.stored} entries stored, "
            f"{result.pages} requests{quota}, {hp.describe_hours(left.hours)} to go")

    def _describe(self, result: HistoryResult, scope: str) -> None:
        """What is left after this run: complete since when, or the ranges and the estimate."""
        with self.engine.connect() as conn:
            states = _states(conn, scope, self.account)
            workspace = conn.execute(select(Workspace.raw).order_by(Workspace.id)
                                     .where(Workspace.id.in_(sorted({s.workspace_id for s in states}) or [0]))
                                     .limit(1)).scalar()
        status = hp.describe(states, hp.hourly_quota(workspace))
        result.complete, result.since = status.complete, status.since
        result.ranges_left, result.entries_left, result.hours_left = status.ranges_left, status.entries, status.hours


def _same(a: hp.RangeState, b: hp.RangeState) -> bool:
    return (a.workspace_id, a.scope, a.start) == (b.workspace_id, b.scope, b.start)


def _states(conn: Connection, scope: str, account: str) -> list[hp.RangeState]:
    table = HistoryRange.__table__
    return [hp.RangeState.from_row(dict(row))
            for row in conn.execute(select(table).where(table.c.scope == scope, table.c.account == account)).mappings()]


def _store_state(conn: Connection, state: hp.RangeState, now: datetime, account: str) -> None:
    conn.execute(
        update(HistoryRange)
        .where(and_(HistoryRange.account == account, HistoryRange.workspace_id == state.workspace_id,
                    HistoryRange.scope == state.scope, HistoryRange.range_start == state.start.isoformat()))
        .values(**{column: state.cursor.get(name) for name, column in hp.CURSOR_COLUMNS.items()},
                pages=state.pages, entries=state.entries, done_at=now if state.done else None, updated_at=now)
    )
