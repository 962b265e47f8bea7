"""Reading the catalog: workspaces, members, and projects, clients and tags with what uses them.

What `togglsync projects|clients|tags|workspaces|users` list, as plain data,
for the CLI and the Python API alike. Reads only; edits go through
`local.LocalStore`. Plain SQL (`db.sql`) on either kind of connection.
"""

from __future__ import annotations

from typing import Any

from togglsync import lookup, records
from togglsync.db import sql
from togglsync.db.sql import Connection
from togglsync.db.stored import from_db
from togglsync.records import Reference, Row


def workspaces(conn: Connection, only: int | None = None) -> list[Row]:
    """Workspaces (or one), `default` marking the account's default one."""
    default = lookup.me_setting(conn, "default_workspace_id")
    where, params = ("WHERE id = ?", (only,)) if only is not None else ("", ())
    found = [from_db(r) for r in sql.rows(conn, f"SELECT * FROM workspaces {where} ORDER BY id", params)]
    return [
        {"id": r["id"], "name": r["name"], "organization_id": r["organization_id"],
         "premium": bool(r["premium"]), "default": r["id"] == default}
        for r in found
    ]


def members(conn: Connection, workspace: int) -> list[Row]:
    """A workspace's members as of the last sync, by name."""
    found = [from_db(r) for r in sql.rows(conn, "SELECT * FROM workspace_users WHERE workspace_id = ?", (workspace,))]
    out = [
        {"user_id": r["user_id"], "fullname": r["fullname"], "email": r["email"], "role": r["role"],
         "active": bool(r["is_active"])}
        for r in found
    ]
    return sorted(out, key=lambda r: ((r["fullname"] or r["email"] or "").casefold(), r["user_id"]))


def listing(conn: Connection, kind: str, workspace: int, *, archived: bool = False) -> list[Row]:
    """The records of one kind in a workspace, by name, each with:

    * `<target>` : the name of each record it references (a project's client);
    * `uses`: how many local records reference it, by kind (a project's time
      entries, a client's projects).
    Archived ones only when asked.
    """
    spec = records.spec(kind)
    found = [from_db(r) for r in sql.rows(conn, f"SELECT * FROM {spec.table} WHERE workspace_id = ?", (workspace,))]
    if spec.archived_when is not None and not archived:
        field, value = spec.archived_when
        found = [r for r in found if bool(r[field]) != value]
    names = {
        ref.field: _names(conn, ref.target, workspace)
        for ref in records.references_from(kind) if not ref.many
    }
    counts = {ref.source: _uses(conn, ref) for ref in records.references_to(kind)}
    out = []
    for row in found:
        item = dict(row)
        for field, known in names.items():
            target = row.get(field)
            item[f"{field}_name"] = None if target is None else known.get(target, records.format_id(target))
        item["uses"] = {str(source): count.get(row["id"], 0) for source, count in counts.items()}
        out.append(item)
    return sorted(out, key=lambda r: (r["name"].casefold(), str(r["id"])))


def usage(conn: Connection, kind: str, record_id: int) -> dict[str, int]:
    """How many local records reference this one, by kind (what deleting it touches)."""
    return {str(ref.source): _uses(conn, ref, record_id).get(record_id, 0) for ref in records.references_to(kind)}


def totals(conn: Connection) -> dict[records.Kind, int]:
    """How many records of each kind the database holds."""
    return {kind: int(sql.scalar(conn, f"SELECT count(*) FROM {spec.table}")) for kind, spec in records.SPECS.items()}


def name_of(conn: Connection, kind: str, record_id: int) -> str | None:
    name = sql.scalar(conn, f"SELECT name FROM {records.spec(kind).table} WHERE id = ?", (record_id,))
    return None if name is None else str(name)


def _names(conn: Connection, kind: str, workspace: int) -> dict[int, str]:
    table = records.spec(kind).table
    return {r["id"]: r["name"] for r in sql.rows(conn, f"SELECT id, name FROM {table} WHERE workspace_id = ?", (workspace,))}


def _uses(conn: Connection, ref: Reference, target: int | None = None) -> dict[int, int]:
    """Target id -> how many `ref.source` records reference it (one target, or all)."""
    params: tuple[Any, ...] = ()
    if ref.link is not None:
        table, _, column = ref.link
    else:
        table, column = records.spec(ref.source).table, ref.field
    where = f"WHERE {column} IS NOT NULL"
    if target is not None:
        where, params = f"WHERE {column} = ?", (target,)
    found = sql.rows(conn, f"SELECT {column} AS target, count(*) AS n FROM {table} {where} GROUP BY {column}", params)
    return {r["target"]: r["n"] for r in found}
