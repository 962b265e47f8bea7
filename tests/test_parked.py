"""Parked operations (refused by Toggl) are retried on their own, and never silently.

Issue 10, case 4: edits naming a project deleted on Toggl are refused and
parked; the healing catalog refresh of that sync may fail (503, a 402 on the
user quota, `--budget`). A later sync, once the back-off is over, refreshes the
catalog and sends them; while anything is parked, `sync` exits 7 and says so.
Against the simulator over real HTTP; our clock is the test's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import json

import pytest
from test_sync_support import SyncEnv, assert_local_equals_server

from togglsync import outbox
from togglsync.errors import ExitCode
from togglsync.sync import plan
from togglsync.sync.engine import SyncOptions, SyncResult, run_sync

QUOTA_HEADERS = {"X-Toggl-Quota-Remaining": "0", "X-Toggl-Quota-Resets-In": "1800"}
ENTRY_POSTS = "/workspaces/*/time_entries"


class Clock:
    """Our (local) clock: moves only when the test says so (from a minute after the fixture's sync)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def sync(env: SyncEnv, clock: Clock, **options: Any) -> SyncResult:
    return run_sync(env.engine, env.client, SyncOptions(**options), clock=clock)


def _stopped_entry(env: SyncEnv) -> dict[str, Any]:
    return next(e for e in sorted(env.entries().values(), key=lambda e: -e["id"]) if e["id"] > 0 and e["duration"] >= 0)


def _edits_on_a_project_deleted_elsewhere(env: SyncEnv) -> tuple[int, int]:
    """An offline update and an offline create naming a project that Toggl then deletes."""
    doomed = env.sim.seed.project_ids[2]
    edited = _stopped_entry(env)["id"]
    env.store.edit_entry(edited, description="moved to a doomed project", project_id=doomed)
    env.store.add_entry("new on a doomed project", start=env.ago(hours=3), duration=600, project_id=doomed)
    env.remote_delete_project(doomed)
    return doomed, edited


def _assert_edits_landed(env: SyncEnv, doomed: int, edited: int) -> None:
    assert env.ops() == []
    server = env.server_entry(edited)
    assert server is not None
    assert (server["description"], server["project_id"]) == ("moved to a doomed project", None)
    [created] = env.server_entries_described("new on a doomed project")
    assert created["project_id"] is None and created["duration"] == 600
    assert env.project(doomed) is None
    assert_local_equals_server(env)


def _fail_healing(env: SyncEnv, how: str, clock: Clock) -> SyncResult:
    if how == "503":
        env.sim.faults.add(status=503, method="GET", path="/me", count=10)  # outlasts the retries
        return sync(env, clock)
    if how == "402":
        env.sim.faults.add(status=402, method="GET", path="/me", headers=QUOTA_HEADERS, body="user quota spent")
        return sync(env, clock)
    # --budget: the pull, the two refused writes, and no request left for GET /me.
    return sync(env, clock, budget=3)


@pytest.mark.parametrize("how", ["503", "402", "budget"])
def test_edits_parked_when_the_healing_refresh_fails_are_sent_once_the_back_off_is_over(env, how):
    clock = Clock()
    doomed, edited = _edits_on_a_project_deleted_elsewhere(env)
    first = _fail_healing(env, how, clock)
    assert first.exit_code != ExitCode.OK, first
    assert [op["state"] for op in env.ops()] == ["failed", "failed"]
    env.sim.faults.clear()

    # Before the back-off is over: nothing is resent, and the sync says edits wait.
    clock.advance(minutes=1)
    env.sim.log.clear()
    waiting = sync(env, clock)
    assert waiting.requests == 1 and env.writes() == []
    assert waiting.exit_code == ExitCode.FAILED_OPS and waiting.parked == 2, waiting

    # Past it: one catalog refresh detaches the dead project, and the edits go.
    clock.advance(minutes=plan.PARKED_FIRST_WAIT.total_seconds() / 60)
    env.sim.log.clear()
    healed = sync(env, clock)
    assert healed.exit_code == ExitCode.OK and healed.parked == 0, healed
    assert sorted(r.method for r in env.writes()) == ["POST", "PUT"]
    assert [r.normalized_path for r in env.sim.log.records if r.method == "GET"].count("/me") == 1
    _assert_edits_landed(env, doomed, edited)

    env.sim.log.clear()
    assert sync(env, clock).requests == 1


def test_a_permanently_refused_edit_is_retried_with_a_doubling_bounded_back_off(env):
    clock = Clock()
    env.store.add_entry("refused for good", start=env.ago(hours=2), duration=60)
    env.sim.faults.add(status=400, method="POST", path=ENTRY_POSTS, body="Refused for its own reasons", count=1000)
    first = sync(env, clock)
    assert first.exit_code == ExitCode.FAILED_OPS and first.parked == 1
    posts_at: list[datetime] = []
    for _ in range(24 * 4):  # a day of syncs every 15 minutes
        clock.advance(minutes=15)
        env.sim.log.clear()
        result = sync(env, clock)
        assert result.exit_code == ExitCode.FAILED_OPS and result.parked == 1, result
        if env.writes():
            posts_at.append(clock.now)
    waits = [b - a for a, b in zip(posts_at, posts_at[1:])]
    assert waits == sorted(waits) and waits[-1] <= plan.PARKED_MAX_WAIT + timedelta(minutes=15)
    assert 3 <= len(posts_at) <= 12, posts_at  # retried, but a handful of requests a day
    [op] = env.ops()
    assert op["state"] == "failed" and "its own reasons" in op["error"]


def test_an_undecided_create_is_never_retried_on_its_own_but_keeps_the_exit_code(env):
    clock = Clock()
    env.store.add_entry("which one is mine", start=env.ago(hours=2), duration=60)
    [op] = env.ops()
    with env.engine.begin() as conn:
        outbox.park_undecided(conn, op["id"], "ambiguous: 2 records on Toggl match this create", clock())
    for _ in range(3):
        clock.advance(hours=12)
        env.sim.log.clear()
        result = sync(env, clock)
        assert env.writes() == [] and result.requests == 1
        assert result.exit_code == ExitCode.FAILED_OPS and result.parked == 1


def test_a_no_change_sync_with_nothing_parked_is_still_one_request(env):
    clock = Clock()
    for _ in range(3):
        clock.advance(minutes=20)
        env.sim.log.clear()
        result = sync(env, clock)
        assert result.requests == 1 and result.exit_code == ExitCode.OK and result.parked == 0


# --- the parking rule ----------------------------------------------------------------------------


T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _step(*, minutes: float, attempts: int = 1, catalog_minutes: float | None = -60, references: bool = True,
          error: str = "400: project not found") -> plan.Parked:
    catalog_at = None if catalog_minutes is None else T0 + timedelta(minutes=catalog_minutes)
    return plan.parked_step(
        error=error, attempts=attempts, parked_at=T0, now=T0 + timedelta(minutes=minutes),
        catalog_at=catalog_at, references=references,
    )


def test_parked_rule_waits_out_the_back_off_then_refreshes_the_catalog_or_retries():
    assert _step(minutes=1) is plan.Parked.WAIT
    assert _step(minutes=5) is plan.Parked.REFRESH  # its references may be dead: a catalog first
    assert _step(minutes=5, catalog_minutes=2) is plan.Parked.RETRY  # refreshed since it was parked
    assert _step(minutes=5, references=False) is plan.Parked.RETRY
    assert _step(minutes=1, references=False) is plan.Parked.WAIT


def test_parked_rule_back_off_doubles_and_is_capped():
    assert plan.parked_wait(1) == plan.PARKED_FIRST_WAIT
    assert plan.parked_wait(2) == 2 * plan.PARKED_FIRST_WAIT
    assert plan.parked_wait(0) == plan.PARKED_FIRST_WAIT
    assert plan.parked_wait(50) == plan.PARKED_MAX_WAIT
    assert _step(minutes=9, attempts=2, references=False) is plan.Parked.WAIT
    assert _step(minutes=10, attempts=2, references=False) is plan.Parked.RETRY


def test_parked_rule_leaves_what_the_user_must_decide_alone():
    assert _step(minutes=10**6, error="ambiguous: 2 records on Toggl match this create") is plan.Parked.WAIT
    assert _step(minutes=10**6, error="") is plan.Parked.WAIT


def test_parked_rule_trusts_no_stamp_from_the_future():
    # Our clock went back: the wait is measured from now on, never stuck for the skew.
    assert _step(minutes=-600, references=False) is plan.Parked.RETRY


# --- the command line ----------------------------------------------------------------------------


def test_sync_quiet_says_in_one_line_that_edits_wait_until_they_are_dropped(synced):
    assert synced.run("add", "refused by Toggl", "--start", "-2h", "--duration", "10m").exit_code == 0
    synced.sim.faults.add(status=400, method="POST", path=ENTRY_POSTS, body="Refused for its own reasons", count=100)
    for _ in range(3):
        result = synced.run("sync", "--quiet")
        assert result.exit_code == ExitCode.FAILED_OPS, (result.stdout, result.stderr)
        assert result.stdout == ""
        [line] = result.stderr.splitlines()
        assert "1 local change is waiting for you" in line and "togglsync pending" in line

    shown = synced.run("status")
    assert "1 waiting for you: see `togglsync pending`" in shown.stdout, shown.stdout
    status = json.loads(synced.run("status", "--json").stdout)
    assert status["failed"] == 1 and status["pending"] == 1

    loud = synced.run("sync")
    assert loud.exit_code == ExitCode.FAILED_OPS
    assert any("waiting for you" in line for line in loud.stderr.splitlines())

    [op] = json.loads(synced.run("pending", "--json").stdout)
    assert synced.run("pending", "drop", op["id"]).exit_code == 0
    result = synced.run("sync", "--quiet")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
