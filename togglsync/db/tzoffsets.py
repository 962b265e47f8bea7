"""UTC-offset periods of one IANA time zone, stored in `tz_offsets` so plain SQL can show local time.

SQLite knows no time zones. The `entries` view looks up the offset in force at
each entry's start in this small table (a few hundred rows: one per DST
change), which is correct across DST in any SQLite client, sqlite3 and
Datasette included.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, delete, insert, select

from togglsync.db import sql

from togglsync.db.models import TimeEntry, TzOffset

FIRST = datetime(2000, 1, 1, tzinfo=timezone.utc)
LAST = datetime(2100, 1, 1, tzinfo=timezone.utc)


def _offset(zone: ZoneInfo, instant: datetime) -> int:
    return int(instant.astimezone(zone).utcoffset().total_seconds())  # type: ignore[union-attr]


def offset_periods(zone_name: str) -> list[tuple[datetime, datetime, int]]:
    """[(utc_from, utc_to, offset_seconds)] covering 2000-2100, split where the offset changes."""
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    periods = []
    start, current = FIRST, _offset(zone, FIRST)
    day = FIRST
    step = timedelta(hours=12)
    while day < LAST:
        nxt = day + step
        off = _offset(zone, nxt)
        if off != current:
            # Bisect the change down to the second.
            lo, hi = day, nxt
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if _offset(zone, mid) == current:
                    lo = mid
                else:
                    hi = mid
            change = hi.replace(microsecond=0)
            periods.append((start, change, current))
            start, current = change, off
        day = nxt
    periods.append((start, LAST, current))
    return periods


def stored_zone(conn: Connection) -> str | None:
    return conn.execute(select(TzOffset.zone).limit(1)).scalar()


def store_zone(conn: Connection, zone_name: str | None) -> bool:
    """Make `tz_offsets` describe `zone_name` (UTC when unknown). Returns True if it changed."""
    zone_name = zone_name or "UTC"
    if stored_zone(conn) == zone_name:
        return False
    conn.execute(delete(TzOffset))
    conn.execute(
        insert(TzOffset),
        [
            {"utc_from": a, "utc_to": b, "offset_seconds": off, "zone": zone_name}
            for a, b, off in offset_periods(zone_name)
        ],
    )
    # `time_entries.local_date` follows the zone.
    local_date = local_dates(conn)
    starts = conn.execute(select(TimeEntry.id, TimeEntry.start)).all()
    if starts:
        # The driver's executemany: SQLAlchemy's per-row bookkeeping tripled the time (100,000 entries).
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(
                sql.driver_text(conn, "UPDATE time_entries SET local_date = ? WHERE id = ?"),
                [(local_date(start), entry_id) for entry_id, start in starts],
            )
        finally:
            cursor.close()
    return True


def local_dates(conn: Connection) -> Callable[[datetime | None], str | None]:
    """UTC start -> its date (YYYY-MM-DD) in the stored zone: `time_entries.local_date`.

    The rule of the views and of migration 0008's triggers, on the same rows: the offset is
    that of the last period starting at or before the instant, 0 before the first (or with
    no zone stored).
    """
    periods = conn.execute(select(TzOffset.utc_from, TzOffset.offset_seconds).order_by(TzOffset.utc_from)).all()
    froms = [utc_from for utc_from, _ in periods]
    offsets = [offset for _, offset in periods]

    def local_date(start: datetime | None) -> str | None:
        if start is None:
            return None
        index = bisect_right(froms, start) - 1
        offset = offsets[index] if index >= 0 else 0
        return (start + timedelta(seconds=offset)).date().isoformat()

    return local_date
