"""Inspect and steer the outbox and the conflicts: what `pending` and `conflicts` show and do."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, delete, select, update

from togglsync.db.models import PendingOperation, SyncConflict
from togglsync.errors import UsageError
from togglsync.local import TABLES, LocalStore
from togglsync.timer import write_entry_tags
from togglsync.records import from_state


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _describe(row: dict[str, Any] | None, base: dict[str, Any] | None, resource: str) -> str:
    source = row or base or {}
    if resource == "time_entry":
        text = source.get("description") or "(no description)"
        start = source.get("start")
        if isinstance(start, datetime):
            start = start.strftime("%Y-%m-%d %H:%M")
        return f"{text} @ {start}" if start else text
    return str(source.get("name") or "")


def list_pending(engine: Engine) -> list[dict[str, Any]]:
    out = []
    with engine.connect() as conn:
        ops = conn.execute(select(PendingOperation.__table__).order_by(PendingOperation.id)).mappings().all()
        for op in ops:
            model = TABLES[op["resource"]]
            row = conn.execute(select(model.__table__).where(model.id == op["record_id"])).mappings().first()
            out.append({
                "id": op["id"],
                "action": op["action"],
                "resource": op["resource"],
                "record_id": op["record_id"],
                "workspace_id": op["workspace_id"],
                "state": op["state"],
                "what": _describe(dict(row) if row else None, op["base"], op["resource"]),
                "attempts": op["attempts"],
                "error": op["error"],
                "created_at": op["created_at"],
            })
    return out


def _op(conn, op_id: int) -> dict[str, Any]:
    op = conn.execute(select(PendingOperation.__table__).where(PendingOperation.id == op_id)).mappings().first()
    if op is None:
        raise UsageError(f"no pending operation with id {op_id}")
    return dict(op)


def retry_operation(engine: Engine, op_id: int) -> None:
    with engine.begin() as conn:
        op = _op(conn, op_id)
        if op["state"] != "failed":
            raise UsageError(f"operation {op_id} is {op['state']}, not failed")
        conn.execute(
            update(PendingOperation).where(PendingOperation.id == op_id).values(state="queued", error=None, updated_at=_now())
        )


def drop_operation(engine: Engine, op_id: int) -> None:
    """Forget an operation. A create that never reached Toggl takes its local row with it."""
    store = LocalStore(engine)
    with engine.begin() as conn:
        op = _op(conn, op_id)
        if op["state"] == "in_flight":
            raise UsageError(f"operation {op_id} is in flight: sync first to learn whether it landed")
        conn.execute(delete(PendingOperation).where(PendingOperation.id == op_id))
        if op["action"] == "create" and op["record_id"] < 0:
            model = TABLES[op["resource"]]
            store._detach_references(conn, op["resource"], op["record_id"])
            conn.execute(delete(model).where(model.id == op["record_id"]))


def list_conflicts(engine: Engine, include_resolved: bool = False) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        query = select(SyncConflict.__table__).order_by(SyncConflict.id)
        if not include_resolved:
            query = query.where(SyncConflict.resolved_at.is_(None))
        return [dict(r) for r in conn.execute(query).mappings()]


def resolve_conflict(engine: Engine, conflict_id: int, keep: str) -> str:
    """Mark a conflict resolved; keeping the side that lost becomes a new local edit."""
    store = LocalStore(engine)
    with engine.begin() as conn:
        row = conn.execute(select(SyncConflict.__table__).where(SyncConflict.id == conflict_id)).mappings().first()
        if row is None:
            raise UsageError(f"no conflict with id {conflict_id}")
        if row["resolved_at"] is not None:
            raise UsageError(f"conflict {conflict_id} is already resolved")
        c = dict(row)
        message = f"Conflict {conflict_id} resolved: kept the {keep} value."
        resource = c["resource"]
        if c["kind"] == "both_changed" and keep != c["kept"]:
            value = c["local_value"] if keep == "local" else c["remote_value"]
            model = TABLES[resource]
            if conn.execute(select(model.id).where(model.id == c["record_id"])).first() is None:
                raise UsageError(f"the {resource.replace('_', ' ')} of conflict {conflict_id} no longer exists")
            values = from_state({c["field"]: value})
            if resource == "time_entry" and c["field"] == "tag_ids":
                store._set_entry_tags(conn, c["record_id"], list(value or []), queue=True)
            else:
                store._update(conn, resource, c["record_id"], values)
            message += " It will be pushed on the next sync."
        elif c["kind"] == "deleted_remotely" and keep == "local":
            state = dict(c["base_value"] or {})
            state.update(c["local_value"] or {})
            values = from_state(state)
            values.pop("tag_ids", None) if resource != "time_entry" else None
            if resource == "time_entry":
                values["tags"] = store._tag_names(conn, values.get("tag_ids") or [])
            # Fix: the workspace was that of whichever pending operation came first, any
            # record's. The conflict does not keep the record's: the default one it is.
            new = store._create(conn, resource, store._workspace(conn, None), values)
            if resource == "time_entry":
                # Fix: the re-created entry had tag ids but no time_entry_tags rows.
                write_entry_tags(conn, new["id"], values.get("tag_ids") or [])
            message += f" Re-created as {new['id']}; it will be pushed on the next sync."
        conn.execute(update(SyncConflict).where(SyncConflict.id == conflict_id).values(resolved_at=_now()))
        return message
