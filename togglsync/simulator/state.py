"""SimState: the fake Toggl's data and rules, without HTTP.

The HTTP routes call these methods, and tests call the same methods as a back
door ("a change made on another device"). Methods take the acting user's id,
raise SimError for API errors and return the JSON the API would send.
Thread-safe: every public method holds the one RLock.

The rules live in one mixin per kind of record; this module assembles them
and adds what spans them (GET /me with related data).
"""

from __future__ import annotations

from typing import Any

from . import shapes
from .accounts import AccountRules
from .clients import ClientRules
from .clock import SimClock
from .entries import TimeEntryRules
from .maton import MatonRules
from .model import SimError
from .projects import ProjectRules
from .reports import ReportRules
from .store import locked
from .tags import TagRules

__all__ = ["SimClock", "SimError", "SimState"]


class SimState(AccountRules, ClientRules, ProjectRules, TagRules, TimeEntryRules, ReportRules, MatonRules):
    """Everything the simulated Toggl (and Maton) knows."""

    @locked
    def me(self, user_id: int, *, with_related_data: bool = False) -> dict[str, Any]:
        """GET /me; with related data, every list embedded (empty ones as null)."""
        user = self.users.get(user_id)
        if user is None:
            raise SimError(404, "could not load user data")
        body = shapes.user(user)
        related: dict[str, Any] = {
            "clients": None,
            "projects": None,
            "tags": None,
            "tasks": None,
            "time_entries": None,
            "workspaces": None,
        }
        if with_related_data:
            related = {
                "clients": self.my_clients(user_id),
                "projects": self.my_projects(user_id, include_archived=True),
                "tags": self.my_tags(user_id),
                "tasks": [],
                "time_entries": self.list_time_entries(user_id),
                "workspaces": self.my_workspaces(user_id),
            }
            related = {name: (items or None) for name, items in related.items()}
        body.update(related)
        return body

    @locked
    def my_tasks(self, user_id: int, *, since: Any = None) -> list[dict[str, Any]]:
        """The simulator has no tasks."""
        return []

    @locked
    def all_projects(self, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        return [
            shapes.project(self, p)
            for p in sorted(self.projects.values(), key=lambda p: p.id)
            if include_deleted or p.server_deleted_at is None
        ]

    @locked
    def all_clients(self, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        return [
            shapes.client(c)
            for c in sorted(self.clients.values(), key=lambda c: c.id)
            if include_deleted or c.server_deleted_at is None
        ]

    @locked
    def all_tags(self, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        return [
            shapes.tag(t)
            for t in sorted(self.tags.values(), key=lambda t: t.id)
            if include_deleted or t.server_deleted_at is None
        ]
