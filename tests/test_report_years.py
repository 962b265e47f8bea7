"""Reports and listings over years: `report --by month|year`, `--year`/`--last-year`, `--from 2019 --to 2024`.

A synced home gets a few thousand extra entries spread over 2019-2024 written
straight into SQLite (as a backfill of old history would store them); the
report's months and years are checked against plain SQL over the `entries`
view (its `local_date` is the account zone's date, the report's default zone).
"""

from __future__ import annotations

import csv
import io
import json
import random
import sqlite3
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

UTC = timezone.utc

# 2023-03-31 22:30 UTC is 2023-04-01 00:30 in Paris (summer time, UTC+2): April there, March in UTC.
EDGE_START = datetime(2023, 3, 31, 22, 30, tzinfo=UTC)
# 2021-12-31 23:15 UTC is 2022-01-01 00:15 in Paris (UTC+1): 2022 there, 2021 in UTC.
NEW_YEAR_START = datetime(2021, 12, 31, 23, 15, tzinfo=UTC)
# No entry at all in these months: they are listed empty.
EMPTY_MONTHS = ("2020-07", "2022-02")


def ok(result):
    assert result.exit_code == 0, result.output
    return result


def js(result):
    return json.loads(ok(result).stdout)


def seed_years(db, count: int, *, seed: int = 3) -> list[tuple[int, str, int]]:
    """`count` stopped entries in 2019-2024 (none in EMPTY_MONTHS) plus the two edge entries; -> (id, start, seconds)."""
    rng = random.Random(seed)
    conn = sqlite3.connect(db)
    wid, project = conn.execute("SELECT workspace_id, id FROM projects ORDER BY id LIMIT 1").fetchone()
    lo, hi = datetime(2019, 1, 1, tzinfo=UTC), datetime(2024, 12, 31, 12, tzinfo=UTC)
    rows = []
    next_id = 9_000_000_000
    while len(rows) < count:
        start = lo + timedelta(seconds=rng.randrange(int((hi - lo).total_seconds())))
        if f"{start:%Y-%m}" in EMPTY_MONTHS or start.day in (1, 28, 29, 30, 31):  # month edges: only ours
            continue
        rows.append((next_id, start, rng.randrange(60, 4 * 3600)))
        next_id += 1
    rows.append((next_id, EDGE_START, 3600))
    rows.append((next_id + 1, NEW_YEAR_START, 1800))
    conn.executemany(
        "INSERT INTO time_entries (id, workspace_id, project_id, description, start, stop, duration, billable, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)",
        [
            (i, wid, project if i % 3 else None, f"old work {i % 7}", f"{s:%Y-%m-%d %H:%M:%S}",
             f"{s + timedelta(seconds=d):%Y-%m-%d %H:%M:%S}", d, f"{s:%Y-%m-%d %H:%M:%S}")
            for i, s, d in rows
        ],
    )
    conn.commit()
    conn.close()
    return [(i, f"{s:%Y-%m-%d %H:%M:%S}", d) for i, s, d in rows]


@pytest.fixture
def years(synced):
    """The synced home (offline) with 3,000 entries over 2019-2024."""
    synced.sim.stop()
    seed_years(synced.db, 3000)
    return synced


def sql(home, query, **params):
    args = ["sql", query, "--json"]
    for name, value in params.items():
        args += ["--param", f"{name}={value}"]
    return js(home.run(*args))


def test_by_month_over_six_years_equals_sql_over_the_entries_view(years):
    report = js(years.run("report", "--by", "month", "--from", "2019", "--to", "2024", "--json"))
    assert (report["first_day"], report["last_day"]) == ("2019-01-01", "2024-12-31")
    months = [r["month"] for r in report["rows"]]
    assert months == [f"{y}-{m:02}" for y in range(2019, 2025) for m in range(1, 13)]  # every month, in order
    expected = sql(years, "SELECT substr(local_date, 1, 7) AS month, sum(duration) AS seconds, count(*) AS entries "
                          "FROM entries WHERE local_date BETWEEN '2019-01-01' AND '2024-12-31' GROUP BY 1")
    got = {r["month"]: (r["seconds"], r["entries"]) for r in report["rows"] if r["entries"]}
    assert got == {r["month"]: (r["seconds"], r["entries"]) for r in expected}
    for month in EMPTY_MONTHS:
        (row,) = [r for r in report["rows"] if r["month"] == month]
        assert (row["seconds"], row["entries"], row["hours"]) == (0, 0, 0)
    assert sum(r["entries"] for r in report["rows"]) == report["total"]["entries"] == 3002
    assert sum(r["seconds"] for r in report["rows"]) == report["total"]["seconds"]


def test_months_and_years_are_cut_in_the_display_zone(years):
    paris = js(years.run("report", "--by", "month", "--from", "2023-03", "--to", "2023-04", "--json"))
    utc = js(years.run("report", "--by", "month", "--from", "2023-03", "--to", "2023-04", "--json", "--tz", "UTC"))

    def edge_in(report):
        return {r["month"]: r["entries"] for r in report["rows"]}

    # The entry at 22:30 UTC on March 31st started on April 1st in Paris.
    assert edge_in(paris)["2023-04"] == edge_in(utc)["2023-04"] + 1
    assert edge_in(paris)["2023-03"] == edge_in(utc)["2023-03"] - 1

    by_year = js(years.run("report", "--by", "year", "--from", "2021", "--to", "2022", "--json"))
    by_year_utc = js(years.run("report", "--by", "year", "--from", "2021", "--to", "2022", "--json", "--tz", "UTC"))
    assert [r["year"] for r in by_year["rows"]] == ["2021", "2022"]
    assert by_year["rows"][1]["entries"] == by_year_utc["rows"][1]["entries"] + 1  # New Year's Eve 23:15 UTC


def test_by_year_over_the_whole_calendar_lists_the_years_with_entries(years):
    report = js(years.run("report", "--by", "year", "--from", "0002-01-01", "--to", "9998-12-31", "--json"))
    expected = sql(years, "SELECT substr(local_date, 1, 4) AS year, count(*) AS entries, sum(duration) AS seconds, "
                          "sum(running) AS running FROM entries GROUP BY 1 ORDER BY 1")
    got = [(r["year"], r["entries"]) for r in report["rows"]]
    assert got == [(r["year"], r["entries"]) for r in expected]  # only years with entries, in order
    assert got[0][0] == "2019"
    for row, want in zip(report["rows"], expected):
        if not want["running"]:
            assert row["seconds"] == want["seconds"]


def test_month_csv_and_plain_rows_for_invoicing(years):
    result = ok(years.run("report", "--by", "month", "--year", "--csv"))  # this year's months
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["month", "seconds", "hours", "time", "entries", "share"]
    this_year = datetime.now(ZoneInfo("Europe/Paris")).year
    assert [r["month"] for r in rows] == [f"{this_year}-{m:02}" for m in range(1, 13)]

    result = ok(years.run("report", "--by", "month", "--from", "2024-01", "--to", "2024-03"))  # a pipe: plain rows
    lines = result.stdout.splitlines()
    assert lines[0].split("\t") == ["month", "time", "hours", "entries", "share"]
    assert [line.split("\t")[0] for line in lines[1:]] == ["2024-01", "2024-02", "2024-03", "Total"]

    nl = [json.loads(line) for line in ok(years.run("report", "--by", "year", "--last-year", "--nl")).stdout.splitlines()]
    assert [r["year"] for r in nl] == [str(this_year - 1)]

    table = ok(years.run("report", "--by", "month", "--from", "2024", "--to", "2024", "--chart",
                         env={"COLUMNS": "90", "TOGGLSYNC_FORCE_TTY": "1"})).stdout
    assert table.splitlines()[0].startswith("Time by month · Mon 2024-01-01 – Tue 2024-12-31")
    assert "2024-06" in table and "Total" in table


def test_log_over_years(years):
    everything = js(years.run("log", "--from", "2019", "--to", "2024", "--json"))
    assert len(everything) == 3002
    assert everything[0]["date"] >= "2019-01-01" and everything[-1]["date"] <= "2024-12-31"
    one_year = js(years.run("log", "--from", "2022", "--to", "2022", "--json"))
    assert one_year and {e["date"][:4] for e in one_year} == {"2022"}
    assert len(one_year) == js(years.run("report", "--by", "year", "--from", "2022", "--to", "2022",
                                         "--json"))["total"]["entries"]
    march = js(years.run("log", "--from", "2023-04", "--to", "2023-04", "--json"))
    assert march[0]["date"] == "2023-04-01"  # the edge entry, April in Paris
    year = datetime.now(ZoneInfo("Europe/Paris")).year
    this_year = js(years.run("log", "--year", "--json"))
    assert this_year and {e["date"][:4] for e in this_year} == {str(year)}
    last_year = str(year - 1)
    assert js(years.run("log", "--last-year", "--json")) == js(years.run("log", "--from", last_year, "--to",
                                                                        last_year, "--json"))


def test_bad_year_and_month_ranges_are_one_line(years):
    cases = {
        ("--from", "2023-13", "--to", "2024"): "month 13 is out of range",
        ("--from", "2025", "--to", "2024"): "is not before",
        ("--from", "2019", "--to", "2023-00"): "month 00 is out of range",
        ("--from", "10000", "--to", "10001"): "not understood",
    }
    for args, message in cases.items():
        for command in ("report", "log"):
            result = years.run(command, *args)
            assert result.exit_code == 2, (command, args, result.output)
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
            assert message in lines[0], (command, args, lines[0])


def test_python_api_groups_by_month_and_year():
    from datetime import date
    from zoneinfo import ZoneInfo

    from togglsync.report import period_bounds, period_label

    paris = ZoneInfo("Europe/Paris")
    start = datetime(2023, 1, 15, tzinfo=UTC)
    end = datetime(2023, 4, 10, tzinfo=UTC)
    months = period_bounds(start, end, paris, "month")
    assert [period_label(d, "month") for d, _, _ in months] == ["2023-01", "2023-02", "2023-03", "2023-04"]
    assert months[0][1] == start and months[-1][2] == end  # clipped to the range
    assert all(a[2] == b[1] for a, b in zip(months, months[1:]))  # they tile
    assert months[1][1] == datetime(2023, 1, 31, 23, tzinfo=UTC)  # February begins at midnight in Paris
    assert months[3][1] == datetime(2023, 3, 31, 22, tzinfo=UTC)  # April: summer time
    years_ = period_bounds(start, datetime(2026, 1, 1, tzinfo=UTC), paris, "year")
    assert [period_label(d, "year") for d, _, _ in years_] == ["2023", "2024", "2025", "2026"]
    # 2026-01-01 00:00 UTC is already 01:00 on New Year's Day in Paris: one hour of 2026.
    assert years_[-1] == (date(2026, 1, 1), datetime(2025, 12, 31, 23, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
