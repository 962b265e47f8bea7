"""Table / JSON / CSV rendering shared by every listing command."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, datetime
from typing import Any, Iterable, Sequence

import click

FORMATS = ("table", "json", "csv")


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=_json_default)


def output_format_options(func):
    """--json / --csv flags (table is the default)."""
    func = click.option("--csv", "fmt", flag_value="csv", help="Output CSV.")(func)
    func = click.option("--json", "fmt", flag_value="json", help="Output JSON.")(func)
    func = click.option("--table", "fmt", flag_value="table", default=True, hidden=True)(func)
    return func


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
) -> None:
    rows = list(rows)
    if fmt == "json":
        click.echo(dumps([{c: r.get(c) for c in columns} for r in rows]))
    elif fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        for r in rows:
            writer.writerow([_cell(r.get(c)) if not isinstance(r.get(c), (int, float)) else r.get(c) for c in columns])
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, show_edge=False, header_style="bold")
        for c in columns:
            table.add_column(c)
        for r in rows:
            table.add_row(*(_cell(r.get(c)) for c in columns))
        Console().print(table)
