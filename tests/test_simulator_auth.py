"""Simulator: both transports, auth errors, Maton connections, routing and the request log."""

from __future__ import annotations

import email.utils
from datetime import datetime, timezone

import pytest
import requests

NOW = datetime(2025, 6, 16, 12, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def fsim(make_sim):
    return make_sim(entries=30, seed=3, now=NOW)


def test_direct_token_auth_and_headers(fsim, sim_http):
    response = sim_http(fsim).get("/me")
    assert response.status_code == 200
    assert response.json()["id"] == fsim.seed.user_id
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["X-Toggl-Quota-Remaining"] == "29"
    assert response.headers["X-Toggl-Quota-Resets-In"] == "3600"
    # Date comes from the simulated clock, once.
    assert email.utils.parsedate_to_datetime(response.headers["Date"]) == NOW
    assert response.raw.headers.getlist("Date") == [response.headers["Date"]]


def test_email_password_auth(fsim):
    good = requests.get(fsim.url + "/api/v9/me", auth=(fsim.seed.email, "secret-password"), timeout=10)
    assert good.status_code == 200
    bad = requests.get(fsim.url + "/api/v9/me", auth=(fsim.seed.email, "wrong"), timeout=10)
    assert bad.status_code == 403
    assert bad.content == b""


def test_missing_auth_is_401_with_marker_header(fsim):
    response = requests.get(fsim.url + "/api/v9/me/time_entries", timeout=10)
    assert response.status_code == 401
    assert response.content == b""
    assert response.headers["X-Authorization-Missing"] == "true"


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Basic bm90LWEtdG9rZW46YXBpX3Rva2Vu"},  # not-a-token:api_token
        {"Authorization": "Basic %%%"},
        {"Authorization": "Bearer something"},
    ],
)
def test_bad_direct_credentials_are_403(fsim, headers):
    response = requests.get(fsim.url + "/api/v9/me", headers=headers, timeout=10)
    assert response.status_code == 403


def test_maton_gateway_auth(fsim, sim_http):
    ok = sim_http(fsim, transport="maton").get("/me")
    assert ok.status_code == 200
    assert ok.json()["id"] == fsim.seed.user_id

    missing = requests.get(fsim.gateway_url + "/api/v9/me", timeout=10)
    assert missing.status_code == 401
    assert isinstance(missing.json(), str)

    wrong = requests.get(fsim.gateway_url + "/api/v9/me", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401

    unknown = sim_http(fsim, transport="maton", connection="00000000-0000-4000-8000-000000000000").get("/me")
    assert unknown.status_code == 400
    assert "not found" in unknown.json()

    chosen = sim_http(fsim, transport="maton", connection=fsim.seed.connection_id).get("/me")
    assert chosen.status_code == 200


def test_maton_gateway_reports(fsim, sim_http):
    response = sim_http(fsim, transport="maton").post(
        f"/workspace/{fsim.seed.workspace_id}/search/time_entries", api="reports", json={"start_date": "2025-06-01"}
    )
    assert response.status_code == 200
    assert fsim.log.records[-1].normalized_path == f"/workspace/{fsim.seed.workspace_id}/search/time_entries"
    assert fsim.log.records[-1].api == "reports"
    assert fsim.log.records[-1].transport == "maton"


def _ctrl(sim, method, path, **kwargs):
    headers = {"Authorization": f"Bearer {sim.seed.maton_api_key}"}
    return requests.request(method, sim.ctrl_url + path, headers=headers, timeout=10, **kwargs)


def test_maton_connection_lifecycle(fsim, sim_http):
    listed = _ctrl(fsim, "GET", "/connections", params={"app": "toggl-track", "status": "ACTIVE"})
    assert listed.status_code == 200
    (seeded,) = listed.json()["connections"]
    assert seeded["connection_id"] == fsim.seed.connection_id
    assert set(seeded) >= {"connection_id", "status", "creation_time", "last_updated_time", "url", "app", "metadata"}

    created = _ctrl(fsim, "POST", "/connections", json={"app": "toggl-track"}).json()["connection"]
    assert created["status"] == "PENDING"
    assert created["url"].startswith(f"{fsim.url}/connect/{created['connection_id']}?session_token=")
    pending = sim_http(fsim, transport="maton", connection=created["connection_id"]).get("/me")
    assert pending.status_code == 400

    browser = requests.get(created["url"], timeout=10)  # no Maton key: the link is the secret
    assert browser.status_code == 200
    assert "text/html" in browser.headers["Content-Type"]
    fetched = _ctrl(fsim, "GET", f"/connections/{created['connection_id']}").json()["connection"]
    assert fetched["status"] == "ACTIVE"
    assert sim_http(fsim, transport="maton", connection=created["connection_id"]).get("/me").status_code == 200

    assert _ctrl(fsim, "DELETE", f"/connections/{fsim.seed.connection_id}").status_code == 200
    assert _ctrl(fsim, "GET", f"/connections/{fsim.seed.connection_id}").status_code == 404
    # Without the header the gateway now falls back to the remaining active connection.
    assert sim_http(fsim, transport="maton").get("/me").status_code == 200

    assert _ctrl(fsim, "DELETE", f"/connections/{created['connection_id']}").status_code == 200
    none_left = sim_http(fsim, transport="maton").get("/me")
    assert none_left.status_code == 400
    assert "connection" in none_left.json().lower()


def test_ctrl_needs_the_maton_key_and_costs_no_quota(fsim, sim_http):
    assert requests.get(fsim.ctrl_url + "/connections", timeout=10).status_code == 401
    for _ in range(5):
        assert _ctrl(fsim, "GET", "/connections").status_code == 200
    assert sim_http(fsim).get("/me").headers["X-Toggl-Quota-Remaining"] == "29"
    assert fsim.log.count(transport="ctrl") == 6
    assert {r.pool for r in fsim.log.find(transport="ctrl")} == {None}


def test_unknown_route_and_method_fail_loudly(fsim, sim_http):
    http = sim_http(fsim)
    missing = http.get("/me/nothing_here")
    assert missing.status_code == 404
    assert "GET /api/v9/me/nothing_here" in missing.json()
    assert requests.get(fsim.url + "/elsewhere", timeout=10).status_code == 404
    wrong_method = http.delete("/me")
    assert wrong_method.status_code == 405
    assert isinstance(wrong_method.json(), str)


def test_request_log_records_what_was_sent(fsim, sim_http):
    wid = fsim.seed.workspace_id
    http = sim_http(fsim)
    http.get("/me/time_entries", params={"since": str(int(NOW.timestamp()) - 3600)})
    http.post(f"/workspaces/{wid}/tags", json={"name": "logged"})
    sim_http(fsim, transport="maton", connection=fsim.seed.connection_id).get(f"/workspaces/{wid}")

    first, second, third = fsim.log.records
    assert (first.method, first.path, first.normalized_path, first.api) == (
        "GET",
        "/api/v9/me/time_entries",
        "/me/time_entries",
        "v9",
    )
    assert first.query == {"since": str(int(NOW.timestamp()) - 3600)}
    assert (first.transport, first.pool, first.status, first.at, first.dropped) == ("direct", "user", 200, NOW, False)
    assert second.json == {"name": "logged"}
    assert second.pool == f"workspace:{wid}"
    assert (third.transport, third.connection, third.path) == (
        "maton",
        fsim.seed.connection_id,
        f"/toggl-track/api/v9/workspaces/{wid}",
    )
    assert fsim.log.count(path="/workspaces/*") == 2
    assert fsim.log.count(method="GET", path="/me*") == 1
    assert fsim.log.count(transport="maton") == 1
    # Credentials are never kept.
    dump = repr(fsim.log.records)
    assert fsim.seed.api_token not in dump and fsim.seed.maton_api_key not in dump
    fsim.log.clear()
    assert fsim.log.records == []


def test_env_points_at_the_simulator(fsim):
    direct = fsim.env()
    assert direct["TOGGLSYNC_API_URL"] == fsim.url
    assert direct["TOGGL_API_TOKEN"] == fsim.seed.api_token
    maton = fsim.env("maton", connection=True)
    assert maton == {
        "TOGGLSYNC_TRANSPORT": "maton",
        "TOGGLSYNC_API_URL": fsim.url + "/toggl-track",
        "MATON_API_KEY": fsim.seed.maton_api_key,
        "MATON_CONNECTION": fsim.seed.connection_id,
        "TOGGLSYNC_MATON_CTRL_URL": fsim.url,
    }
    assert "MATON_CONNECTION" not in fsim.env("maton")


def test_start_stop_without_context_manager():
    from togglsync.simulator import Simulator

    simulator = Simulator(entries=3)
    with pytest.raises(RuntimeError):
        simulator.url
    simulator.start()
    url = simulator.url
    try:
        response = requests.get(url + "/api/v9/me", auth=(simulator.seed.api_token, "api_token"), timeout=10)
        assert response.status_code == 200
    finally:
        simulator.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/api/v9/me", timeout=2)
