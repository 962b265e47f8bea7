"""The outbox: the local changes waiting to reach Toggl, and every move they make.

This module is the only code that writes `pending_operations`
(tests/test_outbox.py fails on any other writer). An operation is a typed
`Operation`; its life is a small state machine, each transition a function
here:

    queue / queue_create          -> QUEUED
    QUEUED    --mark_in_flight--> IN_FLIGHT   (a create, committed durably before it is sent)
    IN_FLIGHT --requeue-->        QUEUED      (it did not reach Toggl, or reconciliation found it did not land)
    QUEUED | IN_FLIGHT --park-->  FAILED      (Toggl refused it; `error` says why)
    FAILED    --retry-->          QUEUED      (the user; or the sync: a reference that changed since,
                                               or a back-off that is over, see sync/plan.parked_step)
    any       --settle-->         gone        (Toggl has it; or nothing is left to send)
    any       --drop-->           gone        (the user gave it up; a record deleted everywhere)

Payloads are not stored: the push computes them from the current row and the
operation's `base` (the server's state the edit was made on), so later edits
of a record whose operation is still queued ride on it (coalescing). An
operation in flight is never changed: an edit made meanwhile gets an
operation of its own behind it.

Plain SQL (`db.sql`), so the driver-only commands (`start`, `stop`) and the
SQLAlchemy side (LocalStore, the sync) run the same code, inside their
caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

from togglsync import records
from togglsync.config import IMPLICIT_ACCOUNT
from togglsync.db import sql
from togglsync.db.sql import Connection
from togglsync.db.stored import from_db, json_to_db, timestamp_to_db, to_utc_text


# How the error of a create parked by `park_undecided` begins.
UNDECIDED = "outcome unknown"


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class State(StrEnum):
    QUEUED = "queued"
    IN_FLIGHT = "in_flight"
    FAILED = "failed"


class Operation(NamedTuple):
    """One row of `pending_operations`."""

    id: int
    resource: records.Kind
    action: Action
    record_id: int
    workspace_id: int
    state: State
    # The server's state of the record the edit was made on (merge base);
    # for a delete, the record as it was.
    base: dict[str, Any] | None
    # For a create sent at least once: what identifies it among the server's records.
    fingerprint: dict[str, Any] | None
    sent_at: datetime | None
    attempts: int
    error: str | None
    created_at: datetime
    updated_at: datetime
    # The account that sends it (`accounts.for_operation`).
    account: str = IMPLICIT_ACCOUNT
    # The server's version `base` was taken from (its `at`); None when not known (older rows).
    base_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Operation:
        values = from_db(dict(row))
        return cls(
            id=values["id"],
            resource=records.Kind(values["resource"]),
            action=Action(values["action"]),
            record_id=values["record_id"],
            workspace_id=values["workspace_id"],
            state=State(values["state"]),
            base=values["base"],
            fingerprint=values["fingerprint"],
            sent_at=values["sent_at"],
            attempts=values["attempts"] or 0,
            error=values["error"],
            created_at=values["created_at"],
            updated_at=values["updated_at"],
            account=values.get("account") or IMPLICIT_ACCOUNT,
            base_at=values.get("base_at"),
        )

    def no_news(self, at: datetime | None) -> bool:
        """A pulled version `at` is the one the base was taken from, or older (a stale answer):
        nothing changed on the server since this operation's edit was made."""
        return self.base_at is not None and at is not None and at <= self.base_at

    @property
    def undecided(self) -> bool:
        """A create that may have reached Toggl, parked until the user says what it became."""
        return self.state is State.FAILED and (self.error or "").startswith(UNDECIDED)

    @property
    def temporary(self) -> bool:
        """Its record has no Toggl id yet."""
        return self.record_id < 0

    def push_order(self) -> tuple[tuple[int, int, int], int]:
        return records.push_phase(self.resource, self.action, self.record_id), self.id


_SELECT = "SELECT * FROM pending_operations"


def _list(conn: Connection, where: str = "", params: sql.Params = ()) -> list[Operation]:
    return [Operation.from_row(row) for row in sql.rows(conn, f"{_SELECT} {where} ORDER BY id", params)]


# --- reading -------------------------------------------------------------------------------------


def get(conn: Connection, op_id: int) -> Operation | None:
    row = sql.first(conn, f"{_SELECT} WHERE id = ?", (op_id,))
    return None if row is None else Operation.from_row(row)


def every(conn: Connection) -> list[Operation]:
    """All operations, oldest first."""
    return _list(conn)


def for_record(conn: Connection, resource: str, record_id: int) -> list[Operation]:
    """The record's operations, oldest first."""
    return _list(conn, "WHERE resource = ? AND record_id = ?", (resource, record_id))


def by_record(conn: Connection, resource: str) -> dict[int, list[Operation]]:
    """Every operation of one kind of record, by record id (oldest first)."""
    out: dict[int, list[Operation]] = {}
    for op in _list(conn, "WHERE resource = ?", (resource,)):
        out.setdefault(op.record_id, []).append(op)
    return out


def record_ids(conn: Connection, resource: str) -> set[int]:
    """Ids of the records of this kind with any operation."""
    return set(sql.column(conn, "SELECT DISTINCT record_id FROM pending_operations WHERE resource = ?", (resource,)))


def _in_state(conn: Connection, state: State, account: str | None) -> list[Operation]:
    if account is None:
        return _list(conn, "WHERE state = ?", (state,))
    return _list(conn, "WHERE account = ? AND state = ?", (account, state))


def queued(conn: Connection, account: str | None = None) -> list[Operation]:
    """What a push sends (one account's, or every account's), in push order: creates and updates
    parents first, deletes children first."""
    return sorted(_in_state(conn, State.QUEUED, account), key=Operation.push_order)


def in_flight(conn: Connection, account: str | None = None) -> list[Operation]:
    return _in_state(conn, State.IN_FLIGHT, account)


def parked(conn: Connection, account: str | None = None) -> list[Operation]:
    """The operations Toggl refused (or a create reconciliation could not decide): state FAILED."""
    return _in_state(conn, State.FAILED, account)


def counts(conn: Connection, account: str | None = None) -> dict[State, int]:
    """How many operations are in each state (states with none are left out), of one account or all."""
    where, params = ("WHERE account = ? ", (account,)) if account is not None else ("", ())
    found = sql.rows(conn, f"SELECT state, count(*) AS n FROM pending_operations {where}GROUP BY state", params)
    return {State(row["state"]): row["n"] for row in found}


def rejected_create(ops: Iterable[Operation]) -> bool:
    """The record's create was refused by Toggl (parked): Toggl does not have the record."""
    return any(op.action is Action.CREATE and op.state is State.FAILED for op in ops)


def edit_needs_update(ops: Iterable[Operation]) -> bool:
    """Whether an edit of a record with these operations must queue an update of its own.

    A queued create or update already carries any later edit of the row (its
    payload is computed at push time). An operation in flight or failed is
    never touched: the edit gets its own update behind it. A record whose
    create was refused needs none: the retried create sends the row as it is.
    """
    ops = list(ops)
    if rejected_create(ops):
        return False
    return not any(op.state is State.QUEUED for op in ops)


def latest_change(conn: Connection) -> list[Operation]:
    """The operations that carry the last local change (one command's edits share a moment:
    `rm -1 -2`, a timer start that stopped another): the newest `created_at`, oldest first.
    Empty when nothing waits."""
    newest = sql.scalar(conn, "SELECT max(created_at) FROM pending_operations")
    return [] if newest is None else _list(conn, "WHERE created_at = ?", (newest,))


# --- queueing (offline edits) --------------------------------------------------------------------


def queue(
    conn: Connection,
    resource: str,
    action: Action,
    record_id: int,
    workspace_id: int,
    base: Mapping[str, Any] | None,
    now: datetime,
    *,
    account: str,
    base_at: datetime | None = None,
) -> int:
    """Queue one operation, to be sent by `account`; returns its id. `base_at`: the `at` of
    the server's version `base` describes."""
    stamp = to_utc_text(now)
    op_id = sql.scalar(
        conn,
        "INSERT INTO pending_operations (resource, action, record_id, workspace_id, base, base_at, created_at, "
        "updated_at, account) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (str(resource), str(action), record_id, workspace_id, json_to_db(dict(base) if base is not None else None),
         timestamp_to_db(base_at), stamp, stamp, account),
    )
    if op_id is None:
        raise RuntimeError("the driver returned no id for a new pending operation")
    return int(op_id)


def queue_create(conn: Connection, resource: str, workspace_id: int, now: datetime, *, account: str) -> int:
    """Queue the create of a new record; returns its temporary id.

    The temporary id is minus the id of the create operation: negative (never
    a Toggl id) and never reused, so records made offline never clash.
    """
    op_id = queue(conn, resource, Action.CREATE, 0, workspace_id, None, now, account=account)
    sql.execute(conn, "UPDATE pending_operations SET record_id = ? WHERE id = ?", (-op_id, op_id))
    return -op_id


def note_edit(
    conn: Connection, resource: str, record_id: int, workspace_id: int, base: Mapping[str, Any], now: datetime,
    *, account: str, base_at: datetime | None = None,
) -> None:
    """A record changed here (its state was `base` before): queue an update unless one rides already.

    An edit riding on a queued update stamps it (`created_at`: when the local change it
    carries was last made), so `latest_change` finds it and undoing it puts back its base.
    One riding on a queued create does not: undoing that would remove the record, which
    a change of its own added."""
    ops = for_record(conn, resource, record_id)
    if edit_needs_update(ops):
        queue(conn, resource, Action.UPDATE, record_id, workspace_id, base, now, account=account, base_at=base_at)
        return
    riding = [op for op in ops if op.state is State.QUEUED and op.action is Action.UPDATE]
    if riding:
        _stamp(conn, riding[-1].id, now)


def note_delete(
    conn: Connection, resource: str, record_id: int, workspace_id: int, state: Mapping[str, Any], now: datetime,
    *, account: str, base_at: datetime | None = None,
) -> None:
    """A record is deleted here (`state` was its state): queue what Toggl must hear, and no more.

    * Created offline and never sent (or its create was refused): Toggl never
      needs to hear of it; its operations go.
    * Otherwise a refused update of it is moot and goes; a queued update
      becomes the delete (keeping its base: what the server has); else a
      delete is queued.
    """
    ops = for_record(conn, resource, record_id)
    waiting = [op for op in ops if op.state is State.QUEUED]
    sent = any(op.state is State.IN_FLIGHT for op in ops)
    never_reached_toggl = (any(op.action is Action.CREATE for op in waiting) or rejected_create(ops)) and not sent
    if never_reached_toggl:
        _delete(conn, [op.id for op in ops])
        return
    _delete(conn, [op.id for op in ops if op.action is Action.UPDATE and op.state is State.FAILED])
    if waiting and waiting[-1].action is Action.UPDATE:
        sql.execute(
            conn,
            "UPDATE pending_operations SET action = ?, created_at = ?, updated_at = ? WHERE id = ?",
            (str(Action.DELETE), to_utc_text(now), to_utc_text(now), waiting[-1].id),
        )
    else:
        queue(conn, resource, Action.DELETE, record_id, workspace_id, state, now, account=account, base_at=base_at)


# --- the push's transitions ----------------------------------------------------------------------


def mark_in_flight(conn: Connection, op_id: int, fingerprint: Mapping[str, Any], sent_at: datetime, now: datetime) -> None:
    """A create is about to be sent: from here its outcome is unknown until Toggl's answer is stored.

    The caller commits this durably (synchronous=FULL) before sending:
    a crash after the send leaves it in flight, and the next sync looks
    before resending."""
    sql.execute(
        conn,
        "UPDATE pending_operations SET state = ?, fingerprint = ?, sent_at = ?, attempts = attempts + 1, "
        "updated_at = ? WHERE id = ?",
        (str(State.IN_FLIGHT), json_to_db(dict(fingerprint)), to_utc_text(sent_at), to_utc_text(now), op_id),
    )


def requeue(conn: Connection, op_id: int) -> None:
    """Not sent after all (or reconciliation showed it did not land): send it again."""
    sql.execute(conn, "UPDATE pending_operations SET state = ? WHERE id = ?", (str(State.QUEUED), op_id))


def park(conn: Connection, op_id: int, error: str, now: datetime) -> None:
    """Toggl refused it: keep it, with why (`error`), and when (`updated_at`).

    The sync queues it again on its own once `plan.parked_step` says so (a
    bounded back-off on `attempts`); the user may retry or drop it sooner.

    Operations queued behind a refused create wait for a Toggl id that will
    not come: the row already holds their edits, and a retried create sends
    the row as it is, so they go. If the record was deleted here meanwhile,
    Toggl never had it: the create goes too.
    """
    op = get(conn, op_id)
    if op is None:
        return
    # `attempts` counts sends: a create's when it went in flight, an update's or delete's here.
    sent = 0 if op.action is Action.CREATE else 1
    sql.execute(
        conn,
        "UPDATE pending_operations SET state = ?, error = ?, attempts = attempts + ?, updated_at = ? WHERE id = ?",
        (str(State.FAILED), error[:500], sent, to_utc_text(now), op_id),
    )
    if op.action is not Action.CREATE:
        return
    behind = [o for o in for_record(conn, op.resource, op.record_id) if o.id != op.id and o.state is State.QUEUED]
    drop_ids = [o.id for o in behind]
    if any(o.action is Action.DELETE for o in behind):
        drop_ids.append(op.id)
    _delete(conn, drop_ids)


def retry(conn: Connection, op_id: int, now: datetime) -> None:
    """A refused operation goes back in the queue."""
    sql.execute(
        conn,
        "UPDATE pending_operations SET state = ?, error = NULL, updated_at = ? WHERE id = ?",
        (str(State.QUEUED), to_utc_text(now), op_id),
    )


def rebase(
    conn: Connection, op_id: int, base: Mapping[str, Any], now: datetime, *, base_at: datetime | None = None
) -> None:
    """The server's state moved (a pull merged it, or part of the edit was sent): diff against this
    now. `base_at`: that version's `at`, when known (else the one known before stays)."""
    sql.execute(
        conn,
        "UPDATE pending_operations SET base = ?, base_at = coalesce(?, base_at), updated_at = ? WHERE id = ?",
        (json_to_db(dict(base)), timestamp_to_db(base_at), to_utc_text(now), op_id),
    )


def settle(conn: Connection, op_id: int) -> None:
    """Toggl has what the operation carried (or nothing was left to send): it is done."""
    _delete(conn, [op_id])


def drop(conn: Connection, op_ids: Iterable[int]) -> None:
    """Give operations up: the user dropped them, or their record is gone on both sides."""
    _delete(conn, list(op_ids))


def drop_record(conn: Connection, resource: str, record_id: int) -> None:
    """Every operation of one record goes (created and deleted before Toggl heard of it)."""
    sql.execute(conn, "DELETE FROM pending_operations WHERE resource = ? AND record_id = ?", (resource, record_id))


def rewrite_record(conn: Connection, resource: str, old: int, new: int) -> None:
    """Toggl gave the record `old` the id `new`: its operations, and every base naming it, follow."""
    sql.execute(
        conn, "UPDATE pending_operations SET record_id = ? WHERE resource = ? AND record_id = ?", (new, resource, old)
    )
    for ref in records.references_to(resource):
        _rewrite_bases(conn, ref, lambda value: records.replace_reference(ref, value, old, new))


def forget_references(conn: Connection, resource: str, ids: Iterable[int]) -> None:
    """Records of `resource` are gone: no base names them any more.

    A queued edit then sends no reference to them instead of a dead one
    (Toggl would refuse it) and never re-sends a tag Toggl stripped."""
    gone = set(ids)
    if not gone:
        return
    for ref in records.references_to(resource):
        _rewrite_bases(conn, ref, lambda value: records.without_reference(ref, {ref.field: value}, gone))


def _rewrite_bases(conn: Connection, ref: records.Reference, change: Callable[[Any], Any]) -> None:
    found = sql.rows(
        conn, "SELECT id, base FROM pending_operations WHERE resource = ? AND base IS NOT NULL", (str(ref.source),)
    )
    for row in found:
        base = from_db(row)["base"]
        if not isinstance(base, dict) or ref.field not in base:
            continue
        value = change(base[ref.field])
        if value != base[ref.field]:
            base[ref.field] = value
            sql.execute(conn, "UPDATE pending_operations SET base = ? WHERE id = ?", (json_to_db(base), row["id"]))


def _stamp(conn: Connection, op_id: int, now: datetime) -> None:
    stamp = to_utc_text(now)
    sql.execute(conn, "UPDATE pending_operations SET created_at = ?, updated_at = ? WHERE id = ?", (stamp, stamp, op_id))


def _delete(conn: Connection, op_ids: list[int]) -> None:
    for start in range(0, len(op_ids), 500):
        chunk = op_ids[start : start + 500]
        sql.execute(conn, f"DELETE FROM pending_operations WHERE id IN ({sql.placeholders(len(chunk))})", chunk)


def park_undecided(conn: Connection, op_id: int, detail: str, now: datetime) -> None:
    """A create in flight whose outcome reconciliation cannot decide: keep it, with what
    Toggl has that may be it (`detail`), for the user (its error starts with UNDECIDED).
    Unlike `park`, nothing behind it is folded: Toggl may well have the record."""
    sql.execute(
        conn,
        "UPDATE pending_operations SET state = ?, error = ?, updated_at = ? WHERE id = ?",
        (str(State.FAILED), f"{UNDECIDED}: {detail}"[:500], to_utc_text(now), op_id),
    )
