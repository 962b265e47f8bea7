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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, Engine, select

from togglsync import accounts, outbox, records, rows
from togglsync.db.engine import durable_commits
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
from togglsync.sync.progress import SILENT, Progress
from togglsync.sync.remote import Toggl

Row = dict[str, Any]

ENTRY = records.Kind.TIME_ENTRY  # the kind Toggl can patch in bulk
BULK_LIMIT = 100
VISIBILITY_MARGIN = plan.VISIBILITY_MARGIN
REJECTED = plan.REFUSED
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
        progress: Progress = SILENT,
        account: str = accounts.IMPLICIT,
    ):
        self.engine = engine
        self.client = client
        # Whose operations this pushes (`pending_operations.account`): only its own.
        self.account = account
        self.clock = clock
        self.progress = progress

    def server_now(self) -> datetime:
        return self.client.server_time or self.clock()

    # --- the queue ---------------------------------------------------------------------------

    def _queued(self) -> list[Operation]:
        with self.engine.connect() as conn:
            return outbox.queued(conn, self.account)

    def push(self, result: PushResult | None = None) -> PushResult:
        # Counts go into `result` as they happen: a push stopped by quota, rate limit
        # or network raises, and what it did before must still be reported.
        result = result if result is not None else PushResult()
        queued = self._queued()
        result.to_send.update(op.id for op in queued)
        if queued:
            self.progress.stage("pushing local changes", total=len(queued))
        try:
            self._push_bulk_updates(result)
            for op in self._queued():
                self._push_one(op.id, result)
                self.progress.advance()
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
        if step is plan.Step.CREATE and self._in_doubt(op.resource):
            # While a create of this kind waits to be recognised, no other goes: a record
            # it made would have an id above the waiting one's mark and look like a
            # candidate for it (tests/test_create_recognition.py).
            step = plan.Step.BLOCKED
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

    def _in_doubt(self, resource: str) -> bool:
        """Whether a create of this kind is in flight (its outcome not known yet)."""
        return any(op.resource == resource for op in self.in_flight())

    def _drop(self, op_id: int) -> None:
        with self.engine.begin() as conn:
            outbox.drop(conn, [op_id])

    def _fail(self, op: Operation, exc: ApiError, result: PushResult) -> None:
        with self.engine.begin() as conn:
            # Parking a refused create also folds what was queued behind it (outbox.park).
            outbox.park(conn, op.id, plan.refusal(exc.status, exc.message), self.clock())
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

    def parked_steps(self, catalog_at: datetime | None) -> dict[int, plan.Parked]:
        """What `plan.parked_step` says of each parked operation now (`catalog_at`: the last
        catalog refresh, our clock). No parked operation, no work: one query."""
        with self.engine.connect() as conn:
            parked = outbox.parked(conn, self.account)
        if not parked:
            return {}
        named = self.references(op.id for op in parked)
        now = self.clock()
        return {
            op.id: plan.parked_step(
                error=op.error, attempts=op.attempts, parked_at=op.updated_at, now=now, catalog_at=catalog_at,
                references=op.id in named,
            )
            for op in parked
        }

    def retry_parked(self, catalog_at: datetime | None) -> int:
        """Queue again the parked operations that are due (their back-off is over and, for one
        naming a project, client or tag, the catalog was refreshed since); returns how many."""
        due = [op_id for op_id, step in self.parked_steps(catalog_at).items() if step is plan.Parked.RETRY]
        if due:
            with self.engine.begin() as conn:
                for op_id in due:
                    outbox.retry(conn, op_id, self.clock())
        return len(due)

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
        with self.engine.connect() as conn, durable_commits(conn):
            with conn.begin():
                fingerprint = records.fingerprint_of(resource, row, after_id=rows.highest_id(conn, resource))
                outbox.mark_in_flight(conn, op.id, fingerprint, self.server_now(), self.clock())
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
                        theirs = records.to_row(resource, existing)
                        match = records.create_match(resource, records.fingerprint_of(resource, row), theirs)
                        if match is records.Match.EXACT and not self._linked(resource, theirs["id"]):
                            # The same record, made elsewhere too (the same tag typed on two devices).
                            self.finish_create(op.id, existing)
                            result.adopted += 1
                            return
                        # Same name, other settings (a colleague's "Website" for another
                        # client): never ours to take; the user renames one of them.
                        exc = ApiError(exc.status, f"{exc.message}: Toggl's {records.describe(resource, theirs)!r} "
                                       f"({theirs['id']}) is another {records.spec(resource).label}")
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

    def _linked(self, resource: str, record_id: int) -> bool:
        with self.engine.connect() as conn:
            return record_id in outbox.record_ids(conn, resource)

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
            rows.adopt(conn, op, records.to_row(op.resource, record), self.clock())

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
                # Edited again while the request was out: keep the op, based on what was sent
                # (the version Toggl answered with, when it answered with one).
                answered_at = records.to_row(resource, record).get("at") if record is not None else None
                outbox.rebase(conn, op.id, sent_state, self.clock(), base_at=answered_at)
                return
            outbox.settle(conn, op.id)
            if record is not None and current is not None:
                rows.take_server_version(conn, resource, op.record_id, records.to_row(resource, record), sent_state, self.clock())

    def _push_bulk_updates(self, result: PushResult) -> None:
        """Entries receiving the same change go together: one PATCH per 100 ids."""
        groups: dict[tuple[int, str], list[tuple[Operation, dict[str, Any]]]] = {}
        with self.engine.connect() as conn:
            ops = [
                op for op in outbox.queued(conn, self.account)
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
            return outbox.in_flight(conn, self.account)

    def reconcile(
        self,
        result: PushResult,
        *,
        adopt_only: bool = False,
        seen: Mapping[records.Kind, Iterable[Mapping[str, Any]]] | None = None,
    ) -> None:
        """Decide every in-flight create from pulled data: adopt the server's record, resend, or ask.

        Runs after a pull that started after the create was sent; `seen` holds
        server records that pull saw but the tables do not (deleted ones, and
        the named kinds' changes since the send), as rows. A candidate is a
        record made after the create (a Toggl id above the highest known when
        it was sent) that nothing else here claims; `records.create_match` says
        how like the create it is and `plan.in_flight_verdict` what follows.
        One exact match is adopted (a deleted one: ours, deleted elsewhere, so
        it goes here too); anything less certain than one exact match or none
        at all is parked for the user, naming the candidates.
        """
        now = self.server_now()
        claimed: set[int] = set()
        ops = self.in_flight()
        found: dict[int, tuple[list[Row], list[Row]]] = {}
        with self.engine.connect() as conn:
            for op in ops:
                found[op.id] = self._candidates(conn, op, (seen or {}).get(op.resource, ()))
        # Exact matches first: a record one create certainly made is no one else's candidate.
        for op in sorted(ops, key=lambda o: (not found[o.id][0], o.id)):
            exact = [r for r in found[op.id][0] if r["id"] not in claimed]
            near = [r for r in found[op.id][1] if r["id"] not in claimed]
            verdict = plan.in_flight_verdict(len(exact), len(near), sent_at=op.sent_at, now=now, adopt_only=adopt_only)
            if verdict is plan.Verdict.ADOPT:
                claimed.add(exact[0]["id"])
                self._adopt(op, exact[0])
                result.adopted += 1
            elif verdict is plan.Verdict.RESEND:
                self._requeue(op.id)
                result.requeued += 1
            elif verdict is plan.Verdict.ASK:
                with self.engine.begin() as conn:
                    outbox.park_undecided(conn, op.id, _ask(op, exact or near), self.clock())
                result.failed += 1
                result.failures.append(f"create {op.resource} {records.format_id(op.record_id)}: {outbox.UNDECIDED}")
        if ops:
            self._one_timer()

    def _adopt(self, op: Operation, server_row: Row) -> None:
        with self.engine.begin() as conn:
            if not records.is_deleted(server_row.get("raw") or {}):
                rows.adopt(conn, op, dict(server_row), self.clock())
                return
            # It landed and was deleted elsewhere before we heard back: deleted wins,
            # as for any record; an edit made here since is kept as a conflict.
            current = rows.get(conn, op.resource, op.record_id)
            sent = (op.fingerprint or {}).get("sent") or {}
            if current is not None and records.state_of(op.resource, current) != sent:
                record_conflict(
                    conn, op.resource, int(server_row["id"]), "deleted_remotely", field=None, base=sent,
                    local=records.changed_fields(sent, records.state_of(op.resource, current)), remote=None,
                    kept="remote", now=self.clock(),
                )
            outbox.drop_record(conn, op.resource, op.record_id)
            rows.delete_records(conn, op.resource, [op.record_id])

    def _one_timer(self) -> None:
        """The pull left timers whose create was in flight alone: one that goes again
        must not reach Toggl running beside a later timer (tests/test_sync_timers.py)."""
        with self.engine.begin() as conn:
            rows.one_timer(conn, self.clock())

    def _candidates(
        self, conn: Connection, op: Operation, seen: Iterable[Mapping[str, Any]]
    ) -> tuple[list[Row], list[Row]]:
        """The server records that may be what this create made: (exact matches, near ones)."""
        fingerprint = op.fingerprint or {}
        after_id = fingerprint.get("after_id")
        table = table_for(op.resource)
        query = select(table).where(table.c.workspace_id == op.workspace_id)
        if after_id is not None:
            query = query.where(table.c.id > after_id)
        else:
            query = query.where(table.c.id > 0)
        by_id: dict[int, Row] = {r["id"]: dict(r) for r in conn.execute(query).mappings()}
        for row in seen:
            if row.get("workspace_id") == op.workspace_id and (after_id is None or row["id"] > after_id):
                by_id[row["id"]] = dict(row)
        if after_id is None and op.sent_at is not None:
            # Sent before the ids were recorded: only records changed since the send.
            early = op.sent_at - plan.VISIBILITY_MARGIN
            by_id = {i: r for i, r in by_id.items() if r.get("at") is None or r["at"] >= early}
        # A record another operation works on is known to be someone's: not a candidate.
        linked = {record_id for record_id in outbox.record_ids(conn, op.resource) if record_id > 0}
        exact: list[Row] = []
        near: list[Row] = []
        for record_id in sorted(by_id):
            if record_id in linked:
                continue
            match = records.create_match(op.resource, fingerprint, by_id[record_id])
            if match is records.Match.EXACT:
                exact.append(by_id[record_id])
            elif match is records.Match.NEAR:
                near.append(by_id[record_id])
        return exact, near


def _ask(op: Operation, candidates: list[Row]) -> str:
    """The parked create's message: what Toggl has that may be it, and the two ways to settle."""
    label = records.spec(op.resource).label
    shown = ", ".join(
        f"{c['id']} ({records.describe(op.resource, c)}{', deleted' if records.is_deleted(c.get('raw') or {}) else ''})"
        for c in candidates[:3]
    )
    more = f" and {len(candidates) - 3} more" if len(candidates) > 3 else ""
    return (
        f"this {label} may already be on Toggl, changed elsewhere, as {shown}{more}; "
        f"if it is, run `togglsync pending adopt {op.id} <id>`, else `togglsync pending retry {op.id}` sends it"
    )[:500]
