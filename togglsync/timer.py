"""The timer: what is running, start and stop, in plain SQL on either kind of connection.

LocalStore (the Python API) and the `status`/`start`/`stop` commands (on the
sqlite3 driver, see `db.open`) both run these, inside their caller's
transaction, so there is one implementation of the rules. As with every
offline edit, the row changes at once and an operation is queued (`outbox`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from togglsync import rows
from togglsync.db import sql
from togglsync.db.sql import Connection
from togglsync.db.stored import from_db
from togglsync.errors import UsageError
from togglsync.lookup import account
from togglsync.records import Kind


def truncate(moment: datetime) -> datetime:
    # Toggl drops fractional seconds from start/stop; do it here so the local
    # row already equals what the server will hold.
    return moment.astimezone(timezone.utc).replace(microsecond=0)


def running_entry(conn: Connection) -> dict[str, Any] | None:
    row = sql.first(conn, "SELECT * FROM time_entries WHERE duration < 0 ORDER BY start DESC LIMIT 1")
    return None if row is None else from_db(row)


def check_refs(conn: Connection, workspace_id: int, project_id: int | None, tag_ids: Iterable[int]) -> None:
    """The project and tags exist, in this workspace."""
    refs = ([("project", "projects", project_id)] if project_id is not None else [])
    refs += [("tag", "tags", tag_id) for tag_id in tag_ids]
    for kind, table, record_id in refs:
        found = sql.scalar(conn, f"SELECT workspace_id FROM {table} WHERE id = ?", (record_id,))
        if found is None:
            raise UsageError(f"no {kind} with id {record_id}")
        if found != workspace_id:
            raise UsageError(f"{kind} {record_id} belongs to another workspace")


def default_workspace(conn: Connection, workspace_id: int | None) -> int:
    if workspace_id is not None:
        return workspace_id
    wid = account(conn).get("default_workspace_id")
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
) -> dict[str, Any]:
    """Start a timer at `start`; a running one is stopped there. Returns the new entry."""
    start = truncate(start)
    tags = sorted(set(tag_ids))
    wid = default_workspace(conn, workspace_id)
    check_refs(conn, wid, project_id, tags)
    running = running_entry(conn)
    if running is not None:
        if start <= running["start"]:
            # Stopping it at the new start would give it a zero or negative length.
            raise UsageError(
                f"the running timer started at {running['start']:%Y-%m-%d %H:%M:%S} UTC, not before "
                "the new start: stop it first, or start later"
            )
        _stop(conn, running, start, now)
    created = rows.create(conn, Kind.TIME_ENTRY, wid, {
        "user_id": account(conn)["id"], "project_id": project_id, "description": description,
        "start": start, "stop": None, "duration": -1, "billable": bool(billable), "tag_ids": tags,
    }, now)
    return created


def stop(conn: Connection, stop: datetime, *, now: datetime) -> dict[str, Any]:
    """Stop the running timer at `stop`; the time recorded here is what Toggl gets."""
    stop = truncate(stop)
    running = running_entry(conn)
    if running is None:
        raise UsageError("no timer is running")
    if stop < running["start"]:
        raise UsageError("the stop time is before the timer's start")
    return _stop(conn, running, stop, now)


def _stop(conn: Connection, running: dict[str, Any], stop: datetime, now: datetime) -> dict[str, Any]:
    duration = int((stop - running["start"]).total_seconds())
    return rows.update(conn, Kind.TIME_ENTRY, running["id"], {"stop": stop, "duration": duration}, now)
