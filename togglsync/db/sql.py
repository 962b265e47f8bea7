"""Plain SQL that runs on either kind of connection: SQLAlchemy's, or the sqlite3 driver's.

`status`, `start` and `stop` are run many times a day and must answer in well
under a second; importing SQLAlchemy alone takes longer than their budget on
a small machine. They open the database with the driver (`db.open`'s fast modes), and the
code they share with the rest of togglsync (names and ids in `lookup`, the
timer in `timer`, the outbox in `outbox`) is written once, as SQL text with
`?` parameters, and runs through these functions on either connection.
Rows come back as dicts of stored values; `db.stored.from_db` converts them.

On a PostgreSQL connection (SQLAlchemy's, psycopg underneath) the same text
runs too: `?` and `:name` become psycopg's placeholders (`pyformat`), once per
text. The SQL is written for both: `ON CONFLICT` rather than `INSERT OR ...`,
`RETURNING id` rather than `lastrowid`, booleans as `TRUE`/`FALSE` or bound
Python bools. The few things the two spell differently are functions here
(`epoch`, `json_rows`), keyed on `dialect(conn)`.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    import sqlalchemy

# Either kind; a string, so that naming it never imports SQLAlchemy.
Connection: TypeAlias = "sqlite3.Connection | sqlalchemy.Connection"
# `?` placeholders with a sequence, or `:name` ones with a mapping (both drivers' styles).
Params = Sequence[Any] | Mapping[str, Any]


def dialect(conn: Connection) -> str:
    """`sqlite` or `postgresql`: which SQL the connection speaks."""
    return "sqlite" if isinstance(conn, sqlite3.Connection) else conn.dialect.name


def epoch(conn: Connection, expression: str) -> str:
    """SQL for the whole seconds since 1970 of a stored UTC timestamp (text)."""
    if dialect(conn) == "postgresql":
        return f"CAST(floor(extract(epoch FROM CAST({expression} AS timestamp))) AS bigint)"
    return f"CAST(strftime('%s', {expression}) AS INTEGER)"


def json_rows(conn: Connection, parameter: str, width: int) -> str:
    """A SELECT of the rows of a JSON array of `width`-long arrays bound to `parameter`
    (`:days`), one column per position (as text)."""
    if dialect(conn) == "postgresql":
        columns = ", ".join(f"value ->> {i}" for i in range(width))
        return f"SELECT {columns} FROM json_array_elements(CAST({parameter} AS json))"
    columns = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(width))
    return f"SELECT {columns} FROM json_each({parameter})"


# Quoted text and identifiers, a `::` cast, a `?`, a `:name`, or a `%`.
_TOKENS = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|::|\?|(?<![\w:]):([A-Za-z_]\w*)|%""")


@lru_cache(maxsize=1024)
def _pyformat(sql: str) -> str:
    """Our placeholders -> psycopg's: `?` -> `%s`, `:name` -> `%(name)s`, a literal `%` doubled."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token[0] in "'\"":
            return token.replace("%", "%%")
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        if match.group(1):
            return f"%({match.group(1)})s"
        return token

    return _TOKENS.sub(replace, sql)


def driver_text(conn: Connection | sqlalchemy.Engine, sql: str) -> str:
    """`sql` as this connection's driver takes it (our `?`/`:name` placeholders on sqlite3 as they are)."""
    if isinstance(conn, sqlite3.Connection) or conn.dialect.name == "sqlite":
        return sql
    return _pyformat(sql)


def _run(conn: Connection, sql: str, params: Params) -> tuple[list[str], list[tuple[Any, ...]] | None, int | None]:
    if isinstance(conn, sqlite3.Connection):
        cursor = conn.execute(sql, _bound(params))
        try:
            if cursor.description is None:
                return [], None, cursor.lastrowid
            return [d[0] for d in cursor.description], cursor.fetchall(), None
        finally:
            cursor.close()
    # A SQLAlchemy Connection, in its transaction.
    result = conn.exec_driver_sql(driver_text(conn, sql), _bound(params))
    if not result.returns_rows:
        return [], None, result.lastrowid if conn.dialect.name == "sqlite" else None
    return list(result.keys()), [tuple(row) for row in result.all()], None


def _bound(params: Params) -> Any:
    return dict(params) if isinstance(params, Mapping) else tuple(params)


def rows(conn: Connection, sql: str, params: Params = ()) -> list[dict[str, Any]]:
    names, found, _ = _run(conn, sql, params)
    return [dict(zip(names, row)) for row in found or []]


def first(conn: Connection, sql: str, params: Params = ()) -> dict[str, Any] | None:
    found = rows(conn, sql, params)
    return found[0] if found else None


def scalar(conn: Connection, sql: str, params: Params = ()) -> Any:
    _, found, _ = _run(conn, sql, params)
    return found[0][0] if found else None


def column(conn: Connection, sql: str, params: Params = ()) -> list[Any]:
    _, found, _ = _run(conn, sql, params)
    return [row[0] for row in found or []]


def execute(conn: Connection, sql: str, params: Params = ()) -> int | None:
    """Run a write; returns the new row's id for an INSERT on SQLite (anywhere: `INSERT ... RETURNING id`
    through `scalar`)."""
    return _run(conn, sql, params)[2]


def placeholders(count: int) -> str:
    """`?, ?, ?` for an IN list of `count` values."""
    return ", ".join("?" * count)


def executemany(conn: Connection, sql: str, params: Iterable[Params]) -> None:
    """Run one write for each parameter set (the driver's executemany: one statement, many rows)."""
    bound = [_bound(p) for p in params]
    if not bound:
        return
    if isinstance(conn, sqlite3.Connection):
        conn.executemany(sql, bound)
    else:
        conn.exec_driver_sql(driver_text(conn, sql), bound)
