"""The stored form of our values, without SQLAlchemy: timestamps and JSON as the schema keeps them.

`db.types` gives SQLAlchemy columns these forms; code that talks to the
sqlite3 driver directly (see `db.sql`) reads and writes them with the
functions here, so both paths put the same bytes on disk.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

# The fallback for what orjson will not write (integers past 64 bits, lone
# surrogates, non-string keys): the standard library's encoder, same options.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)


def to_utc_text(value: datetime) -> str:
    """Aware datetime -> the stored text. Naive datetimes are refused: their zone is a guess."""
    if value.__class__ is datetime and value.tzinfo is timezone.utc:
        # The usual case (everything we parse is converted to UTC), without the
        # conversion: str() is isoformat(sep=" "), ending with "+00:00" here, without
        # the keyword argument's cost (a third of the call).
        return str(value)[:-6]
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}: {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"naive datetime {value.isoformat()} has no time zone; "
            "pass an aware datetime (e.g. tzinfo=timezone.utc)"
        )
    # isoformat pads the year to 4 digits and omits a zero fraction, as we want.
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")


def from_utc_text(text: str) -> datetime:
    """The stored text -> aware UTC datetime.

    Text without an offset is UTC by definition of the schema; an explicit
    offset (a row someone wrote by hand) is honoured and converted.
    """
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def timestamp_to_db(value: datetime | None) -> str | None:
    return None if value is None else to_utc_text(value)


def timestamp_from_db(value: str | None) -> datetime | None:
    return None if value is None else from_utc_text(value)


def json_to_db(value: Any) -> str | None:
    """Any JSON value as compact UTF-8 text, non-ASCII kept as is.

    orjson writes it several times faster than the json module (three JSON
    columns per entry made encoding the largest share of a cold sync). It
    writes NaN and Infinity, which are not JSON, as null.
    """
    if value is None:
        return None
    if value.__class__ is list and not value:
        return "[]"  # a new entry's tags: `start` then never imports orjson (16 ms of its 80)
    import orjson  # here: `status` only reads (orjson's own imports cost it 4 ms)

    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        return _ENCODER.encode(value)


def json_from_db(value: str | None) -> Any:
    return None if value is None else json.loads(value)


# Columns of our tables that hold these forms (by name: the schema never
# reuses a name for another kind of value).
TIMESTAMP_COLUMNS = frozenset({
    "start", "stop", "at", "synced_at", "created_at", "since", "full_sync_at", "updated_at",
    "resets_at", "observed_at", "sent_at", "detected_at", "resolved_at", "utc_from", "utc_to", "pushed_at", "done_at",
    "added_at", "base_at",
})
JSON_COLUMNS = frozenset({"tag_ids", "tags", "raw", "base", "fingerprint", "base_value", "local_value", "remote_value"})
BOOLEAN_COLUMNS = frozenset({"active", "archived", "billable", "is_active", "is_private", "premium"})


def from_db(row: dict[str, Any]) -> dict[str, Any]:
    """A row read with plain SQL -> the values SQLAlchemy's column types would give."""
    out = dict(row)
    for name, value in row.items():
        if value is None:
            continue
        if name in TIMESTAMP_COLUMNS:
            out[name] = from_utc_text(value)
        elif name in JSON_COLUMNS:
            out[name] = json.loads(value)
        elif name in BOOLEAN_COLUMNS:
            out[name] = bool(value)
    return out


def to_db(values: dict[str, Any]) -> dict[str, Any]:
    """Row values -> their stored form for plain SQL (the inverse of `from_db`)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            out[name] = None
        elif name in TIMESTAMP_COLUMNS:
            out[name] = to_utc_text(value)
        elif name in JSON_COLUMNS:
            out[name] = json_to_db(value)
        elif name in BOOLEAN_COLUMNS:
            out[name] = bool(value)  # 1/0 in SQLite (sqlite3 stores a bool as an integer), a boolean elsewhere
        else:
            out[name] = value
    return out
