"""Recognising our own create after its answer was lost (issue 10, cases 2, 3 and 9).

A create whose outcome is unknown (5xx, dropped answer, crash) stays in flight;
the next sync decides from pulled data whether Toggl has it. These scenes try
to fool that decision: look-alike records (ours or a colleague's), our record
edited, renamed or deleted on another device before we look, and a server that
is eventually consistent and normalises text. In every one: no duplicate on
Toggl, no record resurrected, nothing of ours adopted as someone else's, and
where the evidence cannot tell, the create is parked for the user to settle.

Against the simulator over real HTTP.
"""

from __future__ import annotations

import unicodedata
from datetime import timedelta

import pytest
from test_sync_support import SyncEnv, assert_local_equals_server

from togglsync import records
from togglsync.errors import ExitCode
from togglsync.queue import list_pending, retry_operation
from togglsync import queue
from togglsync.sync import plan

ENTRY_POSTS = "/workspaces/*/time_entries"
PAST_MARGIN = plan.VISIBILITY_MARGIN.total_seconds() + 1


def _quiet(env: SyncEnv) -> None:
    """No running timer on Toggl, so a timer started here stops nothing."""
    running = [e for e in env.sim.state.all_time_entries() if e["duration"] < 0]
    for entry in running:
        env.remote_update_entry(entry["id"], stop=records.format_ts(env.ago(seconds=1)))
    env.sync()


def _ours_at(env: SyncEnv, start) -> list[dict]:
    stamp = records.format_ts(start)
    return [
        e for e in env.sim.state.all_time_entries()
        if records.format_ts(records.parse_ts(e["start"])) == stamp
    ]


def _assert_settled(env: SyncEnv) -> None:
    assert env.live_ops() == [], env.live_ops()
    assert_local_equals_server(env)
    env.sim.log.clear()
    result = env.sync()
    assert env.writes() == [] and result.requests == 1


# --- case 2: look-alikes are not adopted as each other ---------------------------------------------


@pytest.mark.parametrize("scene", ["same start and description, other duration", "blank description, other project"])
def test_2_a_look_alike_of_an_entry_already_on_toggl_is_sent_not_adopted(env, scene):
    env.sim.clock.freeze()
    start = env.ago(hours=3)
    if scene.startswith("same"):
        first = dict(description="Meeting", start=start, duration=3600)
        second = dict(description="Meeting", start=start, duration=1500)
    else:
        env.store.create_project("Client work A")
        env.store.create_project("Client work B")
        env.sync()
        ids = {p["name"]: p["id"] for p in env.sim.state.all_projects()}
        a, b = {"id": ids["Client work A"]}, {"id": ids["Client work B"]}
        first = dict(description=None, start=start, duration=1800, project_id=a["id"])
        second = dict(description=None, start=start, duration=1800, project_id=b["id"])
    env.store.add_entry(**first)
    env.sync()
    assert len(_ours_at(env, start)) == 1
    local_second = env.store.add_entry(**second)
    env.sim.faults.add(status=502, method="POST", path=ENTRY_POSTS)  # refused before applying: it did not land
    env.sync()
    assert env.ops()[0]["state"] == "in_flight"

    env.sim.clock.advance(PAST_MARGIN)
    env.sim.log.clear()
    result = env.sync()
    assert result.adopted == 0
    assert env.sim.log.count("POST") == 1, "the second entry must be sent, not adopted as the first"
    on_toggl = _ours_at(env, start)
    assert len(on_toggl) == 2
    assert env.entry(local_second["id"]) is None  # it has its Toggl id now
    _assert_settled(env)


def test_2_an_offline_project_is_never_adopted_as_a_colleagues_look_alike(env):
    env.sim.clock.freeze()
    env.store.create_client("Client A")
    env.store.create_client("Client B")
    env.sync()
    ids = {c["name"]: c["id"] for c in env.sim.state.all_clients()}
    ours = env.store.create_project("Website", client_id=ids["Client B"])
    entry = env.store.add_entry("homepage", start=env.ago(hours=2), duration=900, project_id=ours["id"])
    env.sim.faults.add(status=503, method="POST", path="/workspaces/*/projects")
    env.sync()
    # A colleague creates their own "Website", for client A, before we look again.
    theirs = env.remote_create_project("Website", client_id=ids["Client A"])

    env.sim.clock.advance(PAST_MARGIN)
    result = env.sync()
    assert result.adopted == 0
    # Our entry is not billed to their client's project.
    server_entries = env.server_entries_described("homepage")
    assert all(e["project_id"] != theirs["id"] for e in server_entries)
    [still_theirs] = [p for p in env.sim.state.all_projects() if p["id"] == theirs["id"]]
    assert still_theirs["client_id"] == ids["Client A"]
    parked = [op for op in list_pending(env.engine) if op["state"] == "failed"]
    assert parked and parked[0]["resource"] == "project" and "Website" in parked[0]["error"]
    assert result.exit_code == ExitCode.FAILED_OPS
    del entry


# --- case 3: our create, edited / renamed / deleted elsewhere before we look ---------------------------


def _lost_timer(env: SyncEnv, description: str = "lost timer") -> tuple[dict, dict]:
    _quiet(env)
    timer = env.store.start_timer(description, start=env.ago(minutes=30))
    env.sim.faults.add(method="POST", path=ENTRY_POSTS, drop_response=True)  # applied, answer lost
    env.sync()
    assert env.ops()[0]["state"] == "in_flight"
    [landed] = env.server_entries_described(description)
    return timer, landed


@pytest.mark.parametrize("edit", ["description", "start"])
def test_3_a_lost_create_edited_on_another_device_is_not_sent_twice(env, edit):
    timer, landed = _lost_timer(env)
    env.sim.clock.advance(30)
    if edit == "description":
        env.remote_update_entry(landed["id"], description="renamed on the phone")
    else:
        env.remote_update_entry(landed["id"], start=records.format_ts(env.ago(minutes=45)))

    for _ in range(3):
        env.sim.clock.advance(PAST_MARGIN)
        env.sim.log.clear()
        result = env.sync()
        assert env.sim.log.count("POST") == 0, "a second copy was created"
    assert len(env.sim.state.all_time_entries()) == len({e["id"] for e in env.sim.state.all_time_entries()})
    # The evidence cannot tell "ours, edited" from "someone else's": the user decides.
    [op] = [op for op in list_pending(env.engine) if op["state"] == "failed"]
    assert str(landed["id"]) in op["error"] and "togglsync pending adopt" in op["error"]
    assert result.exit_code == ExitCode.FAILED_OPS

    queue.adopt_operation(env.engine, op["id"], landed["id"])
    assert env.entry(timer["id"]) is None
    assert env.entry(landed["id"]) is not None
    _assert_settled(env)
    assert len([e for e in env.sim.state.all_time_entries() if e["id"] == landed["id"]]) == 1


def test_3_settling_the_other_way_sends_it(env):
    timer, landed = _lost_timer(env)
    env.remote_update_entry(landed["id"], description="someone else's after all")
    env.sim.clock.advance(PAST_MARGIN)
    env.sync()
    [op] = [op for op in list_pending(env.engine) if op["state"] == "failed"]
    retry_operation(env.engine, op["id"])
    env.sim.log.clear()
    env.sync()
    assert env.sim.log.count("POST") == 1
    assert len(env.server_entries_described("lost timer")) == 1
    assert env.entry(timer["id"]) is None


def test_3_a_lost_create_deleted_on_another_device_is_not_resurrected(env):
    timer, landed = _lost_timer(env)
    env.sim.clock.advance(30)
    env.remote_delete_entry(landed["id"])
    for _ in range(2):
        env.sim.clock.advance(PAST_MARGIN)
        env.sim.log.clear()
        result = env.sync()
        assert env.sim.log.count("POST") == 0, "resurrected"
    assert env.server_entries_described("lost timer") == []
    assert env.entry(timer["id"]) is None and env.entry(landed["id"]) is None
    assert result.exit_code == ExitCode.OK
    _assert_settled(env)


@pytest.mark.parametrize("resource", ["tag", "project"])
def test_3_a_lost_catalog_create_renamed_elsewhere_is_not_sent_twice(env, resource):
    env.sim.clock.freeze()
    if resource == "tag":
        local = env.store.create_tag("lost-tag")
        path = "/workspaces/*/tags"
    else:
        local = env.store.create_project("Lost project")
        path = "/workspaces/*/projects"
    env.sim.faults.add(method="POST", path=path, drop_response=True)
    env.sync()
    if resource == "tag":
        [landed] = [t for t in env.sim.state.all_tags() if t["name"] == "lost-tag"]
        env.sim.state.update_tag(env.uid, env.wid, landed["id"], {"name": "renamed-tag"})
        count = lambda: len(env.sim.state.all_tags())
    else:
        [landed] = [p for p in env.sim.state.all_projects() if p["name"] == "Lost project"]
        env.sim.state.update_project(env.uid, env.wid, landed["id"], {"name": "Renamed project"})
        count = lambda: len(env.sim.state.all_projects())
    before = count()
    for _ in range(2):
        env.sim.clock.advance(PAST_MARGIN)
        env.sim.log.clear()
        env.sync()
        assert env.sim.log.count("POST") == 0
    assert count() == before
    [op] = [op for op in list_pending(env.engine) if op["state"] == "failed"]
    assert str(landed["id"]) in op["error"]
    queue.adopt_operation(env.engine, op["id"], landed["id"])
    _assert_settled(env)
    del local


def test_3_a_lost_tag_create_deleted_elsewhere_is_not_resurrected(env):
    env.sim.clock.freeze()
    env.store.create_tag("short-lived")
    env.sim.faults.add(method="POST", path="/workspaces/*/tags", drop_response=True)
    env.sync()
    [landed] = [t for t in env.sim.state.all_tags() if t["name"] == "short-lived"]
    env.remote_delete_tag(landed["id"])
    env.sim.clock.advance(PAST_MARGIN)
    env.sim.log.clear()
    env.sync()
    assert env.sim.log.count("POST") == 0
    assert [t for t in env.sim.state.all_tags() if t["name"] == "short-lived"] == []
    _assert_settled(env)


# --- case 9: eventual consistency and normalised text -----------------------------------------------


def test_9_a_create_visible_only_later_than_the_cursor_overlap_is_not_sent_twice(env):
    _quiet(env)
    env.sim.state.visibility_delay = timedelta(seconds=150)
    env.store.add_entry("slow to appear", start=env.ago(hours=1), duration=600)
    env.sim.faults.add(method="POST", path=ENTRY_POSTS, drop_response=True)
    env.sync()
    for step in (130, 70, 200):  # invisible at +130, visible from +150
        env.sim.clock.advance(step)
        env.sim.log.clear()
        env.sync()
        assert env.sim.log.count("POST") == 0
    assert len(env.server_entries_described("slow to appear")) == 1
    _assert_settled(env)


def test_9_a_server_that_normalises_descriptions_is_not_fooled(env):
    _quiet(env)
    env.sim.state.normalize_text = True
    decomposed = unicodedata.normalize("NFD", "Café résumé")
    env.store.add_entry(decomposed, start=env.ago(hours=1), duration=600)
    env.sim.faults.add(method="POST", path=ENTRY_POSTS, drop_response=True)
    env.sync()
    env.sim.clock.advance(PAST_MARGIN)
    env.sim.log.clear()
    result = env.sync()
    assert env.sim.log.count("POST") == 0 and result.adopted == 1
    assert len(env.server_entries_described("Café résumé")) == 1
    _assert_settled(env)


def test_2_no_other_create_of_the_kind_goes_while_one_waits_to_be_recognised(env):
    _quiet(env)
    env.store.add_entry("standup", start=env.ago(hours=5), duration=900)
    env.sim.faults.add(status=502, method="POST", path=ENTRY_POSTS)  # did not land: waits out the margin
    env.sync()
    env.store.add_entry("standup", start=env.ago(hours=4), duration=900)  # the next day's, same description
    env.sim.log.clear()
    result = env.sync()
    assert env.sim.log.count("POST") == 0 and result.blocked >= 1
    env.sim.clock.advance(PAST_MARGIN)
    result = env.sync()
    assert result.failed == 0, result.failures  # not parked as "outcome unknown" because of the later one
    assert len(env.server_entries_described("standup")) == 2
    _assert_settled(env)


def test_3_a_lost_timer_stopped_here_by_a_later_one_is_still_recognised(env):
    """Found by the model test: the pull brought our lost timer (running on Toggl) while a
    later timer started here had stopped our copy; the one-timer rule stopped the synced
    one as if it were another device's, and the create went again."""
    timer, landed = _lost_timer(env, "lost, then overtaken")
    env.store.start_timer("the next one", start=timer["start"] + timedelta(minutes=5))
    env.sim.clock.advance(PAST_MARGIN)
    env.sim.log.clear()
    env.sync()
    assert env.sim.log.count("POST", ENTRY_POSTS) == 1  # only the next timer
    [ours] = env.server_entries_described("lost, then overtaken")
    assert ours["id"] == landed["id"] and ours["duration"] == 300
    _assert_settled(env)
