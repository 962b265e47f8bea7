"""Secrets (issue 11): one rule says which keys of a record are credentials; nothing stored,
printed or logged carries one. Login from a pipe; a Maton connection given at login is kept."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import invoke_cli

from togglsync.records import to_row

TOGGLSYNC = [sys.executable, "-m", "togglsync"]

# A workspace as GET /me/workspaces answers (recorded shape, values changed): it carries
# the workspace's own API token, which is not the user's.
RECORDED_WORKSPACE = {
    "id": 4000001, "organization_id": 3000001, "name": "Ærø Studio", "profile": 0, "premium": False,
    "business_ws": False, "admin": True, "role": "admin", "suspended_at": None, "server_deleted_at": None,
    "default_hourly_rate": None, "rate_last_updated": None, "default_currency": "USD",
    "only_admins_may_create_projects": False, "only_admins_may_create_tags": False,
    "only_admins_see_billable_rates": False, "only_admins_see_team_dashboard": False,
    "projects_billable_by_default": True, "projects_private_by_default": True,
    "last_modified": "2025-02-01T10:00:00Z", "reports_collapse": True, "rounding": 1,
    "rounding_minutes": 0, "api_token": "9f3c1b2a7d6e5f4a3b2c1d0e9f8a7b6c",
    "at": "2025-02-01T10:00:00+00:00", "logo_url": "https://assets.track.toggl.com/images/workspace.jpg",
    "ical_url": "/ical/workspace_user/0d4b0e3d8a0c", "ical_enabled": True, "csv_upload": None,
    "subscription": None, "working_hours_in_minutes": None, "active_project_count": 3,
}


def env_of(sim, transport="direct", **extra):
    return {**sim.env(transport), "TOGGLSYNC_PACING": "0", **extra}


def one_line_error(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


# --- nothing secret is stored ---------------------------------------------------------------------


def test_a_recorded_workspace_object_is_stored_without_its_api_token():
    row = to_row("workspace", dict(RECORDED_WORKSPACE))
    assert "api_token" not in row["raw"]
    assert row["raw"] == {k: v for k, v in RECORDED_WORKSPACE.items() if k != "api_token"}


def test_sync_stores_no_workspace_token_and_sql_shows_none(make_sim, isolated_home):
    sim = make_sim(entries=20, seed=3, quotas=False, second_workspace=True)
    tokens = [w.api_token for w in sim.state.workspaces.values()]
    assert all(tokens)  # the simulator's workspaces carry one, like Toggl's
    env = env_of(sim)
    assert invoke_cli(["sync"], env=env).exit_code == 0

    shown = invoke_cli(["sql", "SELECT raw FROM workspaces", "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    assert len(json.loads(shown.output)) == 2
    every_raw = " UNION ALL ".join(
        f"SELECT raw FROM {t}"
        for t in ("account", "workspaces", "workspace_users", "clients", "projects", "tags", "time_entries")
    )
    everything = invoke_cli(["sql", every_raw, "--json"], env=env)
    assert everything.exit_code == 0
    for token in [*tokens, sim.seed.api_token]:
        assert token not in shown.output and token not in everything.output
        assert token.encode() not in (isolated_home / "togglsync.db").read_bytes()
    keys = {k for row in json.loads(everything.output) for k in row["raw"]}  # JSON columns come decoded
    assert not {k for k in keys if "token" in k.lower() or k.lower() in ("api_key", "password")}


def test_an_older_database_loses_every_stored_token_when_opened(make_sim, isolated_home):
    """Migration 0006: `raw` of every table, not only the account's, as 0004 did."""
    from alembic import command

    from togglsync.db.engine import make_engine
    from togglsync.db.migrate import alembic_config

    isolated_home.mkdir(parents=True)
    path = isolated_home / "togglsync.db"
    engine = make_engine(str(path))
    with engine.connect() as connection:
        command.upgrade(alembic_config(connection), "0005")
    engine.dispose()
    entry = {"id": 4100000001, "description": "Überarbeitung ✓", "session_token": "sess-abcdef0123456789"}
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO workspaces (id, organization_id, name, premium, raw) VALUES (?, 1, 'Ærø', 0, ?)",
                   (RECORDED_WORKSPACE["id"], json.dumps(RECORDED_WORKSPACE, ensure_ascii=False)))
        db.execute("INSERT INTO workspaces (id, organization_id, name, premium, raw) VALUES (2, 1, 'odd', 0, 'not json')")
        db.execute("INSERT INTO time_entries (id, workspace_id, start, duration, billable, tag_ids, tags, raw) "
                   "VALUES (?, ?, '2025-03-03 09:00:00', 60, 0, '[]', '[]', ?)",
                   (entry["id"], RECORDED_WORKSPACE["id"], json.dumps(entry, ensure_ascii=False)))
    db.close()
    assert RECORDED_WORKSPACE["api_token"].encode() in path.read_bytes()

    result = invoke_cli(["sql", "SELECT id, raw FROM workspaces UNION ALL SELECT id, raw FROM time_entries", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r["raw"] for r in json.loads(result.stdout)}
    assert rows[RECORDED_WORKSPACE["id"]] == {k: v for k, v in RECORDED_WORKSPACE.items() if k != "api_token"}
    assert rows[entry["id"]] == {"id": entry["id"], "description": "Überarbeitung ✓"}
    assert rows[2] == "not json"
    for secret in (RECORDED_WORKSPACE["api_token"], entry["session_token"]):
        assert secret not in result.output
        assert all(secret.encode() not in p.read_bytes() for p in isolated_home.glob("togglsync.db*") if p.is_file())


# --- nothing secret is printed ---------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["direct", "maton"])
def test_a_malformed_record_quoting_the_configured_secret_does_not_print_it(make_sim, transport):
    sim = make_sim(entries=5, seed=2, quotas=False)
    secret = sim.seed.api_token if transport == "direct" else sim.seed.maton_api_key
    bad = {"id": 4200000001, "workspace_id": sim.seed.workspace_id, "start": "2025-03-03T09:00:00Z",
           "duration": 60, "project_id": secret}
    sim.faults.add(status=200, method="GET", path="/me/time_entries*", body=[bad], count=5)
    result = invoke_cli(["sync"], env=env_of(sim, transport))
    assert result.exit_code != 0
    line = result.stderr.strip().splitlines()[-1]  # after the sync's summary of what it did
    assert line.startswith("Error: ") and "Traceback" not in result.stderr
    assert "malformed time entry record 4200000001" in line and "project_id" in line
    assert secret not in result.output + result.stderr
    assert secret[:16] not in result.stderr  # not even the start the message cuts it to


def test_config_show_hides_a_database_url_password(isolated_home):
    env = {"TOGGLSYNC_DB": "postgresql://reporter:hunter2-pw@db.example.com:5432/toggl"}
    table = invoke_cli(["config", "show"], env=env)
    as_json = invoke_cli(["config", "show", "--json"], env=env)
    assert table.exit_code == 0 and as_json.exit_code == 0
    assert "hunter2-pw" not in table.output and "hunter2-pw" not in as_json.output
    shown = json.loads(as_json.output)["db"]
    assert shown["value"] == shown["effective"] == "postgresql://reporter:***@db.example.com:5432/toggl"
    assert shown["source"] == "env"


# --- login ---------------------------------------------------------------------------------------------


def test_login_reads_a_piped_token_silently_even_when_the_output_is_a_terminal(sim, isolated_home):
    """`echo "$TOKEN" | togglsync login` in a terminal: stdin is the pipe, stdout and stderr the terminal."""
    controller, terminal = os.openpty()
    try:
        done = subprocess.run(
            [*TOGGLSYNC, "login"], input=(sim.seed.api_token + "\n").encode(), stdout=terminal, stderr=terminal,
            env={**os.environ, "TOGGLSYNC_API_URL": sim.url, "TOGGLSYNC_HOME": str(isolated_home)}, timeout=60,
        )
        os.close(terminal)
        output = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(controller)
    text = output.decode()
    assert done.returncode == 0, text
    assert "GetPassWarning" not in text and "Warning" not in text and "Toggl API token" not in text
    assert text.startswith("Logged in as Amélie Dupont")
    assert sim.seed.api_token not in text
    assert json.loads((isolated_home / "config.json").read_text())["api_token"] == sim.seed.api_token


def test_login_without_a_terminal_warns_nothing(sim, isolated_home):
    done = subprocess.run(
        [*TOGGLSYNC, "login"], input=sim.seed.api_token + "\n", capture_output=True, text=True, timeout=60,
        env={**os.environ, "TOGGLSYNC_API_URL": sim.url, "TOGGLSYNC_HOME": str(isolated_home)},
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert done.stdout.startswith("Logged in as")


def test_login_maton_keeps_the_connection_it_checked(make_sim, isolated_home):
    sim = make_sim(entries=5, seed=4)
    env = {"TOGGLSYNC_API_URL": sim.gateway_url, "TOGGLSYNC_MATON_CTRL_URL": sim.ctrl_url}
    result = invoke_cli(["--connection", sim.seed.connection_id, "login", "--maton"], env=env,
                        input=sim.seed.maton_api_key + "\n")
    assert result.exit_code == 0, result.output
    assert [r.connection for r in sim.log.records] == [sim.seed.connection_id]  # checked with it
    stored = json.loads((isolated_home / "config.json").read_text())
    assert stored == {"maton_api_key": sim.seed.maton_api_key, "transport": "maton",
                      "maton_connection": sim.seed.connection_id}
    shown = json.loads(invoke_cli(["config", "show", "--json"], env=env).output)
    assert shown["maton_connection"] == {"value": sim.seed.connection_id, "source": "file"}


def test_login_maton_refuses_an_unknown_connection_and_saves_nothing(make_sim, isolated_home):
    sim = make_sim(entries=5, seed=4)
    env = {"TOGGLSYNC_API_URL": sim.gateway_url, "TOGGLSYNC_MATON_CTRL_URL": sim.ctrl_url}
    result = invoke_cli(["--connection", "no-such-connection", "login", "--maton"], env=env,
                        input=sim.seed.maton_api_key + "\n")
    assert result.exit_code != 0
    one_line_error(result)
    assert not (isolated_home / "config.json").exists()
