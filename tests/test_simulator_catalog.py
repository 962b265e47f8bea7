"""Simulator: workspaces, projects, clients and tags."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

NOW = datetime(2025, 6, 16, 12, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def fsim(make_sim):
    return make_sim(entries=20, seed=7, now=NOW, quotas=False)


@pytest.fixture
def premium(make_sim):
    return make_sim(entries=20, seed=7, now=NOW, quotas=False, plan="premium")


@pytest.fixture
def http(fsim, sim_http):
    return sim_http(fsim)


@pytest.fixture
def wid(fsim):
    return fsim.seed.workspace_id


def test_workspace_users_and_organizations(http, fsim, wid):
    workspace = http.get(f"/workspaces/{wid}").json()
    assert (workspace["id"], workspace["organization_id"], workspace["premium"]) == (wid, fsim.seed.organization_id, False)
    (user,) = http.get(f"/workspaces/{wid}/users").json()
    assert (user["id"], user["email"], user["role"], user["is_active"]) == (fsim.seed.user_id, fsim.seed.email, "admin", True)
    assert [w["id"] for w in http.get("/me/workspaces").json()] == [wid]
    organization = http.get(f"/organizations/{fsim.seed.organization_id}")
    assert organization.status_code == 200 and organization.json()["pricing_plan_name"] == "Free"
    assert fsim.log.records[-1].pool == f"organization:{fsim.seed.organization_id}"
    assert http.get("/workspaces/424242").status_code == 404


def test_plans_set_premium_flags(make_sim, sim_http):
    for plan, premium_flag, business in (("free", False, False), ("starter", True, False), ("premium", True, True)):
        simulator = make_sim(entries=1, plan=plan, now=NOW)
        workspace = sim_http(simulator).get(f"/workspaces/{simulator.seed.workspace_id}").json()
        assert (workspace["premium"], workspace["business_ws"]) == (premium_flag, business)


def test_second_workspace_option(make_sim, sim_http):
    simulator = make_sim(entries=200, second_workspace=True, now=NOW)
    ids = {w["id"] for w in sim_http(simulator).get("/me/workspaces").json()}
    assert ids == {simulator.seed.workspace_id, simulator.seed.second_workspace_id}
    entries = simulator.state.all_time_entries()
    assert {e["workspace_id"] for e in entries} == ids


# -- projects -------------------------------------------------------------------


def test_project_rules(http, wid, fsim):
    created = http.post(f"/workspaces/{wid}/projects", json={"name": "Nouveau projet", "color": "#AABBCC"})
    assert created.status_code == 200
    project = created.json()
    assert (project["color"], project["active"], project["wid"], project["cid"]) == ("#aabbcc", True, wid, None)
    duplicate = http.post(f"/workspaces/{wid}/projects", json={"name": "nouveau PROJET"})
    assert (duplicate.status_code, duplicate.json()) == (400, "Name has already been taken")
    bad_color = http.post(f"/workspaces/{wid}/projects", json={"name": "Colorful", "color": "red"})
    assert bad_color.status_code == 400 and "#[0-9a-f]{6}" in bad_color.json()
    bad_client = http.post(f"/workspaces/{wid}/projects", json={"name": "Clientless", "client_id": 5})
    assert bad_client.status_code == 400 and "isn't present" in bad_client.json()
    assert http.post(f"/workspaces/{wid}/projects", json={"name": " "}).status_code == 400

    client_id = fsim.seed.client_ids[0]
    updated = http.put(f"/workspaces/{wid}/projects/{project['id']}", json={"client_id": client_id, "active": False}).json()
    assert (updated["client_id"], updated["active"], updated["status"]) == (client_id, False, "archived")
    assert updated["at"] > project["at"]
    assert http.get(f"/workspaces/{wid}/projects/{project['id']}").json()["client_id"] == client_id
    assert http.get(f"/workspaces/{wid}/projects/1").status_code == 404
    assert http.delete(f"/workspaces/{wid}/projects/{project['id']}", params={"teDeletionMode": "keep"}).status_code == 400


def test_project_paging(http, wid, fsim):
    for number in range(400):
        fsim.state.create_project(fsim.seed.user_id, wid, {"name": f"Bulk project {number:03d}"})
    total = 408
    pages = [http.get(f"/workspaces/{wid}/projects", params={"page": page}).json() for page in (1, 2, 3, 4)]
    assert [len(p) for p in pages] == [151, 151, total - 302, 0]
    ids = [p["id"] for page in pages for p in page]
    assert len(set(ids)) == total
    names = [p["name"].casefold() for page in pages for p in page]
    assert names == sorted(names)
    big = http.get(f"/workspaces/{wid}/projects", params={"per_page": 200, "page": 3}).json()
    assert len(big) == 8
    assert http.get(f"/workspaces/{wid}/projects", params={"per_page": 201}).status_code == 400


def test_project_filters(http, wid):
    everything = http.get(f"/workspaces/{wid}/projects").json()
    active = http.get(f"/workspaces/{wid}/projects", params={"active": "true"}).json()
    archived = http.get(f"/workspaces/{wid}/projects", params={"active": "false"}).json()
    both = http.get(f"/workspaces/{wid}/projects", params={"active": "both"}).json()
    assert (len(everything), len(active), len(archived), len(both)) == (8, 7, 1, 8)
    assert [p["name"] for p in archived] == ["Legacy migration"]
    assert [p["name"] for p in http.get(f"/workspaces/{wid}/projects", params={"name": "café"}).json()] == ["Café menu design"]
    assert len(http.get("/me/projects").json()) == 7  # archived only on request
    assert len(http.get("/me/projects", params={"include_archived": "true"}).json()) == 8


def test_project_since_includes_deleted(http, wid, fsim):
    cursor = int(NOW.timestamp())
    fsim.clock.advance(5)
    victim = fsim.seed.project_ids[4]
    http.delete(f"/workspaces/{wid}/projects/{victim}")
    changed = http.get(f"/workspaces/{wid}/projects", params={"since": cursor}).json()
    assert [p["id"] for p in changed] == [victim] and changed[0]["server_deleted_at"]
    assert victim not in {p["id"] for p in http.get(f"/workspaces/{wid}/projects").json()}


def test_project_bulk_patch(http, wid, fsim):
    first, second = fsim.seed.project_ids[:2]
    ops = [{"op": "replace", "path": "/active", "value": False}]
    result = http.patch(f"/workspaces/{wid}/projects/{first},{second},77", json=ops).json()
    assert result["success"] == [first, second]
    assert result["failure"] == [{"id": 77, "message": "Project not found"}]
    assert not http.get(f"/workspaces/{wid}/projects/{first}").json()["active"]


# -- clients ----------------------------------------------------------------------


def test_client_rules(http, wid, fsim):
    made = http.post(f"/workspaces/{wid}/clients", json={"name": "Zeta GmbH", "notes": "über"}).json()
    assert (made["wid"], made["archived"], made["notes"], made["creator_id"]) == (wid, False, "über", fsim.seed.user_id)
    assert http.post(f"/workspaces/{wid}/clients", json={"name": "zeta gmbh"}).status_code == 400
    assert http.post(f"/workspaces/{wid}/clients", json={"name": ""}).status_code == 400
    renamed = http.put(f"/workspaces/{wid}/clients/{made['id']}", json={"name": "Zeta AG"}).json()
    assert renamed["name"] == "Zeta AG" and renamed["at"] > made["at"]
    assert http.get(f"/workspaces/{wid}/clients/{made['id']}").json()["name"] == "Zeta AG"
    assert [c["name"] for c in http.get(f"/workspaces/{wid}/clients", params={"name": "zeta"}).json()] == ["Zeta AG"]
    assert http.get(f"/workspaces/{wid}/clients", params={"status": "nope"}).status_code == 400


def test_client_delete_unlinks_projects(http, wid, fsim):
    cursor = int(NOW.timestamp())
    fsim.clock.advance(5)
    acme = fsim.seed.client_ids[0]
    assert http.delete(f"/workspaces/{wid}/clients/{acme}").content == b""
    assert http.get(f"/workspaces/{wid}/clients/{acme}").status_code == 404
    (gone,) = http.get("/me/clients", params={"since": cursor}).json()
    assert gone["id"] == acme and gone["server_deleted_at"]
    changed = http.get("/me/projects", params={"since": cursor}).json()
    assert changed and all(p["client_id"] is None for p in changed)


def test_client_archive_needs_premium(http, wid, fsim):
    response = http.post(f"/workspaces/{wid}/clients/{fsim.seed.client_ids[0]}/archive")
    assert response.status_code == 402
    assert "Premium" in response.json()


def test_client_archive_and_restore_on_premium(premium, sim_http):
    http = sim_http(premium)
    wid, acme = premium.seed.workspace_id, premium.seed.client_ids[0]
    archived_ids = http.post(f"/workspaces/{wid}/clients/{acme}/archive").json()
    projects = {p["id"]: p for p in http.get(f"/workspaces/{wid}/projects").json()}
    acme_active = {i for i, p in projects.items() if p["client_id"] == acme and not p["active"]}
    assert set(archived_ids) and set(archived_ids) <= acme_active
    assert [c["id"] for c in http.get(f"/workspaces/{wid}/clients", params={"status": "archived"}).json()] == [acme]
    assert acme not in {c["id"] for c in http.get(f"/workspaces/{wid}/clients").json()}
    assert len(http.get(f"/workspaces/{wid}/clients", params={"status": "both"}).json()) == 3

    one = archived_ids[0]
    restored = http.post(f"/workspaces/{wid}/clients/{acme}/restore", json={"projects": [one]}).json()
    assert restored["archived"] is False
    states = {p["id"]: p["active"] for p in http.get(f"/workspaces/{wid}/projects").json()}
    assert states[one] is True and all(not states[i] for i in archived_ids[1:])
    http.post(f"/workspaces/{wid}/clients/{acme}/archive")
    http.post(f"/workspaces/{wid}/clients/{acme}/restore", json={"restore_all_projects": True})
    states = {p["id"]: p["active"] for p in http.get(f"/workspaces/{wid}/projects").json()}
    assert all(states[i] for i in archived_ids)


# -- tags -----------------------------------------------------------------------------


def test_tag_rules(http, wid, fsim):
    blank = http.post(f"/workspaces/{wid}/tags", json={"name": "  "})
    assert (blank.status_code, blank.json()) == (400, "tag name can't be blank")
    duplicate = http.post(f"/workspaces/{wid}/tags", json={"name": "Urgent"})
    assert (duplicate.status_code, duplicate.json()) == (400, "a tag with the name 'Urgent' already exists")
    made = http.post(f"/workspaces/{wid}/tags", json={"name": "nouveau"}).json()
    assert (made["workspace_id"], made["name"], made["deleted_at"]) == (wid, "nouveau", None)
    assert http.put(f"/workspaces/{wid}/tags/{made['id']}", json={"name": "urgent"}).status_code == 400
    assert http.put(f"/workspaces/{wid}/tags/1", json={"name": "x"}).status_code == 404


def test_tag_rename_shows_on_entries_without_new_at(http, wid, fsim):
    body = {"created_with": "t", "workspace_id": wid, "start": "2025-06-16T08:00:00Z", "duration": 60, "tags": ["old name"]}
    entry = http.post(f"/workspaces/{wid}/time_entries", json=body).json()
    tag_id = entry["tag_ids"][0]
    http.put(f"/workspaces/{wid}/tags/{tag_id}", json={"name": "new name"})
    after = http.get(f"/me/time_entries/{entry['id']}").json()
    assert after["tags"] == ["new name"]
    assert after["at"].replace("+00:00", "Z") == entry["at"]


def test_tag_list_paging(http, wid):
    everything = http.get(f"/workspaces/{wid}/tags").json()
    assert len(everything) == 10
    first = http.get(f"/workspaces/{wid}/tags", params={"page": 1, "per_page": 4}).json()
    third = http.get(f"/workspaces/{wid}/tags", params={"page": 3, "per_page": 4}).json()
    assert [t["id"] for t in first] == [t["id"] for t in everything[:4]]
    assert len(third) == 2
