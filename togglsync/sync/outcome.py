"""What a sync was asked (`SyncOptions`) and what it did (`SyncResult`), and how a sync ends:
the errors that stop it early become the result's `stopped` / `error` / exit code (`settled`).

Shared by the whole sync (`sync.engine.run_sync`) and the quiet one (`sync.quiet`), which
must not import SQLAlchemy; `sync.engine` re-exports these names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from togglsync import history_plan as hp
from togglsync.errors import (
    BudgetExhausted,
    ExitCode,
    NetworkError,
    QuotaExceeded,
    RateLimited,
    TogglSyncError,
)
from togglsync.outbox import State
from togglsync.sync import plan
from togglsync.sync.remote import Counted


class SyncInterrupted(KeyboardInterrupt):
    """A sync stopped by Ctrl-C (or SIGINT); `result` says what it did before.

    Everything done so far is committed; a create whose answer was not read
    stays in flight and the next sync reconciles it (tests/test_sync_interrupt.py).
    """

    def __init__(self, result: SyncResult):
        super().__init__(f"interrupted: pushed {result.pushed} of {result.to_push}")
        self.result = result


@dataclass
class HistoryOptions:
    """What `togglsync history` (or a sync going on with it) was asked: `sync.history` runs it."""

    all_users: bool = False  # every member's entries (workspace admins only), else the user's own
    since: date | None = None  # how far back; default the account's creation date
    reserve: int = hp.RESERVE  # requests of each quota pool left for the regular sync
    history_days: int = plan.HISTORY_DAYS


@dataclass
class WindowOptions:
    """A workspace-wide account's recent window (`sync.window`): every member's entries of the
    last `days` days re-read through the Reports API, at most every `every` minutes."""

    days: int = hp.WINDOW_DAYS
    every: int = hp.WINDOW_EVERY_MINUTES  # minutes between two reads of one workspace's window
    reserve: int = hp.RESERVE  # requests of each quota pool left for the regular sync


@dataclass
class SyncOptions:
    pull: bool = True
    push: bool = True
    budget: int | None = None
    policy: str = "local"  # who wins when both sides changed a field: "local" or "remote"
    catalog_max_age: timedelta = timedelta(hours=1)
    history_days: int = 89
    force_catalog: bool = False
    # Every entry of the window read again (`sync --full`; see Puller.full_entry_resync).
    full_entries: bool = False
    # A full entry re-sync may empty the cached window (see Puller.full_entry_resync).
    accept_empty_resync: bool = False
    # After a sync that went well, spend what the quota has left above the reserve on
    # unfinished history (`togglsync history`; a scheduled sync does, see cli/syncing).
    history: HistoryOptions | None = None
    # A workspace-wide account (setting all_users): keep every member's recent entries current.
    window: WindowOptions | None = None


@dataclass
class SyncResult:
    pulled: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    pushed: int = 0
    adopted: int = 0
    failed: int = 0
    blocked: int = 0
    conflicts: int = 0
    requests: int = 0
    pending: int = 0
    # Operations left parked (refused, or a create that could not be decided) at the end.
    parked: int = 0
    quota: dict[str, Any] = field(default_factory=dict)
    stopped: str | None = None  # why the sync ended early: "budget", "quota", "network", "rate limit"
    error: str | None = None
    exit_code: int = ExitCode.OK
    failures: list[str] = field(default_factory=list)
    # Operations the push set out to send (`pushed` of them went).
    to_push: int = 0
    # What the history did after the sync (SyncOptions.history), as HistoryResult.as_dict.
    history: dict[str, Any] | None = None
    # What the workspace-wide window did (SyncOptions.window), as WindowResult.as_dict.
    window: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        pulled = ", ".join(f"{k} {v}" for k, v in sorted(self.pulled.items()) if v) or "nothing new"
        deleted = sum(self.deleted.values())
        parts = [f"pulled {pulled}"]
        if deleted:
            parts.append(f"removed {deleted}")
        parts.append(f"pushed {self.pushed}")
        if self.adopted:
            parts.append(f"adopted {self.adopted}")
        if self.failed:
            parts.append(f"failed {self.failed}")
        if self.blocked:
            parts.append(f"waiting {self.blocked}")
        if self.conflicts:
            parts.append(f"conflicts {self.conflicts}")
        if self.parked:
            parts.append(f"parked {self.parked}")
        parts.append(f"{self.requests} request{'s' if self.requests != 1 else ''}")
        left = [f"{pool} {q['remaining']}" for pool, q in sorted(self.quota.items()) if q.get("remaining") is not None]
        if left:
            parts.append("quota left: " + ", ".join(left))
        line = "sync: " + "; ".join(parts)
        if self.stopped:
            line += f" (stopped early: {self.stopped})"
        if self.window is not None and (self.window["requests"] or self.window["read"] or self.window["stopped"]):
            line += "; " + _window_part(self.window)
        if self.history is not None and (self.history["requests"] or self.history["error"]):
            line += "; " + _history_part(self.history)
        return line


    def parked_line(self) -> str:
        """The one line that says edits wait for the user (exit code 7), even under --quiet."""
        n = self.parked
        return (
            f"sync: {n} local change{' is' if n == 1 else 's are'} waiting for you (refused by Toggl, "
            "retried automatically after a back-off): see `togglsync pending`"
        )


def _window_part(window: dict[str, Any]) -> str:
    """What a sync line says of the workspace-wide window it read."""
    read = window["read"]
    part = (f"all users: {read} workspace window{'s' if read != 1 else ''} read, +{window['stored']} "
            f"-{window['deleted']} entries ({window['requests']} report request{'s' if window['requests'] != 1 else ''})")
    if window.get("stopped") == "reserve":
        part += f", waiting for the quota (keeps {hp.RESERVE} requests for the regular sync)"
    return part


def _history_part(history: dict[str, Any]) -> str:
    """What a sync line says of the history it went on with."""
    done = f"history +{history['stored']} entries ({history['requests']} requests)"
    if history["complete"]:
        return f"{done}, complete since {history['since']}"
    if history["error"]:
        return f"{done}, stopped: {history['stopped']}"
    return f"{done}, {history['ranges_left']} ranges left"


class Stoppable(Protocol):
    """What a run that may stop early reports (`SyncResult`, `sync.history.HistoryResult`)."""

    stopped: str | None
    error: str | None
    exit_code: int


def stopped_by(result: Stoppable, exc: TogglSyncError) -> None:
    """Record in `result` why an error stopped a run early (budget, quota, rate limit, network,
    any of ours): the sync and the history say it the same way."""
    if isinstance(exc, BudgetExhausted):
        result.stopped = "budget"
        return
    if isinstance(exc, QuotaExceeded):
        stopped = "quota"
    elif isinstance(exc, RateLimited):
        stopped = "rate limit"
    elif isinstance(exc, NetworkError):
        stopped = "network"
    else:
        stopped = type(exc).__name__
    result.stopped, result.error, result.exit_code = stopped, str(exc), exc.exit_code


def quota_seen(client: Counted) -> dict[str, Any]:
    """The quota headers the client saw, per pool, as a result carries them."""
    return {
        pool: {"remaining": q.remaining, "resets_at": q.resets_at.isoformat() if q.resets_at else None}
        for pool, q in client.quota.items()
    }


@contextmanager
def settled(
    result: SyncResult, client: Counted, *, start_requests: int, counts: Callable[[], Mapping[State, int]],
    before_counting: Callable[[], None] = lambda: None,
) -> Iterator[None]:
    """Run a sync's work in the block and fill `result` in however it ends.

    An error that stops the sync early (budget, quota, rate limit, network, any of
    ours) is recorded in `result`, not raised; Ctrl-C raises `SyncInterrupted` with the
    result so far. Then, always: the requests sent since `start_requests`, the quota
    seen, and the outbox (`counts`; `before_counting` first, e.g. the push's counts).
    Exit code 7 while any local change is parked."""
    interrupted: KeyboardInterrupt | None = None
    try:
        yield
    except TogglSyncError as exc:
        stopped_by(result, exc)
    except KeyboardInterrupt as exc:
        result.stopped, result.exit_code = "interrupted", ExitCode.INTERRUPTED
        interrupted = exc
    finally:
        client.budget = None
        before_counting()
        result.requests = client.requests_sent - start_requests
        result.quota = quota_seen(client)
        found = counts()
        result.pending = sum(found.values())
        result.parked = found.get(State.FAILED, 0)
    if interrupted is not None:
        raise SyncInterrupted(result) from interrupted
    if result.exit_code == ExitCode.OK and (result.failed or result.parked):
        # Some edits are waiting for the user: never exit 0 while anything is parked, so
        # cron mails them (`togglsync pending` lists them).
        result.exit_code = ExitCode.FAILED_OPS
