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
    assert pages == 3
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
    ids = {r["time_entries"][0]["id"] for r in search(page_size=1000).json()}
    assert victim not in ids and len(ids) == 298


def test_grouping_and_filters(search, fsim):
    grouped = search(page_size=1000, grouped=True).json()
    assert sum(len(r["time_entries"]) for r in grouped) == 299
    assert len(grouped) < 299
    for row in grouped:
        assert len({(e["id"]) for e in row["time_entries"]}) == len(row["time_entries"])
    no_project = search(page_size=1000, project_ids=[None]).json()
    assert no_project and all(r["project_id"] is None for r in no_project)
    described = search(page_size=1000, description="review").json()
    assert described and all("review" in r["description"].lower() for r in described)
    june = search(page_size=1000, start_date="2025-06-10", end_date="2025-06-12").json()
    assert june and all("2025-06-10" <= r["time_entries"][0]["start"][:10] <= "2025-06-12" for r in june)


def test_validation(search, fsim, sim_http):
    assert search(start_date=None).status_code == 400
    assert search(page_size=1001).status_code == 400
    assert search(start_date="2025-06-10", end_date="2025-06-01").status_code == 400
    assert search(order_by="mood").status_code == 400


def test_data_retention_limits_reports(search, fsim):
    fsim.state.set_data_retention(fsim.seed.workspace_id, 7)
    rows = search(page_size=1000).json()
    assert rows and all(r["time_entries"][0]["start"] >= "2025-06-09" for r in rows)
