"""Write what the server said into the tables, respecting local edits that are still pending.

Rows without pending operations simply take the server's version (bulk
upserts). Rows with a pending update get a three-way merge against the
operation's base; the base then moves to the server version, so the push
sends only what is still different. A server deletion wins over a local edit,
and the lost edit is kept in `conflicts`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from togglsync import outbox
from togglsync.db.models import (
    Client,
    Project,
    SyncConflict,
    Tag,
    TimeEntry,
    TimeEntryTag,
    Workspace,
)
from togglsync.db.repo import upsert
from togglsync import records
from togglsync.sync import plan
from togglsync.timer import tag_names

TABLES = {"time_entry": TimeEntry, "project": Project, "client": Client, "tag": Tag, "workspace": Workspace}
TO_ROW = {
    "time_entry": records.entry_row,
    "project": records.project_row,
    "client": records.client_row,
    "tag": records.tag_row,
    "workspace": records.workspace_row,
}


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
) -> ApplyStats:
    """Apply server records (live or deleted) of one resource."""
    stats = ApplyStats()
    pending = outbox.by_record(conn, resource) if records.spec(resource).local else {}
    to_row = TO_ROW[resource]
    model = TABLES[resource]
    plain_rows: list[dict[str, Any]] = []
    deleted_ids: list[int] = []
    merged_ids: set[int] = set()
    for record in incoming:
        row = to_row(record)
        ops = pending.get(row["id"])
        if records.is_deleted(record):
            if ops:
                _deleted_while_pending(conn, resource, row["id"], ops, now, stats)
            deleted_ids.append(row["id"])
        elif not ops:
            plain_rows.append(row)
        else:
            _merge_into_pending(conn, resource, row, ops, policy, now, stats)
            merged_ids.add(row["id"])
    stored_ids: set[int] = set()
    if plain_rows:
        plain_rows, stored_ids = _changed_only(conn, model, plain_rows)
    if plain_rows:
        if resource == "time_entry":
            _local_tag_names(conn, plain_rows)
        stats.upserted += upsert(conn, model, plain_rows)
        if resource == "time_entry":
            write_tags_for(conn, plain_rows, stored=stored_ids)
    if deleted_ids:
        stats.deleted += delete_records(conn, resource, deleted_ids)
    if resource == "tag":
        # Fix: entries keep their tag names (`tags`) for readers of the table, and
        # Toggl renames a tag without touching its entries' `at`: no entry pull would
        # ever bring the new name. Refresh the names of entries using applied tags.
        refresh_tag_names(conn, {r["id"] for r in plain_rows} | merged_ids)
    return stats


def _local_tag_names(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Fix: name entries' tags after the tags table, as every local write does. The
    server's names lag behind a tag renamed here and not pushed yet; storing them
    left entries with the old name after the rename went out (no entry `at` moves)."""
    known = _tag_name_map(conn, {t for r in rows for t in r["tag_ids"]})
    for row in rows:
        if row["tag_ids"] and all(t in known for t in row["tag_ids"]):
            row["tags"] = [known[t] for t in row["tag_ids"]]


def _tag_name_map(conn: Connection, tag_ids: set[int]) -> dict[int, str]:
    known: dict[int, str] = {}
    for chunk in _chunks(sorted(tag_ids), 500):
        known.update(conn.execute(select(Tag.id, Tag.name).where(Tag.id.in_(chunk))).all())
    return known


def refresh_tag_names(conn: Connection, tag_ids: set[int]) -> None:
    """Recompute `time_entries.tags` (names) of the entries that use these tags.

    In bulk: a tag used by 10,000 entries costs a few statements, not two per entry."""
    if not tag_ids:
        return
    entries: dict[int, tuple[list[int], list[str]]] = {}
    e, et = TimeEntry.__table__, TimeEntryTag.__table__
    for chunk in _chunks(sorted(tag_ids), 500):
        used = select(et.c.time_entry_id).where(et.c.tag_id.in_(chunk))
        for row in conn.execute(select(e.c.id, e.c.tag_ids, e.c.tags).where(e.c.id.in_(used))):
            entries[row.id] = (row.tag_ids or [], row.tags or [])
    known = _tag_name_map(conn, {t for ids, _ in entries.values() for t in ids})
    changed = []
    for entry_id, (ids, names) in entries.items():
        wanted = [known[t] for t in ids if t in known]
        if wanted != names:
            changed.append({"entry_id": entry_id, "names": wanted})
    if changed:
        conn.execute(
            update(TimeEntry).where(TimeEntry.id == bindparam("entry_id")).values(tags=bindparam("names")), changed
        )


def _changed_only(conn: Connection, model: Any, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], set[int]]:
    """Drop rows whose stored `at` equals the server's: re-reading an overlap window writes
    nothing. Also returns the ids of the rows already stored."""
    stored: dict[int, Any] = {}
    ids = [r["id"] for r in rows]
    for chunk in _chunks(ids, 500):
        stored.update(conn.execute(select(model.id, model.at).where(model.id.in_(chunk))).all())
    changed = [r for r in rows if r["id"] not in stored or r["at"] is None or stored[r["id"]] != r["at"]]
    return changed, set(stored)


def write_tags_for(conn: Connection, rows: list[dict[str, Any]], *, stored: set[int] | None = None) -> None:
    """Replace the `time_entry_tags` of these entries. `stored`, when given, names the
    entries that may have pairs already (a cold sync's new entries have none to delete)."""
    ids = [r["id"] for r in rows if stored is None or r["id"] in stored]
    for chunk in _chunks(ids, 500):
        conn.execute(delete(TimeEntryTag).where(TimeEntryTag.time_entry_id.in_(chunk)))
    pairs = [{"time_entry_id": r["id"], "tag_id": t} for r in rows for t in sorted(set(r["tag_ids"]))]
    upsert(conn, TimeEntryTag, pairs)  # all key columns: a plain insert, through the fast path


def delete_records(conn: Connection, resource: str, ids: list[int]) -> int:
    """Remove rows the server deleted (or no longer has), and the references to them."""
    model = TABLES[resource]
    count = 0
    for chunk in _chunks(ids, 500):
        count += conn.execute(delete(model).where(model.id.in_(chunk))).rowcount
    if resource == "tag":
        strip_tags(conn, set(ids))
    elif resource in DETACH:
        detach(conn, resource, ids)
    return count


# What Toggl does to the records that name a deleted project or client: they lose the reference.
DETACH = {"project": (TimeEntry, "project_id"), "client": (Project, "client_id")}


def detach(conn: Connection, resource: str, ids: list[int]) -> None:
    """Fix: a local row still naming a project or client deleted on Toggl (an offline edit or
    create made before we heard of the deletion) was sent with that id, refused with 400 on
    every retry, and whatever depended on it waited forever. Rows synced from the server
    lose the reference in Toggl too (their update arrives with the next entry pull); a
    row with an operation to push now sends no reference instead of a dead one.
    """
    model, column = DETACH[resource]
    for chunk in _chunks(ids, 500):
        conn.execute(update(model).where(getattr(model, column).in_(chunk)).values({column: None}))


def strip_tags(conn: Connection, tag_ids: set[int]) -> None:
    """Deleting a tag on Toggl does not change its entries' `at`: strip it here."""
    if not tag_ids:
        return
    entry_ids: set[int] = set()
    for chunk in _chunks(sorted(tag_ids), 500):
        entry_ids.update(conn.execute(select(TimeEntryTag.time_entry_id).where(TimeEntryTag.tag_id.in_(chunk))).scalars())
        conn.execute(delete(TimeEntryTag).where(TimeEntryTag.tag_id.in_(chunk)))
    for entry_id in entry_ids:
        row = conn.execute(select(TimeEntry.tag_ids, TimeEntry.tags, TimeEntry.raw).where(TimeEntry.id == entry_id)).first()
        if row is None:
            continue
        keep = [t for t in row.tag_ids if t not in tag_ids]
        names = tag_names(conn, keep)
        conn.execute(update(TimeEntry).where(TimeEntry.id == entry_id).values(tag_ids=keep, tags=names))
    # Queued edits must not send a tag that no longer exists.
    outbox.forget_references(conn, "tag", tag_ids)


def _deleted_while_pending(
    conn: Connection, resource: str, record_id: int, ops: list[outbox.Operation], now: datetime, stats: ApplyStats
) -> None:
    """The server deleted a record we have pending operations for: deleted wins, edits are recorded."""
    model = TABLES[resource]
    current = conn.execute(select(model.__table__).where(model.id == record_id)).mappings().first()
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


def _merge_into_pending(
    conn: Connection,
    resource: str,
    row: dict[str, Any],
    ops: list[outbox.Operation],
    policy: str,
    now: datetime,
    stats: ApplyStats,
) -> None:
    model = TABLES[resource]
    if any(op.action is outbox.Action.DELETE for op in ops):
        return  # deleted here; the push deletes it there
    updates = [op for op in ops if op.action is outbox.Action.UPDATE]
    if not updates:
        return
    current = conn.execute(select(model.__table__).where(model.id == row["id"])).mappings().first()
    if current is None:
        return
    queued = [op for op in updates if op.state is outbox.State.QUEUED]
    op = (queued or updates)[0]
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
    if resource == "time_entry":
        values["tags"] = tag_names(conn, values["tag_ids"])
    conn.execute(update(model).where(model.id == row["id"]).values(**values))
    if resource == "time_entry":
        write_tags_for(conn, [{"id": row["id"], "tag_ids": values["tag_ids"]}])
    # The server's version is the new base; nothing left to send drops the operation.
    still_changed = records.changed_fields(remote, merged)
    if not still_changed and op.state is outbox.State.QUEUED:
        outbox.settle(conn, op.id)
    else:
        outbox.rebase(conn, op.id, remote, now)


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
