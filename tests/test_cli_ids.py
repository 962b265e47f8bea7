"""Ids: one way to name a record, everywhere (issue 11).

A record created offline is `L<n>` in every table, JSON, CSV and message; a
bare negative number is only ever the relative form (`-1`: the entry started
latest), so nothing a person copies from the output names another record.
After a push `L<n>` still names the record. `-N` edits say which entry they
changed, and an entry longer than 24 hours is refused unless asked for.
Each test runs the real CLI against the simulator (or a copy of a synced
database whose simulator is down).
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from test_cli_tracking_support import (
    Home,
    dump,
    entries,
    error_line,
    offline_copy,
    ok,
    online,
    synced_template,
)

from togglsync.errors import UsageError


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return synced_template(tmp_path_factory)


@pytest.fixture
def offline(template, tmp_path):
    return offline_copy(template, tmp_path)


L_ID = re.compile(r"L\d+")


def _ids_are_typed(value, key: str = "") -> None:
    """Every `id` / `*_id` / `*_ids` field: a number (Toggl's) or an "L<n>" string, never a numeric string."""
    if isinstance(value, dict):
        for k, v in value.items():
            _ids_are_typed(v, k)
    elif isinstance(value, list):
        for v in value:
            _ids_are_typed(v, key)
    elif key == "id" or key.endswith("_id") or key.endswith("_ids"):
        assert value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0) or (
            isinstance(value, str) and L_ID.fullmatch(value)
        ), (key, value)


def _offline_records(home: Home) -> tuple[str, str]:
    """An entry on a new project, both made offline: their L ids."""
    ok(home.run("add", "Offline work", "--start", "2026-11-02 09:00", "--duration", "1h", "-p", "Brand new", "--create"))
    [entry] = entries(home, "Offline work")
    project = home.sql("SELECT id FROM projects WHERE name = 'Brand new'")[0][0]
    assert entry["id"] < 0 and project < 0
    return f"L{-entry['id']}", f"L{-project}"


def test_offline_records_are_L_everywhere_and_never_a_negative_number(offline):
    entry, project = _offline_records(offline)
    ok(offline.run("start", "Offline timer"))
    negative = re.compile(r"(?<![\w:+.-])-\d+\b")  # a bare -N, which commands read as the Nth latest entry
    outputs = {
        "pending": ok(offline.run("pending")),
        "pending --json": ok(offline.run("pending", "--json")),
        "pending --csv": ok(offline.run("pending", "--csv")),
        "log --json": ok(offline.run("log", "--from", "2026-11-02", "--json")),
        "log --csv": ok(offline.run("log", "--from", "2026-11-02", "--csv")),
        "log": ok(offline.run("log", "--from", "2026-11-02")),
        "status --json": ok(offline.run("status", "--json")),
        "projects --json": ok(offline.run("projects", "--json")),
        "report --json": ok(offline.run("report", "--from", "2026-11-02", "--to", "today", "-p", project, "--json")),
        "report --csv": ok(offline.run("report", "--from", "2026-11-02", "--to", "today", "--csv")),
    }
    for name, out in outputs.items():
        assert not negative.search(out.replace("T", " ")), (name, negative.search(out.replace("T", " ")))
    pending = json.loads(outputs["pending --json"])
    assert {entry, project} <= {op["record_id"] for op in pending}
    logged = json.loads(outputs["log --json"])
    assert entry in {row["id"] for row in logged} and project in {row["project_id"] for row in logged}
    assert json.loads(outputs["status --json"])["running"]["id"].startswith("L")
    assert json.loads(outputs["report --json"])["filters"]["project_ids"] == [project]
    assert project in outputs["pending --csv"] and entry in outputs["log --csv"]


def test_json_ids_have_one_type_in_every_command(offline):
    _offline_records(offline)
    for args in (
        ("log", "--from", "2026-11-01", "--json"),
        ("status", "--json"),
        ("pending", "--json"),
        ("projects", "--json"),
        ("clients", "--json"),
        ("tags", "--json"),
        ("report", "--from", "2026-11-01", "--to", "today", "--json"),
        ("report", "--from", "2026-11-01", "--to", "today", "--by", "tag", "--json"),
    ):
        data = json.loads(ok(offline.run(*args)))
        _ids_are_typed(data)
    synced = json.loads(ok(offline.run("log", "--from", "2026-11-01", "--json")))
    assert any(isinstance(row["id"], int) for row in synced)  # Toggl's: numbers, not "4100000123"


def test_csv_booleans_are_true_and_false(offline):
    _offline_records(offline)
    for args in (("log", "--from", "2026-11-01", "--csv"), ("projects", "--csv"), ("clients", "--csv")):
        out = ok(offline.run(*args))
        assert "True" not in out.split(",") and "False" not in out.split(",")
        cells = [cell for row in csv.reader(io.StringIO(out)) for cell in row]
        assert "True" not in cells and "False" not in cells, args
        assert {"true", "false"} & set(cells), args


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_conflicts_resolve_names_the_re_created_record_L(synced):
    home = online(synced)
    [victim] = home.sql("SELECT id FROM time_entries WHERE duration >= 0 ORDER BY start DESC LIMIT 1")
    ok(home.run("edit", str(victim[0]), "-d", "Edited here"))
    synced.sim.state.delete_time_entry(synced.sim.seed.user_id, synced.sim.seed.workspace_id, victim[0])
    ok(home.run("sync"))
    [conflict] = json.loads(ok(home.run("conflicts", "--json")))
    assert conflict["record_id"] == victim[0]
    out = ok(home.run("conflicts", "resolve", str(conflict["id"]), "--keep", "local"))
    match = re.search(r"Re-created as (\S+);", out)
    assert match and L_ID.fullmatch(match.group(1)), out


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_an_L_id_still_names_the_record_after_its_push(synced):
    home = online(synced)
    ok(home.run("add", "Pushed later", "--start", "yesterday 10:00", "--duration", "30m", "-p", "Soon pushed", "--create"))
    [before] = entries(home, "Pushed later")
    local = f"L{-before['id']}"
    project = f"L{-home.sql('SELECT id FROM projects WHERE name = ?', 'Soon pushed')[0][0]}"
    ok(home.run("sync"))
    [after] = entries(home, "Pushed later")
    assert after["id"] > 0

    result = home.run("edit", local, "-d", "Renamed after the push")
    assert result.exit_code == 0, result.output
    assert result.stderr == f"{local} was pushed; it is now {after['id']}.\n"  # said once
    assert f"Updated {after['id']} " in result.stdout
    assert entries(home, "Renamed after the push")[0]["id"] == after["id"]

    result = home.run("log", "--yesterday", "-p", project, "--json")
    assert result.exit_code == 0 and "was pushed; it is now" in result.stderr
    assert [row["id"] for row in json.loads(result.stdout)] == [after["id"]]  # stdout stays JSON

    result = home.run("rm", local, local)
    assert result.exit_code == 0 and result.stderr.count("was pushed") == 1
    assert f"Deleted {after['id']} " in result.stdout and entries(home, "Renamed after the push") == []
    line = error_line(home.run("rm", local))
    assert line == f"Error: {local} was pushed as {after['id']}, which is no longer here (deleted)"


def test_relative_edit_says_which_entry_and_what_changed(offline):
    # The person means yesterday's entry, but -1 is the entry started latest: the output says which.
    ok(offline.run("add", "Yesterday's meeting", "--start", "yesterday 14:00", "--duration", "1h"))
    [(latest, description, start)] = offline.sql(
        "SELECT id, description, start FROM time_entries ORDER BY start DESC, id DESC LIMIT 1"
    )
    assert description != "Yesterday's meeting"
    out = ok(offline.run("edit", "-1", "-d", "Renamed"))
    first, *changes = out.splitlines()
    shown = f"L{-latest}" if latest < 0 else str(latest)
    assert first.startswith(f'Updated {shown} "Renamed"')
    assert start[:10] in first or "since" in first  # its start (a running one: since HH:MM)
    assert changes == [f'  description: "{description}" -> "Renamed"']


def test_edits_and_adds_longer_than_24_hours_are_refused_unless_asked(offline):
    ok(offline.run("add", "Just now", "--start", "-10m", "--duration", "5m"))
    before = dump(offline.db)
    line = error_line(offline.run("edit", "-1", "--start", "-30h"))
    assert "more than 24 hours" in line and "--allow-long" in line
    line = error_line(offline.run("add", "Too long", "--start", "2026-11-02 05:00", "--stop", "2026-11-03 08:00"))
    assert "would last 27:00:00" in line
    error_line(offline.run("add", "Too long", "--start", "2026-11-02 05:00", "--duration", "25h"))
    assert dump(offline.db) == before  # refused: nothing written

    out = ok(offline.run("edit", "-1", "--start", "-30h", "--allow-long"))
    # Two commands, each reading the wall clock for "-10m" and "-30h": a second may pass between them.
    assert "  times: " in out and ("(29:55:00)" in out or "(29:54:59)" in out)
    ok(offline.run("add", "Long on purpose", "--start", "2026-11-02 05:00", "--duration", "25h", "--allow-long"))
    ok(offline.run("edit", "-1", "-d", "A long entry keeps its other edits"))  # times untouched: no refusal


def test_the_python_api_refuses_the_same_long_entries(offline):
    from datetime import datetime, timedelta, timezone

    from togglsync.db.engine import make_engine
    from togglsync.local import LocalStore

    engine = make_engine(str(offline.db))
    try:
        store = LocalStore(engine)
        start = datetime(2026, 11, 2, 5, tzinfo=timezone.utc)
        with pytest.raises(UsageError, match="more than 24 hours"):
            store.add_entry("x", start=start, duration=25 * 3600)
        entry = store.add_entry("x", start=start, duration=3600)
        with pytest.raises(UsageError, match="more than 24 hours"):
            store.edit_entry(entry["id"], start=start - timedelta(days=1))
        assert store.edit_entry(entry["id"], start=start - timedelta(days=1), allow_long=True)["duration"] == 25 * 3600
    finally:
        engine.dispose()
