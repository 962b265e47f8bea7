"""The entry point's fast way (`cli.quick`): `status`, `start` and `stop` without click.

Every command here runs twice in fresh processes, on two copies of one database:
through `togglsync.cli.main` (the fast way when it understands the command
line) and through the click CLI alone. What each prints, its exit code and what
it leaves in the database must be the same, bad input included; and the fast
way must not import click, SQLAlchemy, requests or rich.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

PROBE = """
import json, os, sys
way, args = sys.argv[1], sys.argv[2:]
code = 0
try:
    if way == "main":
        sys.argv = ["togglsync", *args]
        from togglsync.cli import main
        main()
    else:
        from togglsync.cli.base import cli
        cli.main(args, prog_name="togglsync")
except SystemExit as exit:
    code = exit.code
watched = os.environ.get("PROBE_MODULES", "click sqlalchemy alembic requests rich").split()
heavy = sorted(m for m in watched if m in sys.modules)
with open(os.environ["PROBE_REPORT"], "w") as report:
    json.dump(heavy, report)
sys.stdout.flush()
sys.exit(code)
"""

HEAVY = ["alembic", "click", "requests", "rich", "sqlalchemy"]


def _run(home, way, *args, tmp_path, env=None):
    """`togglsync ARGS` in a fresh process: (exit code, stdout, stderr, heavy modules imported)."""
    report = tmp_path / f"probe-{way}.json"
    environ = {**os.environ, **home.env, **(env or {}), "PROBE_REPORT": str(report)}
    done = subprocess.run([sys.executable, "-c", PROBE, way, *args], env=environ, capture_output=True,
                          text=True, timeout=120)
    return done.returncode, done.stdout, done.stderr, json.loads(report.read_text())


class Twin:
    """Two homes with the same database: one run through `main`, one through click alone."""

    def __init__(self, synced, tmp_path):
        self.tmp_path = tmp_path
        self.homes = {}
        for way in ("main", "click"):
            home = tmp_path / way
            home.mkdir()
            source = sqlite3.connect(synced.db)
            target = sqlite3.connect(home / "togglsync.db")
            source.backup(target)
            source.close()
            target.execute("PRAGMA journal_mode=WAL")
            target.close()
            self.homes[way] = type("Home", (), {"env": {**synced.env, "TOGGLSYNC_HOME": str(home)},
                                                "db": home / "togglsync.db"})()

    def run(self, *args, fast=True):
        """Both ways; asserts they said the same. Returns (code, stdout, stderr) and whether main
        stayed light."""
        main = _run(self.homes["main"], "main", *args, tmp_path=self.tmp_path)
        full = _run(self.homes["click"], "click", *args, tmp_path=self.tmp_path)
        assert (main[0], _steady(main[1]), main[2]) == (full[0], _steady(full[1]), full[2]), f"togglsync {' '.join(args)}"
        assert "click" in full[3]
        if fast:
            assert main[3] == [], f"togglsync {' '.join(args)} imported {main[3]}"
        return main[:3]

    def tables(self, way):
        conn = sqlite3.connect(self.homes[way].db)
        try:
            entries = conn.execute(
                "SELECT id, workspace_id, user_id, project_id, description, start, stop, duration, billable, "
                "tag_ids, tags, local_date, source FROM time_entries ORDER BY id").fetchall()
            operations = conn.execute(
                "SELECT id, resource, action, record_id, workspace_id, state, base, attempts, error, account "
                "FROM pending_operations ORDER BY id").fetchall()
        finally:
            conn.close()
        return entries, operations

    def same_database(self):
        assert self.tables("main") == self.tables("click")


def _steady(text):
    """What two runs a second apart print alike: the seeded account's timer runs, so the times
    tracked (`1:02:03`, `"seconds": 3723`) grow between them."""
    text = re.sub(r"\b\d+:\d\d:\d\d\b", "H:MM:SS", text)
    return re.sub(r'"(seconds|today_seconds|week_seconds|last_sync_seconds_ago)": \d+', r'"\1": N', text)


@pytest.mark.sqlite_only  # copies the SQLite file
def test_fast_and_click_ways_print_and_store_the_same(synced, tmp_path):
    assert synced.run("stop").exit_code == 0  # the seeded account's timer: the first start is older
    twin = Twin(synced, tmp_path)
    conn = sqlite3.connect(synced.db)
    project, tag = conn.execute(
        "SELECT p.name, t.name FROM projects p, tags t WHERE p.active = 1 AND p.workspace_id = t.workspace_id "
        "ORDER BY p.id, t.id LIMIT 1").fetchone()
    conn.close()

    code, out, _ = twin.run("status")
    assert code == 0 and out.startswith("Running:")
    # One day for every time below, whatever the hour: "yesterday" in UTC and in the account's zone
    # are different days for an hour or more around midnight.
    day = (datetime.now(timezone.utc) - timedelta(days=1)).date().isoformat()
    code, out, _ = twin.run("start", "Writing docs", "--at", f"{day} 9:00", "-p", project.upper(), "-t", tag,
                            "--billable")
    assert code == 0 and out.startswith("Started L")
    twin.same_database()
    # Options before and after the command, `=` forms, repeated tags; the first timer is stopped.
    code, out, _ = twin.run("--tz", "UTC", "start", f"--at={day} 9:30", "Second", f"--tag={tag}", "-t", tag,
                            "--account", "main")
    assert code == 0 and out.startswith("Stopped ") and "Started " in out
    twin.run("status")
    code, out, _ = twin.run("stop", "--at", f"{day} 10:00", "--tz", "UTC")
    assert code == 0 and out.startswith("Stopped ")
    code, out, _ = twin.run("status", "--json")
    assert code == 0 and json.loads(out)["running"] is None
    twin.same_database()


@pytest.mark.sqlite_only  # copies the SQLite file
@pytest.mark.parametrize("args", [
    ["stop"],                                             # nothing running
    ["start", "x", "-p", "No such project"],              # a name not found
    ["start", "x", "--at", "the day after tomorrow"],     # a time it cannot read
    ["start", "x", "-w", "Nowhere"],
    ["start", "x", "-p", ""],
    ["start", "x", "--create", "-p", "A new one", "--at", "yesterday 9:00"],  # makes a project: LocalStore's way
    ["start", "a", "b"],                                  # an extra argument
    ["status", "--bogus"],                                # an option it does not have
    ["start", "-pX"],
    ["start", "x", "-t"],                                 # an option without its value
    ["--tz", "Mars/Olympus", "status"],
    ["--home"],
    ["status", "-h"],
    ["--version"],
    ["status", "--json", "extra"],
])
def test_what_the_fast_way_does_not_take_is_said_as_click_says_it(synced, tmp_path, args):
    assert synced.run("stop").exit_code == 0
    twin = Twin(synced, tmp_path)
    twin.run(*args, fast=False)
    twin.same_database()


@pytest.mark.sqlite_only  # copies the SQLite file
def test_a_missing_database_and_a_file_as_home_are_said_as_click_says_them(synced, tmp_path):
    twin = Twin(synced, tmp_path)
    for home in twin.homes.values():
        home.env["TOGGLSYNC_DB"] = str(tmp_path / "nowhere.db")
    code, _, err = twin.run("status", fast=False)
    assert code != 0 and err.startswith("Error: no database at")
    (tmp_path / "a-file").write_text("")
    code, _, err = twin.run("--home", str(tmp_path / "a-file"), "status", fast=False)
    assert code == 2 and "is a file" in err


@pytest.mark.sqlite_only  # copies the SQLite file
def test_terminal_escapes_in_a_description_are_dropped_in_a_pipe_as_click_drops_them(synced, tmp_path):
    assert synced.run("stop").exit_code == 0
    twin = Twin(synced, tmp_path)
    # The line that has them is written by click.echo, which drops them outside a terminal.
    code, out, _ = twin.run("start", "red \x1b[31malert\x1b[0m", "--at", "yesterday 8:00", fast=False)
    assert code == 0 and "\x1b" not in out
    twin.same_database()


@pytest.mark.sqlite_only  # reads the SQLite file
@pytest.mark.parametrize("args", [
    ["status"], ["status", "--json"], ["--tz", "UTC", "status"], ["status", "--db", "{db}"],
    ["start", "Light", "--at", "yesterday 7:00", "-t", "{tag}"], ["stop"],
])
def test_the_fast_commands_import_neither_click_sqlalchemy_requests_nor_rich(synced, tmp_path, args):
    assert synced.run("stop").exit_code == 0  # the seeded account's timer
    if args == ["stop"]:
        assert synced.run("start", "to stop").exit_code == 0
    conn = sqlite3.connect(synced.db)
    tag = conn.execute("SELECT name FROM tags ORDER BY id LIMIT 1").fetchone()[0]
    conn.close()
    args = [a.format(db=synced.db, tag=tag) for a in args]
    code, out, err, heavy = _run(synced, "main", *args, tmp_path=tmp_path)
    assert code == 0, err
    assert out and err == ""
    assert heavy == [], f"togglsync {' '.join(args)} imported {heavy}"


@pytest.mark.sqlite_only  # reads the SQLite file
@pytest.mark.parametrize("args", [["status"], ["status", "--json"], ["stop"], ["start", "no orjson"]])
def test_status_start_and_stop_make_no_dataclass_and_load_no_openssl(synced, tmp_path, args):
    """Importing `dataclasses` (inspect, ast...) costs ~8 ms and making each dataclass ~1 ms, hmac's
    OpenSSL ~2 ms: the fast way's records are NamedTuples and plain classes, hmac waits for a sync.
    orjson (16 ms, dataclasses among its imports) neither: `start`'s only JSON is its empty tag
    lists (`db.stored.json_to_db`)."""
    assert synced.run("stop").exit_code == 0  # the seeded account's timer
    if args == ["stop"]:
        assert synced.run("start", "to stop").exit_code == 0
    code, out, err, loaded = _run(synced, "main", *args, tmp_path=tmp_path,
                                  env={"PROBE_MODULES": "dataclasses inspect hmac hashlib orjson"})
    assert code == 0, err
    assert loaded == [], f"togglsync {' '.join(args)} imported {loaded}"


@pytest.mark.sqlite_only  # holds the SQLite file's write lock
def test_a_database_held_by_another_writer_is_said_once_as_click_says_it(synced, tmp_path):
    assert synced.run("stop").exit_code == 0
    twin = Twin(synced, tmp_path)
    holders = []
    for home in twin.homes.values():
        home.env["TOGGLSYNC_BUSY_TIMEOUT"] = "0.2"
        holder = sqlite3.connect(home.db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        holders.append(holder)
    try:
        main = _run(twin.homes["main"], "main", "start", "x", tmp_path=tmp_path)
        full = _run(twin.homes["click"], "click", "start", "x", tmp_path=tmp_path)
    finally:
        for holder in holders:
            holder.execute("ROLLBACK")
            holder.close()
    assert main[:3] == (full[0], full[1], full[2].replace(f"{os.sep}click{os.sep}", f"{os.sep}main{os.sep}"))
    code, _, err = main[:3]
    assert code == 8 and err.startswith("Error: ") and "busy" in err and len(err.splitlines()) == 1
    assert main[3] == [], "a busy database is said without waiting for it a second time through click"
    twin.same_database()


def _run_on_terminal(home, way, *args, tmp_path):
    """`togglsync ARGS` with standard output a terminal (a pty): (exit code, what it showed, heavy)."""
    import pty

    report = tmp_path / f"probe-{way}.json"
    environ = {**os.environ, **home.env, "PROBE_REPORT": str(report)}
    leader, follower = pty.openpty()
    try:
        child = subprocess.Popen([sys.executable, "-c", PROBE, way, *args], stdout=follower,
                                 stderr=subprocess.PIPE, env=environ)
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the child closed its end
                break
            if not chunk:
                break
            shown += chunk
        code = child.wait(timeout=120)
    finally:
        os.close(leader)
    return code, shown.decode(), json.loads(report.read_text())


@pytest.mark.sqlite_only  # copies the SQLite file
@pytest.mark.parametrize("args", [["status"], ["status", "--json"]])
def test_at_a_terminal_both_ways_show_the_same(synced, tmp_path, args):
    twin = Twin(synced, tmp_path)
    main = _run_on_terminal(twin.homes["main"], "main", *args, tmp_path=tmp_path)
    full = _run_on_terminal(twin.homes["click"], "click", *args, tmp_path=tmp_path)
    assert main[0] == full[0] == 0
    assert _steady(main[1]) == _steady(full[1]) and main[1].startswith(("Running:", "{"))
    assert main[2] == []


@pytest.mark.sqlite_only  # copies the SQLite file
@pytest.mark.parametrize("args", [["status"], ["start", "x", "-p", "No such project"]])
def test_a_config_file_others_can_read_is_warned_of_as_click_warns(synced, tmp_path, args):
    assert synced.run("stop").exit_code == 0
    twin = Twin(synced, tmp_path)
    for way, home in twin.homes.items():
        config = tmp_path / way / "config.json"
        config.write_text(json.dumps({"api_token": "0123456789abcdef0123456789abcdef"}))
        config.chmod(0o644)
    code, _, err = _twice(twin, args)
    assert "readable by others" in err.splitlines()[0]
    if args == ["status"]:
        assert code == 0 and err.count("readable by others") == 1


def _twice(twin, args):
    main = _run(twin.homes["main"], "main", *args, tmp_path=twin.tmp_path)
    full = _run(twin.homes["click"], "click", *args, tmp_path=twin.tmp_path)
    same = [text.replace(f"{os.sep}click{os.sep}", f"{os.sep}main{os.sep}") for text in full[1:3]]
    assert (main[0], _steady(main[1]), main[2]) == (full[0], _steady(same[0]), same[1])
    if args == ["status"]:
        assert main[3] == []
    return main[:3]


def test_the_fast_ways_option_tables_say_what_the_click_commands_declare():
    """`cli.quick` reads its commands' options from tables of its own (importing click costs
    what the fast way saves): each spelling there is an option of the click command (or the
    root) with the same key, the same need of a value and the same repetition."""
    import click

    from togglsync.cli import quick
    from togglsync.cli.base import GLOBAL_OPTIONS, cli

    def declared(command: click.Command) -> dict[str, click.Option]:
        return {spelling: p for p in command.params if isinstance(p, click.Option) for spelling in p.opts}

    root = declared(cli)
    for spelling, key in quick.GLOBAL_SPELLINGS.items():
        assert spelling in root and root[spelling].name == key and key in GLOBAL_OPTIONS, spelling
        assert not root[spelling].is_flag, spelling
    for name, table in quick.OWN_OPTIONS.items():
        command = cli.get_command(click.Context(cli), name)
        assert command is not None, name
        options = declared(command)
        for spelling, (key, takes_value, repeats) in table.items():
            assert spelling in options, (name, spelling)
            option = options[spelling]
            assert (option.name, not option.is_flag, option.multiple) == (key, takes_value, repeats), (name, spelling)
        arguments = [p for p in command.params if isinstance(p, click.Argument)]
        assert sum(max(p.nargs, 1) for p in arguments) == quick.OPTION_ARGUMENTS[name], name
