"""Deterministic, realistic accounts for the simulator.

Same `seed` and `now` -> the same account, byte for byte. Scales to 100k
entries in well under a few seconds: entries are built directly, without the
write rules (they are valid by construction).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .model import TimeEntry, Workspace
from .state import SimState

PASSWORD = "secret-password"
ENTRIES_PER_DAY = 6  # history spans N / 6 days...
MAX_SPAN_DAYS = 730  # ...but never more than two years (denser days instead), unless `years` says
MIN_SPAN_DAYS = 14
MEMBER_NAMES = ["Bruno Keller", "Chloé Martin", "Dmitri Ivanov", "Eun-ji Park", "Fatima Haddad"]

CLIENT_NAMES = ["Acme Corp", "Société Générale de Café", "株式会社サンプル"]
# (name, color, client index or None, billable, active)
PROJECTS = [
    ("Website relaunch", "#0b83d9", 0, True, True),
    ("Mobile app", "#9e5bd9", 0, True, True),
    ("Café menu design", "#d94182", 1, True, True),
    ("翻訳プロジェクト", "#e36a00", 2, True, True),
    ("Internal tools", "#bf7000", None, False, True),
    ("Research 🔬", "#2da608", None, False, True),
    ("Admin & ops", "#06a893", None, False, True),
    ("Legacy migration", "#c9806b", 0, True, False),  # archived
]
TAG_NAMES = ["urgent", "meeting", "deep-work", "café", "review", "billable", "日本", "🔥hot", "admin", "research"]
DESCRIPTIONS = [
    "Code review",
    "Réunion d'équipe",
    "日本語の翻訳",
    "Deploy 🚀",
    "Bug triage",
    "Écriture de la documentation",
    "Customer call ☎️",
    "Sprint planning",
    "Research: CRDTs and sync",
    "Email",
    "Pair programming with Zoë",
    "Design review – naïve approach",
    "",
    None,
]
CREATED_WITH = ["TogglTrack Web", "Toggl Desktop", "Toggl Mobile iOS", "togglsync"]


@dataclass(frozen=True)
class SeedInfo:
    """What a test needs to talk to a seeded account."""

    user_id: int
    email: str
    api_token: str
    maton_api_key: str
    connection_id: str
    workspace_id: int
    organization_id: int
    password: str = PASSWORD
    second_workspace_id: int | None = None
    project_ids: list[int] = field(default_factory=list)
    client_ids: list[int] = field(default_factory=list)
    tag_ids: list[int] = field(default_factory=list)
    running_entry_id: int | None = None
    # Other members of the main workspace (role "user"), and their API tokens, in the same order.
    member_ids: list[int] = field(default_factory=list)
    member_tokens: list[str] = field(default_factory=list)


def seed_account(
    state: SimState,
    *,
    entries: int = 200,
    plan: str = "free",
    seed: int = 0,
    now: datetime | None = None,
    second_workspace: bool = False,
    years: float | None = None,
    members: int = 0,
    member_entries: int = 0,
    role: str = "admin",
) -> SeedInfo:
    """Add one user with an organization, workspace(s), catalog, `entries` time entries
    (the newest one running) and a Maton key with one ACTIVE connection.

    `years`: the entries spread over that many years (else N / 6 days, at most two
    years); the account and its workspaces were made a month before the oldest.
    Entries older than 90 days are then reachable only through the Reports API, as
    on Toggl. `members` other users (role "user") join the main workspace, each with
    `member_entries` entries over the same span. `role`: the seeded user's role in
    its workspaces ("admin", or "user": reports then show only their own entries,
    and a 403 for other users' ids)."""
    rng = random.Random(seed)
    now = now or state.clock.now()
    if years is not None:
        # The walk back covers about 0.8 of its nominal span (see _seed_entries): stretched
        # so the entries reach back `years`, and the account is older than any of them.
        span_days = max(MIN_SPAN_DAYS, round(years * 365.25 * 1.25))
        born = (now - timedelta(days=round(span_days * 0.9) + 30)).replace(microsecond=0)
    else:
        span_days = max(MIN_SPAN_DAYS, min(MAX_SPAN_DAYS, -(-entries // ENTRIES_PER_DAY)))
        born = (now - timedelta(days=span_days + 30)).replace(microsecond=0)

    with state.lock:
        org = state.add_organization("Amélie's organization", plan, created_at=born)
        workspace = state.add_workspace(org.id, "Amélie's workspace", created_at=born)
        user = state.add_user(
            _unique_email(state, "amelie.dupont@example.com"),
            "Amélie Dupont",
            api_token=f"{rng.getrandbits(128):032x}",
            password=PASSWORD,
            timezone="Europe/Paris",
            created_at=born,
        )
        state.add_membership(workspace.id, user.id, role)
        second = None
        if second_workspace:
            second = state.add_workspace(org.id, "Side projects 🌱", created_at=born)
            state.add_membership(second.id, user.id, role)

        catalog = _seed_catalog(state, rng, workspace.id, user.id, born)
        second_catalog = _seed_catalog(state, rng, second.id, user.id, born, small=True) if second else None
        running_id = _seed_entries(state, rng, entries, now, span_days, user.id, workspace.id, catalog, second, second_catalog)

        maton_key = f"maton_{rng.getrandbits(160):040x}"
        state.add_maton_key(maton_key, oauth_user_id=user.id)
        connection = state.add_connection(
            maton_key,
            connection_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            status="ACTIVE",
            user_id=user.id,
            created_at=born,
        )
        member_tokens = _seed_members(state, seed, members, member_entries, now, span_days, workspace.id, catalog, born)

    return SeedInfo(
        user_id=user.id,
        email=user.email,
        api_token=user.api_token,
        maton_api_key=maton_key,
        connection_id=connection.connection_id,
        workspace_id=workspace.id,
        organization_id=org.id,
        second_workspace_id=second.id if second else None,
        project_ids=catalog.project_ids,
        client_ids=catalog.client_ids,
        tag_ids=catalog.tag_ids,
        running_entry_id=running_id,
        member_ids=list(member_tokens),
        member_tokens=list(member_tokens.values()),
    )


def _seed_members(
    state: SimState, seed: int, count: int, entries: int, now: datetime, span_days: int, workspace_id: int,
    catalog: _Catalog, born: datetime,
) -> dict[int, str]:
    """Other members of the workspace (role "user") with their own entries; their own
    random stream, so the seeded user's account is the same with or without them."""
    rng = random.Random(f"members:{seed}")
    tokens: dict[int, str] = {}
    for index in range(count):
        name = MEMBER_NAMES[index % len(MEMBER_NAMES)] + ("" if index < len(MEMBER_NAMES) else f" {index + 1}")
        local = name.split()[0].lower().replace("é", "e")
        member = state.add_user(
            _unique_email(state, f"{local}@example.com"), name, api_token=f"{rng.getrandbits(128):032x}",
            password=PASSWORD, timezone="UTC", created_at=born,
        )
        state.add_membership(workspace_id, member.id, "user")
        _seed_entries(state, rng, entries, now, span_days, member.id, workspace_id, catalog, None, None)
        tokens[member.id] = member.api_token
    return tokens


@dataclass
class _Catalog:
    client_ids: list[int]
    project_ids: list[int]
    active_project_ids: list[int]
    billable_project_ids: set[int]
    tag_ids: list[int]


def _seed_catalog(state: SimState, rng: random.Random, workspace_id: int, user_id: int, born: datetime, *, small: bool = False) -> _Catalog:
    def stamp(days_after_birth: float) -> datetime:
        return born + timedelta(days=days_after_birth, microseconds=rng.randrange(1_000_000))

    clients = [] if small else [state.add_client_record(workspace_id, name, user_id, at=stamp(1)) for name in CLIENT_NAMES]
    project_specs = PROJECTS[4:6] if small else PROJECTS
    projects = []
    for name, color, client_index, billable, active in project_specs:
        client_id = clients[client_index].id if client_index is not None and clients else None
        projects.append(
            state.add_project_record(
                workspace_id, name, color, user_id, client_id=client_id, billable=billable, active=active, at=stamp(2), created_at=born
            )
        )
    tag_names = TAG_NAMES[:2] if small else TAG_NAMES
    tags = [state.add_tag_record(workspace_id, name, user_id, at=stamp(3)) for name in tag_names]
    return _Catalog(
        client_ids=[c.id for c in clients],
        project_ids=[p.id for p in projects],
        active_project_ids=[p.id for p in projects if p.active],
        billable_project_ids={p.id for p in projects if p.billable},
        tag_ids=[t.id for t in tags],
    )


def _seed_entries(
    state: SimState,
    rng: random.Random,
    count: int,
    now: datetime,
    span_days: int,
    user_id: int,
    workspace_id: int,
    catalog: _Catalog,
    second: Workspace | None,
    second_catalog: _Catalog | None,
) -> int | None:
    """Walk back from now: the newest entry runs, older ones fill `span_days` evenly.

    Ids are handed out oldest first afterwards, so they grow with time like Toggl's.
    """
    if count <= 0:
        return None
    step = span_days * 86400 / count  # average seconds per entry, gaps included
    cursor = now.replace(microsecond=0)
    archived = [p for p in catalog.project_ids if p not in catalog.active_project_ids]
    newest_first: list[TimeEntry] = []
    for index in range(count):
        if index == 0:
            start = cursor - timedelta(seconds=rng.randrange(300, 5400))
            stop, duration = None, -1
        else:
            duration = max(60, int(step * rng.uniform(0.3, 0.9)))
            gap = max(0, int(step) - duration)
            stop = cursor - timedelta(seconds=rng.randrange(0, gap + 1))
            start = stop - timedelta(seconds=duration)
        cursor = start

        in_second = second is not None and second_catalog is not None and rng.random() < 0.1
        target = second_catalog if in_second and second_catalog else catalog
        roll = rng.random()
        if roll < 0.15:
            project_id = None
        elif roll < 0.17 and archived and not in_second:
            project_id = rng.choice(archived)
        else:
            project_id = rng.choice(target.active_project_ids)
        tag_roll = rng.random()
        tag_count = 0 if tag_roll < 0.5 else 1 if tag_roll < 0.8 else rng.randint(2, 3)
        at = (stop or start) + timedelta(seconds=rng.randrange(0, 600), microseconds=rng.randrange(1_000_000))
        newest_first.append(
            TimeEntry(
                id=0,
                workspace_id=second.id if in_second and second else workspace_id,
                user_id=user_id,
                start=start,
                stop=stop,
                duration=duration,
                at=min(at, now),
                description=rng.choice(DESCRIPTIONS),
                project_id=project_id,
                billable=project_id in target.billable_project_ids and rng.random() < 0.6,
                tag_ids=rng.sample(target.tag_ids, min(tag_count, len(target.tag_ids))),
                created_with=rng.choice(CREATED_WITH),
            )
        )
    for entry in reversed(newest_first):
        entry.id = state.new_id("time_entry")
        state.insert_time_entry(entry)
    return newest_first[0].id


def _unique_email(state: SimState, email: str) -> str:
    taken = {u.email for u in state.users.values()}
    if email not in taken:
        return email
    local, domain = email.split("@")
    number = 2
    while f"{local}+{number}@{domain}" in taken:
        number += 1
    return f"{local}+{number}@{domain}"
