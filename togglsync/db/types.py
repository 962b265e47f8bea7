"""Column types whose stored form is part of the public schema.

Users query the database with their own SQL, so what lands on disk must be
readable without togglsync: timestamps as UTC text SQLite's date functions
understand, JSON as plain (unescaped) UTF-8 text.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.types import Text, TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC text `YYYY-MM-DD HH:MM:SS[.ffffff]`.

    The fraction is written only when there is one: Toggl drops it from
    `start`/`stop` but keeps it in `at`. With a fixed-width prefix and an
    optional fixed-width suffix, comparing the text compares the instants, so
    SQL `ORDER BY` and `WHERE start > '2024-...'` work on the raw column.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        return None if value is None else to_utc_text(value)

    @staticmethod
    def to_stored(value: datetime | None) -> str | None:
        """The stored form without a dialect (bulk writes call this per value)."""
        return None if value is None else to_utc_text(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return from_utc_text(value)


def to_utc_text(value: datetime) -> str:
    """Aware datetime -> the stored text. Naive datetimes are refused: their zone is a guess."""
    if value.__class__ is datetime and value.tzinfo is timezone.utc:
        # The usual case (everything we parse is converted to UTC), without the
        # conversion; isoformat ends with "+00:00" here.
        return value.isoformat(sep=" ")[:-6]
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


# One encoder for every value: json.dumps with options builds a new one per call,
# a measurable share of a cold sync (three JSON columns per entry).
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)


class JSONText(TypeDecorator[Any]):
    """Any JSON value stored as UTF-8 text, non-ASCII kept as is.

    SQLAlchemy's JSON type escapes non-ASCII by default (`"caf\\u00e9"`),
    which breaks `LIKE` and reads badly; SQLite's json_* functions accept
    either form. NaN/Infinity are refused because they are not JSON and
    json_extract would reject the whole value.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else _ENCODER.encode(value)

    @staticmethod
    def to_stored(value: Any) -> str | None:
        """The stored form without a dialect (bulk writes call this per value)."""
        return None if value is None else _ENCODER.encode(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return json.loads(value)
