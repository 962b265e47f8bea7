"""Column types whose stored form is part of the public schema.

Users query the database with their own SQL, so what lands on disk must be
readable without togglsync: timestamps as UTC text SQLite's date functions
understand, JSON as plain (unescaped) UTF-8 text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.types import Text, TypeDecorator

from togglsync.db.stored import (
    from_utc_text,
    json_from_db,
    json_to_db,
    timestamp_from_db,
    timestamp_to_db,
    to_utc_text,
)

__all__ = ["JSONText", "UTCDateTime", "from_utc_text", "to_utc_text"]


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
        return timestamp_to_db(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> datetime | None:
        return timestamp_from_db(value)

    # The stored form without a dialect: bulk writes (repo.upsert) call it per value.
    to_stored = staticmethod(timestamp_to_db)


class JSONText(TypeDecorator[Any]):
    """Any JSON value stored as UTF-8 text, non-ASCII kept as is.

    SQLAlchemy's JSON type escapes non-ASCII by default (`"caf\\u00e9"`),
    which breaks `LIKE` and reads badly; SQLite's json_* functions accept
    either form. NaN/Infinity become null: they are not JSON, and
    json_extract would reject the whole value.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return json_to_db(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return json_from_db(value)

    to_stored = staticmethod(json_to_db)
