"""Several Toggl accounts in one database (issue 15): each syncs within what its answers cover.

Two users on one simulator, over HTTP: `main` (the seeded user, the top-level
credentials) and `bob` (a second seeded user, who is also a member of main's
workspace, so the two share a catalog). A full re-sync of one never deletes
the other's entries, the cursor of one never hides the other's changes, one
account's catalog refresh deletes nothing in a workspace it does not belong
to, and shared catalog records are stored once.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from test_sync_support import SyncEnv, make_env

from togglsync import accounts
from togglsync.api.client import TogglClient
from togglsync.api.transport import DirectAuth
from togglsync.db.models import PendingOperation, Project, SyncCursor, TimeEntry
from togglsync.errors import ExitCode
from togglsync.local import LocalStore
from togglsync.simulator.seed import SeedInfo, seed_account
from togglsync.sync.engine import SyncOptions, lock_path, run_sync

BOB = "bob"


@dataclass
class Two:
    env: SyncEnv
    bob: SeedInfo
    bob_client: TogglClient

    def sync_main(self, **options):
        return run_sync(self.env.engine, self.env.client, SyncOptions(**options))

    def sync_bob(self, **options):
        return run_sync(self.env.engine, self.bob_client, SyncOptions(**options), account=BOB)

    def entries_of(self, user_id: int) -> set[int]:
        with self.env.engine.connect() as conn:
            return set(conn.execute(select(TimeEntry.id).where(TimeEntry.user_id == user_id, TimeEntry.id > 0)).scalars())

    def server_entries_of(self, user_id: int) -> set[int]:
        return {e["id"] for e in self.env.sim.state.all_time_entries() if e["user_id"] == user_id}


def add_bob(env: SyncEnv) -> tuple[SeedInfo, TogglClient]:
    """A second user with a workspace and entries of their own, also a member of main's workspace."""
    state = env.sim.state
    bob = seed_account(state, entries=15, seed=2, now=env.sim.clock.now())
    state.add_membership(env.sim.seed.workspace_id, bob.user_id, role="user")
    start = env.ago(hours=30).isoformat().replace("+00:00", "Z")
    state.create_time_entry(bob.user_id, env.sim.seed.workspace_id, {
        "created_with": "test", "workspace_id": env.sim.seed.workspace_id, "start": start, "duration": 900,
        "description": "bob in main's workspace"})
    client = TogglClient(env.sim.url, DirectAuth(bob.api_token), min_interval=0, retry=env.retry, timeout=(5.0, 10.0))
    return bob, client


@pytest.fixture
def two(make_sim, database):
    env = make_env(make_sim, database=database)
    bob, client = add_bob(env)
    pair = Two(env, bob, client)
    assert pair.sync_main().exit_code == ExitCode.OK
    with env.engine.begin() as conn:
        accounts.add(conn, BOB, env.sim.clock.now())
    assert pair.sync_bob().exit_code == ExitCode.OK
    yield pair
    client.close()
    env.close()


def test_both_accounts_hold_their_own_entries_and_share_the_catalog_once(two):
    main_user, bob_user = two.env.sim.seed.user_id, two.bob.user_id
    assert two.entries_of(main_user) == two.server_entries_of(main_user)
    assert two.entries_of(bob_user) == two.server_entries_of(bob_user)
    with two.env.engine.connect() as conn:
        assert accounts.user_of(conn, accounts.IMPLICIT) == main_user
        assert accounts.user_of(conn, BOB) == bob_user
        # Main's workspace is both accounts'; its projects are stored once.
        assert two.env.sim.seed.workspace_id in accounts.workspaces(conn, BOB)
        ids = conn.execute(select(Project.id)).scalars().all()
        assert len(ids) == len(set(ids)) == len(two.env.sim.state.all_projects())
        # Each account has cursors of its own.
        cursors = set(conn.execute(select(SyncCursor.account, SyncCursor.resource)).all())
    assert {(accounts.IMPLICIT, "time_entries"), (BOB, "time_entries")} <= cursors


@pytest.mark.parametrize("who", ["main", "bob"])
def test_a_full_resync_of_one_account_never_deletes_the_others_entries(two, who):
    main_user, bob_user = two.env.sim.seed.user_id, two.bob.user_id
    mine, theirs = (main_user, bob_user) if who == "main" else (bob_user, main_user)
    # One of this account's own entries was deleted on Toggl: the re-sync's absence removes it.
    gone = min(two.server_entries_of(mine))
    two.env.sim.state.delete_time_entry(mine, two.env.sim.state.entries[gone].workspace_id, gone)
    before = two.entries_of(theirs)
    sync = two.sync_main if who == "main" else two.sync_bob
    result = sync(full_entries=True, accept_empty_resync=True, force_catalog=True)
    assert result.exit_code == ExitCode.OK, result
    assert two.entries_of(theirs) == before  # nothing of the other account was touched
    assert two.entries_of(mine) == two.server_entries_of(mine)
    assert gone not in two.entries_of(mine)


def test_the_cursor_of_one_account_never_hides_the_others_changes(two):
    bob_user = two.bob.user_id
    entry = max(two.server_entries_of(bob_user))
    wid = two.env.sim.state.entries[entry].workspace_id
    two.env.sim.clock.advance(60)
    two.env.sim.state.update_time_entry(bob_user, wid, entry, {"description": "edited on bob's phone"})
    two.env.sim.clock.advance(600)
    # Main syncs after the change: its cursor moves past it, bob's does not.
    assert two.sync_main().exit_code == ExitCode.OK
    assert two.env.entry(entry)["description"] != "edited on bob's phone"
    result = two.sync_bob()
    assert result.exit_code == ExitCode.OK
    assert two.env.entry(entry)["description"] == "edited on bob's phone"


def test_a_catalog_refresh_deletes_nothing_in_a_workspace_the_account_does_not_belong_to(two):
    """Bob's snapshot lacks main's second look at its own records: nothing of main's workspace
    that bob cannot see is gone; and leaving a workspace another account still belongs to keeps it."""
    main_wid = two.env.sim.seed.workspace_id
    before = two.env.dump()
    two.env.sim.state.remove_membership(main_wid, two.bob.user_id)
    result = two.sync_bob(force_catalog=True)
    assert result.exit_code == ExitCode.OK, result
    after = two.env.dump()
    for table in ("workspaces", "projects", "clients", "tags"):
        assert after[table] == before[table], table
    assert two.entries_of(two.env.sim.seed.user_id) == two.server_entries_of(two.env.sim.seed.user_id)
    with two.env.engine.connect() as conn:
        assert main_wid not in accounts.workspaces(conn, BOB)
        assert main_wid in accounts.workspaces(conn, accounts.IMPLICIT)


def test_offline_edits_go_to_their_accounts_and_each_sync_pushes_only_its_own(two):
    env = two.env
    main_user, bob_user = env.sim.seed.user_id, two.bob.user_id
    now = env.sim.clock.now()
    mine = LocalStore(env.engine, clock=lambda: now).add_entry("main's offline", start=env.ago(hours=2), duration=600)
    bobs = LocalStore(env.engine, clock=lambda: now, account=BOB).add_entry("bob's offline", start=env.ago(hours=2), duration=900)
    assert (mine["user_id"], bobs["user_id"]) == (main_user, bob_user)
    # Both may run a timer: one timer per user, not per database.
    LocalStore(env.engine, clock=lambda: now).start_timer("main's timer")
    LocalStore(env.engine, clock=lambda: now, account=BOB).start_timer("bob's timer")
    with env.engine.connect() as conn:
        owners = dict(conn.execute(
            select(PendingOperation.account, func.count()).group_by(PendingOperation.account)).all())
        assert conn.execute(select(func.count()).select_from(TimeEntry).where(TimeEntry.duration < 0)).scalar() == 2
    assert owners[accounts.IMPLICIT] >= 2 and owners[BOB] >= 2
    env.sim.log.clear()
    assert two.sync_main().exit_code == ExitCode.OK
    # Main's sync sent only main's (with main's token): bob's wait for bob's sync.
    with env.engine.connect() as conn:
        left = set(conn.execute(select(PendingOperation.account)).scalars())
    assert left == {BOB}
    assert two.sync_bob().exit_code == ExitCode.OK
    assert env.live_ops() == []
    assert two.entries_of(main_user) == two.server_entries_of(main_user)
    assert two.entries_of(bob_user) == two.server_entries_of(bob_user)
    running = [e for e in env.sim.state.all_time_entries() if e["duration"] < 0]
    assert sorted(e["description"] for e in running) == ["bob's timer", "main's timer"]


def test_an_account_nobody_added_is_still_refused(two):
    """A third user's token under main's or bob's name is another account: refused, nothing stored
    (the answer names the user: an entry changed since the cursors, like tests/test_account_guard.py)."""
    two.env.sim.clock.advance(60)
    third = seed_account(two.env.sim.state, entries=3, seed=3, now=two.env.sim.clock.now())
    two.env.sim.state.create_time_entry(third.user_id, third.workspace_id, {
        "created_with": "test", "workspace_id": third.workspace_id, "description": "theirs",
        "start": two.env.ago(hours=1).isoformat().replace("+00:00", "Z"), "duration": 60})
    client = TogglClient(two.env.sim.url, DirectAuth(third.api_token), min_interval=0, retry=two.env.retry)
    before = two.env.dump()
    for name in (accounts.IMPLICIT, BOB):
        result = run_sync(two.env.engine, client, SyncOptions(), account=name)
        assert result.exit_code == ExitCode.USAGE and "Toggl user" in (result.error or ""), result
    # Bob's token under a new name: one Toggl user has one name.
    result = run_sync(two.env.engine, two.bob_client, SyncOptions(), account="again")
    assert result.exit_code == ExitCode.USAGE and "already synced here as account 'bob'" in (result.error or "")
    assert two.env.dump() == before
    client.close()


def test_each_account_has_its_own_lock(tmp_path):
    db = str(tmp_path / "t.db")
    assert lock_path(db) == tmp_path / "t.db.lock"  # main's, as before accounts
    assert lock_path(db, BOB) == tmp_path / "t.db.bob.lock"
    assert accounts.lock_scope(BOB) != accounts.lock_scope(accounts.IMPLICIT)


def test_a_sync_of_every_account_makes_one_engine_for_the_run(synced):
    """`togglsync sync` of three accounts, nothing changed: one engine for the whole run (its
    pool's first connection, on PostgreSQL the dialect's questions to the server), its connections
    lent from one account to the next; not an engine (three on PostgreSQL) per account."""
    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    for n, seed in enumerate((8, 9)):
        other = seed_account(synced.sim.state, entries=5, seed=seed)
        added = synced.run("accounts", "add", f"m{n}", input=other.api_token + "\n")
        assert added.exit_code == 0, added.output
    first = synced.run("sync")  # the new accounts' first sync
    assert first.exit_code == 0, first.output
    seen = {"pools": 0, "connections": 0}

    def pool_first(*_: object) -> None:
        seen["pools"] += 1

    def connection(*_: object) -> None:
        seen["connections"] += 1

    event.listen(Pool, "first_connect", pool_first)
    event.listen(Pool, "connect", connection)
    try:
        result = synced.run("sync")
    finally:
        event.remove(Pool, "first_connect", pool_first)
        event.remove(Pool, "connect", connection)
    assert result.exit_code == 0, result.output
    assert [line.split(":")[0] for line in result.output.splitlines() if ": sync:" in line] == ["main", "m0", "m1"]
    assert seen["pools"] <= 1, seen
    assert seen["connections"] <= 3, seen
