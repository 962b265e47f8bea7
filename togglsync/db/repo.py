"""Writes and reads the sync engine shares: bulk upserts, quota state (cursors and the
quota's writes are plain SQL in `db.cursors`, re-exported here).

Every function takes a Connection and leaves the transaction to the caller,
so a page of records and the cursor that says it is stored commit together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Dialect, Table, select
from sqlalchemy.exc import DBAPIError

from togglsync.config import IMPLICIT_ACCOUNT
from togglsync.db.cursors import cursor_stored_at as cursor_stored_at
from togglsync.db.cursors import get_cursor as get_cursor
from togglsync.db.cursors import record_quota as record_quota
from togglsync.db.cursors import set_cursor as set_cursor
from togglsync.db.models import Base, QuotaState
from togglsync.db.tzoffsets import local_dates
from togglsync.errors import QuotaSnapshot


def upsert(conn: Connection, table: Table | type[Base], rows: Sequence[dict[str, Any]]) -> int:
    """Insert rows, or update the existing row with the same primary key.

    Only the columns present in the rows are written; on update the others
    keep their stored values. (SQLite checks each row as an insert first, so
    even a partial row needs the NOT NULL columns.) All rows must have the
    same keys (one statement shape per call). Returns the number of rows.

    SQLAlchemy compiles the statement once; the rows are turned into their
    stored form by the column types' own bind processors and go to the
    driver's executemany in the caller's transaction. (Letting SQLAlchemy
    execute them costs about 30 us per row in parameter bookkeeping: most of
    a cold sync's time. Multi-row VALUES measured slower still.)

    The rows are written in primary key order: Toggl lists entries newest
    first, and inserting descending keys splits the B-tree's pages half empty
    (a cold sync of 100,000 entries: 141 MB instead of about 80 MB, and slower).
    """
    if not rows:
        return 0
    target = table.__table__ if isinstance(table, type) else table
    if any(row.keys() != rows[0].keys() for row in rows):
        raise ValueError(f"upsert into {target.name}: every row must have the same columns")
    _derive(conn, target, rows)
    columns = tuple(rows[0])
    key = [column.name for column in target.primary_key.columns]
    missing = [name for name in key if name not in columns]
    if missing:
        raise ValueError(f"upsert into {target.name}: rows lack primary key column(s) {missing}")
    if len(key) == 1:
        rows = sorted(rows, key=itemgetter(key[0]))
    else:
        rows = sorted(rows, key=lambda row: tuple(row[name] for name in key))
    sql, names, converters = _upsert_statement(conn.dialect, target, columns)
    stored = _stored_rows(rows, names, converters)
    if not conn.in_transaction():
        conn.begin()  # the driver call below must run in a transaction SQLAlchemy knows of
    driver = conn.connection.driver_connection
    cursor = driver.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, stored)
    except conn.dialect.loaded_dbapi.Error as error:
        # The same exception classes as a statement SQLAlchemy ran (OperationalError...).
        raise DBAPIError.instance(sql, None, error, conn.dialect.loaded_dbapi.Error) from error
    finally:
        cursor.close()
    return len(rows)


def _derive(conn: Connection, target: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Add the derived columns (`info["local_date_of"]`: time_entries.local_date) to rows that
    carry their source, in place: cheaper than the database's trigger, a second write a row."""
    for column in target.columns:
        source = column.info.get("local_date_of")
        if source is None or source not in rows[0] or column.name in rows[0]:
            continue
        local_date = local_dates(conn)
        for row in rows:
            row[column.name] = local_date(row[source])


def _stored_rows(
    rows: Sequence[dict[str, Any]], names: tuple[str, ...], converters: tuple[tuple[int, Callable[[Any], Any]], ...]
) -> list[list[Any]]:
    stored = []
    values_of = itemgetter(*names)  # one C call a row for the values in order
    for row in rows:
        values = list(values_of(row)) if len(names) > 1 else [row[names[0]]]
        for index, convert in converters:
            values[index] = convert(values[index])
        stored.append(values)
    return stored


_Statement = tuple[str, tuple[str, ...], tuple[tuple[int, Callable[[Any], Any]], ...]]
# By dialect class, not instance: every engine has its own dialect, and keying on it kept
# the dialects (and their caches) of engines long disposed. A handful of shapes in all.
_STATEMENTS: dict[tuple[type, Table, tuple[str, ...]], _Statement] = {}


def _upsert_statement(dialect: Dialect, target: Table, columns: tuple[str, ...]) -> _Statement:
    """The positional SQL text of an upsert of `columns`, its parameters (column names)
    in order, and (position, converter to the stored form) for those that need one."""
    key = (type(dialect), target, columns)
    if key not in _STATEMENTS:
        _STATEMENTS[key] = _compile_upsert(dialect, target, columns)
    return _STATEMENTS[key]


def insert(dialect: Dialect, table: Table) -> Any:
    """The dialect's INSERT, which has `ON CONFLICT` (SQLite's and PostgreSQL's). Each dialect's
    module is imported when its database is used: PostgreSQL's costs a SQLite sync 40 ms."""
    if dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


def _positional(dialect: Dialect) -> Dialect:
    """A dialect that writes positional placeholders (`%s` on psycopg, whose own style is
    named), so rows go to the driver as lists in `positiontup` order."""
    if dialect.positional:
        return dialect
    return type(dialect)(paramstyle="format")  # type: ignore[call-arg]


def _compile_upsert(dialect: Dialect, target: Table, columns: tuple[str, ...]) -> _Statement:
    key = [column.name for column in target.primary_key.columns]
    to_update = [name for name in columns if name not in key]
    statement = insert(dialect, target)
    if to_update:
        statement = statement.on_conflict_do_update(
            index_elements=key,
            set_={name: statement.excluded[name] for name in to_update},
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=key)
    compiled = statement.compile(dialect=_positional(dialect), column_keys=list(columns))
    order = compiled.positiontup or []
    if sorted(order) != sorted(columns):
        raise RuntimeError(f"upsert into {target.name}: unexpected parameters {order}")
    converters = []
    for index, name in enumerate(order):
        column_type = target.c[name].type
        # Our column types convert without SQLAlchemy's per-value wrapper; others use their own.
        convert = getattr(column_type, "to_stored", None) or column_type.bind_processor(dialect)
        if convert is not None:
            converters.append((index, convert))
    return str(compiled), tuple(order), tuple(converters)


def load_quota(conn: Connection, *, account: str = IMPLICIT_ACCOUNT) -> dict[str, QuotaSnapshot]:
    """The account's last known quota state per pool, as the API client reports it."""
    result: dict[str, QuotaSnapshot] = {}
    for row in conn.execute(select(QuotaState.__table__).where(QuotaState.account == account)).mappings():
        resets_at: datetime | None = row["resets_at"]
        observed_at: datetime = row["observed_at"]
        resets_in = None if resets_at is None else round((resets_at - observed_at).total_seconds())
        result[row["pool"]] = QuotaSnapshot(
            pool=row["pool"],
            remaining=row["remaining"],
            resets_in=resets_in,
            observed_at=observed_at,
        )
    return result
