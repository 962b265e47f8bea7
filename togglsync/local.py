"""Offline edits: each one writes the row and queues its pending operation in one transaction.

Nothing here touches the network. Records created offline get a negative
temporary id (minus the id of their create operation, so ids never collide)
and are fully usable at once; the push replaces the id when Toggl assigns one.

Coalescing follows from computing payloads at push time: while a create or an
update is still queued, later edits only change the row. An operation that is
in flight is never touched: a later edit queues a new operation behind it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone, tzinfo
from typing import Any

from sqlalchemy import Connection, Engine

from togglsync import lookup, records, rows, timer
from togglsync.errors import UsageError
from togglsync.records import Kind, Row
from togglsync.timer import truncate

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class LocalStore:
    """The offline editing API. Every method is one transaction."""

    def __init__(self, engine: Engine, *, clock: Clock = utcnow, account: str | None = None):
        self.engine = engine
        self.clock = clock
        # The account new records and timers are for (`--account`; None: the default,
        # `lookup.account`). Edits of existing records go to their own account.
        self.account = account

    # --- helpers ---------------------------------------------------------------------------

    def _workspace(self, conn: Connection, workspace_id: int | None) -> int:
        return timer.default_workspace(conn, workspace_id, self.account)

    def _named(self, conn: Connection, kind: Kind, workspace_id: int, name: str | None, exclude: int | None = None) -> str:
        """A valid name, not taken in the workspace (ignoring case)."""
        clean = records.clean_name(kind, name)
        lookup.require_free_name(conn, kind, workspace_id, clean, exclude=exclude)
        return clean

    # --- time entries ----------------------------------------------------------------------

    def running_entry(self, conn: Connection | None = None) -> dict[str, Any] | None:
        if conn is not None:
            return timer.running_entry(conn, self.account)
        with self.engine.connect() as c:
            return timer.running_entry(c, self.account)

    def start_timer(
        self,
        description: str | None = None,
        *,
        project_id: int | None = None,
        tag_ids: Iterable[int] = (),
        billable: bool = False,
        start: datetime | None = None,
        workspace_id: int | None = None,
        tz: tzinfo | None = None,
    ) -> dict[str, Any]:
        """Start a timer (no later than now); a running one is stopped at the new start time.

        `tz`: the zone in which error messages show times (default UTC).
        """
        now = self.clock()
        with self.engine.begin() as conn:
            return timer.start(
                conn, description, project_id=project_id, tag_ids=tag_ids, billable=billable,
                start=start or now, workspace_id=workspace_id, now=now, tz=tz, account_name=self.account,
            )

    def stop_timer(self, stop: datetime | None = None, *, tz: tzinfo | None = None) -> dict[str, Any]:
        """Stop the running timer at `stop` (default now; not later); the time recorded here is what Toggl gets."""
        now = self.clock()
        with self.engine.begin() as conn:
            return timer.stop(conn, stop or now, now=now, tz=tz, account_name=self.account)

    def add_entry(
        self,
        description: str | None,
        *,
        start: datetime,
        stop: datetime | None = None,
        duration: int | None = None,
        project_id: int | None = None,
        tag_ids: Iterable[int] = (),
        billable: bool = False,
        workspace_id: int | None = None,
        tz: tzinfo | None = None,
        allow_long: bool = False,
    ) -> dict[str, Any]:
        """Add a finished entry: give `stop` or `duration` (seconds), or both if they agree.
        More than 24 hours is refused unless `allow_long`."""
        start = truncate(start)
        stop = truncate(timer.span(start, truncate(stop) if stop is not None else None, duration, tz=tz,
                                   allow_long=allow_long))
        tag_ids = sorted(set(tag_ids))
        description = records.clean_description(description)
        with self.engine.begin() as conn:
            wid = self._workspace(conn, workspace_id)
            timer.check_refs(conn, wid, project_id, tag_ids)
            return rows.create(conn, Kind.TIME_ENTRY, wid, {
                "user_id": lookup.account(conn, self.account)["id"],
                "project_id": project_id,
                "description": description,
                "start": start,
                "stop": stop,
                "duration": int((stop - start).total_seconds()),
                "billable": billable,
                "tag_ids": tag_ids,
            }, self.clock(), account=self.account)

    _UNSET: Any = object()

    def edit_entry(
        self,
        entry_id: int,
        *,
        description: Any = _UNSET,
        project_id: Any = _UNSET,
        tag_ids: Any = _UNSET,
        add_tag_ids: Iterable[int] = (),
        remove_tag_ids: Iterable[int] = (),
        start: datetime | None = None,
        stop: datetime | None = None,
        duration: int | None = None,
        billable: Any = _UNSET,
        tz: tzinfo | None = None,
        allow_long: bool = False,
    ) -> dict[str, Any]:
        """Change an entry; what is not given stays as it is.

        Tags: `tag_ids` replaces them (else the current ones are kept), then
        `add_tag_ids` are added and `remove_tag_ids` removed. Times: a new
        `start` keeps the stop where it is; `stop` or `duration` (seconds) ends
        the entry, stopping it when running (see `timer.edited_times`); new times
        that make it last more than 24 hours are refused unless `allow_long`.
        `tz`: the zone in which error messages show times (default UTC).
        """
        now = self.clock()
        add, remove = list(add_tag_ids), list(remove_tag_ids)
        with self.engine.begin() as conn:
            row = rows.require(conn, Kind.TIME_ENTRY, entry_id)
            values: dict[str, Any] = {}
            if description is not self._UNSET:
                values["description"] = records.clean_description(description)
            if billable is not self._UNSET:
                values["billable"] = bool(billable)
            if project_id is not self._UNSET:
                timer.check_refs(conn, row["workspace_id"], project_id, ())
                values["project_id"] = project_id
            values.update(timer.edited_times(
                row, start=start, stop=stop, duration=duration, now=now, tz=tz, allow_long=allow_long
            ))
            if tag_ids is not self._UNSET or add or remove:
                replace = None if tag_ids is self._UNSET else (tag_ids or ())
                values["tag_ids"] = records.edited_tags(row["tag_ids"] or (), replace=replace, add=add, remove=remove)
                timer.check_refs(conn, row["workspace_id"], None, values["tag_ids"])
            return rows.update(conn, Kind.TIME_ENTRY, entry_id, values, now)

    def delete_entry(self, entry_id: int) -> None:
        with self.engine.begin() as conn:
            rows.delete(conn, Kind.TIME_ENTRY, entry_id, self.clock())

    def continue_entry(
        self, entry_id: int | None = None, *, start: datetime | None = None, tz: tzinfo | None = None
    ) -> dict[str, Any]:
        """Start a timer like an earlier entry (default: the most recent stopped one): its
        workspace, description, project, tags and billable.

        A running entry cannot be continued (it has not stopped); a running
        timer other than it is stopped at the new start, as with start_timer.
        """
        now = self.clock()
        with self.engine.begin() as conn:
            if entry_id is None:
                entry_id = timer.latest_stopped(conn)
                if entry_id is None:
                    raise UsageError("there is no stopped entry to continue")
            row = rows.require(conn, Kind.TIME_ENTRY, entry_id)
            if row["duration"] < 0:
                raise UsageError(
                    f"entry {records.format_id(entry_id)} ({row['description'] or 'no description'}) "
                    "is the running timer: there is nothing to continue"
                )
            return timer.start(
                conn,
                row["description"],
                project_id=row["project_id"],
                tag_ids=row["tag_ids"] or (),
                billable=bool(row["billable"]),
                start=start or now,
                workspace_id=row["workspace_id"],
                now=now,
                tz=tz,
                account_name=self.account,
            )

    @contextmanager
    def batch(self) -> Iterator[LocalStore]:
        """Several edits as one transaction: all are kept, or none.

        Yields a LocalStore whose methods all join this transaction (each in a
        savepoint of its own); an exception leaving the block rolls every edit
        back, e.g. `start --create` never leaves a new project without its timer.
        Every edit of the batch is stamped with the same moment: one change.
        """
        # One moment for the whole batch: its edits are one change (`togglsync undo` reverses them together).
        moment = self.clock()
        with self.engine.begin() as conn:
            yield LocalStore(_InTransaction(conn), clock=lambda: moment, account=self.account)  # type: ignore[arg-type]

    # --- catalog -----------------------------------------------------------------------------

    def create_project(
        self,
        name: str,
        *,
        client_id: int | None = None,
        color: str | None = None,
        billable: bool = False,
        is_private: bool = True,
        active: bool = True,
        workspace_id: int | None = None,
    ) -> Row:
        color = records.clean_color(color)
        with self.engine.begin() as conn:
            wid = self._workspace(conn, workspace_id)
            name = self._named(conn, Kind.PROJECT, wid, name)
            if client_id is not None:
                rows.check_references(conn, Kind.PROJECT, wid, {"client_id": client_id})
            return rows.create(conn, Kind.PROJECT, wid, {
                "name": name, "client_id": client_id, "color": color,
                "billable": billable, "is_private": is_private, "active": active,
            }, self.clock(), account=self.account)

    def edit_project(self, project_id: int, **values: Any) -> Row:
        return self._edit(Kind.PROJECT, project_id, values)

    def delete_project(self, project_id: int) -> None:
        self._delete(Kind.PROJECT, project_id)

    def create_client(self, name: str, *, notes: str | None = None, workspace_id: int | None = None) -> Row:
        with self.engine.begin() as conn:
            wid = self._workspace(conn, workspace_id)
            name = self._named(conn, Kind.CLIENT, wid, name)
            return rows.create(conn, Kind.CLIENT, wid, {"name": name, "notes": notes}, self.clock(), account=self.account)

    def edit_client(self, client_id: int, **values: Any) -> Row:
        self._reject_unknown(values, {"name", "notes"})
        return self._edit(Kind.CLIENT, client_id, values)

    def delete_client(self, client_id: int) -> None:
        self._delete(Kind.CLIENT, client_id)

    def archive_client(self, client_id: int) -> Row:
        """Archive a client (Toggl allows it on paid plans only).

        Queued as an update of `archived`; the push sends it as Toggl's own
        archive request (a plain PUT cannot archive).
        """
        with self.engine.begin() as conn:
            row = rows.require(conn, Kind.CLIENT, client_id)
            workspace = rows.get(conn, Kind.WORKSPACE, row["workspace_id"])
            if workspace is not None and not workspace["premium"]:
                raise UsageError("archiving clients needs a paid Toggl plan: this workspace is on the free plan")
            return rows.update(conn, Kind.CLIENT, client_id, {"archived": True}, self.clock(), account=self.account)

    def restore_client(self, client_id: int) -> Row:
        """Un-archive a client (its projects stay as they are); pushed as Toggl's restore request."""
        return self._edit(Kind.CLIENT, client_id, {"archived": False})

    def create_tag(self, name: str, *, workspace_id: int | None = None) -> Row:
        with self.engine.begin() as conn:
            wid = self._workspace(conn, workspace_id)
            name = self._named(conn, Kind.TAG, wid, name)
            return rows.create(conn, Kind.TAG, wid, {"name": name}, self.clock(), account=self.account)

    def edit_tag(self, tag_id: int, *, name: str) -> Row:
        return self._edit(Kind.TAG, tag_id, {"name": name})

    def delete_tag(self, tag_id: int) -> None:
        self._delete(Kind.TAG, tag_id)

    # --- any kind ------------------------------------------------------------------------------

    def _edit(self, kind: Kind, record_id: int, values: dict[str, Any]) -> Row:
        """Change editable fields of a catalog record, checked as its kind requires."""
        self._reject_unknown(values, set(records.spec(kind).editable))
        with self.engine.begin() as conn:
            row = rows.require(conn, kind, record_id)
            if "name" in values:
                values["name"] = self._named(conn, kind, row["workspace_id"], values["name"], exclude=record_id)
            if "color" in values:
                values["color"] = records.clean_color(values["color"])
            rows.check_references(conn, kind, row["workspace_id"], values)
            return rows.update(conn, kind, record_id, values, self.clock(), account=self.account)

    def _delete(self, kind: Kind, record_id: int) -> None:
        with self.engine.begin() as conn:
            rows.delete(conn, kind, record_id, self.clock(), account=self.account)

    @staticmethod
    def _reject_unknown(values: dict[str, Any], allowed: set[str]) -> None:
        unknown = set(values) - allowed
        if unknown:
            raise UsageError(f"cannot edit {', '.join(sorted(unknown))}")


class _InTransaction:
    """Stands in for the Engine of a LocalStore.batch(): `begin()` is a savepoint of the batch's
    transaction and `connect()` is its connection, so every method joins the one transaction."""

    def __init__(self, conn: Connection):
        self._conn = conn

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self._conn.begin_nested():
            yield self._conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        yield self._conn
