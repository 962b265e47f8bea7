"""Reports API v3 detailed search (rows of entries, paged through X-Next-* headers) and its CSV export.

Paging: `page_size` defaults to 50, Toggl's documented default. A larger
`page_size` is accepted without an error and answered with at most
`PAGE_SIZE_MAX` (50) rows, the X-Next-* headers naming the next row: Toggl
documents no maximum, clients in the wild cap at 50, and a client must follow
the headers whatever page size it gets (`Store.report_page_cap` changes the
cap for a test).

Who sees what: a workspace admin sees every member's entries; anyone else
sees only their own (a search without `user_ids` is theirs alone), and a
`user_ids` naming another user is refused with 403.

The CSV export (`search/time_entries.csv`) is a paid feature: a free
workspace answers 402 "Workspace needs to have this feature enabled",
without quota headers (so a client tells it from a spent quota). Its columns
are those of Toggl's documented detailed-report export (names, not ids, and no
time entry id): User, Email, Client, Project, Task, Description, Billable,
Start date, Start time, End date, End time, Duration, Tags, Amount (USD);
times in the requesting user's time zone.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from . import timefmt as tf
from . import validate as check
from .model import SimError, TimeEntry
from .store import Store, locked

PAGE_SIZE_DEFAULT = 50
PAGE_SIZE_MAX = 50
FEATURE_NOT_ENABLED = "Workspace needs to have this feature enabled"
NOT_ACCESSIBLE = "Workspace not found/accessible"
CSV_COLUMNS = (
    "User", "Email", "Client", "Project", "Task", "Description", "Billable",
    "Start date", "Start time", "End date", "End time", "Duration", "Tags", "Amount (USD)",
)
ORDER_KEYS = {
    "date": lambda e: (e.start, e.id),
    "duration": lambda e: (e.duration, e.id),
    "description": lambda e: ((e.description or "").casefold(), e.id),
    "last_update": lambda e: (e.at, e.id),
}
_CACHE_SIZE = 8


class ReportRules(Store):
    @locked
    def search_time_entries(self, user_id: int, workspace_id: int, body: Any) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """POST /reports/api/v3/workspace/{wid}/search/time_entries -> (rows, paging headers).

        The headers name the first row of the next page; none on the last page.
        """
        query = self._visible_query(user_id, workspace_id, body)
        page_size = check.integer(query.get("page_size") or PAGE_SIZE_DEFAULT, "page_size")
        if page_size < 1:
            raise check.bad("page_size must be at least 1")
        page_size = min(page_size, self.report_page_cap or PAGE_SIZE_MAX)
        rows = self._report_rows(workspace_id, query)

        index = 0
        if query.get("first_row_number"):
            index = check.integer(query["first_row_number"], "first_row_number") - 1
        if query.get("first_id"):
            first_id = check.integer(query["first_id"], "first_id")
            if not (0 <= index < len(rows) and any(e.id == first_id for e in rows[index])):
                for position, row in enumerate(rows):
                    if any(e.id == first_id for e in row):
                        index = position
                        break
        index = max(index, 0)

        page = [self._report_row(row, number) for number, row in enumerate(rows[index : index + page_size], index + 1)]
        headers: dict[str, str] = {}
        if index + page_size < len(rows):
            following = rows[index + page_size][0]
            headers = {
                "X-Next-ID": str(following.id),
                "X-Next-Row-Number": str(index + page_size + 1),
                "X-Next-Timestamp": str(tf.unix(following.start)),
            }
        return page, headers

    @locked
    def export_time_entries_csv(self, user_id: int, workspace_id: int, body: Any) -> str:
        """POST /reports/api/v3/workspace/{wid}/search/time_entries.csv -> the whole report as CSV text."""
        query = self._visible_query(user_id, workspace_id, body)
        if self.plan_of(workspace_id) == "free":
            raise SimError(402, FEATURE_NOT_ENABLED, quota_headers=False)
        rows = self._report_rows(workspace_id, {**query, "grouped": False})
        user = self.users.get(user_id)
        zone = ZoneInfo(user.timezone if user else "UTC")
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for (entry,) in rows:
            owner = self.users.get(entry.user_id)
            project = self.projects.get(entry.project_id) if entry.project_id else None
            client = self.clients.get(project.client_id) if project and project.client_id else None
            start = entry.start.astimezone(zone)
            stop = (entry.stop or entry.start).astimezone(zone)
            hours, rest = divmod(entry.duration, 3600)
            writer.writerow([
                owner.fullname if owner else "", owner.email if owner else "",
                client.name if client else "", project.name if project else "", "",
                entry.description or "", "Yes" if entry.billable else "No",
                start.strftime("%Y-%m-%d"), start.strftime("%H:%M:%S"),
                stop.strftime("%Y-%m-%d"), stop.strftime("%H:%M:%S"),
                f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}",
                ", ".join(self.tags[t].name for t in entry.tag_ids if t in self.tags), "",
            ])
        return out.getvalue()

    def _visible_query(self, user_id: int, workspace_id: int, body: Any) -> dict[str, Any]:
        """The search as this user may run it: an admin's as asked; anyone else's limited to
        their own entries, and refused (403) when it names another user."""
        self.user_workspace(user_id, workspace_id)
        query = check.body_object(body)
        if self.role_in(workspace_id, user_id) == "admin":
            return query
        asked = _optional_ids(query.get("user_ids"), "user_ids")
        if asked is not None and asked - {user_id}:
            raise SimError(403, NOT_ACCESSIBLE)
        return {**query, "user_ids": [user_id]}

    def _report_rows(self, workspace_id: int, query: dict[str, Any]) -> list[list[TimeEntry]]:
        """All matching rows (lists of entries), in report order; cached per state version."""
        if not query.get("start_date"):
            raise check.bad("start_date is required")
        first_day = _date(query["start_date"], "start_date")
        last_day = _date(query["end_date"], "end_date") if query.get("end_date") else tf.utc_midnight(self.clock.now()).date()
        if last_day < first_day:
            raise check.bad("end_date must not be earlier than start_date")
        order_by = query.get("order_by") or "date"
        if order_by not in ORDER_KEYS:
            raise check.bad(f"Invalid order_by {order_by!r}")
        descending = str(query.get("order_dir") or "DESC").upper() != "ASC"
        grouped = bool(query.get("grouped"))
        filters = _Filters(self, query)

        key = (workspace_id, first_day, last_day, order_by, descending, grouped, filters.key, self.version, self.clock.now().date())
        cache = self.report_cache
        if key in cache:
            cache.move_to_end(key)
            return cache[key]

        workspace = self.workspaces[workspace_id]
        earliest = first_day
        if workspace.max_data_retention_days > 0:
            earliest = max(earliest, self.clock.now().date() - timedelta(days=workspace.max_data_retention_days))
        matching = [
            e
            for e in self.entries.values()
            if e.workspace_id == workspace_id
            and not e.deleted
            and not e.running  # reports cover finished time only
            and earliest <= e.start.date() <= last_day
            and filters.accept(e)
        ]
        matching.sort(key=ORDER_KEYS[order_by], reverse=descending)
        if grouped:
            groups: dict[tuple[Any, ...], list[TimeEntry]] = {}
            for entry in matching:
                signature = (entry.user_id, entry.project_id, entry.task_id, entry.billable, entry.description, tuple(sorted(entry.tag_ids)))
                groups.setdefault(signature, []).append(entry)
            rows = list(groups.values())
        else:
            rows = [[entry] for entry in matching]
        cache[key] = rows
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
        return rows

    def _report_row(self, row: list[TimeEntry], number: int) -> dict[str, Any]:
        first = row[0]
        user = self.users.get(first.user_id)
        return {
            "user_id": first.user_id,
            "username": user.fullname if user else None,
            "project_id": first.project_id,
            "task_id": first.task_id,
            "billable": first.billable,
            "description": first.description or "",
            "tag_ids": sorted(first.tag_ids),
            "billable_amount_in_cents": None,
            "hourly_rate_in_cents": None,
            "currency": "USD",
            "time_entries": [
                {
                    "id": e.id,
                    "seconds": e.duration,
                    "start": tf.fmt_offset(e.start),
                    "stop": tf.fmt_offset(e.stop),
                    "at": tf.fmt_at_offset(e.at),
                    "at_tz": tf.fmt_at_offset(e.at),
                }
                for e in row
            ],
            "row_number": number,
        }


class _Filters:
    """The optional report filters we support: description, project/client/tag/user ids, billable."""

    def __init__(self, store: Store, query: dict[str, Any]):
        self.description = query.get("description")
        self.project_ids = _optional_ids(query.get("project_ids"), "project_ids")
        self.client_ids = _optional_ids(query.get("client_ids"), "client_ids")
        self.tag_ids = _optional_ids(query.get("tag_ids"), "tag_ids")
        self.user_ids = _optional_ids(query.get("user_ids"), "user_ids")
        self.billable = None if query.get("billable") is None else check.boolean(query["billable"], "billable")
        self._client_of = {p.id: p.client_id for p in store.projects.values()} if self.client_ids is not None else {}
        self.key = (
            self.description,
            _frozen(self.project_ids),
            _frozen(self.client_ids),
            _frozen(self.tag_ids),
            _frozen(self.user_ids),
            self.billable,
        )

    def accept(self, entry: TimeEntry) -> bool:
        if self.description and self.description.casefold() not in (entry.description or "").casefold():
            return False
        # A null (or 0) in an id filter stands for "none": entries without a project/client/tag.
        if self.project_ids is not None and (entry.project_id or None) not in self.project_ids:
            return False
        if self.client_ids is not None and self._client_of.get(entry.project_id or 0) not in self.client_ids:
            return False
        if self.tag_ids is not None:
            if not (set(entry.tag_ids) & self.tag_ids or (not entry.tag_ids and None in self.tag_ids)):
                return False
        if self.user_ids is not None and entry.user_id not in self.user_ids:
            return False
        return self.billable is None or entry.billable == self.billable


def _optional_ids(value: Any, name: str) -> set[int | None] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise check.bad(f"Invalid value for '{name}': expected a list")
    return {None if item in (None, 0) else check.integer(item, name) for item in value}


def _frozen(ids: set[int | None] | None) -> tuple[Any, ...] | None:
    return None if ids is None else tuple(sorted(ids, key=lambda i: -1 if i is None else i))


def _date(value: Any, name: str) -> date:
    try:
        return tf.parse_date(value)
    except ValueError:
        raise check.bad(f"Invalid '{name}': {value!r} (expected YYYY-MM-DD)") from None
