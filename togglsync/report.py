"""Reading the local database: entry listings and totals, all offline.

An entry belongs to the range (and the day) in which it starts; a running
entry counts up to `now`. Days are cut in the display time zone.

`summarize` does the grouping in SQL over the base tables, one query per
report, so its numbers are those of a plain `GROUP BY` over the same UTC
range (tests/test_cli_reporting.py checks that against the `entries` view).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from togglsync.db import sql
from togglsync.db.sql import Connection
from togglsync.db.stored import from_utc_text, to_utc_text
from togglsync.errors import UsageError
from togglsync.records import format_ts, public_id

# Plain SQL through db.sql: reports run on the sqlite3 driver alone (no
# SQLAlchemy import, most of a report's start-up), or on a SQLAlchemy connection.

GROUPINGS = ("project", "client", "tag", "day", "month", "year", "description", "user")
NO_VALUE = {"project": "(no project)", "client": "(no client)", "tag": "(no tag)", "description": "(no description)",
            "user": "(no user)"}

#: Groupings by a calendar period of the display zone: their rows come in order, one per period.
PERIOD_GROUPINGS = ("day", "month", "year")

#: Longest range (in days) for which `--by day` lists days without entries too.
EMPTY_DAYS_LIMIT = 366
#: Most periods a range may hold for `--by day|month|year` to list those without entries too
#: (a year of days, ten years of months, a century); longer ranges list the periods with entries.
EMPTY_PERIODS_LIMIT = {"day": EMPTY_DAYS_LIMIT, "month": 120, "year": 100}


def entry_rows(
    conn: Connection,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    now: datetime,
    tz: ZoneInfo,
    project_id: int | None = None,
    tag_id: int | None = None,
    workspace_id: int | None = None,
    user_id: int | None = None,
) -> list[dict[str, Any]]:
    """Entries starting in [start, end), newest first, with names resolved and local times
    (`user_id`: one account's, see `lookup.account_filter`; else every account's)."""
    clauses, params = ["1 = 1"], []
    for condition, value in (
        ("e.start >= ?", None if start is None else to_utc_text(start)),
        ("e.start < ?", None if end is None else to_utc_text(end)),
        ("e.project_id = ?", project_id),
        ("e.workspace_id = ?", workspace_id),
        ("e.user_id = ?", user_id),
        ("e.id IN (SELECT time_entry_id FROM time_entry_tags WHERE tag_id = ?)", tag_id),
    ):
        if value is not None:
            clauses.append(condition)
            params.append(value)
    query = f"""
        SELECT e.id, e.workspace_id, e.user_id, e.description, e.start, e.stop, e.duration, e.billable, e.project_id, e.tags,
               p.name AS project, c.name AS client
        FROM time_entries e
        LEFT JOIN projects p ON p.id = e.project_id
        LEFT JOIN clients c ON c.id = p.client_id
        WHERE {" AND ".join(clauses)}
        ORDER BY e.start DESC"""
    out = []
    for row in sql.rows(conn, query, params):
        started = from_utc_text(row["start"])
        running = row["duration"] < 0
        seconds = int((now - started).total_seconds()) if running else row["duration"]
        local_start = started.astimezone(tz)
        out.append({
            "id": row["id"],
            "workspace_id": row["workspace_id"],
            "user_id": row["user_id"],
            "date": local_start.date().isoformat(),
            "start": local_start,
            "stop": from_utc_text(row["stop"]).astimezone(tz) if row["stop"] else None,
            "seconds": max(0, seconds),
            "running": running,
            "description": row["description"],
            "project_id": row["project_id"],
            "project": row["project"],
            "client": row["client"],
            "tags": json.loads(row["tags"]) if row["tags"] and row["tags"] != "[]" else [],
            "billable": bool(row["billable"]),
            "unsynced": row["id"] < 0,
        })
    return out


# -- the report: totals grouped in SQL ---------------------------------------------------


class Filters(NamedTuple):
    """Which entries a report counts, besides the range. Empty tuples mean "any"."""

    workspace_id: int | None = None
    user_id: int | None = None  # one account's entries (its Toggl user); None: every account's
    project_ids: tuple[int, ...] = ()
    tag_ids: tuple[int, ...] = ()  # an entry with any of these tags


class ReportRow(NamedTuple):
    key: str  # the name shown: project/client/tag name, ISO date, 2026-11, 2026, description or a NO_VALUE label
    id: int | None  # project/client/tag id (None for "(no ...)", periods and descriptions)
    seconds: int
    entries: int
    day: date | None = None  # for by == "day"


class Report(NamedTuple):
    by: str
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    tz: ZoneInfo
    now: datetime  # running entries are counted up to here
    rows: list[ReportRow]
    total_seconds: int
    total_entries: int
    running: int  # running entries among them
    filters: Filters = Filters()

    def share(self, row: ReportRow) -> float:
        """Percent of the total time; with by == "tag" an entry counts under each of its tags."""
        return 100.0 * row.seconds / self.total_seconds if self.total_seconds else 0.0

    @property
    def first_day(self) -> date:
        return self.start.astimezone(self.tz).date()

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(microseconds=1)).astimezone(self.tz).date()


def _check_grouping(by: str) -> None:
    if by not in GROUPINGS:
        raise ValueError(f"cannot group by {by!r}: use one of {', '.join(GROUPINGS)}")


def _seconds(conn: Connection) -> str:
    """Seconds an entry counts for: a running one (duration < 0) up to :now (epoch seconds), never less than 0."""
    running = f":now - {sql.epoch(conn, 'e.start')}"
    return f"CASE WHEN e.duration >= 0 THEN e.duration WHEN {running} > 0 THEN {running} ELSE 0 END"


_GROUP_QUERIES = {
    "project": """
        SELECT e.project_id AS id, p.name AS name, w.name AS workspace, count(*) AS entries, sum({seconds}) AS seconds
        FROM time_entries e
        LEFT JOIN projects p ON p.id = e.project_id
        LEFT JOIN workspaces w ON w.id = p.workspace_id
        WHERE {where}
        GROUP BY e.project_id, p.name, w.name""",
    "client": """
        SELECT p.client_id AS id, c.name AS name, w.name AS workspace, count(*) AS entries, sum({seconds}) AS seconds
        FROM time_entries e
        LEFT JOIN projects p ON p.id = e.project_id
        LEFT JOIN clients c ON c.id = p.client_id
        LEFT JOIN workspaces w ON w.id = c.workspace_id
        WHERE {where}
        GROUP BY p.client_id, c.name, w.name""",
    "tag": """
        SELECT et.tag_id AS id, t.name AS name, w.name AS workspace, count(*) AS entries, sum({seconds}) AS seconds
        FROM time_entries e
        LEFT JOIN time_entry_tags et ON et.time_entry_id = e.id
        LEFT JOIN tags t ON t.id = et.tag_id
        LEFT JOIN workspaces w ON w.id = t.workspace_id
        WHERE {where}
        GROUP BY et.tag_id, t.name, w.name""",
    # Who tracked it: the name GET /me gave (a synced account), else the workspace's member list.
    "user": """
        SELECT e.user_id AS id,
               coalesce(a.fullname, a.email, (SELECT coalesce(wu.fullname, wu.email) FROM workspace_users wu
                                              WHERE wu.user_id = e.user_id LIMIT 1)) AS name,
               NULL AS workspace, count(*) AS entries, sum({seconds}) AS seconds
        FROM time_entries e
        LEFT JOIN account a ON a.id = e.user_id
        WHERE {where}
        GROUP BY e.user_id, a.fullname, a.email""",
    "description": """
        SELECT NULL AS id, coalesce(e.description, '') AS name, NULL AS workspace, count(*) AS entries,
               sum({seconds}) AS seconds
        FROM time_entries e
        WHERE {where}
        GROUP BY coalesce(e.description, '')""",
    # Periods (days, months, years) come from Python (cut in the display zone, DST
    # included) as JSON [[label, utc_from, utc_to], ...]; each is an index range scan on start.
    "period": """
        WITH days(day, lo, hi) AS ({days})
        SELECT NULL AS id, d.day AS name, NULL AS workspace, count(e.id) AS entries,
               coalesce(sum({seconds}), 0) AS seconds,
               coalesce(sum(CASE WHEN e.duration < 0 THEN 1 ELSE 0 END), 0) AS running
        FROM days d
        {join} time_entries e ON e.start >= d.lo AND e.start < d.hi AND {where}
        GROUP BY d.day""",
}

_TOTAL_QUERY = """
    SELECT count(*) AS entries, coalesce(sum({seconds}), 0) AS seconds,
           coalesce(sum(CASE WHEN e.duration < 0 THEN 1 ELSE 0 END), 0) AS running
    FROM time_entries e
    WHERE e.start >= :start AND e.start < :end AND {where}"""


def _conditions(filters: Filters) -> tuple[str, dict[str, Any]]:
    clauses, params = ["1 = 1"], {}
    if filters.workspace_id is not None:
        clauses.append("e.workspace_id = :workspace_id")
        params["workspace_id"] = filters.workspace_id
    if filters.user_id is not None:
        clauses.append("e.user_id = :user_id")
        params["user_id"] = filters.user_id
    if filters.project_ids:
        names = [f"project_{i}" for i in range(len(filters.project_ids))]
        clauses.append(f"e.project_id IN ({', '.join(':' + n for n in names)})")
        params.update(zip(names, filters.project_ids))
    if filters.tag_ids:
        names = [f"tag_{i}" for i in range(len(filters.tag_ids))]
        clauses.append(
            "EXISTS (SELECT 1 FROM time_entry_tags ft WHERE ft.time_entry_id = e.id "
            f"AND ft.tag_id IN ({', '.join(':' + n for n in names)}))"
        )
        params.update(zip(names, filters.tag_ids))
    return " AND ".join(clauses), params


# The periods a report names, and their titles.
PERIODS = {
    "today": "Today",
    "yesterday": "Yesterday",
    "week": "This week",
    "last-week": "Last week",
    "month": "This month",
    "last-month": "Last month",
    "year": "This year",
    "last-year": "Last year",
}


def period_range(conn: Connection, period: str | None, *, tz: ZoneInfo, now: datetime) -> tuple[datetime, datetime, str]:
    """A named period (default: this week, starting on the account's first day of the week)
    -> [start, end) in UTC, and its title."""
    from togglsync.lookup import beginning_of_week
    from togglsync.timeparse import named_range

    period = period or "week"
    if period not in PERIODS:
        raise UsageError(f"no period {period!r}: use one of {', '.join(PERIODS)}")
    start, end = named_range(period, tz=tz, now=now, beginning_of_week=beginning_of_week(conn))
    return start, end, PERIODS[period]


def custom_range(conn: Connection, from_text: str | None, to_text: str | None, *, tz: ZoneInfo,
                 now: datetime) -> tuple[datetime, datetime]:
    """`--from`/`--to` of `report` and `log` -> [start, end) in UTC (`timeparse.explicit_range`).

    `--from` alone runs to today, that whole day included (`--to today`); `--to` alone runs
    from the first day with an entry stored before its end (that day's start in `tz`; with
    none, the day the range ends in). A bad or reversed range is ValueError."""
    from togglsync.timeparse import day_range, explicit_range, local_date

    if from_text is not None:
        return explicit_range(from_text, "today" if to_text is None else to_text, tz=tz, now=now)
    if to_text is None:
        raise ValueError("give --from, --to or both")
    _, end = explicit_range(EVERYTHING_FROM, to_text, tz=tz, now=now)
    first = sql.scalar(conn, "SELECT min(start) FROM time_entries WHERE start < ?", (to_utc_text(end),))
    day = local_date(from_utc_text(first) if first else end - timedelta(microseconds=1), tz)
    return day_range(day, tz)[0], end


#: The `--from` that reaches every entry (`custom_range` asks it for `--to`'s end alone).
EVERYTHING_FROM = "0002-01-01"


def period_bounds(start: datetime, end: datetime, tz: ZoneInfo, unit: str = "day") -> list[tuple[date, datetime, datetime]]:
    """The local days, months or years (`unit`) [start, end) touches, each as (its first day,
    utc_from, utc_to), clipped to the range.

    Periods tile: one's end is the next one's start (a day is 23 or 25 hours across DST).
    """
    from togglsync.timeparse import day_range, next_period, period_start

    first = period_start(start.astimezone(tz).date(), unit)
    last = (end - timedelta(microseconds=1)).astimezone(tz).date()
    out = []
    day, lo = first, day_range(first, tz)[0]
    while day <= last:
        following = next_period(day, unit)
        hi = day_range(following, tz)[0]
        out.append((day, max(lo, start), min(hi, end)))
        day, lo = following, hi
    return out


def day_bounds(start: datetime, end: datetime, tz: ZoneInfo) -> list[tuple[date, datetime, datetime]]:
    """The local days [start, end) touches (`period_bounds` by day)."""
    return period_bounds(start, end, tz, "day")


def period_label(first: date, unit: str) -> str:
    """How a period is named in a report: 2026-11-20, 2026-11, 2026 (ISO, so they sort)."""
    return {"day": first.isoformat(), "month": f"{first:%Y-%m}", "year": f"{first:%Y}"}[unit]


def _periods_in(start: datetime, end: datetime, unit: str) -> int:
    """About how many `unit`s [start, end) holds (to decide whether empty ones are listed)."""
    days = (end - start).days
    return {"day": days, "month": days // 28, "year": days // 365}[unit]


def summarize(
    conn: Connection,
    *,
    by: str,
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
    now: datetime,
    filters: Filters = Filters(),
    empty_days: bool | None = None,
) -> Report:
    """Totals of the entries starting in [start, end), grouped by `by`.

    With by == "tag" an entry counts once under each of its tags (entries
    without tags under "(no tag)"), so the rows can add up to more than the
    total. With by == "day", "month" or "year" the periods (of the display
    zone `tz`) are in order; periods without entries are listed too when
    `empty_days` (default: for ranges of up to EMPTY_PERIODS_LIMIT periods).
    """
    _check_grouping(by)
    where, params = _conditions(filters)
    params.update(start=to_utc_text(start), end=to_utc_text(end), now=int(now.timestamp()))
    seconds_sql = _seconds(conn)

    if by in PERIOD_GROUPINGS:
        if empty_days is None:
            empty_days = _periods_in(start, end, by) <= EMPTY_PERIODS_LIMIT[by]
        first, last = start, end
        if not empty_days:
            # Only periods with entries are listed: cut the range to where the entries are,
            # so `--from 0002-01-01 --to 9998-12-31` does not build three million days.
            found = sql.rows(
                conn,
                f"SELECT min(e.start) AS first, max(e.start) AS last FROM time_entries e "
                f"WHERE e.start >= :start AND e.start < :end AND {where}",
                params,
            )[0]
            if found["first"] is None:
                first = last = start
            else:
                from togglsync.timeparse import day_range

                first = max(start, day_range(from_utc_text(found["first"]).astimezone(tz).date(), tz)[0])
                last = min(end, day_range(from_utc_text(found["last"]).astimezone(tz).date(), tz)[1])
        periods = period_bounds(first, last, tz, by) if first < last else []
        params["days"] = json.dumps([[period_label(d, by), to_utc_text(lo), to_utc_text(hi)] for d, lo, hi in periods])
        query = _GROUP_QUERIES["period"].format(
            seconds=seconds_sql, where=where, join="LEFT JOIN" if empty_days else "JOIN",
            days=sql.json_rows(conn, ":days", 3),
        )
    else:
        query = _GROUP_QUERIES[by].format(seconds=seconds_sql, where=f"e.start >= :start AND e.start < :end AND {where}")

    fetched = sql.rows(conn, query, params)
    if by in PERIOD_GROUPINGS:
        # The periods tile the range (or the part of it holding entries): each entry counts in
        # exactly one, so their sums are the total, without a second pass over the entries.
        total = {key: sum(int(r[key]) for r in fetched) for key in ("entries", "seconds", "running")}
    else:
        total = sql.rows(conn, _TOTAL_QUERY.format(seconds=seconds_sql, where=where), params)[0]

    rows = [_row(by, r) for r in fetched]
    if by in PERIOD_GROUPINGS:
        rows.sort(key=lambda r: r.key)
    else:
        rows = _disambiguate(rows, fetched)
        rows.sort(key=lambda r: (-r.seconds, r.key.casefold(), r.key))
    return Report(
        by=by, start=start, end=end, tz=tz, now=now, rows=rows,
        total_seconds=int(total["seconds"]), total_entries=int(total["entries"]), running=int(total["running"]),
        filters=filters,
    )


def tracked_seconds(conn: Connection, start: datetime, end: datetime, now: datetime) -> int:
    """Time tracked in entries starting in [start, end), a running one up to `now` (as in reports)."""
    params = {"start": to_utc_text(start), "end": to_utc_text(end), "now": int(now.timestamp())}
    return int(sql.rows(conn, _TOTAL_QUERY.format(seconds=_seconds(conn), where="1 = 1"), params)[0]["seconds"])


class Status(NamedTuple):
    """What `togglsync status` shows: the running entry, today's and this week's time, the outbox, the last sync."""

    running: dict[str, Any] | None
    today: date
    today_seconds: int
    week_start: datetime
    week_seconds: int
    pending: int
    failed: int
    last_sync: datetime | None
    history: Any = None  # history_plan.Status: how far `togglsync history` reaches (your own entries)


def status(conn: Connection, *, now: datetime, tz: ZoneInfo) -> Status:
    from togglsync import lookup, outbox, timer
    from togglsync.db.stored import timestamp_from_db
    from togglsync.timeparse import day_range, week_range

    today = now.astimezone(tz).date()
    day_start, day_end = day_range(today, tz)
    week_start, week_end = week_range(today, tz, lookup.beginning_of_week(conn))
    counts = outbox.counts(conn)
    return Status(
        running=timer.running_entry(conn),
        today=today,
        today_seconds=tracked_seconds(conn, day_start, day_end, now),
        week_start=week_start,
        week_seconds=tracked_seconds(conn, week_start, week_end, now),
        pending=sum(counts.values()),
        failed=counts.get(outbox.State.FAILED, 0),
        last_sync=timestamp_from_db(sql.scalar(conn, "SELECT max(updated_at) FROM sync_cursors WHERE resource = 'time_entries'")),
        history=history_status(conn),
    )


def history_status(conn: Connection) -> Any:
    """How far the history of your own entries reaches (`history_plan.describe`), from `history_ranges`
    (every account's: `status` speaks of the whole database)."""
    import json

    from togglsync import history_plan

    from togglsync.db.cursors import history_ranges

    ranges = [history_plan.RangeState.from_row(r) for r in history_ranges(conn, history_plan.ME, account=None)]
    raw = sql.scalar(conn, "SELECT raw FROM workspaces ORDER BY id LIMIT 1")
    workspace = json.loads(raw) if isinstance(raw, str) else raw
    return history_plan.describe(ranges, history_plan.hourly_quota(workspace if isinstance(workspace, dict) else None))


def _row(by: str, r: Any) -> ReportRow:
    seconds, entries = int(r["seconds"] or 0), int(r["entries"])
    if by == "day":
        return ReportRow(r["name"], None, seconds, entries, day=date.fromisoformat(r["name"]))
    if by in PERIOD_GROUPINGS:  # a month (2026-11) or a year (2026)
        return ReportRow(r["name"], None, seconds, entries)
    if by == "description":
        return ReportRow(r["name"] or NO_VALUE[by], None, seconds, entries)
    if r["id"] is None:
        return ReportRow(NO_VALUE[by], None, seconds, entries)
    if r["name"] is None:  # the record is referenced but not (or no longer) in the database
        from togglsync.records import format_id

        return ReportRow(f"({by} {format_id(r['id'])})", r["id"], seconds, entries)
    return ReportRow(r["name"], r["id"], seconds, entries)


def _disambiguate(rows: list[ReportRow], fetched: Sequence[Any]) -> list[ReportRow]:
    """Two projects (clients, tags) of the same name in different workspaces: add the workspace."""
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        counts[row.key] += 1
    if all(n == 1 for n in counts.values()):
        return rows
    out = []
    for row, raw in zip(rows, fetched):
        if counts[row.key] > 1 and row.id is not None:
            from togglsync.records import format_id

            where = raw["workspace"] or "?"
            row = ReportRow(f"{row.key} ({where}, {format_id(row.id)})", row.id, row.seconds, row.entries)
        out.append(row)
    return out


# -- shapes for --json / --csv -------------------------------------------------------------


def row_dict(report: Report, row: ReportRow) -> dict[str, Any]:
    """One row as --json and --csv show it: `<by>`, [`<by>_id`], seconds, hours, time, entries, share."""
    from togglsync.timeparse import format_duration

    out: dict[str, Any] = {report.by: row.key}
    if report.by in ("project", "client", "tag", "user"):
        out[f"{report.by}_id"] = public_id(row.id)
    out.update(
        seconds=row.seconds,
        hours=round(row.seconds / 3600, 2),
        time=format_duration(row.seconds),
        entries=row.entries,
        share=round(report.share(row), 1),
    )
    return out


def report_dict(report: Report) -> dict[str, Any]:
    """The whole report for --json: the range (UTC bounds and local days), rows and the total."""
    from togglsync.timeparse import format_duration

    return {
        "by": report.by,
        "from": format_ts(report.start),
        "to": format_ts(report.end),
        "timezone": report.tz.key,
        "first_day": report.first_day.isoformat(),
        "last_day": report.last_day.isoformat(),
        "now": format_ts(report.now),
        "filters": {
            "workspace_id": report.filters.workspace_id,
            "user_id": report.filters.user_id,
            "project_ids": [public_id(i) for i in report.filters.project_ids],
            "tag_ids": [public_id(i) for i in report.filters.tag_ids],
        },
        "rows": [row_dict(report, row) for row in report.rows],
        "total": {
            "seconds": report.total_seconds,
            "hours": round(report.total_seconds / 3600, 2),
            "time": format_duration(report.total_seconds),
            "entries": report.total_entries,
            "running": report.running,
        },
    }
