"""Plain SQL that runs on either kind of connection: SQLAlchemy's, or the sqlite3 driver's.

`status`, `start` and `stop` are run many times a day and must answer in well
under a second; importing SQLAlchemy alone takes longer than their budget on
a small machine. They open the database with the driver (`db.open`'s fast modes), and the
code they share with the rest of togglsync (names and ids in `lookup`, the
timer in `timer`, the outbox in `outbox`) is written once, as SQL text with
`?` parameters, and runs through these functions on either connection.
Rows come back as dicts of stored values; `db.stored.from_db` converts them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    import sqlalchemy

# Either kind; a string, so that naming it never imports SQLAlchemy.
Connection: TypeAlias = "sqlite3.Connection | sqlalchemy.Connection"
# `?` placeholders with a sequence, or `:name` ones with a mapping (both drivers' styles).
Params = Sequence[Any] | Mapping[str, Any]


def _run(conn: Connection, sql: str, params: Params) -> tuple[list[str], list[tuple[Any, ...]] | None, int | None]:
    if isinstance(conn, sqlite3.Connection):
        cursor = conn.execute(sql, _bound(params))
        try:
            if cursor.description is None:
                return [], None, cursor.lastrowid
            return [d[0] for d in cursor.description], cursor.fetchall(), None
        finally:
            cursor.close()
    result = conn.exec_driver_sql(sql, _bound(params))  # a SQLAlchemy Connection, in its transaction
    if not result.returns_rows:
        return [], None, result.lastrowid
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
    """Run a write; returns the new row's id for an INSERT."""
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
        conn.exec_driver_sql(sql, bound)
