"""Row-level writes to the record tables, one implementation each, on either kind of connection.

The offline edits (`timer`, `local`), the pull (`sync.apply`) and the push
(`sync.push`) all change rows through these functions: mirroring an entry's
tag ids into `time_entry_tags`, naming its tags, replacing a temporary id by
Toggl's, detaching references to deleted records, deleting rows. Who
references whom comes from `records.REFERENCES`; pending operations follow
through `outbox`. Plain SQL (`db.sql`), so the fast commands can use them
without importing SQLAlchemy; bulk work goes through executemany.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from togglsync import outbox, records
from togglsync.db import sql
from togglsync.db.sql import Connection
from togglsync.db.stored import json_to_db

# Rows per statement for IN lists (SQLite allows more; this keeps statements small).
CHUNK = 500


@dataclass(frozen=True)
class Mirror:
    """A list reference (`records.Reference.many`) mirrored into a pair table, with the
    targets' names kept beside the ids (`time_entries.tags`) for readers of the table."""

    table: str
    source_column: str
    target_column: str
    names_field: str


MIRRORS: dict[tuple[records.Kind, str], Mirror] = {
    (records.Kind.TIME_ENTRY, "tag_ids"): Mirror("time_entry_tags", "time_entry_id", "tag_id", "tags"),
}


def _mirror(ref: records.Reference) -> Mirror:
    return MIRRORS[(ref.source, ref.field)]


def _table(kind: str) -> str:
    return records.spec(kind).table


def chunks(items: Sequence[int], size: int = CHUNK) -> Iterator[list[int]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def _ids(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(json.loads(value)) if isinstance(value, str) else list(value)


# --- tag names ------------------------------------------------------------------------------------


def tag_name_map(conn: Connection, tag_ids: Iterable[int]) -> dict[int, str]:
    """Names of the tags we have, by id."""
    known: dict[int, str] = {}
    for chunk in chunks(sorted(set(tag_ids))):
        found = sql.rows(conn, f"SELECT id, name FROM tags WHERE id IN ({sql.placeholders(len(chunk))})", chunk)
        known.update((row["id"], row["name"]) for row in found)
    return known


def tag_names(conn: Connection, tag_ids: Iterable[int]) -> list[str]:
    """Names for tag ids, in their order (unknown ids are left out)."""
    ids = list(tag_ids)
    if not ids:
        return []
    known = tag_name_map(conn, ids)
    return [known[t] for t in ids if t in known]


def refresh_tag_names(conn: Connection, tag_ids: Iterable[int]) -> None:
    """Recompute `time_entries.tags` (names) of the entries that use these tags.

    In bulk: a tag used by 10,000 entries costs a few statements, not two per entry."""
    wanted_tags = sorted(set(tag_ids))
    if not wanted_tags:
        return
    entries: dict[int, tuple[list[int], list[str]]] = {}
    for chunk in chunks(wanted_tags):
        found = sql.rows(
            conn,
            "SELECT id, tag_ids, tags FROM time_entries WHERE id IN "
            f"(SELECT time_entry_id FROM time_entry_tags WHERE tag_id IN ({sql.placeholders(len(chunk))}))",
            chunk,
        )
        for row in found:
            entries[row["id"]] = (_ids(row["tag_ids"]), _ids(row["tags"]))
    known = tag_name_map(conn, {t for ids, _ in entries.values() for t in ids})
    changed = []
    for entry_id, (ids, names) in entries.items():
        wanted = [known[t] for t in ids if t in known]
        if wanted != names:
            changed.append((json_to_db(wanted), entry_id))
    sql.executemany(conn, "UPDATE time_entries SET tags = ? WHERE id = ?", changed)


# --- time_entry_tags ------------------------------------------------------------------------------


def write_entry_tags(conn: Connection, entry_id: int, tag_ids: Iterable[int]) -> None:
    """Mirror one entry's tag ids into time_entry_tags."""
    mirror_tags(conn, [{"id": entry_id, "tag_ids": list(tag_ids)}])


def mirror_tags(conn: Connection, rows: Iterable[Mapping[str, Any]], *, stored: set[int] | None = None) -> None:
    """Replace the `time_entry_tags` of these entries. `stored`, when given, names the
    entries that may have pairs already (a cold sync's new entries have none to delete)."""
    rows = list(rows)
    ids = [r["id"] for r in rows if stored is None or r["id"] in stored]
    for chunk in chunks(ids):
        sql.execute(conn, f"DELETE FROM time_entry_tags WHERE time_entry_id IN ({sql.placeholders(len(chunk))})", chunk)
    pairs = [(r["id"], t) for r in rows for t in sorted(set(r["tag_ids"] or ()))]
    sql.executemany(conn, "INSERT OR IGNORE INTO time_entry_tags (time_entry_id, tag_id) VALUES (?, ?)", pairs)


# --- ids, detaching, deleting ---------------------------------------------------------------------


def rewrite_id(conn: Connection, kind: str, old: int, new: int) -> None:
    """Replace a temporary id by Toggl's everywhere: the row, every reference to it
    (records.REFERENCES), and the pending operations and their bases."""
    sql.execute(conn, f"UPDATE {_table(kind)} SET id = ? WHERE id = ?", (new, old))
    for ref in records.references_to(kind):
        source = _table(ref.source)
        if not ref.many:
            sql.execute(conn, f"UPDATE {source} SET {ref.field} = ? WHERE {ref.field} = ?", (new, old))
            continue
        mirror = _mirror(ref)
        using = sql.column(conn, f"SELECT {mirror.source_column} FROM {mirror.table} WHERE {mirror.target_column} = ?", (old,))
        sql.execute(conn, f"UPDATE {mirror.table} SET {mirror.target_column} = ? WHERE {mirror.target_column} = ?", (new, old))
        changed = []
        for source_id in using:
            value = _ids(sql.scalar(conn, f"SELECT {ref.field} FROM {source} WHERE id = ?", (source_id,)))
            changed.append((json_to_db(records.replace_reference(ref, value, old, new)), source_id))
        sql.executemany(conn, f"UPDATE {source} SET {ref.field} = ? WHERE id = ?", changed)
    outbox.rewrite_record(conn, kind, old, new)


def detach(conn: Connection, kind: str, ids: Iterable[int]) -> None:
    """Records of `kind` are gone: whatever references them loses the reference, as Toggl
    does to its own rows (a deleted project leaves its entries without a project, a deleted
    tag leaves its entries, without changing their `at`). Queued edits then send no
    reference instead of a dead one, which Toggl would refuse on every retry
    (tests/test_sync_pull.py, tests/test_sync_push.py)."""
    gone = sorted(set(ids))
    if not gone:
        return
    for ref in records.references_to(kind):
        source = _table(ref.source)
        if not ref.many:
            for chunk in chunks(gone):
                sql.execute(
                    conn, f"UPDATE {source} SET {ref.field} = NULL WHERE {ref.field} IN ({sql.placeholders(len(chunk))})",
                    chunk,
                )
            continue
        mirror = _mirror(ref)
        using: set[int] = set()
        for chunk in chunks(gone):
            marks = sql.placeholders(len(chunk))
            using.update(sql.column(
                conn, f"SELECT {mirror.source_column} FROM {mirror.table} WHERE {mirror.target_column} IN ({marks})", chunk
            ))
            sql.execute(conn, f"DELETE FROM {mirror.table} WHERE {mirror.target_column} IN ({marks})", chunk)
        changed = []
        for source_id in sorted(using):
            value = _ids(sql.scalar(conn, f"SELECT {ref.field} FROM {source} WHERE id = ?", (source_id,)))
            keep = records.without_reference(ref, {ref.field: value}, gone)
            changed.append((json_to_db(keep), json_to_db(tag_names(conn, keep)), source_id))
        sql.executemany(conn, f"UPDATE {source} SET {ref.field} = ?, {mirror.names_field} = ? WHERE id = ?", changed)
    outbox.forget_references(conn, kind, gone)


def delete_records(conn: Connection, kind: str, ids: Iterable[int]) -> int:
    """Remove rows the server deleted (or no longer has), and the references to them; how many rows went."""
    gone = list(ids)
    table = _table(kind)
    count = 0
    for chunk in chunks(gone):
        marks = sql.placeholders(len(chunk))
        count += int(sql.scalar(conn, f"SELECT count(*) FROM {table} WHERE id IN ({marks})", chunk) or 0)
        sql.execute(conn, f"DELETE FROM {table} WHERE id IN ({marks})", chunk)
    detach(conn, kind, gone)
    return count


def delete_row(conn: Connection, kind: str, record_id: int) -> None:
    """Remove one row and nothing else (a copy about to be replaced under the same id)."""
    sql.execute(conn, f"DELETE FROM {_table(kind)} WHERE id = ?", (record_id,))
