"""Write what the server said into the tables, respecting local edits that are still pending.

Rows without pending operations simply take the server's version (bulk
upserts). Rows with a pending update get a three-way merge against the
operation's base; the base then moves to the server version, so the push
sends only what is still different. A server deletion wins over a local edit,
and the lost edit is kept in `conflicts`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any


from sqlalchemy import Connection, Table, insert, select, update

from togglsync import outbox, records, rows
from togglsync.db.models import Base, SyncConflict, model_for
from togglsync.db.repo import upsert
from togglsync.sync import plan


def table_for(kind: str) -> Table:
    """The SQLAlchemy table of a kind of record."""
    return model_for(kind).__table__


def _mirrored(kind: str) -> bool:
    """Rows of this kind hold a list reference mirrored into a pair table (an entry's tags)."""
    return any(ref.many for ref in records.references_from(kind))


def _named_by_others(kind: str) -> bool:
    """Other rows keep the names of records of this kind beside their ids (a tag's name on entries)."""
    return any(ref.many for ref in records.references_to(kind))


@dataclass
class ApplyStats:
    upserted: int = 0
    deleted: int = 0
    merged: int = 0
    conflicts: int = 0

    def add(self, other: "ApplyStats") -> None:
        self.upserted += other.upserted
        self.deleted += other.deleted
        self.merged += other.merged
        self.conflicts += other.conflicts


def record_conflict(
    conn: Connection,
    resource: str,
    record_id: int,
    kind: str,
    *,
    field: str | None,
    base: Any,
    local: Any,
    remote: Any,
    kept: str | None,
    now: datetime,
) -> None:
    conn.execute(
        insert(SyncConflict).values(
            resource=resource, record_id=record_id, kind=kind, field=field,
            base_value=base, local_value=local, remote_value=remote, kept=kept, detected_at=now,
        )
    )


def apply_records(
    conn: Connection,
    resource: str,
    incoming: Iterable[dict[str, Any]],
    *,
    policy: str,
    now: datetime,
    rewrite: bool = False,
    built: Sequence[dict[str, Any]] | None = None,
    to_row: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> ApplyStats:
    """Apply server records (live or deleted) of one resource. A row whose stored `at` is the
    server's is left alone, unless `rewrite` (`sync --full`: a cache gone wrong is put right)
    or it comes from a fuller source (`records.supersedes`).
    `built`: the records' rows, when the caller made them before its transaction (the
    re-sync: checking and converting is a third of a batch's time, and the write lock is
    held for less). `to_row`: how a record becomes a row, when not the resource's own
    builder (a detailed report's, `records.report_entry_row`)."""
    stats = ApplyStats()
    pending = outbox.by_record(conn, resource) if records.spec(resource).local else {}
    model = model_for(resource)
    plain_rows: list[dict[str, Any]] = []
    deleted_ids: list[int] = []
    merged_ids: set[int] = set()
    if built is None:
        build = to_row or records.row_builder(resource)
        pairs: Iterable[tuple[dict[str, Any], dict[str, Any]]] = ((record, build(record)) for record in incoming)
    else:
        pairs = zip(incoming, built, strict=True)
    for record, row in pairs:
        ops = pending.get(row["id"])
        if records.is_deleted(record):
            if ops:
                deleted_while_pending(conn, resource, row["id"], ops, now, stats)
            deleted_ids.append(row["id"])
        elif not ops:
            plain_rows.append(row)
        elif any(op.action is outbox.Action.DELETE for op in ops):
            if _edited_while_deleted(conn, resource, row, ops, policy, now, stats):
                plain_rows.append(row)  # the edit made elsewhere wins: the record comes back
        else:
            _merge_into_pending(conn, resource, row, ops, policy, now, stats)
            merged_ids.add(row["id"])
    stored_ids: set[int] = set()
    if plain_rows:
        changed, stored_ids = _changed_only(conn, model, plain_rows)
        plain_rows = plain_rows if rewrite else changed
    if plain_rows:
        if _mirrored(resource):
            _local_tag_names(conn, plain_rows)
        stats.upserted += upsert(conn, model, plain_rows)
        if _mirrored(resource):
            rows.mirror_tags(conn, plain_rows, stored=stored_ids)
    if deleted_ids:
        contents_gone(conn, resource, deleted_ids, now, stats)
        stats.deleted += rows.delete_records(conn, resource, deleted_ids)
    if _named_by_others(resource):
        # Entries keep their tags' names (`tags`) for readers of the table, and Toggl
        # renames a tag without touching its entries' `at`: no entry pull brings the
        # new name, so the names of entries using applied tags are refreshed here
        # (tests/test_sync_pull.py).
        rows.refresh_tag_names(conn, {r["id"] for r in plain_rows} | merged_ids)
    return stats


def _local_tag_names(conn: Connection, plain_rows: list[dict[str, Any]]) -> None:
    """Entries' tags are named after the tags table, as every local write does: the server's
    names lag behind a tag renamed here and not pushed yet, and no entry `at` moves when
    the rename goes out (tests/test_sync_pull.py)."""
    known = rows.tag_name_map(conn, {t for r in plain_rows for t in r["tag_ids"]})
    for row in plain_rows:
        if row["tag_ids"] and all(t in known for t in row["tag_ids"]):
            row["tags"] = [known[t] for t in row["tag_ids"]]


def _changed_only(conn: Connection, model: type[Base], found: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], set[int]]:
    """Drop rows whose stored `at` is the server's or newer: re-reading an overlap window
    writes nothing, and a stale answer (an eventually consistent read, a snapshot from
    before our own write) never takes a record back to an older version of itself. At the
    same `at`, the sync's version takes over a report's (`records.supersedes`).
    Also returns the ids of the rows already stored."""
    stored: dict[int, tuple[Any, Any]] = {}
    ids = [r["id"] for r in found]
    table = model.__table__
    source = table.c.get("source")
    columns = [table.c.id, table.c.at] + ([source] if source is not None else [])
    for chunk in rows.chunks(ids):
        for row in conn.execute(select(*columns).where(table.c.id.in_(chunk))):
            stored[row[0]] = (row[1], row[2] if source is not None else None)
    changed = [r for r in found if r["id"] not in stored or records.supersedes(r, *stored[r["id"]])]
    return changed, set(stored)


def deleted_while_pending(
    conn: Connection, resource: str, record_id: int, ops: list[outbox.Operation], now: datetime, stats: ApplyStats
) -> None:
    """The server deleted a record we have pending operations for: deleted wins, edits are recorded."""
    table = table_for(resource)
    current = conn.execute(select(table).where(table.c.id == record_id)).mappings().first()
    for op in ops:
        if op.action is outbox.Action.UPDATE and current is not None:
            local = records.state_of(resource, dict(current))
            lost = records.changed_fields(op.base or {}, local)
            if lost:
                record_conflict(
                    conn, resource, record_id, "deleted_remotely", field=None,
                    base=op.base, local=lost, remote=None, kept="remote", now=now,
                )
                stats.conflicts += 1
    outbox.drop(conn, [op.id for op in ops])


def _edited_while_deleted(
    conn: Connection,
    resource: str,
    row: dict[str, Any],
    ops: list[outbox.Operation],
    policy: str,
    now: datetime,
    stats: ApplyStats,
) -> bool:
    """Deleted here, edited elsewhere: the edit is kept in `conflicts`. Returns whether it wins
    (the "remote" policy: the delete and every operation of the record go, the row is stored)."""
    delete = next(op for op in ops if op.action is outbox.Action.DELETE)
    if delete.no_news(row.get("at")):
        return False  # the version deleted here, or an older one (a stale answer): the delete goes on
    remote = records.state_of(resource, row)
    verdict = plan.edited_while_deleted(delete.base or {}, remote, policy)
    if verdict is None:
        return False
    record_conflict(
        conn, resource, row["id"], "deleted_locally", field=None,
        base=delete.base, local=None, remote=verdict.remote, kept=verdict.kept, now=now,
    )
    stats.conflicts += 1
    if verdict.kept == "remote":
        outbox.drop(conn, [op.id for op in ops])
        return True
    # The delete goes on; a later pull of this version is no new conflict.
    outbox.rebase(conn, delete.id, remote, now, base_at=row.get("at"))
    return False


def contents_gone(conn: Connection, resource: str, ids: Iterable[int], now: datetime, stats: ApplyStats) -> dict[str, int]:
    """Containers of `resource` are gone for good (a workspace left, or removed): what they hold goes.

    Nothing inside can reach Toggl any more, so every pending operation there
    is recorded as a conflict of its own (`records.CONTAINER_GONE`; `remote_value` says
    why, `local_value` holds what was not sent: the edited fields, the record
    made here, nothing for a delete) and dropped: the push never tries it, and
    `togglsync conflicts` shows it. Then the rows go (`rows.delete_contents`);
    returns how many, by table (tests/test_workspace_gone.py)."""
    gone = sorted(set(ids))
    if not gone or not records.contents(resource):
        return {}
    # Every kind a container holds names it in the same field; operations keep it as their workspace.
    inside = {ref.source for ref in records.contents(resource)}
    for op_kind in sorted(inside):
        if not records.spec(op_kind).local:
            continue
        table = table_for(op_kind)
        for record_id, ops in outbox.by_record(conn, op_kind).items():
            container = ops[0].workspace_id
            if container not in gone:
                continue
            current = conn.execute(select(table).where(table.c.id == record_id)).mappings().first()
            local = None if current is None else records.state_of(op_kind, dict(current))
            base = next((op.base for op in ops if op.base is not None), None)
            if any(op.action is outbox.Action.CREATE for op in ops):
                lost, base = local, None
            elif local is None:
                lost = None  # deleted here: the delete is what was not sent
            else:
                lost = records.changed_fields(base or {}, local)
            if lost == {}:
                outbox.drop(conn, [op.id for op in ops])  # an update that had become a no-op: nothing lost
                continue
            record_conflict(
                conn, op_kind, record_id, records.CONTAINER_GONE, field=None, base=base, local=lost,
                remote=records.gone_container_message(resource, container), kept="remote", now=now,
            )
            stats.conflicts += 1
            outbox.drop(conn, [op.id for op in ops])
    return rows.delete_contents(conn, resource, gone)


def _merge_into_pending(
    conn: Connection,
    resource: str,
    row: dict[str, Any],
    ops: list[outbox.Operation],
    policy: str,
    now: datetime,
    stats: ApplyStats,
) -> None:
    table = table_for(resource)
    updates = [op for op in ops if op.action is outbox.Action.UPDATE]
    if not updates:
        return
    current = conn.execute(select(table).where(table.c.id == row["id"])).mappings().first()
    if current is None:
        return
    queued = [op for op in updates if op.state is outbox.State.QUEUED]
    op = (queued or updates)[0]
    if op.no_news(row.get("at")):
        return  # the version the edit was made on, or an older one (a stale answer): nothing to merge
    base = op.base or {}
    local = records.state_of(resource, dict(current))
    remote = records.state_of(resource, row)
    merged, conflicts = plan.merge3(base, local, remote, policy)
    for c in conflicts:
        record_conflict(
            conn, resource, row["id"], "both_changed", field=c.field,
            base=c.base, local=c.local, remote=c.remote, kept=c.kept, now=now,
        )
    stats.conflicts += len(conflicts)
    stats.merged += 1
    values = {k: v for k, v in row.items() if k not in records.spec(resource).editable and k != "id"}
    values.update(records.from_state(merged))
    if _mirrored(resource):
        values["tags"] = rows.tag_names(conn, values["tag_ids"])
    conn.execute(update(table).where(table.c.id == row["id"]).values(**values))
    if _mirrored(resource):
        rows.write_entry_tags(conn, row["id"], values["tag_ids"])
    # The server's version is the new base; nothing left to send drops the operation.
    still_changed = records.changed_fields(remote, merged)
    if not still_changed and op.state is outbox.State.QUEUED:
        outbox.settle(conn, op.id)
    else:
        outbox.rebase(conn, op.id, remote, now, base_at=row.get("at"))
