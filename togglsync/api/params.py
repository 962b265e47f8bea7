"""Python values -> the strings Toggl's query parameters and report bodies expect.

Naive datetimes are refused: "10:00" means a different instant on every
machine, and a cursor or a date range off by hours silently skips records.
"""

from __future__ import annotations

from datetime import UTC, date, datetime


def unix_seconds(value: int | datetime) -> int:
    """`since=`: whole UNIX seconds, from an int or an aware datetime."""
    if isinstance(value, bool):
        raise TypeError("since must be UNIX seconds or an aware datetime, not a bool")
    if isinstance(value, datetime):
        return int(_aware(value, "since").timestamp())
    if isinstance(value, int):
        return value
    raise TypeError(f"since must be UNIX seconds or an aware datetime, not {type(value).__name__}")


def entry_time(value: date | datetime | str, name: str) -> str:
    """`start_date`/`end_date`/`before` of /me/time_entries: YYYY-MM-DD or RFC 3339."""
    if isinstance(value, datetime):
        moment = _aware(value, name).astimezone(UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")  # the API ignores fractions of a second
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    raise TypeError(f"{name} must be a date, an aware datetime or a string, not {type(value).__name__}")


def report_date(value: date | datetime | str, name: str) -> str:
    """Reports v3 `start_date`/`end_date`: a calendar date (YYYY-MM-DD), in UTC for datetimes."""
    if isinstance(value, datetime):
        return _aware(value, name).astimezone(UTC).date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    raise TypeError(f"{name} must be a date, an aware datetime or a string, not {type(value).__name__}")


def flag(value: bool | str) -> str:
    """Booleans as Toggl's query strings ("true"/"false"); strings (e.g. "both") pass through."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got a naive datetime)")
    return value
