"""Table / plain rows / JSON / NDJSON / CSV rendering shared by every listing command.

At a terminal a listing is a table (rich, wrapped to the terminal's width, ids
never cut); anywhere else (a pipe, a file, cron) it is plain rows: a header
line, then one line per record, the cells separated by a tab, nothing cut,
wrapped or drawn, and rich is not imported. `--table` forces the table;
`TOGGLSYNC_FORCE_TTY=1` makes togglsync behave as at a terminal (tests,
`watch`, `less -R`).
"""

from __future__ import annotations

import csv
import functools
import json
import os
import re
import sys
from datetime import date, datetime, tzinfo
from typing import Any, Callable, Iterable, Sequence, TypeVar

import click

FORMATS = ("table", "plain", "json", "nl", "csv")
HUMAN = ("table", "plain")  # what a person reads: the table's columns, not the data columns

F = TypeVar("F", bound=Callable[..., Any])


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=_json_default)


def is_terminal() -> bool:
    """Is standard output a person's terminal? (`TOGGLSYNC_FORCE_TTY=1` says yes, `=0` no.)"""
    forced = os.environ.get("TOGGLSYNC_FORCE_TTY", "")
    if forced:
        return forced not in ("0", "false", "no")
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stdout
        return False


def human_format() -> str:
    """The default format: a table at a terminal, plain rows anywhere else."""
    return "table" if is_terminal() else "plain"


def format_options(*, json_help: str = "Output JSON (an array).") -> Callable[[F], F]:
    """--table / --json / --nl / --csv flags; none given: `human_format()` (the command sees the
    resolved name: table, plain, json, nl or csv)."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def resolved(*args: Any, **kwargs: Any) -> Any:
            if kwargs.get("fmt") is None:
                kwargs["fmt"] = human_format()
            return func(*args, **kwargs)

        wrapped: Any = resolved
        wrapped = click.option("--csv", "fmt", flag_value="csv", help="Output CSV.")(wrapped)
        wrapped = click.option("--nl", "fmt", flag_value="nl",
                               help="Output newline-delimited JSON: one object per line.")(wrapped)
        wrapped = click.option("--json", "fmt", flag_value="json", help=json_help)(wrapped)
        wrapped = click.option("--table", "fmt", flag_value="table",
                               help="A table even when the output is not a terminal (default: a table at a "
                                    "terminal, tab-separated rows with a header line elsewhere).")(wrapped)
        return wrapped

    return decorate


def output_format_options(func: F) -> F:
    """`format_options()` with the ordinary help texts."""
    return format_options()(func)


def csv_value(value: Any) -> Any:
    """A value for a CSV cell: NULL is empty, a BLOB is hex."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"  # as JSON writes them, not Python's True/False
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return value


def _csv_cell(value: Any) -> Any:
    """A listing's value in CSV: booleans true/false, numbers as they are, lists joined."""
    if value is None or isinstance(value, (bool, bytes, bytearray, memoryview)):
        return csv_value(value)
    if isinstance(value, (int, float)):
        return value
    return _cell(value)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def plain_cell(value: Any) -> str:
    """A cell of plain rows: as in the table, on one line, no tab inside."""
    text = value if type(value) is str else _cell(value)
    return text if text.isprintable() else _PLAIN_BREAKS.sub(" ", text)  # isprintable: the quick test


_PLAIN_BREAKS = re.compile(r"[\t\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")


def write_plain(rows: Iterable[Sequence[Any]], columns: Sequence[str], stream: Any = None) -> None:
    """Plain rows: the header line, then each row, cells joined by a tab."""
    out = stream or sys.stdout
    out.write("\t".join(plain_cell(c) for c in columns) + "\n")
    for row in rows:
        out.write("\t".join(plain_cell(v) for v in row) + "\n")


def is_id_column(name: str) -> bool:
    """`id`, `record_id`, `user_id`...: a table never wraps or cuts these."""
    return name == "id" or name.endswith("_id")


def render_rows(
    rows: Iterable[dict[str, Any]],
    columns: Sequence[str],
    fmt: str | None = None,
    *,
    title: str | None = None,
    fixed: Sequence[str] = (),
    zone: tzinfo | None = None,
) -> None:
    """Print rows as a table, plain rows, JSON, NDJSON or CSV (None: `human_format()`).

    `fixed` names table columns that are never wrapped or cut (times,
    durations; ids always): narrow terminals squeeze the other columns instead.
    `title` is the table's; plain rows have none. `zone`: the display zone, in
    which every time is shown (`2026-11-20 14:05`; JSON: ISO with its offset),
    named under the table.
    """
    fmt = fmt or human_format()
    rows = list(rows)
    if zone is not None:
        rows = [{k: in_zone(v, zone) for k, v in r.items()} for r in rows]
    if fmt == "json":
        click.echo(dumps([{c: r.get(c) for c in columns} for r in rows]))
    elif fmt == "nl":
        write_ndjson(({c: r.get(c) for c in columns} for r in rows), sys.stdout)
    elif fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        for r in rows:
            writer.writerow([_csv_cell(r.get(c)) for c in columns])
    elif fmt == "plain":
        write_plain(([r.get(c) for c in columns] for r in rows), columns)
    else:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(title=title, show_edge=False, header_style="bold")
        for c in columns:
            if c in fixed or is_id_column(c):
                from rich.cells import cell_len

                width = max([cell_len(c)] + [cell_len(_cell(r.get(c))) for r in rows])
                table.add_column(c, no_wrap=True, min_width=width)
            else:
                # Squeezed, a cell wraps, and a word longer than the column is folded, never cut.
                table.add_column(c, overflow="fold", min_width=min(len(c), 8))
        for r in rows:
            # Text, not str: a description like "[WIP] fix" is data, not rich markup.
            table.add_row(*(Text(_cell(r.get(c))) for c in columns))
        if zone is not None and any(isinstance(r.get(c), datetime) for r in rows for c in columns):
            table.caption = f"Times in {zone_name(zone)}."
        Console().print(table)


def in_zone(value: Any, zone: tzinfo) -> Any:
    """An aware datetime in the display zone; anything else as it is."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(zone)
    return value


def zone_name(zone: tzinfo) -> str:
    """`Europe/Paris` (an IANA zone's key), else what the zone calls itself."""
    return str(getattr(zone, "key", None) or zone.tzname(None) or zone)


def json_value(value: Any, *, decode: bool = False) -> Any:
    """A database value as JSON can carry it: blobs as hex text, infinities as text.

    `decode`: the column may hold JSON text (`raw`, `tag_ids`...): an object or array is given as
    itself, not as a string of JSON; any other text stays text (the `entries` view's `tags` is
    "a, b", and a tag may be named `42`)."""
    if decode and isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, float) and value in (float("inf"), float("-inf")):  # not JSON (SQLite has no NaN)
        return str(value)
    return value


def write_json_array(objects: Iterable[dict[str, Any]], stream: Any) -> int:
    """Stream `objects` as one JSON array, an object per line, without holding them all. Returns the count."""
    count = 0
    for obj in objects:
        stream.write(("[\n  " if count == 0 else ",\n  ") + json.dumps(obj, ensure_ascii=False, default=_json_default))
        count += 1
    stream.write("[]\n" if count == 0 else "\n]\n")
    return count


def write_ndjson(objects: Iterable[dict[str, Any]], stream: Any) -> int:
    """Newline-delimited JSON: one object per line, streamed. Returns the count."""
    count = 0
    for obj in objects:
        stream.write(json.dumps(obj, ensure_ascii=False, default=_json_default) + "\n")
        count += 1
    return count
