"""Acceptance: errors are one line with the documented exit code (never a traceback), and
credentials appear nowhere: not in any command's output, not in `--debug` logs, not in the
database file, not in the config file except as the stored secret itself."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import invoke_cli

FAST = {"TOGGLSYNC_PACING": "0"}


def invoke(env, *args, input=None):
    result = invoke_cli(args, env=env, input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"togglsync {' '.join(map(str, args))} raised instead of reporting") from result.exception
    return result


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def secrets_of(sim) -> list[str]:
    """Every form a credential could leak in: raw, and as the Basic header carries it."""
    token, key = sim.seed.api_token, sim.seed.maton_api_key
    basic = base64.b64encode(f"{token}:api_token".encode()).decode()
    return [token, key, basic]


def assert_no_secret(text: str | bytes, sim, where: str) -> None:
    for secret in secrets_of(sim):
        needle = secret.encode() if isinstance(text, bytes) else secret
        assert needle not in text, f"a credential leaked into {where}"


def process(env, *args, home: Path, stdin: str | None = None, timeout: float = 60):
    """`python -m togglsync ...` as a real process with only the given credentials."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("TOGGL", "MATON"))}
    full.update({"TOGGLSYNC_HOME": str(home), **FAST, **env})
    return subprocess.run(
        [sys.executable, "-m", "togglsync", *map(str, args)],
        capture_output=True, text=True, env=full, input=stdin, timeout=timeout,
    )


def assert_one_line_error(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), stderr
    return lines[0]


# --- errors as real processes: one line, documented exit code ---------------------------------------


@pytest.fixture
def qsim(make_sim):
    """A simulator whose /me quota runs out after 3 requests."""
    return make_sim(entries=10, seed=2, user_quota=3)


def _error_cases(sim):
    wid = sim.seed.workspace_id
    direct, maton = sim.env("direct"), sim.env("maton", connection=True)
    dead = f"http://127.0.0.1:{closed_port()}"
    return {
        "wrong token (direct)": ({**direct, "TOGGL_API_TOKEN": "0" * 32}, ["api", "GET", "/me"], 5, "Authentication failed"),
        "wrong key (maton)": ({**maton, "MATON_API_KEY": "maton_" + "0" * 40}, ["api", "GET", "/me"], 5, "Authentication failed"),
        "missing credential": ({"TOGGLSYNC_API_URL": sim.url}, ["api", "GET", "/me"], 5, "TOGGL_API_TOKEN"),
        "unknown entry id": (direct, ["api", "GET", "/me/time_entries/1"], 1, "404"),
        "unknown project id": (maton, ["api", "DELETE", f"/toggl-track/api/v9/workspaces/{wid}/projects/1"], 1, "404"),
        "bad JSON in -d": (direct, ["api", "POST", f"/workspaces/{wid}/tags", "-d", "{name: oops}"], 2, "-d is not valid JSON"),
        "bad --query": (direct, ["api", "GET", "/me/time_entries", "--query", "since"], 2, "KEY=VALUE"),
        "missing -d file": (direct, ["api", "POST", f"/workspaces/{wid}/tags", "-d", "@/nonexistent/body.json"], 2, "cannot read"),
        "plain http remote (env)": ({**direct, "TOGGLSYNC_API_URL": "http://example.com"}, ["api", "GET", "/me"], 2, "https://"),
        "plain http remote (option)": (maton, ["--api-url", "http://example.com/toggl-track", "api", "GET", "/me"], 2, "https://"),
        "plain http ctrl URL": ({**maton, "TOGGLSYNC_MATON_CTRL_URL": "http://example.com"}, ["connections", "list"], 2, "https://"),
        "unreachable server": ({**direct, "TOGGLSYNC_API_URL": dead}, ["api", "GET", "/me"], 6, "127.0.0.1"),
        "unreachable ctrl": ({**maton, "TOGGLSYNC_MATON_CTRL_URL": dead}, ["connections", "list"], 6, "127.0.0.1"),
        "blank connection id": (maton, ["connections", "get", " "], 2, "connection id"),
        "unknown connection id": (maton, ["connections", "delete", "no-such-connection", "--yes"], 1, "404"),
    }


CASE_NAMES = [
    "wrong token (direct)",
    "wrong key (maton)",
    "missing credential",
    "unknown entry id",
    "unknown project id",
    "bad JSON in -d",
    "bad --query",
    "missing -d file",
    "plain http remote (env)",
    "plain http remote (option)",
    "plain http ctrl URL",
    "unreachable server",
    "unreachable ctrl",
    "blank connection id",
    "unknown connection id",
]


@pytest.mark.parametrize("case", CASE_NAMES)
def test_errors_are_one_line_with_documented_exit_codes(case, sim):
    env, args, code, fragment = _error_cases(sim)[case]
    result = invoke(env, *args)
    assert result.exit_code == code, (result.stdout, result.stderr)
    line = assert_one_line_error(result.stderr)
    assert fragment in line
    assert result.stdout == ""
    assert_no_secret(result.stderr, sim, "an error message")
    if case.startswith(("plain http", "bad", "missing", "unreachable", "blank")):
        assert len(sim.log) == 0  # refused before anything reached the simulator


@pytest.mark.parametrize(
    "case", ["wrong key (maton)", "unknown entry id", "bad JSON in -d", "plain http remote (env)", "unreachable server"]
)
def test_errors_as_real_processes(case, sim, tmp_path):
    """The same errors from `python -m togglsync`: exit status and a single stderr line, no traceback."""
    env, args, code, fragment = _error_cases(sim)[case]
    done = process(env, *args, home=tmp_path / "home")
    assert done.returncode == code, (done.stdout, done.stderr)
    assert fragment in assert_one_line_error(done.stderr)
    assert done.stdout == ""
    assert_no_secret(done.stderr, sim, "an error message")


def test_quota_exhausted_as_a_process_exit_4(qsim, tmp_path):
    env = qsim.env("direct")
    for _ in range(3):
        assert invoke(env, "api", "GET", "/me").exit_code == 0
    done = process(env, "api", "GET", "/me/time_entries/current", home=tmp_path / "home")
    assert done.returncode == 4
    line = assert_one_line_error(done.stderr)
    assert "per-user /me quota" in line and "resets in" in line and "UTC" in line


def test_usage_errors_from_click_are_exit_2_without_traceback(sim, tmp_path):
    done = process(sim.env("direct"), "api", "FETCH", "/me", home=tmp_path / "home")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(sim.log) == 0


# --- no credential in any output -------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["direct", "maton"])
def test_no_credential_in_any_command_output(transport, make_sim, isolated_home, tmp_path):
    sim = make_sim(entries=10, seed=9, plan="premium", quotas=True)
    env = sim.env(transport, connection=transport == "maton")
    if transport == "direct":
        env["TOGGLSYNC_MATON_CTRL_URL"] = sim.ctrl_url
        env["MATON_API_KEY"] = sim.seed.maton_api_key  # present, but unused by direct requests
    wid = sim.seed.workspace_id
    commands = [
        ["api", "GET", "/me"],  # Toggl answers with the user's api_token: it must be redacted
        ["api", "GET", "/me", "--query", "with_related_data=true"],
        ["api", "-i", "GET", "/toggl-track/api/v9/me/workspaces"],
        ["api", "GET", f"/workspaces/{wid}"],
        ["api", "GET", "/me/time_entries/1"],  # 404
        ["api", "POST", f"/workspaces/{wid}/tags", "-d", '{"name": ""}'],  # 400
        ["config", "show"],
        ["config", "show", "--json"],
        ["config", "path"],
        ["quota"],
        ["quota", "--json"],
        ["connections", "list"],
        ["connections", "create"],
        ["connections", "get", sim.seed.connection_id],
    ]
    for args in commands:
        result = invoke(env, *args)
        assert result.exit_code in (0, 1), (args, result.stderr)
        assert_no_secret(result.stdout, sim, f"stdout of {args}")
        assert_no_secret(result.stderr, sim, f"stderr of {args}")
    me = json.loads(invoke(env, "api", "GET", "/me").stdout)
    assert me["api_token"] == "********" and me["email"] == sim.seed.email

    # Wrong credentials: the rejected value is not quoted back either.
    wrong = {**env, "TOGGL_API_TOKEN": "f" * 32, "MATON_API_KEY": "maton_" + "f" * 40}
    rejected = invoke(wrong, "api", "GET", "/me")
    assert rejected.exit_code == 5
    assert "f" * 32 not in rejected.output + rejected.stderr


def test_server_echoing_the_token_is_scrubbed_from_errors(sim):
    """A gateway or proxy that quotes the credential back in an error body must not make us print it."""
    token = sim.seed.api_token
    sim.faults.add(status=400, path="/me", body=f"bad request for token {token}")
    result = invoke(sim.env("direct"), "api", "GET", "/me")
    assert result.exit_code == 1
    assert token not in result.stderr and "***" in result.stderr

    key = sim.seed.maton_api_key
    sim.faults.add(status=400, path="/me", body=f"Authorization: Bearer {key}")
    result = invoke(sim.env("maton"), "api", "GET", "/me")
    assert result.exit_code == 1
    assert key not in result.stderr


def test_server_echoing_the_basic_header_is_scrubbed_from_errors(sim):
    basic = base64.b64encode(f"{sim.seed.api_token}:api_token".encode()).decode()
    sim.faults.add(status=400, path="/me", body=f"rejected header Authorization: Basic {basic}")
    result = invoke(sim.env("direct"), "api", "GET", "/me")
    assert result.exit_code == 1
    assert basic not in result.stderr


def test_debug_log_shows_requests_but_no_credentials(sim, tmp_path):
    for transport in ("direct", "maton"):
        done = process(sim.env(transport, connection=True), "--debug", "api", "GET", "/me", home=tmp_path / "home")
        assert done.returncode == 0, done.stderr
        assert "GET http://127.0.0.1" in done.stderr and "/me -> 200" in done.stderr  # it does log
        assert_no_secret(done.stderr, sim, "the --debug log")
        assert_no_secret(done.stdout, sim, "stdout with --debug")
        for line in done.stderr.splitlines():
            if "authorization" in line.lower():
                assert "***" in line or "redacted" in line.lower(), line
    failing = process(
        {**sim.env("direct"), "TOGGL_API_TOKEN": "e" * 32}, "--debug", "api", "GET", "/me", home=tmp_path / "home"
    )
    assert failing.returncode == 5
    assert "e" * 32 not in failing.stderr and "Traceback" not in failing.stderr


def test_login_failure_and_success_outputs_hold_no_token(sim, isolated_home):
    env = {"TOGGLSYNC_API_URL": sim.url}
    bad = invoke(env, "login", input="a" * 32 + "\n")
    assert bad.exit_code == 5 and "a" * 32 not in bad.output + bad.stderr
    good = invoke(env, "login", input=sim.seed.api_token + "\n")
    assert good.exit_code == 0
    assert_no_secret(good.output + good.stderr, sim, "login output")


# --- no credential in the database; config file holds it only as the stored secret ---------------------


def _files_under(home: Path) -> list[Path]:
    return [p for p in home.rglob("*") if p.is_file()]


@pytest.mark.parametrize("transport", ["direct", "maton"])
def test_database_holds_quota_state_but_no_credential(transport, sim, isolated_home):
    env = sim.env(transport, connection=transport == "maton")
    for path in ("/me", "/me/workspaces", f"/workspaces/{sim.seed.workspace_id}/projects"):
        assert invoke(env, "api", "GET", path).exit_code == 0
    assert invoke(env, "api", "GET", "/me/time_entries/1").exit_code == 1
    shown = json.loads(invoke(env, "quota", "--json").stdout)
    assert {row["pool"] for row in shown} == {"user", f"workspace:{sim.seed.workspace_id}"}  # it was written

    files = _files_under(isolated_home)
    assert any(p.name.startswith("togglsync.db") for p in files)
    for path in files:
        assert_no_secret(path.read_bytes(), sim, str(path))


def test_config_file_holds_the_secret_only_as_its_value(sim, isolated_home):
    env = {"TOGGLSYNC_API_URL": sim.url}
    assert invoke(env, "login", input=sim.seed.api_token + "\n").exit_code == 0
    gateway = {"TOGGLSYNC_API_URL": sim.gateway_url}
    assert invoke(gateway, "login", "--maton", input=sim.seed.maton_api_key + "\n").exit_code == 0

    config_file = isolated_home / "config.json"
    text = config_file.read_text()
    stored = json.loads(text)
    assert stored["api_token"] == sim.seed.api_token and stored["maton_api_key"] == sim.seed.maton_api_key
    assert text.count(sim.seed.api_token) == 1 and text.count(sim.seed.maton_api_key) == 1
    assert os.stat(config_file).st_mode & 0o777 == 0o600
    assert not list(isolated_home.glob("*.tmp"))  # the atomic write left nothing behind

    # Every other file in the home (the database, its journal) stays clean after the logins' requests.
    for path in _files_under(isolated_home):
        if path != config_file:
            assert_no_secret(path.read_bytes(), sim, str(path))
    for args in (["config", "show"], ["config", "show", "--json"]):
        out = invoke({}, *args)
        assert out.exit_code == 0
        assert_no_secret(out.output, sim, f"{args}")


def test_credentials_in_the_url_or_with_line_breaks_are_refused_without_echo(sim):
    leaky = invoke(
        {**sim.env("direct"), "TOGGLSYNC_API_URL": "https://me:hunter2-secret@api.example.com"}, "api", "GET", "/me"
    )
    assert leaky.exit_code == 2 and "hunter2-secret" not in leaky.stderr
    broken = invoke({**sim.env("direct"), "TOGGL_API_TOKEN": "abcdef123\nsecond-line-secret"}, "api", "GET", "/me")
    assert broken.exit_code == 2
    assert "second-line-secret" not in broken.stderr and "abcdef123" not in broken.stderr
    assert len(sim.log) == 0
