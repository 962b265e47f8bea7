"""Bring a database to this version's schema with alembic, in-process.

Every command opens the database, so the usual case, a database already at
head, costs one lookup in `alembic_version` compared with `SCHEMA_HEAD`, and
does not even import alembic (about 0.1 s of every command's start-up);
alembic runs only for a database that is behind or unknown. The migration scripts ship inside the package (`togglsync.migrations`)
so this works from an installed wheel, not only from a checkout.
"""

from __future__ import annotations

import importlib.resources
import threading
from functools import cache
from pathlib import Path

from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from togglsync.db.engine import driver_connection, for_reading
from togglsync.db.lite import SCHEMA_HEAD
from togglsync.errors import DatabaseOpenError

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory


# Set in alembic's config attributes by a migration that deleted something
# which must leave the file (0004: API tokens in account.raw); the name is
# spelled out in the migration too, which must not import togglsync code.
VACUUM_REQUEST = "togglsync_vacuum_after_upgrade"


# alembic keeps the running migration context in module globals, so two
# threads must not run it at once (processes are serialised by SQLite).
_alembic_running = threading.Lock()


class DatabaseTooNew(DatabaseOpenError):
    """The database's schema revision is unknown here: a newer togglsync wrote it."""


def migrations_dir() -> Path:
    """The alembic script directory (env.py, versions/)."""
    try:
        # Installed (wheel or editable): setuptools maps migrations/ to this package.
        return Path(str(importlib.resources.files("togglsync.migrations")))
    except ModuleNotFoundError:
        # A checkout on sys.path without installing: migrations/ beside the package.
        return Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """An alembic Config built in code; env.py uses `connection` when given.

    The connection must not be in a transaction: env.py switches foreign key
    enforcement off for the migration, which SQLite ignores inside one.
    """
    from alembic.config import Config

    config = Config()
    # Config values go through ConfigParser interpolation: escape any '%'.
    config.set_main_option("script_location", str(migrations_dir()).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def _scripts() -> ScriptDirectory:
    # Reading the revision files is the costly part of the check; they do not
    # change while the process runs.
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


@cache
def _known_revisions() -> frozenset[str]:
    return frozenset(script.revision for script in _scripts().walk_revisions())


def head_revision() -> str:
    """The newest schema revision this version of togglsync knows."""
    head = _scripts().get_current_head()
    if head is None:
        raise RuntimeError(f"no migration scripts in {migrations_dir()}")
    return head


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision; None for an empty (new) database."""
    heads = _database_heads(engine)
    if len(heads) > 1:
        raise DatabaseOpenError(f"the database has several schema revisions: {', '.join(heads)}")
    return heads[0] if heads else None


def upgrade(engine: Engine) -> bool:
    """Migrate the database to head if it is behind. True when migrations ran.

    Concurrent upgrades are safe: alembic's transaction starts with BEGIN
    IMMEDIATE (see engine.py; on PostgreSQL env.py takes a transaction-level
    advisory lock first) and reads the version inside it, so the second
    process waits, then finds nothing to do.
    """
    from alembic import command
    from alembic.util import CommandError

    if not _needs_upgrade(engine):
        return False
    try:
        with _alembic_running, engine.connect() as connection:
            config = alembic_config(connection)
            command.upgrade(config, "head")
            if config.attributes.get(VACUUM_REQUEST) and connection.dialect.name == "sqlite":
                _vacuum(connection)
    except CommandError:
        # A newer togglsync may have upgraded the file between our check and
        # alembic's; say so rather than show alembic's "can't locate revision".
        _needs_upgrade(engine)
        raise
    return True


def _vacuum(connection: Connection) -> None:
    """Rebuild the file so deleted bytes leave it: free pages, slack inside pages and the WAL.

    VACUUM cannot run in a transaction, and alembic has committed by now; the
    raw connection runs it without SQLAlchemy's (immediate) BEGIN. In WAL mode
    the rebuilt pages land in the WAL first: the TRUNCATE checkpoint copies
    them over the old pages and empties the WAL, which otherwise keeps old
    frames until it is reused. (A reader in another process can make the
    checkpoint stop short; the next checkpoint finishes the job.)
    """
    if connection.in_transaction():
        raise RuntimeError("VACUUM needs a connection outside a transaction")
    dbapi = driver_connection(connection)
    dbapi.execute("VACUUM")
    dbapi.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _needs_upgrade(engine: Engine) -> bool:
    current = set(_database_heads(engine))
    if current == set(_scripts().get_heads()):
        return False
    unknown = sorted(current - _known_revisions())
    if unknown:
        raise DatabaseTooNew(
            f"the database at {_where(engine)} was created by a newer togglsync "
            f"(schema revision {', '.join(unknown)}; this version knows up to {head_revision()}); "
            "upgrade togglsync to use it"
        )
    return True


def at_head(engine: Engine) -> bool:
    """Is the database at this version's schema? One lookup, no alembic import."""
    return _stored_revision(engine) == SCHEMA_HEAD


def _stored_revision(engine: Engine) -> str | None:
    """The fast path: alembic_version's single row, without alembic. None if absent or unreadable."""
    try:
        with for_reading(engine).connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError:
        return None  # no table yet, or not a database: the full path says which
    return rows[0] if len(rows) == 1 else None


def _database_heads(engine: Engine) -> tuple[str, ...]:
    """The revision(s) in alembic_version, read without taking the write lock."""
    from alembic.runtime.migration import MigrationContext

    try:
        with for_reading(engine).connect() as connection:
            return tuple(MigrationContext.configure(connection).get_current_heads())
    except DBAPIError as exc:
        # Opening is where a wrong path or a foreign file shows up: one line
        # for the user, not a traceback.
        if getattr(exc.orig, "sqlite_errorname", "") == "SQLITE_NOTADB":
            raise DatabaseOpenError(f"{_where(engine)} is not a SQLite database") from exc
        raise DatabaseOpenError(f"cannot open the database at {_where(engine)}: {exc.orig}") from exc


def _where(engine: Engine) -> str:
    if engine.dialect.name == "sqlite" and engine.url.database:
        return engine.url.database
    return engine.url.render_as_string(hide_password=True)
