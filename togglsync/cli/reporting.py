"""Reading the database: sql, db path, report.

These commands only read. They open the SQLite file with `mode=ro`
(db.open's read-only modes), so nothing they run can change it, they never
create a database that is not there, and they do not wait for a running
sync (WAL readers see the last committed state).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

import click

from togglsync.cli.base import database_found, get_app, note_pushed, retired_short_option
from togglsync.errors import UsageError
from togglsync.output import csv_value, output_format_options
from togglsync.report import GROUPINGS

if TYPE_CHECKING:
    from togglsync.report import Report

T = TypeVar("T")


# --- opening the database read-only (togglsync.query) ----------------------------------------


def _target(ctx: click.Context) -> str:
    return get_app(ctx).settings.db_target


def _upgraded(ctx: click.Context) -> Callable[[], None]:
    def tell() -> None:
        from togglsync.query import database_name

        click.echo(f"(upgraded the database at {database_name(_target(ctx))} to this togglsync's schema)", err=True)

    return tell


def _read(ctx: click.Context, run: Callable[[Any], T]) -> T:
    from togglsync import query

    with database_found(ctx):
        return query.read(_target(ctx), run, on_upgrade=_upgraded(ctx))


# --- togglsync sql ------------------------------------------------------------------------------

_PARAM_NAME = re.compile(r"[:$@]?([A-Za-z_][A-Za-z0-9_]*)")


def _parse_params(values: Iterable[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        match = _PARAM_NAME.fullmatch(name.strip())
        if not sep or match is None:
            raise UsageError(f"parameter {item!r} not understood: expected NAME=VALUE, used in the query as :NAME")
        if match.group(1) in params:
            raise UsageError(f"parameter {match.group(1)!r} is given twice")
        params[match.group(1)] = value
    return params


def _read_query(query: str | None) -> str:
    if query is None or query == "-":
        stdin = sys.stdin
        if query is None and stdin.isatty():
            raise UsageError('give a query, e.g. togglsync sql "SELECT count(*) FROM entries" (or - to read it from stdin)')
        query = stdin.read()
    return query


@click.command()
@click.argument("query", required=False)
@retired_short_option("-p", "--project", "--param NAME=VALUE")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Bind :NAME in the query to VALUE (text; SQLite converts it where a number is compared). Repeatable.")
@click.option("--max-rows", type=click.IntRange(0), default=500, show_default=True,
              help="Table output only: show at most N rows (0 = all). Plain rows (in a pipe), --json, --nl "
                   "and --csv stream every row.")
@output_format_options
@click.pass_context
def sql(ctx: click.Context, query: str | None, params: tuple[str, ...], max_rows: int, fmt: str) -> None:
    """Run one read-only SQL query on the local database (SQLite, or PostgreSQL: a READ ONLY transaction).

    QUERY is a single statement; `-` (or no QUERY, with a pipe) reads it from
    standard input. The database is opened read-only, so a statement that
    would write fails ("attempt to write a readonly database") and changes
    nothing; `VACUUM INTO 'copy.db'` makes a consistent copy. The views
    `entries` and `daily_totals` and the tables are described in the README
    ("The database"). Ctrl-C stops a long query.

    \b
    togglsync sql "SELECT date, hours FROM daily_totals ORDER BY date DESC LIMIT 7"
    togglsync sql "SELECT * FROM entries WHERE project = :p" --param p="Website relaunch" --csv
    """
    from togglsync import query as queries

    from togglsync.db.stored import JSON_COLUMNS

    decoded = JSON_COLUMNS  # raw, tags, tag_ids...: JSON text in SQLite, JSON values in --json/--nl
    bound = _parse_params(params)
    text = _read_query(query)
    with database_found(ctx), queries.run(_target(ctx), text, bound, on_upgrade=_upgraded(ctx)) as result:
        if result is None:  # a statement without a result (e.g. some PRAGMAs)
            return
        out = sys.stdout
        if fmt in ("json", "nl"):
            from togglsync.output import json_value, write_json_array, write_ndjson

            keys = result.keys
            objects = ({k: json_value(v, decode=k in decoded) for k, v in zip(keys, row)} for row in result.rows)
            (write_json_array if fmt == "json" else write_ndjson)(objects, out)
        elif fmt == "plain":
            from togglsync.output import write_plain

            write_plain((tuple(csv_value(v) for v in row) for row in result.rows), result.columns, out)
        elif fmt == "csv":
            import csv

            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(result.columns)
            for row in result.rows:
                writer.writerow([csv_value(v) for v in row])
        else:
            _sql_table(result.columns, result.rows, max_rows)


def _sql_table(columns: list[str], rows: Iterable[tuple[Any, ...]], max_rows: int) -> None:
    from itertools import islice

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    shown = list(islice(rows, max_rows + 1) if max_rows else rows)
    more = bool(max_rows) and len(shown) > max_rows
    if more:
        shown = shown[:max_rows]

    table = Table(show_edge=False, header_style="bold")
    for i, name in enumerate(columns):
        values = [r[i] for r in shown if r[i] is not None]
        numeric = bool(values) and all(isinstance(v, (int, float)) for v in values)
        table.add_column(Text(name), justify="right" if numeric else "left")
    for row in shown:
        table.add_row(*(Text("" if v is None else str(csv_value(v))) for v in row))
    Console().print(table)
    count = f"{len(shown):,} row{'s' if len(shown) != 1 else ''}"
    if more:
        click.echo(f"({count} shown; there are more: add LIMIT, use --max-rows 0, or --csv/--json for all)", err=True)
    else:
        click.echo(f"({count})", err=True)


# --- togglsync db path --------------------------------------------------------------------------


@click.group()
def db() -> None:
    """The local database: a SQLite file (or a PostgreSQL database named by URL)."""


@db.command("path")
@click.pass_context
def db_path(ctx: click.Context) -> None:
    """Print the database file's path (for sqlite3, Datasette, notebooks...).

    On PostgreSQL: its URL, without the password.

    \b
    sqlite3 "$(togglsync db path)"
    datasette "$(togglsync db path)"
    """
    from togglsync.query import database_file, database_name, on_server

    if on_server(_target(ctx)):
        click.echo(database_name(_target(ctx)))
        return
    path = database_file(_target(ctx))
    click.echo(str(path))
    if not path.is_file():
        click.echo("(it does not exist yet: `togglsync sync` creates it)", err=True)


@db.command("metadata")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write it to this file instead of standard output.")
@click.pass_context
def db_metadata(ctx: click.Context, output: str | None) -> None:
    """Print Datasette metadata for the database (JSON): titles, descriptions, units, facets, queries.

    \b
    togglsync db metadata -o metadata.json
    datasette "$(togglsync db path)" --metadata metadata.json
    """
    import json

    from togglsync.db.browsing import metadata
    from togglsync.query import database_file, on_server

    target = _target(ctx)
    name = target.rsplit("/", 1)[-1].split("?", 1)[0] if on_server(target) else database_file(target).stem
    text = json.dumps(metadata(name), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    from pathlib import Path

    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None


@db.command("serve", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("datasette_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def db_serve(ctx: click.Context, datasette_args: tuple[str, ...]) -> None:
    """Browse the database in Datasette, with togglsync's metadata (needs `pip install togglsync[datasette]`).

    Other arguments go to `datasette serve` as they are. The database is opened
    read-only; a sync can run meanwhile.

    \b
    togglsync db serve
    togglsync db serve --port 8002 --open
    """
    import importlib
    import json
    import subprocess
    import tempfile
    from pathlib import Path

    from togglsync.db.browsing import metadata
    from togglsync.query import database_file, on_server

    if on_server(_target(ctx)):
        raise UsageError("Datasette reads SQLite files; for a PostgreSQL database use a tool that speaks to it "
                         "(Metabase, Grafana, psql: README, \"Team / PostgreSQL\")")
    try:
        importlib.import_module("datasette")  # an optional extra
    except ImportError:
        raise UsageError("Datasette is not installed: pip install 'togglsync[datasette]' (or pip install datasette)") from None
    _read(ctx, lambda conn: None)  # the file exists and is at this version's schema
    path = database_file(_target(ctx))
    with tempfile.TemporaryDirectory(prefix="togglsync-datasette-") as folder:
        meta = Path(folder) / "metadata.json"
        meta.write_text(json.dumps(metadata(path.stem), ensure_ascii=False), encoding="utf-8")
        command = [sys.executable, "-m", "datasette", "serve", str(path), "--metadata", str(meta), *datasette_args]
        code = subprocess.call(command)
    ctx.exit(code)


# --- togglsync report ---------------------------------------------------------------------------

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _report_range(conn: Any, period: str | None, from_: str | None, to: str | None, tz: Any,
                  now: datetime) -> tuple[datetime, datetime, str]:
    """[start, end) in UTC and the period's title (empty for --from/--to)."""
    from togglsync.report import custom_range, period_range

    if (from_ is not None or to is not None) and period is not None:
        raise UsageError(f"give either --{period} or --from/--to, not both")
    try:
        if from_ is not None or to is not None:
            start, end = custom_range(conn, from_, to, tz=tz, now=now)
            return start, end, ""
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return period_range(conn, period, tz=tz, now=now)


def _range_text(report: Report) -> str:
    from togglsync.timeparse import day_range

    first, last = report.first_day, report.last_day
    whole_days = report.start == day_range(first, report.tz)[0] and report.end == day_range(last, report.tz)[1]
    if whole_days:
        if first == last:
            return f"{_WEEKDAYS[first.weekday()]} {first}"
        return f"{_WEEKDAYS[first.weekday()]} {first} – {_WEEKDAYS[last.weekday()]} {last}"
    start, end = report.start.astimezone(report.tz), report.end.astimezone(report.tz)
    return f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M}"


def _day_label(day: date) -> str:
    return f"{_WEEKDAYS[day.weekday()]} {day.isoformat()}"


@click.command()
@click.option("--by", type=click.Choice(list(GROUPINGS)), default="project",
              show_default=True, help="Group the totals by this (`user`: who tracked it, with several accounts).")
@click.option("--today", "period", flag_value="today", help="Today.")
@click.option("--yesterday", "period", flag_value="yesterday", help="Yesterday.")
@click.option("--week", "period", flag_value="week", help="This week (the default; weeks start on your Toggl start day).")
@click.option("--last-week", "period", flag_value="last-week", help="Last week.")
@click.option("--month", "period", flag_value="month", help="This calendar month.")
@click.option("--last-month", "period", flag_value="last-month", help="Last calendar month.")
@click.option("--year", "period", flag_value="year", help="This calendar year.")
@click.option("--last-year", "period", flag_value="last-year", help="Last calendar year.")
@click.option("--from", "from_", metavar="WHEN",
              help="Start of a custom range: 2026-11-01, monday, '2026-11-20 09:00', a month 2026-03 or a year "
                   "2019 (alone: up to today, that whole day included).")
@click.option("--to", metavar="WHEN",
              help="End of a custom range; a date alone (2026-11-30, today) includes that whole day, a month "
                   "(2026-03) or a year (2024) the whole month or year (alone: from the first day with an entry).")
@click.option("-p", "--project", "projects", multiple=True, metavar="PROJECT",
              help="Only entries of this project (name or id; repeat for several).")
@click.option("-t", "--tag", "tags", multiple=True, metavar="TAG",
              help="Only entries with this tag (name or id; repeat: any of them).")
@click.option("-w", "--workspace", metavar="WORKSPACE", help="Only this workspace (name or id; default: all of them).")
@click.option("--chart", is_flag=True, help="Draw a bar for each row (table output).")
@output_format_options
@click.pass_context
def report(ctx: click.Context, by: str, period: str | None, from_: str | None, to: str | None,
           projects: tuple[str, ...], tags: tuple[str, ...], workspace: str | None, chart: bool, fmt: str) -> None:
    """Time totals by project, client, tag, day, month, year or description, from the local database (offline).

    Each row shows the time (h:mm:ss), decimal hours, the number of entries
    and the share of the total. An entry counts in the range and in the day
    (month, year) in which it starts, in your time zone (--tz, else your
    Toggl time zone); a running entry counts up to now. With --by tag an
    entry counts under each of its tags. --by day, month and year list the
    periods in order, empty ones included (up to a year of days, ten years of
    months), else the periods with entries.

    \b
    togglsync report                      # this week, by project
    togglsync report --by day --month --chart
    togglsync report --by month --from 2019 --to 2024 --csv      # monthly totals for invoicing
    togglsync report --from 2026-11-01 -p "Website relaunch" --by description --csv   # to today
    """
    from togglsync import lookup
    from togglsync.lookup import display_tz, workspace_id
    from togglsync.report import Filters, summarize

    app = get_app(ctx)
    now = datetime.now(timezone.utc).replace(microsecond=0)

    def build(conn: Any) -> tuple[Report, str]:
        tz = display_tz(conn, app.settings.timezone)
        start, end, period_name = _report_range(conn, period, from_, to, tz, now)
        wid = workspace_id(conn, workspace) if workspace else None
        def named(kind: str, value: str) -> int:
            found = lookup.resolve(conn, kind, value, wid)[0]
            note_pushed(value, found)
            return found

        filters = Filters(
            workspace_id=wid,
            user_id=lookup.account_filter(conn, app.settings.account_filter()),
            project_ids=tuple(dict.fromkeys(named("project", p) for p in projects)),
            tag_ids=tuple(dict.fromkeys(named("tag", t) for t in tags)),
        )
        return summarize(conn, by=by, start=start, end=end, tz=tz, now=now, filters=filters), period_name

    result, period_name = _read(ctx, build)
    if fmt == "json":
        from togglsync.output import dumps
        from togglsync.report import report_dict

        click.echo(dumps(report_dict(result)))
    elif fmt == "nl":
        from togglsync.output import write_ndjson
        from togglsync.report import row_dict

        write_ndjson((row_dict(result, row) for row in result.rows), sys.stdout)
    elif fmt == "plain":
        _plain_report(result)
    elif fmt == "csv":
        import csv

        from togglsync.report import row_dict

        writer = csv.writer(sys.stdout, lineterminator="\n")
        rows = [row_dict(result, row) for row in result.rows]
        header = list(row_dict(result, _blank_row()).keys()) if not rows else list(rows[0])
        writer.writerow(header)
        for row in rows:
            writer.writerow([csv_value(row[c]) for c in header])
    else:
        _print_report(result, chart=chart, period_name=period_name)


def _blank_row() -> Any:
    from togglsync.report import ReportRow

    return ReportRow("", None, 0, 0)


def _report_cells(report: Report) -> tuple[list[str], list[tuple[str, str, str, str]], tuple[str, str, str, str]]:
    """The table's labels, its rows' cells and the total's cells."""
    from togglsync.timeparse import format_duration, format_hours

    labels = [_day_label(r.day) if r.day else r.key for r in report.rows]
    cells = [
        (format_duration(r.seconds), format_hours(r.seconds), f"{r.entries:,}", f"{report.share(r):.1f}%")
        for r in report.rows
    ]
    total_share = "" if report.by == "tag" else ("100.0%" if report.total_seconds else "")
    total_cells = (format_duration(report.total_seconds), format_hours(report.total_seconds),
                   f"{report.total_entries:,}", total_share)
    return labels, cells, total_cells


def _plain_report(report: Report) -> None:
    """Plain rows (a pipe): the table's columns, its rows, then the total as a last row named Total."""
    from togglsync.output import write_plain

    labels, cells, total_cells = _report_cells(report)
    rows = [(label, *values) for label, values in zip(labels, cells)]
    rows.append(("Total", *total_cells))
    write_plain(rows, [report.by, "time", "hours", "entries", "share"])


def _print_report(report: Report, *, chart: bool, period_name: str) -> None:
    from rich.cells import cell_len
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from togglsync.chart import MIN_WIDTH, bar, unicode_ok
    from togglsync.timeparse import to_local

    console = Console(highlight=False)
    heading = f"Time by {report.by}"
    when = _range_text(report)
    heading += f" · {period_name}, {when}" if period_name else f" · {when}"
    heading += f" · {report.tz.key}"
    console.print(Text(heading, style="bold"))

    if report.total_entries == 0 and not report.rows:
        console.print("No time entries in this range.")
        return

    labels, cells, total_cells = _report_cells(report)

    top = max((r.seconds for r in report.rows), default=0)
    ascii_only = not unicode_ok(getattr(console.file, "encoding", None) or sys.getdefaultencoding())
    titles = ("Time", "Hours", "Entries", "Share")
    # The numbers never shrink; a narrow terminal shortens the names (and the bars, down to MIN_WIDTH).
    number_widths = [
        max(cell_len(title), cell_len(total), *(cell_len(c[i]) for c in cells))
        for i, (title, total) in enumerate(zip(titles, total_cells))
    ]
    name_natural = max(cell_len(report.by.capitalize()), cell_len("Total"), *(cell_len(label) for label in labels))
    name_width: int | None = None
    bar_width = 0
    if chart:
        columns = 2 + len(titles)
        # Each column is padded by one cell on both sides, with a rule between columns.
        room = console.width - (3 * columns - 1) - sum(number_widths)
        bar_width = room - name_natural
        if bar_width < MIN_WIDTH:
            name_width = max(min(name_natural, 12), room - MIN_WIDTH)
            bar_width = max(MIN_WIDTH, room - name_width)

    table = Table(show_edge=False, header_style="bold", show_footer=True, footer_style="bold")
    table.add_column(report.by.capitalize(), footer="Total", max_width=name_width,
                     no_wrap=name_width is not None, overflow="ellipsis")
    for title, total, width in zip(titles, total_cells, number_widths):
        table.add_column(title, footer=total, justify="right", no_wrap=True, min_width=width)
    if chart:
        table.add_column("", no_wrap=True, overflow="crop", style="cyan", min_width=bar_width, max_width=bar_width)
    for label, row, values in zip(labels, report.rows, cells):
        drawn = [bar(row.seconds, top, bar_width, ascii_only=ascii_only)] if chart else []
        table.add_row(Text(label), *values, *drawn)
    console.print(table)

    notes = []
    if report.running:
        notes.append(f"Includes the running entry, counted up to now ({to_local(report.now, report.tz):%H:%M}).")
    if report.by == "tag" and sum(r.entries for r in report.rows) > report.total_entries:
        notes.append("An entry with several tags counts under each of them, so the rows add up to more than the total.")
    for note in notes:
        console.print(Text(note, style="dim"))
