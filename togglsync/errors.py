"""One root error for everything togglsync raises on purpose.

The CLI turns each of these into a one-line message and the documented exit
code (see README, "Exit codes"); anything else is a bug and shows a traceback.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, Protocol


class ExitCode:
    """Process exit codes, documented in the README. Stable: scripts rely on them."""

    OK = 0
    ERROR = 1  # anything not listed below
    USAGE = 2  # bad arguments or configuration (click uses 2 for usage errors too)
    LOCKED = 3  # another sync holds the lock for this database
    QUOTA = 4  # Toggl's hourly request quota is exhausted (402)
    AUTH = 5  # credentials missing, rejected or not allowed
    NETWORK = 6  # Toggl (or the gateway) could not be reached
    FAILED_OPS = 7  # some edits are waiting for you (parked operations are left): see `togglsync pending`
    DATABASE = 8  # the local database cannot be read or written: read-only, disk full, damaged, busy
    INTERRUPTED = 130  # Ctrl-C (SIGINT): 128 + the signal's number, as shells report it


class TogglSyncError(Exception):
    """Root of every error togglsync raises deliberately."""

    exit_code = ExitCode.ERROR


class ConfigError(TogglSyncError):
    """Missing or invalid configuration: credentials, URLs, config file."""

    exit_code = ExitCode.USAGE


class AnotherAccount(ConfigError):
    """The credentials are another Toggl account's than the one whose data the database holds."""


class MissingCredentials(ConfigError):
    """No API token (or Maton key) for the chosen transport: an authentication failure (exit 5)."""

    exit_code = ExitCode.AUTH


class UsageError(TogglSyncError):
    """The user asked for something impossible (bad time, unknown project...)."""

    exit_code = ExitCode.USAGE


class NetworkError(TogglSyncError):
    """The server could not be reached, or the connection broke mid-request.

    `maybe_applied` is True when the request had been sent and may have taken
    effect (read timeout, connection dropped after sending): the caller must
    not blindly resend a non-idempotent request.
    """

    exit_code = ExitCode.NETWORK

    def __init__(self, message: str, *, maybe_applied: bool = False):
        super().__init__(message)
        self.maybe_applied = maybe_applied


class ApiError(TogglSyncError):
    """The server answered with an error status (or an unusable body)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        method: str = "",
        path: str = "",
        body: object = None,
    ):
        self.status = status
        self.message = message
        self.method = method
        self.path = path
        self.body = body
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = f" ({self.method} {self.path})" if self.method else ""
        return f"Toggl API error {self.status}{where}: {self.message}"


class AuthError(ApiError):
    """401 / 403: missing, wrong or insufficient credentials."""

    exit_code = ExitCode.AUTH

    def _describe(self) -> str:
        hint = (
            "credentials missing or rejected"
            if self.status == 401
            else "access denied (wrong token, or not allowed in this workspace)"
        )
        detail = f": {self.message}" if self.message else ""
        return f"Authentication failed ({self.status}, {hint}){detail}"


class NoMatonConnection(AuthError):
    """The Maton gateway's 400: the key has no active Toggl connection, or not the one asked for.

    Not Toggl refusing a request (a `BadRequest` would be read as a stale cursor and
    retried as a re-sync): nothing will work until a connection does."""

    def __init__(self, status: int, message: str, *, connection: str | None = None, **kw: Any):
        self.connection = connection
        super().__init__(status, message, **kw)

    def _describe(self) -> str:
        which = f"Maton connection {self.connection}" if self.connection else "an active Maton connection to Toggl"
        detail = f" ({self.message})" if self.message else ""
        return (f"Authentication failed: no usable {which}{detail}; see `togglsync connections list` "
                "(or `togglsync connections create`), or pick one with --connection / MATON_CONNECTION")


class BadRequest(ApiError):
    """400 / 422: the server refused the request as invalid."""


class NotFound(ApiError):
    """404 / 410."""


class Conflict(ApiError):
    """409, e.g. "Time entry already stopped"."""


class PremiumRequired(ApiError):
    """402 without quota headers: a premium feature on a non-premium workspace."""


class QuotaObservation(Protocol):
    """One quota answer, as the client keeps it (`QuotaSnapshot`) or the database stores it
    (`quota_state`): what storing it (`db.cursors.record_quota`) and planning by it
    (`history_plan.observations`) read."""

    @property
    def pool(self) -> str: ...
    @property
    def remaining(self) -> int | None: ...
    @property
    def resets_at(self) -> datetime | None: ...
    @property
    def observed_at(self) -> datetime: ...


class QuotaSnapshot(NamedTuple):
    """What the last response said about one quota pool."""

    pool: str  # "user" (every /me request) or "workspace:<id>" (organization quota)
    remaining: int | None
    resets_in: int | None  # seconds, as sent by the server
    observed_at: datetime  # local UTC time the header was read

    @property
    def resets_at(self) -> datetime | None:
        if self.resets_in is None:
            return None
        from datetime import timedelta

        return self.observed_at + timedelta(seconds=self.resets_in)


class QuotaExceeded(ApiError):
    """402 with X-Toggl-Quota-* headers: the hourly request quota is spent."""

    exit_code = ExitCode.QUOTA

    def __init__(self, status: int, message: str, *, quota: QuotaSnapshot, **kw: Any):
        self.quota = quota
        super().__init__(status, message, **kw)

    def _describe(self) -> str:
        pool = (
            "your per-user /me quota"
            if self.quota.pool == "user"
            else f"the organization quota ({self.quota.pool})"
        )
        when = ""
        if self.quota.resets_at is not None:
            minutes = max(1, round((self.quota.resets_in or 0) / 60))
            when = f"; resets in {minutes} min (at {self.quota.resets_at:%H:%M} UTC)"
        return f"Toggl request quota exhausted for {pool}{when}"


class RateLimited(ApiError):
    """429: too many requests in a short time."""

    def __init__(self, status: int, message: str, *, retry_after: float | None = None, **kw: Any):
        self.retry_after = retry_after
        super().__init__(status, message, **kw)


class ServerError(ApiError):
    """5xx."""


class BadResponse(ApiError):
    """A success status whose body is not what the API promises (bad JSON, wrong shape)."""


class SyncError(TogglSyncError):
    """The sync engine could not proceed."""


class LockedError(TogglSyncError):
    """Another sync holds the lock for this database."""

    exit_code = ExitCode.LOCKED


class BudgetExhausted(TogglSyncError):
    """The caller's request budget is spent: sending more would exceed it.

    Raised by the API client *before* a request goes out, so nothing was sent
    and nothing needs reconciling; the sync engine stops and resumes next run.
    """


class DatabaseOpenError(TogglSyncError):
    """The database file cannot be opened or used by this version of togglsync."""


class DatabaseNotFound(DatabaseOpenError):
    """A read-only open of a database file that does not exist."""


class StorageError(DatabaseOpenError):
    """The local database (or the lock file beside it) cannot be read or written: a read-only
    file or folder, a full disk, a damaged file, another program holding it too long.

    `db.lite.storage_error` turns SQLite's errors into this, in one line naming the file and
    what to do; nothing about the edit itself was wrong.
    """

    exit_code = ExitCode.DATABASE
