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
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update

from togglsync.db.models import (
    Client,
    Project,
    Tag,
    TimeEntry,
    TimeEntryTag,
    Workspace,
)
from togglsync import outbox, timer
from togglsync.timer import truncate, write_entry_tags
from togglsync.errors import UsageError
from togglsync.lookup import account
from togglsync.rows import refresh_tag_names
from togglsync.records import state_of

TABLES = {"time_entry": TimeEntry, "project": Project, "client": Client, "tag": Tag}
LABELS = {"time_entry": "time entry", "project": "project", "client": "client", "tag": "tag"}

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)




class LocalStore:
    """The offline editing API. Every method is one transaction."""

    def __init__(self, engine: Engine, *, clock: Clock = utcnow):
        self.engine = engine
        self.clock = clock

    # --- helpers ---------------------------------------------------------------------------

    def _row(self, conn: Connection, resource: str, record_id: int) -> dict[str, Any]:
        model = TABLES[resource]
        row = conn.execute(select(model.__table__).where(model.id == record_id)).mappings().first()
        if row is None:
            raise UsageError(f"no {LABELS[resource]} with id {record_id}")
        return dict(row)

    def _account(self, conn: Connection) -> dict[str, Any]:
        return account(conn)

    def _workspace(self, conn: Connection, workspace_id: int | None) -> int:
        return timer.default_workspace(conn, workspace_id)

    def _create(self, conn: Connection, resource: str, workspace_id: int, values: dict[str, Any]) -> dict[str, Any]:
        temp_id = outbox.queue_create(conn, resource, workspace_id, self.clock())
        conn.execute(insert(TABLES[resource]).values(id=temp_id, workspace_id=workspace_id, **values))
        return self._row(conn, resource, temp_id)

    def _update(self, conn: Connection, resource: str, record_id: int, values: dict[str, Any]) -> dict[str, Any]:
        before = self._row(conn, resource, record_id)
        base = state_of(resource, before)
        conn.execute(update(TABLES[resource]).where(TABLES[resource].id == record_id).values(**values))
        after = self._row(conn, resource, record_id)
        if state_of(resource, after) != base:
            outbox.note_edit(conn, resource, record_id, before["workspace_id"], base, self.clock())
        return after

    def _delete(self, conn: Connection, resource: str, record_id: int) -> None:
        row = self._row(conn, resource, record_id)
        outbox.note_delete(conn, resource, record_id, row["workspace_id"], state_of(resource, row), self.clock())
        self._detach_references(conn, resource, record_id)
        conn.execute(delete(TABLES[resource]).where(TABLES[resource].id == record_id))

    def _detach_references(self, conn: Connection, resource: str, record_id: int) -> None:
        """What Toggl does to records that point at a deleted one, done locally at once."""
        if resource == "project":
            for entry_id in conn.execute(select(TimeEntry.id).where(TimeEntry.project_id == record_id)).scalars().all():
                self._update(conn, "time_entry", entry_id, {"project_id": None})
        elif resource == "client":
            for project_id in conn.execute(select(Project.id).where(Project.client_id == record_id)).scalars().all():
                self._update(conn, "project", project_id, {"client_id": None})
        elif resource == "tag":
            entry_ids = conn.execute(
                select(TimeEntryTag.time_entry_id).where(TimeEntryTag.tag_id == record_id)
            ).scalars().all()
            for entry_id in entry_ids:
                row = self._row(conn, "time_entry", entry_id)
                self._set_entry_tags(conn, entry_id, [t for t in row["tag_ids"] if t != record_id], queue=True)

    # --- time entries ----------------------------------------------------------------------

    def _tag_names(self, conn: Connection, tag_ids: Iterable[int]) -> list[str]:
        return timer.tag_names(conn, tag_ids)

    def _set_entry_tags(self, conn: Connection, entry_id: int, tag_ids: list[int], *, queue: bool) -> None:
        values = {"tag_ids": sorted(set(tag_ids)), "tags": self._tag_names(conn, sorted(set(tag_ids)))}
        if queue:
            self._update(conn, "time_entry", entry_id, values)
        else:
            conn.execute(update(TimeEntry).where(TimeEntry.id == entry_id).values(**values))
        write_entry_tags(conn, entry_id, values["tag_ids"])

    def running_entry(self, conn: Connection | None = None) -> dict[str, Any] | None:
        if conn is not None:
            return timer.running_entry(conn)
        with self.engine.connect() as c:
            return timer.running_entry(c)

    def _check_refs(self, conn: Connection, workspace_id: int, project_id: int | None, tag_ids: Iterable[int]) -> None:
        timer.check_refs(conn, workspace_id, project_id, tag_ids)

    def start_timer(
        self,
        description: str | None = None,
        *,
        project_id: int | None = None,
        tag_ids: Iterable[int] = (),
        billable: bool = False,
        start: datetime | None = None,
        workspace_id: int | None = None,
    ) -> dict[str, Any]:
        """Start a timer; a running one is stopped at the new start time."""
        with self.engine.begin() as conn:
            return timer.start(
                conn, description, project_id=project_id, tag_ids=tag_ids, billable=billable,
                start=start or self.clock(), workspace_id=workspace_id, now=self.clock(),
            )

    def stop_timer(self, stop: datetime | None = None) -> dict[str, Any]:
        """Stop the running timer at `stop` (default now); the time recorded here is what Toggl gets."""
        with self.engine.begin() as conn:
            return timer.stop(conn, stop or self.clock(), now=self.clock())

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
    ) -> dict[str, Any]:
        """Add a finished entry (give `stop` or `duration`)."""
        start = truncate(start)
        if stop is None and duration is None:
            raise UsageError("give a stop time or a duration")
        if stop is None:
            stop = start + timedelta(seconds=int(duration or 0))
        stop = truncate(stop)
        if duration is not None and int((stop - start).total_seconds()) != int(duration):
            raise UsageError("stop time and duration disagree")
        if stop < start:
            raise UsageError("the stop time is before the start")
        tag_ids = sorted(set(tag_ids))
        with self.engine.begin() as conn:
            wid = self._workspace(conn, workspace_id)
            self._check_refs(conn, wid, project_id, tag_ids)
            entry = self._create(conn, "time_entry", wid, {
                "user_id": self._account(conn)["id"],
                "project_id": project_id,
                "description": description,
                "start": start,
                "stop": stop,
                "duration": int((stop - start).total_seconds()),
                "billable": billable,
                "tag_ids": tag_ids,
                "tags": self._tag_names(conn, tag_ids),
            })
            write_entry_tags(conn, entry["id"], tag_ids)
            return entry

    _UNSET: Any = object()

    def edit_entry(
        self,
        entry_id: int,
        *,
        description: Any = _UNSET,
        project_id: Any = _UNSET,
        tag_ids: Any = _UNSET,
        start: Any = _UNSET,
        stop: Any = _UNSET,
        billable: Any = _UNSET,
    ) -> dict[str, Any]:
        with self.engine.begin() as conn:
            row = self._row(conn, "time_entry", entry_id)
            values: dict[str, Any] = {}
            if description is not self._UNSET:
                values["description"] = description
            if billable is not self._UNSET:
                values["billable"] = bool(billable)
            if project_id is not self._UNSET:
                self._check_refs(conn, row["workspace_id"], project_id, ())
                values["project_id"] = project_id
            new_start = truncate(start) if start not in (self._UNSET, None) else row["start"]
            running = row["duration"] < 0
            if stop is not self._UNSET and stop is not None:
                new_stop = truncate(stop)
            else:
                new_stop = row["stop"]
            if start is not self._UNSET or stop is not self._UNSET:
                if new_stop is not None and new_stop < new_start:
                    raise UsageError("the stop time is before the start")
                values["start"] = new_start
                if new_stop is not None:
                    values["stop"] = new_stop
                    values["duration"] = int((new_stop - new_start).total_seconds())
                elif not running:
                    values["stop"] = new_start + timedelta(seconds=row["duration"])
            if values:
                row = self._update(conn, "time_entry", entry_id, values)
            if tag_ids is not self._UNSET:
                tag_ids = sorted(set(tag_ids or ()))
                self._check_refs(conn, row["workspace_id"], None, tag_ids)
                self._set_entry_tags(conn, entry_id, tag_ids, queue=True)
            return self._row(conn, "time_entry", entry_id)

    def delete_entry(self, entry_id: int) -> None:
        with self.engine.begin() as conn:
            self._delete(conn, "time_entry", entry_id)

    def continue_entry(self, entry_id: int, *, start: datetime | None = None) -> dict[str, Any]:
        """Start a timer like an earlier entry: its workspace, description, project, tags and billable.

        A running entry cannot be continued (it has not stopped); a running
        timer other than it is stopped at the new start, as with start_timer.
        """
        with self.engine.begin() as conn:
            row = self._row(conn, "time_entry", entry_id)
            if row["duration"] < 0:
                raise UsageError("that entry is still running")
            return timer.start(
                conn,
                row["description"],
                project_id=row["project_id"],
                tag_ids=row["tag_ids"] or (),
                billable=bool(row["billable"]),
                start=start or self.clock(),
                workspace_id=row["workspace_id"],
                now=self.clock(),
            )

    @contextmanager
    def batch(self) -> Iterator[LocalStore]:
        """Several edits as one transaction: all are kept, or none.

        Yields a LocalStore whose methods all join this transaction (each in a
        savepoint of its own); an exception leaving the block rolls every edit
        back, e.g. `start --create` never leaves a new project without its timer.
        """
        with self.engine.begin() as conn:
            yield LocalStore(_InTransaction(conn), clock=self.clock)  # type: ignore[arg-type]

    # --- catalog -----------------------------------------------------------------------------

    def _unique_name(self, conn: Connection, resource: str, workspace_id: int, name: str, exclude: int | None = None) -> str:
        name = (name or "").strip()
        if not name:
            raise UsageError(f"{LABELS[resource]} name can't be blank")
        model = TABLES[resource]
        # Compared in Python: SQLite's lower() folds ASCII only ("SOCIÉTÉ" != "société").
        others = conn.execute(select(model.id, model.name).where(model.workspace_id == workspace_id)).all()
        if any(other.name.casefold() == name.casefold() and other.id != exclude for other in others):
            raise UsageError(f"a {LABELS[resource]} named {name!r} already exists in this workspace")
        return name

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
    ) -> dict[str, Any]:
        with self.engine.begin() as conn:
            wid = self._workspace(conn, workspace_id)
            name = self._unique_name(conn, "project", wid, name)
            if client_id is not None:
                self._row(conn, "client", client_id)
            return self._create(conn, "project", wid, {
                "name": name, "client_id": client_id, "color": color,
                "billable": billable, "is_private": is_private, "active": active,
            })

    def edit_project(self, project_id: int, **values: Any) -> dict[str, Any]:
        allowed = {"name", "client_id", "color", "billable", "is_private", "active"}
        self._reject_unknown(values, allowed)
        with self.engine.begin() as conn:
            row = self._row(conn, "project", project_id)
            if "name" in values:
                values["name"] = self._unique_name(conn, "project", row["workspace_id"], values["name"], project_id)
            if values.get("client_id") is not None:
                self._row(conn, "client", values["client_id"])
            return self._update(conn, "project", project_id, values)

    def delete_project(self, project_id: int) -> None:
        with self.engine.begin() as conn:
            self._delete(conn, "project", project_id)

    def create_client(self, name: str, *, notes: str | None = None, workspace_id: int | None = None) -> dict[str, Any]:
        with self.engine.begin() as conn:
            wid = self._workspace(conn, workspace_id)
            name = self._unique_name(conn, "client", wid, name)
            return self._create(conn, "client", wid, {"name": name, "notes": notes})

    def edit_client(self, client_id: int, **values: Any) -> dict[str, Any]:
        self._reject_unknown(values, {"name", "notes"})
        with self.engine.begin() as conn:
            row = self._row(conn, "client", client_id)
            if "name" in values:
                values["name"] = self._unique_name(conn, "client", row["workspace_id"], values["name"], client_id)
            return self._update(conn, "client", client_id, values)

    def delete_client(self, client_id: int) -> None:
        with self.engine.begin() as conn:
            self._delete(conn, "client", client_id)

    def archive_client(self, client_id: int) -> dict[str, Any]:
        """Archive a client (Toggl allows it on paid plans only).

        Queued as an update of `archived`; the push must send it as
        POST .../clients/{id}/archive (a plain PUT cannot archive).
        """
        with self.engine.begin() as conn:
            row = self._row(conn, "client", client_id)
            premium = conn.execute(select(Workspace.premium).where(Workspace.id == row["workspace_id"])).scalar()
            if premium is not None and not premium:
                raise UsageError("archiving clients needs a paid Toggl plan: this workspace is on the free plan")
            return self._update(conn, "client", client_id, {"archived": True})

    def restore_client(self, client_id: int) -> dict[str, Any]:
        """Un-archive a client (its projects stay as they are).

        Queued as an update of `archived`; the push must send it as
        POST .../clients/{id}/restore.
        """
        with self.engine.begin() as conn:
            self._row(conn, "client", client_id)
            return self._update(conn, "client", client_id, {"archived": False})

    def create_tag(self, name: str, *, workspace_id: int | None = None) -> dict[str, Any]:
        with self.engine.begin() as conn:
            wid = self._workspace(conn, workspace_id)
            name = self._unique_name(conn, "tag", wid, name)
            return self._create(conn, "tag", wid, {"name": name})

    def edit_tag(self, tag_id: int, *, name: str) -> dict[str, Any]:
        with self.engine.begin() as conn:
            row = self._row(conn, "tag", tag_id)
            name = self._unique_name(conn, "tag", row["workspace_id"], name, tag_id)
            tag = self._update(conn, "tag", tag_id, {"name": name})
            # Entries show tag names too; keep them readable (not an edit of the entries).
            refresh_tag_names(conn, {tag_id})
            return tag

    def delete_tag(self, tag_id: int) -> None:
        with self.engine.begin() as conn:
            self._delete(conn, "tag", tag_id)

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
