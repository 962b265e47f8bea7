"""togglsync.timeparse: times, durations and ranges as typed, in the user's time zone."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine
from hypothesis import assume, given
from hypothesis import strategies as st

from togglsync.timeparse import (
    MAX_DURATION_SECONDS,
    NAMED_RANGES,
    day_range,
    explicit_range,
    format_duration,
    format_hours,
    local_date,
    month_range,
    named_range,
    parse_duration,
    parse_time,
    resolve_tz,
    to_local,
    week_range,
)

UTC = timezone.utc
PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
AUCKLAND = ZoneInfo("Pacific/Auckland")
HONOLULU = ZoneInfo("Pacific/Honolulu")

# Friday 2026-11-20, 15:04:05.999 UTC = 16:04:05 in Paris (CET, +01:00).
NOW = datetime(2026, 11, 20, 15, 4, 5, 999_000, tzinfo=UTC)

ZONES = [
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "Pacific/Auckland",
    "Pacific/Chatham",  # +12:45 / +13:45
    "Asia/Kolkata",  # +05:30, no DST
    "Australia/Lord_Howe",  # 30-minute DST shift
    "America/Sao_Paulo",  # historic DST transitions at midnight
    "America/Havana",  # DST transitions at midnight
    "Asia/Tehran",
]
zones = st.sampled_from(ZONES)
dates = st.dates(min_value=date(1971, 1, 1), max_value=date(2100, 12, 31))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def paris(text: str, now: datetime = NOW, **kw) -> datetime:
    return parse_time(text, tz="Europe/Paris", now=now, **kw)


# -- parse_time: accepted forms ---------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("9:30", utc(2026, 11, 20, 8, 30)),
        ("09:30", utc(2026, 11, 20, 8, 30)),
        ("14:05", utc(2026, 11, 20, 13, 5)),
        ("9:30:15", utc(2026, 11, 20, 8, 30, 15)),
        ("0:00", utc(2026, 11, 19, 23, 0)),
        ("23:59:59", utc(2026, 11, 20, 22, 59, 59)),
        ("9am", utc(2026, 11, 20, 8, 0)),
        ("9AM", utc(2026, 11, 20, 8, 0)),
        ("9:30pm", utc(2026, 11, 20, 20, 30)),
        ("9:30 pm", utc(2026, 11, 20, 20, 30)),
        ("9:30 p.m.", utc(2026, 11, 20, 20, 30)),
        ("12am", utc(2026, 11, 19, 23, 0)),  # midnight
        ("12pm", utc(2026, 11, 20, 11, 0)),  # noon
        ("12:30am", utc(2026, 11, 19, 23, 30)),
        ("now", utc(2026, 11, 20, 15, 4, 5)),
        ("  NOW ", utc(2026, 11, 20, 15, 4, 5)),
        ("-15m", utc(2026, 11, 20, 14, 49, 5)),
        ("-1h30m", utc(2026, 11, 20, 13, 34, 5)),
        ("-1h 30m", utc(2026, 11, 20, 13, 34, 5)),
        ("-45s", utc(2026, 11, 20, 15, 3, 20)),
        ("-0:45", utc(2026, 11, 20, 14, 19, 5)),
        ("+15m", utc(2026, 11, 20, 15, 19, 5)),
        ("today 9:00", utc(2026, 11, 20, 8, 0)),
        ("yesterday 17:00", utc(2026, 11, 19, 16, 0)),
        ("tomorrow 8:00", utc(2026, 11, 21, 7, 0)),
        ("9:00 yesterday", utc(2026, 11, 19, 8, 0)),
        ("yesterday 5pm", utc(2026, 11, 19, 16, 0)),
        ("Yesterday  17:00", utc(2026, 11, 19, 16, 0)),
        ("today", utc(2026, 11, 19, 23, 0)),  # a day alone is its local midnight
        ("yesterday", utc(2026, 11, 18, 23, 0)),
        ("monday 9:00", utc(2026, 11, 16, 8, 0)),
        ("mon 9:00", utc(2026, 11, 16, 8, 0)),
        ("friday 9:00", utc(2026, 11, 20, 8, 0)),  # today is Friday: today counts
        ("saturday 9:00", utc(2026, 11, 14, 8, 0)),  # the most recent, never the next
        ("sunday", utc(2026, 11, 14, 23, 0)),
        ("thu 17:30", utc(2026, 11, 19, 16, 30)),
        ("2026-11-20", utc(2026, 11, 19, 23, 0)),
        ("2026-11-20 09:00", utc(2026, 11, 20, 8, 0)),
        ("2026-11-20T09:00", utc(2026, 11, 20, 8, 0)),
        ("2026-11-20t09:00:15", utc(2026, 11, 20, 8, 0, 15)),
        ("2026-11-20 9am", utc(2026, 11, 20, 8, 0)),
        ("2026-07-01 09:00", utc(2026, 7, 1, 7, 0)),  # summer: +02:00
        ("2026-11-20T09:00:00+01:00", utc(2026, 11, 20, 8, 0)),
        ("2026-11-20T09:00:00-05:00", utc(2026, 11, 20, 14, 0)),
        ("2026-11-20T09:00:00+0530", utc(2026, 11, 20, 3, 30)),
        ("2026-11-20T08:00:00Z", utc(2026, 11, 20, 8, 0)),
        ("2026-11-20T08:00:00z", utc(2026, 11, 20, 8, 0)),
        ("2026-11-20 08:00 UTC", utc(2026, 11, 20, 8, 0)),
        ("2026-11-20T08:00:00.987654Z", utc(2026, 11, 20, 8, 0)),  # microseconds dropped
        ("2026-11-20T08:00Z", utc(2026, 11, 20, 8, 0)),
    ],
)
def test_parse_time_accepted_forms(text, expected):
    result = paris(text)
    assert result == expected
    assert result.tzinfo is UTC
    assert result.microsecond == 0


def test_results_are_utc_with_seconds_kept_and_microseconds_dropped():
    now = datetime(2026, 11, 20, 16, 4, 5, 999_999, tzinfo=PARIS)
    assert paris("now", now=now) == utc(2026, 11, 20, 15, 4, 5)
    assert paris("-10s", now=now) == utc(2026, 11, 20, 15, 3, 55)
    assert paris("9:30:15").second == 15


def test_now_may_be_in_any_zone():
    same_instant = NOW.astimezone(ZoneInfo("Asia/Tokyo"))
    assert paris("yesterday 17:00", now=same_instant) == paris("yesterday 17:00")


def test_default_date_applies_to_bare_times_only():
    day = date(2026, 1, 5)
    assert paris("9:30", default_date=day) == utc(2026, 1, 5, 8, 30)
    assert paris("9am", default_date=day) == utc(2026, 1, 5, 8, 0)
    assert paris("yesterday 9:30", default_date=day) == utc(2026, 11, 19, 8, 30)
    assert paris("now", default_date=day) == utc(2026, 11, 20, 15, 4, 5)
    assert paris("2026-11-20 9:30", default_date=day) == utc(2026, 11, 20, 8, 30)


def test_tz_accepts_zoneinfo_string_and_none():
    assert parse_time("9:00", tz=PARIS, now=NOW) == utc(2026, 11, 20, 8, 0)
    assert parse_time("9:00", tz="Europe/Paris", now=NOW) == utc(2026, 11, 20, 8, 0)
    assert parse_time("9:00", tz=None, now=NOW) == utc(2026, 11, 20, 9, 0)
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        parse_time("9:00", tz="Mars/Olympus", now=NOW)


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="naive"):
        parse_time("9:00", tz=PARIS, now=datetime(2026, 11, 20, 9, 0))


def test_now_none_reads_the_clock():
    with time_machine.travel(utc(2026, 11, 20, 23, 30), tick=False):
        assert parse_time("now", tz=PARIS) == utc(2026, 11, 20, 23, 30)
        # 00:30 on Saturday in Paris: "today" is already the 21st there.
        assert parse_time("today 9:00", tz=PARIS) == utc(2026, 11, 21, 8, 0)
        assert named_range("today", tz=PARIS)[0] == utc(2026, 11, 20, 23, 0)


# -- parse_time: refused forms ----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "garbage",
        "9",  # a bare number is not a time
        "930",
        "9.30",
        "9:3",
        "9:30:1",
        "25:00",
        "24:00",
        "9:60",
        "9:30:60",
        "0am",
        "13pm",
        "9 o'clock",
        "noon",
        "today tomorrow",
        "9:00 10:00",
        "yesterday 17:00 utc",
        "next monday",
        "monday at 9",
        "2026-02-30",
        "2026-13-01 09:00",
        "2026-11-20T25:00",
        "2026-11-20T09:00+25:00",
        "2026/11/20",
        "20261120",
        "20-11-2026",
        "-15",  # relative needs a unit
        "-",
        "-0m",
        "-1001h",
        "--15m",
        "15m",  # a duration is not a time; relative ones take a sign
        "9:30+01:00",  # offsets only with an ISO date
    ],
)
def test_parse_time_refuses_garbage(text):
    with pytest.raises(ValueError) as info:
        paris(text)
    message = str(info.value)
    assert message.startswith(f"time {text!r}")
    assert "not understood" in message and "expected" in message
    assert "9:30" in message  # the hint lists accepted forms


def test_out_of_range_parts_are_named():
    with pytest.raises(ValueError, match="hour 25"):
        paris("25:00")
    with pytest.raises(ValueError, match="2026-02-30 is not a valid date"):
        paris("2026-02-30 09:00")
    with pytest.raises(ValueError, match="use 1-12"):
        paris("13pm")


# -- DST --------------------------------------------------------------------------


def test_paris_spring_forward_gap_is_refused():
    with pytest.raises(ValueError) as info:
        paris("2026-03-29 02:30")
    message = str(info.value)
    assert "2026-03-29 02:30 does not exist in Europe/Paris" in message
    assert "02:00 to 03:00" in message and "gap" in message
    # Bare times on the transition day go through the same check.
    with pytest.raises(ValueError, match="does not exist"):
        paris("2:30", default_date=date(2026, 3, 29))
    # Either side of the gap is fine.
    assert paris("2026-03-29 01:59:59") == utc(2026, 3, 29, 0, 59, 59)
    assert paris("2026-03-29 03:00") == utc(2026, 3, 29, 1, 0)
    assert paris("2026-03-29T02:30:00+01:00") == utc(2026, 3, 29, 1, 30)  # offsets are exact


def test_paris_spring_forward_day_is_23_hours():
    start, end = day_range(date(2026, 3, 29), PARIS)
    assert (start, end) == (utc(2026, 3, 28, 23, 0), utc(2026, 3, 29, 22, 0))
    assert end - start == timedelta(hours=23)


def test_paris_fall_back_day_is_25_hours():
    start, end = day_range(date(2026, 10, 25), PARIS)
    assert (start, end) == (utc(2026, 10, 24, 22, 0), utc(2026, 10, 25, 23, 0))
    assert end - start == timedelta(hours=25)


def test_paris_fall_back_ambiguous_time_is_the_first_occurrence():
    # 02:30 happens twice: 00:30Z (CEST, +02:00) then 01:30Z (CET, +01:00).
    assert paris("2026-10-25 02:30") == utc(2026, 10, 25, 0, 30)
    assert paris("2:30", default_date=date(2026, 10, 25)) == utc(2026, 10, 25, 0, 30)
    # The second occurrence is reachable with an explicit offset.
    assert paris("2026-10-25T02:30:00+01:00") == utc(2026, 10, 25, 1, 30)


def test_new_york_transitions():
    ny = "America/New_York"
    with pytest.raises(ValueError, match="2026-03-08 02:30 does not exist in America/New_York"):
        parse_time("2026-03-08 02:30", tz=ny, now=NOW)
    assert parse_time("2026-03-08 03:30", tz=ny, now=NOW) == utc(2026, 3, 8, 7, 30)
    start, end = day_range(date(2026, 3, 8), ny)
    assert end - start == timedelta(hours=23)
    # Fall back on 2026-11-01: 01:30 happens at 05:30Z (EDT) and 06:30Z (EST).
    assert parse_time("2026-11-01 1:30am", tz=ny, now=NOW) == utc(2026, 11, 1, 5, 30)
    start, end = day_range(date(2026, 11, 1), ny)
    assert (start, end) == (utc(2026, 11, 1, 4, 0), utc(2026, 11, 2, 5, 0))
    assert end - start == timedelta(hours=25)


def test_relative_times_cross_dst_in_real_time():
    # 03:30 Paris on spring-forward day is 01:30Z; one real hour earlier is 01:30 local.
    now = utc(2026, 3, 29, 1, 30)
    assert paris("-1h", now=now) == utc(2026, 3, 29, 0, 30)
    assert to_local(paris("-1h", now=now), PARIS).hour == 1


def test_day_starting_in_a_gap_starts_when_the_clock_resumes():
    # Havana skips 00:00-01:00 on 2026-03-08: the day starts at 01:00 CDT = 05:00Z.
    start, end = day_range(date(2026, 3, 8), "America/Havana")
    assert start == utc(2026, 3, 8, 5, 0)
    assert to_local(start, "America/Havana").time() == time(1, 0)
    assert end - start == timedelta(hours=23)
    assert day_range(date(2026, 3, 7), "America/Havana")[1] == start


# -- far from UTC -----------------------------------------------------------------


def test_yesterday_in_auckland_when_utc_is_a_day_behind():
    # 2026-11-20 12:30Z is Saturday 2026-11-21 01:30 in Auckland (NZDT, +13:00).
    now = utc(2026, 11, 20, 12, 30)
    assert local_date(now, AUCKLAND) == date(2026, 11, 21)
    assert parse_time("yesterday 17:00", tz=AUCKLAND, now=now) == utc(2026, 11, 20, 4, 0)
    assert parse_time("today 9:00", tz=AUCKLAND, now=now) == utc(2026, 11, 20, 20, 0)
    assert parse_time("9:00", tz=AUCKLAND, now=now) == utc(2026, 11, 20, 20, 0)
    assert parse_time("friday 9:00", tz=AUCKLAND, now=now) == utc(2026, 11, 19, 20, 0)
    assert named_range("yesterday", tz=AUCKLAND, now=now) == (
        utc(2026, 11, 19, 11, 0),
        utc(2026, 11, 20, 11, 0),
    )


def test_yesterday_in_honolulu_when_utc_is_a_day_ahead():
    # 2026-11-20 05:00Z is Thursday 2026-11-19 19:00 in Honolulu (-10:00).
    now = utc(2026, 11, 20, 5, 0)
    assert parse_time("yesterday 17:00", tz=HONOLULU, now=now) == utc(2026, 11, 19, 3, 0)
    assert parse_time("today", tz=HONOLULU, now=now) == utc(2026, 11, 19, 10, 0)


# -- durations ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("1h30m", 5400),
        ("1h 30m", 5400),
        ("1H30M", 5400),
        ("1h30", 5400),
        ("90m", 5400),
        ("45s", 45),
        ("2h", 7200),
        ("1h30m15s", 5415),
        ("1m 1s", 61),
        ("1:30", 5400),
        ("1:30:15", 5415),
        ("0:45", 2700),
        ("0:00:01", 1),
        ("100:00", 360000),
        ("1.5h", 5400),
        ("1,5h", 5400),
        (".5h", 1800),
        ("0.25h", 900),
        ("1.333h", 4799),  # rounded to the nearest second
        ("2 hours", 7200),
        ("1 hour 5 mins", 3900),
        ("10 min", 600),
        ("30 sec", 30),
        ("  1h  30m ", 5400),
        ("1000h", MAX_DURATION_SECONDS),
        ("999:59:59", MAX_DURATION_SECONDS - 1),
    ],
)
def test_parse_duration_accepted_forms(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "not understood"),
        ("garbage", "not understood"),
        ("90", "add a unit"),
        ("1.5", "add a unit"),
        ("0m", "at least one second"),
        ("0:00", "at least one second"),
        ("0h0m0s", "at least one second"),
        ("0.4s", "at least one second"),
        ("-1h", "must be positive"),
        ("-0:30", "must be positive"),
        ("1001h", "too long"),
        ("1000:00:01", "too long"),
        ("60001m", "too long"),
        ("99999999999999999999999999999999h", "too long"),
        ("30m1h", "in that order"),
        ("1h1h", "in that order"),
        ("1:5", "not understood"),
        ("1:60", "00-59"),
        ("1:30:60", "00-59"),
        (":30", "not understood"),
        ("1h75", "0-59"),
        ("1x", "not understood"),
        ("1hh", "not understood"),
        ("h", "not understood"),
        ("1d", "not understood"),
        ("1h-30m", "not understood"),
    ],
)
def test_parse_duration_refuses(text, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_duration(text)


def test_parse_duration_error_lists_forms():
    with pytest.raises(ValueError, match=r"not understood: expected 1h30m, .*1:30:15"):
        parse_duration("soon")


@pytest.mark.parametrize(
    "seconds, text",
    [(0, "0:00:00"), (59, "0:00:59"), (5400, "1:30:00"), (5415, "1:30:15"), (360_061, "100:01:01"), (-90, "-0:01:30")],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    "seconds, text",
    [(0, "0.00"), (5400, "1.50"), (3600, "1.00"), (18, "0.01"), (17, "0.00"), (900, "0.25"), (360_000, "100.00")],
)
def test_format_hours(seconds, text):
    assert format_hours(seconds) == text


@given(st.integers(min_value=1, max_value=MAX_DURATION_SECONDS))
def test_parse_duration_round_trips_format_duration(seconds):
    assert parse_duration(format_duration(seconds)) == seconds


@given(
    st.integers(0, 999),
    st.integers(0, 59),
    st.integers(0, 59),
    st.sampled_from(["", " "]),
)
def test_parse_duration_of_unit_strings(h, m, s, sep):
    assume(h or m or s)
    parts = [f"{n}{unit}" for n, unit in ((h, "h"), (m, "m"), (s, "s")) if n]
    assert parse_duration(sep.join(parts)) == h * 3600 + m * 60 + s


@given(st.integers(min_value=1, max_value=MAX_DURATION_SECONDS))
def test_format_hours_matches_seconds(seconds):
    assert abs(float(format_hours(seconds)) - seconds / 3600) <= 0.005 + 1e-9


# -- ranges --------------------------------------------------------------------------


@given(dates, zones)
def test_day_ranges_are_contiguous(day, tz):
    start, end = day_range(day, tz)
    assert start.tzinfo is UTC and end.tzinfo is UTC
    assert end == day_range(day + timedelta(days=1), tz)[0]
    assert timedelta(hours=22) <= end - start <= timedelta(hours=26)
    assert local_date(start, tz) == day
    assert local_date(end - timedelta(seconds=1), tz) == day


@given(dates, zones, st.integers(0, 6))
def test_week_range_covers_seven_consecutive_days(day, tz, beginning_of_week):
    start, end = week_range(day, tz, beginning_of_week)
    first = local_date(start, tz)
    assert (first.weekday() + 1) % 7 == beginning_of_week  # Toggl numbering
    assert first <= day < first + timedelta(days=7)
    days = [day_range(first + timedelta(days=i), tz) for i in range(7)]
    assert days[0][0] == start and days[-1][1] == end
    assert all(a[1] == b[0] for a, b in zip(days, days[1:]))
    assert end == week_range(first + timedelta(days=7), tz, beginning_of_week)[0]


@given(dates, zones)
def test_month_range_covers_the_month(day, tz):
    start, end = month_range(day, tz)
    assert start == day_range(day.replace(day=1), tz)[0]
    last = local_date(end - timedelta(seconds=1), tz)
    assert (last.year, last.month) == (day.year, day.month)
    assert (last + timedelta(days=1)).day == 1
    assert end == day_range(last, tz)[1]


@given(
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)),
    st.integers(-12 * 60, 14 * 60),
    zones,
    zones,
)
def test_iso_with_offset_is_the_same_instant_in_any_tz(wall, offset_minutes, tz_a, tz_b):
    moment = wall.replace(microsecond=0, tzinfo=timezone(timedelta(minutes=offset_minutes)))
    text = moment.isoformat()
    expected = moment.astimezone(UTC)
    assert parse_time(text, tz=tz_a, now=NOW) == expected
    assert parse_time(text, tz=tz_b, now=NOW) == expected
    if offset_minutes == 0:
        assert parse_time(text.replace("+00:00", "Z"), tz=tz_a, now=NOW) == expected


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)), zones)
def test_wall_times_round_trip_or_name_the_gap(wall, tz):
    wall = wall.replace(microsecond=0)
    try:
        parsed = parse_time(f"{wall:%Y-%m-%d %H:%M:%S}", tz=tz, now=NOW)
    except ValueError as exc:
        assert "does not exist" in str(exc)
        return
    assert to_local(parsed, tz).replace(tzinfo=None) == wall


def test_week_starting_monday_vs_sunday():
    friday = date(2026, 11, 20)
    assert week_range(friday, PARIS, 1) == (utc(2026, 11, 15, 23, 0), utc(2026, 11, 22, 23, 0))
    assert week_range(friday, PARIS, 0) == (utc(2026, 11, 14, 23, 0), utc(2026, 11, 21, 23, 0))
    assert week_range(friday, PARIS, 6) == (utc(2026, 11, 13, 23, 0), utc(2026, 11, 20, 23, 0))
    assert week_range(friday, PARIS) == week_range(friday, PARIS, 1)  # Monday by default
    sunday = date(2026, 11, 22)
    assert local_date(week_range(sunday, PARIS, 0)[0], PARIS) == sunday  # starts that day
    assert local_date(week_range(sunday, PARIS, 1)[0], PARIS) == date(2026, 11, 16)
    monday = date(2026, 11, 23)
    assert local_date(week_range(monday, PARIS, 1)[0], PARIS) == monday
    assert local_date(week_range(monday, PARIS, 0)[0], PARIS) == sunday


def test_week_across_dst_is_167_or_169_hours():
    start, end = week_range(date(2026, 3, 29), PARIS, 1)
    assert end - start == timedelta(hours=167)
    start, end = week_range(date(2026, 10, 25), PARIS, 0)
    assert end - start == timedelta(hours=169)


@pytest.mark.parametrize("bad", [-1, 7, True, 1.0, "1", None])
def test_week_range_rejects_bad_beginning_of_week(bad):
    with pytest.raises(ValueError, match="beginning_of_week"):
        week_range(date(2026, 11, 20), PARIS, bad)


def test_ranges_want_a_date_not_a_datetime():
    with pytest.raises(TypeError, match="not a datetime"):
        day_range(NOW, PARIS)


def test_month_range():
    assert month_range(date(2026, 11, 20), PARIS) == (utc(2026, 10, 31, 23, 0), utc(2026, 11, 30, 23, 0))
    assert month_range(date(2026, 12, 31), PARIS) == (utc(2026, 11, 30, 23, 0), utc(2026, 12, 31, 23, 0))
    start, end = month_range(date(2026, 2, 10), "UTC")
    assert end - start == timedelta(days=28)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("today", (utc(2026, 11, 19, 23, 0), utc(2026, 11, 20, 23, 0))),
        ("yesterday", (utc(2026, 11, 18, 23, 0), utc(2026, 11, 19, 23, 0))),
        ("week", (utc(2026, 11, 15, 23, 0), utc(2026, 11, 22, 23, 0))),
        ("this-week", (utc(2026, 11, 15, 23, 0), utc(2026, 11, 22, 23, 0))),
        ("last-week", (utc(2026, 11, 8, 23, 0), utc(2026, 11, 15, 23, 0))),
        ("last_week", (utc(2026, 11, 8, 23, 0), utc(2026, 11, 15, 23, 0))),
        ("Last Week", (utc(2026, 11, 8, 23, 0), utc(2026, 11, 15, 23, 0))),
        ("month", (utc(2026, 10, 31, 23, 0), utc(2026, 11, 30, 23, 0))),
        ("this-month", (utc(2026, 10, 31, 23, 0), utc(2026, 11, 30, 23, 0))),
        ("last-month", (utc(2026, 9, 30, 22, 0), utc(2026, 10, 31, 23, 0))),  # October: 31 d + 1 h
        ("year", (utc(2025, 12, 31, 23, 0), utc(2026, 12, 31, 23, 0))),
        ("this-year", (utc(2025, 12, 31, 23, 0), utc(2026, 12, 31, 23, 0))),
        ("last-year", (utc(2024, 12, 31, 23, 0), utc(2025, 12, 31, 23, 0))),
    ],
)
def test_named_ranges(name, expected):
    assert named_range(name, tz=PARIS, now=NOW, beginning_of_week=1) == expected


def test_named_week_ranges_follow_beginning_of_week():
    assert named_range("week", tz=PARIS, now=NOW, beginning_of_week=0) == (
        utc(2026, 11, 14, 23, 0),
        utc(2026, 11, 21, 23, 0),
    )
    assert named_range("last-week", tz=PARIS, now=NOW, beginning_of_week=0) == (
        utc(2026, 11, 7, 23, 0),
        utc(2026, 11, 14, 23, 0),
    )


def test_last_month_in_january_is_december():
    now = utc(2027, 1, 15, 12, 0)
    assert named_range("last-month", tz=PARIS, now=now) == (utc(2026, 11, 30, 23, 0), utc(2026, 12, 31, 23, 0))


@given(st.sampled_from(NAMED_RANGES), zones, st.integers(0, 6))
def test_named_ranges_contain_or_precede_now(name, tz, beginning_of_week):
    start, end = named_range(name, tz=tz, now=NOW, beginning_of_week=beginning_of_week)
    assert start < end
    if name in ("today", "week", "month", "year"):
        assert start <= NOW < end
    else:
        assert end <= NOW


def test_named_range_refuses_unknown_names():
    with pytest.raises(ValueError, match="range 'fortnight' not understood: expected one of today, yesterday"):
        named_range("fortnight", tz=PARIS, now=NOW)


def test_explicit_range_with_dates_includes_the_whole_to_day():
    assert explicit_range("2026-11-01", "2026-11-20", tz=PARIS, now=NOW) == (
        utc(2026, 10, 31, 23, 0),
        utc(2026, 11, 20, 23, 0),
    )
    # One day: from and to the same date.
    assert explicit_range("2026-11-20", "2026-11-20", tz=PARIS, now=NOW) == day_range(date(2026, 11, 20), PARIS)
    # Date words are dates too.
    assert explicit_range("monday", "yesterday", tz=PARIS, now=NOW) == (
        utc(2026, 11, 15, 23, 0),
        utc(2026, 11, 19, 23, 0),
    )
    # The inclusive day is a local day, 25 hours long here.
    start, end = explicit_range("2026-10-25", "2026-10-25", tz=PARIS, now=NOW)
    assert end - start == timedelta(hours=25)


def test_explicit_range_takes_whole_years_and_months():
    assert explicit_range("2019", "2024", tz=PARIS, now=NOW) == (utc(2018, 12, 31, 23, 0), utc(2024, 12, 31, 23, 0))
    assert explicit_range("2023-03", "2023-03", tz=PARIS, now=NOW) == (utc(2023, 2, 28, 23, 0), utc(2023, 3, 31, 22, 0))
    assert explicit_range("2023-12", "2024-01-15", tz=PARIS, now=NOW) == (
        utc(2023, 11, 30, 23, 0),
        utc(2024, 1, 15, 23, 0),
    )
    assert explicit_range("2026", None, tz=PARIS, now=NOW) == (utc(2025, 12, 31, 23, 0), NOW.replace(microsecond=0))
    with pytest.raises(ValueError, match="month 13 is out of range"):
        explicit_range("2023-13", "2024", tz=PARIS, now=NOW)
    with pytest.raises(ValueError, match="outside the supported range"):
        explicit_range("0001", "2024", tz=PARIS, now=NOW)


def test_explicit_range_with_times_is_exact():
    assert explicit_range("2026-11-20 09:00", "2026-11-20 17:30", tz=PARIS, now=NOW) == (
        utc(2026, 11, 20, 8, 0),
        utc(2026, 11, 20, 16, 30),
    )
    assert explicit_range("yesterday 17:00", "9:00", tz=PARIS, now=NOW) == (
        utc(2026, 11, 19, 16, 0),
        utc(2026, 11, 20, 8, 0),
    )
    assert explicit_range("-2h", "now", tz=PARIS, now=NOW) == (
        utc(2026, 11, 20, 13, 4, 5),
        utc(2026, 11, 20, 15, 4, 5),
    )
    assert explicit_range("2026-11-20T08:00:00Z", "2026-11-20T10:00:00+01:00", tz="UTC", now=NOW) == (
        utc(2026, 11, 20, 8, 0),
        utc(2026, 11, 20, 9, 0),
    )


def test_explicit_range_without_to_runs_until_now():
    assert explicit_range("2026-11-20", None, tz=PARIS, now=NOW) == (
        utc(2026, 11, 19, 23, 0),
        utc(2026, 11, 20, 15, 4, 5),
    )


@pytest.mark.parametrize(
    "from_text, to_text",
    [
        ("2026-11-21", "2026-11-20"),
        ("2026-11-20 10:00", "2026-11-20 09:00"),
        ("9:00", "9:00"),  # empty
        ("tomorrow", None),
    ],
)
def test_explicit_range_refuses_from_after_to(from_text, to_text):
    with pytest.raises(ValueError, match="is not before"):
        explicit_range(from_text, to_text, tz=PARIS, now=NOW)


def test_explicit_range_passes_parse_errors_through():
    with pytest.raises(ValueError, match="time 'whenever' not understood"):
        explicit_range("whenever", "now", tz=PARIS, now=NOW)
    with pytest.raises(ValueError, match="does not exist"):
        explicit_range("2026-03-29 02:30", "2026-03-29 05:00", tz=PARIS, now=NOW)


# -- time zones and conversions ---------------------------------------------------


def test_resolve_tz():
    assert resolve_tz("Europe/Paris") == PARIS
    assert resolve_tz(" Europe/Paris ") == PARIS
    assert resolve_tz("europe/paris") == PARIS  # case-insensitive fallback
    assert resolve_tz(PARIS) is PARIS
    assert resolve_tz(None) == ZoneInfo("UTC")
    assert resolve_tz("") == ZoneInfo("UTC")


@pytest.mark.parametrize("name", ["Mars/Olympus", "Europe", "Europe/", "../etc/passwd", "/etc/localtime", "CEST+2"])
def test_resolve_tz_refuses_unknown_names(name):
    with pytest.raises(ValueError, match=re.escape(f"unknown time zone '{name}'")):
        resolve_tz(name)


def test_local_date_and_to_local():
    moment = utc(2026, 11, 20, 23, 30)
    assert local_date(moment, PARIS) == date(2026, 11, 21)
    assert local_date(moment, "UTC") == date(2026, 11, 20)
    assert local_date(moment, "America/New_York") == date(2026, 11, 20)
    local = to_local(moment, "Europe/Paris")
    assert local == moment and local.utcoffset() == timedelta(hours=1)
    assert (local.hour, local.minute) == (0, 30)
    with pytest.raises(ValueError, match="naive"):
        local_date(datetime(2026, 11, 20, 23, 30), PARIS)
