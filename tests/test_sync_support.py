"""Shared helpers for the sync-engine tests (no tests here).

Everything runs against the simulator over real HTTP: a `SyncEnv` is a
simulator, a file database opened with `open_database`, a `TogglClient`
with pacing off and immediate retries, and a `LocalStore` for offline edits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, func, select

from togglsync.api import DirectAuth, RetryPolicy, TogglClient
from togglsync.db.open import open_database
from togglsync.db.models import (
    PendingOperation,
    Project,
    SyncConflict,
    SyncCursor,
    Tag,
    TimeEntry,
)
from togglsync.local import LocalStore
from togglsync import records
from togglsync.sync.engine import SyncOptions, SyncResult, run_sync

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Only these are part of a no-request-budget comparison; the rest are meta.
CACHE_TABLES = (
    "account", "workspaces", "workspace_users", "clients", "projects", "tags",
    "time_entries", "time_entry_tags", "pending_operations", "conflicts",
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class SyncEnv:
    sim: Any
    db_path: Path | str  # a SQLite file, or a PostgreSQL database's URL
    retry: RetryPolicy = field(default_factory=RetryPolicy.immediate)
    engine: Engine = field(init=False)
    client: TogglClient = field(init=False)
    store: LocalStore = field(init=False)

    def __post_init__(self) -> None:
        self.engine = open_database(self.db_path)
        self.client = self.new_client()
        self.store = LocalStore(self.engine)

    def new_client(self, retry: RetryPolicy | None = None) -> TogglClient:
        return TogglClient(
            self.sim.url, DirectAuth(self.sim.seed.api_token), min_interval=0,
            retry=retry or self.retry, timeout=(5.0, 10.0),
            wall_clock=self.sim.clock.now,  # quotas observed on the server's clock, as the sync's own
        )

    # --- lifecycle -----------------------------------------------------------------------

    def sync(self, options: SyncOptions | None = None, **kwargs: Any) -> SyncResult:
        if options is None:
            options = SyncOptions(**kwargs)
        return run_sync(self.engine, self.client, options)

    def sync_until_idle(self, limit: int = 6) -> list[SyncResult]:
        """Sync until nothing but failed operations is left (at most `limit` runs)."""
        results = []
        for _ in range(limit):
            results.append(self.sync())
            if not self.live_ops():
                return results
        raise AssertionError(f"still pending after {limit} syncs: {self.ops()}\n{results[-1]}")

    def reopen(self, retry: RetryPolicy | None = None) -> None:
        """What a new process sees: a fresh engine and client on the same file ("crash")."""
        self.client.close()
        self.engine.dispose()
        self.engine = open_database(self.db_path)
        self.client = self.new_client(retry)
        self.store = LocalStore(self.engine)

    def close(self) -> None:
        self.client.close()
        self.engine.dispose()

    # --- local reads -------------------------------------------------------------------------

    def ops(self, state: str | None = None) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            query = select(PendingOperation.__table__).order_by(PendingOperation.id)
            if state is not None:
                query = query.where(PendingOperation.state == state)
            return [dict(r) for r in conn.execute(query).mappings()]

    def live_ops(self) -> list[dict[str, Any]]:
        return [op for op in self.ops() if op["state"] != "failed"]

    def conflicts(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(SyncConflict.__table__).order_by(SyncConflict.id)).mappings()]

    def entry(self, entry_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(TimeEntry.__table__).where(TimeEntry.id == entry_id)).mappings().first()
            return dict(row) if row else None

    def entries(self) -> dict[int, dict[str, Any]]:
        with self.engine.connect() as conn:
            return {r["id"]: dict(r) for r in conn.execute(select(TimeEntry.__table__)).mappings()}

    def project(self, project_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(Project.__table__).where(Project.id == project_id)).mappings().first()
            return dict(row) if row else None

    def tag(self, tag_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(Tag.__table__).where(Tag.id == tag_id)).mappings().first()
            return dict(row) if row else None

    def count(self, model: Any) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(model)).scalar_one()

    def cursor(self, resource: str = "time_entries") -> datetime | None:
        with self.engine.connect() as conn:
            return conn.scalar(select(SyncCursor.since).where(SyncCursor.resource == resource))

    def dump(self, tables: tuple[str, ...] = CACHE_TABLES) -> dict[str, list[tuple]]:
        return dump(self.engine, tables)

    # --- the server -------------------------------------------------------------------------

    def server_entry(self, entry_id: int) -> dict[str, Any] | None:
        for record in self.sim.state.all_time_entries():
            if record["id"] == entry_id:
                return record
        return None

    def server_entries_described(self, description: str) -> list[dict[str, Any]]:
        return [r for r in self.sim.state.all_time_entries() if r.get("description") == description]

    def writes(self) -> list[Any]:
        """Write requests in the simulator's log (since its last clear)."""
        return [r for r in self.sim.log.records if r.method in WRITE_METHODS]

    # --- back door: "another device" ---------------------------------------------------------

    def ago(self, **delta: float) -> datetime:
        """A whole-second instant this long before the simulator's now (inside every sync window)."""
        return (self.sim.clock.now() - timedelta(**delta)).replace(microsecond=0)

    @property
    def uid(self) -> int:
        return self.sim.seed.user_id

    @property
    def wid(self) -> int:
        return self.sim.seed.workspace_id

    def remote_create_entry(self, **body: Any) -> dict[str, Any]:
        body.setdefault("created_with", "another device")
        body.setdefault("workspace_id", self.wid)
        return self.sim.state.create_time_entry(self.uid, self.wid, body)

    def remote_update_entry(self, entry_id: int, **body: Any) -> dict[str, Any]:
        return self.sim.state.update_time_entry(self.uid, self.wid, entry_id, body)

    def remote_delete_entry(self, entry_id: int) -> None:
        self.sim.state.delete_time_entry(self.uid, self.wid, entry_id)

    def remote_create_project(self, name: str, **body: Any) -> dict[str, Any]:
        return self.sim.state.create_project(self.uid, self.wid, {"name": name, **body})

    def remote_delete_project(self, project_id: int, mode: str = "unassign") -> None:
        self.sim.state.delete_project(self.uid, self.wid, project_id, te_deletion_mode=mode)

    def remote_create_tag(self, name: str) -> dict[str, Any]:
        return self.sim.state.create_tag(self.uid, self.wid, {"name": name})

    def remote_delete_tag(self, tag_id: int) -> None:
        self.sim.state.delete_tag(self.uid, self.wid, tag_id)


def dump(engine: Engine, tables: tuple[str, ...] = CACHE_TABLES) -> dict[str, list[tuple]]:
    """Every row of the given tables, sorted: two equal dumps mean equal databases."""
    meta = MetaData()
    meta.reflect(engine)
    out: dict[str, list[tuple]] = {}
    with engine.connect() as conn:
        for name in tables:
            table = meta.tables[name]
            out[name] = sorted((tuple(r) for r in conn.execute(select(table))), key=repr)
    return out


# --- local == server --------------------------------------------------------------------------


def _entry_state(row: dict[str, Any]) -> dict[str, Any]:
    state = records.state_of("time_entry", row)
    state["id"] = row["id"]
    state["description"] = state["description"] or None
    state["tags"] = sorted(row.get("tags") or [])  # the names, as readable in the table
    return state


def entry_states(rows: Any) -> dict[int, dict[str, Any]]:
    return {r["id"]: _entry_state(r) for r in rows}


def server_entry_states(sim: Any) -> dict[int, dict[str, Any]]:
    return entry_states(records.entry_row(r) for r in sim.state.all_time_entries())


def server_project_states(sim: Any) -> dict[int, dict[str, Any]]:
    return {r["id"]: records.state_of("project", records.project_row(r)) for r in sim.state.all_projects()}


def server_tag_states(sim: Any) -> dict[int, dict[str, Any]]:
    return {r["id"]: records.state_of("tag", records.tag_row(r)) for r in sim.state.all_tags()}


def local_states(env: SyncEnv, *, exclude_failed: bool = True) -> tuple[dict, dict, dict]:
    """Local entries, projects and tags as comparable states (rows whose create failed left out)."""
    failed = {(op["resource"], op["record_id"]) for op in env.ops("failed")} if exclude_failed else set()
    with env.engine.connect() as conn:
        entries = entry_states(
            dict(r) for r in conn.execute(select(TimeEntry.__table__)).mappings()
            if ("time_entry", r["id"]) not in failed
        )
        projects = {
            r["id"]: records.state_of("project", dict(r))
            for r in conn.execute(select(Project.__table__)).mappings() if ("project", r["id"]) not in failed
        }
        tags = {
            r["id"]: records.state_of("tag", dict(r))
            for r in conn.execute(select(Tag.__table__)).mappings() if ("tag", r["id"]) not in failed
        }
    return entries, projects, tags


def assert_local_equals_server(env: SyncEnv) -> None:
    """Local entries, projects and tags equal the server's, except records a failed operation is about."""
    entries, projects, tags = local_states(env)
    server = {
        "time_entry": server_entry_states(env.sim),
        "project": server_project_states(env.sim),
        "tag": server_tag_states(env.sim),
    }
    local = {"time_entry": entries, "project": projects, "tag": tags}
    failed_tags = set()
    for op in env.ops("failed"):
        if op["resource"] in server:
            server[op["resource"]].pop(op["record_id"], None)
            local[op["resource"]].pop(op["record_id"], None)
        if op["resource"] == "tag":
            failed_tags.add(op["record_id"])
    # Entries show the local tags table's names: a rejected tag rename shows there too.
    for states in (server["time_entry"], local["time_entry"]):
        for state in states.values():
            if failed_tags & set(state["tag_ids"]):
                state.pop("tags")
    for resource in ("time_entry", "project", "tag"):
        mine, theirs = local[resource], server[resource]
        only_local = sorted(set(mine) - set(theirs))
        only_server = sorted(set(theirs) - set(mine))
        differ = {i: (mine[i], theirs[i]) for i in set(mine) & set(theirs) if mine[i] != theirs[i]}
        assert not (only_local or only_server or differ), (
            f"{resource}: only local {only_local}, only on the server {only_server}, differ {differ}"
        )


def make_env(make_sim: Any, tmp_path: Path | None = None, *, database: Path | str | None = None,
             retry: RetryPolicy | None = None, **sim_kwargs: Any) -> SyncEnv:
    """A SyncEnv on `database` (the `database` fixture: a file or a PostgreSQL URL), else tmp_path/cache.db."""
    sim_kwargs.setdefault("entries", 20)
    sim_kwargs.setdefault("seed", 1)
    sim_kwargs.setdefault("quotas", False)
    sim = make_sim(**sim_kwargs)
    # Time moves only when a test says so: Date headers, `at` stamps and cursors replay exactly.
    sim.clock.freeze(sim.clock.now().replace(microsecond=0))
    if database is None:
        assert tmp_path is not None
        database = tmp_path / "cache.db"
    return SyncEnv(sim, database, retry=retry or RetryPolicy.immediate())


def created_kind(path: str) -> str:
    """The kind of record a create path (POST /workspaces/{id}/<kind>s) makes."""
    return {"time_entries": "time_entry", "projects": "project", "tags": "tag", "clients": "client"}[
        path.rstrip("/").split("/")[-1]]


def sent_as(sent: dict[str, Any], body: dict[str, Any]) -> bool:
    """Whether a POST body carried this sent state (a create's fingerprint: the fields it sent at all)."""
    for name, value in sent.items():
        if value is None or name not in body:
            continue
        theirs = body[name]
        if name == "duration" and value < 0:
            value, theirs = -1, (-1 if theirs is not None and theirs < 0 else theirs)
        if isinstance(value, list):
            value, theirs = sorted(value), sorted(theirs or [])
        if name in ("start", "stop"):
            value, theirs = records.parse_ts(value), records.parse_ts(theirs)
        if value != theirs:
            return False
    return True
