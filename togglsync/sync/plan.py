"""Pure sync decisions: API records -> table rows, cursors, what to fetch.

No HTTP and no database here (imports neither `api` nor `db`), so every rule
can be tested with plain dicts.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, TypeVar

from togglsync.errors import BadResponse

# The API is eventually consistent: re-read this much before the cursor.
CURSOR_OVERLAP = timedelta(minutes=2)
# /me/time_entries rejects start dates older than about 3 months; stay inside.
HISTORY_DAYS = 89


def parse_ts(value: Any) -> datetime | None:
    """Parse the API's timestamp forms (`...Z`, `...+00:00`, with or without micros) to aware UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif not isinstance(value, str):
        # Fix: a number used to go through str(), and 3.11 reads "20260105" as a date.
        raise ValueError(f"not a timestamp: {_short(value)}")
    else:
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not a timestamp: {_short(value)}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def format_ts(dt: datetime) -> str:
    """The form Toggl accepts in request bodies."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_deleted(record: dict[str, Any]) -> bool:
    return bool(record.get("server_deleted_at") or record.get("deleted_at"))


def _first(record: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if record.get(key) is not None:
            return record[key]
    return None


# --- validating what the server sent -------------------------------------------------------
#
# Fix: the row builders used int()/str() on whatever came, so a record with
# `"id": "abc"` or `"start": 12` raised a bare ValueError/TypeError (a traceback
# in the CLI), and some wrong types were silently accepted (`"tag_ids": "12"`
# became [1, 2]). Every field a row takes is checked now, and a malformed
# record is a BadResponse naming the record and field, never its other values.

_SQLITE_INT = (-(2**63), 2**63 - 1)


class _FieldError(ValueError):
    def __init__(self, field: str, problem: str):
        super().__init__(f"field {field!r} {problem}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _as_int(value: Any, field: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _FieldError(field, f"is not an integer: {_short(value)}")
    if not _SQLITE_INT[0] <= value <= _SQLITE_INT[1]:
        raise _FieldError(field, "is out of range")
    return value


def _opt_int(value: Any, field: str) -> int | None:
    return None if value is None else _as_int(value, field)


def _opt_str(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _FieldError(field, f"is not a string: {_short(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _FieldError(field, "is not valid unicode") from None
    return value


def _ts_field(record: dict[str, Any], field: str) -> datetime | None:
    try:
        return parse_ts(record.get(field))
    except ValueError as error:
        raise _FieldError(field, str(error)) from None


def _int_list(value: Any, field: str = "tag_ids") -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _FieldError(field, f"is not a list: {_short(value)}")
    return [_as_int(v, field) for v in value]


def _str_list(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _FieldError(field, f"is not a list: {_short(value)}")
    return [_opt_str(v, field) or "" for v in value]


_Row = TypeVar("_Row", bound=Callable[..., dict[str, Any]])


def _validated(what: str) -> Callable[[_Row], _Row]:
    """Turn any malformed-record failure of a row builder into a BadResponse."""

    def wrap(build: _Row) -> _Row:
        @functools.wraps(build)
        def checked(*args: Any, **kwargs: Any) -> dict[str, Any]:
            record = next((a for a in args if not isinstance(a, int) or isinstance(a, bool)), None)
            if not isinstance(record, dict):
                raise BadResponse(200, f"expected a {what} record (an object), got {type(record).__name__}")
            try:
                return build(*args, **kwargs)
            except (_FieldError, KeyError, OverflowError) as error:
                which = record.get("id")
                named = f" {which}" if isinstance(which, int) and not isinstance(which, bool) else ""
                detail = f"field {str(error)} is missing" if isinstance(error, KeyError) else str(error)
                if isinstance(error, OverflowError):
                    detail = "a time or duration is out of range"
                raise BadResponse(200, f"malformed {what} record{named}: {detail}") from None

        return checked  # type: ignore[return-value]

    return wrap


@_validated("time entry")
def entry_row(record: dict[str, Any]) -> dict[str, Any]:
    """A time entry as the API sends it -> a `time_entries` row.

    Normalises what the API is inconsistent about: `tags`/`tag_ids` are null
    right after a create, any negative duration means "running" (create says
    -1, `current` says -start), legacy `wid`/`pid`/`uid`/`tid` copies.
    """
    duration = _opt_int(record.get("duration"), "duration")
    duration = duration if duration is not None else 0
    start = _ts_field(record, "start")
    stop = _ts_field(record, "stop")
    if duration < 0:
        duration, stop = -1, None
    elif stop is None and start is not None:
        stop = start + timedelta(seconds=duration)
    return {
        "id": _as_int(record["id"], "id"),
        "workspace_id": _opt_int(_first(record, "workspace_id", "wid"), "workspace_id"),
        "user_id": _opt_int(_first(record, "user_id", "uid"), "user_id"),
        "project_id": _opt_int(_first(record, "project_id", "pid"), "project_id"),
        "task_id": _opt_int(_first(record, "task_id", "tid"), "task_id"),
        "description": _opt_str(record.get("description"), "description"),
        "start": start,
        "stop": stop,
        "duration": duration,
        "billable": bool(record.get("billable")),
        "tag_ids": _int_list(record.get("tag_ids")),
        "tags": _str_list(record.get("tags"), "tags"),
        "at": _ts_field(record, "at"),
        "raw": record,
    }


@_validated("project")
def project_row(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": _as_int(record["id"], "id"),
        "workspace_id": _opt_int(_first(record, "workspace_id", "wid"), "workspace_id"),
        "client_id": _opt_int(_first(record, "client_id", "cid"), "client_id"),
        "name": _opt_str(record.get("name"), "name") or "",
        "active": bool(record.get("active", True)),
        "is_private": bool(record.get("is_private")),
        "color": _opt_str(record.get("color"), "color"),
        "billable": bool(record.get("billable")),
        "created_at": _ts_field(record, "created_at"),
        "at": _ts_field(record, "at"),
        "raw": record,
    }


@_validated("client")
def client_row(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": _as_int(record["id"], "id"),
        "workspace_id": _opt_int(_first(record, "wid", "workspace_id"), "workspace_id"),
        "name": _opt_str(record.get("name"), "name") or "",
        "archived": bool(record.get("archived")),
        "notes": _opt_str(record.get("notes"), "notes"),
        "creator_id": _opt_int(record.get("creator_id"), "creator_id"),
        "at": _ts_field(record, "at"),
        "raw": record,
    }


@_validated("tag")
def tag_row(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": _as_int(record["id"], "id"),
        "workspace_id": _opt_int(_first(record, "workspace_id", "wid"), "workspace_id"),
        "name": _opt_str(record.get("name"), "name") or "",
        "creator_id": _opt_int(record.get("creator_id"), "creator_id"),
        "at": _ts_field(record, "at"),
        "raw": record,
    }


@_validated("workspace")
def workspace_row(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": _as_int(record["id"], "id"),
        "organization_id": _opt_int(record.get("organization_id"), "organization_id"),
        "name": _opt_str(record.get("name"), "name") or "",
        "premium": bool(record.get("premium")),
        "at": _ts_field(record, "at"),
        "raw": record,
    }


@_validated("workspace user")
def workspace_user_row(workspace_id: int, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "workspace_id": workspace_id,
        "user_id": _as_int(_first(record, "user_id", "id"), "user_id"),
        "email": _opt_str(record.get("email"), "email"),
        "fullname": _opt_str(record.get("fullname"), "fullname") or _opt_str(record.get("name"), "name"),
        "role": record.get("role") or ("admin" if record.get("admin") else None),
        "is_active": bool(record.get("is_active", record.get("active", True))),
        "raw": record,
    }


@_validated("account")
def account_row(record: dict[str, Any], synced_at: datetime) -> dict[str, Any]:
    # Fix: GET /me answers with the user's `api_token`; the raw JSON kept it in the
    # database, where `togglsync sql` (and anyone with the file) could read it.
    core = {k: v for k, v in record.items() if k not in _RELATED and not is_secret_field(k)}
    return {
        "id": _as_int(record["id"], "id"),
        "email": _opt_str(record.get("email"), "email"),
        "fullname": _opt_str(record.get("fullname"), "fullname"),
        "timezone": _opt_str(record.get("timezone"), "timezone"),
        "default_workspace_id": _opt_int(record.get("default_workspace_id"), "default_workspace_id"),
        "beginning_of_week": _opt_int(record.get("beginning_of_week"), "beginning_of_week"),
        "at": _ts_field(record, "at"),
        "raw": core,
        "synced_at": synced_at,
    }


# Fields of `GET /me` that are credentials: never stored. The rule migration 0004 applied
# to databases written before it (spelled out there too: migrations do not import us).
# Not "*password*": GET /me has a harmless boolean `has_password`.
_SECRET_NAMES = frozenset({"api_token", "api_key", "apikey", "password"})


def is_secret_field(key: str) -> bool:
    name = key.lower()
    return name in _SECRET_NAMES or "token" in name
# Lists `GET /me?with_related_data=true` embeds; not part of the account row's raw JSON.
_RELATED = frozenset({"clients", "projects", "tags", "tasks", "time_entries", "workspaces"})


def next_cursor(previous: datetime | None, records: Iterable[dict[str, Any]], server_time: datetime | None) -> datetime | None:
    """The server-clock watermark after a pull: the newest `at` seen, or the response's Date.

    Never moves backwards. The local clock is never consulted.
    """
    candidates = [parse_ts(r.get("at")) for r in records]
    candidates = [c for c in candidates if c is not None]
    if server_time is not None:
        candidates.append(server_time)
    if previous is not None:
        candidates.append(previous)
    return max(candidates) if candidates else None


def since_for(cursor: datetime) -> int:
    """UNIX seconds to send as `since`, overlapping the window to survive eventual consistency."""
    return int((cursor - CURSOR_OVERLAP).timestamp())


UNKNOWN_REFS_REASON = "entries reference unknown projects or tags"


@dataclass(frozen=True)
class CatalogDecision:
    refresh: bool
    reason: str


def catalog_decision(
    last_refresh: datetime | None,
    server_now: datetime | None,
    max_age: timedelta,
    unknown_refs: bool = False,
) -> CatalogDecision:
    """Refresh the catalog (me, workspaces, clients, projects, tags, users) or not."""
    if last_refresh is None:
        return CatalogDecision(True, "first sync")
    if unknown_refs:
        return CatalogDecision(True, UNKNOWN_REFS_REASON)
    if server_now is not None and server_now - last_refresh >= max_age:
        return CatalogDecision(True, "catalog older than the maximum age")
    return CatalogDecision(False, "fresh")


# --- record state, diffs and the three-way merge -------------------------------------------
#
# A record's "state" is the dict of the fields a user can edit, in JSON-able
# form (timestamps as ISO text, tag ids sorted). Pending operations keep the
# state they were made on as their merge base; payloads and merges are
# computed from states, never from stored deltas.

EDITABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "time_entry": ("description", "project_id", "task_id", "start", "stop", "duration", "billable", "tag_ids"),
    "project": ("name", "client_id", "color", "billable", "is_private", "active"),
    "client": ("name", "notes", "archived"),
    "tag": ("name",),
}

# Fields that reference other records (rewritten when a temporary id is replaced).
REFERENCE_FIELDS: dict[str, dict[str, str]] = {
    "time_entry": {"project_id": "project", "tag_ids": "tag"},
    "project": {"client_id": "client"},
    "client": {},
    "tag": {},
}

# Push order: what others reference goes first; deletes go in the reverse order.
RESOURCE_ORDER = ("client", "project", "tag", "time_entry")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_ts(value)
    if isinstance(value, (list, tuple)):
        return sorted(value)
    return value


def state_of(resource: str, row: dict[str, Any]) -> dict[str, Any]:
    """The editable fields of a table row (or a row built from an API record)."""
    return {f: _jsonable(row.get(f)) for f in EDITABLE_FIELDS[resource]}


def changed_fields(base: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """The fields whose value differs from the base, with their current value."""
    return {f: v for f, v in current.items() if base.get(f) != v}


@dataclass(frozen=True)
class FieldConflict:
    field: str
    base: Any
    local: Any
    remote: Any
    kept: str  # "local" or "remote"


def merge3(
    base: dict[str, Any],
    local: dict[str, Any],
    remote: dict[str, Any],
    policy: str = "local",
) -> tuple[dict[str, Any], list[FieldConflict]]:
    """Three-way merge of one record's state.

    A field changed on one side only takes that side. Changed on both sides to
    the same value: no conflict. Changed differently: `policy` ("local" or
    "remote") wins and a FieldConflict says what the other side had. Tag ids
    are a set: additions and removals from both sides are combined.
    """
    merged: dict[str, Any] = {}
    conflicts: list[FieldConflict] = []
    for field in local:
        b, l, r = base.get(field), local.get(field), remote.get(field)
        if field == "tag_ids":
            b_set, l_set, r_set = set(b or []), set(l or []), set(r or [])
            merged[field] = sorted((b_set | (l_set - b_set) | (r_set - b_set)) - (b_set - l_set) - (b_set - r_set))
            continue
        if l == b:
            merged[field] = r
        elif r == b or r == l:
            merged[field] = l
        else:
            kept = "remote" if policy == "remote" else "local"
            merged[field] = r if kept == "remote" else l
            conflicts.append(FieldConflict(field, b, l, r, kept))
    # Time fields must stay consistent as a group: if the merge mixed the
    # start of one side with the stop of the other, keep the duration honest.
    if "duration" in merged and merged.get("start") and merged.get("stop"):
        start, stop = parse_ts(merged["start"]), parse_ts(merged["stop"])
        if start and stop and stop < start:
            # Fix: one side moved the start past the stop the other side set (e.g. a
            # running timer's start edited here, stopped elsewhere). The mix used to
            # give a negative duration, which the table refuses: every later sync
            # failed on it. The times are one value then, changed on both sides:
            # the policy's side keeps all three, the other side's are conflicts.
            kept = "remote" if policy == "remote" else "local"
            winner = remote if kept == "remote" else local
            conflicts = [c for c in conflicts if c.field not in _TIME_FIELDS]
            for f in _TIME_FIELDS:
                merged[f] = winner.get(f)
                if local.get(f) != remote.get(f):
                    conflicts.append(FieldConflict(f, base.get(f), local.get(f), remote.get(f), kept))
        elif start and stop and merged["duration"] is not None and merged["duration"] >= 0:
            merged["duration"] = int((stop - start).total_seconds())
    return merged, conflicts


_TIME_FIELDS = ("start", "stop", "duration")


def entry_body(state: dict[str, Any]) -> dict[str, Any]:
    """Request body fields for a time entry state (or part of one)."""
    body = dict(state)
    if "duration" in body and body["duration"] is not None and body["duration"] < 0:
        body["duration"] = -1
        body.pop("stop", None)
    return body


def fingerprint_matches(fingerprint: dict[str, Any], record: dict[str, Any]) -> bool:
    """Is this server time entry the one a create with this fingerprint made?"""
    row = entry_row(record)
    start = format_ts(row["start"]) if row["start"] else None
    sent_running = (fingerprint.get("duration") or 0) < 0
    return (
        row["workspace_id"] == fingerprint.get("workspace_id")
        and start == fingerprint.get("start")
        and (row["description"] or "") == (fingerprint.get("description") or "")
        # Fix: a running entry we created may have been stopped by Toggl since
        # (starting a timer anywhere stops the running one), so a sent timer
        # matches a stopped record too; requiring "still running" resent it and
        # duplicated it. A stopped entry we sent can never come back running.
        and (sent_running or row["duration"] >= 0)
    )
