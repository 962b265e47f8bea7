"""Pure sync decisions: API records -> table rows, cursors, what to fetch.

No HTTP and no database here (imports neither `api` nor `db`), so every rule
can be tested with plain dicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

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
    else:
        text = str(value).strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not a timestamp: {value!r}") from None
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


def _int_list(value: Any) -> list[int]:
    if not value:
        return []
    return [int(v) for v in value]


def entry_row(record: dict[str, Any]) -> dict[str, Any]:
    """A time entry as the API sends it -> a `time_entries` row.

    Normalises what the API is inconsistent about: `tags`/`tag_ids` are null
    right after a create, any negative duration means "running" (create says
    -1, `current` says -start), legacy `wid`/`pid`/`uid`/`tid` copies.
    """
    duration = record.get("duration")
    duration = int(duration) if duration is not None else 0
    start = parse_ts(record.get("start"))
    stop = parse_ts(record.get("stop"))
    if duration < 0:
        duration, stop = -1, None
    elif stop is None and start is not None:
        stop = start + timedelta(seconds=duration)
    return {
        "id": int(record["id"]),
        "workspace_id": _first(record, "workspace_id", "wid"),
        "user_id": _first(record, "user_id", "uid"),
        "project_id": _first(record, "project_id", "pid"),
        "task_id": _first(record, "task_id", "tid"),
        "description": record.get("description"),
        "start": start,
        "stop": stop,
        "duration": duration,
        "billable": bool(record.get("billable")),
        "tag_ids": _int_list(record.get("tag_ids")),
        "tags": list(record.get("tags") or []),
        "at": parse_ts(record.get("at")),
        "raw": record,
    }


def project_row(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": int(record["id"]),
        "workspace_id": _first(record, "workspace_id", "wid"),
        "client_id": _first(record, "client_id", "cid"),
        "name": record.get("name") or "",
        "active": bool(record.get("active", True)),
        "is_private": bool(record.get("is_private")),
        "color": record.get("color"),
        "billable": bool(record.get("billable")),
        "created_at": parse_ts(record.get("created_at")),
        "at": parse_ts(record.get("at")),
        "raw": record,
    }


def client_row(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": int(record["id"]),
        "workspace_id": _first(record, "wid", "workspace_id"),
        "name": record.get("name") or "",
        "archived": bool(record.get("archived")),
        "notes": record.get("notes"),
        "creator_id": record.get("creator_id"),
        "at": parse_ts(record.get("at")),
        "raw": record,
    }


def tag_row(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": int(record["id"]),
        "workspace_id": _first(record, "workspace_id", "wid"),
        "name": record.get("name") or "",
        "creator_id": record.get("creator_id"),
        "at": parse_ts(record.get("at")),
        "raw": record,
    }


def workspace_row(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": int(record["id"]),
        "organization_id": record.get("organization_id"),
        "name": record.get("name") or "",
        "premium": bool(record.get("premium")),
        "at": parse_ts(record.get("at")),
        "raw": record,
    }


def workspace_user_row(workspace_id: int, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "workspace_id": workspace_id,
        "user_id": int(_first(record, "user_id", "id")),
        "email": record.get("email"),
        "fullname": record.get("fullname") or record.get("name"),
        "role": record.get("role") or ("admin" if record.get("admin") else None),
        "is_active": bool(record.get("is_active", record.get("active", True))),
        "raw": record,
    }


def account_row(record: dict[str, Any], synced_at: datetime) -> dict[str, Any]:
    core = {k: v for k, v in record.items() if k not in _RELATED}
    return {
        "id": int(record["id"]),
        "email": record.get("email"),
        "fullname": record.get("fullname"),
        "timezone": record.get("timezone"),
        "default_workspace_id": record.get("default_workspace_id"),
        "beginning_of_week": record.get("beginning_of_week"),
        "at": parse_ts(record.get("at")),
        "raw": core,
        "synced_at": synced_at,
    }


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
