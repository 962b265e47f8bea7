"""The database on a PostgreSQL server (`postgresql+psycopg://user:password@host/db`).

What differs from a SQLite file, in one place:

* the engine (`make_engine`): psycopg 3 (the `postgres` extra); a read-only
  engine's sessions start every transaction READ ONLY
  (`default_transaction_read_only`), which the server enforces whatever the
  SQL; a role granted only SELECT (README, "Team / PostgreSQL") is the
  stronger guarantee for dashboards;
* errors reaching the server (refused, unknown database, bad password) become
  one line, `StorageError` (exit 8), naming the URL without its password;
* `Database`: what `db.open`'s fast modes give on a server, the same
  `transaction()`/`snapshot()` as `lite.Database`, on one SQLAlchemy
  connection (`db.sql` runs the same plain SQL on it);
* `sync_lock`: one sync per scope, a session-level advisory lock: the server
  drops it when the process or its connection dies, so machines syncing
  into one database take turns. `lock_key(scope)` is the lock's number.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, ExceptionContext
from sqlalchemy.pool import NullPool

from togglsync.errors import ConfigError, StorageError

DRIVER = "postgresql+psycopg"
INSTALL_HINT = "pip install 'togglsync[postgres]'"


def shown(url: URL) -> str:
    """The URL for messages: never its password."""
    return url.render_as_string(hide_password=True)


def _check_driver() -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise ConfigError(f"a PostgreSQL database needs psycopg 3: {INSTALL_HINT}") from None


def make_engine(url: URL, *, read_only: bool = False, pooled: bool = True) -> Engine:
    """An engine on the server's database; `read_only`: every transaction READ ONLY."""
    _check_driver()
    from togglsync.db.models import postgresql_options

    postgresql_options()  # the metadata, as migrations make the schema here (compared in tests)
    connect_args: dict[str, Any] = {"connect_timeout": 10, "application_name": "togglsync"}
    if read_only:
        connect_args["options"] = "-c default_transaction_read_only=on"
    options: dict[str, Any] = {} if pooled else {"poolclass": NullPool}
    engine = create_engine(url, connect_args=connect_args, **options)
    where = shown(url)

    @event.listens_for(engine, "handle_error")
    def _unreachable(context: ExceptionContext) -> BaseException | None:
        return connection_error(context.original_exception, where)

    return engine


def connection_error(exc: BaseException, where: str) -> StorageError | None:
    """The server could not be reached or refused us (not a statement's fault) -> one line, else None."""
    import psycopg

    if not isinstance(exc, psycopg.OperationalError) or getattr(exc, "sqlstate", None) not in (
            None, "28P01", "28000", "3D000", "08001", "08006", "57P01", "57P03"):
        return None
    message = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return StorageError(f"cannot use the database at {where}: {message}")


class Database:
    """One connection to the server's database, as the fast modes give it (see `lite.Database`).
    `owned`: closing it disposes the engine too (not one a run shares, `db.open.Engines`)."""

    def __init__(self, engine: Engine, *, owned: bool = True):
        self.engine = engine
        self.owned = owned
        self.conn: Connection = engine.connect()

    def _idle(self) -> None:
        # Reads made through `conn` outside a block began a transaction of their own.
        if self.conn.in_transaction():
            self.conn.rollback()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        self._idle()
        with self.conn.begin():
            yield self.conn

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """Reads that see one state of the database (REPEATABLE READ, read only)."""
        self._idle()
        self.conn.begin()
        try:
            self.conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield self.conn
        finally:
            self.conn.rollback()

    @contextmanager
    def translated(self) -> Iterator[None]:
        yield  # the engine's handle_error hook translates already

    def close(self) -> None:
        self.conn.close()
        if self.owned:
            self.engine.dispose()


def lock_key(scope: str) -> int:
    """The advisory lock's number for a scope (a signed 64-bit integer, as the server takes it)."""
    digest = hashlib.blake2b(f"togglsync sync {scope}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def advisory_lock(url: URL, scope: str, *, wait: bool, on_wait: Any = None,
                  engine: Engine | None = None) -> Iterator[bool]:
    """Hold the session-level advisory lock of `scope` for the block. Yields False (and holds
    nothing) when another session holds it and not `wait`; `on_wait()` is called before waiting.
    `engine`: one whose pool lends the connection (a run's shared engine); else one of its own."""
    own = engine is None
    if engine is None:
        engine = make_engine(url, pooled=False)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            key = lock_key(scope)
            taken = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
            if not taken and wait:
                if on_wait is not None:
                    on_wait()
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
                taken = True
            try:
                yield bool(taken)
            finally:
                if taken:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
    finally:
        if own:
            engine.dispose()
