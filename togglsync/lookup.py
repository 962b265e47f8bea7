"""Turn what a user types (names, ids, `-1`, `L5`) into record ids, offline, with helpful errors.

Names match case-insensitively within a workspace; an unknown name is an
error that suggests the closest existing names. Records created offline and
not pushed yet have negative ids in the database and are written `L<n>` on
the command line (`L5` is id -5), so they never clash with `-1`, `-2`...
which count back from the most recent entry. Once pushed, `L5` still names
the record: `rows.rewrite_id` keeps the pair in `id_map`, and `pushed_as`
reads it (the CLI says "L5 was pushed; it is now 4100000502").
"""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

from togglsync import accounts, records
from togglsync.records import MAX_ID, parse_id
from togglsync.db import sql
from togglsync.db.sql import Connection
from togglsync.db.stored import from_db
from togglsync.errors import UsageError

# Plain SQL (db.sql) on any connection: `status`, `start` and `stop` resolve
# names without importing SQLAlchemy.


def account(conn: Connection, name: str | None = None) -> dict[str, Any]:
    """The Toggl user (its GET /me) of the account offline edits go to: `name` (`--account`),
    else main, else the first synced (`accounts.chosen_user`)."""
    user = accounts.chosen_user(conn, name)
    if user is not None:
        row = sql.first(conn, "SELECT * FROM account WHERE id = ?", (user,))
    else:
        row = sql.first(conn, "SELECT * FROM account ORDER BY id LIMIT 1")
    if row is None:
        raise UsageError("no account data yet: run `togglsync sync` once while online")
    return from_db(row)


def account_filter(conn: Connection, name: str | None) -> int | None:
    """The Toggl user whose entries a listing (`log`, `report`) keeps: that of `--account NAME`;
    None (no --account): every account's."""
    return None if name is None else accounts.chosen_user(conn, name)


def user_id(conn: Connection, name: str | None = None) -> int | None:
    """The Toggl user id of that account; None before any sync (nothing to tell apart then)."""
    if name is None and sql.scalar(conn, "SELECT count(*) FROM account") == 0:
        return None
    return int(account(conn, name)["id"])


def me_setting(conn: Connection, column: str) -> Any:
    """A setting of the default account's Toggl user (main's, else the first synced)."""
    user = accounts.chosen_user(conn, None)
    if user is not None:
        return sql.scalar(conn, f"SELECT {column} FROM account WHERE id = ?", (user,))
    return sql.scalar(conn, f"SELECT {column} FROM account ORDER BY id LIMIT 1")


def display_tz(conn: Connection, override: str | None = None) -> ZoneInfo:
    """--tz (or the config's timezone), else the account's Toggl time zone, else UTC."""
    from togglsync.timeparse import resolve_tz

    if override:
        try:
            return resolve_tz(override)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    name = me_setting(conn, "timezone")
    try:
        return resolve_tz(name)
    except ValueError:
        return resolve_tz(None)


def beginning_of_week(conn: Connection) -> int:
    value = me_setting(conn, "beginning_of_week")
    return int(value) if value is not None and 0 <= int(value) <= 6 else 1


def suggest(name: str, candidates: list[str]) -> str:
    """`; did you mean 'A', 'B'?` for the names closest to `name` (any case), or nothing."""
    import difflib  # here: only a name not found asks for it

    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.5)
    if not close:
        lowered = {c.casefold(): c for c in candidates}
        close = [lowered[c] for c in difflib.get_close_matches(name.casefold(), list(lowered), n=3, cutoff=0.5)]
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def workspace_id(conn: Connection, value: str | None, account_name: str | None = None) -> int:
    """A workspace by name or id; None means the account's default workspace."""
    if value is None or value == "":
        wid = account(conn, account_name).get("default_workspace_id")
        if wid is None:
            raise UsageError("no default workspace: pass -w/--workspace")
        return int(wid)
    rows = sql.rows(conn, "SELECT id, name FROM workspaces")
    if value.strip().isdigit() and any(r["id"] == int(value) for r in rows):
        return int(value)
    matches = [r["id"] for r in rows if r["name"].casefold() == value.strip().casefold()]
    if len(matches) == 1:
        return int(matches[0])
    if len(matches) > 1:
        raise UsageError(f"several workspaces are named {value!r}: use its id")
    raise UsageError(f"no workspace {value!r}{suggest(value, [r['name'] for r in rows])}")


def find_id(conn: Connection, kind: str, workspace: int, value: str) -> int | None:
    """A record by name or id in a workspace, or None if there is none."""
    hits = _matches(conn, kind, value, [workspace])
    return hits[0][0] if hits else None


def resolve(
    conn: Connection, kind: str, value: str, workspace: int | None, *, strict: bool = True, can_create: bool = False
) -> tuple[int, int]:
    """A project, client or tag named by a person (name, Toggl id or L<n>) -> (its id, its workspace).

    `workspace` None: looked up in every workspace; a name found in several is
    an error. Otherwise in that workspace; when not `strict` (no workspace was
    named, the default one is searched), an id is also found in another one.
    An unknown name is an error suggesting the closest names (and `--create`
    when the command can create the record).
    """
    label = records.spec(kind).label
    text = (value or "").strip()
    if not text:
        raise UsageError(f"give a {label} name or id")
    spaces = [workspace] if workspace is not None else sql.column(conn, "SELECT id FROM workspaces ORDER BY id")
    hits = _matches(conn, kind, text, spaces)
    if len({record_id for record_id, _ in hits}) == 1:
        return hits[0]
    if hits:
        raise UsageError(f"there is a {label} {text!r} in several workspaces: pass -w/--workspace")
    table = records.spec(kind).table
    if workspace is not None and re.fullmatch(_ID, text) and int(text.lstrip("Ll")) <= MAX_ID:
        record_id = _current_id(conn, kind, text)
        elsewhere = sql.scalar(conn, f"SELECT workspace_id FROM {table} WHERE id = ?", (record_id,))
        if elsewhere is not None:
            if not strict:
                return record_id, int(elsewhere)
            raise UsageError(
                f"{label} {text} is in {_workspace_label(conn, int(elsewhere))}, not {_workspace_label(conn, workspace)}"
            )
    if workspace is None:
        names = sql.column(conn, f"SELECT DISTINCT name FROM {table}")
        where = ""
    else:
        names = sql.column(conn, f"SELECT name FROM {table} WHERE workspace_id = ?", (workspace,))
        where = f" in {_workspace_label(conn, workspace)}"
    create = " (or pass --create to create it offline)" if can_create else ""
    raise UsageError(f"no {label} named {text!r}{where}{suggest(text, names)}{create}")


_ID = r"[Ll]?\d+"  # compiled on first use (re's cache)


def pushed_as(conn: Connection, kind: str, local_id: int) -> int | None:
    """The Toggl id a record created offline as `local_id` (negative) got when pushed, if it was."""
    if local_id >= 0:
        return None
    found = sql.scalar(conn, "SELECT toggl_id FROM id_map WHERE kind = ? AND local_id = ?", (str(kind), local_id))
    return None if found is None else int(found)


def _current_id(conn: Connection, kind: str, text: str) -> int:
    """The id `text` names now: `L5`, once pushed, is the Toggl id it got; else as written."""
    record_id = parse_id(text)
    table = records.spec(kind).table
    if record_id < 0 and sql.first(conn, f"SELECT 1 FROM {table} WHERE id = ?", (record_id,)) is None:
        return pushed_as(conn, kind, record_id) or record_id
    return record_id


def pushed_note(text: str, record_id: int) -> str | None:
    """What to tell a person who named a record by the `L<n>` it had before its push."""
    value = (text or "").strip()
    if re.fullmatch(r"[Ll]\d+", value) and record_id > 0:
        return f"{value.upper()} was pushed; it is now {record_id}"
    return None


def _matches(conn: Connection, kind: str, text: str, workspaces: list[int]) -> list[tuple[int, int]]:
    """(id, workspace) of the records this text names in these workspaces: by id first, else by name."""
    table = records.spec(kind).table
    text = text.strip()
    found: list[tuple[int, int]] = []
    for workspace in workspaces:
        if re.fullmatch(_ID, text) and int(text.lstrip("Ll")) <= MAX_ID:
            record_id = _current_id(conn, kind, text)
            if sql.first(conn, f"SELECT 1 FROM {table} WHERE id = ? AND workspace_id = ?", (record_id, workspace)):
                found.append((record_id, workspace))
                continue
        named = sql.rows(conn, f"SELECT id, name FROM {table} WHERE workspace_id = ?", (workspace,))
        same = [row["id"] for row in named if records.same_name(row["name"], text)]
        if len(same) > 1:
            raise UsageError(f"several {records.spec(kind).label}s are named {text!r}: use its id")
        found += [(record_id, workspace) for record_id in same]
    return found


def entry_id(conn: Connection, value: str) -> int:
    """An entry by Toggl id, local id (L5), or -N: the Nth most recent entry by start time."""
    text = (value or "").strip()
    match = re.fullmatch(r"-(\d+)", text)
    if match:
        n = int(match.group(1))
        if n < 1:
            raise UsageError("-N counts from -1 (the most recent entry)")
        found = sql.scalar(conn, "SELECT id FROM time_entries ORDER BY start DESC, id DESC LIMIT 1 OFFSET ?", (n - 1,))
        if found is None:
            count = sql.scalar(conn, "SELECT count(*) FROM time_entries")
            raise UsageError(f"there is no entry {text}: only {count} entries")
        return int(found)
    record_id = _current_id(conn, records.Kind.TIME_ENTRY, text)
    if sql.first(conn, "SELECT 1 FROM time_entries WHERE id = ?", (record_id,)) is None:
        if record_id > 0 and record_id != parse_id(text):
            raise UsageError(f"{text.upper()} was pushed as {record_id}, which is no longer here (deleted)")
        raise UsageError(f"no time entry {text}")
    return record_id


def require_free_name(conn: Connection, kind: str, workspace: int, name: str, *, exclude: int | None = None) -> None:
    """Names are unique per workspace, ignoring case (outside ASCII too, which SQL lower() is not)."""
    spec = records.spec(kind)
    found = sql.rows(conn, f"SELECT id, name FROM {spec.table} WHERE workspace_id = ?", (workspace,))
    for row in found:
        if row["id"] != exclude and records.same_name(row["name"], name):
            raise UsageError(f"a {spec.label} named {row['name']!r} already exists in {_workspace_label(conn, workspace)}")


def _workspace_label(conn: Connection, workspace: int) -> str:
    name = sql.scalar(conn, "SELECT name FROM workspaces WHERE id = ?", (workspace,))
    return f"workspace {name!r}" if name else "this workspace"
