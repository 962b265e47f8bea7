"""`togglsync api` like `gh api`: --paginate, --jq and -H, against the simulator over HTTP."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import invoke_cli

needs_jq = pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed (apt-get install jq)")


def invoke(env, *args, input=None):
    result = invoke_cli(args, env=env, input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"togglsync {' '.join(map(str, args))} raised instead of reporting") from result.exception
    return result


def one_line_error(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), result.stderr
    return lines[0]


@pytest.fixture
def sim(make_sim):
    simulator = make_sim(entries=120, seed=11, plan="premium", quotas=False)
    wid = simulator.seed.workspace_id
    for n in range(17):  # more projects than one page of 5
        simulator.state.create_project(simulator.seed.user_id, wid, {"name": f"Paged project {n:02}"})
    return simulator


def report_body(sim, **more):
    now = sim.clock.now()
    return {"start_date": "2000-01-01", "end_date": now.date().isoformat(), **more}


SEARCH = "/reports/api/v3/workspace/{wid}/search/time_entries"


# --- --paginate --------------------------------------------------------------------------------


def test_paginate_a_list_joins_every_page_into_one_array(sim, sim_http):
    wid = sim.seed.workspace_id
    everything = sim_http(sim).get(f"/workspaces/{wid}/projects", params={"per_page": 200}).json()
    assert len(everything) > 20
    sim.log.clear()

    result = invoke(sim.env("direct"), "api", "GET", f"/workspaces/{wid}/projects", "--paginate",
                    "--query", "per_page=5")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""  # like gh: the data on stdout, nothing else unless -i
    printed = json.loads(result.stdout)
    assert [p["id"] for p in printed] == [p["id"] for p in everything]
    pages = sim.log.find("GET", f"/workspaces/{wid}/projects")
    expected_pages = len(everything) // 5 + 1  # the last page is short (or empty)
    assert [r.query["page"] for r in pages] == [str(n) for n in range(1, expected_pages + 1)]
    assert {r.query["per_page"] for r in pages} == {"5"}


def test_paginate_a_list_asks_for_the_largest_page_by_default_and_counts_requests_with_i(sim):
    wid = sim.seed.workspace_id
    result = invoke(sim.env("direct"), "api", "-i", "GET", f"/toggl-track/api/v9/workspaces/{wid}/projects",
                    "--paginate")
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)) > 20
    assert [r.query for r in sim.log.records] == [{"page": "1", "per_page": "200"}]
    assert result.stderr.splitlines()[0] == "HTTP 200"
    assert result.stderr.splitlines()[-1] == "1 page, 1 request"


def test_paginate_a_report_follows_the_cursor_headers(sim, sim_http):
    wid = sim.seed.workspace_id
    body = report_body(sim, page_size=10)
    sim.state.report_page_cap = 1000  # one answer for the reference below (pages hold 50 rows by default)
    everything = sim_http(sim).post(f"/workspace/{wid}/search/time_entries", api="reports",
                                    json=report_body(sim, page_size=1000)).json()
    assert len(everything) > 30
    sim.log.clear()

    result = invoke(sim.env("direct"), "api", "-i", "POST", SEARCH.format(wid=wid), "--paginate",
                    "-d", json.dumps(body))
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["row_number"] for r in rows] == list(range(1, len(everything) + 1))
    assert [e["id"] for r in rows for e in r["time_entries"]] == [e["id"] for r in everything for e in r["time_entries"]]

    sent = sim.log.find("POST", "/workspace/*/search/time_entries")
    pages = -(-len(everything) // 10)
    assert len(sent) == pages
    assert sent[0].json == body
    for before, after in zip(sent, sent[1:]):
        assert after.json["first_row_number"] == before.json.get("first_row_number", 1) + 10
        assert set(after.json) == set(body) | {"first_id", "first_row_number", "first_timestamp"}
    assert result.stderr.splitlines()[-1] == f"{pages} pages, {pages} requests"


def test_a_report_that_repeats_its_cursor_is_one_error_line_not_a_loop(sim):
    wid = sim.seed.workspace_id
    row = {"user_id": sim.seed.user_id, "time_entries": [{"id": 1, "seconds": 60}], "row_number": 1}
    cursor = {"X-Next-ID": "777", "X-Next-Row-Number": "51"}
    sim.faults.add(status=200, method="POST", path="/workspace/*/search/time_entries", count=50,
                   body=[row], headers=cursor)
    result = invoke(sim.env("direct"), "api", "POST", SEARCH.format(wid=wid), "--paginate",
                    "-d", json.dumps(report_body(sim)))
    assert result.exit_code == 1
    line = one_line_error(result)
    assert "repeats its paging cursor" in line and "first_id=777" in line
    assert result.stdout == ""  # nothing half-printed
    assert sim.log.count("POST") == 2


def test_an_empty_report_page_with_a_cursor_is_one_error_line(sim):
    wid = sim.seed.workspace_id
    sim.faults.add(status=200, method="POST", path="/workspace/*/search/time_entries", count=50,
                   body=[], headers={"X-Next-ID": "5", "X-Next-Row-Number": "2"})
    result = invoke(sim.env("direct"), "api", "POST", SEARCH.format(wid=wid), "--paginate",
                    "-d", json.dumps(report_body(sim)))
    assert result.exit_code == 1
    assert "empty report page names a next page" in one_line_error(result)
    assert result.stdout == "" and sim.log.count("POST") == 1


def test_the_library_iterator_stops_on_a_repeated_cursor_too(sim):
    """One owner of report paging: the typed iterator and `api --paginate` share the guard."""
    from togglsync.api.client import TogglClient
    from togglsync.api.retrying import RetryPolicy
    from togglsync.api.transport import DirectAuth
    from togglsync.errors import BadResponse

    row = {"user_id": sim.seed.user_id, "time_entries": [{"id": 1, "seconds": 60}], "row_number": 1}
    sim.faults.add(status=200, method="POST", path="/workspace/*/search/time_entries", count=50,
                   body=[row], headers={"X-Next-ID": "9", "X-Next-Row-Number": "2"})
    client = TogglClient(sim.url, DirectAuth(sim.seed.api_token), retry=RetryPolicy.off(), min_interval=0)
    with pytest.raises(BadResponse, match="repeats its paging cursor"):
        list(client.iter_report_time_entries(sim.seed.workspace_id, "2020-01-01", "2020-12-31"))
    assert sim.log.count("POST") == 2


def test_paginate_stops_with_the_quota_and_prints_nothing(make_sim):
    sim = make_sim(entries=20, seed=4, org_quota=2)
    wid = sim.seed.workspace_id
    for n in range(12):
        sim.state.create_project(sim.seed.user_id, wid, {"name": f"P{n}"})
    result = invoke(sim.env("direct"), "api", "GET", f"/workspaces/{wid}/projects", "--paginate",
                    "--query", "per_page=3")
    assert result.exit_code == 4
    assert "quota" in one_line_error(result)
    assert result.stdout == ""
    assert [r.status for r in sim.log.records] == [200, 200, 402]


def test_paginate_refuses_what_has_no_pages(sim):
    wid = sim.seed.workspace_id
    result = invoke(sim.env("direct"), "api", "DELETE", f"/workspaces/{wid}/tags/1", "--paginate")
    assert result.exit_code == 2
    assert "only GET lists and Reports API searches" in one_line_error(result)
    result = invoke(sim.env("direct"), "api", "POST", SEARCH.format(wid=wid), "--paginate", "-d", "[1]")
    assert result.exit_code == 2
    assert "give an object" in one_line_error(result)
    assert len(sim.log) == 0


def test_paginate_on_a_single_object_prints_it_as_it_came(sim):
    result = invoke(sim.env("direct"), "api", "GET", "/me", "--paginate")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["id"] == sim.seed.user_id
    assert len(sim.log) == 1


# --- --jq ----------------------------------------------------------------------------------------


@needs_jq
def test_jq_filters_the_output_strings_raw(sim):
    wid = sim.seed.workspace_id
    result = invoke(sim.env("direct"), "api", "GET", f"/workspaces/{wid}/projects", "--paginate",
                    "--query", "per_page=4", "--jq", '.[] | select(.name | startswith("Paged")) | .name')
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [f"Paged project {n:02}" for n in range(17)]


@needs_jq
def test_jq_sees_redacted_credentials_only(sim):
    result = invoke(sim.env("direct"), "api", "GET", "/me", "--jq", ".api_token")
    assert result.exit_code == 0, result.stderr
    assert sim.seed.api_token not in result.stdout
    assert result.stdout.strip() == "********"


@needs_jq
def test_a_jq_syntax_error_is_one_line_and_spends_no_request(sim):
    result = invoke(sim.env("direct"), "api", "GET", "/me", "--jq", ".[")
    assert result.exit_code == 2
    assert one_line_error(result).startswith("Error: --jq: jq: error")
    assert len(sim.log) == 0


def test_jq_missing_is_one_line_saying_what_to_do_and_spends_no_request(sim, tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    result = invoke({**sim.env("direct"), "PATH": str(empty)}, "api", "GET", "/me", "--jq", ".id")
    assert result.exit_code == 2
    line = one_line_error(result)
    assert "jq program, which is not installed" in line and "python3 -m json.tool" in line
    assert len(sim.log) == 0


# --- -H ------------------------------------------------------------------------------------------


def test_extra_headers_are_sent(sim):
    result = invoke(sim.env("direct"), "api", "GET", "/me", "-H", "Accept-Language: fr",
                    "--header", "X-Trace:  abc 123 ")
    assert result.exit_code == 0, result.stderr
    sent = sim.log.records[-1].headers
    assert sent["accept-language"] == "fr" and sent["x-trace"] == "abc 123"


@pytest.mark.parametrize("header", ["Authorization: Basic Zm9vOmJhcg==", "authorization: Bearer x",
                                    "Maton-Connection: c-123", "Proxy-Authorization: Basic eA=="])
@pytest.mark.parametrize("transport", ["direct", "maton"])
def test_credential_headers_are_refused_before_sending(sim, header, transport):
    result = invoke(sim.env(transport), "api", "GET", "/me", "-H", header)
    assert result.exit_code == 2
    line = one_line_error(result)
    assert "from your credentials" in line
    value = header.split(":", 1)[1].strip()
    assert value not in result.output and sim.seed.api_token not in result.output
    assert len(sim.log) == 0


def test_the_chokepoint_refuses_credential_headers_from_the_library_too(sim):
    from togglsync.api.client import TogglClient
    from togglsync.api.transport import DirectAuth
    from togglsync.errors import UsageError

    client = TogglClient(sim.url, DirectAuth(sim.seed.api_token), min_interval=0)
    with pytest.raises(UsageError, match="AUTHORIZATION header is not yours"):
        client.raw("GET", "/me", headers={"AUTHORIZATION": "Basic eA=="})
    assert len(sim.log) == 0


@pytest.mark.parametrize("header", ["no colon", ": empty name", "Bad Name: x", "X-Ok: s3cr3t\x0bs3cr3t"])
def test_malformed_headers_are_one_line_without_the_value(sim, header):
    result = invoke(sim.env("direct"), "api", "GET", "/me", "-H", header)
    assert result.exit_code == 2
    one_line_error(result)
    assert "s3cr3t" not in result.stderr
    assert len(sim.log) == 0


def test_paginate_unwraps_lists_sent_as_data(sim):
    """Workspace tasks come as {"data": [...]}: the rows of every page, one array."""
    wid = sim.seed.workspace_id
    tasks = [{"id": n, "name": f"task {n}"} for n in range(1, 4)]
    sim.faults.add(status=200, method="GET", path=f"/workspaces/{wid}/tasks", body={"data": tasks[:2], "total_count": 3})
    sim.faults.add(status=200, method="GET", path=f"/workspaces/{wid}/tasks", body={"data": tasks[2:], "total_count": 3})
    result = invoke(sim.env("direct"), "api", "GET", f"/workspaces/{wid}/tasks", "--paginate", "--query", "per_page=2")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == tasks
    assert [r.query["page"] for r in sim.log.records] == ["1", "2"]


# --- [METHOD] PATH, as gh takes it ---------------------------------------------------------------


def test_the_method_may_be_left_out_like_gh_get_or_post_with_a_body(sim):
    wid = sim.seed.workspace_id
    sim.log.clear()
    result = invoke(sim.env("direct"), "api", "/me")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["id"] == sim.seed.user_id

    result = invoke(sim.env("direct"), "api", f"/workspaces/{wid}/tags", "-d", '{"name": "from gh habits"}')
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["name"] == "from gh habits"
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in sim.log.records] == [("GET", "me"), ("POST", "tags")]


@pytest.mark.parametrize("words", [("FETCH", "/me"), ("GET",), ("GET", "/me", "extra")])
def test_a_method_or_path_that_cannot_be_read_is_one_error_line_and_no_request(sim, words):
    sim.log.clear()
    result = invoke(sim.env("direct"), "api", *words)
    assert result.exit_code == 2
    assert "api" in one_line_error(result)
    assert sim.log.records == []
