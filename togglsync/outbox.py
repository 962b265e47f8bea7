"""The outbox: pending operations queued by offline edits, in plain SQL (see `db.sql`).

Every local edit path (LocalStore, and the timer on the driver connection)
queues through here, so the rules about when an edit needs an operation of
its own live in one place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from togglsync.db import sql
from togglsync.db.sql import Connection
from togglsync.db.stored import from_db, json_to_db, to_utc_text


def queue(
    conn: Connection, resource: str, action: str, record_id: int, workspace_id: int, base: dict[str, Any] | None, now: datetime
) -> int:
    """Queue one operation; returns its id."""
    stamp = to_utc_text(now)
    op_id = sql.execute(
        conn,
        "INSERT INTO pending_operations (resource, action, record_id, workspace_id, base, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (resource, action, record_id, workspace_id, json_to_db(base), stamp, stamp),
    )
    assert op_id is not None
    return op_id


def operations(conn: Connection, resource: str, record_id: int) -> list[dict[str, Any]]:
    """The record's pending operations, oldest first."""
    found = sql.rows(
        conn, "SELECT * FROM pending_operations WHERE resource = ? AND record_id = ? ORDER BY id", (resource, record_id)
    )
    return [from_db(row) for row in found]


def rejected_create(ops: list[dict[str, Any]]) -> bool:
    """The record's create was parked as failed: Toggl does not have it (no temporary id was replaced)."""
    return any(op["action"] == "create" and op["state"] == "failed" for op in ops)


def edit_needs_update(ops: list[dict[str, Any]]) -> bool:
    """Whether an edit of a record with these operations must queue an update of its own.

    Payloads are computed at push time, so a queued create or update already
    carries any later edit of the row. An operation in flight (or failed) is
    never touched: the edit gets its own update behind it. Fix: an update
    behind a create the server rejected could never be sent (it waits for a
    Toggl id forever); the create, once retried, sends the row as it is.
    """
    if rejected_create(ops):
        return False
    return not any(op["state"] == "queued" for op in ops)
