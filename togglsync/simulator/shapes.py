"""Records -> the exact JSON shapes Toggl sends (see toggl-api.md, Shapes).

Two styles for time entries:
- "read" (GET lists and single reads): `+00:00` timestamps, `[]` for no tags,
  a running entry's duration as -(start as unix seconds), the v8 convention.
- "write" (POST/PUT/stop responses): `Z` timestamps, `null` for no tags,
  a running entry's duration as -1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from . import timefmt as tf
from .model import Client, Connection, Membership, Organization, Project, Tag, TimeEntry, User, Workspace

if TYPE_CHECKING:
    from .store import Store

Style = Literal["read", "write"]

PLAN_LABELS = {"free": "Free", "starter": "Starter", "premium": "Premium"}
PLAN_IDS = {"free": 0, "starter": 100, "premium": 101}


def time_entry(store: Store, entry: TimeEntry, *, style: Style = "read", meta: bool = False) -> dict[str, Any]:
    write = style == "write"
    stamp = tf.fmt_z if write else tf.fmt_offset
    at_stamp = tf.fmt_at_z if write else tf.fmt_at_offset
    tag_ids = list(entry.tag_ids)
    tag_names = [store.tags[t].name for t in tag_ids]
    if entry.running:
        duration = -1 if write else -tf.unix(entry.start)
    else:
        duration = entry.duration
    body: dict[str, Any] = {
        "id": entry.id,
        "workspace_id": entry.workspace_id,
        "project_id": entry.project_id,
        "task_id": entry.task_id,
        "billable": entry.billable,
        "start": stamp(entry.start),
        "stop": stamp(entry.stop),
        "duration": duration,
        "description": entry.description,
        "tags": tag_names if (tag_names or not write) else None,
        "tag_ids": tag_ids if (tag_ids or not write) else None,
        "duronly": entry.duronly,
        "at": at_stamp(entry.at),
        "server_deleted_at": stamp(entry.server_deleted_at),
        "user_id": entry.user_id,
        "uid": entry.user_id,
        "wid": entry.workspace_id,
        "pid": entry.project_id,
        "tid": entry.task_id,
        "permissions": None,
    }
    if meta:
        body.update(_entry_meta(store, entry))
    return body


def _entry_meta(store: Store, entry: TimeEntry) -> dict[str, Any]:
    project = store.projects.get(entry.project_id) if entry.project_id else None
    client = store.clients.get(project.client_id) if project and project.client_id else None
    user = store.users.get(entry.user_id)
    return {
        "project_name": project.name if project else None,
        "project_color": project.color if project else None,
        "project_active": project.active if project else None,
        "project_billable": project.billable if project else None,
        "client_name": client.name if client else None,
        "task_name": None,
        "user_name": user.fullname if user else None,
        "user_avatar_url": "",
    }


def project(store: Store, record: Project) -> dict[str, Any]:
    if record.server_deleted_at is not None:
        status = "deleted"
    elif not record.active:
        status = "archived"
    else:
        status = "active"
    return {
        "id": record.id,
        "workspace_id": record.workspace_id,
        "client_id": record.client_id,
        "name": record.name,
        "is_private": record.is_private,
        "active": record.active,
        "at": tf.fmt_at_offset(record.at),
        "created_at": tf.fmt_offset(record.created_at),
        "server_deleted_at": tf.fmt_offset(record.server_deleted_at),
        "color": record.color,
        "billable": record.billable,
        "template": record.template,
        "auto_estimates": record.auto_estimates,
        "estimated_hours": record.estimated_hours,
        "estimated_seconds": None if record.estimated_hours is None else record.estimated_hours * 3600,
        "rate": record.rate,
        "rate_last_updated": None,
        "currency": record.currency,
        "recurring": False,
        "template_id": None,
        "recurring_parameters": None,
        "fixed_fee": record.fixed_fee,
        "actual_hours": store.tracked_seconds(record.id) // 3600,
        "actual_seconds": store.tracked_seconds(record.id),
        "start_date": record.start_date or tf.fmt_date(record.created_at),
        "end_date": record.end_date,
        "status": status,
        "can_track_time": True,
        "pinned": False,
        "is_shared": False,
        "permissions": None,
        "wid": record.workspace_id,
        "cid": record.client_id,
    }


def client(record: Client) -> dict[str, Any]:
    return {
        "id": record.id,
        "wid": record.workspace_id,
        "archived": record.archived,
        "name": record.name,
        "at": tf.fmt_at_offset(record.at),
        "creator_id": record.creator_id,
        "notes": record.notes,
        "integration_provider": None,
        "integration_ext_id": None,
        "integration_ext_type": None,
        "permissions": None,
        "server_deleted_at": tf.fmt_offset(record.server_deleted_at),
    }


def tag(record: Tag) -> dict[str, Any]:
    return {
        "id": record.id,
        "workspace_id": record.workspace_id,
        "name": record.name,
        "at": tf.fmt_at_offset(record.at),
        "creator_id": record.creator_id,
        "deleted_at": tf.fmt_offset(record.server_deleted_at),
        "server_deleted_at": tf.fmt_offset(record.server_deleted_at),
        "integration_provider": None,
        "integration_ext_id": None,
        "integration_ext_type": None,
        "permissions": None,
    }


def workspace(store: Store, record: Workspace, *, user_id: int) -> dict[str, Any]:
    org = store.organizations[record.organization_id]
    role = store.role_in(record.id, user_id) or "user"
    paid = org.plan in ("starter", "premium")
    return {
        "id": record.id,
        "organization_id": record.organization_id,
        "name": record.name,
        "premium": paid,
        "business_ws": org.plan == "premium",
        "admin": role == "admin",
        "role": role,
        "suspended_at": None,
        "server_deleted_at": None,
        "default_hourly_rate": None,
        "rate_last_updated": None,
        "default_currency": "USD",
        "only_admins_may_create_projects": False,
        "only_admins_may_create_tags": False,
        "only_admins_see_billable_rates": False,
        "only_admins_see_team_dashboard": False,
        "projects_billable_by_default": paid,
        "projects_private_by_default": True,
        "projects_enforce_billable": False,
        "limit_public_project_data": False,
        "last_modified": tf.fmt_offset(record.at),
        "reports_collapse": True,
        "rounding": 1,
        "rounding_minutes": 0,
        "api_token": record.api_token,
        "at": tf.fmt_at_offset(record.at),
        "logo_url": "https://assets.track.toggl.com/images/workspace.jpg",
        "ical_url": "",
        "ical_enabled": True,
        "csv_upload": None,
        "subscription": None,
        "hide_start_end_times": False,
        "working_hours_in_minutes": None,
        "max_data_retention_days": record.max_data_retention_days,
        "te_constraints": {
            "description_present": False,
            "project_present": False,
            "tag_present": False,
            "task_present": False,
            "time_entry_constraints_enabled": False,
        },
        "permissions": None,
    }


def organization(store: Store, record: Organization, *, user_id: int) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "pricing_plan_id": PLAN_IDS[record.plan],
        "pricing_plan_name": PLAN_LABELS[record.plan],
        "pricing_plan_enterprise": False,
        "created_at": tf.fmt_offset(record.created_at),
        "at": tf.fmt_at_offset(record.at),
        "server_deleted_at": None,
        "is_multi_workspace_enabled": record.plan != "free",
        "is_unified": True,
        "suspended_at": None,
        "user_count": len({m.user_id for m in store.memberships_of_org(record.id)}),
        "max_workspaces": 1 if record.plan == "free" else 20,
        "max_data_retention_days": -1,
        "admin": True,
        "owner": True,
        "permissions": None,
    }


def user(record: User) -> dict[str, Any]:
    return {
        "id": record.id,
        "api_token": record.api_token,
        "email": record.email,
        "fullname": record.fullname,
        "timezone": record.timezone,
        "toggl_accounts_id": f"sim-{record.id}",
        "default_workspace_id": record.default_workspace_id,
        "beginning_of_week": record.beginning_of_week,
        "image_url": "https://assets.track.toggl.com/images/profile.png",
        "created_at": tf.fmt_offset(record.created_at),
        "updated_at": tf.fmt_offset(record.at),
        "openid_email": None,
        "openid_enabled": False,
        "country_id": None,
        "has_password": True,
        "at": tf.fmt_at_offset(record.at),
        "intercom_hash": None,
        "oauth_providers": [],
        "authorization_updated_at": tf.fmt_offset(record.created_at),
    }


def workspace_user(member: Membership, record: User) -> dict[str, Any]:
    return {
        "id": record.id,
        "user_id": record.id,
        "workspace_id": member.workspace_id,
        "email": record.email,
        "fullname": record.fullname,
        "role": member.role,
        "is_admin": member.role == "admin",
        "is_active": True,
        "inactive": False,
        "at": tf.fmt_at_offset(member.at or record.at),
    }


def connection(record: Connection, *, base_url: str) -> dict[str, Any]:
    url = f"{base_url}/connect/{record.connection_id}?session_token={record.session_token}"
    return {
        "connection_id": record.connection_id,
        "status": record.status,
        "creation_time": tf.fmt_at_z(record.creation_time),
        "last_updated_time": tf.fmt_at_z(record.last_updated_time),
        "url": url,
        "app": record.app,
        "method": "OAUTH2",
        "metadata": {"user_id": record.user_id} if record.user_id is not None else {},
    }
