"""Turn what a user types (names, ids, `-1`, `L5`) into record ids, offline, with helpful errors.

Names match case-insensitively within a workspace; an unknown name is an
error that suggests the closest existing names. Records created offline and
not pushed yet have negative ids in the database and are written `L<n>` on
the command line (`L5` is id -5), so they never clash with `-1`, `-2`...
which count back from the most recent entry.
"""

from __future__ import annotations

import difflib
import re
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from togglsync.db.models import Account, Client, Project, Tag, TimeEntry, Workspace
from togglsync.errors import UsageError

MODELS = {"project": Project, "client": Client, "tag": Tag, "workspace": Workspace}


def format_id(record_id: int) -> str:
    """How the CLI shows an id: Toggl's as is, an unsynced record's as L<n>."""
    return f"L{-record_id}" if record_id < 0 else str(record_id)


# SQLite's INTEGER: anything past it cannot be an id (and would overflow the driver).
MAX_ID = 2**63 - 1


def parse_id(text: str) -> int:
    """`123` or `L5` -> a database id (L5 -> -5)."""
    value = (text or "").strip()
    match = re.fullmatch(r"([Ll]?)(\d+)", value)
    if match:
        number = int(match.group(2))
        if number > MAX_ID:
            raise UsageError(f"{text!r} is too large to be an id")
        return -number if match.group(1) else number
    raise UsageError(f"{text!r} is not an id: use a Toggl id like 4100000123 or a local id like L5")


def account(conn: Connection) -> dict[str, Any]:
    row = conn.execute(select(Account.__table__)).mappings().first()
    if row is None:
        raise UsageError("no account data yet: run `togglsync sync` once while online")
    return dict(row)


def display_tz(conn: Connection, override: str | None = None) -> ZoneInfo:
    """--tz (or the config's timezone), else the account's Toggl time zone, else UTC."""
    from togglsync.timeparse import resolve_tz

    if override:
        try:
            return resolve_tz(override)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    name = conn.execute(select(Account.timezone)).scalar()
    try:
        return resolve_tz(name)
    except ValueError:
        return resolve_tz(None)


def beginning_of_week(conn: Connection) -> int:
    value = conn.execute(select(Account.beginning_of_week)).scalar()
    return int(value) if value is not None and 0 <= int(value) <= 6 else 1


def _suggest(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.5)
    if not close:
        lowered = {c.casefold(): c for c in candidates}
        close = [lowered[c] for c in difflib.get_close_matches(name.casefold(), list(lowered), n=3, cutoff=0.5)]
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def workspace_id(conn: Connection, value: str | None) -> int:
    """A workspace by name or id; None means the account's default workspace."""
    if value is None or value == "":
        wid = account(conn).get("default_workspace_id")
        if wid is None:
            raise UsageError("no default workspace: pass -w/--workspace")
        return int(wid)
    rows = conn.execute(select(Workspace.id, Workspace.name)).all()
    if value.strip().isdigit() and any(r.id == int(value) for r in rows):
        return int(value)
    matches = [r.id for r in rows if r.name.casefold() == value.strip().casefold()]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise UsageError(f"several workspaces are named {value!r}: use its id")
    raise UsageError(f"no workspace {value!r}{_suggest(value, [r.name for r in rows])}")


def find_id(conn: Connection, kind: str, workspace: int, value: str) -> int | None:
    """A project/client/tag by name or id in a workspace, or None if there is none."""
    model = MODELS[kind]
    text = value.strip()
    if re.fullmatch(r"[Ll]?\d+", text) and int(text.lstrip("Ll")) <= MAX_ID:
        record_id = parse_id(text)
        if conn.execute(select(model.id).where(model.id == record_id, model.workspace_id == workspace)).first():
            return record_id
    rows = conn.execute(select(model.id, model.name).where(model.workspace_id == workspace)).all()
    matches = [r.id for r in rows if r.name.casefold() == text.casefold()]
    if len(matches) > 1:
        raise UsageError(f"several {kind}s are named {value!r}: use its id")
    return matches[0] if matches else None


def require_id(conn: Connection, kind: str, workspace: int, value: str) -> int:
    """Like find_id, but an unknown name is an error suggesting the closest names."""
    found = find_id(conn, kind, workspace, value)
    if found is not None:
        return found
    model = MODELS[kind]
    names = list(conn.execute(select(model.name).where(model.workspace_id == workspace)).scalars())
    hint = _suggest(value, names)
    create = " (or pass --create to create it offline)" if kind in ("project", "tag") else ""
    raise UsageError(f"no {kind} named {value!r} in this workspace{hint}{create}")


def entry_id(conn: Connection, value: str) -> int:
    """An entry by Toggl id, local id (L5), or -N: the Nth most recent entry by start time."""
    text = (value or "").strip()
    match = re.fullmatch(r"-(\d+)", text)
    if match:
        n = int(match.group(1))
        if n < 1:
            raise UsageError("-N counts from -1 (the most recent entry)")
        found = conn.execute(select(TimeEntry.id).order_by(TimeEntry.start.desc(), TimeEntry.id.desc()).offset(n - 1).limit(1)).scalar()
        if found is None:
            raise UsageError(f"there is no entry {text}: only {conn.execute(select(TimeEntry.id)).all().__len__()} entries")
        return found
    record_id = parse_id(text)
    if conn.execute(select(TimeEntry.id).where(TimeEntry.id == record_id)).first() is None:
        raise UsageError(f"no time entry {text}")
    return record_id
