"""UTC-offset periods of one IANA time zone, stored in `tz_offsets` so plain SQL can show local time.

SQLite knows no time zones. The `entries` view looks up the offset in force at
each entry's start in this small table (a few hundred rows: one per DST
change), which is correct across DST in any SQLite client, sqlite3 and
Datasette included.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, delete, insert, select

from togglsync.db.models import TzOffset

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
    return True
