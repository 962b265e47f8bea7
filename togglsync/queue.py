"""Inspect and steer the outbox and the conflicts: what `pending`, `conflicts` and `undo` show and do.

Giving a local change up (`pending drop`, `undo`) has one rule, `_give_up`: a record
made here and never sent goes; an update or delete gives way with every unsent edit of
its record, and the row is put back to the operation's `base`, the state Toggl had
when the edit was made (the pull keeps it current). The CLI may then fetch the record
(`sync.engine.reread`) to be sure: the library never talks to Toggl.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Any

from sqlalchemy import Engine, select, update

from togglsync import outbox, records, rows, timer
from togglsync.config import IMPLICIT_ACCOUNT
from togglsync.db.models import SyncConflict
from togglsync.errors import UsageError
from togglsync.outbox import Action, State


def _now() -> datetime:
    return datetime.now(timezone.utc)


def list_pending(engine: Engine, tz: tzinfo | None = None) -> list[dict[str, Any]]:
    """The outbox, oldest first; an entry's start in `what` in `tz` (the display zone) when given."""
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
                "what": records.describe(op.resource, row or op.base, tz),
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


@dataclass(frozen=True)
class GivenUp:
    """A local change given up: what its record was, and what became of the row."""

    kind: records.Kind
    record_id: int
    workspace_id: int
    action: Action
    # The record as people know it (its row before, or the state it is put back to).
    what: str
    # Operations that went with it (every unsent edit of the record).
    op_ids: tuple[int, ...]
    # The account whose sync would have sent it (reading the record again is its to do).
    account: str = IMPLICIT_ACCOUNT

    @property
    def restored(self) -> bool:
        """The row was put back to Toggl's state (an update or delete); else a create went."""
        return self.action is not Action.CREATE

    def describe(self) -> str:
        return f"{records.spec(self.kind).label} {records.format_id(self.record_id)} ({self.what})"

    def change(self) -> str:
        """The change given up, for people: `the delete of time entry 41 (Writing @ ...)`."""
        what = {Action.CREATE: "the add", Action.UPDATE: "the changes to", Action.DELETE: "the delete"}[self.action]
        return f"{what} of {self.describe()}" if self.action is not Action.UPDATE else f"{what} {self.describe()}"

    def outcome(self) -> str:
        """What became of the record: `it is <outcome>`."""
        if self.action is Action.CREATE:
            return "removed (Toggl never had it)"
        if self.action is Action.DELETE:
            return "back as Toggl has it"
        return "back as Toggl has it (every edit of it since the last sync is undone)"


def _give_up(conn: Any, ops: list[outbox.Operation], now: datetime, tz: tzinfo | None = None) -> list[GivenUp]:
    """Give these operations up (see the module's docstring). Records made here go
    children first; records put back go parents first, so their references find them."""
    order = records.PUSH_ORDER
    creates = {(op.resource, op.record_id): op for op in ops if op.action is Action.CREATE}
    edits = {(op.resource, op.record_id): op for op in ops if (op.resource, op.record_id) not in creates}
    done: list[GivenUp] = []
    reattached: set[tuple[str, int]] = set()
    for (kind, record_id), op in sorted(creates.items(), key=lambda item: -order.index(item[0][0])):
        row = rows.get(conn, kind, record_id)
        mine = tuple(o.id for o in outbox.for_record(conn, kind, record_id))
        if row is not None:
            # Toggl never had it: the row goes, with every operation queued behind its create.
            rows.delete(conn, kind, record_id, now)
        outbox.drop(conn, mine)
        done.append(GivenUp(kind, record_id, op.workspace_id, op.action, records.describe(kind, row, tz), mine,
                            op.account))
    for (kind, record_id), op in sorted(edits.items(), key=lambda item: order.index(item[0][0])):
        if (str(kind), record_id) in reattached:
            # It lost its reference to a record put back above (the same change): it has it
            # back, and its own edits, made before, stay.
            continue
        unsent = [o for o in outbox.for_record(conn, kind, record_id)
                  if o.action is not Action.CREATE and o.state is not State.IN_FLIGHT]
        # The oldest one's base is what Toggl had before any of them.
        base = next((o.base for o in unsent if o.base is not None), None)
        outbox.drop(conn, [o.id for o in unsent])
        row = rows.get(conn, kind, record_id)
        if base is not None:
            row = rows.restore(conn, kind, record_id, op.workspace_id, base)
            if any(o.action is Action.DELETE for o in unsent):
                reattached |= rows.reattach(conn, kind, record_id)
        action = Action.DELETE if any(o.action is Action.DELETE for o in unsent) else Action.UPDATE
        done.append(GivenUp(kind, record_id, op.workspace_id, action, records.describe(kind, row or base, tz),
                            tuple(o.id for o in unsent), op.account))
    return done


def drop_operation(engine: Engine, op_id: int, tz: tzinfo | None = None) -> GivenUp:
    """Forget an operation. A create that never reached Toggl takes its local row with it; an
    update or delete goes with every unsent edit of its record, whose row is put back as Toggl
    had it (the caller may fetch it to be sure: `sync.engine.reread`)."""
    with engine.begin() as conn:
        op = _op(conn, op_id)
        if op.state is State.IN_FLIGHT:
            raise UsageError(f"operation {op_id} is in flight: sync first to learn whether it landed")
        return _give_up(conn, [op], _now(), tz)[0]


@dataclass(frozen=True)
class Undo:
    """What `undo` did (or would do): `given_up` empty means nothing, and `reason` says why."""

    given_up: list[GivenUp]
    reason: str | None = None


NOTHING_PUSHED_NOTE = (
    "a change already pushed is not undone here: edit the record again (`togglsync edit`) "
    "or add it again (`togglsync add`)"
)


def undo_last(engine: Engine, *, dry_run: bool = False, tz: tzinfo | None = None) -> Undo:
    """Reverse the last local change not pushed yet (`outbox.latest_change`: one command's
    edits together). Offline: a row goes back to the state Toggl had when it was edited."""
    with engine.connect() as conn, conn.begin() as transaction:
        ops = outbox.latest_change(conn)
        if not ops:
            return Undo([], f"no local change waits to be pushed; {NOTHING_PUSHED_NOTE}")
        sending = [op for op in ops if op.state is State.IN_FLIGHT or op.undecided]
        if sending:
            op = sending[0]
            name = records.describe(op.resource, rows.get(conn, op.resource, op.record_id), tz)
            return Undo([], f"the last change ({op.action} of {records.spec(op.resource).label} "
                            f"{records.format_id(op.record_id)}, {name}) may have reached Toggl already: run "
                            f"`togglsync sync`, then see `togglsync pending`; {NOTHING_PUSHED_NOTE}")
        given_up = _give_up(conn, ops, _now(), tz)
        if dry_run:
            transaction.rollback()  # what it would do, done and taken back: the same rule says it
        return Undo(given_up)


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
