"""Acceptance: `togglsync api`, `togglsync connections` and `togglsync quota` against the simulator.

Every request of Maton's Toggl docs goes through the CLI on both transports
(direct with TOGGL_API_TOKEN; Maton with MATON_API_KEY, without and with the
Maton-Connection header from MATON_CONNECTION or `--connection`), with paths
written both natively (`/me`) and Maton-style (`/toggl-track/api/v9/me`).
Each call is checked twice: the JSON printed is the response, and the
simulator's request log shows what was sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from conftest import invoke_cli


def invoke(env, *args, input=None):
    """Run the CLI in-process; an exception that escaped our error handling fails the test."""
    result = invoke_cli(args, env=env, input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"togglsync {' '.join(map(str, args))} raised instead of reporting") from result.exception
    return result


def one_line_error(result) -> str:
    """The `Error: ...` line, checking it is the only thing on stderr."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), result.stderr
    return lines[0]


# --- transports x path styles ---------------------------------------------------------------

VARIANTS = ["direct", "maton", "maton+MATON_CONNECTION", "maton+--connection"]
STYLES = ["native", "maton-style"]


@dataclass
class Cli:
    """`togglsync api` bound to one simulator, one transport variant and one path style."""

    sim: object
    variant: str
    style: str
    http: object  # SimHttp, to read the same resource without the CLI
    env: dict = field(init=False)
    prefix: list = field(init=False)

    def __post_init__(self):
        sim = self.sim
        if self.variant == "direct":
            self.env = sim.env("direct")
        else:
            self.env = sim.env("maton", connection=self.variant == "maton+MATON_CONNECTION")
        self.prefix = ["--connection", sim.seed.connection_id] if self.variant == "maton+--connection" else []

    @property
    def transport(self) -> str:
        return "direct" if self.variant == "direct" else "maton"

    @property
    def connection(self):
        return None if self.variant in ("direct", "maton") else self.sim.seed.connection_id

    def path(self, native: str, api: str = "v9") -> str:
        """The path as the user types it: `/me` or `/toggl-track/api/v9/me` (reports keep their prefix)."""
        if api == "reports":
            base = "/reports/api/v3" + native
            return "/toggl-track" + base if self.style == "maton-style" else base
        return "/toggl-track/api/v9" + native if self.style == "maton-style" else native

    def run(self, method, native, *opts, api="v9", expect=0, input=None):
        before = len(self.sim.log)
        result = invoke(self.env, *self.prefix, "api", method, self.path(native, api), *opts, input=input)
        assert result.exit_code == expect, (method, native, result.stdout, result.stderr)
        records = self.sim.log.records[before:]
        assert len(records) == 1, [(r.method, r.path) for r in records]  # exactly one request, no retries
        record = records[0]
        assert record.method == method
        assert record.api == api
        assert record.normalized_path == native.split("?")[0]
        assert record.transport == self.transport
        assert record.connection == self.connection
        return result, record

    def ok(self, method, native, *opts, api="v9", input=None):
        result, record = self.run(method, native, *opts, api=api, input=input)
        assert result.stderr == ""
        data = json.loads(result.stdout) if result.stdout.strip() else None
        return data, record


def same_as_server(cli_data, server_response):
    """What the CLI printed is the server's JSON (credentials in it are redacted, see test_cli_security)."""
    assert server_response.status_code == 200
    assert cli_data == redacted(server_response.json())


def redacted(value):
    """A credential under any key records.is_secret_field names (a user's or a workspace's api_token) is blanked."""
    from togglsync.records import is_secret_field

    if isinstance(value, dict):
        return {k: "********" if is_secret_field(k) and isinstance(v, str) and v else redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redacted(v) for v in value]
    return value


@pytest.fixture(params=[(v, s) for v in VARIANTS for s in STYLES], ids=lambda p: f"{p[0]}/{p[1]}")
def api(request, make_sim, sim_http):
    variant, style = request.param
    simulator = make_sim(entries=30, seed=3, plan="premium", quotas=False)
    return Cli(simulator, variant, style, sim_http(simulator))


def test_every_documented_request(api):
    sim, http = api.sim, api.http
    seed = sim.seed
    wid = seed.workspace_id
    now = sim.clock.now()

    # --- user and workspaces
    me, _ = api.ok("GET", "/me")
    assert (me["id"], me["email"], me["fullname"]) == (seed.user_id, seed.email, "Amélie Dupont")
    same_as_server(me, http.get("/me"))
    workspaces, _ = api.ok("GET", "/me/workspaces")
    assert [w["id"] for w in workspaces] == [wid]
    same_as_server(workspaces, http.get("/me/workspaces"))
    workspace, _ = api.ok("GET", f"/workspaces/{wid}")
    assert workspace["id"] == wid and workspace["premium"] is True
    same_as_server(workspace, http.get(f"/workspaces/{wid}"))
    users, _ = api.ok("GET", f"/workspaces/{wid}/users")
    assert [u["id"] for u in users] == [seed.user_id]
    same_as_server(users, http.get(f"/workspaces/{wid}/users"))

    # --- reading time entries
    since = int((now - timedelta(days=2)).timestamp())
    recent, record = api.ok("GET", "/me/time_entries", "--query", f"since={since}")
    assert record.query == {"since": str(since)}
    assert seed.running_entry_id in {e["id"] for e in recent}
    same_as_server(recent, http.get("/me/time_entries", params={"since": since}))

    start_date, end_date = (now - timedelta(days=7)).date().isoformat(), (now + timedelta(days=1)).date().isoformat()
    ranged, record = api.ok("GET", "/me/time_entries", "--query", f"start_date={start_date}", "--query", f"end_date={end_date}")
    assert record.query == {"start_date": start_date, "end_date": end_date}
    assert ranged and all(start_date <= e["start"][:10] <= end_date for e in ranged)
    same_as_server(ranged, http.get("/me/time_entries", params={"start_date": start_date, "end_date": end_date}))

    current, _ = api.ok("GET", "/me/time_entries/current")
    assert current["id"] == seed.running_entry_id and current["stop"] is None
    one, _ = api.ok("GET", f"/me/time_entries/{seed.running_entry_id}")
    assert one["id"] == seed.running_entry_id
    same_as_server(one, http.get(f"/me/time_entries/{seed.running_entry_id}"))

    # --- writing a time entry: start (running), edit, stop, delete
    body = {
        "description": "Acceptance ✓",
        "start": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration": -1,
        "workspace_id": wid,
        "created_with": "togglsync-acceptance",
    }
    created, record = api.ok("POST", f"/workspaces/{wid}/time_entries", "-d", json.dumps(body))
    assert record.json == body  # sent as given
    entry_id = created["id"]
    assert (created["description"], created["workspace_id"], created["stop"]) == ("Acceptance ✓", wid, None)
    assert created["duration"] < 0
    assert sim.state.entries[entry_id].running
    current, _ = api.ok("GET", "/me/time_entries/current")
    assert current["id"] == entry_id  # starting it stopped the seeded running entry

    updated, record = api.ok("PUT", f"/workspaces/{wid}/time_entries/{entry_id}", "-d", '{"description": "Renamed"}')
    assert record.json == {"description": "Renamed"}
    assert (updated["id"], updated["description"]) == (entry_id, "Renamed")

    stopped, record = api.ok("PATCH", f"/workspaces/{wid}/time_entries/{entry_id}/stop")
    assert record.json is None
    assert stopped["id"] == entry_id and stopped["stop"] is not None and stopped["duration"] >= 0

    deleted, _ = api.ok("DELETE", f"/workspaces/{wid}/time_entries/{entry_id}")
    assert deleted is None
    gone, record = api.run("GET", f"/me/time_entries/{entry_id}", expect=1)
    assert record.status == 404
    assert "404" in one_line_error(gone)

    # --- projects (paged), one project's lifecycle
    page1, record = api.ok("GET", f"/workspaces/{wid}/projects", "--query", "page=1", "--query", "per_page=3")
    assert record.query == {"page": "1", "per_page": "3"}
    page2, _ = api.ok("GET", f"/workspaces/{wid}/projects", "--query", "page=2", "--query", "per_page=3")
    assert len(page1) == len(page2) == 3
    assert not {p["id"] for p in page1} & {p["id"] for p in page2}
    same_as_server(page2, http.get(f"/workspaces/{wid}/projects", params={"page": 2, "per_page": 3}))

    project_id = seed.project_ids[0]
    project, _ = api.ok("GET", f"/workspaces/{wid}/projects/{project_id}")
    assert project["id"] == project_id
    same_as_server(project, http.get(f"/workspaces/{wid}/projects/{project_id}"))
    made, record = api.ok("POST", f"/workspaces/{wid}/projects", "-d", '{"name": "Acceptance project", "color": "#0b83d9"}')
    assert record.json == {"name": "Acceptance project", "color": "#0b83d9"}
    assert (made["name"], made["workspace_id"], made["active"]) == ("Acceptance project", wid, True)
    renamed, _ = api.ok("PUT", f"/workspaces/{wid}/projects/{made['id']}", "-d", '{"name": "Projet renommé"}')
    assert renamed["name"] == "Projet renommé"
    assert api.ok("DELETE", f"/workspaces/{wid}/projects/{made['id']}")[0] is None
    assert http.get(f"/workspaces/{wid}/projects/{made['id']}").status_code == 404

    # --- clients, with archive (premium plan) and restore
    clients, _ = api.ok("GET", f"/workspaces/{wid}/clients")
    assert {c["id"] for c in clients} >= set(seed.client_ids)
    same_as_server(clients, http.get(f"/workspaces/{wid}/clients"))
    client, _ = api.ok("POST", f"/workspaces/{wid}/clients", "-d", '{"name": "Acceptance client"}')
    assert (client["name"], client["wid"]) == ("Acceptance client", wid)
    fetched, _ = api.ok("GET", f"/workspaces/{wid}/clients/{client['id']}")
    assert fetched["id"] == client["id"]
    renamed, _ = api.ok("PUT", f"/workspaces/{wid}/clients/{client['id']}", "-d", '{"name": "Client renommé"}')
    assert renamed["name"] == "Client renommé"

    acme = seed.client_ids[0]
    archived_projects, _ = api.ok("POST", f"/workspaces/{wid}/clients/{acme}/archive")
    assert archived_projects and set(archived_projects) <= set(seed.project_ids)
    assert sim.state.clients[acme].archived
    restored, record = api.ok(
        "POST", f"/workspaces/{wid}/clients/{acme}/restore", "-d", '{"restore_all_projects": true}'
    )
    assert record.json == {"restore_all_projects": True}
    assert restored["id"] == acme and restored["archived"] is False
    assert all(sim.state.projects[p].active for p in archived_projects)
    assert api.ok("DELETE", f"/workspaces/{wid}/clients/{client['id']}")[0] is None

    # --- tags
    tags, _ = api.ok("GET", f"/workspaces/{wid}/tags")
    assert {t["id"] for t in tags} == set(seed.tag_ids)
    same_as_server(tags, http.get(f"/workspaces/{wid}/tags"))
    tag, _ = api.ok("POST", f"/workspaces/{wid}/tags", "-d", '{"name": "acceptance-ünïcode"}')
    assert (tag["name"], tag["workspace_id"]) == ("acceptance-ünïcode", wid)
    renamed, _ = api.ok("PUT", f"/workspaces/{wid}/tags/{tag['id']}", "-d", '{"name": "renamed-tag"}')
    assert renamed["name"] == "renamed-tag"
    assert api.ok("DELETE", f"/workspaces/{wid}/tags/{tag['id']}")[0] is None

    # --- reports v3 detailed search
    search = {"start_date": (now - timedelta(days=30)).date().isoformat(), "end_date": now.date().isoformat()}
    rows, record = api.ok("POST", f"/workspace/{wid}/search/time_entries", "-d", json.dumps(search), api="reports")
    assert record.json == search
    assert rows and all(len(row["time_entries"]) >= 1 for row in rows)
    expected = http.post(f"/workspace/{wid}/search/time_entries", api="reports", json=search)
    same_as_server(rows, expected)


# --- the other ways to give a body and a query ------------------------------------------


@pytest.fixture
def quiet_sim(make_sim):
    return make_sim(entries=20, seed=5, quotas=False)


def test_body_from_file_and_stdin_and_query_in_path(quiet_sim, tmp_path):
    sim, env = quiet_sim, quiet_sim.env("direct")
    wid = sim.seed.workspace_id
    body = tmp_path / "tag.json"
    body.write_text('{"name": "from-a-file"}', encoding="utf-8")
    result = invoke(env, "api", "POST", f"/workspaces/{wid}/tags", "-d", f"@{body}")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["name"] == "from-a-file"

    result = invoke(env, "api", "post", f"/api/v9/workspaces/{wid}/tags", "-d", "-", input='{"name": "from-stdin"}')
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["name"] == "from-stdin"
    assert [r.json for r in sim.log.find("POST", f"/workspaces/{wid}/tags")] == [
        {"name": "from-a-file"},
        {"name": "from-stdin"},
    ]

    result = invoke(env, "api", "GET", f"/workspaces/{wid}/projects?per_page=2", "--query", "page=2")
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)) == 2
    assert sim.log.records[-1].query == {"per_page": "2", "page": "2"}


def test_include_prints_status_and_quota_headers_to_stderr(make_sim):
    sim = make_sim(entries=5, seed=5)  # quotas on: a simulator without quotas reports none
    result = invoke(sim.env("direct"), "api", "-i", "GET", "/me/workspaces")
    assert result.exit_code == 0
    assert json.loads(result.stdout)[0]["id"] == sim.seed.workspace_id  # stdout stays pure JSON
    assert result.stderr.splitlines()[0] == "HTTP 200"
    assert "X-Toggl-Quota-Remaining: " in result.stderr


def test_a_json_null_answer_prints_null_and_an_empty_one_prints_nothing(quiet_sim):
    sim, env = quiet_sim, quiet_sim.env("direct")
    running = sim.state.current_time_entry(sim.seed.user_id)
    if running is not None:
        sim.state.stop_time_entry(sim.seed.user_id, running["workspace_id"], running["id"])
    # Toggl answers `null` when no timer runs: a script reading stdout must get valid JSON.
    result = invoke(env, "api", "GET", "/me/time_entries/current")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "null\n"
    assert sim.log.records[-1].status == 200

    # A DELETE answers with no body at all: nothing to print.
    entry_id = next(iter(sim.state.entries))
    entry = sim.state.entries[entry_id]
    result = invoke(env, "api", "DELETE", f"/workspaces/{entry.workspace_id}/time_entries/{entry_id}")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""


def test_premium_only_request_on_free_plan_is_a_clear_error(quiet_sim):
    wid, client_id = quiet_sim.seed.workspace_id, quiet_sim.seed.client_ids[0]
    result = invoke(quiet_sim.env("direct"), "api", "POST", f"/workspaces/{wid}/clients/{client_id}/archive")
    assert result.exit_code == 1
    assert "402" in one_line_error(result)
    assert quiet_sim.state.clients[client_id].archived is False


# --- Maton connections (ctrl API) ------------------------------------------------------------


def test_connections_list_create_get_delete(quiet_sim):
    sim = quiet_sim
    env = sim.env("maton")
    seeded = sim.seed.connection_id

    listed = invoke(env, "connections", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert [(c["connection_id"], c["status"], c["app"]) for c in json.loads(listed.stdout)] == [
        (seeded, "ACTIVE", "toggl-track")
    ]
    table = invoke(env, "connections", "list")
    assert table.exit_code == 0 and "ACTIVE" in table.stdout

    created = invoke(env, "connections", "create", "--json")
    assert created.exit_code == 0, created.stderr
    new = json.loads(created.stdout)
    assert new["status"] == "PENDING" and new["url"].startswith(sim.url)
    assert sim.log.records[-1].json == {"app": "toggl-track"}
    human = invoke(env, "connections", "create")
    assert human.exit_code == 0 and "Open this URL" in human.stdout and "/connect/" in human.stdout

    pending = invoke(env, "connections", "list", "--status", "PENDING", "--csv")
    assert pending.exit_code == 0
    lines = pending.stdout.strip().splitlines()
    assert lines[0].split(",")[:2] == ["connection_id", "status"] and len(lines) == 3
    assert sim.log.records[-1].query == {"app": "toggl-track", "status": "PENDING"}

    got = invoke(env, "connections", "get", new["connection_id"])
    assert got.exit_code == 0, got.stderr
    assert json.loads(got.stdout)["connection_id"] == new["connection_id"]

    deleted = invoke(env, "connections", "delete", new["connection_id"], "--yes")
    assert deleted.exit_code == 0 and new["connection_id"] in deleted.stdout
    assert new["connection_id"] not in sim.state.connections

    missing = invoke(env, "connections", "get", new["connection_id"])
    assert missing.exit_code == 1
    assert "404" in one_line_error(missing)

    assert {r.transport for r in sim.log.records} == {"ctrl"}
    assert all(r.path.startswith("/connections") for r in sim.log.records)


def test_connections_need_a_maton_key(quiet_sim):
    env = {"TOGGLSYNC_MATON_CTRL_URL": quiet_sim.ctrl_url}
    result = invoke(env, "connections", "list")
    assert result.exit_code == 5
    assert "MATON_API_KEY" in one_line_error(result)
    wrong = invoke({**env, "MATON_API_KEY": "maton_wrong"}, "connections", "list")
    assert wrong.exit_code == 5
    one_line_error(wrong)
    assert len(quiet_sim.log) == 1


# --- quota: recorded by `api`, answered from the database -------------------------------------


def test_quota_answers_from_persisted_headers_without_requests(sim):
    env = sim.env("direct")
    empty = invoke(env, "quota", "--table")
    assert empty.exit_code == 0 and "No quota information" in empty.stdout

    assert invoke(env, "api", "GET", "/me").exit_code == 0
    assert invoke(env, "api", "GET", f"/workspaces/{sim.seed.workspace_id}").exit_code == 0
    sent = len(sim.log)
    assert sent == 2

    result = invoke(env, "quota", "--json")
    assert result.exit_code == 0, result.stderr
    pools = {row["pool"]: row for row in json.loads(result.stdout)}
    assert set(pools) == {"user", f"workspace:{sim.seed.workspace_id}"}
    assert pools["user"]["remaining"] == 29 and pools[f"workspace:{sim.seed.workspace_id}"]["remaining"] == 29
    assert pools["user"]["resets_at"] > pools["user"]["observed_at"]

    table = invoke({}, "quota")  # no credentials needed either
    assert table.exit_code == 0, table.stderr
    assert "user" in table.stdout and "29" in table.stdout
    assert len(sim.log) == sent  # zero requests


def test_quota_exhausted_is_one_line_with_pool_and_reset_and_exit_4(make_sim):
    sim = make_sim(entries=5, user_quota=2, org_quota=1)
    env = sim.env("direct")
    for _ in range(2):
        assert invoke(env, "api", "GET", "/me").exit_code == 0
    result = invoke(env, "api", "GET", "/me/workspaces")
    assert result.exit_code == 4
    assert sim.log.records[-1].status == 402
    line = one_line_error(result)
    assert "quota exhausted" in line and "per-user /me quota" in line
    assert "resets in 60 min" in line and "UTC" in line
    assert result.stdout == ""

    wid = sim.seed.workspace_id
    assert invoke(env, "api", "GET", f"/workspaces/{wid}").exit_code == 0
    org = invoke(env, "api", "GET", f"/workspaces/{wid}/projects")
    assert org.exit_code == 4
    line = one_line_error(org)
    assert f"workspace:{wid}" in line and "resets in" in line

    sent = len(sim.log)
    shown = json.loads(invoke({}, "quota", "--json").stdout)
    assert {row["pool"]: row["remaining"] for row in shown} == {"user": 0, f"workspace:{wid}": 0}
    assert len(sim.log) == sent


def test_quota_exhausted_through_maton_too(make_sim):
    sim = make_sim(entries=5, user_quota=1)
    env = sim.env("maton", connection=True)
    assert invoke(env, "api", "GET", "/toggl-track/api/v9/me").exit_code == 0
    result = invoke(env, "api", "GET", "/toggl-track/api/v9/me")
    assert result.exit_code == 4
    assert "per-user /me quota" in one_line_error(result)
    assert [(r.transport, r.connection, r.status) for r in sim.log.records] == [
        ("maton", sim.seed.connection_id, 200),
        ("maton", sim.seed.connection_id, 402),
    ]


# --- waiting -------------------------------------------------------------------------------------


def test_back_off_waits_on_the_apps_clock(sim, clock):
    sim.faults.add(status=503, method="GET", path="/me", count=2)
    result = invoke_cli(["api", "GET", "/me"], env=sim.env("direct"), clock=clock)
    assert result.exit_code == 0, result.stderr
    assert [r.status for r in sim.log.records] == [503, 503, 200]
    # The production policy: 1 s, then 2 s, each with up to 0.5 s of jitter.
    assert len(clock.slept) == 2 and 1.0 <= clock.slept[0] <= 1.5 and 2.0 <= clock.slept[1] <= 2.5


def test_pacing_waits_on_the_apps_clock(sim, clock):
    result = invoke_cli(["sync"], env=sim.env("direct"), clock=clock)
    assert result.exit_code == 0, result.stderr
    # Only sleeping moves this clock, so every paced request after the first waits the full default
    # second: all but the first and the entries' request, sent beside GET /me without waiting (issue 13).
    assert [r.normalized_path for r in sim.log.records][:2] == ["/me", "/me/time_entries"]
    assert len(sim.log) > 2 and clock.slept == [1.0] * (len(sim.log) - 2)
