"""Inspect and steer the outbox and the conflicts: what `pending` and `conflicts` show and do."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, select, update

from togglsync import outbox, records, rows, timer
from togglsync.db.models import SyncConflict
from togglsync.errors import UsageError
from togglsync.outbox import Action, State


def _now() -> datetime:
    return datetime.now(timezone.utc)


def list_pending(engine: Engine) -> list[dict[str, Any]]:
    out = []
    with engine.connect() as conn:
        for op in outbox.every(conn):
            row = rows.get(conn, op.resource, op.record_id)
            out.append({
                "id": op.id,
                "action": str(op.action),
                "resource": str(op.resource),
                "record_id": op.record_id,
                "workspace_id": op.workspace_id,
                "state": str(op.state),
                "what": records.describe(op.resource, row or op.base),
                "attempts": op.attempts,
                "error": op.error,
                "created_at": op.created_at,
            })
    return out


def _op(conn: Any, op_id: int) -> outbox.Operation:
    op = outbox.get(conn, op_id)
    if op is None:
        raise UsageError(f"no pending operation with id {op_id}")
    return op


def retry_operation(engine: Engine, op_id: int) -> None:
    with engine.begin() as conn:
        op = _op(conn, op_id)
        if op.state is not State.FAILED:
            raise UsageError(f"operation {op_id} is {op.state}, not failed")
        outbox.retry(conn, op_id, _now())


def adopt_operation(engine: Engine, op_id: int, toggl_id: int) -> int:
    """Settle a parked create: the record `toggl_id` on Toggl (as the last sync stored it) is the
    one it made. The local record takes that id, with any edit made here since kept and queued.
    Returns the id."""
    with engine.begin() as conn:
        op = _op(conn, op_id)
        label = records.spec(op.resource).label
        if op.action is not Action.CREATE or op.state is not State.FAILED:
            raise UsageError(f"operation {op_id} is not a parked create: nothing to adopt")
        found = rows.get(conn, op.resource, toggl_id) if toggl_id > 0 else None
        if found is None:
            raise UsageError(
                f"no {label} {toggl_id} from Toggl is stored here: run `togglsync sync`, then adopt one "
                "the parked operation names (or `togglsync pending drop` if it was deleted)"
            )
        if found["workspace_id"] != op.workspace_id:
            raise UsageError(f"{label} {toggl_id} is in another workspace than operation {op_id}")
        if toggl_id in outbox.record_ids(conn, op.resource):
            raise UsageError(f"{label} {toggl_id} has local changes of its own: it is not what operation {op_id} made")
        return rows.adopt(conn, op, found, _now())


def drop_operation(engine: Engine, op_id: int) -> None:
    """Forget an operation. A create that never reached Toggl takes its local row with it."""
    with engine.begin() as conn:
        op = _op(conn, op_id)
        if op.state is State.IN_FLIGHT:
            raise UsageError(f"operation {op_id} is in flight: sync first to learn whether it landed")
        if op.action is Action.CREATE and rows.get(conn, op.resource, op.record_id) is not None:
            # Toggl never had it: the row goes, with every operation queued behind its create.
            rows.delete(conn, op.resource, op.record_id, _now())
        outbox.drop(conn, [op_id])


def list_conflicts(engine: Engine, include_resolved: bool = False) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        query = select(SyncConflict.__table__).order_by(SyncConflict.id)
        if not include_resolved:
            query = query.where(SyncConflict.resolved_at.is_(None))
        return [dict(r) for r in conn.execute(query).mappings()]


def resolve_conflict(engine: Engine, conflict_id: int, keep: str) -> str:
    """Mark a conflict resolved; keeping the side that lost becomes a new local edit."""
    now = _now()
    with engine.begin() as conn:
        row = conn.execute(select(SyncConflict.__table__).where(SyncConflict.id == conflict_id)).mappings().first()
        if row is None:
            raise UsageError(f"no conflict with id {conflict_id}")
        if row["resolved_at"] is not None:
            raise UsageError(f"conflict {conflict_id} is already resolved")
        c = dict(row)
        message = f"Conflict {conflict_id} resolved: kept the {keep} value."
        kind = records.Kind(c["resource"])
        if c["kind"] == "both_changed" and keep != c["kept"]:
            value = c["local_value"] if keep == "local" else c["remote_value"]
            if rows.get(conn, kind, c["record_id"]) is None:
                raise UsageError(f"the {records.spec(kind).label} of conflict {conflict_id} no longer exists")
            rows.update(conn, kind, c["record_id"], records.from_state({c["field"]: value}), now)
            message += " It will be pushed on the next sync."
        elif c["kind"] == "deleted_locally" and keep == "local" and c["kept"] == "remote":
            # The edit made elsewhere brought the record back: delete it again.
            if rows.get(conn, kind, c["record_id"]) is not None:
                rows.delete(conn, kind, c["record_id"], now)
                message += " It will be deleted on the next sync."
        elif (c["kind"] == "deleted_remotely" and keep == "local") or (
            c["kind"] == "deleted_locally" and keep == "remote" and c["kept"] == "local"
        ):
            # The record is gone (or going) on Toggl: the side that lost comes back as a new one.
            state = dict(c["base_value"] or {})
            state.update(c["local_value"] or c["remote_value"] or {})
            # The conflict does not keep the record's workspace: the default one it is.
            new = rows.create(conn, kind, timer.default_workspace(conn, None), records.from_state(state), now)
            message += f" Re-created as {records.format_id(new['id'])}; it will be pushed on the next sync."
        elif c["kind"] == records.CONTAINER_GONE and keep == "local":
            if c["local_value"] is None:
                message += " It was a delete: nothing to re-create."
            else:
                # Its workspace is gone, and with it whatever the record pointed at.
                state = records.without_references(kind, {**(c["base_value"] or {}), **c["local_value"]})
                wid = timer.default_workspace(conn, None)
                new = rows.create(conn, kind, wid, records.from_state(state), now)
                message += (
                    f" Re-created as {records.format_id(new['id'])} in workspace {wid}, without its references;"
                    " it will be pushed on the next sync."
                )
        conn.execute(update(SyncConflict).where(SyncConflict.id == conflict_id).values(resolved_at=now))
        return message
