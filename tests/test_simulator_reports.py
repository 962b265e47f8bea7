"""Simulator: Reports API v3 detailed search and its X-Next-* paging."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

NOW = datetime(2025, 6, 16, 12, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def fsim(make_sim):
    return make_sim(entries=300, seed=11, now=NOW, quotas=False)


@pytest.fixture
def search(fsim, sim_http):
    http = sim_http(fsim)

    def run(**body):
        body.setdefault("start_date", "2025-01-01")
        return http.post(f"/workspace/{fsim.seed.workspace_id}/search/time_entries", api="reports", json=body)

    return run


def every_row(search, **body):
    """All rows of a search, page by page through the headers (pages hold at most 50 rows)."""
    rows, cursor = [], {}
    while True:
        response = search(**body, **cursor)
        assert response.status_code == 200, response.text
        rows += response.json()
        if "X-Next-ID" not in response.headers:
            return rows
        cursor = {"first_id": int(response.headers["X-Next-ID"]),
                  "first_row_number": int(response.headers["X-Next-Row-Number"])}


def finished_ids(sim):
    return {e["id"] for e in sim.state.all_time_entries() if e["stop"] is not None}


def test_paging_through_headers(search, fsim):
    seen, row_numbers, pages = [], [], 0
    body = {"page_size": 100}
    while True:
        response = search(**body)
        assert response.status_code == 200
        rows = response.json()
        pages += 1
        for row in rows:
            assert len(row["time_entries"]) == 1
            seen.append(row["time_entries"][0]["id"])
            row_numbers.append(row["row_number"])
        if "X-Next-ID" not in response.headers:
            assert "X-Next-Row-Number" not in response.headers
            break
        assert int(response.headers["X-Next-ID"]) not in seen
        body = {
            "page_size": 100,
            "first_id": int(response.headers["X-Next-ID"]),
            "first_row_number": int(response.headers["X-Next-Row-Number"]),
        }
    assert pages == 6  # a page_size of 100 gets pages of 50: the headers say where the next starts
    assert set(seen) == finished_ids(fsim) and len(seen) == 299  # the running entry is not reported
    assert row_numbers == list(range(1, 300))


def test_row_shape_and_default_order(search, fsim):
    response = search()
    rows = response.json()
    assert len(rows) == 50  # default page size
    row = rows[0]
    assert set(row) >= {"user_id", "username", "project_id", "task_id", "billable", "description", "tag_ids", "time_entries", "row_number"}
    item = row["time_entries"][0]
    assert set(item) >= {"id", "seconds", "start", "stop", "at"}
    starts = [r["time_entries"][0]["start"] for r in rows]
    assert starts == sorted(starts, reverse=True)
    ascending = search(order_dir="ASC").json()
    first_start = ascending[0]["time_entries"][0]["start"]
    assert first_start == min(e["start"] for e in fsim.state.all_time_entries())


def test_first_id_alone_finds_the_page(search):
    first = search(page_size=10)
    following = search(page_size=10, first_id=int(first.headers["X-Next-ID"])).json()
    assert following[0]["row_number"] == 11
    assert following[0]["time_entries"][0]["id"] == int(first.headers["X-Next-ID"])


def test_deleted_entries_are_absent(search, fsim, sim_http):
    victim = search(page_size=1).json()[0]["time_entries"][0]["id"]
    assert sim_http(fsim).delete(f"/workspaces/{fsim.seed.workspace_id}/time_entries/{victim}").status_code == 200
    ids = {r["time_entries"][0]["id"] for r in every_row(search, page_size=1000)}
    assert victim not in ids and len(ids) == 298


def test_grouping_and_filters(search, fsim):
    grouped = every_row(search, page_size=1000, grouped=True)
    assert sum(len(r["time_entries"]) for r in grouped) == 299
    assert len(grouped) < 299
    for row in grouped:
        assert len({(e["id"]) for e in row["time_entries"]}) == len(row["time_entries"])
    no_project = every_row(search, page_size=1000, project_ids=[None])
    assert no_project and all(r["project_id"] is None for r in no_project)
    described = every_row(search, page_size=1000, description="review")
    assert described and all("review" in r["description"].lower() for r in described)
    june = every_row(search, page_size=1000, start_date="2025-06-10", end_date="2025-06-12")
    assert june and all("2025-06-10" <= r["time_entries"][0]["start"][:10] <= "2025-06-12" for r in june)


def test_validation(search, fsim, sim_http):
    assert search(start_date=None).status_code == 400
    assert search(page_size=-1).status_code == 400
    capped = search(page_size=1001)
    assert capped.status_code == 200 and len(capped.json()) == 50 and capped.headers["X-Next-Row-Number"] == "51"
    assert search(start_date="2025-06-10", end_date="2025-06-01").status_code == 400
    assert search(order_by="mood").status_code == 400


def test_data_retention_limits_reports(search, fsim):
    fsim.state.set_data_retention(fsim.seed.workspace_id, 7)
    rows = every_row(search, page_size=1000)
    assert rows and all(r["time_entries"][0]["start"] >= "2025-06-09" for r in rows)


# -- years of history, other members, roles, the CSV export ----------------------------


@pytest.fixture
def team(make_sim):
    """Three years of the user's entries, two colleagues' beside them; a starter plan."""
    return make_sim(entries=600, years=3, members=2, member_entries=100, plan="starter", seed=5, now=NOW, quotas=False)


def search_as(sim, sim_http, token=None, path="search/time_entries", **body):
    http = sim_http(sim)
    if token is not None:
        http.session.auth = (token, "api_token")
    body.setdefault("start_date", "2020-01-01")
    return http.post(f"/workspace/{sim.seed.workspace_id}/{path}", api="reports", json=body)


def test_years_of_history_only_reports_reach(team, sim_http):
    entries = team.state.all_time_entries()
    mine = [e for e in entries if e["user_id"] == team.seed.user_id]
    assert len(mine) == 600 and min(e["start"] for e in mine) < "2022-09-01"  # about three years back
    assert {e["user_id"] for e in entries} == {team.seed.user_id, *team.seed.member_ids}
    http = sim_http(team)
    refused = http.get("/me/time_entries", params={"start_date": "2024-01-01", "end_date": "2025-06-01"})
    assert refused.status_code == 400  # /me/time_entries stops at 90 days, as on Toggl


def test_an_admin_sees_every_member_and_a_member_only_themselves(team, sim_http):
    rows = every_row(lambda **b: search_as(team, sim_http, **b))
    assert {r["user_id"] for r in rows} == {team.seed.user_id, *team.seed.member_ids}
    member, token = team.seed.member_ids[0], team.seed.member_tokens[0]
    theirs = every_row(lambda **b: search_as(team, sim_http, token, **b))
    assert theirs and {r["user_id"] for r in theirs} == {member}
    assert search_as(team, sim_http, token, user_ids=[member]).status_code == 200
    refused = search_as(team, sim_http, token, user_ids=[member, team.seed.user_id])
    assert refused.status_code == 403 and refused.json() == "Workspace not found/accessible"


def test_csv_export_of_a_paid_workspace(team, sim_http):
    response = search_as(team, sim_http, path="search/time_entries.csv", user_ids=[team.seed.user_id])
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == ["User", "Email", "Client", "Project", "Task", "Description", "Billable", "Start date",
                             "Start time", "End date", "End time", "Duration", "Tags", "Amount (USD)"]
    assert len(rows) == 599  # every finished entry of the user in one answer; no id column
    assert {r["Email"] for r in rows} == {team.seed.email}


def test_csv_export_is_refused_on_a_free_plan_without_quota_headers(make_sim, sim_http):
    free = make_sim(entries=50, seed=5, now=NOW)
    response = search_as(free, sim_http, path="search/time_entries.csv")
    assert response.status_code == 402 and response.json() == "Workspace needs to have this feature enabled"
    assert "X-Toggl-Quota-Remaining" not in response.headers
    assert search_as(free, sim_http).headers["X-Toggl-Quota-Remaining"]  # a search is counted, with headers


def test_report_requests_spend_the_organization_pool(make_sim, sim_http):
    free = make_sim(entries=50, seed=5, now=NOW, org_quota=2)
    assert search_as(free, sim_http).status_code == 200
    assert search_as(free, sim_http).status_code == 200
    spent = search_as(free, sim_http)
    assert spent.status_code == 402 and spent.headers["X-Toggl-Quota-Remaining"] == "0"
    assert sim_http(free).get("/me").status_code == 200  # the user's /me pool is another one
