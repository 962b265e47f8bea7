"""The fake Toggl's records, and the error its rules raise.

Records hold what is needed to produce the API's JSON exactly (shapes.py does
the rendering); they are plain mutable dataclasses guarded by SimState's lock.
Deleted records stay, with `server_deleted_at` set, because `since` queries
must return them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

PLANS = ("free", "starter", "premium")


class SimError(Exception):
    """An API error: the HTTP layer turns it into `status` + a JSON string body.

    `message=None` means an empty body (Toggl's 401/403 on auth problems).
    `quota_headers=False`: the answer carries no X-Toggl-Quota-* headers (a plan's
    "feature not enabled" 402, which a client tells from a spent quota by them).
    """

    def __init__(self, status: int, message: str | None, headers: dict[str, str] | None = None, *,
                 quota_headers: bool = True):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        self.quota_headers = quota_headers


@dataclass(slots=True)
class Organization:
    id: int
    name: str
    plan: str  # free | starter | premium; Toggl bills (and rate-limits) per organization
    created_at: datetime
    at: datetime


@dataclass(slots=True)
class Workspace:
    id: int
    organization_id: int
    name: str
    created_at: datetime
    at: datetime
    max_data_retention_days: int = -1  # -1: reports reach back without limit
    # Toggl's workspace objects carry a (legacy) workspace API token: a credential the client must not keep.
    api_token: str | None = None


@dataclass(slots=True)
class User:
    id: int
    email: str
    fullname: str
    api_token: str
    password: str
    default_workspace_id: int | None
    timezone: str
    created_at: datetime
    at: datetime
    beginning_of_week: int = 1


@dataclass(slots=True)
class Membership:
    workspace_id: int
    user_id: int
    role: str = "admin"
    at: datetime | None = None


@dataclass(slots=True)
class Client:
    id: int
    workspace_id: int
    name: str
    creator_id: int
    at: datetime
    archived: bool = False
    notes: str | None = None
    server_deleted_at: datetime | None = None


@dataclass(slots=True)
class Project:
    id: int
    workspace_id: int
    name: str
    color: str
    created_at: datetime
    at: datetime
    client_id: int | None = None
    active: bool = True
    is_private: bool = True
    billable: bool = False
    template: bool = False
    auto_estimates: bool = False
    estimated_hours: int | None = None
    rate: float | None = None
    currency: str | None = None
    fixed_fee: float | None = None
    start_date: str | None = None
    end_date: str | None = None
    creator_id: int | None = None
    server_deleted_at: datetime | None = None


@dataclass(slots=True)
class Tag:
    id: int
    workspace_id: int
    name: str
    creator_id: int
    at: datetime
    server_deleted_at: datetime | None = None


@dataclass(slots=True)
class TimeEntry:
    id: int
    workspace_id: int
    user_id: int
    start: datetime
    stop: datetime | None  # None while running
    duration: int  # seconds; -1 while running
    at: datetime
    description: str | None = None
    project_id: int | None = None
    task_id: int | None = None
    billable: bool = False
    tag_ids: list[int] = field(default_factory=list)
    duronly: bool = True
    created_with: str = ""
    server_deleted_at: datetime | None = None
    # Eventual consistency: reads do not show the entry before this moment (None: at once).
    visible_from: datetime | None = None

    @property
    def running(self) -> bool:
        return self.stop is None

    @property
    def deleted(self) -> bool:
        return self.server_deleted_at is not None


@dataclass(slots=True)
class MatonKey:
    key: str
    # The Toggl user a browser "logs in as" when it completes a connection's OAuth.
    oauth_user_id: int


@dataclass(slots=True)
class Connection:
    connection_id: str
    maton_key: str
    status: str  # PENDING | ACTIVE
    creation_time: datetime
    last_updated_time: datetime
    session_token: str
    user_id: int | None = None  # the Toggl user, once ACTIVE
    app: str = "toggl-track"
