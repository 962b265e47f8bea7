"""The database in Datasette: metadata that renders, facets by day and tag fast at 100,000 entries,
`togglsync db metadata` and `togglsync db serve`; and `time_entries.local_date` (migration 0008)
agreeing with the views whoever writes the entry.

The Datasette tests need the `datasette` extra (in the `test` extra too, so CI runs them); without
it they are skipped, with the reason shown.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import insert, text, update

from conftest import invoke_cli
from togglsync.db import browsing
from togglsync.db.models import Account, Project, Tag, TimeEntry, TimeEntryTag, Workspace
from togglsync.db.open import open_database
from togglsync.db.repo import upsert
from togglsync.db.tzoffsets import store_zone

UTC = timezone.utc
README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
ENTRIES = 100_000
TAGS = 20


def entry_row(entry_id: int, start: datetime, **extra):
    return {"id": entry_id, "workspace_id": 10, "project_id": extra.get("project_id"),
            "description": extra.get("description", "work"), "start": start,
            "stop": start + timedelta(minutes=30), "duration": 1800, "billable": False,
            "tag_ids": extra.get("tag_ids", []), "tags": extra.get("tags", [])}


def catalog(conn, zone="Europe/Paris"):
    conn.execute(insert(Account), [{"id": 1, "email": "a@example.com", "fullname": "A", "timezone": zone,
                                    "default_workspace_id": 10, "beginning_of_week": 1,
                                    "synced_at": datetime.now(UTC)}])
    conn.execute(insert(Workspace), [{"id": 10, "name": "Main"}])
    conn.execute(insert(Project), [{"id": 100 + i, "workspace_id": 10, "name": f"Project {i}"} for i in range(40)])
    conn.execute(insert(Tag), [{"id": 500 + i, "workspace_id": 10, "name": f"tag{i}"} for i in range(TAGS)])
    store_zone(conn, zone)


# -- local_date: one value whoever writes ---------------------------------------------------------------------


def local_dates(engine):
    with engine.connect() as conn:
        return dict(conn.execute(text(
            "SELECT e.id, e.local_date FROM time_entries e")).all()), dict(conn.execute(text(
            "SELECT id, date(local_start) FROM entries")).all())


def test_local_date_is_the_views_local_day_for_every_writer(tmp_path):
    engine = open_database(str(tmp_path / "t.db"))
    # Around the end of summer time in Paris (2026-10-25 01:00 UTC) and around midnight.
    starts = [datetime(2026, 10, 24, 21, 59, tzinfo=UTC), datetime(2026, 10, 24, 22, 0, tzinfo=UTC),
              datetime(2026, 10, 25, 22, 59, tzinfo=UTC), datetime(2026, 10, 25, 23, 0, tzinfo=UTC)]
    with engine.begin() as conn:
        catalog(conn)
        upsert(conn, TimeEntry, [entry_row(1 + i, s) for i, s in enumerate(starts)])  # the sync's path
        conn.execute(insert(TimeEntry), [entry_row(11 + i, s) for i, s in enumerate(starts)])  # another writer
        conn.execute(text("INSERT INTO time_entries (id, workspace_id, start, duration) "
                          "VALUES (-5, 10, '2026-10-24 22:30:00', 60)"))  # a person's own SQL
    stored, view = local_dates(engine)
    assert stored == view
    assert [stored[i] for i in (1, 2, 3, 4)] == ["2026-10-24", "2026-10-25", "2026-10-25", "2026-10-26"]
    assert stored[-5] == "2026-10-25"

    with engine.begin() as conn:  # an edit of the start; a re-pull with a new start
        conn.execute(update(TimeEntry).where(TimeEntry.id == 11).values(start=datetime(2026, 10, 26, 8, tzinfo=UTC)))
        upsert(conn, TimeEntry, [entry_row(2, datetime(2026, 10, 24, 21, 0, tzinfo=UTC))])
    stored, view = local_dates(engine)
    assert stored == view and stored[11] == "2026-10-26" and stored[2] == "2026-10-24"

    with engine.begin() as conn:  # the account moves to another zone
        store_zone(conn, "America/New_York")
    stored, view = local_dates(engine)
    assert stored == view and stored[1] == "2026-10-24" and stored[4] == "2026-10-25"
    engine.dispose()


# -- Datasette -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A database of 100,000 entries over 11 years, most of them tagged, written the sync's way."""
    path = tmp_path_factory.mktemp("datasette") / "togglsync.db"
    engine = open_database(str(path))
    rnd = random.Random(12)
    t0 = datetime(2016, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        catalog(conn)
        rows, pairs = [], []
        for i in range(ENTRIES):
            tag_ids = rnd.sample(range(500, 500 + TAGS), rnd.choice((0, 1, 1, 2)))
            rows.append(entry_row(10**9 + i, t0 + timedelta(minutes=55 * i), project_id=rnd.choice((None, 100, 101)),
                                  tag_ids=tag_ids, tags=[f"tag{t - 500}" for t in tag_ids]))
            pairs += [{"time_entry_id": 10**9 + i, "tag_id": t} for t in tag_ids]
        upsert(conn, TimeEntry, rows)
        conn.execute(insert(TimeEntryTag), pairs)
    engine.dispose()
    return path


def get(path: Path, *urls: str, **settings):
    """Datasette's Python API on the file with togglsync's metadata: the responses to `urls`.

    Datasette runs its queries in this thread (num_sql_threads 0: the same queries under the
    same time limits) and its connections are closed after: a test worker otherwise keeps each
    instance's query and write threads and their connections, one set per call, until it ends.
    `db serve` with Datasette's threads is tested in a process of its own, with a timeout.
    """
    pytest.importorskip("datasette", reason="the datasette extra is not installed: pip install 'togglsync[datasette]'")
    from datasette.app import Datasette

    async def fetch():
        ds = Datasette([str(path)], metadata=browsing.metadata(path.stem),
                       settings={"num_sql_threads": 0, **settings})
        try:
            return [await ds.client.get(url) for url in urls]
        finally:
            for database in ds.databases.values():
                database.close()

    before = threading.active_count()
    responses = asyncio.run(fetch())
    assert threading.active_count() == before, "Datasette left threads running"
    return responses


def test_the_day_and_tag_facets_answer_within_datasettes_time_limit_at_100k_entries(big):
    entries, tags = get(big, "/togglsync/entries.json?_size=1", "/togglsync/entry_tags.json?_size=1")
    facets = entries.json()["facet_results"]
    # A facet over its time limit (200 ms by default) is left out of the results.
    assert "local_date" in facets, f"the local_date facet timed out: {sorted(facets)}"
    assert sum(f["count"] for f in facets["local_date"]["results"]) >= 25  # busiest days: 26 entries each
    tag_facet = tags.json()["facet_results"]
    assert "tag" in tag_facet, "the tag facet timed out"
    counts = {f["value"]: f["count"] for f in tag_facet["tag"]["results"]}
    assert set(counts) == {f"tag{i}" for i in range(TAGS)}
    with open_database(str(big)).connect() as conn:
        assert counts["tag3"] == conn.execute(text("SELECT count(*) FROM time_entry_tags WHERE tag_id = 503")).scalar()


def test_the_metadata_renders(big):
    table, view, database, query, listing = get(
        big, "/togglsync/time_entries", "/togglsync/entries", "/togglsync",
        "/togglsync/hours_per_client_last_month", "/togglsync.json")
    assert table.status_code == view.status_code == database.status_code == query.status_code == 200
    assert "One time entry." in table.text and "Length in seconds; -1 while running." in table.text
    assert "Time entries with their workspace, project, client and tag names" in view.text
    assert "Hours per client last month" in database.text
    assert "coalesce(client" in query.text
    hidden = {t["name"] for t in listing.json()["tables"] if t["hidden"]}
    assert {"sync_cursors", "quota_state", "tz_offsets", "id_map"} <= hidden
    assert "pending_operations" not in hidden
    units = get(big, "/togglsync/daily_totals.json?_size=1")[0].json()["units"]
    assert units == {"seconds": "s", "billable_seconds": "s", "hours": "hour"}


def test_metadata_is_derived_from_the_models_and_the_readme_shows_its_queries():
    tables = browsing.metadata("x")["databases"]["x"]["tables"]
    assert tables["time_entries"]["columns"]["duration"] == TimeEntry.__table__.c.duration.doc
    assert tables["time_entries"]["units"] == {"duration": "s"}
    assert tables["time_entries"]["description"] == "One time entry. A running entry has `stop` NULL and `duration` -1."
    assert tables["entries"]["columns"]["start"] == TimeEntry.__table__.c.start.doc
    for query in browsing.QUERIES.values():
        assert query["sql"] in README, f"the README lacks the query {query['title']!r}"


# -- the commands -----------------------------------------------------------------------------------------------


def test_db_metadata_names_the_database_as_datasette_does(tmp_path):
    target = tmp_path / "work time.db"
    printed = invoke_cli(["--db", target, "db", "metadata"])
    assert printed.exit_code == 0, printed.output
    assert set(json.loads(printed.output)["databases"]) == {"work time"}
    written = invoke_cli(["--db", target, "db", "metadata", "-o", tmp_path / "m.json"])
    assert written.exit_code == 0 and written.output == ""
    assert json.loads((tmp_path / "m.json").read_text()) == json.loads(printed.output)
    refused = invoke_cli(["--db", target, "db", "metadata", "-o", tmp_path / "missing" / "m.json"])
    assert refused.exit_code == 2 and refused.output.startswith("Error: cannot write")


def test_db_serve_without_datasette_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "datasette", None)  # what `import datasette` meets when it is not installed
    result = invoke_cli(["--db", tmp_path / "t.db", "db", "serve"])
    assert result.exit_code == 2
    assert result.output == "Error: Datasette is not installed: pip install 'togglsync[datasette]' (or pip install datasette)\n"


def test_db_serve_runs_datasette_with_the_metadata(big):
    pytest.importorskip("datasette", reason="the datasette extra is not installed: pip install 'togglsync[datasette]'")
    result = subprocess.run(
        [sys.executable, "-m", "togglsync", "--db", str(big), "db", "serve", "--get", "/togglsync/daily_totals.json?_size=1"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["units"]["hours"] == "hour"


def test_db_serve_without_a_database_is_one_line(tmp_path):
    pytest.importorskip("datasette", reason="the datasette extra is not installed: pip install 'togglsync[datasette]'")
    result = invoke_cli(["--db", tmp_path / "none.db", "db", "serve"])
    assert result.exit_code != 0 and result.output.startswith("Error: no database at")
    assert not (tmp_path / "none.db").exists()


def test_upgrading_a_0007_database_fills_local_date_and_keeps_the_views(tmp_path):
    """Migration 0008 on a database with entries: every local_date filled, the views answer as before."""
    from alembic import command

    from togglsync.db.engine import make_engine
    from togglsync.db.migrate import alembic_config

    engine = make_engine(str(tmp_path / "old.db"))
    with engine.connect() as connection:
        command.upgrade(alembic_config(connection), "0007")
    starts = [datetime(2026, 3, 28, 23, 30, tzinfo=UTC), datetime(2026, 3, 29, 22, 30, tzinfo=UTC)]
    with engine.begin() as conn:
        store_zone(conn, "Europe/Paris")
        conn.execute(text("INSERT INTO time_entries (id, workspace_id, start, duration) VALUES (:id, 10, :start, 60)"),
                     [{"id": i + 1, "start": s.strftime("%Y-%m-%d %H:%M:%S")} for i, s in enumerate(starts)])
        before = conn.execute(text("SELECT id, local_date, local_start FROM entries ORDER BY id")).all()
        totals = conn.execute(text("SELECT * FROM daily_totals ORDER BY date")).all()
    with engine.connect() as connection:
        command.upgrade(alembic_config(connection), "head")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, local_date, local_start FROM entries ORDER BY id")).all() == before
        assert conn.execute(text("SELECT * FROM daily_totals ORDER BY date")).all() == totals
        assert conn.execute(text("SELECT local_date FROM time_entries ORDER BY id")).scalars().all() == [
            "2026-03-29", "2026-03-30"]
    with engine.connect() as connection:  # and back
        command.downgrade(alembic_config(connection), "0007")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, local_date, local_start FROM entries ORDER BY id")).all() == before
    engine.dispose()
