"""Push: send the outbox to Toggl without ever duplicating a record or losing an edit.

* Payloads are computed now, from the current row and the operation's base.
* A create is marked in flight (committed durably) before it is sent. If its
  outcome is unknown (timeout, dropped response, 5xx, crash) it stays in
  flight and the next sync reconciles it against pulled data before anything
  is resent (see `reconcile`).
* When Toggl assigns an id, the row, every reference to it and the queued
  operations are rewritten in one transaction.
* Several entries receiving the same change go as one bulk PATCH.
* A rejected request (400/403/404/409) parks its operation as failed with the
  server's message; the rest of the queue goes on. Quota, rate limits, budget
  and network failures stop the push with the queue intact.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, Engine, select

from togglsync import outbox, records, rows
from togglsync.outbox import Action, Operation, State
from togglsync.errors import (
    ApiError,
    BadResponse,
    BudgetExhausted,
    NetworkError,
    NotFound,
    ServerError,
)
from togglsync.sync import plan, remote
from togglsync.sync.apply import record_conflict, table_for
from togglsync.sync.remote import Toggl

ENTRY = records.Kind.TIME_ENTRY  # the kind Toggl can patch in bulk
BULK_LIMIT = 100
VISIBILITY_MARGIN = plan.VISIBILITY_MARGIN
# The server refused this one request (it will not succeed as sent): park it, go on.
# 401, 402, 429 and 5xx are not here: they stop the push with the queue intact.
REJECTED = frozenset({400, 403, 404, 409, 410, 422})
NAME_TAKEN = ("already exists", "already been taken", "name has already", "already taken")


@dataclass
class PushResult:
    pushed: int = 0
    failed: int = 0
    blocked: int = 0
    adopted: int = 0
    requeued: int = 0
    failures: list[str] = field(default_factory=list)
    # Operations this push set out to send (queued when a push call began), by id.
    to_send: set[int] = field(default_factory=set)
    # Operations Toggl refused this run, by id, with their line in `failures`.
    rejected: dict[int, str] = field(default_factory=dict)


class UnknownOutcome(Exception):
    """A create may or may not have landed; stop pushing until a pull tells."""


def _row(conn: Connection, resource: str, record_id: int) -> dict[str, Any] | None:
    table = table_for(resource)
    row = conn.execute(select(table).where(table.c.id == record_id)).mappings().first()
    return dict(row) if row else None


class Pusher:
    def __init__(
        self,
        engine: Engine,
        client: Toggl,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ):
        self.engine = engine
        self.client = client
        self.clock = clock

    def server_now(self) -> datetime:
        return self.client.server_time or self.clock()

    # --- the queue ---------------------------------------------------------------------------

    def _queued(self) -> list[Operation]:
        with self.engine.connect() as conn:
            return outbox.queued(conn)

    def push(self, result: PushResult | None = None) -> PushResult:
        # Counts go into `result` as they happen: a push stopped by quota, rate limit
        # or network raises, and what it did before must still be reported.
        result = result if result is not None else PushResult()
        result.to_send.update(op.id for op in self._queued())
        try:
            self._push_bulk_updates(result)
            for op in self._queued():
                self._push_one(op.id, result)
        except UnknownOutcome:
            pass  # the next sync reconciles before sending anything again
        return result

    def _push_one(self, op_id: int, result: PushResult) -> None:
        with self.engine.connect() as conn:
            op = outbox.get(conn, op_id)
            if op is None or op.state is not State.QUEUED:
                return  # coalesced or finished meanwhile
            row = _row(conn, op.resource, op.record_id)
        step = plan.push_step(op.resource, op.action, op.record_id, row)
        if step is plan.Step.BLOCKED:
            result.blocked += 1
        elif step is plan.Step.DELETE:
            self._push_delete(op, result)
        elif step is plan.Step.DROP_RECORD:
            with self.engine.begin() as conn:
                outbox.drop_record(conn, op.resource, op.record_id)
        elif step is plan.Step.DROP:
            self._drop(op.id)
        elif row is not None and step is plan.Step.CREATE:
            self._push_create(op, row, result)
        elif row is not None and step is plan.Step.UPDATE:
            self._push_update(op, row, result)

    def _drop(self, op_id: int) -> None:
        with self.engine.begin() as conn:
            outbox.drop(conn, [op_id])

    def _fail(self, op: Operation, exc: ApiError, result: PushResult) -> None:
        with self.engine.begin() as conn:
            # Parking a refused create also folds what was queued behind it (outbox.park).
            outbox.park(conn, op.id, f"{exc.status}: {exc.message}", self.clock())
        result.failed += 1
        line = f"{op.action} {op.resource} {op.record_id}: {exc.message}"
        result.failures.append(line)
        result.rejected[op.id] = line

    def references(self, op_ids: Iterable[int]) -> dict[int, tuple[Any, ...]]:
        """What the rows of these (failed) operations point at: an entry's project and tags,
        a project's client. Operations on rows that point at nothing are left out."""
        out: dict[int, tuple[Any, ...]] = {}
        with self.engine.connect() as conn:
            for op_id in op_ids:
                op = outbox.get(conn, op_id)
                if op is None or op.state is not State.FAILED or op.action is Action.DELETE:
                    continue
                row = _row(conn, op.resource, op.record_id)
                if row is None:
                    continue
                refs = tuple(tuple(records.referenced_ids(ref, row)) for ref in records.references_from(op.resource))
                if any(refs):
                    out[op_id] = refs
        return out

    def retry_if_changed(self, before: dict[int, tuple[Any, ...]], result: PushResult) -> int:
        """Queue again the refused operations whose rows lost a reference since `before`
        (a catalog refresh detached a deleted project, client or tag); returns how many."""
        after = self.references(before)
        changed = [op_id for op_id in before if after.get(op_id, ()) != before[op_id]]
        for op_id in changed:
            with self.engine.begin() as conn:
                outbox.retry(conn, op_id, self.clock())
            result.failed -= 1
            result.failures.remove(result.rejected.pop(op_id))
        return len(changed)

    # --- creates ---------------------------------------------------------------------------

    def _push_create(self, op: Operation, row: dict[str, Any], result: PushResult) -> None:
        resource, wid = op.resource, op.workspace_id
        body = records.create_body(resource, row)
        # Write intent before sending, durably: a crash from here on leaves
        # the operation in flight, and the next sync looks before resending.
        with self.engine.connect() as conn:
            sqlite = conn.connection.driver_connection
            assert sqlite is not None, "a live DBAPI connection"
            sqlite.execute("PRAGMA synchronous=FULL")  # only outside a transaction
            try:
                with conn.begin():
                    outbox.mark_in_flight(
                        conn, op.id, records.fingerprint_of(resource, row), self.server_now(), self.clock()
                    )
            finally:
                sqlite.execute("PRAGMA synchronous=NORMAL")
        # From here the request may reach Toggl. Only an error that proves it did not
        # (the budget refused to send it, a connection never made, a 4xx refusal)
        # puts the create back in the queue. Anything else, a KeyboardInterrupt
        # after Toggl applied it included, leaves it in flight: the next sync
        # reconciles it against pulled data and never sends it twice
        # (tests/test_sync_interrupt.py).
        try:
            record = remote.endpoints(resource).create(self.client, wid, body)
        except BudgetExhausted:
            self._requeue(op.id)  # refused before sending
            raise
        except NetworkError as exc:
            if not exc.maybe_applied:
                self._requeue(op.id)  # nothing reached the server
                raise
            raise UnknownOutcome() from exc
        except (ServerError, BadResponse) as exc:
            raise UnknownOutcome() from exc
        except ApiError as exc:
            if exc.status in REJECTED:
                if records.spec(resource).named and any(s in exc.message.lower() for s in NAME_TAKEN):
                    existing = self._find_by_name(resource, wid, row["name"])
                    if existing is not None:
                        self.finish_create(op.id, existing)
                        result.adopted += 1
                        return
                self._requeue(op.id)
                self._fail(op, exc, result)
                return
            self._requeue(op.id)  # 402 / 429 / 401: refused, not applied; stop the push
            raise
        if not isinstance(record, dict) or "id" not in record:
            raise UnknownOutcome()
        self.finish_create(op.id, record)
        result.pushed += 1

    def _requeue(self, op_id: int) -> None:
        with self.engine.begin() as conn:
            outbox.requeue(conn, op_id)

    def _find_by_name(self, resource: str, wid: int, name: str) -> dict[str, Any] | None:
        listing = remote.endpoints(resource).listing
        for record in (listing(self.client, wid) if listing else None) or []:
            if records.same_name(record.get("name"), name) and not records.is_deleted(record):
                return dict(record)
        return None

    def finish_create(self, op_id: int, record: dict[str, Any]) -> None:
        """Toggl has the record: take its id everywhere; keep any edit made meanwhile."""
        with self.engine.begin() as conn:
            op = outbox.get(conn, op_id)
            if op is None:
                raise RuntimeError(f"pending operation {op_id} vanished while its create was finished")
            resource, old_id = op.resource, op.record_id
            server_row = records.to_row(resource, record)
            new_id = server_row["id"]
            if old_id != new_id:
                # A pull may already have stored it under its new id: ours replaces that copy.
                rows.delete_row(conn, resource, new_id)
                rows.rewrite_id(conn, resource, old_id, new_id)
            outbox.settle(conn, op_id)
            self._store_server_version(conn, resource, new_id, server_row, sent=(op.fingerprint or {}).get("sent"))

    def _store_server_version(
        self,
        conn: Connection,
        resource: str,
        record_id: int,
        server_row: dict[str, Any],
        sent: dict[str, Any] | None,
    ) -> None:
        """After a write succeeded: store the server's version unless the row changed meanwhile."""
        current = _row(conn, resource, record_id)
        if current is None:
            return
        server_state = records.state_of(resource, server_row)
        local_state = records.state_of(resource, current)
        changed_meanwhile = sent is not None and local_state != sent
        values = {k: v for k, v in server_row.items() if k != "id"}
        if changed_meanwhile or (sent is None and local_state != server_state):
            # Keep the local values; queue what is still different.
            values = {k: v for k, v in values.items() if k not in records.spec(resource).editable}
            later = [op for op in outbox.for_record(conn, resource, record_id) if op.state is State.QUEUED]
            if not later and records.changed_fields(server_state, local_state):
                outbox.queue(conn, resource, Action.UPDATE, record_id, current["workspace_id"], server_state, self.clock())
            elif later:
                outbox.rebase(conn, later[0].id, server_state, self.clock())
        rows.write(conn, resource, record_id, values)

    # --- updates -----------------------------------------------------------------------------

    def _push_update(self, op: Operation, row: dict[str, Any], result: PushResult) -> None:
        resource = op.resource
        current = records.state_of(resource, row)
        base = op.base or {}
        changes = records.changed_fields(base, current)
        body = records.update_body(resource, row, changes, base)
        if not changes or body == {}:
            self._drop(op.id)
            return
        if body is None:
            # Tags both added and removed: one PUT cannot say it, one JSON-Patch can.
            self._send_patch(op.workspace_id, {op.record_id: (op, current)}, records.update_patch(resource, row, changes, base), result)
            return
        try:
            record = remote.endpoints(resource).update(self.client, op.workspace_id, op.record_id, body)
        except NotFound:
            self._gone_remotely(op, changes)
            return
        except ApiError as exc:
            if exc.status in REJECTED:
                self._fail(op, exc, result)
                return
            raise
        self._finish_update(op, current, record if isinstance(record, dict) and "id" in record else None)
        result.pushed += 1

    def _gone_remotely(self, op: Operation, changes: dict[str, Any]) -> None:
        """Updated here, deleted there: deleted wins; the edit is kept in conflicts."""
        resource = op.resource
        with self.engine.begin() as conn:
            record_conflict(
                conn, resource, op.record_id, "deleted_remotely", field=None,
                base=op.base, local=changes, remote=None, kept="remote", now=self.clock(),
            )
            outbox.settle(conn, op.id)
            # The row goes with the references to it: Toggl strips a deleted tag from
            # its entries without changing their `at`, so no pull would ever tell.
            rows.delete_records(conn, resource, [op.record_id])

    def _finish_update(self, op: Operation, sent_state: dict[str, Any], record: dict[str, Any] | None) -> None:
        resource = op.resource
        with self.engine.begin() as conn:
            current = _row(conn, resource, op.record_id)
            if current is not None and records.state_of(resource, current) != sent_state:
                # Edited again while the request was out: keep the op, based on what was sent.
                outbox.rebase(conn, op.id, sent_state, self.clock())
                return
            outbox.settle(conn, op.id)
            if record is not None and current is not None:
                self._store_server_version(conn, resource, op.record_id, records.to_row(resource, record), sent=sent_state)

    def _push_bulk_updates(self, result: PushResult) -> None:
        """Entries receiving the same change go together: one PATCH per 100 ids."""
        groups: dict[tuple[int, str], list[tuple[Operation, dict[str, Any]]]] = {}
        with self.engine.connect() as conn:
            ops = [
                op for op in outbox.queued(conn)
                if op.action is Action.UPDATE and op.resource is ENTRY and not op.temporary
            ]
            for op in sorted(ops, key=lambda op: op.id):
                row = _row(conn, ENTRY, op.record_id)
                if row is None or records.references_pending(ENTRY, row):
                    continue
                current = records.state_of(ENTRY, row)
                changes = records.changed_fields(op.base or {}, current)
                patch = records.update_patch(ENTRY, row, changes, op.base or {})
                if not patch:
                    continue
                key = (op.workspace_id, json.dumps(patch, sort_keys=True))
                groups.setdefault(key, []).append((op, current))
        for (wid, patch_json), members in groups.items():
            if len(members) < 2:
                continue
            patch = json.loads(patch_json)
            for i in range(0, len(members), BULK_LIMIT):
                chunk = members[i : i + BULK_LIMIT]
                self._send_patch(wid, {op.record_id: (op, state) for op, state in chunk}, patch, result)

    def _send_patch(
        self, wid: int, by_id: dict[int, tuple[Operation, dict[str, Any]]], patch: list[dict[str, Any]],
        result: PushResult,
    ) -> None:
        """One JSON-Patch for these entries; each succeeds or fails on its own (no rollback)."""
        response = self.client.bulk_patch_time_entries(wid, list(by_id), patch)
        success = set(int(x) for x in (response or {}).get("success") or [])
        for failure in (response or {}).get("failure") or []:
            fid = int(failure.get("id"))
            if fid in by_id:
                op, _ = by_id[fid]
                message = str(failure.get("message") or "rejected")
                if "not found" in message.lower():
                    self._gone_remotely(op, records.changed_fields(op.base or {}, by_id[fid][1]))
                else:
                    self._fail(op, ApiError(400, message), result)
        for sid in success:
            if sid in by_id:
                op, state = by_id[sid]
                self._finish_update(op, state, None)
                result.pushed += 1

    # --- deletes -------------------------------------------------------------------------------

    def _push_delete(self, op: Operation, result: PushResult) -> None:
        wid, rid = op.workspace_id, op.record_id
        try:
            remote.endpoints(op.resource).delete(self.client, wid, rid)
        except NotFound:
            pass  # already gone: that is what we wanted
        except ApiError as exc:
            if exc.status in REJECTED:
                self._fail(op, exc, result)
                return
            raise
        with self.engine.begin() as conn:
            outbox.settle(conn, op.id)
            # Toggl strips a deleted tag from every entry without changing their `at`,
            # entries pulled here after the local delete included: the references go
            # with the row (tests/test_sync_push.py).
            rows.delete_records(conn, op.resource, [rid])
        result.pushed += 1

    # --- reconciliation of creates whose outcome is unknown ---------------------------------

    def in_flight(self) -> list[Operation]:
        with self.engine.connect() as conn:
            return outbox.in_flight(conn)

    def reconcile(self, result: PushResult, *, adopt_only: bool = False) -> None:
        """Decide every in-flight create from pulled data: adopt the server's record, or resend.

        Runs after a pull that started after the create was sent. One match:
        adopt its id. None, and the send is old enough to be visible: queue it
        again. Several: park it as failed (ambiguous) for the user to decide.
        `adopt_only` (after a pull that stopped part-way) does only the first:
        what was not pulled cannot show that a create never landed.
        """
        now = self.server_now()
        claimed: set[int] = set()
        for op in self.in_flight():
            fingerprint = op.fingerprint or {}
            sent_at = op.sent_at
            with self.engine.connect() as conn:
                candidates = self._candidates(conn, op, fingerprint, sent_at)
            candidates = [c for c in candidates if c["id"] not in claimed]
            verdict = plan.in_flight_verdict(len(candidates), sent_at=sent_at, now=now, adopt_only=adopt_only)
            if verdict is plan.Verdict.ADOPT:
                claimed.add(candidates[0]["id"])
                self.finish_create(op.id, candidates[0]["raw"] or {"id": candidates[0]["id"]})
                result.adopted += 1
            elif verdict is plan.Verdict.RESEND:
                self._requeue(op.id)
                result.requeued += 1
            elif verdict is plan.Verdict.AMBIGUOUS:
                with self.engine.begin() as conn:
                    outbox.park_undecided(
                        conn, op.id, f"ambiguous: {len(candidates)} records on Toggl match this create", self.clock()
                    )
                result.failed += 1

    def _candidates(
        self, conn: Connection, op: Operation, fingerprint: dict[str, Any], sent_at: datetime | None
    ) -> list[dict[str, Any]]:
        resource = op.resource
        table = table_for(resource)
        query = select(table).where(table.c.id > 0, table.c.workspace_id == op.workspace_id)
        timed = not records.spec(resource).named  # entries: found by start and fingerprint, others by name
        if timed:
            start = records.parse_ts(fingerprint.get("start"))
            query = query.where(table.c.start == start)
            rows = [dict(r) for r in conn.execute(query).mappings()]
            matches = [r for r in rows if r["raw"] and plan.fingerprint_matches(fingerprint, r["raw"])]
        else:
            rows = [dict(r) for r in conn.execute(query).mappings()]
            name = (fingerprint.get("name") or "").casefold()
            matches = [r for r in rows if (r["name"] or "").casefold() == name]
        # Only records that are not already ours: no other operation points at them.
        linked = {record_id for record_id in outbox.record_ids(conn, resource) if record_id > 0}
        if sent_at is not None and timed:
            margin = plan.VISIBILITY_MARGIN
            matches = [r for r in matches if r["at"] is None or r["at"] >= sent_at - margin]
        return [r for r in matches if r["id"] not in linked]
