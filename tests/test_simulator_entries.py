"""Simulator: time entry reads (windows, cursors, deletions) and writes (shapes, running, bulk)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

NOW = datetime(2025, 6, 16, 12, 0, 0, tzinfo=timezone.utc)


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def fsim(make_sim):
    return make_sim(entries=60, seed=5, now=NOW, quotas=False)


@pytest.fixture
def http(fsim, sim_http):
    return sim_http(fsim)


@pytest.fixture
def wid(fsim):
    return fsim.seed.workspace_id


def create(http, wid, **fields):
    body = {"created_with": "tests", "workspace_id": wid, **fields}
    return http.post(f"/workspaces/{wid}/time_entries", json=body)


# -- create shapes ------------------------------------------------------------


def test_create_response_shape_differs_from_reads(http, wid):
    response = create(http, wid, start="2025-06-16T08:00:00.750Z", duration=1800, description="Café ☕")
    assert response.status_code == 200
    made = response.json()
    assert made["start"] == "2025-06-16T08:00:00Z"  # fractional seconds dropped, Z format
    assert made["stop"] == "2025-06-16T08:30:00Z"
    assert made["duration"] == 1800
    assert made["tags"] is None and made["tag_ids"] is None
    assert made["at"].endswith("Z") and len(made["at"]) == len("2025-06-16T12:00:00.000000Z")
    assert (made["wid"], made["uid"], made["pid"], made["server_deleted_at"]) == (wid, made["user_id"], None, None)

    read = http.get(f"/me/time_entries/{made['id']}").json()
    assert read["start"] == "2025-06-16T08:00:00+00:00"
    assert read["stop"] == "2025-06-16T08:30:00+00:00"
    assert read["at"].endswith("+00:00") and "." in read["at"]
    assert read["tags"] == [] and read["tag_ids"] == []
    assert read["description"] == "Café ☕"


def test_create_without_duration_is_zero_length(http, wid):
    made = create(http, wid, start="2025-06-16T09:00:00Z").json()
    assert (made["stop"], made["duration"]) == (None, 0)
    read = http.get(f"/me/time_entries/{made['id']}").json()
    assert read["stop"] == read["start"] == "2025-06-16T09:00:00+00:00"
    assert read["duration"] == 0


def test_create_with_stop_only_computes_duration(http, wid):
    made = create(http, wid, start="2025-06-16T09:00:00Z", stop="2025-06-16T10:15:00+00:00").json()
    assert made["duration"] == 4500


@pytest.mark.parametrize(
    "fields, fragment",
    [
        ({"created_with": None}, "created_with"),
        ({"workspace_id": None}, "workspace_id"),
        ({"workspace_id": 1}, "workspace_id"),
        ({"start": None}, "start"),
        ({"start": "yesterday"}, "start"),
        ({"start": "2025-06-16T09:00:00"}, "start"),  # no time zone
        ({"duration": 600, "stop": "2025-06-16T11:00:00Z"}, "match"),
        ({"duration": -1, "stop": "2025-06-16T11:00:00Z"}, "running"),
        ({"stop": "2025-06-16T08:00:00Z"}, "stop"),
        ({"tag_ids": [1]}, "Tag"),
        ({"project_id": 123}, "project"),
        ({"billable": "yes"}, "billable"),
    ],
)
def test_create_validation(http, wid, fields, fragment):
    body = {"created_with": "tests", "workspace_id": wid, "start": "2025-06-16T09:00:00Z", **fields}
    body = {k: v for k, v in body.items() if v is not None}
    response = http.post(f"/workspaces/{wid}/time_entries", json=body)
    assert response.status_code == 400
    assert fragment.lower() in response.json().lower()


def test_create_auto_creates_tags_by_name(http, wid, fsim):
    made = create(http, wid, start="2025-06-16T09:00:00Z", duration=60, tags=["brand-new", "urgent"]).json()
    assert made["tags"] == ["brand-new", "urgent"]
    names = {t["name"]: t["id"] for t in http.get(f"/workspaces/{wid}/tags").json()}
    assert names["brand-new"] in made["tag_ids"]


def test_unknown_workspace_and_entry(http, wid):
    assert create(http, 999, start="2025-06-16T09:00:00Z").status_code == 404
    missing = http.put(f"/workspaces/{wid}/time_entries/4999999999", json={"description": "x"})
    assert missing.status_code == 404
    assert missing.json() == "Time entry not found"
    assert http.get("/me/time_entries/4999999999").status_code == 404


def test_invalid_json_body_is_400(http, wid):
    response = http.post(f"/workspaces/{wid}/time_entries", data="{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400


# -- running entries ------------------------------------------------------------


def test_current_entry_uses_v8_duration(http, fsim):
    current = http.get("/me/time_entries/current").json()
    assert current["id"] == fsim.seed.running_entry_id
    assert current["stop"] is None
    assert current["duration"] == -unix(parse(current["start"]))


def test_new_running_entry_stops_the_current_one_at_server_now(http, wid, fsim):
    old_id = fsim.seed.running_entry_id
    fsim.clock.advance(30)
    made = create(http, wid, start="2025-06-16T11:59:00Z", duration=-5).json()
    assert (made["duration"], made["stop"]) == (-1, None)
    old = http.get(f"/me/time_entries/{old_id}").json()
    assert parse(old["stop"]) == NOW + timedelta(seconds=30)  # the clock, not the new start
    assert old["duration"] == unix(parse(old["stop"])) - unix(parse(old["start"]))
    assert http.get("/me/time_entries/current").json()["id"] == made["id"]
    running = [e for e in http.get("/me/time_entries").json() if e["stop"] is None]
    assert [e["id"] for e in running] == [made["id"]]


def test_stop_and_stop_again(http, wid, fsim):
    entry_id = fsim.seed.running_entry_id
    fsim.clock.advance(90)
    stopped = http.patch(f"/workspaces/{wid}/time_entries/{entry_id}/stop")
    assert stopped.status_code == 200
    assert stopped.json()["stop"] == "2025-06-16T12:01:30Z"
    again = http.patch(f"/workspaces/{wid}/time_entries/{entry_id}/stop")
    assert again.status_code == 409
    assert again.json() == "Time entry already stopped"
    nothing = http.get("/me/time_entries/current")
    assert nothing.status_code == 200 and nothing.text == "null"


# -- updates ----------------------------------------------------------------


def test_put_changes_only_given_fields_and_moves_at(http, wid):
    made = create(http, wid, start="2025-06-16T09:00:00Z", duration=600, description="before", tags=["urgent"]).json()
    updated = http.put(f"/workspaces/{wid}/time_entries/{made['id']}", json={"description": "after"}).json()
    assert updated["description"] == "after"
    assert (updated["start"], updated["duration"], updated["tags"]) == (made["start"], 600, ["urgent"])
    assert updated["at"] > made["at"]  # same frozen clock: bumped by a microsecond


def test_put_timing_rules(http, wid):
    entry = create(http, wid, start="2025-06-16T09:00:00Z", duration=600).json()
    path = f"/workspaces/{wid}/time_entries/{entry['id']}"
    by_stop = http.put(path, json={"stop": "2025-06-16T09:30:00Z"}).json()
    assert by_stop["duration"] == 1800
    by_duration = http.put(path, json={"duration": 60}).json()
    assert by_duration["stop"] == "2025-06-16T09:01:00Z"
    by_start = http.put(path, json={"start": "2025-06-16T08:59:00Z"}).json()
    assert (by_start["stop"], by_start["duration"]) == ("2025-06-16T09:01:00Z", 120)  # stop kept
    assert http.put(path, json={"start": "2025-06-16T10:00:00Z"}).status_code == 400
    assert http.put(path, json={"duration": 10, "stop": "2025-06-16T10:00:00Z"}).status_code == 400


def test_put_tag_actions(http, wid):
    entry = create(http, wid, start="2025-06-16T09:00:00Z", duration=60, tags=["urgent", "meeting"]).json()
    path = f"/workspaces/{wid}/time_entries/{entry['id']}"
    added = http.put(path, json={"tags": ["review"], "tag_action": "add"}).json()
    assert sorted(added["tags"]) == ["meeting", "review", "urgent"]
    removed = http.put(path, json={"tags": ["urgent"], "tag_action": "delete"}).json()
    assert sorted(removed["tags"]) == ["meeting", "review"]
    meeting_id = removed["tag_ids"][removed["tags"].index("meeting")]
    by_id = http.put(path, json={"tag_ids": [meeting_id], "tag_action": "delete"}).json()
    assert by_id["tags"] == ["review"]
    replaced = http.put(path, json={"tags": []}).json()
    assert replaced["tags"] is None  # write-shaped: empty -> null
    assert http.put(path, json={"tags": ["x"], "tag_action": "toggle"}).status_code == 400


def test_delete_entry(http, wid, fsim):
    entry = create(http, wid, start="2025-06-16T09:00:00Z", duration=60).json()
    fsim.clock.advance(5)
    deleted = http.delete(f"/workspaces/{wid}/time_entries/{entry['id']}")
    assert deleted.status_code == 200 and deleted.content == b""
    assert http.get(f"/me/time_entries/{entry['id']}").status_code == 404
    assert http.delete(f"/workspaces/{wid}/time_entries/{entry['id']}").status_code == 404
    changed = http.get("/me/time_entries", params={"since": unix(NOW)}).json()
    (gone,) = [e for e in changed if e["id"] == entry["id"]]
    assert parse(gone["server_deleted_at"]) == NOW + timedelta(seconds=5)
    assert parse(gone["at"]) >= NOW + timedelta(seconds=5)
    in_range = http.get("/me/time_entries", params={"start_date": "2025-06-16", "end_date": "2025-06-17"}).json()
    assert entry["id"] not in {e["id"] for e in in_range}


def test_at_order_is_change_order(http, wid, fsim):
    entry = create(http, wid, start="2025-06-16T09:00:00Z", duration=60).json()
    stamps = [entry["at"]]
    for text in ("a", "b", "c"):
        stamps.append(http.put(f"/workspaces/{wid}/time_entries/{entry['id']}", json={"description": text}).json()["at"])
    assert stamps == sorted(stamps) and len(set(stamps)) == 4
    assert parse(stamps[1]) - parse(stamps[0]) == timedelta(microseconds=1)


# -- bulk patch ---------------------------------------------------------------


def test_bulk_patch_is_partial(http, wid, fsim):
    first = create(http, wid, start="2025-06-16T09:00:00Z", duration=60, tags=["urgent"]).json()
    second = create(http, wid, start="2025-06-16T10:00:00Z", duration=60).json()
    ops = [
        {"op": "replace", "path": "/description", "value": "bulk"},
        {"op": "add", "path": "/tags", "value": ["meeting"]},
        {"op": "replace", "path": "/billable", "value": True},
    ]
    ids = f"{first['id']},4999999999,{second['id']}"
    result = http.patch(f"/workspaces/{wid}/time_entries/{ids}", json=ops).json()
    assert result["success"] == [first["id"], second["id"]]
    assert result["failure"] == [{"id": 4999999999, "message": "Time entry not found"}]
    after = http.get(f"/me/time_entries/{first['id']}").json()
    assert after["description"] == "bulk" and after["billable"] is True
    assert sorted(after["tags"]) == ["meeting", "urgent"]

    remove = [{"op": "remove", "path": "/tags", "value": ["urgent"]}, {"op": "replace", "path": "/project_id", "value": 1}]
    partial = http.patch(f"/workspaces/{wid}/time_entries/{first['id']}", json=remove).json()
    assert partial["success"] == [] and "project" in partial["failure"][0]["message"].lower()
    # Each entry is all-or-nothing: the tag removal did not land either.
    assert "urgent" in http.get(f"/me/time_entries/{first['id']}").json()["tags"]


def test_bulk_patch_limits(http, wid):
    ids = ",".join(str(4_100_000_000 + n) for n in range(101))
    ops = [{"op": "replace", "path": "/description", "value": "x"}]
    too_many = http.patch(f"/workspaces/{wid}/time_entries/{ids}", json=ops)
    assert too_many.status_code == 400 and "100" in too_many.json()
    bad_path = http.patch(f"/workspaces/{wid}/time_entries/4100000001", json=[{"op": "replace", "path": "/nope", "value": 1}])
    assert bad_path.status_code == 400
    assert http.patch(f"/workspaces/{wid}/time_entries/4100000001", json={"op": "replace"}).status_code == 400


def test_bulk_patch_timing_and_running(http, wid):
    entry = create(http, wid, start="2025-06-16T09:00:00Z", duration=60).json()
    ops = [{"op": "replace", "path": "/duration", "value": 3600}]
    assert http.patch(f"/workspaces/{wid}/time_entries/{entry['id']}", json=ops).json()["success"] == [entry["id"]]
    assert http.get(f"/me/time_entries/{entry['id']}").json()["stop"] == "2025-06-16T10:00:00+00:00"


def test_bulk_patch_moves_an_entry_as_one_put_would_and_adds_and_removes_tags(http, wid):
    """The fields' operations are one change (a new start past the old stop, with its stop,
    is no error); `add`/`remove` on /tag_ids change tags incrementally, like PUT's tag_action."""
    entry = create(http, wid, start="2025-06-16T09:00:00Z", duration=60, tags=["urgent", "old"]).json()
    urgent, old = entry["tag_ids"]
    kept = create(http, wid, start="2025-06-16T08:00:00Z", duration=60, tags=["new"]).json()["tag_ids"][0]
    ops = [
        {"op": "replace", "path": "/start", "value": "2025-06-16T11:00:00Z"},
        {"op": "replace", "path": "/stop", "value": "2025-06-16T11:30:00Z"},
        {"op": "replace", "path": "/duration", "value": 1800},
        {"op": "add", "path": "/tag_ids", "value": [kept]},
        {"op": "remove", "path": "/tag_ids", "value": [old]},
    ]
    assert http.patch(f"/workspaces/{wid}/time_entries/{entry['id']}", json=ops).json()["success"] == [entry["id"]]
    after = http.get(f"/me/time_entries/{entry['id']}").json()
    assert (after["start"], after["stop"], after["duration"]) == ("2025-06-16T11:00:00+00:00", "2025-06-16T11:30:00+00:00", 1800)
    assert sorted(after["tag_ids"]) == sorted([urgent, kept])


# -- reads: windows, cursors, parameters ----------------------------------------


def test_default_window_is_ten_days_newest_first(http, fsim):
    entries = http.get("/me/time_entries").json()
    window = datetime(2025, 6, 6, tzinfo=timezone.utc)
    assert entries and all(parse(e["start"]) >= window for e in entries)
    starts = [e["start"] for e in entries]
    assert starts == sorted(starts, reverse=True)
    everything = fsim.state.all_time_entries()
    assert any(parse(e["start"]) < window for e in everything)  # older ones exist, just not listed


def test_parameter_errors(http):
    now = unix(NOW)
    both = http.get("/me/time_entries", params={"since": now - 60, "before": "2025-06-16"})
    assert both.status_code == 400
    assert both.json() == "'since' and 'before' can not be present simultaneously"
    assert http.get("/me/time_entries", params={"start_date": "2025-06-01"}).status_code == 400
    assert http.get("/me/time_entries", params={"end_date": "2025-06-01"}).status_code == 400
    old_start = http.get("/me/time_entries", params={"start_date": "2025-03-01", "end_date": "2025-04-01"})
    assert old_start.status_code == 400
    too_old = http.get("/me/time_entries", params={"since": now - 90 * 86400})
    assert too_old.status_code == 400 and "too old" in too_old.json()
    assert http.get("/me/time_entries", params={"since": now - 89 * 86400}).status_code == 200
    assert http.get("/me/time_entries", params={"since": "abc"}).status_code == 400


def test_before_and_date_range(http):
    before = http.get("/me/time_entries", params={"before": "2025-06-10"}).json()
    assert before and all(parse(e["start"]) < datetime(2025, 6, 10, tzinfo=timezone.utc) for e in before)
    ranged = http.get("/me/time_entries", params={"start_date": "2025-06-10", "end_date": "2025-06-12T00:00:00Z"}).json()
    assert ranged
    assert all("2025-06-10" <= e["start"][:10] <= "2025-06-11" for e in ranged)


def test_meta_adds_names(http, wid, fsim):
    project_id = fsim.seed.project_ids[0]  # "Website relaunch", client "Acme Corp"
    entry = create(http, wid, start="2025-06-16T09:00:00Z", duration=60, project_id=project_id).json()
    plain = http.get(f"/me/time_entries/{entry['id']}").json()
    assert "project_name" not in plain
    rich = http.get(f"/me/time_entries/{entry['id']}", params={"meta": "true"}).json()
    assert (rich["project_name"], rich["client_name"]) == ("Website relaunch", "Acme Corp")


def test_me_with_related_data(http, fsim):
    plain = http.get("/me").json()
    assert plain["time_entries"] is None and plain["projects"] is None
    full = http.get("/me", params={"with_related_data": "true"}).json()
    assert full["tasks"] is None  # empty lists come as null
    assert len(full["projects"]) == 8 and len(full["tags"]) == 10 and len(full["clients"]) == 3
    assert [e["id"] for e in full["time_entries"]] == [e["id"] for e in http.get("/me/time_entries").json()]
    assert full["workspaces"][0]["id"] == fsim.seed.workspace_id


# -- deletions as seen through `since` -----------------------------------------------


def test_tag_deletion_strips_tags_without_touching_at(http, wid, fsim):
    entry = create(http, wid, start="2025-06-16T09:00:00Z", duration=60, tags=["doomed", "urgent"]).json()
    before = http.get(f"/me/time_entries/{entry['id']}").json()
    doomed = before["tag_ids"][before["tags"].index("doomed")]
    fsim.clock.advance(60)
    cursor = unix(fsim.clock.now())
    assert http.delete(f"/workspaces/{wid}/tags/{doomed}").status_code == 200
    fsim.clock.advance(1)

    after = http.get(f"/me/time_entries/{entry['id']}").json()
    assert after["tags"] == ["urgent"] and after["at"] == before["at"]
    assert entry["id"] not in {e["id"] for e in http.get("/me/time_entries", params={"since": cursor}).json()}
    (gone,) = http.get("/me/tags", params={"since": cursor}).json()
    assert gone["id"] == doomed and gone["server_deleted_at"] and gone["deleted_at"]
    assert doomed not in {t["id"] for t in http.get(f"/workspaces/{wid}/tags").json()}


@pytest.mark.parametrize("mode", ["unassign", "delete", None])
def test_project_deletion_modes(http, wid, fsim, mode):
    project = http.post(f"/workspaces/{wid}/projects", json={"name": "Short-lived"}).json()
    entry = create(http, wid, start="2025-06-16T09:00:00Z", duration=60, project_id=project["id"]).json()
    fsim.clock.advance(60)
    cursor = unix(fsim.clock.now())
    params = {"teDeletionMode": mode} if mode else {}
    deleted = http.delete(f"/workspaces/{wid}/projects/{project['id']}", params=params)
    assert deleted.status_code == 200 and deleted.content == b""

    (changed,) = [e for e in http.get("/me/time_entries", params={"since": cursor}).json() if e["id"] == entry["id"]]
    assert changed["at"] > entry["at"]
    if mode == "delete":
        assert changed["server_deleted_at"] is not None
    else:
        assert changed["project_id"] is None and changed["server_deleted_at"] is None
    (gone,) = http.get("/me/projects", params={"since": cursor}).json()
    assert gone["id"] == project["id"] and gone["server_deleted_at"] is not None
    assert http.get(f"/workspaces/{wid}/projects/{project['id']}").status_code == 404


def test_back_door_changes_show_up_in_since(http, fsim):
    cursor = unix(NOW)
    fsim.clock.advance(10)
    made = fsim.state.create_time_entry(
        fsim.seed.user_id,
        fsim.seed.workspace_id,
        {"created_with": "other device", "workspace_id": fsim.seed.workspace_id, "start": "2025-06-16T07:00:00Z", "duration": 60},
    )
    ids = {e["id"] for e in http.get("/me/time_entries", params={"since": cursor}).json()}
    assert made["id"] in ids
