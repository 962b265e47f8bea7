"""Competing timers: one runs per user, the later start wins, the earlier stops at the later's start.

Toggl stops the running entry when a create of a running one arrives, at its
own clock: a timer started offline and pushed hours later would stop the
other device's timer at sync time, counting the overlap twice. Each scene
plays "the phone" as a second TogglClient with the same token, over HTTP,
against a frozen simulator clock; the times read like the issue's (13:00,
14:00, ...: hours after the first sync).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from test_sync_support import SyncEnv, assert_local_equals_server

from togglsync import records
from togglsync.local import LocalStore
from togglsync.sync.engine import SyncOptions, SyncResult

HOUR = 3600


@dataclass
class Scene:
    """An env with no timer running anywhere, its clock at "12:00" of the scene, the log cleared."""

    env: SyncEnv
    noon: datetime

    def at(self, hour: int) -> datetime:
        """Move the simulator's clock to `hour` o'clock of the scene."""
        self.env.sim.clock.freeze(self.hour(hour))
        return self.hour(hour)

    def hour(self, hour: int) -> datetime:
        return self.noon + timedelta(hours=hour - 12)

    def store(self) -> LocalStore:
        """Offline edits made now, by the simulator's clock (this machine's clock)."""
        return LocalStore(self.env.engine, clock=self.env.sim.clock.now)

    def phone_starts(self, description: str) -> dict[str, Any]:
        """Another device starts a timer now, through the API with the same token."""
        with self.env.new_client() as phone:
            return phone.create_time_entry(self.env.wid, {
                "created_with": "phone", "workspace_id": self.env.wid, "description": description,
                "start": records.format_ts(self.env.sim.clock.now()), "duration": -1,
            })

    def server(self, description: str) -> dict[str, Any]:
        [record] = self.env.server_entries_described(description)
        return records.entry_row(record)

    def local_running(self) -> list[dict[str, Any]]:
        return [e for e in self.env.entries().values() if e["duration"] < 0]

    def sync(self, **options: Any) -> SyncResult:
        self.env.sim.log.clear()
        return self.env.sync(SyncOptions(catalog_max_age=timedelta(days=30), **options))

    def writes(self) -> list[str]:
        return [r.method for r in self.env.writes()]


@pytest.fixture
def scene(env: SyncEnv) -> Scene:
    running = env.store.running_entry()
    if running is not None:
        env.store.stop_timer(running["start"] + timedelta(minutes=1))
        env.sync(SyncOptions(catalog_max_age=timedelta(days=30)))
    assert not [r for r in env.sim.state.all_time_entries() if r["duration"] < 0]
    env.sim.log.clear()
    return Scene(env, env.sim.clock.now())


def test_a_timer_started_offline_stops_the_phones_earlier_timer_at_our_start(scene):
    scene.at(13)
    scene.phone_starts("theirs")  # we do not know it yet
    scene.at(14)
    ours = scene.store().start_timer("ours")  # offline
    scene.at(16)
    result = scene.sync()

    theirs, mine = scene.server("theirs"), scene.server("ours")
    assert (theirs["stop"], theirs["duration"]) == (scene.hour(14), HOUR), "theirs stops at our start, not at 16:00"
    assert (mine["start"], mine["duration"]) == (scene.hour(14), -1)
    # The pull, then theirs stopped before our create arrives (Toggl would stop it at 16:00), then ours.
    assert scene.writes() == ["PUT", "POST"] and result.requests == 3
    assert [e["id"] for e in scene.local_running()] == [mine["id"]]
    assert scene.env.entry(ours["id"]) is None
    assert scene.env.conflicts() == []
    assert_local_equals_server(scene.env)


def test_a_known_phone_timer_is_stopped_at_our_start_too(scene):
    scene.at(13)
    scene.phone_starts("theirs")
    scene.sync()  # we see it
    scene.at(14)
    scene.store().start_timer("ours")  # stops theirs here, at 14:00
    assert len(scene.local_running()) == 1
    scene.at(16)
    result = scene.sync()

    theirs, mine = scene.server("theirs"), scene.server("ours")
    assert (theirs["stop"], theirs["duration"]) == (scene.hour(14), HOUR)
    assert mine["duration"] < 0
    assert scene.writes() == ["PUT", "POST"] and result.requests == 3
    assert [e["id"] for e in scene.local_running()] == [mine["id"]]
    assert scene.env.conflicts() == []
    assert_local_equals_server(scene.env)


def test_b_a_later_timer_on_the_phone_stops_ours_at_its_start(scene):
    scene.at(14)
    ours = scene.store().start_timer("ours")  # offline
    scene.at(15)
    scene.phone_starts("theirs")  # later: it wins
    scene.at(16)
    result = scene.sync()

    theirs, mine = scene.server("theirs"), scene.server("ours")
    assert (theirs["start"], theirs["duration"]) == (scene.hour(15), -1), "theirs keeps running"
    assert (mine["start"], mine["stop"], mine["duration"]) == (scene.hour(14), scene.hour(15), HOUR)
    # Nothing extra: ours goes as a finished entry, which stops nothing.
    assert scene.writes() == ["POST"] and result.requests == 2
    assert [e["id"] for e in scene.local_running()] == [theirs["id"]]
    assert scene.env.entry(ours["id"]) is None
    assert scene.env.live_ops() == []
    assert_local_equals_server(scene.env)


def test_b_a_pull_never_leaves_two_timers_here(scene):
    scene.at(14)
    ours = scene.store().start_timer("ours")
    scene.at(15)
    scene.phone_starts("theirs")
    scene.at(16)
    scene.sync(push=False)

    [running] = scene.local_running()
    assert running["description"] == "theirs"
    local = scene.env.entry(ours["id"])
    assert (local["stop"], local["duration"]) == (scene.hour(15), HOUR)
    # An ordinary edit: the queued create carries it.
    assert [(op["action"], op["record_id"]) for op in scene.env.live_ops()] == [("create", ours["id"])]


def test_a_a_pull_stops_the_earlier_phone_timer_here_as_an_edit_to_send(scene):
    scene.at(13)
    theirs = scene.phone_starts("theirs")
    scene.at(14)
    ours = scene.store().start_timer("ours")
    scene.at(16)
    scene.sync(push=False)

    assert [e["id"] for e in scene.local_running()] == [ours["id"]]
    local = scene.env.entry(theirs["id"])
    assert (local["stop"], local["duration"]) == (scene.hour(14), HOUR)
    assert sorted((op["action"], op["record_id"]) for op in scene.env.live_ops()) == sorted(
        [("create", ours["id"]), ("update", theirs["id"])]
    )


def test_c_a_finished_entry_added_offline_stops_nothing(scene):
    scene.at(13)
    scene.phone_starts("theirs")
    scene.at(14)
    scene.store().add_entry("added", start=scene.hour(13), duration=HOUR // 2)
    scene.at(16)
    result = scene.sync()

    theirs, added = scene.server("theirs"), scene.server("added")
    assert theirs["duration"] < 0 and added["duration"] == HOUR // 2
    assert scene.writes() == ["POST"] and result.requests == 2
    assert [e["id"] for e in scene.local_running()] == [theirs["id"]]
    assert_local_equals_server(scene.env)


def test_an_ordinary_start_then_sync_costs_nothing_extra(scene):
    scene.at(14)
    scene.store().start_timer("ours")
    scene.at(16)
    result = scene.sync()
    assert scene.writes() == ["POST"] and result.requests == 2
    assert len(scene.local_running()) == 1
    assert_local_equals_server(scene.env)


def test_a_timer_whose_create_goes_again_is_stopped_by_a_later_phone_timer_first(scene):
    env = scene.env
    scene.at(14)
    ours = scene.store().start_timer("ours")
    env.sim.faults.add(status=502, method="POST", path="/workspaces/*/time_entries")  # refused, nothing applied
    scene.sync()
    assert env.ops()[0]["state"] == "in_flight"
    scene.at(15)
    scene.phone_starts("theirs")
    scene.at(16)
    result = scene.sync()  # the pull cannot tell yet; reconciliation queues ours again

    theirs, mine = scene.server("theirs"), scene.server("ours")
    assert (theirs["start"], theirs["duration"]) == (scene.hour(15), -1)
    assert (mine["start"], mine["stop"], mine["duration"]) == (scene.hour(14), scene.hour(15), HOUR)
    assert scene.writes() == ["POST"] and result.requests == 2
    assert [e["id"] for e in scene.local_running()] == [theirs["id"]]
    assert env.entry(ours["id"]) is None
    assert_local_equals_server(env)


def test_a_lost_timer_create_is_adopted_running_not_stopped_by_its_own_copy(scene):
    env = scene.env
    scene.at(14)
    scene.store().start_timer("ours")
    scene.at(15)
    env.sim.faults.add(method="POST", path="/workspaces/*/time_entries", drop_response=True)
    scene.sync()  # it landed; the answer was lost
    scene.at(16)
    result = scene.sync()  # the pull brings it, running, beside our copy in flight: the same timer

    mine = scene.server("ours")
    assert (mine["start"], mine["duration"]) == (scene.hour(14), -1)
    assert result.adopted == 1 and scene.writes() == []
    assert [e["id"] for e in scene.local_running()] == [mine["id"]]
    assert env.live_ops() == []
    assert_local_equals_server(env)


# --- the rule itself (pure) --------------------------------------------------------------------


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 2, hour, minute, tzinfo=UTC)


def test_the_later_start_wins_and_each_earlier_timer_stops_at_the_next_start():
    running = [{"id": 7, "start": _at(15)}, {"id": -3, "start": _at(13)}, {"id": 5, "start": _at(14)}]
    assert records.overtaken(running) == {
        -3: {"stop": _at(14), "duration": HOUR},
        5: {"stop": _at(15), "duration": HOUR},
    }
    assert records.overtaken(running[:1]) == {}
    assert records.overtaken([]) == {}


def test_a_timer_about_to_start_overtakes_the_running_one():
    assert records.overtaken([{"id": 5, "start": _at(14)}], starting=_at(14, 30)) == {
        5: {"stop": _at(14, 30), "duration": HOUR // 2}
    }
    assert records.overtaken([], starting=_at(14)) == {}


def test_equal_starts_the_timer_toggl_has_keeps_running():
    assert records.overtaken([{"id": 9, "start": _at(14)}, {"id": -4, "start": _at(14)}]) == {
        -4: {"stop": _at(14), "duration": 0}
    }


def test_a_timer_in_flight_is_stopped_here_by_a_later_phone_timer_while_its_outcome_is_open(scene):
    env = scene.env
    scene.at(14)
    ours = scene.store().start_timer("ours")
    env.sim.faults.add(status=502, method="POST", path="/workspaces/*/time_entries")  # refused, nothing applied
    scene.at(15)
    env.sim.clock.advance(-20)
    scene.sync()
    scene.at(15)
    scene.phone_starts("theirs")
    scene.sync()  # the send is 20 s old: too soon to tell whether it landed
    assert env.ops()[0]["state"] == "in_flight"
    [running] = scene.local_running()
    assert running["description"] == "theirs"
    assert env.entry(ours["id"])["stop"] == scene.hour(15)

    scene.at(16)
    scene.sync()
    mine, theirs = scene.server("ours"), scene.server("theirs")
    assert (mine["stop"], mine["duration"]) == (scene.hour(15), HOUR) and theirs["duration"] < 0
    assert [e["id"] for e in scene.local_running()] == [theirs["id"]]
    assert env.live_ops() == []
    assert_local_equals_server(env)
