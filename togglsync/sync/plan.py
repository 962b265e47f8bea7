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
        return CatalogDecision(True, "entries reference unknown projects, clients or tags")
    if server_now is not None and server_now - last_refresh >= max_age:
        return CatalogDecision(True, "catalog older than the maximum age")
    return CatalogDecision(False, "fresh")
