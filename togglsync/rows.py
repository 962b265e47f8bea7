"""Row-level writes to the record tables: each rule written once, on either kind of connection.

Every change to a record's row goes through here, whoever makes it:

* offline edits (`local`, `timer`, `queue`): `create` (a new record under a
  temporary id: minus its create operation's id), `update` (change fields;
  the outbox queues an update unless an operation already carries it),
  `delete` (queue what Toggl must hear, and do to the records that referenced
  it what Toggl does: clear the reference, strip the tag);
* the sync (`sync.apply`, `sync.push`): `rewrite_id` (Toggl gave a temporary
  id its own), `delete_records` and `detach` (the server deleted records),
  bulk tag mirroring and naming for the cold sync.

Who references whom, and which list reference is mirrored into a pair table
with its names kept beside it, comes from `records.REFERENCES`; pending
operations follow through `outbox`. Plain SQL (`db.sql`), so the fast
commands can use them without importing SQLAlchemy; bulk work goes through
executemany.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from togglsync import accounts, outbox, records
from togglsync.db import sql
from togglsync.db.sql import Connection
from togglsync.db.stored import from_db, json_to_db, timestamp_to_db, to_db
from togglsync.errors import UsageError
from togglsync.records import Reference, Row

# Rows per statement for IN lists (SQLite allows more; this keeps statements small).
CHUNK = 500

# The list reference mirrored into a pair table, with names beside the ids: an entry's tags.
TAGS = next(ref for ref in records.REFERENCES if ref.link is not None)


def _link(ref: Reference) -> tuple[str, str, str, str]:
    """(pair table, source column, target column, names field) of a mirrored list reference."""
    if ref.link is None or ref.names_field is None:
        raise ValueError(f"{ref.source}.{ref.field} is not mirrored")
    return (*ref.link, ref.names_field)


def _table(kind: str) -> str:
    return records.spec(kind).table


def chunks(items: Sequence[int], size: int = CHUNK) -> Iterator[list[int]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def _ids(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(json.loads(value)) if isinstance(value, str) else list(value)


# --- reading one row ------------------------------------------------------------------------------


def get(conn: Connection, kind: str, record_id: int) -> Row | None:
    row = sql.first(conn, f"SELECT * FROM {_table(kind)} WHERE id = ?", (record_id,))
    return None if row is None else from_db(row)


def require(conn: Connection, kind: str, record_id: int) -> Row:
    row = get(conn, kind, record_id)
    if row is None:
        raise UsageError(f"no {records.spec(kind).label} with id {records.format_id(record_id)}")
    return row


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
    table, source_column, target_column, _ = _link(TAGS)
    rows = list(rows)
    ids = [r["id"] for r in rows if stored is None or r["id"] in stored]
    for chunk in chunks(ids):
        sql.execute(conn, f"DELETE FROM {table} WHERE {source_column} IN ({sql.placeholders(len(chunk))})", chunk)
    # In key order, as upsert writes rows: newest-first pairs would split the index's pages.
    pairs = sorted((r["id"], t) for r in rows for t in set(r[TAGS.field] or ()))
    sql.executemany(conn, f"INSERT INTO {table} ({source_column}, {target_column}) VALUES (?, ?) ON CONFLICT DO NOTHING", pairs)


# --- ids, detaching, deleting ---------------------------------------------------------------------


def rewrite_id(conn: Connection, kind: str, old: int, new: int, now: datetime) -> None:
    """Replace a temporary id by Toggl's everywhere: the row, every reference to it
    (records.REFERENCES), and the pending operations and their bases. The pair is kept
    in `id_map`, so `L5` still names the record once pushed (`lookup`).

    A list reference (an entry's tags) holding both ids keeps one, and the names kept
    beside the ids are named again for every record that refers to `new`: one that
    already referred to Toggl's id while its record was not stored here (a pull that
    raced the tag's creation) was named without it (tests/test_found_by_model.py)."""
    sql.execute(
        conn, "INSERT INTO id_map (kind, local_id, toggl_id, pushed_at) VALUES (?, ?, ?, ?) ON CONFLICT (kind, local_id) "
        "DO UPDATE SET toggl_id = excluded.toggl_id, pushed_at = excluded.pushed_at",
        (str(kind), old, new, timestamp_to_db(now)),
    )
    sql.execute(conn, f"UPDATE {_table(kind)} SET id = ? WHERE id = ?", (new, old))
    for ref in records.references_to(kind):
        source = _table(ref.source)
        if not ref.many:
            sql.execute(conn, f"UPDATE {source} SET {ref.field} = ? WHERE {ref.field} = ?", (new, old))
            continue
        pairs, source_column, target_column, _ = _link(ref)
        using = sql.column(conn, f"SELECT {source_column} FROM {pairs} WHERE {target_column} = ?", (old,))
        # A record holding both ids keeps the pair it has with `new`.
        sql.execute(conn, f"DELETE FROM {pairs} WHERE {target_column} = ? AND {source_column} IN "
                          f"(SELECT {source_column} FROM {pairs} WHERE {target_column} = ?)", (old, new))
        sql.execute(conn, f"UPDATE {pairs} SET {target_column} = ? WHERE {target_column} = ?", (new, old))
        changed = []
        for source_id in using:
            value = _ids(sql.scalar(conn, f"SELECT {ref.field} FROM {source} WHERE id = ?", (source_id,)))
            changed.append((json_to_db(records.replace_reference(ref, value, old, new)), source_id))
        sql.executemany(conn, f"UPDATE {source} SET {ref.field} = ? WHERE id = ?", changed)
        if ref.names_field:
            refresh_tag_names(conn, [new])
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
        pairs, source_column, target_column, names_field = _link(ref)
        using: set[int] = set()
        for chunk in chunks(gone):
            marks = sql.placeholders(len(chunk))
            using.update(sql.column(
                conn, f"SELECT {source_column} FROM {pairs} WHERE {target_column} IN ({marks})", chunk
            ))
            sql.execute(conn, f"DELETE FROM {pairs} WHERE {target_column} IN ({marks})", chunk)
        changed = []
        for source_id in sorted(using):
            value = _ids(sql.scalar(conn, f"SELECT {ref.field} FROM {source} WHERE id = ?", (source_id,)))
            keep = records.without_reference(ref, {ref.field: value}, gone)
            changed.append((json_to_db(keep), json_to_db(tag_names(conn, keep)), source_id))
        sql.executemany(conn, f"UPDATE {source} SET {ref.field} = ?, {names_field} = ? WHERE id = ?", changed)
    outbox.forget_references(conn, kind, gone)


def delete_contents(conn: Connection, kind: str, ids: Iterable[int]) -> dict[str, int]:
    """Records of `kind` are gone: what they contain goes with them (`records.CONTAINMENT`,
    `records.OWNED_ROWS`): a workspace's entries with their tag pairs, tags, projects, clients
    and members. Returns how many rows went, by table. Pending operations are the caller's:
    the sync records what they carried before calling this (`sync.apply.contents_gone`)."""
    gone = sorted(set(ids))
    counts: dict[str, int] = {}
    if not gone:
        return counts
    for ref in records.contents(kind):
        found: list[int] = []
        for chunk in chunks(gone):
            found.extend(int(i) for i in sql.column(
                conn, f"SELECT id FROM {_table(ref.source)} WHERE {ref.field} IN ({sql.placeholders(len(chunk))})", chunk
            ))
        counts[_table(ref.source)] = delete_records(conn, ref.source, found) if found else 0
    for table, column in records.owned_rows(kind):
        count = 0
        for chunk in chunks(gone):
            marks = sql.placeholders(len(chunk))
            count += int(sql.scalar(conn, f"SELECT count(*) FROM {table} WHERE {column} IN ({marks})", chunk) or 0)
            sql.execute(conn, f"DELETE FROM {table} WHERE {column} IN ({marks})", chunk)
        counts[table] = count
    return counts


def delete_records(conn: Connection, kind: str, ids: Iterable[int]) -> int:
    """Remove rows the server deleted (or no longer has), what they contain, and the references
    to them; how many rows of `kind` went."""
    gone = list(ids)
    table = _table(kind)
    if records.contents(kind) or records.owned_rows(kind):
        delete_contents(conn, kind, gone)
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


# --- offline edits --------------------------------------------------------------------------------


def _normalised(conn: Connection, kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """List references sorted and unique, with their names beside them."""
    for ref in records.references_from(kind):
        if ref.many and ref.field in values:
            values[ref.field] = sorted(set(values[ref.field] or ()))
            if ref.names_field:
                values[ref.names_field] = tag_names(conn, values[ref.field])
    return values


def _mirror_links(conn: Connection, kind: str, record_id: int, values: Mapping[str, Any]) -> None:
    for ref in records.references_from(kind):
        if ref.link is not None and ref.field in values:
            mirror_tags(conn, [{"id": record_id, ref.field: values[ref.field]}])


def _sender(conn: Connection, kind: str, workspace_id: int, row: Mapping[str, Any], preferred: str | None) -> str:
    """The account whose sync sends an edit of this record (`accounts.for_operation`)."""
    return accounts.for_operation(conn, kind, workspace_id, row.get("user_id"), preferred)


def create(
    conn: Connection, kind: str, workspace_id: int, values: Mapping[str, Any], now: datetime, *, account: str | None = None
) -> Row:
    """A record made here: its row under a temporary id, and its create queued (sent by
    `account` when it may, see `accounts.for_operation`)."""
    record_id = outbox.queue_create(conn, kind, workspace_id, now, account=_sender(conn, kind, workspace_id, values, account))
    return _insert(conn, kind, record_id, workspace_id, values)


def _insert(conn: Connection, kind: str, record_id: int, workspace_id: int, values: Mapping[str, Any]) -> Row:
    full = _normalised(conn, kind, {"id": record_id, "workspace_id": workspace_id, **values})
    stored = to_db(full)
    sql.execute(
        conn, f"INSERT INTO {_table(kind)} ({', '.join(stored)}) VALUES ({sql.placeholders(len(stored))})",
        list(stored.values()),
    )
    _mirror_links(conn, kind, record_id, full)
    return require(conn, kind, record_id)


def update(
    conn: Connection, kind: str, record_id: int, values: Mapping[str, Any], now: datetime, *, account: str | None = None
) -> Row:
    """Change fields of a record here; the outbox hears of it when its state changed."""
    before = require(conn, kind, record_id)
    write(conn, kind, record_id, values)
    after = require(conn, kind, record_id)
    if after.get("name") != before.get("name") and any(ref.names_field for ref in records.references_to(kind)):
        refresh_tag_names(conn, [record_id])  # readers of the table see the new name; not an edit of them
    base = records.state_of(kind, before)
    if records.state_of(kind, after) != base and records.spec(kind).local:
        outbox.note_edit(conn, kind, record_id, before["workspace_id"], base, now, base_at=before.get("at"),
                         account=_sender(conn, kind, before["workspace_id"], before, account))
    return after


def write(conn: Connection, kind: str, record_id: int, values: Mapping[str, Any]) -> None:
    """Store values in a row, telling no one (`update` tells the outbox; the push stores
    Toggl's answer with this). List references are kept sorted and mirrored, and their
    names are always ours, derived from the ids."""
    names = {ref.names_field for ref in records.references_from(kind) if ref.names_field}
    changes = _normalised(conn, kind, {k: v for k, v in values.items() if k not in names})
    if not changes:
        return
    stored = to_db(changes)
    assignments = ", ".join(f"{name} = ?" for name in stored)
    sql.execute(conn, f"UPDATE {_table(kind)} SET {assignments} WHERE id = ?", [*stored.values(), record_id])
    _mirror_links(conn, kind, record_id, changes)


def delete(conn: Connection, kind: str, record_id: int, now: datetime, *, account: str | None = None) -> Row:
    """Delete a record here: what Toggl must hear is queued, and the records that
    referenced it lose the reference, each an edit of its own (Toggl does the same
    to its copies). Returns the row as it was."""
    row = require(conn, kind, record_id)
    outbox.note_delete(conn, kind, record_id, row["workspace_id"], records.state_of(kind, row), now, base_at=row.get("at"),
                       account=_sender(conn, kind, row["workspace_id"], row, account))
    for ref in records.references_to(kind):
        for source_id in referencing(conn, ref, record_id):
            source = require(conn, ref.source, source_id)
            update(conn, ref.source, source_id, {ref.field: records.without_reference(ref, source, [record_id])}, now)
    delete_row(conn, kind, record_id)
    return row


def restore(conn: Connection, kind: str, record_id: int, workspace_id: int, state: Mapping[str, Any]) -> Row:
    """Put a record back to a state Toggl had (an operation's `base`), telling no one: its
    row is rewritten, or made again if it was deleted here. What it references is kept
    only if it is still here (a reference to a record deleted since would be refused)."""
    values: dict[str, Any] = dict(records.from_state(state))
    for ref in records.references_from(kind):
        if ref.field in values:
            gone = [t for t in records.referenced_ids(ref, values) if get(conn, ref.target, t) is None]
            if gone:
                values[ref.field] = records.without_reference(ref, values, gone)
    if get(conn, kind, record_id) is not None:
        write(conn, kind, record_id, values)
        return require(conn, kind, record_id)
    return _insert(conn, kind, record_id, workspace_id, values)


def reattach(conn: Connection, kind: str, record_id: int) -> set[tuple[str, int]]:
    """A record deleted here is back (`restore`): the records that lost their reference to it
    when it was deleted (`delete`, each an edit queued against a base that still names it)
    get it back, and an edit left with nothing to send goes; any other edit of theirs stays.
    Returns the records given their reference back, as (kind, id)."""
    done: set[tuple[str, int]] = set()
    for ref in records.references_to(kind):
        for source_id, ops in outbox.by_record(conn, ref.source).items():
            waiting = [op for op in ops if op.state is not outbox.State.IN_FLIGHT and op.action is outbox.Action.UPDATE]
            if not waiting or record_id not in records.referenced_ids(ref, waiting[0].base or {}):
                continue
            row = get(conn, ref.source, source_id)
            if row is None or record_id in records.referenced_ids(ref, row):
                continue
            value = sorted({*records.referenced_ids(ref, row), record_id}) if ref.many else record_id
            if not ref.many and row.get(ref.field) is not None:
                continue  # it points at something else now: a later edit, kept
            write(conn, ref.source, source_id, {ref.field: value})
            done.add((str(ref.source), source_id))
            state = records.state_of(ref.source, require(conn, ref.source, source_id))
            if len(waiting) == 1 and state == waiting[0].base:
                outbox.drop(conn, [waiting[0].id])
    return done


def running_entries(conn: Connection) -> list[Row]:
    """The running time entries (normally one at most)."""
    return [from_db(r) for r in sql.rows(conn, "SELECT * FROM time_entries WHERE duration < 0 ORDER BY start, id")]


def stop_overtaken(
    conn: Connection, running: Iterable[Mapping[str, Any]], now: datetime, *, starting: datetime | None = None
) -> list[Row]:
    """Of these running entries, stop those a later start overtook (`records.overtaken`: one
    timer runs, the later start wins; `starting`: a timer about to start), each an offline
    edit the outbox queues for Toggl. Returns the stopped rows."""
    entry = records.Kind.TIME_ENTRY
    stops = records.overtaken(running, starting=starting)
    return [update(conn, entry, entry_id, values, now) for entry_id, values in stops.items()]


def one_timer(conn: Connection, now: datetime) -> list[Row]:
    """After the sync stored server records: at most one timer runs here (`stop_overtaken`).

    While a create is in flight, the synced entries that may be what it made (made since
    it was sent, and like it: `_landed_copies`) are left alone, and so is its own timer
    when it has one: the pull may just have brought our own record (stopped by Toggl
    meanwhile, or running, or moved on another device), and stopping it would make it
    look like someone else's. Reconciliation decides, then calls this again."""
    running = running_entries(conn)
    in_flight = {op.record_id: op for op in outbox.in_flight(conn) if op.resource is records.Kind.TIME_ENTRY}
    copies = {op.record_id: _landed_copies(conn, op) for op in in_flight.values()}
    twins = {r["id"] for r in running if copies.get(r["id"])}
    landed = set().union(*copies.values()) if copies else set()
    # A timer whose create is parked as undecided may be a record Toggl has (changed
    # elsewhere): it waits for the user's word untouched, or adopting it would send our stop.
    undecided = {op.record_id for op in outbox.parked(conn) if op.undecided and op.resource is records.Kind.TIME_ENTRY}
    # One timer per Toggl user: each account's timers are its own (issue 15).
    by_user: dict[Any, list[Row]] = {}
    for r in running:
        if r["id"] not in twins | undecided | landed:
            by_user.setdefault(r.get("user_id"), []).append(r)
    return [stopped for group in by_user.values() for stopped in stop_overtaken(conn, group, now)]


def _landed_copies(conn: Connection, op: outbox.Operation) -> set[int]:
    """Synced entries that may be what this in-flight create made: made since it was sent
    (an id above its mark) and like it (`records.create_match`); before marks were kept,
    those with its start."""
    fingerprint = op.fingerprint or {}
    after_id = fingerprint.get("after_id")
    kind = records.Kind.TIME_ENTRY
    if after_id is None:
        start = records.parse_ts(fingerprint.get("start"))
        if start is None:
            return set()
        found = sql.column(conn, "SELECT id FROM time_entries WHERE id > 0 AND start = ?", (timestamp_to_db(start),))
        return {int(i) for i in found}
    made_since = sql.rows(conn, f"SELECT * FROM {_table(kind)} WHERE id > ?", (after_id,))
    return {
        int(found["id"]) for found in made_since
        if records.create_match(kind, fingerprint, from_db(dict(found))) is not records.Match.NONE
    }


def check_references(conn: Connection, kind: str, workspace_id: int, values: Mapping[str, Any]) -> None:
    """Every record these values of a `kind` row point at exists, in the same workspace."""
    for ref in records.references_from(kind):
        for target_id in records.referenced_ids(ref, values):
            target = require(conn, ref.target, target_id)
            if target["workspace_id"] != workspace_id:
                label = records.spec(ref.target).label
                raise UsageError(f"{label} {records.format_id(target_id)} belongs to another workspace")


def referencing(conn: Connection, ref: Reference, target_id: int) -> list[int]:
    """Ids of the `ref.source` records whose `ref.field` names `target_id`."""
    if ref.many:
        pairs, source_column, target_column, _ = _link(ref)
        found = sql.column(
            conn, f"SELECT {source_column} FROM {pairs} WHERE {target_column} = ? ORDER BY {source_column}", (target_id,)
        )
    else:
        found = sql.column(
            conn, f"SELECT id FROM {_table(ref.source)} WHERE {ref.field} = ? ORDER BY id", (target_id,)
        )
    return [int(i) for i in found]


def highest_id(conn: Connection, kind: str) -> int | None:
    """The highest Toggl id of this kind stored here (None: none yet)."""
    found = sql.scalar(conn, f"SELECT max(id) FROM {_table(kind)} WHERE id > 0")
    return None if found is None else int(found)


# --- Toggl's answer ------------------------------------------------------------------------------


def take_server_version(
    conn: Connection, kind: str, record_id: int, server_row: Row, sent: Mapping[str, Any] | None, now: datetime
) -> None:
    """A write reached Toggl (`sent`: the state it carried): store the server's version of the
    record, unless the row changed here meanwhile; then its local values stay and what is
    still different is queued against the server's state."""
    current = get(conn, kind, record_id)
    if current is None:
        return
    server_state = records.state_of(kind, server_row)
    local_state = records.state_of(kind, current)
    changed_meanwhile = sent is not None and local_state != sent
    values = {k: v for k, v in server_row.items() if k != "id"}
    later = [op for op in outbox.for_record(conn, kind, record_id) if op.state is outbox.State.QUEUED]
    if changed_meanwhile or (sent is None and local_state != server_state):
        values = {k: v for k, v in values.items() if k not in records.spec(kind).editable}
        if not later and records.changed_fields(server_state, local_state):
            outbox.queue(conn, kind, outbox.Action.UPDATE, record_id, current["workspace_id"], server_state, now,
                         account=_sender(conn, kind, current["workspace_id"], current, None),
                         base_at=server_row.get("at"))
    if later:
        # An edit queued behind a create that was then sent again carries what Toggl
        # has now: based on its answer, only what is still different goes.
        outbox.rebase(conn, later[0].id, server_state, now, base_at=server_row.get("at"))
    write(conn, kind, record_id, values)


def adopt(conn: Connection, op: outbox.Operation, server_row: Row, now: datetime) -> int:
    """Toggl's record `server_row` is the one the create `op` made: the temporary row takes its
    id (a copy a pull stored under that id gives way), the create is settled, and the
    server's values are stored unless the row was edited since the create was sent.
    Returns the Toggl id."""
    kind, old_id, new_id = op.resource, op.record_id, int(server_row["id"])
    if old_id != new_id:
        delete_row(conn, kind, new_id)
        rewrite_id(conn, kind, old_id, new_id, now)
    outbox.settle(conn, op.id)
    take_server_version(conn, kind, new_id, server_row, (op.fingerprint or {}).get("sent"), now)
    return new_id
