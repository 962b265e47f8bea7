"""A hostile or broken server: `togglsync sync` fails with one clear line and stores nothing of it.

Each case answers GET /me/time_entries (incremental and cold) or GET /me with
something the API never promises: truncated JSON, wrong types, an HTML error
page, a 200 carrying an error message. The CLI must print one `Error:` line
and exit non-zero without a traceback; the tables (and `sync_cursors`) must be
exactly as before the failing response; and the next sync, once the fault is
gone, must succeed.

Decision on `null` for the entries list: treated as an empty list, like every
list Toggl writes as null when empty (see togglsync.api.streaming). A cold
sync of an empty account stores nothing and succeeds; an incremental sync
changes nothing. A full re-sync over a cache that holds synced entries in its
window refuses an empty answer (`[]` or null) and changes nothing; only
`togglsync sync --full` accepts it (the user deleted everything on Toggl).
"""

from __future__ import annotations

import json
import sqlite3

import pytest

# Tables whose content depends only on what was stored (quota_state records the
# quota headers of every response, failing ones included, by design).
_VOLATILE = {"quota_state"}
_HTML_500 = (
    b"<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head>"
    b"<body><h1>Internal Server Error</h1><p>nginx</p></body></html>"
)


def snapshot(db) -> dict[str, list[tuple]]:
    """Every table's rows, in a stable order (sqlite_* internals and volatile tables left out)."""
    if not db.exists():
        return {}
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
        ]
        return {
            t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
            for t in sorted(tables)
            if t not in _VOLATILE
        }
    finally:
        conn.close()


def _entry(sim, **overrides):
    """A well-formed time entry record for the seeded workspace."""
    record = {
        "id": 990000001,
        "workspace_id": sim.seed.workspace_id,
        "user_id": sim.seed.user_id,
        "description": "hostile",
        "start": "2026-01-05T09:00:00Z",
        "stop": "2026-01-05T10:00:00Z",
        "duration": 3600,
        "billable": False,
        "tag_ids": None,
        "tags": None,
        "project_id": None,
        "at": "2026-01-05T10:00:00Z",
    }
    record.update(overrides)
    return record


def _list_of(record) -> bytes:
    return json.dumps([record]).encode()


# name -> (fault kwargs for GET /me/time_entries) ; callables get the simulator.
ENTRY_FAULTS = {
    "truncated json": lambda sim: {"status": 200, "raw_body": _list_of(_entry(sim))[:-7]},
    "id is a string": lambda sim: {"status": 200, "raw_body": _list_of(_entry(sim, id="abc"))},
    "id missing": lambda sim: {"status": 200, "raw_body": b'[{"description": "no id"}]'},
    "start is a number": lambda sim: {"status": 200, "raw_body": _list_of(_entry(sim, start=12))},
    "tag_ids is a string": lambda sim: {"status": 200, "raw_body": _list_of(_entry(sim, tag_ids="x"))},
    "tag_ids digits string": lambda sim: {"status": 200, "raw_body": _list_of(_entry(sim, tag_ids="12"))},
    "entry is a string": lambda sim: {"status": 200, "raw_body": b'["just a string"]'},
    "html 500": lambda sim: {"status": 500, "raw_body": _HTML_500, "content_type": "text/html", "count": 20},
    "html with status 200": lambda sim: {"status": 200, "raw_body": _HTML_500, "content_type": "text/html"},
    "200 with an error string": lambda sim: {"status": 200, "raw_body": b'"Internal error"'},
    "200 with an error object": lambda sim: {"status": 200, "raw_body": b'{"error": "Internal error"}'},
    "duration overflows": lambda sim: {
        "status": 200, "raw_body": _list_of(_entry(sim, start="9999-12-31T23:00:00Z", stop=None, duration=10**9))
    },
    "id out of sqlite range": lambda sim: {"status": 200, "raw_body": _list_of(_entry(sim, id=2**70))},
    "description is an object": lambda sim: {"status": 200, "raw_body": _list_of(_entry(sim, description={"x": 1}))},
}

ME_FAULTS = {
    "truncated json": lambda sim: {"status": 200, "raw_body": b'{"id": 1, "email": "a@b.c", "workspaces": [{"id'},
    "html 500": lambda sim: {"status": 500, "raw_body": _HTML_500, "content_type": "text/html", "count": 20},
    "200 with an error string": lambda sim: {"status": 200, "raw_body": b'"Internal error"'},
    "null body": lambda sim: {"status": 200, "raw_body": b"null"},
    "account id is a string": lambda sim: {"status": 200, "raw_body": json.dumps({"id": "abc"}).encode()},
    "workspaces is a string": lambda sim: {
        "status": 200, "raw_body": json.dumps({"id": sim.seed.user_id, "workspaces": "x"}).encode()
    },
    "project id is a string": lambda sim: {
        "status": 200,
        "raw_body": json.dumps(
            {
                "id": sim.seed.user_id,
                "workspaces": [{"id": sim.seed.workspace_id, "name": "W"}],
                "projects": [{"id": "abc", "workspace_id": sim.seed.workspace_id, "name": "P"}],
            }
        ).encode(),
    },
}


def assert_one_line_error(result):
    assert result.exit_code not in (0, None), result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    text = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in text
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert len(errors[0]) < 400
    return errors[0]


def _remote_change(synced):
    """Something the next sync would store: a new entry on the server."""
    sim = synced.sim
    now = sim.clock.now()
    return sim.state.create_time_entry(
        sim.seed.user_id,
        sim.seed.workspace_id,
        {
            "workspace_id": sim.seed.workspace_id,
            "description": "arrives after the fault",
            "start": (now.replace(microsecond=0)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "duration": 60,
            "created_with": "another device",
        },
    )


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
@pytest.mark.parametrize("case", sorted(ENTRY_FAULTS))
def test_incremental_entries_fault_stores_nothing(synced, case):
    created = _remote_change(synced)
    synced.sim.clock.advance(5)
    before = snapshot(synced.db)
    synced.sim.faults.add(method="GET", path="/me/time_entries", **ENTRY_FAULTS[case](synced.sim))
    result = synced.run("sync")
    assert_one_line_error(result)
    assert snapshot(synced.db) == before  # sync_cursors included: no cursor moved

    synced.sim.faults.clear()
    again = synced.run("sync")
    assert again.exit_code == 0, again.output
    with sqlite3.connect(synced.db) as conn:
        assert conn.execute("SELECT description FROM time_entries WHERE id = ?", (created["id"],)).fetchone() == (
            "arrives after the fault",
        )


def _cold_home(make_sim, isolated_home):
    from conftest import SyncedHome

    sim = make_sim(entries=30, seed=3, quotas=False)
    return SyncedHome(sim, isolated_home)


COLD_ENTRY_CASES = sorted(ENTRY_FAULTS)


@pytest.mark.parametrize("case", COLD_ENTRY_CASES)
def test_cold_entries_fault_stores_no_entries(make_sim, isolated_home, case):
    home = _cold_home(make_sim, isolated_home)
    home.sim.faults.add(method="GET", path="/me/time_entries", **ENTRY_FAULTS[case](home.sim))
    result = home.run("sync")
    assert_one_line_error(result)
    after = snapshot(home.db)
    assert after.get("time_entries", []) == [] and after.get("time_entry_tags", []) == []
    assert [r for r in after.get("sync_cursors", []) if r[0] == "time_entries"] == []

    home.sim.faults.clear()
    again = home.run("sync")
    assert again.exit_code == 0, again.output
    assert len(snapshot(home.db)["time_entries"]) == 30


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
@pytest.mark.parametrize("case", sorted(ME_FAULTS))
def test_catalog_fault_stores_nothing(synced, case):
    before = snapshot(synced.db)
    synced.sim.faults.add(method="GET", path="/me", **ME_FAULTS[case](synced.sim))
    result = synced.run("sync", "--full")
    assert_one_line_error(result)
    assert snapshot(synced.db) == before

    synced.sim.faults.clear()
    again = synced.run("sync", "--full")
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize("case", sorted(ME_FAULTS))
def test_cold_catalog_fault_stores_nothing(make_sim, isolated_home, case):
    home = _cold_home(make_sim, isolated_home)
    home.sim.faults.add(method="GET", path="/me", **ME_FAULTS[case](home.sim))
    result = home.run("sync")
    assert_one_line_error(result)
    assert all(rows == [] for name, rows in snapshot(home.db).items() if name not in ("alembic_version", "schema_version"))

    home.sim.faults.clear()
    again = home.run("sync")
    assert again.exit_code == 0, again.output


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_null_entries_list_is_an_empty_list(synced):
    before = snapshot(synced.db)
    synced.sim.faults.add(status=200, method="GET", path="/me/time_entries", raw_body=b"null")
    result = synced.run("sync")
    assert result.exit_code == 0, result.output
    after = snapshot(synced.db)
    assert after["time_entries"] == before["time_entries"]


def test_null_entries_list_on_a_cold_sync_stores_no_entries(make_sim, isolated_home):
    home = _cold_home(make_sim, isolated_home)
    home.sim.faults.add(status=200, method="GET", path="/me/time_entries", raw_body=b"null")
    result = home.run("sync")
    assert result.exit_code == 0, result.output
    assert snapshot(home.db)["time_entries"] == []


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_unknown_fields_are_ignored_and_kept_in_raw(synced):
    sim = synced.sim
    record = _entry(sim, id=990000002, surprise={"nested": [1, 2]}, another_new_field="ok")
    sim.faults.add(status=200, method="GET", path="/me/time_entries", raw_body=_list_of(record))
    result = synced.run("sync")
    assert result.exit_code == 0, result.output
    with sqlite3.connect(synced.db) as conn:
        raw = conn.execute("SELECT raw FROM time_entries WHERE id = 990000002").fetchone()[0]
    stored = json.loads(raw)
    assert stored["surprise"] == {"nested": [1, 2]} and stored["another_new_field"] == "ok"


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_unknown_fields_in_me_are_kept(synced):
    from togglsync.api.client import TogglClient  # noqa: F401  (only to be sure the module imports)

    import requests

    me = requests.get(
        synced.sim.url + "/api/v9/me",
        params={"with_related_data": "true"},
        auth=(synced.sim.seed.api_token, "api_token"),
        timeout=10,
    ).json()
    me["brand_new_field"] = {"a": 1}
    synced.sim.faults.add(status=200, method="GET", path="/me", raw_body=json.dumps(me).encode())
    result = synced.run("sync", "--full")
    assert result.exit_code == 0, result.output
    with sqlite3.connect(synced.db) as conn:
        raw = conn.execute("SELECT raw FROM account").fetchone()[0]
    assert json.loads(raw)["brand_new_field"] == {"a": 1}


@pytest.mark.parametrize("mode", ["incremental", "cold"])
def test_a_10_mb_answer_works(make_sim, isolated_home, mode):
    from conftest import SyncedHome

    sim = make_sim(entries=5, seed=4, quotas=False)
    home = SyncedHome(sim, isolated_home)
    if mode == "incremental":
        assert home.run("sync").exit_code == 0
    now = sim.clock.now().replace(microsecond=0)
    records = []
    for i in range(2600):
        start = now.timestamp() - 3600 * 24 - i * 60
        from datetime import datetime, timezone

        iso = datetime.fromtimestamp(start, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        records.append(
            _entry(sim, id=800000000 + i, description=f"{i} " + "ü long description ✓ " * 180, start=iso, stop=None,
                   duration=30, at=iso)
        )
    body = json.dumps(records).encode()
    assert len(body) > 10_000_000
    sim.faults.add(status=200, method="GET", path="/me/time_entries", raw_body=body)
    result = home.run("sync")
    assert result.exit_code == 0, result.output
    with sqlite3.connect(home.db) as conn:
        count = conn.execute("SELECT count(*) FROM time_entries WHERE id BETWEEN 800000000 AND 800002599").fetchone()[0]
    assert count == 2600


def test_fault_raw_body_and_content_type_are_sent_as_is(sim):
    import requests

    sim.faults.add(status=200, path="/me", raw_body=b"<p>hi", content_type="text/html")
    response = requests.get(sim.url + "/api/v9/me", auth=(sim.seed.api_token, "api_token"), timeout=10)
    assert response.status_code == 200 and response.content == b"<p>hi"
    assert response.headers["Content-Type"].startswith("text/html")
    # A JSON body keeps its old meaning (JSON-encoded), and the fault is used up.
    sim.faults.add(status=503, path="/me", body="Service down")
    response = requests.get(sim.url + "/api/v9/me", auth=(sim.seed.api_token, "api_token"), timeout=10)
    assert response.status_code == 503 and response.json() == "Service down"


# -- an empty answer to a full re-sync --------------------------------------------------------


def _age_entries_cursor(db, days=100):
    """Move the entries cursor back past what `since` may reach: the next sync is a full re-sync."""
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE sync_cursors SET since = datetime(since, ?) WHERE resource = 'time_entries'", (f"-{days} days",)
        )


def _synced_entry_ids(db):
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute("SELECT id FROM time_entries WHERE id > 0")}


def _recent_synced_entries(db):
    """Synced entries inside the window a full re-sync covers (89 days; 88 leaves a margin)."""
    with sqlite3.connect(db) as conn:
        query = "SELECT count(*) FROM time_entries WHERE id > 0 AND start >= date('now', '-88 days')"
        return conn.execute(query).fetchone()[0]


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
@pytest.mark.parametrize("body", [b"[]", b"null"])
def test_an_empty_full_resync_answer_does_not_wipe_the_cache(synced, body):
    _age_entries_cursor(synced.db)
    assert _recent_synced_entries(synced.db) > 0
    before = snapshot(synced.db)
    # The `since` request reaches the simulator, which refuses the old cursor (400);
    # the full re-sync that follows gets the broken empty answer.
    synced.sim.faults.add(method="GET", path="/me/time_entries", latency=0.001)
    synced.sim.faults.add(status=200, method="GET", path="/me/time_entries", raw_body=body)
    synced.sim.log.clear()

    result = synced.run("sync")
    error = assert_one_line_error(result)
    assert "no time entries" in error and "togglsync sync --full" in error, error
    assert snapshot(synced.db) == before  # no row deleted, the cursor did not move
    queries = [r.query for r in synced.sim.log.find("GET", "/me/time_entries")]
    assert [set(q) for q in queries] == [{"since"}, {"start_date", "end_date"}]

    # The server's real answer is accepted as usual.
    again = synced.run("sync")
    assert again.exit_code == 0, again.output
    assert _synced_entry_ids(synced.db) == {row[0] for row in before["time_entries"] if row[0] > 0}


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_sync_full_accepts_that_everything_was_deleted_on_toggl(synced):
    sim = synced.sim
    assert _recent_synced_entries(synced.db) > 0
    for entry_id in _synced_entry_ids(synced.db):
        sim.state.delete_time_entry(sim.seed.user_id, sim.seed.workspace_id, entry_id)
    _age_entries_cursor(synced.db)
    before = snapshot(synced.db)

    refused = synced.run("sync")  # the server's own empty answer: a plain sync cannot tell it from a fault
    assert "togglsync sync --full" in assert_one_line_error(refused)
    assert snapshot(synced.db) == before

    accepted = synced.run("sync", "--full")
    assert accepted.exit_code == 0, accepted.output
    assert _recent_synced_entries(synced.db) == 0
    with sqlite3.connect(synced.db) as conn:
        cursor = conn.execute("SELECT since FROM sync_cursors WHERE resource = 'time_entries'").fetchone()[0]
    old_cursor = next(r[1] for r in before["sync_cursors"] if r[0] == "time_entries")
    assert cursor > old_cursor
