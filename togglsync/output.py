"""Table / JSON / CSV rendering shared by every listing command."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, datetime
from typing import Any, Callable, Iterable, Sequence, TypeVar

import click

FORMATS = ("table", "json", "csv")

F = TypeVar("F", bound=Callable[..., Any])


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=_json_default)


def output_format_options(func: F) -> F:
    """--json / --csv flags (table is the default)."""
    func = click.option("--csv", "fmt", flag_value="csv", help="Output CSV.")(func)
    func = click.option("--json", "fmt", flag_value="json", help="Output JSON.")(func)
    func = click.option("--table", "fmt", flag_value="table", default=True, hidden=True)(func)
    return func


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


def render_rows(
    rows: Iterable[dict[str, Any]],
    columns: Sequence[str],
    fmt: str = "table",
    *,
    title: str | None = None,
    fixed: Sequence[str] = (),
) -> None:
    """Print rows as a table (default), JSON or CSV.

    `fixed` names table columns that are never wrapped or cut (ids, times,
    durations): narrow terminals squeeze the other columns instead.
    """
    rows = list(rows)
    if fmt == "json":
        click.echo(dumps([{c: r.get(c) for c in columns} for r in rows]))
    elif fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        for r in rows:
            writer.writerow([_csv_cell(r.get(c)) for c in columns])
    else:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(title=title, show_edge=False, header_style="bold")
        for c in columns:
            if c in fixed:
                from rich.cells import cell_len

                width = max([cell_len(c)] + [cell_len(_cell(r.get(c))) for r in rows])
                table.add_column(c, no_wrap=True, min_width=width)
            else:
                table.add_column(c)
        for r in rows:
            # Text, not str: a description like "[WIP] fix" is data, not rich markup.
            table.add_row(*(Text(_cell(r.get(c))) for c in columns))
        Console().print(table)


def json_value(value: Any) -> Any:
    """A database value as JSON can carry it: blobs as hex text, infinities as text."""
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
