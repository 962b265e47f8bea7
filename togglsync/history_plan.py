"""Pure decisions of `togglsync history`: which ranges, what to ask next, when to stop, how long.

No HTTP and no database here (like `sync.plan`; below the sync, because
`status`, in the offline library, reports with it): `sync.history` reads the
state, asks these functions, sends what they say and stores the answer.

The history covers, per workspace and scope (`me`: the user's own entries,
`all`: every member's), the days from its start (`--since`, else the
account's creation date) up to the first day of the regular sync's window,
that day included (one day of overlap: the report's dates are the user's
local dates, the window's are UTC; an entry both bring is one row). The days
are cut at new year: one detailed-report range per calendar year, so a range
never spans more than a year (Toggl's reports have limited spans before), and
it costs at most one request more than its entries need (its last page is
short). Ranges go newest first; within one, pages go oldest first by date, and
the cursor (Toggl's X-Next-* headers) is stored with each page.

When the start is inside the sync's window (an account younger than the
window) there is nothing older to ask for: the history is then one empty range
(it ends the day before it starts, `nothing_older`), done without a request,
so the history counts as complete (`complete`) and the quiet sync, `status`
and a scheduled sync see that as they see a history fetched to its end.

Requests are the scarcest resource: a report request spends the
organization's hourly quota (30/240/600 on free/starter/premium), which the
regular sync needs too (its pushes, the workspace members). History never
spends the last `RESERVE` requests of a pool: below that it stops, and goes
on after the quota's reset (a scheduled sync does that on its own).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any, NamedTuple

from togglsync.errors import QuotaObservation
from togglsync.records import parse_ts

ME = "me"
ALL = "all"
# Rows asked per page: Toggl's documented default (the server may send fewer; the
# headers are followed whatever it sends). A row is a group of entries (`request_body`),
# so a page holds at least this many entries when the range has them.
PAGE_SIZE = 50
# Requests of each hourly quota pool history leaves for the regular sync.
RESERVE = 10
# Hourly organization quota by plan (toggl-api.md): free, starter, premium.
HOURLY_QUOTA = {"free": 30, "starter": 240, "premium": 600}


# The request's cursor fields (Toggl's X-Next-ID / -Row-Number / -Timestamp) -> history_ranges columns.
CURSOR_COLUMNS = {"first_id": "next_id", "first_row_number": "next_row_number", "first_timestamp": "next_timestamp"}


class RangeState(NamedTuple):
    """One stored range of the history (a `history_ranges` row)."""

    workspace_id: int
    scope: str
    start: date
    end: date  # inclusive
    cursor: Mapping[str, int] = MappingProxyType({})  # first_id, first_row_number, first_timestamp
    pages: int = 0
    entries: int = 0
    done: bool = False

    @property
    def days(self) -> int:
        return max(0, (self.end - self.start).days + 1)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> RangeState:
        """A `history_ranges` row (its columns by name) as a RangeState."""
        cursor = {name: int(row[column]) for name, column in CURSOR_COLUMNS.items() if row[column] is not None}
        return cls(int(row["workspace_id"]), str(row["scope"]), date.fromisoformat(str(row["range_start"])),
                   date.fromisoformat(str(row["range_end"])), cursor, int(row["pages"]), int(row["entries"]),
                   done=row["done_at"] is not None)

    def days_left(self) -> int:
        """Days of the range not stored yet: all of them before the first page; after it, from
        the next page's first entry (`first_timestamp`) on, when the server said where that is."""
        if self.done:
            return 0
        stamp = self.cursor.get("first_timestamp")
        if stamp is None:
            return self.days
        at = datetime.fromtimestamp(stamp, timezone.utc).date()
        return max(0, min(self.days, (self.end - at).days + 1))


def window_start(last_pull: datetime, history_days: int) -> date:
    """The first day of the regular sync's window (server clock): where the history ends."""
    return (last_pull - timedelta(days=history_days)).date()


def history_end(scope: str, window_first_day: date, today: date) -> date:
    """The last day a history covers: for your own entries, the regular sync's window's first
    day (the sync keeps everything after it); for every member's, today (the regular sync
    reads only yours: others' entries are fetched once, and not followed afterwards)."""
    return today if scope == ALL else window_first_day


def default_start(account: Mapping[str, Any] | None, fallback: date) -> date:
    """The oldest day the API reveals for the account: its creation date (`created_at` of
    GET /me). Entries dated before it (backdated by hand, imported, or, with `--all-users`,
    a colleague's from before the user joined) are reached with `--since`."""
    created = parse_ts((account or {}).get("created_at"))
    return created.date() if created is not None else fallback


def year_ranges(start: date, end: date) -> list[tuple[date, date]]:
    """[start, end] (inclusive) cut at new year, newest first."""
    ranges = []
    year = end.year
    while year >= start.year:
        ranges.append((max(start, date(year, 1, 1)), min(end, date(year, 12, 31))))
        year -= 1
    return [(a, b) for a, b in ranges if a <= b]


def nothing_older(since: date) -> tuple[date, date]:
    """The empty range that records "nothing older than the sync's window from `since` on": it
    ends the day before it starts, holds no day, and is done when stored (`is_empty`)."""
    return since, since - timedelta(days=1)


def is_empty(start: date, end: date) -> bool:
    """Whether a range holds no day (`nothing_older`): stored done, never asked for."""
    return end < start


def ranges_to_add(existing: Iterable[RangeState], since: date, until: date) -> list[tuple[date, date]]:
    """The ranges one workspace and scope still needs: all of [since, until] the first time
    (`nothing_older(since)` when `since` is after `until`: the account began inside the sync's
    window); later only what `since` asks for before the oldest stored range, up to `until`
    at most. Never forward: the days after the first history's end were in the regular
    sync's window, which keeps them."""
    stored = list(existing)
    if not stored:
        return year_ranges(since, until) if since <= until else [nothing_older(since)]
    oldest = min(r.start for r in stored)
    if since < oldest:
        return year_ranges(since, min(oldest - timedelta(days=1), until))
    return []


def next_range(states: Iterable[RangeState]) -> RangeState | None:
    """The range to work on: the newest unfinished one."""
    open_ = [s for s in states if not s.done]
    return max(open_, key=lambda s: (s.start, s.workspace_id)) if open_ else None


def request_body(state: RangeState, user_id: int | None) -> dict[str, Any]:
    """The detailed search for the next page of `state`: grouped, by date ascending, the
    user's own entries unless the scope is every member's.

    Grouped, a row holds every entry of the range that shares its user, project, task,
    description, tags and billable (its `time_entries` list, each with its id), so a page
    of 50 rows carries 50 entries or (much) more: a tracker's repeated descriptions
    ("standup", "email") cost one row each, not one row an entry. Paging is by rows
    either way, and `records.report_records` turns a row into one record per entry."""
    body: dict[str, Any] = {
        "start_date": state.start.isoformat(),
        "end_date": state.end.isoformat(),
        "order_by": "date",
        "order_dir": "ASC",
        "grouped": True,
        "page_size": PAGE_SIZE,
        **state.cursor,
    }
    if state.scope == ME and user_id is not None:
        body["user_ids"] = [user_id]
    return body


def after_page(state: RangeState, entries: int, following: Mapping[str, int]) -> RangeState:
    """The range once a page of `entries` entries is stored; done when no next cursor came."""
    return RangeState(
        state.workspace_id, state.scope, state.start, state.end, dict(following),
        state.pages + 1, state.entries + entries, done=not following,
    )


class Observation(NamedTuple):
    """What the last answer of a quota pool said (a `QuotaSnapshot` or a `quota_state` row)."""

    pool: str
    remaining: int | None
    resets_at: datetime | None
    observed_at: datetime


def observations(*sources: Iterable[QuotaObservation]) -> list[Observation]:
    """Every quota answer known, stored by earlier runs and this process's, as `Observation`s."""
    return [Observation(q.pool, q.remaining, q.resets_at, q.observed_at) for source in sources for q in source]


def organization_pools(workspace_id: int, organization_of: Mapping[int, int | None]) -> set[str]:
    """The pool labels that share one organization's quota: every workspace of it, and the
    organization itself (the client labels report answers by workspace)."""
    organization = organization_of.get(workspace_id)
    same = {w for w, o in organization_of.items() if organization is not None and o == organization} | {workspace_id}
    pools = {f"workspace:{w}" for w in same}
    if organization is not None:
        pools.add(f"organization:{organization}")
    return pools


def remaining(observations: Iterable[Observation], pools: set[str], now: datetime) -> Observation | None:
    """The latest observation of the pool, if its window has not reset since (then the quota
    is whole again, and nothing is known: None)."""
    seen = [o for o in observations if o.pool in pools and o.remaining is not None]
    if not seen:
        return None
    latest = max(seen, key=lambda o: o.observed_at)
    if latest.resets_at is not None and latest.resets_at <= now:
        return None
    return latest


def may_spend(latest: Observation | None, reserve: int = RESERVE) -> bool:
    """Whether one more history request keeps the reserve: unknown (a new window) or above it."""
    return latest is None or latest.remaining is None or latest.remaining > reserve


def hourly_quota(workspace: Mapping[str, Any] | None) -> int:
    """The organization's hourly quota by what the workspace says of its plan."""
    raw = workspace or {}
    if raw.get("business_ws"):
        return HOURLY_QUOTA["premium"]
    if raw.get("premium"):
        return HOURLY_QUOTA["starter"]
    return HOURLY_QUOTA["free"]


class Estimate(NamedTuple):
    entries: int  # entries still to fetch (estimated from the density of what is stored)
    requests: int
    hours: float  # at the plan's quota less the reserve


def estimate(states: Iterable[RangeState], per_hour: int, reserve: int = RESERVE) -> Estimate:
    """What is left, from the entries a day of the ranges stored so far (a guess: Toggl's
    detailed search says no total). Without any page stored, one page a range is counted."""
    ranges = list(states)
    stored_days = sum(r.days - r.days_left() for r in ranges)
    stored = sum(r.entries for r in ranges)
    left_days = sum(r.days_left() for r in ranges)
    open_ranges = sum(1 for r in ranges if not r.done)
    entries = round(stored / stored_days * left_days) if stored_days else 0
    # Entries a request brings: at least a page of rows, more when rows group entries.
    pages = sum(r.pages for r in ranges)
    per_request = max(PAGE_SIZE, stored / pages) if pages else PAGE_SIZE
    requests = math.ceil(entries / per_request) + open_ranges if open_ranges else 0
    spendable = max(1, per_hour - reserve)
    return Estimate(entries, requests, requests / spendable)


class Status(NamedTuple):
    """How far the history goes (`togglsync status`, the end of a history run)."""

    started: bool
    complete: bool
    since: str | None  # the oldest day it covers (YYYY-MM-DD)
    ranges_left: int
    entries: int  # estimated entries left
    hours: float  # estimated hours left at the plan's quota less the reserve


def complete(states: Iterable[RangeState]) -> bool:
    """Whether the history is done: it was planned, and every range of it is stored (an account
    younger than the sync's window: its one range, `nothing_older`, is done when planned)."""
    ranges = list(states)
    return bool(ranges) and all(s.done for s in ranges)


def describe(states: Iterable[RangeState], per_hour: int) -> Status:
    """Complete since a day, or what remains and its estimate."""
    ranges = list(states)
    if not ranges:
        return Status(False, False, None, 0, 0, 0.0)
    left = estimate(ranges, per_hour)
    open_ranges = sum(1 for s in ranges if not s.done)
    return Status(True, complete(ranges), min(s.start for s in ranges).isoformat(), open_ranges, left.entries, left.hours)


def describe_hours(hours: float) -> str:
    if hours < 1:
        return "under an hour"
    return f"about {hours:.0f} hour{'s' if round(hours) != 1 else ''}"


# --- the recent window of a workspace-wide account --------------------------------------------
#
# An admin account set to workspace-wide (`all_users`) keeps every member's entries of
# the last `days` current, not only backfilled: a sync re-reads that window through the
# detailed report (scope ALL) when it is due (every `every` minutes), and what the
# report no longer lists inside it is gone. Only `sync.window` executes this.

# Days re-read by default, and minutes between two reads of one workspace's window.
WINDOW_DAYS = 14
WINDOW_EVERY_MINUTES = 60


class Window(NamedTuple):
    """One workspace's re-read window: the report's dates and the UTC span deletions may touch.

    The detailed report's dates are the requesting user's local dates (UTC on the
    simulator); no zone is more than 14 hours from UTC, so asking one day more on each
    side covers every UTC day of [first, last], whatever zone the server uses. Deletions
    by absence stay inside [since, until): exactly the days the report surely listed."""

    workspace_id: int
    first: date  # the report's start_date
    last: date  # the report's end_date
    since: datetime  # UTC, inclusive
    until: datetime  # UTC, exclusive

    def range_state(self) -> RangeState:
        """The window as a range of every member's entries (its pages are asked like history's)."""
        return RangeState(self.workspace_id, ALL, self.first, self.last)


def window(workspace_id: int, today: date, days: int) -> Window:
    """The window of the last `days` days up to `today` (the server's UTC date), today included."""
    first_day = today - timedelta(days=max(1, days) - 1)
    since = datetime(first_day.year, first_day.month, first_day.day, tzinfo=timezone.utc)
    until = datetime(today.year, today.month, today.day, tzinfo=timezone.utc) + timedelta(days=1)
    return Window(workspace_id, first_day - timedelta(days=1), today + timedelta(days=1), since, until)


def window_due(read_at: datetime | None, now: datetime, every_minutes: int) -> bool:
    """Whether a workspace's window is read again: never read, or read `every_minutes` ago
    (both on the local clock: the stored cursor's `updated_at`)."""
    return read_at is None or now - read_at >= timedelta(minutes=max(0, every_minutes))


# What the entries of one grouped report row share (`request_body`): the `time_entries`
# columns a window's cost is estimated by (one row per distinct combination).
REPORT_GROUP = ("user_id", "project_id", "task_id", "description", "tag_ids", "billable")


def window_pages(rows: int) -> int:
    """The requests one read of a window costs: one per `PAGE_SIZE` report rows (groups of
    alike entries, `REPORT_GROUP`), at least one (Toggl's detailed search says no total)."""
    return max(1, math.ceil(rows / PAGE_SIZE))


def may_read_window(latest: Observation | None, pages: int, reserve: int = RESERVE) -> bool:
    """Whether a whole window read of `pages` requests fits above the reserve (unknown: a new
    quota window, it does). A read that cannot finish would spend requests for nothing:
    its deletions wait for the last page."""
    return latest is None or latest.remaining is None or latest.remaining - pages >= reserve
