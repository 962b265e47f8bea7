"""Catalog commands (workspaces, users, projects, clients, tags): offline, queued, pushed by sync."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest
from conftest import _ENV_VARS, SyncedHome, run_in_terminal

from togglsync.simulator import Simulator

WS1 = "Amélie's workspace"
WS2 = "Side projects 🌱"


# --- helpers ---------------------------------------------------------------------------------


def dump(path) -> dict[str, list[str]]:
    """Every row of every table (sqlite_sequence included), order-independent."""
    con = sqlite3.connect(path)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: sorted(repr(row) for row in con.execute(f'SELECT * FROM "{t}"')) for t in tables}
    finally:
        con.close()


def query(home: SyncedHome, sql: str, *args) -> list[tuple]:
    con = sqlite3.connect(home.db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def ok(home: SyncedHome, *args, input=None):
    result = home.run(*args, input=input)
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result


def as_json(home: SyncedHome, *args) -> list[dict]:
    return json.loads(ok(home, *args, "--json").stdout)


def go_online(home: SyncedHome) -> None:
    """Restart a stopped simulator (it gets a new port) and point the home at it."""
    home.sim.start()
    home.env.update(home.sim.env("direct"))


def make_home(tmp_path, **sim_options) -> SyncedHome:
    sim = Simulator(quotas=False, **sim_options).start()
    home = SyncedHome(sim, tmp_path / "togglsync-home")
    home.env.update({name: None for name in _ENV_VARS if name not in home.env})  # nothing from the shell
    result = home.run("sync")
    assert result.exit_code == 0, result.output
    return home


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """Free plan, two workspaces, synced once, then offline for good. Tests must not change it."""
    home = make_home(tmp_path_factory.mktemp("catalog"), entries=60, seed=11, second_workspace=True)
    home.sim.stop()
    yield home
    home.sim.stop()


@pytest.fixture
def premium(tmp_path):
    """Premium plan (clients can be archived), two workspaces, synced once; simulator running."""
    home = make_home(tmp_path, entries=40, seed=5, plan="premium", second_workspace=True)
    yield home
    home.sim.stop()


# --- every command, online and offline -------------------------------------------------------

SCRIPT = [
    ("workspaces",),
    ("workspaces", "list", "--json"),
    ("users",),
    ("users", "list", "--csv"),
    ("projects",),
    ("projects", "list", "--all", "--json"),
    ("projects", "add", "Offline project", "--client", "acme corp", "--color", "#12AB3c", "--billable", "--public"),
    ("projects", "edit", "offline project", "--name", "Offline project 2", "--client", "none", "--no-billable", "--archive"),
    ("projects", "edit", "Mobile app", "--color", "#000000", "--private", "--billable", "--client", "Société Générale de Café"),
    ("projects", "edit", "Legacy migration", "--unarchive"),
    ("projects", "rm", "Offline project 2", "--yes"),
    ("projects", "rm", "Internal tools", "--yes"),
    ("clients",),
    ("clients", "add", "New client", "--notes", "from the train"),
    ("clients", "edit", "new client", "--name", "Newer client", "--notes", ""),
    ("clients", "list", "--all", "--csv"),
    ("clients", "restore", "Acme Corp"),  # not archived: says so
    ("clients", "rm", "Newer client", "--yes"),
    ("clients", "rm", "株式会社サンプル", "--yes"),
    ("tags",),
    ("tags", "add", "fresh"),
    ("tags", "edit", "fresh", "--name", "fresher"),
    ("tags", "rm", "fresher", "--yes"),
    ("tags", "edit", "urgent", "--name", "Urgent!"),
    ("tags", "rm", "meeting", "-y"),
]


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
@pytest.mark.parametrize("online", [True, False], ids=["online", "offline"])
def test_every_command_is_local(synced, online):
    if not online:
        synced.sim.stop()
    before = synced.requests()
    for args in SCRIPT:
        ok(synced, *args)
    assert synced.requests() == before  # not one request, online or not

    projects = {p["name"]: p for p in as_json(synced, "projects", "list", "--all")}
    assert "Offline project 2" not in projects and "Internal tools" not in projects
    assert projects["Mobile app"]["color"] == "#000000" and projects["Mobile app"]["client"] == "Société Générale de Café"
    assert projects["Legacy migration"]["active"] is True
    assert projects["翻訳プロジェクト"]["client"] is None  # its client was deleted
    assert {c["name"] for c in as_json(synced, "clients")} == {"Acme Corp", "Société Générale de Café"}
    tags = {t["name"] for t in as_json(synced, "tags")}
    assert "Urgent!" in tags and "urgent" not in tags and "meeting" not in tags and "fresher" not in tags
    # Entries of the deleted project are unassigned (as Toggl does), not deleted.
    pending = {(r[0], r[1]) for r in query(synced, "SELECT resource, action FROM pending_operations")}
    assert ("project", "delete") in pending and ("time_entry", "update") in pending
    # Created and deleted offline: nothing for Toggl to hear about.
    assert not query(synced, "SELECT 1 FROM pending_operations WHERE record_id < 0")


def test_listings_default_to_list_and_hide_archived(shared):
    assert ok(shared, "projects").stdout == ok(shared, "projects", "list").stdout
    active = {p["name"] for p in as_json(shared, "projects")}
    every = {p["name"] for p in as_json(shared, "projects", "--all")}
    assert "Legacy migration" in every - active
    assert ok(shared, "clients").stdout == ok(shared, "clients", "list").stdout
    assert ok(shared, "tags").stdout == ok(shared, "tags", "list").stdout
    assert ok(shared, "workspaces").stdout == ok(shared, "workspaces", "list").stdout
    assert ok(shared, "users").stdout == ok(shared, "users", "list").stdout
    assert "Commands:" in ok(shared, "projects", "-h").stdout


# --- output shapes ---------------------------------------------------------------------------

SHAPES = {
    ("workspaces",): ["id", "name", "organization_id", "premium", "default"],
    ("users",): ["user_id", "fullname", "email", "role", "active"],
    ("projects", "--all"): ["id", "name", "workspace_id", "client_id", "client", "active", "billable", "private", "color", "entries"],
    ("clients", "--all"): ["id", "name", "workspace_id", "archived", "projects", "notes"],
    ("tags",): ["id", "name", "workspace_id", "entries"],
}


@pytest.mark.parametrize("args", list(SHAPES), ids=lambda a: a[0])
def test_json_and_csv_shapes(shared, args):
    rows = as_json(shared, *args)
    assert rows and all(list(r) == SHAPES[args] for r in rows)
    table = list(csv.reader(io.StringIO(ok(shared, *args, "--csv").stdout)))
    assert table[0] == SHAPES[args]
    assert len(table) == len(rows) + 1
    assert [r[0] for r in table[1:]] == [str(r[SHAPES[args][0]]) for r in rows]
    header = ok(shared, *args).stdout.splitlines()[0].split()
    assert [h for h in header if h.isidentifier()] == TABLE_COLUMNS.get(args[0], SHAPES[args])


TABLE_COLUMNS = {  # tables leave out workspace_id and the raw ids of references
    "projects": ["id", "name", "client", "active", "billable", "color", "entries"],
    "clients": ["id", "name", "archived", "projects", "notes"],
    "tags": ["id", "name", "entries"],
}


def test_listing_values(shared):
    seed = shared.sim.seed
    workspaces = as_json(shared, "workspaces")
    assert [(w["id"], w["name"], w["default"], w["premium"]) for w in workspaces] == [
        (seed.workspace_id, WS1, True, False), (seed.second_workspace_id, WS2, False, False),
    ]
    assert workspaces[0]["organization_id"] == seed.organization_id
    users = as_json(shared, "users")
    assert users == [{"user_id": seed.user_id, "fullname": "Amélie Dupont", "email": seed.email, "role": "admin", "active": True}]
    projects = {p["name"]: p for p in as_json(shared, "projects", "--all")}
    website = projects["Website relaunch"]
    assert website["client"] == "Acme Corp" and website["client_id"] in seed.client_ids
    assert website["color"] == "#0b83d9" and website["billable"] is True and website["active"] is True
    counted = query(shared, "SELECT count(*) FROM time_entries WHERE project_id = ?", website["id"])[0][0]
    assert website["entries"] == counted > 0
    clients = {c["name"]: c for c in as_json(shared, "clients")}
    assert clients["Acme Corp"]["projects"] == 3 and clients["Acme Corp"]["archived"] is False
    tags = {t["name"]: t for t in as_json(shared, "tags")}
    assert sum(t["entries"] for t in tags.values()) == query(
        shared, "SELECT count(*) FROM time_entry_tags JOIN tags ON tags.id = tag_id WHERE tags.workspace_id = ?", seed.workspace_id
    )[0][0]


def test_workspace_option_by_name_and_id_in_listings(shared):
    seed = shared.sim.seed
    by_name = as_json(shared, "projects", "-w", WS2)
    by_id = as_json(shared, "projects", "--workspace", str(seed.second_workspace_id))
    by_lower_name = as_json(shared, "projects", "-w", WS2.upper())
    assert by_name == by_id == by_lower_name
    assert by_name and {p["workspace_id"] for p in by_name} == {seed.second_workspace_id}
    assert {p["workspace_id"] for p in as_json(shared, "projects")} == {seed.workspace_id}
    for group in ("clients", "tags", "users", "workspaces"):
        assert as_json(shared, group, "-w", WS2) == as_json(shared, group, "-w", str(seed.second_workspace_id))
    assert [w["id"] for w in as_json(shared, "workspaces", "-w", WS2)] == [seed.second_workspace_id]
    assert {t["workspace_id"] for t in as_json(shared, "tags", "-w", WS2)} == {seed.second_workspace_id}


def test_workspace_option_in_edits(premium):
    premium.sim.stop()
    seed = premium.sim.seed
    ok(premium, "tags", "add", "Potting", "-w", WS2.upper())
    assert premium.run("tags", "add", "POTTING", "-w", WS2).exit_code == 2  # taken there...
    ok(premium, "tags", "add", "potting")  # ...not in the default workspace
    assert query(premium, "SELECT workspace_id FROM tags WHERE name = 'Potting'") == [(seed.second_workspace_id,)]
    ok(premium, "projects", "add", "Garden", "-w", str(seed.second_workspace_id))
    ok(premium, "clients", "add", "Neighbour", "-w", WS2)
    ok(premium, "projects", "edit", "garden", "-w", WS2, "--client", "neighbour")
    # names are looked up in the chosen workspace only
    result = premium.run("projects", "edit", "Garden", "--color", "#111111")
    assert result.exit_code == 2 and "no project named 'Garden'" in result.stderr
    garden = next(p for p in as_json(premium, "projects", "-w", WS2) if p["name"] == "Garden")
    assert garden["client"] == "Neighbour" and str(garden["id"]).startswith("L")
    # an id needs no -w
    other = next(p for p in as_json(premium, "projects", "-w", WS2) if p["name"] == "Internal tools")
    ok(premium, "projects", "edit", str(other["id"]), "--color", "#222222")
    ok(premium, "projects", "edit", garden["id"], "--name", "Garden 2")  # L<n> works too
    assert query(premium, "SELECT workspace_id, name FROM projects WHERE id = ?", int(garden["id"][1:]) * -1) == [
        (seed.second_workspace_id, "Garden 2")
    ]
    assert query(premium, "SELECT color FROM projects WHERE id = ?", other["id"]) == [("#222222",)]


# --- bad input: one line, exit 2, nothing written ------------------------------------------

BAD = [
    (("workspaces", "list", "-w", "nope"), "no workspace 'nope'"),
    (("users", "-w", "nope"), "no workspace 'nope'"),
    (("users", "list", "-w", "999"), "no workspace '999'"),
    (("projects", "-w", "nope"), "no workspace"),
    (("projects", "list", "--all", "-w", "Amelie"), "no workspace"),
    (("projects", "add", ""), "can't be blank"),
    (("projects", "add", "   "), "can't be blank"),
    (("projects", "add", "two\nlines"), "line breaks"),
    (("projects", "add", "website RELAUNCH"), "already exists"),
    (("projects", "add", "翻訳プロジェクト"), "already exists"),
    (("projects", "add", "X", "--color", "red"), "bad color 'red'"),
    (("projects", "add", "X", "--color", "#12345"), "bad color"),
    (("projects", "add", "X", "--color", "#12345g"), "bad color"),
    (("projects", "add", "X", "--color", "0b83d9"), "bad color"),
    (("projects", "add", "X", "--client", "Acme"), "did you mean 'Acme Corp'"),
    (("projects", "add", "X", "--client", "Acme Corp", "-w", WS2), "no client named 'Acme Corp'"),
    (("projects", "add", "X", "-w", "nope"), "no workspace"),
    (("projects", "edit", "Websit relaunch", "--name", "Y"), "did you mean 'Website relaunch'"),
    (("projects", "edit", "Website relaunch"), "nothing to change"),
    (("projects", "edit", "Website relaunch", "--name", "MOBILE APP"), "already exists"),
    (("projects", "edit", "Website relaunch", "--name", " "), "can't be blank"),
    (("projects", "edit", "Website relaunch", "--color", "blue"), "bad color"),
    (("projects", "edit", "Website relaunch", "--client", "Nobody"), "no client named 'Nobody'"),
    (("projects", "edit", "999", "--name", "Y"), "no project named '999'"),
    (("projects", "edit", "L99", "--name", "Y"), "no project named 'L99'"),
    (("projects", "edit", "{ws2_project}", "-w", "{ws1}", "--name", "Y"), "is in workspace"),
    (("projects", "edit", "Website relaunch", "-w", "nope", "--billable"), "no workspace"),
    (("projects", "rm", "Nope", "--yes"), "no project named 'Nope'"),
    (("projects", "rm", "Website relaunch"), "pass --yes"),  # no one to answer the question
    (("clients", "add", ""), "can't be blank"),
    (("clients", "add", "acme corp"), "already exists"),
    (("clients", "add", "SOCIÉTÉ GÉNÉRALE DE CAFÉ"), "already exists"),
    (("clients", "add", "X", "-w", "nope"), "no workspace"),
    (("clients", "edit", "Nope", "--name", "Y"), "no client named 'Nope'"),
    (("clients", "edit", "Acme Corp"), "nothing to change"),
    (("clients", "edit", "Acme Corp", "--name", "株式会社サンプル"), "already exists"),
    (("clients", "edit", "Acme Corp", "--name", ""), "can't be blank"),
    (("clients", "rm", "Nope", "-y"), "no client named 'Nope'"),
    (("clients", "rm", "Acme Corp"), "pass --yes"),
    (("clients", "archive", "Nope"), "no client named 'Nope'"),
    (("clients", "archive", "Acme Corp"), "paid Toggl plan"),  # free plan
    (("clients", "restore", "Nope"), "no client named 'Nope'"),
    (("clients", "restore", "Acme Corp", "-w", "nope"), "no workspace"),
    (("tags", "-w", "nope"), "no workspace"),
    (("tags", "add", ""), "can't be blank"),
    (("tags", "add", "URGENT"), "already exists"),
    (("tags", "add", "🔥HOT"), "already exists"),
    (("tags", "add", "x", "-w", "nope"), "no workspace"),
    (("tags", "edit", "nope", "--name", "y"), "no tag named 'nope'"),
    (("tags", "edit", "urgent"), "give --name"),
    (("tags", "edit", "urgent", "--name", "MEETING"), "already exists"),
    (("tags", "edit", "urgent", "--name", " "), "can't be blank"),
    (("tags", "rm", "nope", "-y"), "no tag named 'nope'"),
    (("tags", "rm", "urgent"), "pass --yes"),
]


@pytest.mark.parametrize("args,message", BAD, ids=[" ".join(a).replace("\n", "\\n") for a, _ in BAD])
def test_bad_input(shared, args, message):
    ws2_project = query(shared, "SELECT id FROM projects WHERE workspace_id = ? LIMIT 1", shared.sim.seed.second_workspace_id)[0][0]
    args = [a.format(ws2_project=ws2_project, ws1=shared.sim.seed.workspace_id) for a in args]
    before, requests = dump(shared.db), shared.requests()
    result = shared.run(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr
    assert dump(shared.db) == before
    assert shared.requests() == requests


def test_declining_a_delete_changes_nothing(shared):
    before = dump(shared.db)
    for args in (("projects", "rm", "Website relaunch"), ("clients", "rm", "Acme Corp"), ("tags", "rm", "urgent")):
        code, out, err = run_in_terminal(args, shared.env, "n\n")
        assert code == 1 and "Nothing deleted." in out, (out, err)
        assert "[y/N]" in out
    assert dump(shared.db) == before


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_confirming_a_delete(synced):
    synced.sim.stop()
    code, out, err = run_in_terminal(("projects", "rm", "Website relaunch"), synced.env, "y\n")
    assert code == 0, (out, err)
    assert "time entries will be left without a project" in out
    assert not query(synced, "SELECT 1 FROM projects WHERE name = 'Website relaunch'")


def test_a_delete_without_a_terminal_is_refused_at_once(shared):
    """Piped, redirected or closed standard input: one line, nothing deleted, no wait for an answer."""
    before = dump(shared.db)
    for answer in (None, "y\n"):
        result = shared.run("projects", "rm", "Website relaunch", input=answer)
        assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "pass --yes" in result.stderr
    assert dump(shared.db) == before


# --- what sync does with it -------------------------------------------------------------------


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_offline_add_is_created_by_sync(synced):
    synced.sim.stop()
    out = ok(synced, "projects", "add", "Written on a plane", "--client", "Acme Corp", "--color", "#AABBCC").stdout
    assert "Written on a plane" in out and "(L" in out
    project = next(p for p in as_json(synced, "projects") if p["name"] == "Written on a plane")
    assert isinstance(project["id"], str) and project["id"].startswith("L")
    assert project["id"] in ok(synced, "projects").stdout
    client_id = project["client_id"]

    go_online(synced)
    ok(synced, "sync")
    on_server = [p for p in synced.sim.state.all_projects() if p["name"] == "Written on a plane"]
    assert len(on_server) == 1
    assert on_server[0]["color"] == "#aabbcc" and on_server[0]["client_id"] == client_id
    assert on_server[0]["is_private"] is True and on_server[0]["workspace_id"] == synced.sim.seed.workspace_id
    synced_now = next(p for p in as_json(synced, "projects") if p["name"] == "Written on a plane")
    assert synced_now["id"] == on_server[0]["id"]
    assert not query(synced, "SELECT 1 FROM pending_operations")


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_offline_renames_and_deletes_are_pushed(synced):
    synced.sim.stop()
    ok(synced, "projects", "edit", "Website relaunch", "--name", "Website v2", "--no-billable", "--archive")
    ok(synced, "projects", "rm", "Mobile app", "--yes")
    ok(synced, "clients", "add", "Globex", "--notes", "big one")
    ok(synced, "clients", "edit", "Société Générale de Café", "--name", "SGC", "--notes", "renamed")
    ok(synced, "clients", "rm", "株式会社サンプル", "--yes")
    ok(synced, "tags", "add", "fresh")
    ok(synced, "tags", "edit", "urgent", "--name", "URGENT!")
    ok(synced, "tags", "rm", "meeting", "--yes")

    go_online(synced)
    result = ok(synced, "sync")
    assert "failed" not in result.output
    state = synced.sim.state
    projects = {p["name"]: p for p in state.all_projects()}
    assert "Website relaunch" not in projects and "Mobile app" not in projects
    assert projects["Website v2"]["active"] is False and projects["Website v2"]["billable"] is False
    clients = {c["name"]: c for c in state.all_clients()}
    assert set(clients) == {"Acme Corp", "SGC", "Globex"}
    assert clients["SGC"]["notes"] == "renamed" and clients["Globex"]["notes"] == "big one"
    tags = {t["name"] for t in state.all_tags() if t["workspace_id"] == synced.sim.seed.workspace_id}
    assert {"fresh", "URGENT!"} <= tags and not {"urgent", "meeting"} & tags
    assert not query(synced, "SELECT 1 FROM pending_operations")
    # The server and the cache agree afterwards.
    assert {p["name"] for p in as_json(synced, "projects", "--all")} == {
        p["name"] for p in state.all_projects() if p["workspace_id"] == synced.sim.seed.workspace_id
    }


# --- archive and restore (local now; the push comes with the sync engine) ----------------------


def test_archive_and_restore_clients_offline(premium):
    premium.sim.stop()
    before = premium.requests()
    ok(premium, "clients", "add", "Seasonal")
    assert "Archived client 'Acme Corp'" in ok(premium, "clients", "archive", "acme corp").stdout
    assert "already archived" in ok(premium, "clients", "archive", "Acme Corp").stdout
    ok(premium, "clients", "archive", "Seasonal")
    assert {c["name"] for c in as_json(premium, "clients")} == {"Société Générale de Café", "株式会社サンプル"}
    listed = {c["name"]: c["archived"] for c in as_json(premium, "clients", "--all")}
    assert listed["Acme Corp"] is True and listed["Seasonal"] is True
    assert query(premium, "SELECT archived FROM clients WHERE name = 'Acme Corp'") == [(1,)]
    ok(premium, "clients", "restore", "Acme Corp")
    assert "is not archived" in ok(premium, "clients", "restore", "Acme Corp").stdout
    assert query(premium, "SELECT archived FROM clients WHERE name = 'Acme Corp'") == [(0,)]
    assert premium.requests() == before


def test_archive_and_restore_are_pushed(premium):
    premium.sim.stop()
    ok(premium, "clients", "archive", "Acme Corp")
    ok(premium, "clients", "archive", "株式会社サンプル")
    assert query(premium, "SELECT resource, action FROM pending_operations") == [("client", "update")] * 2
    go_online(premium)
    ok(premium, "sync")
    clients = {c["name"]: c for c in premium.sim.state.all_clients()}
    assert clients["Acme Corp"]["archived"] is True and clients["株式会社サンプル"]["archived"] is True
    ok(premium, "clients", "restore", "Acme Corp")
    ok(premium, "sync")
    clients = {c["name"]: c for c in premium.sim.state.all_clients()}
    assert clients["Acme Corp"]["archived"] is False and clients["株式会社サンプル"]["archived"] is True
    assert not query(premium, "SELECT 1 FROM pending_operations")


def test_bracketed_names_are_shown_literally(synced):
    assert synced.run("tags", "add", "[red]alert").exit_code == 0
    result = synced.run("tags", "list")
    assert "[red]alert" in result.output
