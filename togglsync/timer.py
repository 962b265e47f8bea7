"""The timer and the rules of an entry's times, in plain SQL on either kind of connection.

LocalStore (the Python API) and the `status`/`start`/`stop` commands (on the
sqlite3 driver, see `db.open`) both run these, inside their caller's
transaction, so there is one implementation of the rules. As with every
offline edit, the row changes at once and an operation is queued (`outbox`).

The rules (a timer starts and stops no later than now, an entry never ends
before it starts, a stop and a duration must agree, an added or edited entry
lasts at most 24 hours unless `allow_long`...) raise `UsageError`;
their messages show times in `tz` when given (the CLI's display zone), else
in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from togglsync import records, rows
from togglsync.db import sql
from togglsync.db.sql import Connection
from togglsync.db.stored import from_db
from togglsync.errors import UsageError
from togglsync.lookup import account, user_id
from togglsync.records import Kind
from togglsync.timeparse import format_clock, format_duration


def truncate(moment: datetime) -> datetime:
    # Toggl drops fractional seconds from start/stop; do it here so the local
    # row already equals what the server will hold.
    return moment.astimezone(timezone.utc).replace(microsecond=0)


def running_entry(conn: Connection, account_name: str | None = None) -> dict[str, Any] | None:
    """The running timer of the account's user (`--account`, else the default; one timer per user)."""
    user = user_id(conn, account_name)
    if user is None:
        row = sql.first(conn, "SELECT * FROM time_entries WHERE duration < 0 ORDER BY start DESC LIMIT 1")
    else:
        # The user's test is an expression no index answers, so the planner keeps the small
        # partial index of running entries (with `user_id = ?` it chose (user_id, start):
        # every entry of the user, 60 ms at 100,000 entries, for `status`, `start`, `stop`).
        row = sql.first(conn, "SELECT * FROM time_entries WHERE duration < 0 AND coalesce(user_id, ?) = ? "
                              "ORDER BY start DESC LIMIT 1", (user, user))
    return None if row is None else from_db(row)


def latest_stopped(conn: Connection) -> int | None:
    """The id of the most recent stopped entry (by start), or None."""
    found = sql.scalar(conn, "SELECT id FROM time_entries WHERE duration >= 0 ORDER BY start DESC, id DESC LIMIT 1")
    return None if found is None else int(found)


def check_refs(conn: Connection, workspace_id: int, project_id: int | None, tag_ids: Iterable[int]) -> None:
    """The project and tags exist, in this workspace."""
    rows.check_references(conn, Kind.TIME_ENTRY, workspace_id, {"project_id": project_id, "tag_ids": list(tag_ids)})


def default_workspace(conn: Connection, workspace_id: int | None, account_name: str | None = None) -> int:
    if workspace_id is not None:
        return workspace_id
    wid = account(conn, account_name).get("default_workspace_id")
    if wid is None:
        raise UsageError("no default workspace: pass a workspace")
    return int(wid)


def start(
    conn: Connection,
    description: str | None = None,
    *,
    project_id: int | None = None,
    tag_ids: Iterable[int] = (),
    billable: bool = False,
    start: datetime,
    workspace_id: int | None = None,
    now: datetime,
    tz: tzinfo | None = None,
    account_name: str | None = None,
) -> dict[str, Any]:
    """Start a timer at `start` for the account (`--account`, else the default); its running
    one is stopped there. Returns the new entry."""
    start = truncate(start)
    description = records.clean_description(description)
    tags = sorted(set(tag_ids))
    wid = default_workspace(conn, workspace_id, account_name)
    check_refs(conn, wid, project_id, tags)
    running = running_entry(conn, account_name)
    check_start(start, now=now, running=running, tz=tz)
    # The running one stops at the new start: one timer runs, the later start wins.
    rows.stop_overtaken(conn, [running] if running else [], now, starting=start)
    return rows.create(conn, Kind.TIME_ENTRY, wid, {
        "user_id": account(conn, account_name)["id"], "project_id": project_id, "description": description,
        "start": start, "stop": None, "duration": -1, "billable": bool(billable), "tag_ids": tags,
    }, now, account=account_name)


def stop(
    conn: Connection, stop: datetime, *, now: datetime, tz: tzinfo | None = None, account_name: str | None = None
) -> dict[str, Any]:
    """Stop the account's running timer at `stop`; the time recorded here is what Toggl gets."""
    stop = truncate(stop)
    running = running_entry(conn, account_name)
    if running is None:
        raise UsageError("no timer is running")
    check_stop(running, stop, now=now, tz=tz)
    return _stop(conn, running, stop, now)


def _stop(conn: Connection, running: dict[str, Any], stop: datetime, now: datetime) -> dict[str, Any]:
    duration = int((stop - running["start"]).total_seconds())
    return rows.update(conn, Kind.TIME_ENTRY, running["id"], {"stop": stop, "duration": duration}, now)


# --- the rules of an entry's times (pure) ------------------------------------------------------


def _shown(moment: datetime, tz: tzinfo | None, *, day: datetime, seconds: bool = False) -> str:
    """A time for a message: in `tz`, the date left out when on `day`'s date there; UTC says so."""
    zone = tz or timezone.utc
    text = format_clock(moment, zone, day=day.astimezone(zone).date(), seconds=seconds)
    return text if tz is not None else f"{text} UTC"


def check_start(start: datetime, *, now: datetime, running: Mapping[str, Any] | None = None,
                tz: tzinfo | None = None) -> None:
    """A timer starts no later than now, and after the running one started (it stops the running one)."""
    if start > now:
        raise UsageError(f"the start ({_shown(start, tz, day=now)}) is in the future: a timer can't start later than now")
    if running is not None and start <= running["start"]:
        # Stopping it at the new start would give it a zero or negative length.
        raise UsageError(
            f"the start ({_shown(start, tz, day=now)}) is not after the start of the running timer "
            f"({_shown(running['start'], tz, day=now)}): stop it first"
        )


def check_stop(running: Mapping[str, Any], stop: datetime, *, now: datetime, tz: tzinfo | None = None) -> None:
    """A running timer stops at or after its start, and no later than now."""
    if stop < running["start"]:
        raise UsageError(
            f"the stop ({_shown(stop, tz, day=now)}) is before the timer's start ({_shown(running['start'], tz, day=now)})"
        )
    if stop > now:
        raise UsageError(f"the stop ({_shown(stop, tz, day=now)}) is in the future: a timer can't stop later than now")


# An entry added or edited to last longer than this is almost always a mistake (a start
# on the wrong day, `-1` naming another entry than meant): refused unless `allow_long`.
MAX_LENGTH = timedelta(hours=24)


def check_length(start: datetime, end: datetime, *, allow_long: bool = False, running: bool = False,
                 was: timedelta | None = None, tz: tzinfo | None = None) -> None:
    """An entry from `start` to `end` (now, for a running one) lasts at most MAX_LENGTH, unless
    `allow_long`; an edit of one that already lasted longer (`was`) may keep or shorten it."""
    if allow_long or end - start <= max(MAX_LENGTH, was or MAX_LENGTH):
        return
    length = format_duration(int((end - start).total_seconds()))
    what = f"would have run {length} since {_shown(start, tz, day=end)}" if running else (
        f"would last {length} ({_shown(start, tz, day=end)} to {_shown(end, tz, day=start)})"
    )
    raise UsageError(f"the entry {what}, more than 24 hours: pass --allow-long if you mean it")


def span(start: datetime, stop: datetime | None, duration: int | None, *, tz: tzinfo | None = None,
         allow_long: bool = False) -> datetime:
    """A finished entry's stop, from its start and a stop and/or a duration (seconds); refuses
    a stop before the start, a stop and a duration that disagree, and more than 24 hours
    unless `allow_long`."""
    if stop is None and duration is None:
        raise UsageError("give a stop time or a duration")
    if stop is not None and stop < start:
        raise UsageError(
            f"the stop ({_shown(stop, tz, day=start, seconds=True)}) is before the start "
            f"({_shown(start, tz, day=start, seconds=True)})"
        )
    if duration is None:
        assert stop is not None
        check_length(start, stop, allow_long=allow_long, tz=tz)
        return stop
    if duration < 0:
        raise UsageError("the duration can't be negative")
    end = start + timedelta(seconds=int(duration))
    if stop is not None and stop != end:
        raise UsageError(
            f"the stop ({_shown(stop, tz, day=start, seconds=True)}) and the duration ({format_duration(int(duration))}) "
            f"disagree (the start plus the duration is {_shown(end, tz, day=start, seconds=True)}): give one of them"
        )
    check_length(start, end, allow_long=allow_long, tz=tz)
    return end


def edited_times(
    row: Mapping[str, Any],
    *,
    start: datetime | None = None,
    stop: datetime | None = None,
    duration: int | None = None,
    now: datetime,
    tz: tzinfo | None = None,
    allow_long: bool = False,
) -> dict[str, Any]:
    """The start, stop and duration an entry gets from a new start, stop and/or duration ({} for none).

    A new stop or duration ends the entry (and stops it, when running): a
    running one no later than now. Otherwise the stop stays where it is, so a
    new start must not be after it; a running entry's start stays no later
    than now. The entry lasts (a running one: has run) at most 24 hours unless
    `allow_long`.
    """
    if start is None and stop is None and duration is None:
        return {}
    begin = truncate(start) if start is not None else row["start"]
    running = row["duration"] < 0
    # How long it lasted (a running one: has run) before this edit.
    was = (now - row["start"]) if running else timedelta(seconds=max(0, row["duration"]))
    if stop is not None or duration is not None:
        end = span(begin, truncate(stop) if stop is not None else None, duration, tz=tz, allow_long=True)
        check_length(begin, end, allow_long=allow_long, was=was, tz=tz)
        if running and end > now:
            raise UsageError(
                f"the stop ({_shown(end, tz, day=now)}) is in the future: a running timer can't stop later than now"
            )
    elif running:
        if begin > now:
            raise UsageError(
                f"the start ({_shown(begin, tz, day=now)}) is in the future: a running timer can't start later than now"
            )
        if start is not None:
            check_length(begin, now, allow_long=allow_long, running=True, was=was, tz=tz)
        return {"start": begin}
    else:
        end = row["stop"] if row["stop"] is not None else begin + timedelta(seconds=row["duration"])
        if end < begin:
            day = row["start"]
            raise UsageError(
                f"the new start ({_shown(begin, tz, day=day)}) is after the entry's stop ({_shown(end, tz, day=day)})"
            )
        check_length(begin, end, allow_long=allow_long, was=was, tz=tz)
    return {"start": begin, "stop": end, "duration": int((end - begin).total_seconds())}
