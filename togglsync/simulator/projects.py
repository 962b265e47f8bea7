"""Project rules: unique names, #rrggbb colors, paging, deletion modes, bulk patch."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import shapes
from . import validate as check
from .model import Client, Project, SimError
from .store import Store, locked

COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_COLOR = "#0b83d9"
PER_PAGE_DEFAULT = 151
PER_PAGE_MAX = 200
BULK_LIMIT = 100
# Bulk-patchable project fields (JSON-Patch path -> body field).
PATCH_PATHS = {
    f"/{name}"
    for name in (
        "name", "color", "active", "is_private", "billable", "client_id", "estimated_hours",
        "rate", "currency", "fixed_fee", "start_date", "end_date", "template", "auto_estimates",
    )
}
_BOOLEAN_FIELDS = ("active", "is_private", "billable", "template", "auto_estimates")


class ProjectRules(Store):
    if TYPE_CHECKING:
        # Provided by ClientRules, a sibling mixin of SimState.
        def _client_named(self, workspace_id: int, name: Any, *, user_id: int) -> Client: ...

    # -- reads ----------------------------------------------------------

    @locked
    def list_projects(
        self,
        user_id: int,
        workspace_id: int,
        *,
        active: str | None = None,
        since: Any = None,
        name: str | None = None,
        page: Any = 1,
        per_page: Any = PER_PAGE_DEFAULT,
    ) -> list[dict[str, Any]]:
        """GET /workspaces/{wid}/projects: sorted by name, paged (151 by default, at most 200)."""
        self.user_workspace(user_id, workspace_id)
        page_number = check.integer(page, "page")
        size = check.integer(per_page, "per_page")
        if page_number < 1:
            raise check.bad("'page' must be 1 or more")
        if not 1 <= size <= PER_PAGE_MAX:
            raise check.bad(f"'per_page' must be between 1 and {PER_PAGE_MAX}")
        if active not in (None, "", "true", "false", "both"):
            raise check.bad(f"Invalid value for 'active': {active!r}")
        cutoff = check.since(since, now=self.clock.now()) if since is not None else None
        found = []
        for project in self.projects.values():
            if project.workspace_id != workspace_id:
                continue
            if cutoff is not None:
                if project.at < cutoff:
                    continue
            elif project.server_deleted_at is not None:
                continue
            if active == "true" and not project.active or active == "false" and project.active:
                continue
            if name and name.casefold() not in project.name.casefold():
                continue
            found.append(project)
        found.sort(key=lambda p: (p.name.casefold(), p.id))
        chunk = found[(page_number - 1) * size : page_number * size]
        return [shapes.project(self, p) for p in chunk]

    @locked
    def my_projects(self, user_id: int, *, since: Any = None, include_archived: bool = False) -> list[dict[str, Any]]:
        """GET /me/projects: live projects (archived ones on request); with since, every change."""
        cutoff = check.since(since, now=self.clock.now()) if since is not None else None
        workspace_ids = set(self.workspace_ids_of(user_id))
        found = []
        for project in self.projects.values():
            if project.workspace_id not in workspace_ids:
                continue
            if cutoff is not None:
                if project.at >= cutoff:
                    found.append(project)
            elif project.server_deleted_at is None and (project.active or include_archived):
                found.append(project)
        return [shapes.project(self, p) for p in sorted(found, key=lambda p: p.id)]

    @locked
    def get_project(self, user_id: int, workspace_id: int, project_id: int) -> dict[str, Any]:
        return shapes.project(self, self._user_project(user_id, workspace_id, project_id))

    # -- writes ---------------------------------------------------------

    @locked
    def create_project(self, user_id: int, workspace_id: int, body: Any) -> dict[str, Any]:
        self.user_workspace(user_id, workspace_id)
        fields = check.body_object(body)
        now = self.clock.now()
        draft = Project(
            id=0,
            workspace_id=workspace_id,
            name="",
            color=DEFAULT_COLOR,
            created_at=now,
            at=now,
            billable=self.plan_of(workspace_id) != "free",
            creator_id=user_id,
        )
        self._apply_project_fields(draft, fields, user_id=user_id)
        if not draft.name.strip():
            raise check.bad("Project name must not be empty")
        draft.id = self.new_id("project")
        draft.at = self.stamp()
        self.projects[draft.id] = draft
        return shapes.project(self, draft)

    @locked
    def update_project(self, user_id: int, workspace_id: int, project_id: int, body: Any) -> dict[str, Any]:
        project = self._user_project(user_id, workspace_id, project_id)
        draft = dataclasses.replace(project)
        self._apply_project_fields(draft, check.body_object(body), user_id=user_id)
        draft.at = self.stamp()
        self.projects[draft.id] = draft
        return shapes.project(self, draft)

    @locked
    def delete_project(self, user_id: int, workspace_id: int, project_id: int, *, te_deletion_mode: str | None = None) -> None:
        """Delete a project; its entries are unassigned (default) or deleted, both with a new `at`."""
        mode = te_deletion_mode or "unassign"
        if mode not in ("unassign", "delete"):
            raise check.bad(f"Invalid teDeletionMode {mode!r}: use 'delete' or 'unassign'")
        project = self._user_project(user_id, workspace_id, project_id)
        for entry in list(self.entries.values()):
            if entry.project_id != project.id or entry.deleted:
                continue
            if mode == "delete":
                entry.at = self.stamp()
                entry.server_deleted_at = entry.at
                self.reindex_running(entry)
            else:
                entry.project_id = None
                entry.at = self.stamp()
        project.at = self.stamp()
        project.server_deleted_at = project.at

    @locked
    def bulk_patch_projects(self, user_id: int, workspace_id: int, ids: str | list[int], ops: Any) -> dict[str, Any]:
        self.user_workspace(user_id, workspace_id)
        project_ids = check.id_list(ids, limit=BULK_LIMIT, what="project") if isinstance(ids, str) else list(ids)
        check.patch_operations(ops, PATCH_PATHS)
        success, failure = [], []
        for project_id in project_ids:
            try:
                draft = dataclasses.replace(self._user_project(user_id, workspace_id, project_id))
                for op in ops:
                    field = op["path"].lstrip("/")
                    value = None if op["op"] == "remove" else op["value"]
                    self._apply_project_fields(draft, {field: value}, user_id=user_id)
            except SimError as error:
                failure.append({"id": project_id, "message": error.message})
                continue
            draft.at = self.stamp()
            self.projects[draft.id] = draft
            success.append(project_id)
        return {"success": success, "failure": failure}

    # -- helpers --------------------------------------------------------

    @locked
    def add_project_record(
        self,
        workspace_id: int,
        name: str,
        color: str,
        creator_id: int,
        *,
        client_id: int | None = None,
        billable: bool = False,
        active: bool = True,
        at: datetime | None = None,
        created_at: datetime | None = None,
    ) -> Project:
        """Back door for seeding: store a project as given, no rules."""
        stamp = at or self.stamp()
        project = Project(
            id=self.new_id("project"),
            workspace_id=workspace_id,
            name=name,
            color=color,
            created_at=created_at or stamp,
            at=stamp,
            client_id=client_id,
            billable=billable,
            active=active,
            creator_id=creator_id,
        )
        self.note_at(project.at)
        self.projects[project.id] = project
        return project


    def _user_project(self, user_id: int, workspace_id: int, project_id: int) -> Project:
        self.user_workspace(user_id, workspace_id)
        project = self.projects.get(project_id)
        if project is None or project.workspace_id != workspace_id or project.server_deleted_at is not None:
            raise SimError(404, "Project not found")
        return project

    def _apply_project_fields(self, draft: Project, fields: dict[str, Any], *, user_id: int) -> None:
        workspace_id = draft.workspace_id
        if "name" in fields:
            name = check.optional_text(fields["name"], "name")
            if not name or not name.strip():
                raise check.bad("Project name must not be empty")
            for other in self.projects.values():
                if (
                    other.workspace_id == workspace_id
                    and other.id != draft.id
                    and other.server_deleted_at is None
                    and other.name.casefold() == name.strip().casefold()
                ):
                    raise check.bad("Name has already been taken")
            draft.name = name.strip()
        if "color" in fields and fields["color"] is not None:
            color = fields["color"]
            if not isinstance(color, str) or not COLOR.match(color):
                raise check.bad(
                    f"Error in validating color '{color}'. "
                    "Project color must be a hex value in the form of #[0-9a-f]{6}."
                )
            draft.color = color.lower()
        client_key = "client_id" if "client_id" in fields else "cid" if "cid" in fields else None
        if client_key is not None:
            client_id = check.optional_integer(fields[client_key], client_key)
            if client_id is not None:
                client = self.clients.get(client_id)
                if client is None or client.workspace_id != workspace_id or client.server_deleted_at is not None:
                    raise check.bad(f"Client with the ID {client_id} isn't present in workspace {workspace_id}")
            draft.client_id = client_id
        elif fields.get("client_name"):
            draft.client_id = self._client_named(workspace_id, fields["client_name"], user_id=user_id).id
        for key in _BOOLEAN_FIELDS:
            if key in fields and fields[key] is not None:
                setattr(draft, key, check.boolean(fields[key], key))
        if "estimated_hours" in fields:
            draft.estimated_hours = check.optional_integer(fields["estimated_hours"], "estimated_hours")
        for key in ("rate", "fixed_fee"):
            if key in fields:
                value = fields[key]
                if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                    raise check.bad(f"Invalid value for '{key}': {value!r}")
                setattr(draft, key, value)
        for key in ("currency", "start_date", "end_date"):
            if key in fields:
                setattr(draft, key, check.optional_text(fields[key], key))
