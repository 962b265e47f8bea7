"""Output where it goes: plain rows in pipes, tables at a terminal (80 columns too), --nl, options anywhere.

A listing in a pipe (`togglsync log --week | grep ...`) prints a header line and
one tab-separated line per record, complete: nothing cut, wrapped or drawn.
At a terminal (here forced with TOGGLSYNC_FORCE_TTY=1 and COLUMNS=80) it is a
table whose ids are never cut.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import time_machine
from test_cli_tracking_support import offline_copy, ok, synced_template
from test_lite import _probe

from conftest import invoke_cli

BOX = set("─│┃━┏┓┗┛╇╿┡┩┼┬┴╴╶╸╺…")
LONG = "Rewrite the onboarding guide for the new reporting screens, then ask support to review every screenshot"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return synced_template(tmp_path_factory)


@pytest.fixture
def offline(template, tmp_path):
    return offline_copy(template, tmp_path)


def terminal(columns: int = 80) -> dict[str, str]:
    return {"TOGGLSYNC_FORCE_TTY": "1", "COLUMNS": str(columns)}


def _week_with_a_long_entry(offline) -> None:
    ok(offline.run("add", LONG, "--start", "monday 9:00", "--duration", "1h", "-p", "Mobile app", "-t", "review"))
    ok(offline.run("add", "Short", "--start", "monday 11:00", "--duration", "30m"))


# --- plain rows in pipes ------------------------------------------------------------------------


def test_log_in_a_pipe_prints_complete_tab_separated_rows(offline):
    _week_with_a_long_entry(offline)
    out = ok(offline.run("log", "--week"))
    lines = out.splitlines()
    assert lines[0].split("\t") == ["id", "date", "time", "duration", "project", "tags", "description"]
    assert not BOX & set(out)
    assert all(line.count("\t") == 6 for line in lines)  # one line per entry, every column there
    [row] = [line.split("\t") for line in lines if LONG in line]
    assert row[0].startswith("L") and row[3] == "1:00:00" and row[4] == "Mobile app" and row[5] == "review"
    assert row[6] == LONG  # complete: not cut, not wrapped
    assert "Total" not in out  # rows only: grep/cut/awk see records

    forced = ok(offline.run("log", "--week", "--table"))
    assert "│" in forced and "Total:" in forced


def test_every_listing_is_plain_in_a_pipe(offline):
    for args in (("projects",), ("clients",), ("tags",), ("workspaces",), ("users",), ("pending",),
                 ("conflicts",), ("config", "show"), ("report", "--week"),
                 ("sql", "SELECT id, description FROM entries LIMIT 3")):
        result = offline.run(*args)
        assert result.exit_code == 0, (args, result.stderr)
        lines = result.stdout.splitlines()
        assert lines and "\t" in lines[0] and not BOX & set(result.stdout), (args, result.stdout)
        width = lines[0].count("\t")
        assert all(line.count("\t") == width for line in lines), args


def test_plain_rows_keep_tabs_and_newlines_of_a_value_on_one_line(offline):
    with time_machine.travel("2026-11-20 15:00Z", tick=False):
        ok(offline.run("add", "placeholder", "--start", "9:00", "--duration", "1h"))
        offline.execute("UPDATE time_entries SET description = 'two' || char(9) || 'cells' || char(10) || 'and a line' "
                        "WHERE description = 'placeholder'")  # as a sync may bring it
        lines = ok(offline.run("log")).splitlines()
    assert any(line.endswith("\ttwo cells and a line") for line in lines)
    assert all(line.count("\t") == 6 for line in lines)


def test_a_real_pipe_gets_plain_rows_without_importing_rich(offline):
    _week_with_a_long_entry(offline)
    env = {**os.environ, **{k: v for k, v in offline.env.items() if v is not None}}
    env.pop("TOGGLSYNC_FORCE_TTY", None)
    done = subprocess.run([sys.executable, "-m", "togglsync", "log", "--week"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert any(line.endswith("\t" + LONG) for line in done.stdout.splitlines())

    class Home:
        env = {k: v for k, v in offline.env.items() if v is not None}

    for args in (["log", "--week"], ["report", "--week"], ["log", "--week", "--nl"]):
        done, heavy = _probe(Home, *args)
        assert done.returncode == 0, done.stderr
        assert heavy == "", f"togglsync {' '.join(args)} in a pipe imported {heavy}"


# --- tables at 80 columns ----------------------------------------------------------------------


def test_tables_at_80_columns_never_cut_ids(offline):
    _week_with_a_long_entry(offline)
    week = ok(offline.run("log", "--week", env=terminal(80)))
    assert "│" in week and all(len(line) <= 80 for line in week.splitlines())
    ids = [r["id"] for r in json.loads(ok(offline.run("log", "--week", "--json")))]
    assert all(str(i) in week for i in ids)
    assert "…" not in week

    pending = ok(offline.run("pending", env=terminal(80)))
    for op in json.loads(ok(offline.run("pending", "--json"))):
        assert str(op["record_id"]) in pending
    assert all(len(line) <= 80 for line in pending.splitlines())


def test_a_one_day_log_drops_the_date_column_and_gives_the_description_room(offline):
    with time_machine.travel("2026-11-20 15:00Z", tick=False):
        ok(offline.run("add", LONG, "--start", "9:00", "--duration", "1h"))
        table = ok(offline.run("log", env=terminal(80)))
    header = next(line for line in table.splitlines() if "description" in line)
    assert "date" not in header
    assert "2026-11-20" in table.splitlines()[0]  # in the title
    assert " ".join(table.replace("│", " ").split()).count("Rewrite the onboarding guide") == 1
    words = " ".join(line.split("│")[-1].strip() for line in table.splitlines() if "│" in line)
    assert " ".join(LONG.split()) in " ".join(words.split())


LONG_WORDS = ("Reviewed the quarterly infrastructure migration proposal with the platform team and documented "
              "every remaining concern about authentication")


def test_a_log_at_80_columns_wraps_descriptions_at_spaces_never_mid_word(offline):
    """The description's long words stay whole: the other free-text columns give room to the
    longest word first (a word folds only when no column can give any)."""
    with time_machine.travel("2026-11-20 15:00Z", tick=False):
        ok(offline.run("add", LONG_WORDS, "--start", "9:00", "--duration", "1h", "-p", "Mobile app", "-t", "review"))
        ok(offline.run("add", LONG, "--start", "10:00", "--duration", "1h"))
        table = ok(offline.run("log", env=terminal(80)))
        ids = [str(r["id"]) for r in json.loads(ok(offline.run("log", "--json")))]
        piped = ok(offline.run("log")).splitlines()
    lines = table.splitlines()
    assert all(len(line) <= 80 for line in lines)
    cells = [line.split("│")[-1].strip() for line in lines if "│" in line]
    words = {word for cell in cells for word in cell.split()}
    assert set(LONG_WORDS.split()) | set(LONG.split()) <= words, cells
    assert all(i in table for i in ids)  # ids never cut
    assert any(line.endswith("\t" + LONG_WORDS) for line in piped)  # a pipe: the whole line, as before


def _cells(table: str) -> dict[str, list[str]]:
    """A table's rows by id: each cell's lines joined again (a line that ends a word's piece at a
    hyphen is followed without a space), so a word folded mid-word shows as two words."""
    rows: dict[str, list[list[str]]] = {}
    current = None
    for line in table.splitlines():
        if "│" not in line:
            continue
        parts = [part.strip() for part in line.split("│")]
        if parts[0]:
            current = rows.setdefault(parts[0], [[] for _ in parts])
        for lines, part in zip(current, parts):
            if part:
                lines.append(part)

    def joined(lines: list[str]) -> str:
        text = ""
        for piece in lines:
            text += piece if not text or text.endswith("-") else " " + piece
        return text

    return {key: [joined(lines) for lines in cells] for key, cells in rows.items()}


def test_a_week_log_at_80_columns_wraps_at_spaces_and_hyphens_never_mid_word(offline):
    """Four fixed columns (id, date, time, duration) leave the free text too little room to keep its
    words whole: the date and the time span then wrap after their hyphens, before any word folds
    (the longest here, `documentation`, 13 cells, fits then; `infrastructure` would not: no column
    could give room for it)."""
    with time_machine.travel("2026-11-20 15:00Z", tick=False):
        for day, (project, tag, text) in enumerate([
            ("Website relaunch", "deep-work", "Reviewed the quarterly migration proposal with the platform team"),
            ("Mobile app", "research", LONG),
            ("Website relaunch", "billable", "Pair programming with the documentation team"),
        ]):
            ok(offline.run("add", text, "--start", f"2026-11-{17 + day} 9:00", "--duration", "1h", "-p", project,
                           "-t", tag))
        table = ok(offline.run("log", "--week", env=terminal(80)))
        data = json.loads(ok(offline.run("log", "--week", "--json")))
    assert all(len(line) <= 80 for line in table.splitlines()), table
    cells = _cells(table)
    ours = [r for r in data if str(r["id"]).startswith("L")]  # the entries added here
    assert len(ours) == 3
    for r in ours:
        row = cells[str(r["id"])]
        assert row[1] == r["date"], table  # `2026-` / `11-17`: whole again
        assert row[4:] == [r["project"], ", ".join(r["tags"]), r["description"]], table
    header = next(line for line in table.splitlines() if "┃" in line)
    assert "description" in header and "project" in header  # headers whole too


def test_connections_list_shows_whole_ids_at_80_columns(make_sim):
    sim = make_sim(entries=0, seed=5, quotas=False)
    for columns in (80, 120):
        result = invoke_cli(["connections", "list"], env={**sim.env("maton"), **terminal(columns)})
        assert result.exit_code == 0, result.stderr
        assert sim.seed.connection_id in result.stdout


# --- --nl ----------------------------------------------------------------------------------------


def test_nl_prints_one_json_object_per_line(offline):
    _week_with_a_long_entry(offline)
    for args in (("log", "--week"), ("projects",), ("tags",), ("pending",), ("report", "--week"),
                 ("sql", "SELECT id, tags, tag_ids FROM time_entries LIMIT 5"), ("config", "show")):
        out = ok(offline.run(*args, "--nl"))
        lines = out.splitlines()
        assert lines, args
        objects = [json.loads(line) for line in lines]
        assert all(isinstance(o, dict) for o in objects), args
    log = [json.loads(line) for line in ok(offline.run("log", "--week", "--nl")).splitlines()]
    assert log == json.loads(ok(offline.run("log", "--week", "--json")))


def test_json_output_decodes_json_columns(offline):
    rows = json.loads(ok(offline.run("sql", "SELECT tags, tag_ids, raw FROM time_entries WHERE raw IS NOT NULL "
                                             "LIMIT 3", "--json")))
    assert rows and all(isinstance(r["tags"], list) and isinstance(r["raw"], dict) for r in rows)
    # Text that only looks like JSON stays text: the view's tags are "a, b", a tag may be named 42.
    named = json.loads(ok(offline.run("sql", "SELECT '42' AS tags, 'x, y' AS raw", "--json")))
    assert named == [{"tags": "42", "raw": "x, y"}]


# --- options: global ones after the command, group ones like the list's, one meaning per short one ----


def test_global_options_work_after_the_command(offline):
    with time_machine.travel("2026-11-20 15:00Z", tick=False):
        ok(offline.run("add", "Zoned", "--start", "9:00", "--duration", "1h"))  # 09:00 in Paris = 08:00 UTC
        before = json.loads(ok(offline.run("--tz", "UTC", "log", "--json")))
        after = json.loads(ok(offline.run("log", "--json", "--tz", "UTC")))
        paris = json.loads(ok(offline.run("log", "--json")))
    [zoned] = [r for r in after if r["description"] == "Zoned"]
    assert zoned["start"] == "2026-11-20T08:00:00+00:00" and after == before and paris != after
    elsewhere = offline.run("log", "--db", str(offline.db.parent / "missing.db"))
    assert elsewhere.exit_code != 0 and "missing.db" in elsewhere.stderr  # --db after the command is heard


def test_debug_after_sync_logs_the_requests(synced):
    env = {**os.environ, **synced.env}
    env.pop("TOGGLSYNC_FORCE_TTY", None)
    done = subprocess.run([sys.executable, "-m", "togglsync", "sync", "--debug"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "GET" in done.stderr and synced.sim.seed.api_token not in done.stderr


def test_a_command_keeps_its_own_option_of_a_global_name(tmp_path):
    result = invoke_cli(["demo", "--help"])
    assert result.exit_code == 0 and "--home" in result.stdout  # demo's own --home, not the hidden global


def test_conflicts_all_works_like_projects_all(offline):
    offline.execute("INSERT INTO conflicts (resource, record_id, kind, field, base_value, local_value, remote_value, "
                    "kept, detected_at, resolved_at) VALUES ('time_entry', 4100000001, 'field', 'description', "
                    "'\"a\"', '\"b\"', '\"c\"', 'remote', '2026-11-20 10:00:00', '2026-11-20 11:00:00')")
    assert json.loads(ok(offline.run("conflicts", "--json"))) == []
    everything = json.loads(ok(offline.run("conflicts", "--all", "--json")))
    assert everything == json.loads(ok(offline.run("conflicts", "list", "--all", "--json")))
    assert [c["record_id"] for c in everything] == [4100000001]


@pytest.mark.parametrize("args, instead", [
    (["api", "GET", "/me", "-q", "a=b"], "--query KEY=VALUE"),
    (["sql", "SELECT :a", "-p", "a=1"], "--param NAME=VALUE"),
])
def test_a_short_option_means_one_thing_everywhere(offline, args, instead):
    result = offline.run(*args)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()] and instead in result.stderr
    assert result.stderr.startswith("Error: ")


def test_short_options_have_one_meaning_across_commands():
    import click

    from togglsync.cli.base import COMMANDS, cli

    ctx = click.Context(cli)
    meanings: dict[str, set[str]] = {}

    def walk(command):
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                longs = [o for o in param.opts if o.startswith("--")]
                for short in (o for o in param.opts if len(o) == 2):
                    meanings.setdefault(short, set()).add(longs[0] if longs else str(param.name))
        for sub in getattr(command, "commands", {}).values():
            walk(sub)

    for name in COMMANDS:
        walk(cli.get_command(ctx, name))
    assert meanings["-q"] == {"--quiet"} and meanings["-p"] == {"--project"}


# --- times in the display zone ---------------------------------------------------------------------


def test_pending_and_undo_show_times_in_the_display_zone(offline):
    with time_machine.travel("2026-11-20 15:00Z", tick=False):
        ok(offline.run("add", "Zoned", "--start", "9:00", "--duration", "1h"))  # Paris: 08:00 UTC
        paris = json.loads(ok(offline.run("pending", "--json")))
        utc = json.loads(ok(offline.run("pending", "--json", "--tz", "UTC")))
        table = ok(offline.run("pending", "--table", env={"COLUMNS": "200"}))
        undone = ok(offline.run("undo", "--dry-run"))
    assert [p["what"] for p in paris if p["what"].startswith("Zoned")] == ["Zoned @ 2026-11-20 09:00"]
    assert [p["what"] for p in utc if p["what"].startswith("Zoned")] == ["Zoned @ 2026-11-20 08:00"]
    assert "Zoned @ 2026-11-20 09:00" in table
    assert "Zoned @ 2026-11-20 09:00" in undone


def test_quota_shows_its_times_in_the_display_zone_and_names_it(make_sim, tmp_path):
    sim = make_sim(entries=0, seed=5)
    env = {**sim.env("direct"), "TOGGLSYNC_HOME": str(tmp_path / "home")}
    assert invoke_cli(["api", "GET", "/me"], env=env).exit_code == 0
    data = json.loads(ok(invoke_cli(["quota", "--json", "--tz", "Asia/Tokyo"], env=env)))
    assert data and all(r["observed_at"].endswith("+09:00") for r in data)
    table = ok(invoke_cli(["quota", "--table", "--tz", "Asia/Tokyo"], env={**env, "COLUMNS": "120"}))
    assert "Times in Asia/Tokyo." in table
    assert data[0]["observed_at"][:16].replace("T", " ") in table


# --- --help shows examples -------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["start", "add", "edit", "log", "sync", "report", "api"])
def test_everyday_help_shows_examples_that_parse(command):
    import shlex

    from togglsync.cli.base import cli

    result = invoke_cli([command, "--help"])
    assert result.exit_code == 0
    examples = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith(f"togglsync {command}")]
    assert 2 <= len(examples) <= 4, result.stdout
    for example in examples:
        args = shlex.split(example.split("  #")[0].split(" | ")[0], comments=True)[1:]
        ctx = cli.make_context("togglsync", list(args), resilient_parsing=False)  # the root parses it
        with ctx:
            sub = cli.get_command(ctx, args[0])
            sub.make_context(args[0], list(args[1:]), parent=ctx)  # and so does the command: no typo


# --- the table itself ------------------------------------------------------------------------------


def test_the_table_aligns_wide_characters_and_folds_long_words(offline):
    from togglsync.output import cell_width

    word = "Überarbeitungsfortschrittsbericht" * 2
    ok(offline.run("projects", "add", "翻訳プロジェクト 2"))
    ok(offline.run("projects", "add", word))
    table = ok(offline.run("projects", "--table", env={"COLUMNS": "80"}))
    lines = table.splitlines()
    assert all(cell_width(line) <= 80 for line in lines), table

    def rules(line):  # the display columns of the column rules
        return [cell_width(line[:i]) for i, ch in enumerate(line) if ch in "│┃"]

    body = [rules(line) for line in lines if "│" in line or "┃" in line]
    assert len(set(map(tuple, body))) == 1, table  # every rule under the one above, CJK or not
    name_column = 1
    pieces = [line.split("│")[name_column].strip() for line in lines if "│" in line]
    assert word in "".join(pieces)  # folded, never cut short
    assert "…" not in table


def test_a_table_of_thousands_of_rows_imports_no_rich(offline):
    class Home:
        env = {**{k: v for k, v in offline.env.items() if v is not None}, "TOGGLSYNC_FORCE_TTY": "1"}

    done, heavy = _probe(Home, "log", "--month")
    assert done.returncode == 0 and "│" in done.stdout, done.stderr
    assert heavy == ""
