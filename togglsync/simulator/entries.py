"""Time entry rules: windows and cursors for reads; running, stopping, timing and tags for writes."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from . import shapes
from . import timefmt as tf
from . import validate as check
from .model import SimError, TimeEntry
from .store import Store, locked

RECENT_WINDOW_DAYS = 10  # no-parameter reads: entries starting on/after UTC midnight 10 days ago
MAX_AGE_DAYS = 90  # how far back `since` and `start_date` may reach
BULK_LIMIT = 100
NOT_FOUND = "Time entry not found"
_UNSET: Any = object()

# JSON-Patch path -> the body field it edits (the bulk edit reuses the PUT rules).
PATCH_FIELDS = {
    "/description": "description",
    "/project_id": "project_id",
    "/billable": "billable",
    "/start": "start",
    "/stop": "stop",
    "/duration": "duration",
    "/tag_ids": "tag_ids",
    "/tags": "tags",
    "/task_id": "task_id",
}


class TimeEntryRules(Store):
    if TYPE_CHECKING:
        # Provided by TagRules, a sibling mixin of SimState.
        def _tag_ids_for_names(
            self, workspace_id: int, names: list[str], *, user_id: int, create: bool
        ) -> list[int]: ...
        def _check_tag_ids(self, workspace_id: int, tag_ids: list[int]) -> list[int]: ...

    # -- reads ----------------------------------------------------------

    @locked
    def list_time_entries(
        self,
        user_id: int,
        *,
        since: Any = None,
        before: Any = None,
        start_date: Any = None,
        end_date: Any = None,
        meta: bool = False,
    ) -> list[dict[str, Any]]:
        """GET /me/time_entries, newest start first.

        since: changed at/after (deleted included); before: starting before;
        start_date/end_date: starting in [start, end) (deleted excluded);
        nothing: the recent window.
        """
        now = self.clock.now()
        if since is not None and before is not None:
            raise check.bad("'since' and 'before' can not be present simultaneously")
        if (start_date is None) != (end_date is None):
            raise check.bad("'start_date' and 'end_date' must be given together")
        if start_date is not None and (since is not None or before is not None):
            raise check.bad("'start_date' and 'end_date' can not be combined with 'since' or 'before'")

        # Entries in a workspace the user no longer belongs to are not listed (not even as deleted).
        member_of = set(self.workspace_ids_of(user_id))
        mine = [
            e for e in self.entries.values() if e.user_id == user_id and e.workspace_id in member_of and self.visible(e)
        ]
        if since is not None:
            cutoff = check.since(since, now=now, max_age_days=MAX_AGE_DAYS)
            found = [e for e in mine if e.at >= cutoff]
        elif before is not None:
            limit = check.date_or_instant(before, "before")
            found = [e for e in mine if not e.deleted and e.start < limit]
        elif start_date is not None:
            low = check.date_or_instant(start_date, "start_date")
            high = check.date_or_instant(end_date, "end_date")
            if low <= now - timedelta(days=MAX_AGE_DAYS):
                raise check.bad(f"'start_date' must not be earlier than {MAX_AGE_DAYS} days ago")
            if high < low:
                raise check.bad("'end_date' must not be earlier than 'start_date'")
            found = [e for e in mine if not e.deleted and low <= e.start < high]
        else:
            window_start = self.recent_window_start()
            found = [e for e in mine if not e.deleted and e.start >= window_start]
        found.sort(key=lambda e: (e.start, e.id), reverse=True)
        return [shapes.time_entry(self, e, meta=meta) for e in found]

    def recent_window_start(self) -> datetime:
        return tf.utc_midnight(self.clock.now()) - timedelta(days=RECENT_WINDOW_DAYS)

    @locked
    def current_time_entry(self, user_id: int) -> dict[str, Any] | None:
        entry = self.running_entry_of(user_id)
        return shapes.time_entry(self, entry) if entry else None

    @locked
    def get_time_entry(self, user_id: int, entry_id: int, *, meta: bool = False) -> dict[str, Any]:
        entry = self.entries.get(entry_id)
        if entry is None or entry.user_id != user_id or entry.deleted or not self.visible(entry):
            raise SimError(404, NOT_FOUND)
        if entry.workspace_id not in self.workspace_ids_of(user_id):
            raise SimError(404, NOT_FOUND)
        return shapes.time_entry(self, entry, meta=meta)

    @locked
    def all_time_entries(self, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Every entry of every user, read-shaped, by id: for tests comparing a cache with the server."""
        return [
            shapes.time_entry(self, e)
            for e in sorted(self.entries.values(), key=lambda e: e.id)
            if include_deleted or not e.deleted
        ]

    # -- writes ---------------------------------------------------------

    @locked
    def create_time_entry(self, user_id: int, workspace_id: int, body: Any, *, meta: bool = False) -> dict[str, Any]:
        """POST /workspaces/{wid}/time_entries. Returns the write-shaped entry."""
        self.user_workspace(user_id, workspace_id)
        fields = check.body_object(body)
        created_with = fields.get("created_with")
        if not isinstance(created_with, str) or not created_with.strip():
            raise check.bad("created_with needs to be provided a valid value")
        body_workspace = fields.get("workspace_id", fields.get("wid"))
        if body_workspace is None:
            raise check.bad("workspace_id needs to be provided a valid value")
        if check.integer(body_workspace, "workspace_id") != workspace_id:
            raise check.bad("workspace_id in the body does not match the workspace in the path")
        if fields.get("start") is None:
            raise check.bad("start needs to be provided a valid value")

        start = tf.whole_seconds(check.instant(fields["start"], "start"))
        draft = TimeEntry(
            id=0,
            workspace_id=workspace_id,
            user_id=user_id,
            start=start,
            stop=start,
            duration=0,
            at=start,
            created_with=created_with,
        )
        stop = fields["stop"] if fields.get("stop") is not None else _UNSET
        zero_length = stop is _UNSET and not fields.get("duration")
        self._retime(draft, start=start, stop=stop, duration=fields.get("duration", _UNSET))
        self._apply_attributes(draft, fields, user_id=user_id)
        if "duronly" in fields and fields["duronly"] is not None:
            draft.duronly = check.boolean(fields["duronly"], "duronly")
        if draft.running:
            self._stop_running_of(user_id)
        draft.id = self.new_id("time_entry")
        draft.at = self.stamp()
        if self.visibility_delay:
            draft.visible_from = draft.at + self.visibility_delay
        self.entries[draft.id] = draft
        self.reindex_running(draft)
        reply = shapes.time_entry(self, draft, style="write", meta=meta)
        if zero_length:
            # Toggl answers a create without duration or stop with `stop: null,
            # duration: 0`; later reads show stop == start.
            reply["stop"] = None
        return reply

    @locked
    def update_time_entry(
        self, user_id: int, workspace_id: int, entry_id: int, body: Any, *, meta: bool = False
    ) -> dict[str, Any]:
        """PUT: only the fields given change; `tag_action` makes tag changes incremental."""
        entry = self._user_entry(user_id, workspace_id, entry_id)
        draft = _copy(entry)
        self._apply_changes(draft, check.body_object(body), user_id=user_id)
        self._commit(draft)
        return shapes.time_entry(self, draft, style="write", meta=meta)

    @locked
    def stop_time_entry(self, user_id: int, workspace_id: int, entry_id: int) -> dict[str, Any]:
        entry = self._user_entry(user_id, workspace_id, entry_id)
        if not entry.running:
            raise SimError(409, "Time entry already stopped")
        self._stop_at_now(entry)
        return shapes.time_entry(self, entry, style="write")

    @locked
    def delete_time_entry(self, user_id: int, workspace_id: int, entry_id: int) -> None:
        entry = self._user_entry(user_id, workspace_id, entry_id)
        entry.at = self.stamp()
        entry.server_deleted_at = entry.at
        self.reindex_running(entry)

    @locked
    def bulk_patch_time_entries(self, user_id: int, workspace_id: int, ids: str | list[int], ops: Any) -> dict[str, Any]:
        """PATCH /workspaces/{wid}/time_entries/{ids}: each entry all-or-nothing, no rollback across entries."""
        self.user_workspace(user_id, workspace_id)
        entry_ids = check.id_list(ids, limit=BULK_LIMIT, what="time entry") if isinstance(ids, str) else list(ids)
        if len(entry_ids) > BULK_LIMIT:
            raise check.bad(f"Too many time entry ids: at most {BULK_LIMIT} per request")
        check.patch_operations(ops, set(PATCH_FIELDS))
        success, failure = [], []
        for entry_id in entry_ids:
            try:
                draft = _copy(self._user_entry(user_id, workspace_id, entry_id))
                for changes in _patch_as_change_sets(ops):
                    self._apply_changes(draft, changes, user_id=user_id)
            except SimError as error:
                failure.append({"id": entry_id, "message": error.message})
                continue
            self._commit(draft)
            success.append(entry_id)
        return {"success": success, "failure": failure}

    # -- back door: seeding ------------------------------------------------

    @locked
    def insert_time_entry(self, entry: TimeEntry) -> TimeEntry:
        """Store a ready-made entry as-is (the seeder's fast path: no rules)."""
        self.entries[entry.id] = entry
        self.reserve_id("time_entry", entry.id)
        self.note_at(entry.at)
        self.reindex_running(entry)
        return entry

    # -- helpers --------------------------------------------------------

    def _user_entry(self, user_id: int, workspace_id: int, entry_id: int) -> TimeEntry:
        self.user_workspace(user_id, workspace_id)
        entry = self.entries.get(entry_id)
        if entry is None or entry.user_id != user_id or entry.workspace_id != workspace_id or entry.deleted:
            raise SimError(404, NOT_FOUND)
        return entry

    def _commit(self, draft: TimeEntry) -> None:
        if draft.running:
            current = self.running_entry_of(draft.user_id)
            if current is not None and current.id != draft.id:
                self._stop_at_now(current)
        draft.at = self.stamp()
        self.entries[draft.id] = draft
        self.reindex_running(draft)

    def _stop_running_of(self, user_id: int) -> None:
        """Only one entry runs per user: the current one stops at the server's now."""
        current = self.running_entry_of(user_id)
        if current is not None:
            self._stop_at_now(current)

    def _stop_at_now(self, entry: TimeEntry) -> None:
        stop = max(tf.whole_seconds(self.clock.now()), entry.start)
        entry.stop = stop
        entry.duration = int((stop - entry.start).total_seconds())
        entry.at = self.stamp()
        self.reindex_running(entry)

    def _apply_changes(self, draft: TimeEntry, fields: dict[str, Any], *, user_id: int) -> None:
        """The PUT rules, on a copy: timing first, then the other attributes."""
        if "workspace_id" in fields and fields["workspace_id"] is not None:
            if check.integer(fields["workspace_id"], "workspace_id") != draft.workspace_id:
                raise check.bad("Moving a time entry to another workspace is not supported")
        start = _UNSET
        if "start" in fields and fields["start"] is not None:
            start = tf.whole_seconds(check.instant(fields["start"], "start"))
        self._retime(draft, start=start, stop=fields.get("stop", _UNSET), duration=fields.get("duration", _UNSET))
        self._apply_attributes(draft, fields, user_id=user_id)

    def _retime(self, draft: TimeEntry, *, start: Any, stop: Any, duration: Any) -> None:
        """Set start/stop/duration consistently.

        A negative duration makes the entry run; a duration and a stop must
        agree; either one alone sets the other; a new start alone keeps the
        stop (the duration follows).
        """
        new_start = draft.start if start is _UNSET else start
        seconds = None if duration is _UNSET or duration is None else check.integer(duration, "duration")
        new_stop = _UNSET
        if stop is not _UNSET:
            new_stop = None if stop is None else tf.whole_seconds(check.instant(stop, "stop"))

        if seconds is not None and seconds < 0:
            if new_stop not in (_UNSET, None):
                raise check.bad("A running time entry (negative duration) can not have a stop time")
            draft.start, draft.stop, draft.duration = new_start, None, -1
            return
        if seconds is not None:
            if new_stop not in (_UNSET, None):
                if abs((new_stop - new_start).total_seconds() - seconds) > 1:
                    raise check.bad("duration and stop do not match")
            else:
                new_stop = new_start + timedelta(seconds=seconds)
        elif new_stop is _UNSET:
            if start is _UNSET or draft.running:
                draft.start = new_start
                return
            new_stop = draft.stop  # a new start alone keeps the stop
        elif new_stop is None:
            draft.start, draft.stop, draft.duration = new_start, None, -1
            return
        if new_stop < new_start:
            raise check.bad("The stop time must not be earlier than the start time")
        draft.start, draft.stop = new_start, new_stop
        draft.duration = int((new_stop - new_start).total_seconds())

    def _apply_attributes(self, draft: TimeEntry, fields: dict[str, Any], *, user_id: int) -> None:
        workspace_id = draft.workspace_id
        if "description" in fields:
            draft.description = self.normalized(check.optional_text(fields["description"], "description"))
        if "billable" in fields and fields["billable"] is not None:
            draft.billable = check.boolean(fields["billable"], "billable")
        project_key = "project_id" if "project_id" in fields else "pid" if "pid" in fields else None
        if project_key is not None:
            project_id = check.optional_integer(fields[project_key], project_key)
            if project_id is not None:
                project = self.projects.get(project_id)
                if project is None or project.workspace_id != workspace_id or project.server_deleted_at is not None:
                    raise check.bad(f"Invalid project_id: project {project_id} not found in workspace {workspace_id}")
            draft.project_id = project_id
        task_key = "task_id" if "task_id" in fields else "tid" if "tid" in fields else None
        if task_key is not None:
            task_id = check.optional_integer(fields[task_key], task_key)
            if task_id is not None:
                raise check.bad(f"Invalid task_id: task {task_id} not found")  # the simulator has no tasks
            draft.task_id = None
        self._apply_tags(draft, fields, user_id=user_id)

    def _apply_tags(self, draft: TimeEntry, fields: dict[str, Any], *, user_id: int) -> None:
        has_names, has_ids = fields.get("tags") is not None, fields.get("tag_ids") is not None
        action = fields.get("tag_action")
        if action not in (None, "add", "delete"):
            raise check.bad("tag_action must be 'add' or 'delete'")
        if not has_names and not has_ids:
            # `"tags": null` alone (no tag_action) clears them, like an empty list.
            if action is None and ("tags" in fields or "tag_ids" in fields):
                draft.tag_ids = []
            return
        ids = self._check_tag_ids(draft.workspace_id, check.integer_list(fields.get("tag_ids"), "tag_ids"))
        names = check.text_list(fields.get("tags"), "tags")
        named = self._tag_ids_for_names(draft.workspace_id, names, user_id=user_id, create=action != "delete")
        given = list(dict.fromkeys(ids + named))
        if action == "add":
            draft.tag_ids = list(dict.fromkeys(draft.tag_ids + given))
        elif action == "delete":
            draft.tag_ids = [t for t in draft.tag_ids if t not in given]
        else:
            draft.tag_ids = given


def _copy(entry: TimeEntry) -> TimeEntry:
    return dataclasses.replace(entry, tag_ids=list(entry.tag_ids))


def _patch_as_change_sets(ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A JSON-Patch array -> PUT-style change sets, applied in turn.

    The fields' operations make one change set, as one PUT with all of them
    would (a new start and stop together may move an entry past its old stop);
    each tag operation then adds, removes or replaces tags in the order given.
    """
    fields: dict[str, Any] = {}
    tags: list[dict[str, Any]] = []
    for op in ops:
        changes = _patch_as_changes(op)
        if "tags" in changes or "tag_ids" in changes:
            tags.append(changes)
        else:
            fields.update(changes)
    return ([fields] if fields else []) + tags


def _patch_as_changes(op: dict[str, Any]) -> dict[str, Any]:
    """One JSON-Patch operation -> PUT-style fields."""
    field = PATCH_FIELDS[op["path"]]
    value = op.get("value")
    if field in ("tags", "tag_ids"):
        if op["op"] == "add":
            return {field: value, "tag_action": "add"}
        if op["op"] == "remove":
            return {field: value, "tag_action": "delete"} if value is not None else {field: []}
        return {field: value if value is not None else []}
    if op["op"] == "remove":
        if field in ("description", "project_id", "task_id"):
            return {field: None}
        raise check.bad(f"Can not remove {op['path']}")
    return {field: value}
