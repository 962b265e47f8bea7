"""A hostile (or just unlucky) user: odd arguments never give a traceback.

Times, durations and ids typed into the CLI and into togglsync.timeparse;
names with quotes, SQL metacharacters, unicode and control characters; and
config files that are unreadable, malformed or readable by others.
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from togglsync import timeparse

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
FIXTURE_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

# Text that looks like what people type for times, plus arbitrary junk.
_TIMEISH = st.one_of(
    st.text(alphabet="0123456789:-+ .TZhmsapAPMnowyesterdaytomorrowmonday/", max_size=24),
    st.text(max_size=30),
    st.sampled_from(
        [
            "", " ", "now", "-0m", "+99999999h", "-99999999999999999999m", "25:61", "9999-12-31", "0000-01-01",
            "2026-02-30", "2026-03-29 02:30", "1e308", "nan", "inf", "\x00", "9:30\x00pm", "9am+", "-1h-1h",
            "１２:３０", "2026-01-01T00:00:00+99:99", "2026-01-01T00:00:00Z", "monday 25:00", "-", "+", "::",
            "10000000000000000000000", "99999999999999999999999999d", "0s", "-0s", "1.5h", "1,5h", "--1h",
            "0001-01-01 00:00", "0001-01-02", "0002-01-01", "0002-01-01T00:00+23:59", "9998-12-31 23:59",
            "9998-12-31T23:59-23:59", "9999-12-31", "9999-12-31 23:59", "9999-12-31T23:59:59Z",
        ]
    ),
    # Dates anywhere in Python's calendar and a little past it, offsets up to the extremes:
    # Hypothesis reaches years 0, 1, 9999 and the supported edges (2, 9998) from here.
    st.builds(
        lambda y, mo, d, clock, off: f"{y:04d}-{mo:02d}-{d:02d}{clock}{off}",
        st.integers(0, 9999),
        st.integers(0, 13),
        st.integers(0, 32),
        st.sampled_from(["", " 00:00", " 23:59", "T12:00", "T23:59:59"]),
        st.sampled_from(["", "Z", "+23:59", "-23:59", "+14:00", "-12:00"]),
    ),
)
_ZONES = st.sampled_from([
    "UTC", "Europe/Berlin", "America/St_Johns", "Pacific/Chatham", "Australia/Lord_Howe",
    "Pacific/Kiritimati", "Pacific/Pago_Pago",  # the largest offsets, east and west: first to overflow
])


def _no_traceback(result, allowed=(0, 2)):
    text = result.output + (result.stderr or "")
    assert "Traceback" not in text, text
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in allowed, (result.exit_code, text)
    if result.exit_code:
        errors = [line for line in (result.stderr or result.output).splitlines() if line.startswith("Error")]
        assert len(errors) == 1, text


# -- timeparse -----------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(text=_TIMEISH, tz=_ZONES)
def test_parse_time_returns_utc_or_raises_value_error(text, tz):
    try:
        moment = timeparse.parse_time(text, tz=tz, now=NOW)
    except ValueError as error:
        assert str(error) and "\n" not in str(error)
    else:
        assert moment.tzinfo is not None and moment.utcoffset().total_seconds() == 0


@settings(max_examples=400, deadline=None)
@given(text=_TIMEISH)
def test_parse_duration_returns_seconds_or_raises_value_error(text):
    try:
        seconds = timeparse.parse_duration(text)
    except ValueError as error:
        assert str(error) and "\n" not in str(error)
    else:
        assert isinstance(seconds, int) and seconds >= 0


@settings(max_examples=300, deadline=None)
@given(start=_TIMEISH, end=st.one_of(st.none(), _TIMEISH), tz=_ZONES)
def test_explicit_range_is_ordered_or_refused(start, end, tz):
    try:
        lo, hi = timeparse.explicit_range(start, end, tz=tz, now=NOW)
    except ValueError as error:
        assert str(error) and "\n" not in str(error)
    else:
        assert lo <= hi


# -- the edges of the calendar -----------------------------------------------------------
# Python's datetime stops at years 1 and 9999; typed dates are kept to
# timeparse.SUPPORTED_DATES (years 2-9998) so that nothing done with them later
# (a 1000-hour duration, the end of a day/week/month, showing them in any zone)
# can overflow.

OUT_OF_RANGE = "is outside the supported range (dates 0002-01-01 to 9998-12-31)"


def test_explicit_range_at_the_calendar_edges():
    with pytest.raises(ValueError, match=r"outside the supported range"):
        timeparse.explicit_range("0001-01-01", "9999-12-31", tz="UTC", now=NOW)


@pytest.mark.parametrize("text", ["0001-12-31 23:59", "9999-01-01", "0000-01-01", "9999-12-31T23:59:59Z"])
@pytest.mark.parametrize("tz", ["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_dates_outside_the_supported_years_are_refused(text, tz):
    with pytest.raises(ValueError) as refused:
        timeparse.parse_time(text, tz=tz, now=NOW)
    assert str(refused.value) == f"time {text!r} {OUT_OF_RANGE}"


@pytest.mark.parametrize("tz", ["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_the_supported_edges_leave_room_for_everything_done_with_them(tz):
    first = timeparse.parse_time("0002-01-01T00:00+23:59", tz=tz, now=NOW)
    last = timeparse.parse_time("9998-12-31T23:59:59-23:59", tz=tz, now=NOW)
    longest = timedelta(seconds=timeparse.MAX_DURATION_SECONDS)
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago", "Etc/GMT-14", "Etc/GMT+12"):
        for moment in (first, first - longest, last, last + longest):
            local = moment.astimezone(ZoneInfo(zone))
            timeparse.month_range(local.date(), zone)
            timeparse.week_range(local.date(), zone, 6)
    assert timeparse.explicit_range("0002-01-01", "9998-12-31", tz=tz, now=NOW)


def test_log_from_the_second_day_of_year_one(synced):
    result = synced.run("log", "--from", "0001-01-02", "--to", "9999-12-31")
    _no_traceback(result, allowed=(2,))
    assert OUT_OF_RANGE in result.output


def test_add_at_the_end_of_the_calendar(synced):
    result = synced.run("add", "x", "--start", "9999-12-31 23:59", "--duration", "1h")
    _no_traceback(result, allowed=(2,))
    assert OUT_OF_RANGE in result.output


def _stored(db):
    with sqlite3.connect(db) as conn:
        return [
            conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in ("time_entries", "time_entry_tags", "pending_operations")
        ]


@pytest.mark.parametrize("tz", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
@pytest.mark.parametrize(
    "args",
    [
        ("log", "--from", "0001-01-01", "--to", "9999-12-31"),
        ("log", "--from", "2026-01-01", "--to", "9999-12-31"),
        ("log", "--from", "9999-12-31"),
        ("report", "--from", "0001-01-01", "--to", "9999-12-31"),
        ("report", "--from", "2026-01-01", "--to", "9999-12-31T23:00Z"),
        ("add", "x", "--start", "0001-01-01 00:00", "--duration", "1h"),
        ("add", "x", "--start", "9999-12-31T23:00Z", "--stop", "9999-12-31T23:30Z"),
        ("add", "x", "--start", "2026-01-05 09:00", "--stop", "9999-12-31 23:59"),
        ("start", "x", "--at", "0001-01-01 00:00"),
        ("start", "x", "--at", "0001-01-01T00:00Z"),
        ("start", "x", "--at", "9999-12-31 23:59"),
        ("stop", "--at", "9999-12-31 23:59"),
        ("continue", "--at", "0001-01-01T00:00Z"),
        ("edit", "-1", "--start", "0001-01-01T00:00Z"),
        ("edit", "-1", "--start", "9999-12-31 23:00"),
        ("edit", "-1", "--stop", "9999-12-31 23:59"),
        ("edit", "-1", "--start", "9999-12-31 23:00", "--duration", "2h"),
    ],
)
@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_calendar_edges_in_the_cli_are_refused_and_write_nothing(synced, args, tz):
    before = _stored(synced.db)
    result = synced.run(*args, env={"TOGGLSYNC_TZ": tz})
    _no_traceback(result, allowed=(2,))
    assert OUT_OF_RANGE in result.output
    assert _stored(synced.db) == before


@pytest.mark.parametrize("tz", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_entries_at_the_supported_edges_work_everywhere(synced, tz):
    env = {"TOGGLSYNC_TZ": tz}
    for args in (
        ("add", "last", "--start", "9998-12-31 23:59", "--duration", "1000h", "--allow-long"),
        ("add", "first", "--start", "0002-01-01 00:00", "--duration", "1h"),
        ("edit", "-1", "--start", "9998-12-31 23:00", "--duration", "1000h", "--allow-long"),
        ("log", "--from", "0002-01-01", "--to", "9998-12-31"),
        ("log", "--from", "9998-12-31", "--to", "9998-12-31", "--json"),
        ("report", "--by", "day", "--from", "9998-12-01", "--to", "9998-12-31", "--chart"),
        ("report", "--by", "day", "--from", "0002-01-01", "--to", "0002-01-31"),
        ("status",),
    ):
        result = synced.run(*args, env=env)
        assert result.exit_code == 0, (args, result.output, result.exception)


# -- the CLI ---------------------------------------------------------------------------


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
@FIXTURE_SETTINGS
@given(at=_TIMEISH, tz=_ZONES)
def test_start_at_never_tracebacks(synced, at, tz):
    result = synced.run("start", "hostile", "--at", at, env={"TOGGLSYNC_TZ": tz})
    _no_traceback(result)
    synced.run("stop")  # whatever it did, leave no timer running for the next example


@FIXTURE_SETTINGS
@given(start=_TIMEISH, stop=_TIMEISH, duration=_TIMEISH, use_duration=st.booleans(), tz=_ZONES)
def test_add_never_tracebacks(synced, start, stop, duration, use_duration, tz):
    extra = ["--duration", duration] if use_duration else ["--stop", stop]
    _no_traceback(synced.run("add", "hostile", "--start", start, *extra, env={"TOGGLSYNC_TZ": tz}))


@FIXTURE_SETTINGS
@given(
    entry=st.one_of(
        st.sampled_from(["0", "-1", "abc", "1e3", "", " ", "last", "-999999999999", "9223372036854775807"]),
        st.text(max_size=12),
    ),
    start=_TIMEISH,
)
def test_edit_never_tracebacks(synced, entry, start):
    _no_traceback(synced.run("edit", entry, "--start", start))


@FIXTURE_SETTINGS
@given(start=_TIMEISH, end=_TIMEISH, tz=_ZONES)
def test_log_range_never_tracebacks(synced, start, end, tz):
    _no_traceback(synced.run("log", "--from", start, "--to", end, env={"TOGGLSYNC_TZ": tz}))


BIG = "99999999999999999999999"  # past SQLite's 64-bit INTEGER


@pytest.mark.parametrize(
    "args",
    [
        ("edit", BIG, "-d", "x"),
        ("rm", BIG),
        ("continue", BIG),
        ("pending", "retry", BIG),
        ("pending", "drop", BIG),
        ("conflicts", "resolve", BIG, "--keep", "local"),
        ("log", "-p", BIG),
        ("report", "-p", BIG),
        ("log", "-t", BIG),
        ("add", "x", "--start", "9:00", "--duration", "1h", "-p", BIG),
    ],
)
def test_ids_past_sqlite_range_are_refused(synced, args):
    _no_traceback(synced.run(*args), allowed=(1, 2))


# -- names -----------------------------------------------------------------------------

WEIRD_NAMES = [
    "'; DROP TABLE time_entries; --",
    'Robert"); DROP TABLE projects;--',
    "100% _wild_ %",
    "back\\slash",
    "ünïcødé ✓ 日本語 🚀",
    "tab\tinside",
    "bell\x07char",
    "rtl \u202e txet",
    "zero\u200bwidth",
    "O'Brien & \"Sons\"",
]


def _table_count(db, table):
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
@pytest.mark.parametrize("name", WEIRD_NAMES)
def test_weird_names_round_trip_or_are_refused(synced, name):
    entries_before = _table_count(synced.db, "time_entries")
    created = synced.run("projects", "add", name)
    _no_traceback(created)
    if created.exit_code == 0:
        listed = synced.run("projects", "--json")
        assert listed.exit_code == 0, listed.output
        assert name in [p.get("name") for p in json.loads(listed.output)]
        added = synced.run("add", name, "--start", "2026-01-05 09:00", "--duration", "30m", "-p", name, "-t", name,
                           "--create")
        _no_traceback(added)
        if added.exit_code == 0:
            shown = synced.run("log", "--from", "2026-01-05", "--to", "2026-01-05", "-p", name, "--json")
            assert shown.exit_code == 0, shown.output
            assert name in shown.output or json.dumps(name)[1:-1] in shown.output
    # Filters with the name are parameterised: no match, no error, no damage.
    _no_traceback(synced.run("log", "--week", "-p", name))
    _no_traceback(synced.run("report", "-p", name))
    _no_traceback(synced.run("log", "--week", "-t", name))
    assert _table_count(synced.db, "time_entries") >= entries_before


@pytest.mark.parametrize("name", ["line\nbreak", "nul\x00byte", "", "   ", "esc\x1b[31mred"])
def test_control_character_names_are_refused_or_stored_verbatim(synced, name):
    result = synced.run("projects", "add", name)
    _no_traceback(result)
    if result.exit_code == 0:
        with sqlite3.connect(synced.db) as conn:
            names = [r[0] for r in conn.execute("SELECT name FROM projects")]
        assert name in names or name.strip() in names


# -- config files ----------------------------------------------------------------------


def _config(home):
    from togglsync.config import config_path

    return config_path(home)


def _run_plain(home, *args):
    from click.testing import CliRunner

    from togglsync.cli import cli

    return CliRunner().invoke(cli, list(args), env={"TOGGLSYNC_HOME": str(home)})


MALFORMED = {
    "truncated": b'{"api_token": "abc',
    "a list": b"[1, 2]",
    "binary": b"\xff\xfe\x00garbage\x80",
    "unknown key": b'{"shell": "rm -rf /"}',
    "token is a number": b'{"api_token": 12345}',
    "url is a list": b'{"api_url": ["http://x"]}',
    "nul bytes": b'{"api_token": "a\\u0000b"}',
}


@pytest.mark.parametrize(
    "case",
    [
        c
        for c in sorted(MALFORMED)
    ],
)
def test_malformed_config_is_a_clear_error(isolated_home, case):
    path = _config(isolated_home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(MALFORMED[case])
    os.chmod(path, 0o600)
    for args in (["config", "show"], ["status"]):
        result = _run_plain(isolated_home, *args)
        # status reads only: where the config is usable it says there is no database yet (1)
        _no_traceback(result, allowed=(0, 1, 2) if args == ["status"] else (0, 2))


def test_unreadable_config_is_a_clear_error(isolated_home):
    path = _config(isolated_home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"api_token": "0123456789abcdef0123456789abcdef"}')
    os.chmod(path, 0)
    try:
        try:
            path.read_bytes()
        except PermissionError:
            pass
        else:
            pytest.skip("running with privileges that read a mode-000 file (root)")
        result = _run_plain(isolated_home, "config", "show")
        _no_traceback(result, allowed=(2,))
        assert "cannot read config file" in result.output + result.stderr
    finally:
        os.chmod(path, 0o600)


def test_world_readable_config_with_a_token_warns_without_showing_it(isolated_home):
    token = "f00dfeedcafe0123456789abcdef0123"
    path = _config(isolated_home)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"api_token": token}))
    os.chmod(path, 0o644)
    for args in (["config", "show"], ["config", "show", "--json"], ["status"]):
        result = _run_plain(isolated_home, *args)
        text = result.output + (result.stderr or "")
        assert "Traceback" not in text
        assert "readable by others" in text, text
        assert token not in text and token[:8] not in text
