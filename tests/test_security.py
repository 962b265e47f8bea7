"""Secrets never leak, the database is read-only to `sql`, and credentials stay on their host.

One long session of everyday commands, then every byte they produced and
every file they left is searched for the API token, the Maton key and the
base64 value of the Basic Authorization header.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import invoke_cli


class Session:
    """Runs CLI commands against one home and keeps everything they printed."""

    def __init__(self, home: Path, env: dict[str, str]):
        self.home = home
        self.env = {"TOGGLSYNC_HOME": str(home), "TOGGLSYNC_PACING": "0", **env}
        self.outputs: list[tuple[tuple[str, ...], bytes]] = []

    def run(self, *args: str, input: str | None = None, env: dict[str, str] | None = None):
        result = invoke_cli(args, env={**self.env, **(env or {})}, input=input)
        blob = result.stdout_bytes + (result.stderr_bytes or b"")
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            import traceback

            blob += "".join(traceback.format_exception(result.exception)).encode()
        self.outputs.append((args, blob))
        return result

    def subprocess(self, *args: str):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TOGGL", "MATON"))}
        env.update(self.env)
        done = subprocess.run(
            [sys.executable, "-m", "togglsync", *args], env=env, capture_output=True, timeout=120
        )
        self.outputs.append((("subprocess",) + args, done.stdout + done.stderr))
        return done


def secrets_of(sim) -> dict[str, bytes]:
    token = sim.seed.api_token
    basic = base64.b64encode(f"{token}:api_token".encode()).decode()
    return {
        "api token": token.encode(),
        "maton key": sim.seed.maton_api_key.encode(),
        "basic header": basic.encode(),
        "basic header (urlsafe)": base64.urlsafe_b64encode(f"{token}:api_token".encode()),
    }


def leaks(blob: bytes, secrets: dict[str, bytes]) -> list[str]:
    found = []
    for name, secret in secrets.items():
        for form in {secret, secret.decode().encode("utf-16-le")}:
            if form in blob:
                found.append(name)
    return found


@pytest.fixture
def session(make_sim, isolated_home):
    sim = make_sim(entries=60, seed=11, quotas=False)
    s = Session(isolated_home, {"TOGGLSYNC_API_URL": sim.url, "TOGGLSYNC_MATON_CTRL_URL": sim.ctrl_url})
    s.sim = sim
    return s


def _everyday_session(s: Session) -> None:
    sim = s.sim
    token, key = sim.seed.api_token, sim.seed.maton_api_key
    r = s.run("--transport", "maton", "--api-url", sim.gateway_url, "login", "--maton", input=key + "\n")
    assert r.exit_code == 0, r.output
    r = s.run("--transport", "direct", "login", input=token + "\n")
    assert r.exit_code == 0, r.output
    for args in (
        ("sync",),
        ("sync", "--json"),
        ("sync", "--full"),
        ("api", "GET", "/me"),
        ("api", "GET", "/me", "--query", "with_related_data=true", "-i"),
        ("status",),
        ("status", "--json"),
        ("log", "--week"),
        ("log", "--month", "--json"),
        ("report",),
        ("report", "--json"),
        ("sql", "SELECT * FROM account"),
        ("sql", "SELECT * FROM account", "--json"),
        ("pending",),
        ("conflicts",),
        ("config", "show"),
        ("config", "show", "--json"),
        ("start", "security review"),
        ("stop",),
        ("sync",),
        ("--transport", "maton", "--api-url", sim.gateway_url, "connections"),
    ):
        r = s.run(*args)
        assert "Traceback" not in r.output, (args, r.output)

    # Error paths: the gateway echoes the credentials back in its error pages.
    basic = base64.b64encode(f"{token}:api_token".encode()).decode()
    echo = f"<html><title>Bad gateway: Authorization: Basic {basic}</title>token={token} key={key}</html>"
    sim.faults.add(status=502, path="/me/time_entries", raw_body=echo, content_type="text/html", count=20)
    r = s.run("sync")
    assert r.exit_code != 0
    sim.faults.clear()
    sim.faults.add(status=200, path="/me", raw_body=f'{{"id": "x", "api_token": "{token}", "oops": "{basic}"',
                   count=20)
    r = s.run("sync", "--full")
    assert r.exit_code != 0
    r = s.run("api", "GET", "/me")
    assert r.exit_code != 0
    sim.faults.clear()
    s.run("api", "GET", "/no/such/thing")
    s.run("--api-url", "http://example.com", "api", "GET", "/me")
    s.run("--debug", "sync", "--full")

    done = s.subprocess("--debug", "sync", "--full")
    assert done.returncode == 0, done.stderr.decode()
    assert b"GET" in done.stderr  # the debug log did log the requests
    s.subprocess("--debug", "api", "GET", "/me")
    sim.faults.add(status=401, path="/me*", count=20)
    s.subprocess("--debug", "sync", "--full")
    sim.faults.clear()


def test_no_secret_in_any_output_or_file(session):
    _everyday_session(session)
    secrets = secrets_of(session.sim)

    for args, blob in session.outputs:
        assert not leaks(blob, secrets), (args, leaks(blob, secrets), blob[-600:])

    config = session.home / "config.json"
    assert config.exists()
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    stored = json.loads(config.read_text())
    assert stored["api_token"] == session.sim.seed.api_token  # the one place it may live

    files = [p for p in session.home.rglob("*") if p.is_file() and p != config]
    assert any(p.name.endswith(".db") for p in files), files
    for path in files:
        blob = path.read_bytes()
        assert not leaks(blob, secrets), (path.name, leaks(blob, secrets))


def test_config_is_written_0600_even_with_a_permissive_umask(session):
    old = os.umask(0)
    try:
        r = session.run("login", input=session.sim.seed.api_token + "\n")
    finally:
        os.umask(old)
    assert r.exit_code == 0, r.output
    config = session.home / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert not [p for p in session.home.iterdir() if p.name.startswith("config.json.")]  # no temp file left


# -- sql is read-only ---------------------------------------------------------------------

WRITES = [
    "INSERT INTO tags (id, workspace_id, name) VALUES (1, 1, 'x')",
    "UPDATE time_entries SET description = 'pwned'",
    "DELETE FROM time_entries",
    "DROP TABLE time_entries",
    "CREATE TABLE evil (x)",
    "ALTER TABLE tags ADD COLUMN evil TEXT",
    "ATTACH DATABASE '{tmp}/evil.db' AS evil",
    "PRAGMA writable_schema = ON",
    "PRAGMA writable_schema = 1; UPDATE sqlite_master SET sql = 'x'",
    "PRAGMA journal_mode = DELETE",
    "PRAGMA user_version = 99",
    "VACUUM",
    "VACUUM INTO '{tmp}/copy.db'",
    "REPLACE INTO tags (id, workspace_id, name) VALUES (1, 1, 'x')",
    "WITH x AS (SELECT 1) DELETE FROM time_entries",
    "SELECT 1; DELETE FROM time_entries",
    "select load_extension('/tmp/evil')",
    "INSERT INTO pending_operations DEFAULT VALUES RETURNING id",
]


def _db_state(db: Path) -> tuple:
    import sqlite3

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name, sql FROM sqlite_master ORDER BY name")]
        schema = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        rows = {t: conn.execute(f'SELECT * FROM "{t}"').fetchall() for t in tables
                if not t.startswith("sqlite_") and conn.execute(
                    "SELECT type FROM sqlite_master WHERE name = ?", (t,)).fetchone()[0] == "table"}
        pragmas = (conn.execute("PRAGMA user_version").fetchone(), conn.execute("PRAGMA journal_mode").fetchone())
        return schema, rows, pragmas
    finally:
        conn.close()


_SQL_HOLES = {
    "ATTACH DATABASE '{tmp}/evil.db' AS evil": "ATTACH of a new file is allowed on the mode=ro connection",
    "PRAGMA writable_schema = ON": "PRAGMA writable_schema is accepted (harmless on mode=ro, but not refused)",
    "VACUUM INTO '{tmp}/copy.db'": "VACUUM INTO writes a full copy of the database anywhere",
}


@pytest.mark.parametrize(
    "query",
    [
        q
        for q in WRITES
    ],
)
@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_sql_cannot_write(synced, tmp_path, query):
    before = _db_state(synced.db)
    result = synced.run("sql", query.format(tmp=tmp_path))
    text = result.output + (result.stderr or "")
    assert result.exit_code != 0, text
    assert "Traceback" not in text
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert _db_state(synced.db) == before
    assert not (tmp_path / "evil.db").exists() and not (tmp_path / "copy.db").exists()


def test_sql_can_still_read(synced):
    result = synced.run("sql", "SELECT count(*) AS n FROM time_entries", "--json")
    assert result.exit_code == 0, result.output
    assert "200" in result.output


# -- transport ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["http://example.com", "http://10.0.0.1:8080", "http://[2001:db8::1]",
                                 "http://127.0.0.1.example.com", "http://localhost.evil.com"])
def test_plain_http_is_refused_except_to_loopback(isolated_home, url):
    env = {"TOGGLSYNC_HOME": str(isolated_home), "TOGGL_API_TOKEN": "0123456789abcdef0123456789abcdef"}
    result = invoke_cli(["--api-url", url, "api", "GET", "/me"], env=env)
    text = result.output + (result.stderr or "")
    assert result.exit_code == 2, text
    assert "refusing plain http://" in text and "Traceback" not in text


@pytest.mark.parametrize("url", ["http://127.0.0.1:{port}", "http://localhost:{port}"])
def test_plain_http_to_loopback_is_allowed(sim, isolated_home, url):
    env = {"TOGGLSYNC_HOME": str(isolated_home), "TOGGL_API_TOKEN": sim.seed.api_token}
    result = invoke_cli(["--api-url", url.format(port=sim.port), "api", "GET", "/me"], env=env)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("command", [("api", "GET", "/me"), ("sync",), ("api", "POST", "/workspaces/{wid}/tags")])
def test_redirects_to_another_host_never_carry_credentials(make_sim, isolated_home, status, command):
    sim = make_sim(entries=5, seed=2, quotas=False)
    try:
        elsewhere = make_sim(entries=5, seed=3, quotas=False, host="127.0.0.2")
    except OSError:
        pytest.skip("cannot listen on 127.0.0.2 here")
    location = f"{elsewhere.url}/api/v9/me"
    sim.faults.add(status=status, path="/me*", headers={"Location": location}, count=50)
    sim.faults.add(status=status, method="POST", path="*", headers={"Location": location}, count=50)
    env = {"TOGGLSYNC_HOME": str(isolated_home), "TOGGLSYNC_API_URL": sim.url, "TOGGL_API_TOKEN": sim.seed.api_token,
           "TOGGLSYNC_PACING": "0"}
    args = [a.format(wid=sim.seed.workspace_id) for a in command]
    if command[1:2] == ("POST",):
        args += ["-d", '{"name": "redirected"}']
    result = invoke_cli(args, env=env)
    text = result.output + (result.stderr or "")
    assert "Traceback" not in text
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert elsewhere.log.records == []  # nothing at all reached the other host
    assert result.exit_code != 0
    assert "redirect" in text.lower(), text
    assert location in text or "127.0.0.2" in text
    assert sim.seed.api_token not in text


def test_the_account_row_keeps_no_credential_under_any_name():
    """The same rule migration 0004 applied to older databases: exact names and anything *token*."""
    from datetime import datetime, timezone

    from togglsync.records import account_row

    me = {"id": 1, "email": "a@example.com", "api_token": "t1", "session_token": "t2", "oauthToken": "t3",
          "api_key": "t4", "APIKey": "t5", "password": "t6", "has_password": True, "fullname": "A"}
    raw = account_row(me, synced_at=datetime.now(timezone.utc))["raw"]
    assert raw == {"id": 1, "email": "a@example.com", "has_password": True, "fullname": "A"}
