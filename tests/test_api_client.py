"""TogglClient endpoints over real HTTP against the simulator, on both transports.

Every typed method is called once on the direct transport; the main ones go
through the Maton gateway too. Bookkeeping (quota, requests_sent, budget,
server_time, pacing) is checked here; failures live in test_api_errors.py.
"""

from __future__ import annotations

import math

import logging
from contextlib import contextmanager
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import requests

from togglsync.api import ApiResponse, DirectAuth, MatonAuth, RetryPolicy, TogglClient
from togglsync.errors import BudgetExhausted, Conflict, NotFound, QuotaSnapshot, ServerError
from togglsync.simulator import Simulator


@pytest.fixture(scope="module")
def sim():
    # Quotas too high to run out: the headers come, nothing is refused (without quotas, no headers).
    with Simulator(entries=50, plan="premium", seed=1, user_quota=10**6, org_quota=10**6) as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def clean(sim):
    sim.faults.clear()
    sim.log.clear()
    yield
    sim.faults.clear()


@pytest.fixture
def raises(sim):
    """`pytest.raises` that also checks the error fits one line and tells no secret."""
    secrets = (sim.seed.api_token, sim.seed.maton_api_key, sim.seed.password)

    @contextmanager
    def check(error_class):
        with pytest.raises(error_class) as caught:
            yield caught
        for text in (str(caught.value), repr(caught.value)):
            assert "\n" not in text and not any(secret in text for secret in secrets)

    return check


def make_client(root: str, auth, **options) -> TogglClient:
    options.setdefault("min_interval", 0)
    options.setdefault("retry", RetryPolicy.immediate())
    return TogglClient(root, auth, **options)


@pytest.fixture
def api(sim):
    with make_client(sim.url, DirectAuth(sim.seed.api_token)) as client:
        yield client


@pytest.fixture
def wid(sim) -> int:
    return sim.seed.workspace_id


def running_entry() -> dict:
    return {"start": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "duration": -1}


def stopped_entry(description: str = "api test") -> dict:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    return {"start": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "duration": 600, "description": description}


# --- users, workspaces ---------------------------------------------------------------------


def test_me_and_related_data(api, sim):
    me = api.me()
    assert me["id"] == sim.seed.user_id
    related = api.me(with_related_data=True)
    assert "projects" in related and "time_entries" in related
    assert sim.log.records[-1].query == {"with_related_data": "true"}
    assert sim.log.records[0].query == {}  # a False flag is not sent at all


def test_workspaces_organizations_users(api, sim, wid):
    assert [w["id"] for w in api.my_workspaces()] == [wid]
    assert api.my_workspaces(since=datetime.now(UTC) - timedelta(days=365)) is not None
    assert api.workspace(wid)["id"] == wid
    assert any(u["id"] == sim.seed.user_id for u in api.workspace_users(wid))
    assert [o["id"] for o in api.my_organizations()] == [sim.seed.organization_id]
    assert api.organization(sim.seed.organization_id)["id"] == sim.seed.organization_id


# --- time entries ---------------------------------------------------------------------------


def test_time_entry_reads(api, sim):
    recent = api.time_entries()
    assert recent and all("id" in e for e in recent)
    since = int(time.time()) - 3 * 86400
    assert isinstance(api.time_entries(since=since), list)
    assert sim.log.records[-1].query == {"since": str(since)}
    today = date.today()
    ranged = api.time_entries(start_date=today - timedelta(days=30), end_date=today + timedelta(days=1), meta=True)
    assert sim.log.records[-1].query == {
        "start_date": (today - timedelta(days=30)).isoformat(),
        "end_date": (today + timedelta(days=1)).isoformat(),
        "meta": "true",
    }
    assert len(ranged) >= len(recent)
    api.time_entries(before=datetime.now(UTC))
    assert sim.log.records[-1].query["before"].endswith("Z")

    current = api.current_time_entry()
    assert current is not None and current["id"] == sim.seed.running_entry_id
    assert api.time_entry(sim.seed.running_entry_id)["id"] == sim.seed.running_entry_id


def test_time_entry_writes(api, sim, wid, raises):
    created = api.create_time_entry(wid, stopped_entry("written by test"))
    sent = sim.log.find("POST", "/workspaces/*/time_entries")[-1].json
    assert sent["created_with"] == "togglsync" and sent["workspace_id"] == wid
    entry_id = created["id"]

    updated = api.update_time_entry(wid, entry_id, {"description": "renamed"})
    assert updated["description"] == "renamed"

    patched = api.bulk_patch_time_entries(
        wid, [entry_id], [{"op": "replace", "path": "/description", "value": "bulk"}]
    )
    assert patched["success"] == [entry_id]
    assert sim.log.records[-1].normalized_path == f"/workspaces/{wid}/time_entries/{entry_id}"

    assert api.delete_time_entry(wid, entry_id) is None
    with raises(NotFound):
        api.delete_time_entry(wid, entry_id)  # a first-attempt 404 is the caller's to judge


def test_start_and_stop(api, wid, raises):
    running = api.create_time_entry(wid, running_entry())
    assert running["duration"] < 0
    stopped = api.stop_time_entry(wid, running["id"])
    assert stopped["stop"] is not None
    with raises(Conflict):
        api.stop_time_entry(wid, running["id"])  # stopped before this call: someone else did it


def test_stop_retried_after_it_landed_is_success(api, sim, wid):
    running = api.create_time_entry(wid, running_entry())
    # The first stop is applied but answered with a 502; the retry meets "already stopped".
    sim.faults.add(status=502, method="PATCH", path="*/stop", apply=True)
    assert api.stop_time_entry(wid, running["id"]) is None
    assert [r.status for r in sim.log.find("PATCH", "*/stop")] == [502, 409]


def test_delete_retried_after_it_landed_is_success(api, sim, wid):
    entry = api.create_time_entry(wid, stopped_entry())
    sim.faults.add(status=503, method="DELETE", path="/workspaces/*/time_entries/*", apply=True)
    assert api.delete_time_entry(wid, entry["id"]) is None
    assert [r.status for r in sim.log.find("DELETE")] == [503, 404]


# --- projects, clients, tags, tasks ---------------------------------------------------------


def test_projects(api, sim, wid):
    mine = api.my_projects()
    assert sim.log.records[-1].query == {"include_archived": "true"}
    assert {p["id"] for p in mine} >= set(sim.seed.project_ids)
    listed = list(api.iter_projects(wid))
    assert sim.log.records[-1].query == {"active": "both", "page": "1", "per_page": "200"}
    assert {p["id"] for p in listed} >= set(sim.seed.project_ids)  # archived ones included
    assert api.project(wid, sim.seed.project_ids[0])["id"] == sim.seed.project_ids[0]

    created = api.create_project(wid, {"name": "API test project", "color": "#0b83d9"})
    renamed = api.update_project(wid, created["id"], {"name": "API test project 2"})
    assert renamed["name"] == "API test project 2"
    result = api.bulk_patch_projects(wid, [created["id"]], [{"op": "replace", "path": "/billable", "value": True}])
    assert result["success"] == [created["id"]]
    api.delete_project(wid, created["id"], te_deletion_mode="unassign")
    assert sim.log.records[-1].query == {"teDeletionMode": "unassign"}
    assert api.my_projects(since=int(time.time()) - 60)  # the deletion shows up incrementally


def test_clients(api, sim, wid):
    assert {c["id"] for c in api.my_clients()} >= set(sim.seed.client_ids)
    assert api.my_clients(since=int(time.time()) - 3600) is not None
    assert api.clients(wid, status="both")
    assert sim.log.records[-1].query == {"status": "both"}
    assert api.clients(wid, name="Acme")[0]["name"] == "Acme Corp"
    assert api.client(wid, sim.seed.client_ids[0])["id"] == sim.seed.client_ids[0]

    created = api.create_client(wid, {"name": "API test client"})
    assert api.update_client(wid, created["id"], {"name": "API test client 2"})["name"] == "API test client 2"
    project = api.create_project(wid, {"name": "Client's project", "client_id": created["id"]})
    assert api.archive_client(wid, created["id"]) == [project["id"]]
    restored = api.restore_client(wid, created["id"], restore_all_projects=True)
    assert restored["id"] == created["id"]
    assert sim.log.records[-1].json == {"restore_all_projects": True}
    api.restore_client(wid, created["id"], projects=[project["id"]])
    assert sim.log.records[-1].json == {"restore_all_projects": False, "projects": [project["id"]]}
    api.delete_project(wid, project["id"])
    assert api.delete_client(wid, created["id"]) is None


def test_tags(api, sim, wid):
    assert {t["id"] for t in api.my_tags()} >= set(sim.seed.tag_ids)
    assert api.my_tags(since=int(time.time()) - 3600) is not None
    assert {t["id"] for t in api.tags(wid)} >= set(sim.seed.tag_ids)
    created = api.create_tag(wid, {"name": "api-test-tag"})
    assert api.update_tag(wid, created["id"], {"name": "api-test-tag-2"})["name"] == "api-test-tag-2"
    assert api.delete_tag(wid, created["id"]) is None


def test_tasks(api, sim):
    assert isinstance(api.my_tasks(), list)
    assert sim.log.records[-1].query == {"include_not_active": "true"}
    assert isinstance(api.my_tasks(since=int(time.time()) - 3600), list)


# --- paging ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crowded():
    """A workspace with 450 more projects and 250 more tags than the seed."""
    with Simulator(entries=50, plan="premium", seed=2, quotas=False) as simulator:
        wid, uid = simulator.seed.workspace_id, simulator.seed.user_id
        for number in range(450):
            simulator.state.add_project_record(wid, f"Bulk project {number:03}", "#0b83d9", uid)
        for number in range(250):
            simulator.state.add_tag_record(wid, f"bulk-tag-{number:03}", uid)
        yield simulator


def test_project_paging_past_one_page(crowded):
    wid = crowded.seed.workspace_id
    client = make_client(crowded.url, DirectAuth(crowded.seed.api_token))
    crowded.log.clear()
    projects = list(client.iter_projects(wid))
    assert len(projects) == len({p["id"] for p in projects}) == 458
    assert [r.query["page"] for r in crowded.log.find("GET", "*/projects")] == ["1", "2", "3"]

    crowded.log.clear()
    by_151 = list(client.iter_projects(wid, per_page=151))  # Toggl's own default page size
    assert len(by_151) == 458
    assert crowded.log.count("GET", "*/projects") == 4

    crowded.log.clear()
    first_two = []
    for project in client.iter_projects(wid):
        first_two.append(project)
        if len(first_two) == 2:
            break
    assert crowded.log.count() == 1  # lazy: no page is fetched that nobody reads


def test_paging_stops_when_the_server_ignores_page(crowded):
    wid = crowded.seed.workspace_id
    client = make_client(crowded.url, DirectAuth(crowded.seed.api_token))
    same_page = [{"id": n, "name": f"p{n}"} for n in range(200)]
    crowded.faults.add(status=200, method="GET", path="*/projects", count=5, body=same_page)
    crowded.log.clear()
    assert len(list(client.iter_projects(wid))) == 200
    assert crowded.log.count() == 2  # page 2 repeated page 1: stop
    crowded.faults.clear()


def test_tags_are_paged_when_there_are_many(crowded):
    client = make_client(crowded.url, DirectAuth(crowded.seed.api_token))
    crowded.log.clear()
    tags = client.tags(crowded.seed.workspace_id)
    assert len(tags) == len({t["id"] for t in tags}) == 260
    assert crowded.log.count() == 2


def test_report_paging(api, sim, wid):
    start, end = date.today() - timedelta(days=365), date.today() + timedelta(days=1)
    everything = list(api.iter_report_time_entries(wid, start, end))
    sim.log.clear()
    paged = list(api.iter_report_time_entries(wid, start, end, page_size=10, order_dir="DESC"))
    assert [row["row_number"] for row in paged] == [row["row_number"] for row in everything]
    bodies = [r.json for r in sim.log.find("POST", "/workspace/*/search/time_entries")]
    assert len(bodies) == -(-len(everything) // 10)
    assert "first_id" not in bodies[0] and bodies[0]["order_dir"] == "DESC"
    assert bodies[1]["first_row_number"] == 11 and "first_id" in bodies[1]
    assert all(r.pool == f"workspace:{wid}" for r in sim.log.records)


def test_report_paging_follows_the_headers_whatever_the_page_size(api, sim, wid):
    start, end = date.today() - timedelta(days=365), date.today() + timedelta(days=1)
    sim.log.clear()
    rows = list(api.iter_report_time_entries(wid, start, end, page_size=1000))  # the server sends 50 a page
    assert [r["row_number"] for r in rows] == list(range(1, len(rows) + 1)) and len(rows) > 40
    assert len(sim.log.find("POST", "/workspace/*/search/time_entries")) == math.ceil(len(rows) / 50)
    sim.state.report_page_cap = 20
    sim.log.clear()
    assert [r["row_number"] for r in api.iter_report_time_entries(wid, start, end, page_size=1000)] == \
        [r["row_number"] for r in rows]
    assert len(sim.log.find("POST", "/workspace/*/search/time_entries")) == math.ceil(len(rows) / 20)


def test_a_report_cursor_that_repeats_or_an_empty_page_with_a_cursor_is_an_error(api, sim, wid):
    from togglsync.errors import BadResponse

    start, end = date.today() - timedelta(days=365), date.today() + timedelta(days=1)
    page = api.report_page(wid, {"start_date": str(start), "end_date": str(end), "page_size": 10})
    assert len(page.rows) == 10 and page.following["first_row_number"] == 11
    again = {"X-Next-ID": str(page.following["first_id"]), "X-Next-Row-Number": "11"}
    sim.faults.add(status=200, method="POST", path="/workspace/*/search/time_entries", body=[], headers={"X-Next-ID": "5"})
    with pytest.raises(BadResponse, match="empty report page names a next page"):
        list(api.iter_report_time_entries(wid, start, end, page_size=10))
    sim.faults.add(status=200, method="POST", path="/workspace/*/search/time_entries", body=page.rows, headers=again)
    with pytest.raises(BadResponse, match="repeats its paging cursor"):
        api.report_page(wid, {"start_date": str(start), "end_date": str(end), "page_size": 10, **page.following})


# --- raw ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/me", "me", "/api/v9/me", "/toggl-track/api/v9/me", "/toggl-track/me"])
def test_raw_accepts_every_path_form(api, sim, path):
    response = api.raw("GET", path)
    assert isinstance(response, ApiResponse)
    assert response.status == 200 and response.data["id"] == sim.seed.user_id
    assert "X-Toggl-Quota-Remaining" in response.headers
    assert sim.log.records[-1].path == "/api/v9/me"


def test_raw_query_reports_and_gateway(api, sim, wid):
    since = int(time.time()) - 3600
    api.raw("GET", f"/toggl-track/api/v9/me/time_entries?since={since}", params={"meta": "true"})
    assert sim.log.records[-1].query == {"since": str(since), "meta": "true"}
    body = {"start_date": date.today().isoformat(), "end_date": (date.today() + timedelta(days=1)).isoformat()}
    report = api.raw("POST", f"/reports/api/v3/workspace/{wid}/search/time_entries", json=body)
    assert report.status == 200 and isinstance(report.data, list)
    assert sim.log.records[-1].api == "reports"

    gateway = make_client(sim.gateway_url, MatonAuth(sim.seed.maton_api_key))
    assert gateway.raw("GET", "/toggl-track/api/v9/me").data["id"] == sim.seed.user_id
    assert sim.log.records[-1].path == "/toggl-track/api/v9/me"
    assert sim.log.records[-1].transport == "maton"


def test_raw_raises_typed_errors(api, raises):
    with raises(NotFound):
        api.raw("GET", "/me/time_entries/1")


# --- Maton gateway -------------------------------------------------------------------------------


@pytest.mark.parametrize("pick_connection", [False, True])
def test_main_calls_through_the_gateway(sim, wid, pick_connection):
    connection = sim.seed.connection_id if pick_connection else None
    client = make_client(sim.gateway_url, MatonAuth(sim.seed.maton_api_key, connection=connection))
    assert client.me()["id"] == sim.seed.user_id
    assert client.time_entries(since=int(time.time()) - 86400) is not None
    direct = make_client(sim.url, DirectAuth(sim.seed.api_token))
    assert client.current_time_entry() == direct.current_time_entry()  # the same account behind both
    assert client.my_projects() and client.my_clients() and client.my_tags()
    assert list(client.iter_projects(wid))
    created = client.create_time_entry(wid, stopped_entry("via maton"))
    client.update_time_entry(wid, created["id"], {"description": "via maton 2"})
    client.delete_time_entry(wid, created["id"])
    week = (date.today() - timedelta(days=7), date.today() + timedelta(days=1))
    assert list(client.iter_report_time_entries(wid, *week))
    records = sim.log.find(transport="maton")
    assert len(records) == len(sim.log) - 1  # all but the direct comparison
    assert all(r.connection == connection for r in records)
    assert client.quota["user"].remaining is not None


def test_gateway_root_with_api_suffix(sim):
    client = make_client(sim.gateway_url + "/api/v9/", MatonAuth(sim.seed.maton_api_key))
    assert client.me()["id"] == sim.seed.user_id


# --- bookkeeping ---------------------------------------------------------------------------------


def test_quota_snapshots_per_pool(api, sim, wid):
    seen: list[QuotaSnapshot] = []
    api.on_quota = seen.append
    api.me()
    api.workspace(wid)
    api.workspace(wid)
    assert set(api.quota) == {"user", f"workspace:{wid}"}
    assert [s.pool for s in seen] == ["user", f"workspace:{wid}", f"workspace:{wid}"]
    user, workspace = api.quota["user"], api.quota[f"workspace:{wid}"]
    assert seen[1].remaining - workspace.remaining == 1  # the latest snapshot wins
    assert 0 < user.resets_in <= 3600 and user.resets_at > user.observed_at


def test_requests_sent_counts_every_attempt(api, sim):
    before = api.requests_sent
    sim.faults.add(status=503, method="GET", path="/me", count=2)
    api.me()
    assert api.requests_sent - before == 3 == sim.log.count("GET", "/me")


def test_budget_is_enforced_before_sending(api, sim, raises):
    api.budget = api.requests_sent + 2
    api.me()
    api.me()
    with raises(BudgetExhausted) as caught:
        api.me()
    assert sim.log.count() == 2
    assert "budget" in str(caught.value)


def test_budget_caps_retries(api, sim, raises):
    api.budget = api.requests_sent + 2
    sim.faults.add(status=503, method="GET", path="/me", count=5)
    with raises(ServerError) as caught:
        api.me()
    assert sim.log.count() == 2 and api.requests_sent == api.budget
    with raises(BudgetExhausted):
        api.me()


def test_server_time_from_date_header(api, sim):
    moment = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    sim.clock.freeze(moment)
    try:
        assert api.server_time is None
        api.me()
        assert api.server_time == moment
    finally:
        sim.clock.unfreeze()


def test_pacing_spaces_request_starts(sim, clock):
    """Each request after the first waits out the interval since the one before (on the client's
    clock: an instant one here, so the test neither sleeps nor depends on the machine's load)."""
    interval = 1.0
    client = make_client(sim.url, DirectAuth(sim.seed.api_token), min_interval=interval, clock=clock)
    for _ in range(4):
        client.me()
    assert len(sim.log.records) == 4
    assert clock.slept == [pytest.approx(interval)] * 3
    assert clock.now == pytest.approx(3 * interval)


def test_debug_log_names_requests_but_never_credentials(sim, caplog):
    client = make_client(sim.url, DirectAuth(sim.seed.api_token))
    with caplog.at_level(logging.DEBUG):
        client.me()
        sim.faults.add(status=503, path="/me")
        client.me()
    lines = [record.getMessage() for record in caplog.records]
    assert any(line.startswith("GET http://127.0.0.1") and "/api/v9/me -> 200 (" in line for line in lines)
    assert not any(sim.seed.api_token in line for line in lines)
    assert not any("Authorization" in line for line in lines)


def test_a_session_passed_in_gets_our_adapter_for_our_root_only(sim):
    shared = requests.Session()
    other_adapter = shared.get_adapter("https://example.com/")
    client = make_client(sim.url, DirectAuth(sim.seed.api_token), session=shared)
    sim.faults.add(status=503, path="/me")
    assert client.me()["id"] == sim.seed.user_id
    assert client.requests_sent == 2  # counted and retried through our adapter
    assert shared.get_adapter("https://example.com/") is other_adapter
    client.close()  # not ours to close: still usable
    assert shared.get(sim.url + "/api/v9/me", auth=(sim.seed.api_token, "api_token"), timeout=5).ok


def test_raw_headers_are_found_whatever_their_case(api):
    response = api.raw("GET", "/me")
    assert response.headers["x-toggl-quota-remaining"] == response.headers["X-Toggl-Quota-Remaining"]
