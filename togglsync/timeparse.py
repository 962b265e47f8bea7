"""Times, durations and date ranges as a person types them, resolved in their time zone.

Pure functions, no I/O: the caller passes the user's time zone (an IANA name
or a ZoneInfo) and `now` (an aware datetime). `now=None` means the real clock;
that default is the only place this module reads it.

Conventions:

* Every instant returned is an aware datetime in UTC (`datetime.timezone.utc`),
  with microseconds dropped (truncated). `to_local` is the one exception.
* A time without an offset is a wall-clock time in the user's zone; a time
  without a date is on today's date in that zone (or `default_date`).
* A wall time that does not exist (the spring-forward gap) raises ValueError
  naming the gap. An ambiguous wall time (the fall-back overlap, which occurs
  twice) means its FIRST occurrence, i.e. the earlier instant (PEP 495 fold=0).
  Ranges never raise on a gap: a local day whose midnight falls in a gap
  starts at the first instant that exists.
* Ranges are half-open `[start, end)` in UTC and tile: the end of one local
  day is the start of the next, so a day is 23 or 25 hours long across DST.
* Weeks start on Toggl's `beginning_of_week`: 0 = Sunday, 1 = Monday, ...,
  6 = Saturday (not Python's Monday=0 numbering).
* Typed dates must lie in SUPPORTED_DATES (years 2-9998), see there.
* Bad input raises ValueError with a message fit to show the user as is.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

if TYPE_CHECKING:
    from decimal import Decimal

__all__ = [
    "DURATION_HINT",
    "MAX_DURATION_SECONDS",
    "NAMED_RANGES",
    "SUPPORTED_DATES",
    "TIME_HINT",
    "day_range",
    "explicit_range",
    "format_duration",
    "format_hours",
    "local_date",
    "month_range",
    "named_range",
    "parse_duration",
    "parse_time",
    "resolve_tz",
    "to_local",
    "week_range",
]

UTC = timezone.utc

#: Longest duration parse_duration accepts (1000 hours); more is surely a typo.
MAX_DURATION_SECONDS = 1000 * 3600

#: First and last date a user may type. Python's datetime ends at years 1 and
#: 9999; a year of margin on each side keeps everything done later with a typed
#: time (plus a 1000-hour duration, the end of its day/week/month, shown in any
#: zone) inside that, so no OverflowError can reach the user.
SUPPORTED_DATES = (date(2, 1, 1), date(9998, 12, 31))
_SUPPORTED_TEXT = f"dates {SUPPORTED_DATES[0].isoformat()} to {SUPPORTED_DATES[1].isoformat()}"

#: Short list of accepted forms, appended to "not understood" errors (and usable in --help).
TIME_HINT = (
    "9:30, 14:05:30, 9am, 9:30pm, now, -15m, -1h30m, today 9:00, yesterday 17:00, "
    "tomorrow 8:00, monday 9:00, 2026-11-20, 2026-11-20 09:00 or 2026-11-20T09:00:00+01:00"
)
DURATION_HINT = "1h30m, 1h 30m, 90m, 45s, 2h, 1.5h, 1:30 (h:mm) or 1:30:15"

#: Names named_range accepts (canonical spellings; `this-week`/`this-month` are aliases).
NAMED_RANGES = ("today", "yesterday", "week", "last-week", "month", "last-month", "year", "last-year")

_RANGE_ALIASES = {
    "today": "today",
    "yesterday": "yesterday",
    "week": "week",
    "this-week": "week",
    "last-week": "last-week",
    "month": "month",
    "this-month": "month",
    "last-month": "last-month",
    "year": "year",
    "this-year": "year",
    "last-year": "last-year",
}


# -- time zones ----------------------------------------------------------------


def resolve_tz(name: str | ZoneInfo | None) -> ZoneInfo:
    """IANA name -> ZoneInfo. None or "" -> UTC. A ZoneInfo is returned unchanged.

    The lookup falls back to a case-insensitive match (`europe/paris` ->
    `Europe/Paris`). Unknown names raise ValueError("unknown time zone 'X' ...").
    """
    if isinstance(name, ZoneInfo):
        return name
    if name is None:
        return ZoneInfo("UTC")
    if not isinstance(name, str):
        raise TypeError(f"time zone must be a str or ZoneInfo, got {type(name).__name__}")
    key = name.strip()
    if not key:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    # Only on the failure path: available_timezones() walks the tz database.
    folded = [k for k in available_timezones() if k.lower() == key.lower()]
    if len(folded) == 1:
        return ZoneInfo(folded[0])
    raise ValueError(f"unknown time zone {name!r} (expected an IANA name such as 'Europe/Paris')")


@overload
def _zone(tz: ZoneInfo | str | None) -> ZoneInfo: ...
@overload
def _zone(tz: tzinfo) -> tzinfo: ...
def _zone(tz: ZoneInfo | tzinfo | str | None) -> tzinfo:
    """Any tz argument of this module -> a tzinfo (other tzinfo objects pass through)."""
    if isinstance(tz, tzinfo):
        return tz
    return resolve_tz(tz)


def _zone_name(tz: tzinfo) -> str:
    return getattr(tz, "key", None) or str(tz)


def _aware(moment: datetime, what: str) -> datetime:
    if not isinstance(moment, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} {moment.isoformat()} is naive; pass an aware datetime")
    return moment


def _now_utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return _aware(now, "now").astimezone(UTC)


def _plain_date(day: date, what: str = "day") -> date:
    if isinstance(day, datetime):
        raise TypeError(f"{what} must be a date, not a datetime (use local_date() first)")
    if not isinstance(day, date):
        raise TypeError(f"{what} must be a date, got {type(day).__name__}")
    return day


def to_local(ts_utc: datetime, tz: ZoneInfo | str | None) -> datetime:
    """An aware instant -> the same instant as an aware datetime in `tz`."""
    return _aware(ts_utc, "timestamp").astimezone(_zone(tz))


def local_date(ts_utc: datetime, tz: ZoneInfo | str | None) -> date:
    """The calendar date in `tz` of an aware instant."""
    return to_local(ts_utc, tz).date()



def format_clock(moment: datetime, tz: tzinfo, *, day: date, seconds: bool = False) -> str:
    """`14:05` in `tz`, or `2026-11-20 14:05` when not on `day`; `:SS` with `seconds` when not
    zero; the zone's abbreviation is added to a wall time that occurs twice (DST fall-back)."""
    local = _aware(moment, "timestamp").astimezone(tz)
    text = f"{local:%H:%M}" if local.date() == day else f"{local:%Y-%m-%d %H:%M}"
    if seconds and local.second:
        text += f":{local:%S}"
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        text += f" {local.tzname()}"
    return text

# -- wall clock -> UTC, with DST ------------------------------------------------


def _utcoffset(moment: datetime) -> timedelta:
    """The offset of a datetime known to be aware (its tzinfo is a zone, never None)."""
    offset = moment.utcoffset()
    assert offset is not None, moment
    return offset


def _offset_at(instant: datetime, tz: tzinfo) -> timedelta:
    return _utcoffset(instant.astimezone(tz))


def _find_transition(wall: datetime, tz: tzinfo) -> datetime:
    """The UTC instant where the offset changes around the nonexistent `wall` time."""
    offsets = [_utcoffset(wall.replace(tzinfo=tz, fold=f)) for f in (0, 1)]
    low = (wall - max(offsets)).replace(tzinfo=UTC)
    high = (wall - min(offsets)).replace(tzinfo=UTC)
    if low == high:  # not expected from zoneinfo; search a wide window instead
        low, high = low - timedelta(days=1), high + timedelta(days=1)
    before = _offset_at(low, tz)
    # Invariant: offset at `low` is `before`, offset at `high` is not.
    while high - low > timedelta(seconds=1):
        mid = low + timedelta(seconds=int((high - low).total_seconds()) // 2)
        if _offset_at(mid, tz) == before:
            low = mid
        else:
            high = mid
    return high


def _hm(moment: datetime) -> str:
    return moment.strftime("%H:%M:%S" if moment.second else "%H:%M")


def _wall_to_utc(wall: datetime, tz: tzinfo, *, gap: str = "raise") -> datetime:
    """Naive local wall time -> aware UTC.

    Ambiguous (fall back): the first occurrence (fold=0). Nonexistent (spring
    forward): ValueError if gap == "raise", else the first instant after the gap.
    """
    try:
        instant = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
        round_trip = instant.astimezone(tz).replace(tzinfo=None)
    except OverflowError:  # not from a typed date (SUPPORTED_DATES); from a date computed at the edge
        raise ValueError(f"{wall.date().isoformat()} is outside the supported range ({_SUPPORTED_TEXT})") from None
    if round_trip == wall:
        return instant
    transition = _find_transition(wall, tz)
    if gap != "raise":
        return transition
    jump_from = (transition + _offset_at(transition - timedelta(seconds=1), tz)).replace(tzinfo=None)
    jump_to = (transition + _offset_at(transition, tz)).replace(tzinfo=None)
    raise ValueError(
        f"{wall:%Y-%m-%d} {_hm(wall)} does not exist in {_zone_name(tz)}: "
        f"the clocks jump from {_hm(jump_from)} to {_hm(jump_to)} that day (DST gap); "
        "pick a time outside the gap"
    )


def _start_of_day(day: date, tz: tzinfo) -> datetime:
    return _wall_to_utc(datetime.combine(day, time()), tz, gap="after")


# -- durations --------------------------------------------------------------------

_UNITS = {
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
}  # fmt: skip
# Patterns compiled on first use (re's cache): `status`, `start` and `stop` never use most of them.
_UNIT_PART = r"\s*(?P<num>\d+(?:[.,]\d+)?|[.,]\d+)\s*(?P<unit>hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)(?![a-z])"
_AFTER_HOURS = r"\s*(?P<num>\d{1,2})\s*$"  # 1h30 = 1h30m
_CLOCK_DURATION = r"(?P<h>\d+):(?P<m>\d{2})(?::(?P<s>\d{2}))?"


def _duration_error(text: str, detail: str = "") -> ValueError:
    detail = f" ({detail})" if detail else ""
    return ValueError(f"duration {text!r} not understood{detail}: expected {DURATION_HINT}")


def _unit_seconds(text: str, s: str) -> Decimal | None:
    """`1h 30m`, `1.5h`, `90m`, `1h30` -> Decimal seconds; None if not this form."""
    from decimal import Decimal

    pos, total, last_factor = 0, Decimal(0), None
    while pos < len(s):
        part = re.compile(_UNIT_PART).match(s, pos)
        if part is None:
            tail = re.compile(_AFTER_HOURS).match(s, pos)
            if tail and last_factor == 3600 and pos > 0:
                minutes = int(tail["num"])
                if minutes >= 60:
                    raise _duration_error(text, "minutes after hours must be 0-59")
                return total + minutes * 60
            return None
        factor = _UNITS[part["unit"]]
        if last_factor is not None and factor >= last_factor:
            raise _duration_error(text, "give hours, minutes, seconds once each and in that order")
        total += Decimal(part["num"].replace(",", ".")) * factor
        last_factor, pos = factor, part.end()
    return total if last_factor is not None else None


def parse_duration(text: str) -> int:
    """A duration as typed -> whole seconds (> 0, at most 1000 hours).

    Forms: `1h30m`, `1h 30m`, `1h30`, `90m`, `45s`, `2h`, `1.5h` (`1,5h`),
    long units (`2 hours 5 min`), `h:mm` (`1:30`, `0:45`) and `h:mm:ss`
    (`1:30:15`). A bare number is refused: its unit would be a guess.
    Fractions round to the nearest second. Zero, negative, > 1000 h and
    anything else raise ValueError.
    """
    if not isinstance(text, str):
        raise TypeError(f"duration must be a str, got {type(text).__name__}")
    # decimal here: the timer commands show times but seldom read a duration.
    from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

    s = " ".join(text.strip().lower().split())
    if not s:
        raise _duration_error(text, "it is empty")
    if s.startswith("-"):
        raise ValueError(f"duration {text!r} must be positive")
    clock = re.fullmatch(_CLOCK_DURATION, s)
    if clock:
        minutes, seconds = int(clock["m"]), int(clock["s"] or 0)
        if minutes >= 60 or seconds >= 60:
            raise _duration_error(text, "minutes and seconds must be 00-59")
        total = Decimal(int(clock["h"]) * 3600 + minutes * 60 + seconds)
    elif re.fullmatch(r"\d+(?:[.,]\d+)?", s):
        raise _duration_error(text, f"add a unit, e.g. {s}m or {s}h")
    else:
        unit_total = _unit_seconds(text, s)
        if unit_total is None:
            raise _duration_error(text)
        total = unit_total
    try:
        seconds_total = int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except InvalidOperation:  # absurdly many digits
        seconds_total = MAX_DURATION_SECONDS + 1
    if seconds_total > MAX_DURATION_SECONDS:
        raise ValueError(f"duration {text!r} is too long (more than 1000 hours)")
    if seconds_total <= 0:
        raise ValueError(f"duration {text!r} must be at least one second")
    return seconds_total


def format_duration(seconds: int) -> str:
    """Seconds -> `h:mm:ss` (hours unbounded: `27:03:09`); negatives get a leading `-`."""
    seconds = int(seconds)
    sign = "-" if seconds < 0 else ""
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours}:{minutes:02d}:{secs:02d}"


def format_hours(seconds: int) -> str:
    """Seconds -> decimal hours with two places, rounded half up: 5400 -> `1.50`."""
    from decimal import ROUND_HALF_UP, Decimal

    hours = Decimal(int(seconds)) / Decimal(3600)
    return str(hours.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


# -- times ------------------------------------------------------------------------

_WEEKDAYS = {
    "monday": 0, "mon": 0,
    "tuesday": 1, "tue": 1, "tues": 1,
    "wednesday": 2, "wed": 2,
    "thursday": 3, "thu": 3, "thur": 3, "thurs": 3,
    "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5,
    "sunday": 6, "sun": 6,
}  # fmt: skip
# Patterns compiled on first use (re's cache): `status`, `start` and `stop` never use most of them.
_ISO_DATE = r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})"
_ISO_DATETIME = (
    r"(?P<date>\d{4}-\d{2}-\d{2})(?:t|\s)\s*"
    r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,]\d+)?)?"
    r"\s*(?P<off>z|utc|[+-]\d{2}(?::?\d{2})?)?"
)
_CLOCK_TIME = (
    r"(?P<h>\d{1,2})(?::(?P<mi>\d{2})(?::(?P<s>\d{2}))?)?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)?"
)


def _time_error(text: str, detail: str = "") -> ValueError:
    detail = f" ({detail})" if detail else ""
    return ValueError(f"time {text!r} not understood{detail}: expected {TIME_HINT}")


def _clock(text: str, h: str, mi: str | None, s: str | None, ampm: str | None) -> time:
    hour, minute, second = int(h), int(mi or 0), int(s or 0)
    if ampm:
        if not 1 <= hour <= 12:
            raise _time_error(text, f"hour {hour} does not fit am/pm, use 1-12")
        hour = hour % 12 + (12 if ampm.startswith("p") else 0)
    elif hour > 23:
        raise _time_error(text, f"hour {hour} is out of range 0-23")
    if minute > 59 or second > 59:
        raise _time_error(text, "minutes and seconds must be 00-59")
    return time(hour, minute, second)


def _parse_clock(text: str, token: str) -> time | None:
    m = re.fullmatch(_CLOCK_TIME, token)
    if not m or (m["mi"] is None and m["ampm"] is None):  # a bare `9` is not a time
        return None
    return _clock(text, m["h"], m["mi"], m["s"], m["ampm"])


def _iso_date(text: str, token: str) -> date | None:
    m = re.fullmatch(_ISO_DATE, token)
    if not m:
        return None
    # Checked on the year first: year 0 is no date at all, but "outside the range" says what to do.
    if not SUPPORTED_DATES[0].year <= int(m["y"]) <= SUPPORTED_DATES[1].year:
        raise ValueError(f"time {text!r} is outside the supported range ({_SUPPORTED_TEXT})")
    try:
        return date.fromisoformat(token)
    except ValueError:
        raise _time_error(text, f"{token} is not a valid date") from None


def _parse_day(text: str, token: str, today: date) -> date | None:
    if token == "today":
        return today
    if token == "yesterday":
        return today - timedelta(days=1)
    if token == "tomorrow":
        return today + timedelta(days=1)
    if token in _WEEKDAYS:  # the most recent such day, today included
        return today - timedelta(days=(today.weekday() - _WEEKDAYS[token]) % 7)
    return _iso_date(text, token)


def _fixed_offset(text: str, off: str) -> tzinfo:
    if off in ("z", "utc"):
        return UTC
    digits = off[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise _time_error(text, f"offset {off} is out of range")
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if off[0] == "-" else delta)


def _parse(
    text: str, tz: tzinfo, now: datetime, default_date: date | None
) -> tuple[datetime, date | None]:
    """-> (aware UTC instant without microseconds, the date if `text` was a date alone)."""
    if not isinstance(text, str):
        raise TypeError(f"time must be a str, got {type(text).__name__}")
    s = " ".join(text.strip().lower().split())
    s = re.sub(r"(\d)\s+(am|pm|a\.m\.|p\.m\.)$", r"\1\2", s)  # `9:30 pm` -> `9:30pm`
    if not s:
        raise _time_error(text, "it is empty")
    now = now.replace(microsecond=0)
    if s == "now":
        return now, None
    if s[0] in "+-":  # relative to now
        try:
            delta = timedelta(seconds=parse_duration(s[1:]))
        except ValueError as exc:
            detail = str(exc)
            if "not understood" in detail:
                detail = f"after {s[0]} comes a duration such as 15m or 1h30m"
            raise _time_error(text, detail) from None
        return (now - delta if s[0] == "-" else now + delta), None

    iso = re.fullmatch(_ISO_DATETIME, s)
    if iso:
        day = _iso_date(text, iso["date"])
        assert day is not None
        wall = datetime.combine(day, _clock(text, iso["h"], iso["mi"], iso["s"], None))
        if iso["off"]:
            try:
                return wall.replace(tzinfo=_fixed_offset(text, iso["off"])).astimezone(UTC), None
            except OverflowError:
                raise _time_error(text, "out of the supported range") from None
        return _wall_to_utc(wall, tz), None

    today = now.astimezone(tz).date()
    tokens = s.split(" ")
    if len(tokens) == 1:
        day = _parse_day(text, s, today)
        if day is not None:  # a date alone: its local midnight
            return _start_of_day(day, tz), day
        clock = _parse_clock(text, s)
        if clock is None:
            raise _time_error(text)
        return _wall_to_utc(datetime.combine(default_date or today, clock), tz), None
    if len(tokens) == 2:
        for day_token, clock_token in (tokens, tokens[::-1]):  # `today 9:00` or `9:00 today`
            day = _parse_day(text, day_token, today)
            clock = _parse_clock(text, clock_token) if day is not None else None
            if day is not None and clock is not None:
                return _wall_to_utc(datetime.combine(day, clock), tz), None
    raise _time_error(text)


def parse_time(
    text: str,
    *,
    tz: ZoneInfo | str | None,
    now: datetime | None = None,
    default_date: date | None = None,
) -> datetime:
    """A point in time as typed -> aware UTC datetime (seconds kept, microseconds dropped).

    Accepted (case-insensitive):

    * `now`; relative `-15m`, `-1h30m` (now minus a duration), `+15m` (now plus)
    * a time: `9:30`, `09:30`, `14:05`, `9:30:15`, `9am`, `9:30pm`, `9:30 pm`
      -> that wall time on today's date in `tz` (or on `default_date`)
    * a day: `today`, `yesterday`, `tomorrow`, a weekday (`monday`/`mon`: the
      most recent one, today included) or `2026-11-20`, alone (its local
      midnight) or with a time, in either order: `yesterday 17:00`, `9am monday`
    * ISO 8601: `2026-11-20 09:00`, `2026-11-20T09:00:15`, and with an offset
      `2026-11-20T09:00:00+01:00`, `2026-11-20T08:00:00Z` (the offset wins over `tz`)

    Wall times are in `tz`. One that falls in a DST gap raises ValueError; an
    ambiguous one (fall back) is its first occurrence. A date outside
    SUPPORTED_DATES raises ValueError("... is outside the supported range ...").
    Anything else raises ValueError("time '...' not understood: expected ...").
    """
    zone = _zone(tz)
    if default_date is not None:
        _plain_date(default_date, "default_date")
    return _parse(text, zone, _now_utc(now), default_date)[0]


# -- ranges ---------------------------------------------------------------------


def day_range(day: date, tz: ZoneInfo | str | None) -> tuple[datetime, datetime]:
    """The local calendar day `day` in `tz` -> [start, end) in UTC (23/24/25 hours long)."""
    zone, day = _zone(tz), _plain_date(day)
    return _start_of_day(day, zone), _start_of_day(day + timedelta(days=1), zone)


def week_range(
    day: date, tz: ZoneInfo | str | None, beginning_of_week: int = 1
) -> tuple[datetime, datetime]:
    """The local week containing `day` -> [start, end) in UTC.

    `beginning_of_week` follows Toggl: 0 = Sunday, 1 = Monday, ..., 6 = Saturday.
    """
    valid = isinstance(beginning_of_week, int) and not isinstance(beginning_of_week, bool)
    if not valid or not 0 <= beginning_of_week <= 6:
        raise ValueError(
            f"beginning_of_week must be 0 (Sunday) to 6 (Saturday), got {beginning_of_week!r}"
        )
    zone, day = _zone(tz), _plain_date(day)
    toggl_weekday = (day.weekday() + 1) % 7  # Python: Monday=0; Toggl: Sunday=0
    first = day - timedelta(days=(toggl_weekday - beginning_of_week) % 7)
    return _start_of_day(first, zone), _start_of_day(first + timedelta(days=7), zone)


def month_range(day: date, tz: ZoneInfo | str | None) -> tuple[datetime, datetime]:
    """The local calendar month containing `day` -> [start, end) in UTC."""
    zone, day = _zone(tz), _plain_date(day)
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return _start_of_day(first, zone), _start_of_day(following, zone)


def year_range(day: date, tz: ZoneInfo | str | None) -> tuple[datetime, datetime]:
    """The local calendar year containing `day` -> [start, end) in UTC."""
    zone, day = _zone(tz), _plain_date(day)
    first = day.replace(month=1, day=1)
    return _start_of_day(first, zone), _start_of_day(first.replace(year=first.year + 1), zone)


def period_start(day: date, unit: str) -> date:
    """The first day of the `unit` ("day", "month", "year") holding `day`."""
    if unit == "day":
        return day
    if unit == "month":
        return day.replace(day=1)
    if unit == "year":
        return day.replace(month=1, day=1)
    raise ValueError(f"unit must be day, month or year, not {unit!r}")


def next_period(first: date, unit: str) -> date:
    """The first day of the `unit` after the one starting on `first` (a `period_start`)."""
    if unit == "day":
        return first + timedelta(days=1)
    if unit == "month":
        return (first.replace(day=1) + timedelta(days=32)).replace(day=1)
    if unit == "year":
        return first.replace(year=first.year + 1, month=1, day=1)
    raise ValueError(f"unit must be day, month or year, not {unit!r}")


# A year (`2023`) or a month (`2023-03`) alone, as --from/--to take them.
_YEAR_OR_MONTH = r"(?P<y>\d{4})(?:-(?P<mo>\d{2}))?"  # compiled on first use


def _year_or_month(text: str) -> tuple[date, date] | None:
    """`2023` -> (2023-01-01, 2024-01-01); `2023-03` -> (2023-03-01, 2023-04-01); else None."""
    m = re.fullmatch(_YEAR_OR_MONTH, text.strip())
    if not m:
        return None
    year = int(m["y"])
    if not SUPPORTED_DATES[0].year <= year <= SUPPORTED_DATES[1].year:
        raise ValueError(f"time {text!r} is outside the supported range ({_SUPPORTED_TEXT})")
    if m["mo"] is None:
        first = date(year, 1, 1)
        return first, next_period(first, "year")
    if not 1 <= int(m["mo"]) <= 12:
        raise _time_error(text, f"month {m['mo']} is out of range 01-12")
    first = date(year, int(m["mo"]), 1)
    return first, next_period(first, "month")


def named_range(
    name: str,
    *,
    tz: ZoneInfo | str | None,
    now: datetime | None = None,
    beginning_of_week: int = 1,
) -> tuple[datetime, datetime]:
    """`today`, `yesterday`, `week`, `last-week`, `month`, `last-month`, `year`, `last-year`
    -> [start, end) in UTC.

    Whole local periods: `week`, `month` and `year` run to their end, not to `now`.
    `this-week`/`this-month`/`this-year` are aliases; `_` or a space may replace `-`.
    """
    key = _RANGE_ALIASES.get(re.sub(r"[\s_]+", "-", str(name).strip().lower()))
    if key is None:
        raise ValueError(f"range {name!r} not understood: expected one of {', '.join(NAMED_RANGES)}")
    zone = _zone(tz)
    today = _now_utc(now).astimezone(zone).date()
    if key == "today":
        return day_range(today, zone)
    if key == "yesterday":
        return day_range(today - timedelta(days=1), zone)
    if key == "week":
        return week_range(today, zone, beginning_of_week)
    if key == "last-week":
        return week_range(today - timedelta(days=7), zone, beginning_of_week)
    if key == "month":
        return month_range(today, zone)
    if key == "last-month":
        return month_range(today.replace(day=1) - timedelta(days=1), zone)
    if key == "year":
        return year_range(today, zone)
    return year_range(today.replace(month=1, day=1) - timedelta(days=1), zone)


def explicit_range(
    from_text: str,
    to_text: str | None,
    *,
    tz: ZoneInfo | str | None,
    now: datetime | None = None,
) -> tuple[datetime, datetime]:
    """`--from`/`--to` values (anything parse_time accepts) -> [start, end) in UTC.

    A date alone as `to_text` (`2026-11-20`, `yesterday`, `friday`) includes
    that whole day; `to_text=None` means now. A year (`2023`) or a month
    (`2023-03`) alone starts on its first day as `from_text` and includes the
    whole year or month as `to_text` (`--from 2019 --to 2024`: six years).
    Start not before end -> ValueError.
    """
    zone, current = _zone(tz), _now_utc(now)
    period = _year_or_month(from_text) if isinstance(from_text, str) else None
    start = _start_of_day(period[0], zone) if period else _parse(from_text, zone, current, None)[0]
    if to_text is None:
        end = current.replace(microsecond=0)
    elif (period := _year_or_month(to_text)) is not None:
        end = _start_of_day(period[1], zone)
    else:
        end, to_day = _parse(to_text, zone, current, None)
        if to_day is not None:  # a date alone: through the end of that day
            end = _start_of_day(to_day + timedelta(days=1), zone)
    if start >= end:
        shown = f"{to_local(start, zone):%Y-%m-%d %H:%M:%S}"
        until = f"{to_local(end, zone):%Y-%m-%d %H:%M:%S}"
        to_shown = to_text if to_text is not None else "now"
        raise ValueError(
            f"from {from_text!r} is not before to {to_shown!r}: the range would run "
            f"from {shown} to {until} ({_zone_name(zone)})"
        )
    return start, end
