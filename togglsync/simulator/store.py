"""Storage shared by SimState's rule sets: records, the lock, ids and `at` stamps.

SimState (state.py) is assembled from mixins over this base, one per kind of
thing (accounts, catalog, time entries, Maton); they all take the one RLock,
so a request sees and leaves a consistent state.
"""

from __future__ import annotations

import functools
import threading
import unicodedata
from collections import OrderedDict
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, TypeVar

from .clock import SimClock
from .model import (
    Client,
    Connection,
    MatonKey,
    Membership,
    Organization,
    Project,
    SimError,
    Tag,
    TimeEntry,
    User,
    Workspace,
)
from .timefmt import ONE_MICROSECOND

F = TypeVar("F", bound=Callable[..., Any])

# First ids per kind, chosen to look like Toggl's (entry ids beyond int32).
ID_BASES = {
    "organization": 8_700_000,
    "workspace": 20_100_000,
    "user": 10_200_000,
    "client": 61_000_000,
    "project": 200_100_000,
    "tag": 17_300_000,
    "time_entry": 4_100_000_000,
}


# A simulator run as a practice server (`togglsync simulator`) takes ids from the wall
# clock instead: ID_BASES plus this many ids per second since ID_EPOCH, so a run started
# later hands out larger ids than an earlier one did (Toggl's ids grow over time, and
# the client relies on it), as long as the earlier run made fewer records of a kind
# than this rate times the time between the two starts (500 seeded entries: half a second).
# The account itself (organization, workspaces, user) keeps its seeded ids: a run with the
# same --seed is the same account (the client refuses to mix two accounts in a database).
ID_RATES = {
    "client": 50,
    "project": 50,
    "tag": 50,
    "time_entry": 1000,
}
ID_EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()


def clock_id(kind: str, unix_seconds: float) -> int:
    """The smallest id a clock-driven simulator hands out for `kind` at this moment."""
    return ID_BASES[kind] + max(0, int((unix_seconds - ID_EPOCH) * ID_RATES[kind]))


def locked(method: F) -> F:
    """Run a SimState method under the state's lock."""

    @functools.wraps(method)
    def wrapper(self: Store, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class Store:
    def __init__(self, clock: SimClock | None = None):
        self._lock = threading.RLock()
        self.clock = clock or SimClock()
        self.organizations: dict[int, Organization] = {}
        self.workspaces: dict[int, Workspace] = {}
        self.users: dict[int, User] = {}
        self.memberships: list[Membership] = []
        self.clients: dict[int, Client] = {}
        self.projects: dict[int, Project] = {}
        self.tags: dict[int, Tag] = {}
        self.entries: dict[int, TimeEntry] = {}
        self.maton_keys: dict[str, MatonKey] = {}
        self.connections: dict[str, Connection] = {}
        self._next_ids = dict(ID_BASES)
        # Set (to time.time) by a practice server: ids follow the wall clock (see ID_RATES).
        self.id_clock: Callable[[], float] | None = None
        self._last_at: datetime | None = None
        self._running_by_user: dict[int, int] = {}
        # Bumped on every change; lets derived data (project totals, report rows) be cached.
        self.version = 0
        self._tracked_cache: tuple[int, dict[int, int]] | None = None
        self.report_cache: OrderedDict[tuple[Any, ...], list[list[TimeEntry]]] = OrderedDict()
        # The most rows a report page holds (None: reports.PAGE_SIZE_MAX); a test may change it.
        self.report_page_cap: int | None = None
        # Real Toggl is eventually consistent and may normalise text: a new entry can be
        # missing from reads for a while, and descriptions may come back trimmed and in
        # Unicode NFC. Both are off by default; tests switch them on.
        self.visibility_delay = timedelta(0)
        self.normalize_text = False

    @property
    def lock(self) -> threading.RLock:
        """Hold it to make several changes atomically (the lock is re-entrant)."""
        return self._lock

    # -- ids and stamps -------------------------------------------------

    def new_id(self, kind: str) -> int:
        value = self._next_ids[kind]
        if self.id_clock is not None and kind in ID_RATES:
            value = max(value, clock_id(kind, self.id_clock()))
        self._next_ids[kind] = value + 1
        return value

    def next_ids(self) -> dict[str, int]:
        """The next id of each kind (saved with the account: persist.py)."""
        return dict(self._next_ids)

    def last_at(self) -> datetime | None:
        return self._last_at

    def restore_ids(self, next_ids: dict[str, int], last_at: datetime | None) -> None:
        """Go on from a saved account: its next ids, and stamps after its last one."""
        for kind, value in next_ids.items():
            if kind in self._next_ids:
                self._next_ids[kind] = max(self._next_ids[kind], int(value))
        if last_at is not None:
            self.note_at(last_at)

    def reserve_id(self, kind: str, value: int) -> None:
        """Keep generated ids above an id chosen by the caller."""
        self._next_ids[kind] = max(self._next_ids[kind], value + 1)

    def stamp(self) -> datetime:
        """A fresh `at`: the clock, bumped by 1µs if needed so `at` order = change order."""
        now = self.clock.now()
        if self._last_at is not None and now <= self._last_at:
            now = self._last_at + ONE_MICROSECOND
        self._last_at = now
        self.version += 1
        return now

    def note_at(self, at: datetime) -> None:
        """Record an `at` set directly (seeding), so later stamps come after it."""
        if self._last_at is None or at > self._last_at:
            self._last_at = at
        self.version += 1

    def visible(self, entry: TimeEntry) -> bool:
        """Whether reads show this entry yet (see `visibility_delay`)."""
        return entry.visible_from is None or self.clock.now() >= entry.visible_from

    def normalized(self, text: str | None) -> str | None:
        """A description as this server stores it (see `normalize_text`)."""
        if text is None or not self.normalize_text:
            return text
        return unicodedata.normalize("NFC", text).strip()

    # -- lookups ----------------------------------------------------------

    def role_in(self, workspace_id: int, user_id: int) -> str | None:
        for member in self.memberships:
            if member.workspace_id == workspace_id and member.user_id == user_id:
                return member.role
        return None

    def workspace_ids_of(self, user_id: int) -> list[int]:
        return [m.workspace_id for m in self.memberships if m.user_id == user_id]

    def memberships_of_org(self, organization_id: int) -> Iterable[Membership]:
        return [
            m
            for m in self.memberships
            if self.workspaces[m.workspace_id].organization_id == organization_id
        ]

    def user_workspace(self, user_id: int, workspace_id: int) -> Workspace:
        """The workspace, if it exists and the user belongs to it (404 / 403 otherwise)."""
        workspace = self.workspaces.get(workspace_id)
        if workspace is None:
            raise SimError(404, "Workspace not found")
        if self.role_in(workspace_id, user_id) is None:
            raise SimError(403, "User does not have access to this resource.")
        return workspace

    def plan_of(self, workspace_id: int) -> str:
        return self.organizations[self.workspaces[workspace_id].organization_id].plan

    def tracked_seconds(self, project_id: int) -> int:
        """Total stopped time on a project (for `actual_seconds`), cached per state version."""
        if self._tracked_cache is None or self._tracked_cache[0] != self.version:
            totals: dict[int, int] = {}
            for entry in self.entries.values():
                if entry.project_id and not entry.deleted and not entry.running:
                    totals[entry.project_id] = totals.get(entry.project_id, 0) + entry.duration
            self._tracked_cache = (self.version, totals)
        return self._tracked_cache[1].get(project_id, 0)

    # -- the running-entry index ------------------------------------------

    def running_entry_of(self, user_id: int) -> TimeEntry | None:
        entry_id = self._running_by_user.get(user_id)
        return self.entries.get(entry_id) if entry_id is not None else None

    def reindex_running(self, entry: TimeEntry) -> None:
        if entry.running and not entry.deleted:
            self._running_by_user[entry.user_id] = entry.id
        elif self._running_by_user.get(entry.user_id) == entry.id:
            del self._running_by_user[entry.user_id]
