"""The objects a command needs, built once from Settings: API client, Maton ctrl client, database.

Kept apart from the CLI so the Python API (and tests) can use the same wiring.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from togglsync.config import Settings
from togglsync.errors import QuotaSnapshot

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from togglsync.db import postgres
    from togglsync.db.lite import Database
    from togglsync.db.open import Engines

    from togglsync.api import MatonControl, TogglClient
    from togglsync.api.light import LightClient
    from togglsync.api.retrying import Clock, RetryPolicy
    from togglsync.api.transport import DirectAuth, MatonAuth


class App:
    """The wiring for one set of Settings.

    How the HTTP clients wait can be chosen: `retry` (default `RetryPolicy()`),
    `pacing` (seconds between requests; default the setting) and `clock`, the
    time that back-off and pacing wait through (default real time).
    """

    # A run's shared engines (`db.open.Engines`: a sync of every account), set by the run;
    # None: this App opens, and disposes, its own.
    engines: Engines | None = None

    def __init__(
        self,
        settings: Settings,
        *,
        retry: RetryPolicy | None = None,
        pacing: float | None = None,
        clock: Clock | None = None,
    ):
        self.settings = settings
        self._retry = retry
        self._pacing = pacing
        self._clock = clock
        self._quota_seen: dict[str, QuotaSnapshot] = {}

    @cached_property
    def engine(self) -> Engine:
        from togglsync.db.open import open_database

        if self.engines is not None:
            return self.engines.engine(self.settings.db_target)
        return open_database(self.settings.db_target)

    @cached_property
    def database(self) -> Database | postgres.Database:
        """The same file on the sqlite3 driver alone (`Mode.FAST_READ_WRITE`): for work that
        must not wait for SQLAlchemy's import (a sync that finds nothing changed, `sync.quiet`);
        on PostgreSQL, the server's database as the fast modes give it."""
        from togglsync.db.open import Mode, open_database

        if self.engines is not None:
            return self.engines.database(self.settings.db_target)
        return open_database(self.settings.db_target, Mode.FAST_READ_WRITE)

    @cached_property
    def client(self) -> TogglClient:
        from togglsync.api import TogglClient
        from togglsync.api.retrying import SYSTEM_CLOCK

        # The root is checked by the client (https, or http to loopback only).
        return TogglClient(self.settings.root_url, self._auth, retry=self._retry, min_interval=self._min_interval,
                           clock=self._clock or SYSTEM_CLOCK, on_quota=self._remember_quota)

    @cached_property
    def quiet_client(self) -> TogglClient | LightClient:
        """The client of a sync that may find nothing changed (`sync.quiet`): its one request
        without importing requests (`api.light`); the rest of the sync through `client`, which
        goes on from it. The whole client itself once it is built."""
        if "client" in self.__dict__:
            return self.client
        from togglsync.api.light import LightClient
        from togglsync.api.retrying import SYSTEM_CLOCK

        return LightClient(self.settings.root_url, self._auth, full=lambda: self.client, retry=self._retry,
                           min_interval=self._min_interval, clock=self._clock or SYSTEM_CLOCK,
                           on_quota=self._remember_quota)

    @property
    def _auth(self) -> DirectAuth | MatonAuth:
        from togglsync.api.transport import DirectAuth, MatonAuth

        s = self.settings
        secret = s.credential()
        return MatonAuth(secret, s.maton_connection) if s.transport == "maton" else DirectAuth(secret)

    @property
    def _min_interval(self) -> float:
        return self.settings.pacing if self._pacing is None else self._pacing

    @cached_property
    def maton(self) -> MatonControl:
        from togglsync.api import MatonControl
        from togglsync.api.retrying import SYSTEM_CLOCK
        from togglsync.errors import MissingCredentials

        s = self.settings
        if not s.maton_api_key:
            raise MissingCredentials("no Maton API key: set MATON_API_KEY or run `togglsync login --maton`")
        return MatonControl(s.maton_ctrl_url, s.maton_api_key, retry=self._retry, clock=self._clock or SYSTEM_CLOCK)

    def _remember_quota(self, snapshot: QuotaSnapshot) -> None:
        self._quota_seen[snapshot.pool] = snapshot

    def save_quota(self) -> None:
        """Persist the quota headers seen so `togglsync quota` can answer without a request."""
        if not self._quota_seen:
            return
        from togglsync.db.cursors import record_quota

        # Under the account whose credentials sent the requests (`Settings.for_account`).
        seen, account = list(self._quota_seen.values()), self.settings.credentials_of
        if "engine" in self.__dict__:
            with self.engine.begin() as conn:
                record_quota(conn, seen, account=account)
        else:
            with self.database.transaction() as lite:
                record_quota(lite, seen, account=account)
        self._quota_seen.clear()

    def close(self) -> None:
        try:
            self.save_quota()
        finally:
            if "database" in self.__dict__:
                self.database.close()
            if "engine" in self.__dict__ and self.engines is None:
                self.engine.dispose()
