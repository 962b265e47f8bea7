"""`togglsync sql`, `togglsync db path` and `togglsync report`, offline against a synced home.

Every test stops the simulator first: these commands read the local database
only, and send no request. The report's numbers are checked against plain SQL
over the `entries` view for the same UTC range.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from rich.cells import cell_len

UTC = timezone.utc


@pytest.fixture
def home(synced):
    """The synced home, offline: the simulator is stopped and the request count frozen."""
    synced.sim.stop()
    before = synced.requests()
    yield synced
    assert synced.requests() == before, "a reading command sent a request"


def ok(result):
    assert result.exit_code == 0, result.output
    return result


def js(result):
    return json.loads(ok(result).stdout)


def fails(result, code=2, pattern=""):
    """A one-line `Error: ...` on stderr, the given exit code, no traceback."""
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert re.search(pattern, lines[0]), lines[0]
    return lines[0]


def db_text(iso_z: str) -> str:
    """The report's JSON bound (2026-11-22T23:00:00Z) as the database stores times."""
    return iso_z.replace("T", " ").removesuffix("Z")


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sql_json(home, query, **params):
    args = ["sql", query, "--json"]
    for name, value in params.items():
        args += ["--param", f"{name}={value}"]
    return js(home.run(*args))


# -- report == SQL over the same range -----------------------------------------------------------------

# What each grouping means in SQL over the `entries` view; running = how many running entries in the group.
EXPECTED_SQL = {
    "project": """SELECT coalesce(project, '(no project)') AS key, sum(duration) AS seconds, count(*) AS entries,
                         sum(running) AS running
                  FROM entries WHERE start >= :lo AND start < :hi GROUP BY project_id""",
    "client": """SELECT coalesce(client, '(no client)') AS key, sum(duration) AS seconds, count(*) AS entries,
                        sum(running) AS running
                 FROM entries WHERE start >= :lo AND start < :hi GROUP BY client_id""",
    "tag": """SELECT coalesce(t.name, '(no tag)') AS key, sum(e.duration) AS seconds, count(*) AS entries,
                     sum(e.running) AS running
              FROM entries e LEFT JOIN time_entry_tags et ON et.time_entry_id = e.id LEFT JOIN tags t ON t.id = et.tag_id
              WHERE e.start >= :lo AND e.start < :hi GROUP BY et.tag_id""",
    "description": """SELECT coalesce(nullif(description, ''), '(no description)') AS key, sum(duration) AS seconds,
                             count(*) AS entries, sum(running) AS running
                      FROM entries WHERE start >= :lo AND start < :hi GROUP BY coalesce(description, '')""",
}


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_report_equals_sql_over_the_same_range(home):
    today = datetime.now(UTC).date()
    past = ("--from", (today - timedelta(days=30)).isoformat(), "--to", (today - timedelta(days=9)).isoformat())
    for range_args in [(), ("--month",), past]:
        for by, query in EXPECTED_SQL.items():
            report = js(home.run("report", "--by", by, *range_args, "--json"))
            lo, hi = db_text(report["from"]), db_text(report["to"])
            expected = sql_json(home, query, lo=lo, hi=hi)
            assert expected, "the range should hold entries"
            got = {r[by]: (r["seconds"], r["entries"]) for r in report["rows"]}
            assert set(got) == {r["key"] for r in expected}, (by, range_args)
            for row in expected:
                seconds, entries = got[row["key"]]
                assert entries == row["entries"], (by, row)
                tolerance = 5 * row["running"]  # the report's clock and SQLite's, read a moment apart
                assert abs(seconds - row["seconds"]) <= tolerance, (by, row, seconds)
                if range_args == past:
                    assert seconds == row["seconds"]  # nothing running in the past: exact
            (total,) = sql_json(
                home, "SELECT count(*) AS n, sum(duration) AS s, sum(running) AS r FROM entries "
                      "WHERE start >= :lo AND start < :hi", lo=lo, hi=hi)
            assert report["total"]["entries"] == total["n"]
            assert abs(report["total"]["seconds"] - total["s"]) <= 5 * total["r"]
            assert report["total"]["running"] == total["r"]
            if by != "tag":  # an entry with several tags counts under each
                assert sum(r["entries"] for r in report["rows"]) == total["n"]
                assert sum(r["seconds"] for r in report["rows"]) == report["total"]["seconds"]


def test_report_range_is_this_week_in_the_account_zone_by_default(home):
    report = js(home.run("report", "--json"))
    assert report["timezone"] == "Europe/Paris"
    first = datetime.fromisoformat(report["first_day"]).date()
    assert first.weekday() == 0  # the seeded account's weeks start on Monday
    assert report["last_day"] == (first + timedelta(days=6)).isoformat()
    start = datetime.fromisoformat(report["from"].replace("Z", "+00:00"))
    assert start.astimezone(ZoneInfo("Europe/Paris")).strftime("%H:%M") == "00:00"
    week = js(home.run("report", "--week", "--json"))
    assert (week["from"], week["to"], week["rows"][0]["project"]) == (report["from"], report["to"], report["rows"][0]["project"])
    assert report["total"]["running"] == 1  # the seeded running entry started just now


def test_report_by_day_lists_every_day_in_order(home):
    report = js(home.run("report", "--by", "day", "--week", "--json"))
    days = [r["day"] for r in report["rows"]]
    first = datetime.fromisoformat(report["first_day"]).date()
    assert days == [(first + timedelta(days=i)).isoformat() for i in range(7)]
    assert sum(r["seconds"] for r in report["rows"]) == report["total"]["seconds"]
    assert sum(r["entries"] for r in report["rows"]) == report["total"]["entries"]
    assert any(r["entries"] == 0 for r in report["rows"])  # the rest of the week is still empty


# -- output shapes ------------------------------------------------------------------------------------


def test_report_json_and_csv_shapes(home):
    report = js(home.run("report", "--by", "project", "--month", "--json"))
    assert set(report) == {"by", "from", "to", "timezone", "first_day", "last_day", "now", "filters", "rows", "total"}
    assert set(report["total"]) == {"seconds", "hours", "time", "entries", "running"}
    for row in report["rows"]:
        assert list(row) == ["project", "project_id", "seconds", "hours", "time", "entries", "share"]
        assert row["hours"] == round(row["seconds"] / 3600, 2)
        h, m, s = (int(x) for x in row["time"].split(":"))
        assert h * 3600 + m * 60 + s == row["seconds"]
    assert abs(sum(r["share"] for r in report["rows"]) - 100) < 0.5
    seconds = [r["seconds"] for r in report["rows"]]
    assert seconds == sorted(seconds, reverse=True)

    result = ok(home.run("report", "--by", "client", "--month", "--csv"))
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["client", "client_id", "seconds", "hours", "time", "entries", "share"]
    by_json = js(home.run("report", "--by", "client", "--month", "--json"))["rows"]
    assert [(r["client"], int(r["seconds"]) // 60) for r in rows] == [(r["client"], r["seconds"] // 60) for r in by_json]

    result = ok(home.run("report", "--by", "day", "--today", "--csv"))
    assert result.stdout.splitlines()[0] == "day,seconds,hours,time,entries,share"
    assert len(result.stdout.splitlines()) == 2


def test_report_table_and_chart(home):
    result = ok(home.run("report", "--month", env={"COLUMNS": "100", "TOGGLSYNC_FORCE_TTY": "1"}))
    out = result.stdout
    assert out.splitlines()[0].startswith("Time by project · This month, ")
    assert "Europe/Paris" in out.splitlines()[0]
    assert re.search(r"Total\s+│\s+\d+:\d\d:\d\d\s+│\s+\d+\.\d\d\s+│\s+\d+\s+│\s+100\.0%", out)
    assert "█" not in out
    assert "running entry" in out

    charted = ok(home.run("report", "--month", "--chart", env={"COLUMNS": "100", "TOGGLSYNC_FORCE_TTY": "1"})).stdout
    lines = charted.splitlines()
    assert all(cell_len(line) <= 100 for line in lines)
    bars = [re.sub(r"[^█▏▎▍▌▋▊▉]", "", line) for line in lines if "│" in line and "Total" not in line]
    bars = [b for b in bars if b]
    assert bars and bars[0] == max(bars, key=len)  # rows are largest first: so is the first bar
    assert len(bars[0]) >= 30  # the bars take the room left on a 100-column line
    assert [len(b) for b in bars] == sorted((len(b) for b in bars), reverse=True)

    wide = ok(home.run("report", "--month", "--chart", env={"COLUMNS": "160", "TOGGLSYNC_FORCE_TTY": "1"})).stdout
    assert max(len(re.sub(r"[^█]", "", line)) for line in wide.splitlines()) > len(bars[0])

    days = ok(home.run("report", "--by", "day", "--chart", env={"COLUMNS": "100", "TOGGLSYNC_FORCE_TTY": "1"})).stdout
    assert len(re.findall(r"^ (Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{4}-\d\d-\d\d ", days, re.M)) == 7


def test_report_filters(home):
    month = js(home.run("report", "--month", "--json"))
    name = next(r["project"] for r in month["rows"] if r["project_id"])
    pid = next(r["project_id"] for r in month["rows"] if r["project"] == name)

    only = js(home.run("report", "--month", "-p", name, "--json"))
    assert [(r["project"], r["seconds"]) for r in only["rows"]] == [
        (r["project"], r["seconds"]) for r in month["rows"] if r["project"] == name
    ]
    assert js(home.run("report", "--month", "-p", str(pid), "--json"))["rows"] == only["rows"]
    assert js(home.run("report", "--month", "-p", name.upper(), "--json"))["rows"] == only["rows"]  # any case

    tags = js(home.run("report", "--month", "--by", "tag", "--json"))
    tag = next(r for r in tags["rows"] if r["tag_id"])
    tagged = js(home.run("report", "--month", "-t", tag["tag"], "--json"))
    assert tagged["total"]["entries"] == tag["entries"]
    assert abs(tagged["total"]["seconds"] - tag["seconds"]) <= 5

    workspace = sql_json(home, "SELECT name FROM workspaces")[0]["name"]
    assert js(home.run("report", "--month", "-w", workspace, "--json"))["total"]["entries"] == month["total"]["entries"]

    fails(home.run("report", "-p", name[:-1] + "x"), 2, rf"no project named .*; did you mean '{re.escape(name)}'")
    fails(home.run("report", "-t", "urgnt"), 2, r"no tag named 'urgnt'; did you mean 'urgent'")
    fails(home.run("report", "-w", "Nope"), 2, r"no workspace 'Nope'")


def test_report_from_alone_runs_to_today_and_to_alone_from_the_first_entry(home):
    today = datetime.now(UTC).astimezone(ZoneInfo("Europe/Paris")).date()
    since = (today - timedelta(days=20)).isoformat()
    alone = js(home.run("report", "--from", since, "--json"))
    both = js(home.run("report", "--from", since, "--to", "today", "--json"))
    assert (alone["from"], alone["to"], alone["last_day"]) == (both["from"], both["to"], today.isoformat())
    assert alone["total"]["entries"] == both["total"]["entries"] > 0
    until = (today - timedelta(days=9)).isoformat()
    (first,) = sql_json(home, "SELECT min(local_date) AS day, count(*) AS n FROM entries WHERE local_date <= :d", d=until)
    upto = js(home.run("report", "--to", until, "--json"))
    assert (upto["first_day"], upto["last_day"]) == (first["day"], until)
    assert upto["total"]["entries"] == first["n"] > 0
    everything = js(home.run("report", "--from", "0002-01-01", "--to", until, "--json"))
    assert upto["total"] == everything["total"] and upto["rows"] == everything["rows"]
    assert "from the first day with an entry" in " ".join(ok(home.run("report", "--help")).output.split())
    log = ok(home.run("log", "--to", until, "--csv")).output.splitlines()
    assert len(log) - 1 == first["n"]  # the header, then every entry up to that day


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_report_bad_input(home):
    before = digest(home.db)
    fails(home.run("report", "--from", "tomorrow"), 2, r"from 'tomorrow' is not before to 'today'")
    fails(home.run("report", "--to", "someday"), 2, r"time 'someday' not understood")
    fails(home.run("report", "--week", "--to", "today"), 2, r"either --week or --from/--to")
    fails(home.run("report", "--from", "2026-11-10", "--to", "2026-11-01"), 2, r"is not before")
    fails(home.run("report", "--from", "someday", "--to", "today"), 2, r"time 'someday' not understood")
    fails(home.run("report", "--week", "--from", "monday", "--to", "today"), 2, r"either --week or --from/--to")
    result = home.run("report", "--by", "weekday")
    assert result.exit_code == 2 and "Invalid value for '--by'" in result.output
    assert digest(home.db) == before


# -- sql ------------------------------------------------------------------------------------------------------


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_sql_outputs(home):
    rows = js(home.run("sql", "SELECT id, project, duration, tags FROM entries ORDER BY start LIMIT 3", "--json"))
    assert len(rows) == 3 and list(rows[0]) == ["id", "project", "duration", "tags"]
    assert all(isinstance(r["id"], int) for r in rows)

    assert js(home.run("sql", "SELECT 1 AS a WHERE 0", "--json")) == []
    assert js(home.run("sql", "SELECT 1.5 AS f, 0.0 AS z, 1e999 AS inf, NULL AS n, 'é' AS s", "--json")) == [
        {"f": 1.5, "z": 0.0, "inf": "inf", "n": None, "s": "é"}]
    assert js(home.run("sql", "SELECT e.id, t.id, x'00ff' AS b FROM time_entries e, tags t LIMIT 1", "--json"))[0].keys() == {
        "id", "id_2", "b"}

    result = ok(home.run("sql", "SELECT id, description FROM time_entries ORDER BY id LIMIT 5", "--csv"))
    parsed = list(csv.reader(io.StringIO(result.stdout)))
    assert parsed[0] == ["id", "description"] and len(parsed) == 6
    assert ok(home.run("sql", "SELECT 1 AS n WHERE 0", "--csv")).stdout == "n\n"

    table = ok(home.run("sql", "SELECT count(*) AS n FROM entries", "--table"))
    assert re.search(r"^\s*n\s*$", table.stdout, re.M) and "200" in table.stdout
    assert "(1 row)" in table.stderr

    capped = ok(home.run("sql", "SELECT id FROM time_entries", "--max-rows", "10", "--table"))
    assert len(re.findall(r"^\s*\d{6,}\s*$", capped.stdout, re.M)) == 10
    assert "10 rows shown; there are more" in capped.stderr
    every = ok(home.run("sql", "SELECT id FROM time_entries", "--max-rows", "0"))
    assert len(re.findall(r"^\s*\d{6,}\s*$", every.stdout, re.M)) == 200

    # Markup in the data is shown as is.
    assert "[bold]x[/bold]" in ok(home.run("sql", "SELECT '[bold]x[/bold]' AS s")).stdout


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_sql_parameters_and_stdin(home):
    name = sql_json(home, "SELECT name FROM projects ORDER BY id LIMIT 1")[0]["name"]
    expected = sql_json(home, f"SELECT count(*) AS n FROM entries WHERE project = '{name.replace(chr(39), chr(39) * 2)}'")
    assert sql_json(home, "SELECT count(*) AS n FROM entries WHERE project = :p", p=name) == expected
    assert sql_json(home, "SELECT id FROM time_entries ORDER BY id LIMIT :n", n="2").__len__() == 2
    assert js(home.run("sql", "-", "--json", input="SELECT count(*) AS n FROM tags")) == [{"n": 10}]
    assert js(home.run("sql", "--json", input="SELECT 2 AS n")) == [{"n": 2}]

    fails(home.run("sql", "SELECT :x"), 2, r"supply a value for binding parameter :x")
    fails(home.run("sql", "SELECT 1", "--param", "x"), 2, r"expected NAME=VALUE")
    fails(home.run("sql", "SELECT 1", "--param", "1x=2"), 2, r"expected NAME=VALUE")
    fails(home.run("sql", "", "--json"), 2, r"the query is empty")


WRITES = [
    "DELETE FROM time_entries",
    "UPDATE projects SET name = 'x'",
    "INSERT INTO tags (id, workspace_id, name) VALUES (1, 1, 'x')",
    "DROP VIEW entries",
    "CREATE TABLE t (x)",
    "PRAGMA user_version = 7",
    "VACUUM",
    "WITH x AS (SELECT 1) DELETE FROM time_entries",
]


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_sql_cannot_write(home):
    before = digest(home.db)
    count = sql_json(home, "SELECT count(*) AS n FROM time_entries")
    for statement in WRITES:
        line = fails(home.run("sql", statement), 2)
        assert "readonly database" in line or "read-only" in line or "read only" in line, (statement, line)
    copy = home.home.parent / "copy.db"
    # Not even another file: VACUUM INTO could write anywhere (back up with sqlite3's .backup).
    fails(home.run("sql", f"VACUUM INTO '{copy}'"), 2)
    assert not copy.exists()
    fails(home.run("sql", "SELECT 1; DELETE FROM time_entries"), 2, r"one statement at a time")
    assert digest(home.db) == before
    assert sql_json(home, "SELECT count(*) AS n FROM time_entries") == count


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_sql_errors_are_one_line(home):
    fails(home.run("sql", "SELEC 1"), 2, r'near "SELEC": syntax error')
    fails(home.run("sql", "SELECT * FROM nope"), 2, r"no such table: nope")
    fails(home.run("sql", "SELECT nope FROM entries"), 2, r"no such column: nope")
    fails(home.run("sql", "SELECT json_extract('x', '$.a')", "--json"), 2, r"malformed JSON")


# -- no database yet; db path; an older schema ------------------------------------------------------------------


def test_commands_do_not_create_a_missing_database(tmp_path):
    from click.testing import CliRunner

    from togglsync.cli import cli

    home = tmp_path / "empty-home"
    env = {"TOGGLSYNC_HOME": str(home)}
    runner = CliRunner()
    for args in (["sql", "SELECT 1"], ["report"], ["report", "--json"]):
        result = runner.invoke(cli, args, env=env)
        fails(result, 1, r"no database at .*togglsync\.db yet: run `togglsync sync` first")
    result = runner.invoke(cli, ["db", "path"], env=env)
    assert result.exit_code == 0 and result.stdout.strip() == str((home / "togglsync.db").resolve())
    assert "does not exist yet" in result.stderr
    assert not home.exists()

    other = tmp_path / "elsewhere" / "my.db"
    result = runner.invoke(cli, ["--db", str(other), "db", "path"], env=env)
    assert result.stdout.strip() == str(other.resolve())


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_db_path_is_the_synced_database(home):
    assert ok(home.run("db", "path")).stdout.strip() == str(home.db.resolve())


def test_sql_upgrades_an_older_database(tmp_path):
    """A database from before the views (revision 0002) is brought to head on first need."""
    from alembic import command
    from click.testing import CliRunner

    from togglsync.cli import cli
    from togglsync.db.engine import make_engine
    from togglsync.db.migrate import alembic_config, current_revision, head_revision

    path = tmp_path / "home" / "togglsync.db"
    engine = make_engine(str(path))
    with engine.connect() as conn:
        command.upgrade(alembic_config(conn), "0002")
    assert current_revision(engine) == "0002"
    engine.dispose()

    result = CliRunner().invoke(cli, ["sql", "SELECT count(*) AS n FROM entries", "--json"],
                                env={"TOGGLSYNC_HOME": str(path.parent)})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"n": 0}]
    engine = make_engine(str(path))
    assert current_revision(engine) == head_revision()
    engine.dispose()


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_report_days_equal_daily_totals_after_a_sync(home):
    """Sync stores the account's zone in tz_offsets; report cuts days in that zone: both agree."""
    zone = sql_json(home, "SELECT DISTINCT zone FROM tz_offsets")
    assert zone == [{"zone": "Europe/Paris"}], "the sync did not store the account's time zone for the views"
    today = datetime.now(UTC).date()
    report = js(home.run("report", "--by", "day", "--from", (today - timedelta(days=40)).isoformat(),
                         "--to", (today - timedelta(days=1)).isoformat(), "--json"))
    expected = sql_json(home, "SELECT date, seconds, entries FROM daily_totals WHERE date BETWEEN :a AND :b",
                        a=report["first_day"], b=report["last_day"])
    got = {r["day"]: (r["seconds"], r["entries"]) for r in report["rows"] if r["entries"]}
    assert got == {r["date"]: (r["seconds"], r["entries"]) for r in expected}
    assert len(got) > 20


def test_report_by_day_over_the_whole_calendar_lists_the_days_with_entries(synced):
    """Ranges over a year list only days with entries; the range is cut to where they are first
    (the whole calendar is three million days: never built)."""
    import json as _json
    from datetime import datetime, timezone

    import time_machine

    instant = datetime.now(timezone.utc).replace(microsecond=0)

    def days(*range_args):
        with time_machine.travel(instant, tick=False):  # a running entry counts up to now: same now
            result = synced.run("report", "--by", "day", *range_args, "--json")
        assert result.exit_code == 0, result.output
        data = _json.loads(result.output)
        return [(r["day"], r["seconds"], r["entries"]) for r in data["rows"]], data["total"]

    everything, total = days("--from", "0002-01-01", "--to", "9998-12-31")
    around, around_total = days("--from", "2000-01-01", "--to", "2100-01-01")
    assert everything == around and total == around_total and total["entries"] > 0
    assert all(entries > 0 for _, _, entries in everything)
