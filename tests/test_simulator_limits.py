"""Simulator: hourly quotas (402), the leaky bucket (429) and injected faults."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import requests

NOW = datetime(2025, 6, 16, 12, 0, 0, tzinfo=timezone.utc)


def remaining(response) -> int:
    return int(response.headers["X-Toggl-Quota-Remaining"])


def entry_body(wid, description="x"):
    return {"created_with": "tests", "workspace_id": wid, "start": "2025-06-16T09:00:00Z", "duration": 60, "description": description}


def entries_described(sim, text):
    return [e for e in sim.state.all_time_entries() if e["description"] == text]


# -- hourly quotas ----------------------------------------------------------------


def test_user_pool_runs_out_and_resets(make_sim, sim_http):
    simulator = make_sim(entries=5, now=NOW, plan="premium")
    http = sim_http(simulator)
    seen = [remaining(http.get("/me")) for _ in range(30)]
    assert seen == list(range(29, -1, -1))
    simulator.clock.advance(600)
    spent = http.get("/me/time_entries")
    assert spent.status_code == 402
    assert remaining(spent) == 0
    assert int(spent.headers["X-Toggl-Quota-Resets-In"]) == 3000
    assert "hourly limit" in spent.json()
    # The organization pool is separate: workspace requests still pass.
    workspace = http.get(f"/workspaces/{simulator.seed.workspace_id}")
    assert workspace.status_code == 200 and remaining(workspace) == 599

    simulator.clock.advance(3000)  # the window opened at the first request, 60 minutes ago
    fresh = http.get("/me")
    assert fresh.status_code == 200 and remaining(fresh) == 29
    assert fresh.headers["X-Toggl-Quota-Resets-In"] == "3600"


@pytest.mark.parametrize("plan, limit", [("free", 30), ("starter", 240), ("premium", 600)])
def test_organization_pool_follows_the_plan(make_sim, sim_http, plan, limit):
    simulator = make_sim(entries=5, now=NOW, plan=plan)
    http = sim_http(simulator)
    wid = simulator.seed.workspace_id
    first = http.get(f"/workspaces/{wid}/projects")
    assert remaining(first) == limit - 1
    report = http.post(f"/workspace/{wid}/search/time_entries", api="reports", json={"start_date": "2025-06-01"})
    assert remaining(report) == limit - 2  # reports count against the same organization pool
    assert simulator.log.records[-1].pool == f"workspace:{wid}"


def test_quota_402_does_not_apply_the_request(make_sim, sim_http):
    simulator = make_sim(entries=5, now=NOW, org_quota=2)
    http = sim_http(simulator)
    wid = simulator.seed.workspace_id
    assert http.post(f"/workspaces/{wid}/time_entries", json=entry_body(wid, "one")).status_code == 200
    assert http.post(f"/workspaces/{wid}/time_entries", json=entry_body(wid, "two")).status_code == 200
    refused = http.post(f"/workspaces/{wid}/time_entries", json=entry_body(wid, "three"))
    assert refused.status_code == 402 and remaining(refused) == 0
    assert entries_described(simulator, "three") == []


def test_quotas_off_neither_refuse_nor_report_a_count(make_sim, sim_http):
    """`--no-quotas`: no quota at all, so no X-Toggl-Quota-* header (Toggl sends them as a
    quota's report); a count falling to 0 beside answers that never stop misled clients."""
    simulator = make_sim(entries=5, now=NOW, quotas=False, user_quota=3, org_quota=2)
    http = sim_http(simulator)
    wid = simulator.seed.workspace_id
    responses = [http.get("/me") for _ in range(5)] + [http.get(f"/workspaces/{wid}/projects") for _ in range(4)]
    responses.append(http.post(f"/workspace/{wid}/search/time_entries", api="reports", json={"start_date": "2025-06-01"}))
    assert [r.status_code for r in responses] == [200] * 10
    assert [{k for k in r.headers if k.startswith("X-Toggl-Quota")} for r in responses] == [set()] * 10
    assert simulator.log.records[-1].pool == f"workspace:{wid}"  # the log still names the pool


def test_premium_402_is_told_apart_by_quota_headers(make_sim, sim_http):
    simulator = make_sim(entries=5, now=NOW, plan="free")
    http = sim_http(simulator)
    wid = simulator.seed.workspace_id
    premium = http.post(f"/workspaces/{wid}/clients/{simulator.seed.client_ids[0]}/archive")
    assert premium.status_code == 402
    assert remaining(premium) > 0
    assert "Premium" in premium.json()
    for _ in range(29):
        http.get(f"/workspaces/{wid}")
    quota = http.post(f"/workspaces/{wid}/clients/{simulator.seed.client_ids[0]}/archive")
    assert quota.status_code == 402 and remaining(quota) == 0


def test_pools_are_per_user_and_transport_independent(make_sim, sim_http):
    simulator = make_sim(entries=5, now=NOW)
    sim_http(simulator).get("/me")
    through_maton = sim_http(simulator, transport="maton").get("/me")
    assert remaining(through_maton) == 28  # same Toggl user, same pool


# -- the 429 leaky bucket -------------------------------------------------------


def test_leaky_bucket(make_sim, sim_http):
    simulator = make_sim(entries=5, now=NOW, rate_limit=1.0, burst=3)
    http = sim_http(simulator)
    wid = simulator.seed.workspace_id
    statuses = [http.get("/me").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    limited = http.post(f"/workspaces/{wid}/time_entries", json=entry_body(wid, "limited"))
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert isinstance(limited.json(), str)
    assert "X-Toggl-Quota-Remaining" not in limited.headers
    assert entries_described(simulator, "limited") == []
    simulator.clock.advance(1)
    assert http.get("/me").status_code == 200
    assert http.get("/me").status_code == 429
    # 429s cost no quota: three successes and one more after the pause.
    simulator.clock.advance(1)
    assert remaining(http.get("/me")) == 25


def test_leaky_bucket_without_retry_after(make_sim, sim_http):
    simulator = make_sim(entries=5, now=NOW, rate_limit=1.0, burst=1, retry_after_header=False)
    http = sim_http(simulator)
    assert http.get("/me").status_code == 200
    limited = http.get("/me")
    assert limited.status_code == 429 and "Retry-After" not in limited.headers


# -- faults -------------------------------------------------------------------------


@pytest.fixture
def fsim(make_sim):
    return make_sim(entries=5, now=NOW, quotas=False)


def test_fault_status_without_apply(fsim, sim_http):
    http = sim_http(fsim)
    wid = fsim.seed.workspace_id
    fsim.faults.add(status=503, method="POST", path="/workspaces/*/time_entries")
    failed = http.post(f"/workspaces/{wid}/time_entries", json=entry_body(wid, "not applied"))
    assert failed.status_code == 503 and isinstance(failed.json(), str)
    assert entries_described(fsim, "not applied") == []
    assert http.post(f"/workspaces/{wid}/time_entries", json=entry_body(wid, "second try")).status_code == 200
    assert fsim.faults.pending == []


def test_fault_status_after_apply(fsim, sim_http):
    http = sim_http(fsim)
    wid = fsim.seed.workspace_id
    fsim.faults.add(status=502, method="POST", path="/workspaces/*/time_entries", apply=True, body={"error": "upstream"}, headers={"X-Fault": "1"})
    failed = http.post(f"/workspaces/{wid}/time_entries", json=entry_body(wid, "applied anyway"))
    assert failed.status_code == 502
    assert failed.json() == {"error": "upstream"} and failed.headers["X-Fault"] == "1"
    assert len(entries_described(fsim, "applied anyway")) == 1
    assert fsim.log.records[-1].status == 502


def test_fault_drop_response(fsim, sim_http):
    http = sim_http(fsim)
    wid = fsim.seed.workspace_id
    fsim.faults.add(drop_response=True, method="POST", path="/workspaces/*/time_entries")
    with pytest.raises(requests.ConnectionError):
        http.post(f"/workspaces/{wid}/time_entries", json=entry_body(wid, "lost response"))
    assert len(entries_described(fsim, "lost response")) == 1  # it landed
    record = fsim.log.records[-1]
    assert record.dropped and record.json["description"] == "lost response"
    assert http.get("/me").status_code == 200  # the server survived


def test_fault_latency_times_the_client_out(fsim, sim_http):
    http = sim_http(fsim)
    fsim.faults.add(latency=0.5, path="/me")
    with pytest.raises(requests.Timeout):
        http.get("/me", timeout=0.1)
    assert http.get("/me", timeout=5).status_code == 200


def test_fault_matching_and_count(fsim, sim_http):
    http = sim_http(fsim)
    fsim.faults.add(status=500, method="GET", path="/me/time_entries*", count=2)
    assert http.get("/me").status_code == 200
    assert http.post(f"/workspaces/{fsim.seed.workspace_id}/tags", json={"name": "t"}).status_code == 200
    assert [http.get("/me/time_entries").status_code for _ in range(3)] == [500, 500, 200]
    fsim.faults.add(status=500)
    fsim.faults.clear()
    assert http.get("/me").status_code == 200
    with pytest.raises(ValueError):
        fsim.faults.add()
