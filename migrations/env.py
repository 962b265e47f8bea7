"""Alembic environment for togglsync's database: a SQLite file, or PostgreSQL.

One history for both: a revision that needs SQL of its own per dialect asks
`op.get_context().dialect.name`; a SQLite file migrated today has exactly the
schema it had before PostgreSQL was supported (tests/test_migrations.py).

Two ways in:

* in-process (`togglsync.db.migrate`): the app passes an open connection in
  `config.attributes["connection"]`, so migrations run on the engine with
  togglsync's pragmas and nothing here builds another one;
* the `alembic` command from the repository root: the database comes from
  `-x db=PATH_OR_URL`, else `$TOGGLSYNC_DB`, else `sqlalchemy.url` in alembic.ini.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from contextlib import nullcontext

from togglsync.db.engine import database_url, make_engine, table_rebuilds_allowed
from togglsync.db.models import Base
from togglsync.db.types import JSONText, UTCDateTime

config = context.config
target_metadata = Base.metadata


def database_url_text() -> str:
    url = (
        context.get_x_argument(as_dictionary=True).get("db")
        or os.environ.get("TOGGLSYNC_DB")
        or config.get_main_option("sqlalchemy.url")
    )
    if not url:
        raise SystemExit("No database: pass -x db=PATH (or a sqlite:// URL), or set TOGGLSYNC_DB.")
    return url


def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Autogenerate hook: write our column types as the SQL type they store.

    A migration must keep meaning what it meant when written, so it should
    not import togglsync code that may change later.
    """
    if type_ == "type" and isinstance(obj, (UTCDateTime, JSONText)):
        return "sa.Text()"
    return False


# pg_advisory_xact_lock's number for "an upgrade is running" (any value; the sync's locks hash a scope).
UPGRADE_LOCK = 7_451_227_601


def run_migrations(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    with table_rebuilds_allowed(connection) if sqlite else nullcontext():
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite alters most things only by rebuilding the table.
            render_as_batch=connection.dialect.name == "sqlite",
            render_item=render_item,
            # One transaction for the whole upgrade (SQLite supports
            # transactional DDL; alembic assumes it does not): a failed
            # migration leaves the file as it was.
            transactional_ddl=True,
        )
        with context.begin_transaction():
            if not sqlite:
                # Two processes upgrading a new database at once: the second waits here, then
                # finds it at head (SQLite's BEGIN IMMEDIATE does this for a file).
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({UPGRADE_LOCK})")
            context.run_migrations()
            # Enforcement was off while tables were rebuilt; check the result
            # before committing.
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() if sqlite else []
            if broken:
                raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    engine = make_engine(database_url_text())
    try:
        with engine.connect() as connection:
            run_migrations(connection)
    finally:
        engine.dispose()


def run_migrations_offline() -> None:
    """`alembic upgrade --sql`: print the SQL instead of running it."""
    url = database_url(database_url_text())
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.get_backend_name() == "sqlite",
        render_item=render_item,
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


# Logging setup is for the alembic command only; in-process runs must not
# reconfigure the application's logging.
if config.config_file_name is not None and "connection" not in config.attributes:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
