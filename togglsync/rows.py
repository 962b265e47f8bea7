"""Row-level local writes: each change to a record's row and the outbox, written once.

An offline edit changes the row at once and tells the outbox (`outbox`),
inside the caller's transaction. These functions are the only ones that do
it, for every kind of record (`records`), so LocalStore, the timer on the
driver connection and the sync share one implementation of each rule:

* `create`: a new record with a temporary id (minus its create operation's id);
* `update`: change fields; queue an update unless an operation already carries it;
* `delete`: remove the row, queue what Toggl must hear, and do to the records
  that referenced it what Toggl does (clear the reference, strip the tag);
* `mirror_tags`: `time_entries.tag_ids` mirrored into `time_entry_tags`.

Plain SQL (`db.sql`) on either kind of connection: the fast commands import
no SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from togglsync import outbox, records
from togglsync.db import sql
from togglsync.db.sql import Connection
from togglsync.db.stored import from_db, json_to_db, to_db
from togglsync.errors import UsageError
from togglsync.records import Row


# The list reference mirrored in a link table: an entry's tags.
_TAGS = next(r for r in records.REFERENCES if r.link is not None)


def get(conn: Connection, kind: str, record_id: int) -> Row | None:
    row = sql.first(conn, f"SELECT * FROM {records.spec(kind).table} WHERE id = ?", (record_id,))
    return None if row is None else from_db(row)


def require(conn: Connection, kind: str, record_id: int) -> Row:
    row = get(conn, kind, record_id)
    if row is None:
        raise UsageError(f"no {records.spec(kind).label} with id {records.format_id(record_id)}")
    return row


def tag_names(conn: Connection, tag_ids: Iterable[int]) -> list[str]:
    """Names for tag ids, in their order (unknown ids are left out)."""
    return _names(conn, _TAGS.target, list(tag_ids))


def mirror_tags(conn: Connection, entry_id: int, tag_ids: Iterable[int]) -> None:
    """Mirror one entry's tag ids into time_entry_tags."""
    _mirror(conn, _TAGS, entry_id, tag_ids)



def _mirror(conn: Connection, ref: records.Reference, source_id: int, target_ids: Iterable[int]) -> None:
    assert ref.link is not None
    table, source_column, target_column = ref.link
    sql.execute(conn, f"DELETE FROM {table} WHERE {source_column} = ?", (source_id,))
    for target_id in sorted(set(target_ids)):
        sql.execute(
            conn, f"INSERT INTO {table} ({source_column}, {target_column}) VALUES (?, ?)", (source_id, target_id)
        )


def _normalised(conn: Connection, kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """List references sorted and unique, with their names beside them."""
    for ref in records.references_from(kind):
        if ref.many and ref.field in values:
            values[ref.field] = sorted(set(values[ref.field] or ()))
            if ref.names_field:
                values[ref.names_field] = _names(conn, ref.target, values[ref.field])
    return values


def _names(conn: Connection, kind: str, ids: list[int]) -> list[str]:
    if not ids:
        return []
    table = records.spec(kind).table
    found = sql.rows(conn, f"SELECT id, name FROM {table} WHERE id IN ({sql.placeholders(len(ids))})", ids)
    names = {row["id"]: row["name"] for row in found}
    return [names[i] for i in ids if i in names]


def _mirror_links(conn: Connection, kind: str, record_id: int, values: Mapping[str, Any]) -> None:
    for ref in records.references_from(kind):
        if ref.link is not None and ref.field in values:
            _mirror(conn, ref, record_id, values[ref.field] or ())


def create(conn: Connection, kind: str, workspace_id: int, values: Mapping[str, Any], now: datetime) -> Row:
    """A record made here: its row under a temporary id, and its create queued."""
    record_id = outbox.queue_create(conn, kind, workspace_id, now)
    full = _normalised(conn, kind, {"id": record_id, "workspace_id": workspace_id, **values})
    stored = to_db(full)
    columns = ", ".join(stored)
    sql.execute(
        conn, f"INSERT INTO {records.spec(kind).table} ({columns}) VALUES ({sql.placeholders(len(stored))})",
        list(stored.values()),
    )
    _mirror_links(conn, kind, record_id, full)
    return require(conn, kind, record_id)


def update(conn: Connection, kind: str, record_id: int, values: Mapping[str, Any], now: datetime) -> Row:
    """Change fields of a record; the outbox hears of it when its state changed."""
    before = require(conn, kind, record_id)
    changes = _normalised(conn, kind, dict(values))
    if changes:
        stored = to_db(changes)
        assignments = ", ".join(f"{name} = ?" for name in stored)
        sql.execute(
            conn, f"UPDATE {records.spec(kind).table} SET {assignments} WHERE id = ?", [*stored.values(), record_id]
        )
        _mirror_links(conn, kind, record_id, changes)
    after = require(conn, kind, record_id)
    if "name" in changes and after.get("name") != before.get("name"):
        for ref in records.references_to(kind):
            if ref.names_field:
                refresh_names(conn, ref, referencing(conn, ref, record_id))
    base = records.state_of(kind, before)
    if records.state_of(kind, after) != base and records.spec(kind).local:
        outbox.note_edit(conn, kind, record_id, before["workspace_id"], base, now)
    return after


def delete(conn: Connection, kind: str, record_id: int, now: datetime) -> Row:
    """Delete a record here. Returns the row as it was."""
    row = require(conn, kind, record_id)
    outbox.note_delete(conn, kind, record_id, row["workspace_id"], records.state_of(kind, row), now)
    for ref in records.references_to(kind):
        for source_id in referencing(conn, ref, record_id):
            source = require(conn, ref.source, source_id)
            update(conn, ref.source, source_id, {ref.field: records.without_reference(ref, source, [record_id])}, now)
    sql.execute(conn, f"DELETE FROM {records.spec(kind).table} WHERE id = ?", (record_id,))
    return row


def referencing(conn: Connection, ref: records.Reference, target_id: int) -> list[int]:
    """Ids of the `ref.source` records whose `ref.field` names `target_id`."""
    table = records.spec(ref.source).table
    if ref.many:
        found = sql.column(
            conn,
            f"SELECT id FROM {table} WHERE EXISTS (SELECT 1 FROM json_each({table}.{ref.field}) WHERE value = ?) "
            "ORDER BY id",
            (target_id,),
        )
    else:
        found = sql.column(conn, f"SELECT id FROM {table} WHERE {ref.field} = ? ORDER BY id", (target_id,))
    return [int(i) for i in found]


def refresh_names(conn: Connection, ref: records.Reference, source_ids: Iterable[int]) -> None:
    """Recompute the names kept beside `ref.field` (an entry's tag names) of these records.

    Not an edit of them: the names are for readers of the table, Toggl keeps its own."""
    assert ref.names_field is not None
    table = records.spec(ref.source).table
    for source_id in source_ids:
        row = require(conn, ref.source, source_id)
        names = _names(conn, ref.target, list(row[ref.field] or ()))
        if names != row[ref.names_field]:
            sql.execute(conn, f"UPDATE {table} SET {ref.names_field} = ? WHERE id = ?", (json_to_db(names), source_id))
