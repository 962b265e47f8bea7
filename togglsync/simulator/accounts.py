"""Organizations, workspaces, users and memberships: who exists and who may see what."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from . import shapes
from . import validate as check
from .model import PLANS, Membership, Organization, SimError, User, Workspace
from .store import Store, locked


class AccountRules(Store):
    # -- back door: building accounts -----------------------------------

    @locked
    def add_organization(self, name: str, plan: str = "free", *, created_at: datetime | None = None) -> Organization:
        if plan not in PLANS:
            raise ValueError(f"unknown plan {plan!r}; expected one of {PLANS}")
        created = created_at or self.clock.now()
        org = Organization(id=self.new_id("organization"), name=name, plan=plan, created_at=created, at=created)
        self.organizations[org.id] = org
        return org

    @locked
    def add_workspace(self, organization_id: int, name: str, *, created_at: datetime | None = None) -> Workspace:
        created = created_at or self.clock.now()
        workspace = Workspace(
            id=self.new_id("workspace"),
            organization_id=organization_id,
            name=name,
            created_at=created,
            at=created,
        )
        workspace.api_token = hashlib.sha256(f"workspace:{workspace.id}:{created.isoformat()}".encode()).hexdigest()[:32]
        self.workspaces[workspace.id] = workspace
        return workspace

    @locked
    def add_user(
        self,
        email: str,
        fullname: str,
        *,
        api_token: str,
        password: str,
        timezone: str = "UTC",
        default_workspace_id: int | None = None,
        created_at: datetime | None = None,
    ) -> User:
        created = created_at or self.clock.now()
        user = User(
            id=self.new_id("user"),
            email=email,
            fullname=fullname,
            api_token=api_token,
            password=password,
            default_workspace_id=default_workspace_id,
            timezone=timezone,
            created_at=created,
            at=created,
        )
        self.users[user.id] = user
        return user

    @locked
    def add_membership(self, workspace_id: int, user_id: int, role: str = "admin") -> None:
        at = self.workspaces[workspace_id].created_at
        self.memberships.append(Membership(workspace_id=workspace_id, user_id=user_id, role=role, at=at))
        user = self.users[user_id]
        if user.default_workspace_id is None:
            user.default_workspace_id = workspace_id

    @locked
    def remove_membership(self, workspace_id: int, user_id: int) -> None:
        """The user leaves the workspace (or an admin removes them), as Toggl plays it: the
        workspace, its projects, clients, tags and the user's entries in it vanish from every
        /me listing, and its endpoints answer 403 for this user. Nothing is marked deleted:
        a `since` pull hears nothing of it. The workspace and its data live on for the others."""
        self.memberships = [
            m for m in self.memberships if not (m.workspace_id == workspace_id and m.user_id == user_id)
        ]
        user = self.users[user_id]
        if user.default_workspace_id == workspace_id:
            remaining = self.workspace_ids_of(user_id)
            user.default_workspace_id = remaining[0] if remaining else None
        user.at = self.stamp()

    @locked
    def set_plan(self, organization_id: int, plan: str) -> None:
        """Change an organization's plan (and so its workspaces' premium flag and quota)."""
        if plan not in PLANS:
            raise ValueError(f"unknown plan {plan!r}; expected one of {PLANS}")
        org = self.organizations[organization_id]
        org.plan = plan
        org.at = self.stamp()
        for workspace in self.workspaces.values():
            if workspace.organization_id == organization_id:
                workspace.at = org.at

    @locked
    def set_data_retention(self, workspace_id: int, days: int) -> None:
        """How far back reports reach in this workspace (-1: no limit)."""
        self.workspaces[workspace_id].max_data_retention_days = days

    # -- authentication -------------------------------------------------

    @locked
    def user_by_token(self, api_token: str) -> User | None:
        for user in self.users.values():
            if user.api_token == api_token:
                return user
        return None

    @locked
    def user_by_password(self, email: str, password: str) -> User | None:
        for user in self.users.values():
            if user.email.lower() == email.lower() and user.password == password:
                return user
        return None

    @locked
    def organization_of(self, workspace_id: int) -> int | None:
        workspace = self.workspaces.get(workspace_id)
        return workspace.organization_id if workspace else None

    @locked
    def organization_plan(self, organization_id: int) -> str | None:
        org = self.organizations.get(organization_id)
        return org.plan if org else None

    # -- reads ----------------------------------------------------------

    @locked
    def my_workspaces(self, user_id: int, *, since: Any = None) -> list[dict[str, Any]]:
        cutoff = check.since(since, now=self.clock.now()) if since is not None else None
        found = []
        for workspace_id in self.workspace_ids_of(user_id):
            workspace = self.workspaces[workspace_id]
            if cutoff is None or workspace.at >= cutoff:
                found.append(shapes.workspace(self, workspace, user_id=user_id))
        return found

    @locked
    def get_workspace(self, user_id: int, workspace_id: int) -> dict[str, Any]:
        workspace = self.user_workspace(user_id, workspace_id)
        return shapes.workspace(self, workspace, user_id=user_id)

    @locked
    def workspace_users(self, user_id: int, workspace_id: int) -> list[dict[str, Any]]:
        self.user_workspace(user_id, workspace_id)
        return [
            shapes.workspace_user(member, self.users[member.user_id])
            for member in self.memberships
            if member.workspace_id == workspace_id
        ]

    @locked
    def my_organizations(self, user_id: int) -> list[dict[str, Any]]:
        org_ids = sorted({self.workspaces[w].organization_id for w in self.workspace_ids_of(user_id)})
        return [shapes.organization(self, self.organizations[o], user_id=user_id) for o in org_ids]

    @locked
    def get_organization(self, user_id: int, organization_id: int) -> dict[str, Any]:
        org = self.organizations.get(organization_id)
        if org is None:
            raise SimError(404, "Organization not found")
        if not any(self.workspaces[w].organization_id == organization_id for w in self.workspace_ids_of(user_id)):
            raise SimError(403, "User does not have access to this resource.")
        return shapes.organization(self, org, user_id=user_id)
