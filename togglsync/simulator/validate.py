"""Checks on values clients send, turned into Toggl-style 400s.

Shared by the rule sets (body fields) and the routes (query parameters).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from . import timefmt as tf
from .model import SimError


def bad(message: str) -> SimError:
    return SimError(400, message)


def body_object(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise bad("Invalid JSON input: expected an object")
    return body


def integer(value: Any, name: str) -> int:
    # bool is an int in Python, never in JSON.
    if isinstance(value, bool):
        raise bad(f"Invalid value for '{name}': {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise bad(f"Invalid value for '{name}': {value!r}")


def optional_integer(value: Any, name: str) -> int | None:
    return None if value is None else integer(value, name)


def boolean(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    raise bad(f"Invalid value for '{name}': {value!r}")


def optional_text(value: Any, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise bad(f"Invalid value for '{name}': {value!r}")


def integer_list(value: Any, name: str) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad(f"Invalid value for '{name}': expected a list")
    return [integer(item, name) for item in value]


def text_list(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise bad(f"Invalid value for '{name}': expected a list of strings")
    return list(value)


def instant(value: Any, name: str) -> datetime:
    try:
        return tf.parse_instant(value)
    except (TypeError, ValueError):
        raise bad(f"Invalid {name} time: {value!r} (expected RFC 3339)") from None


def date_or_instant(value: Any, name: str) -> datetime:
    try:
        return tf.parse_date_or_instant(value)
    except (TypeError, ValueError):
        raise bad(f"Invalid '{name}': {value!r} (expected YYYY-MM-DD or RFC 3339)") from None


def since(value: Any, *, now: datetime, max_age_days: int | None = None) -> datetime:
    """`since` (UNIX seconds) -> aware UTC; too old -> 400 when a limit applies.

    A value exactly `max_age_days` old is already too old: by the time a request
    arrives it has aged (toggl-api.md says to ask for 89 days, not 90).
    """
    seconds = integer(value, "since")
    moment = tf.from_unix(seconds)
    if max_age_days is not None and moment <= now - timedelta(days=max_age_days):
        raise bad(
            f"'since' is too old: it must be within the last {max_age_days} days; "
            "do a full sync instead"
        )
    return moment


def query_bool(value: str | None, name: str) -> bool | None:
    if value is None or value == "":
        return None
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise bad(f"Invalid value for '{name}': {value!r}")


def id_list(text: str, *, limit: int, what: str) -> list[int]:
    """`1,2,3` from a bulk path -> ids (deduplicated, in order)."""
    parts = [part.strip() for part in text.split(",")]
    for part in parts:
        if not part.isdigit():
            raise bad(f"Invalid {what} id: {part!r}")
    ids = list(dict.fromkeys(int(part) for part in parts))
    if len(ids) > limit:
        raise bad(f"Too many {what} ids: at most {limit} per request")
    return ids


def patch_operations(ops: Any, allowed_paths: set[str]) -> list[dict[str, Any]]:
    """A JSON-Patch array limited to the paths Toggl supports for the resource."""
    if not isinstance(ops, list) or not ops:
        raise bad("Invalid JSON input: expected a non-empty array of patch operations")
    for op in ops:
        if not isinstance(op, dict) or op.get("op") not in ("add", "remove", "replace"):
            raise bad(f"Invalid patch operation: {op!r}")
        if op.get("path") not in allowed_paths:
            raise bad(f"Unsupported patch path: {op.get('path')!r}")
        if op["op"] != "remove" and "value" not in op:
            raise bad(f"Patch operation without a value: {op!r}")
    return ops
