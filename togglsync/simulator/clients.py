"""Client rules: unique names, active/archived listing, premium-only archive, restore."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from . import shapes
from . import validate as check
from .model import Client, SimError
from .store import Store, locked

PREMIUM_REQUIRED = "Request tried to utilized Premium functionality on workspace which is not Premium!"


class ClientRules(Store):
    # -- reads ----------------------------------------------------------

    @locked
    def list_clients(
        self, user_id: int, workspace_id: int, *, status: str | None = None, name: str | None = None
    ) -> list[dict[str, Any]]:
        """GET /workspaces/{wid}/clients: active ones unless `status` says otherwise; no `since`."""
        self.user_workspace(user_id, workspace_id)
        wanted = status or "active"
        if wanted not in ("active", "archived", "both"):
            raise check.bad("Client status is invalid")
        found = []
        for client in self.clients.values():
            if client.workspace_id != workspace_id or client.server_deleted_at is not None:
                continue
            if wanted == "active" and client.archived or wanted == "archived" and not client.archived:
                continue
            if name and name.casefold() not in client.name.casefold():
                continue
            found.append(client)
        return [shapes.client(c) for c in sorted(found, key=lambda c: (c.name.casefold(), c.id))]

    @locked
    def my_clients(self, user_id: int, *, since: Any = None) -> list[dict[str, Any]]:
        cutoff = check.since(since, now=self.clock.now()) if since is not None else None
        workspace_ids = set(self.workspace_ids_of(user_id))
        found = [
            client
            for client in self.clients.values()
            if client.workspace_id in workspace_ids
            and (client.at >= cutoff if cutoff is not None else client.server_deleted_at is None)
        ]
        return [shapes.client(c) for c in sorted(found, key=lambda c: c.id)]

    @locked
    def get_client(self, user_id: int, workspace_id: int, client_id: int) -> dict[str, Any]:
        return shapes.client(self._user_client(user_id, workspace_id, client_id))

    # -- writes ---------------------------------------------------------

    @locked
    def create_client(self, user_id: int, workspace_id: int, body: Any) -> dict[str, Any]:
        self.user_workspace(user_id, workspace_id)
        fields = check.body_object(body)
        name = self._valid_client_name(workspace_id, fields.get("name"), client_id=None)
        client = Client(
            id=self.new_id("client"),
            workspace_id=workspace_id,
            name=name,
            creator_id=user_id,
            at=self.stamp(),
            notes=check.optional_text(fields.get("notes"), "notes"),
        )
        self.clients[client.id] = client
        return shapes.client(client)

    @locked
    def update_client(self, user_id: int, workspace_id: int, client_id: int, body: Any) -> dict[str, Any]:
        client = self._user_client(user_id, workspace_id, client_id)
        fields = check.body_object(body)
        draft = dataclasses.replace(client)
        if "name" in fields:
            draft.name = self._valid_client_name(workspace_id, fields["name"], client_id=client_id)
        if "notes" in fields:
            draft.notes = check.optional_text(fields["notes"], "notes")
        draft.at = self.stamp()
        self.clients[client_id] = draft
        return shapes.client(draft)

    @locked
    def delete_client(self, user_id: int, workspace_id: int, client_id: int) -> None:
        """Delete a client; its projects lose their client (and get a new `at`)."""
        client = self._user_client(user_id, workspace_id, client_id)
        for project in self.projects.values():
            if project.client_id == client_id and project.server_deleted_at is None:
                project.client_id = None
                project.at = self.stamp()
        client.at = self.stamp()
        client.server_deleted_at = client.at

    @locked
    def archive_client(self, user_id: int, workspace_id: int, client_id: int) -> list[int]:
        """Premium only: archive the client and its active projects; returns their ids."""
        client = self._user_client(user_id, workspace_id, client_id)
        if self.plan_of(workspace_id) == "free":
            raise SimError(402, PREMIUM_REQUIRED)
        archived = []
        for project in self.projects.values():
            if project.client_id == client_id and project.server_deleted_at is None and project.active:
                project.active = False
                project.at = self.stamp()
                archived.append(project.id)
        client.archived = True
        client.at = self.stamp()
        return archived

    @locked
    def restore_client(self, user_id: int, workspace_id: int, client_id: int, body: Any) -> dict[str, Any]:
        client = self._user_client(user_id, workspace_id, client_id)
        fields = check.body_object(body)
        restore_all = check.boolean(fields.get("restore_all_projects", False), "restore_all_projects")
        project_ids = check.integer_list(fields.get("projects"), "projects")
        own = {
            p.id: p
            for p in self.projects.values()
            if p.client_id == client_id and p.server_deleted_at is None
        }
        for project_id in project_ids:
            if project_id not in own:
                raise check.bad(f"Project {project_id} does not belong to client {client_id}")
        for project in own.values():
            if not project.active and (restore_all or project.id in project_ids):
                project.active = True
                project.at = self.stamp()
        client.archived = False
        client.at = self.stamp()
        return shapes.client(client)

    # -- helpers --------------------------------------------------------

    @locked
    def add_client_record(
        self, workspace_id: int, name: str, creator_id: int, *, at: datetime | None = None, archived: bool = False
    ) -> Client:
        """Back door for seeding: store a client as given, no rules."""
        client = Client(
            id=self.new_id("client"),
            workspace_id=workspace_id,
            name=name,
            creator_id=creator_id,
            at=at or self.stamp(),
            archived=archived,
        )
        self.note_at(client.at)
        self.clients[client.id] = client
        return client


    def _user_client(self, user_id: int, workspace_id: int, client_id: int) -> Client:
        self.user_workspace(user_id, workspace_id)
        client = self.clients.get(client_id)
        if client is None or client.workspace_id != workspace_id or client.server_deleted_at is not None:
            raise SimError(404, f"No client with ID {client_id} was found")
        return client

    def _valid_client_name(self, workspace_id: int, value: Any, *, client_id: int | None) -> str:
        name = check.optional_text(value, "name")
        if not name or not name.strip():
            raise check.bad("Client name cannot be empty")
        name = name.strip()
        for other in self.clients.values():
            if (
                other.workspace_id == workspace_id
                and other.id != client_id
                and other.server_deleted_at is None
                and other.name.casefold() == name.casefold()
            ):
                raise check.bad("Name has already been taken")
        return name

    def _client_named(self, workspace_id: int, name: Any, *, user_id: int) -> Client:
        """The live client with this name, created if missing (project `client_name`)."""
        wanted = check.optional_text(name, "client_name") or ""
        for client in self.clients.values():
            if (
                client.workspace_id == workspace_id
                and client.server_deleted_at is None
                and client.name.casefold() == wanted.strip().casefold()
            ):
                return client
        created = self.create_client(user_id, workspace_id, {"name": wanted})
        return self.clients[created["id"]]
