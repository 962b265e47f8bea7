"""Acceptance: login / logout, `config show|path`, precedence, and the commands that run as processes
(`togglsync simulator`, `togglsync demo`, `python -m togglsync --version`)."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading

import pytest
from conftest import invoke_cli

from togglsync import __version__


def invoke(env, *args, input=None):
    result = invoke_cli(args, env=env, input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"togglsync {' '.join(map(str, args))} raised instead of reporting") from result.exception
    return result


def one_line_error(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# --- login / logout ----------------------------------------------------------------------------


def test_login_checks_with_one_get_me_and_stores_the_token_0600(sim, isolated_home):
    token = sim.seed.api_token
    env = {"TOGGLSYNC_API_URL": sim.url}  # no credential in the environment
    result = invoke(env, "login", input=token + "\n")
    assert result.exit_code == 0, result.stderr
    assert "Amélie Dupont" in result.stdout and sim.seed.email in result.stdout
    assert token not in result.output and token not in result.stderr  # hidden prompt: not echoed

    assert [(r.method, r.normalized_path, r.transport) for r in sim.log.records] == [("GET", "/me", "direct")]
    config_file = isolated_home / "config.json"
    assert mode(config_file) == 0o600
    stored = json.loads(config_file.read_text())
    assert stored == {"api_token": token, "transport": "direct"}

    # The stored token is used from now on...
    used = invoke(env, "api", "GET", "/me/workspaces")
    assert used.exit_code == 0, used.stderr
    assert json.loads(used.stdout)[0]["id"] == sim.seed.workspace_id
    shown = json.loads(invoke(env, "config", "show", "--json").stdout)
    assert shown["api_token"] == {"value": "********", "source": "file"}

    # ...until logout removes it.
    out = invoke(env, "logout")
    assert out.exit_code == 0 and str(config_file) in out.stdout
    assert "api_token" not in json.loads(config_file.read_text())
    assert mode(config_file) == 0o600
    after = invoke(env, "api", "GET", "/me")
    assert after.exit_code == 5  # missing credentials: an authentication failure
    assert "TOGGL_API_TOKEN" in one_line_error(after)
    assert len(sim.log) == 2  # login's GET /me and the workspaces call


def test_login_with_a_wrong_token_stores_nothing(sim, isolated_home):
    result = invoke({"TOGGLSYNC_API_URL": sim.url}, "login", input="0123456789abcdef0123456789abcdef\n")
    assert result.exit_code == 5
    line = one_line_error(result)
    assert "Authentication failed" in line and "0123456789abcdef" not in result.output
    assert not (isolated_home / "config.json").exists()
    assert sim.log.count("GET", "/me") == 1 and len(sim.log) == 1


@pytest.mark.parametrize("stdin", ["", "\n", "  \t \n"], ids=["end of input", "empty line", "blanks"])
@pytest.mark.parametrize("maton", [False, True], ids=["token", "maton key"])
def test_login_without_a_secret_is_a_clear_error(sim, isolated_home, stdin, maton):
    env = {"TOGGLSYNC_API_URL": sim.url}
    result = invoke(env, "login", *(["--maton"] if maton else []), input=stdin)
    assert result.exit_code == 2
    line = one_line_error(result)  # not click's bare "Aborted!"
    what, variable = ("Maton API key", "MATON_API_KEY") if maton else ("Toggl API token", "TOGGL_API_TOKEN")
    assert f"no {what} given" in line and variable in line, line
    assert len(sim.log) == 0
    assert not (isolated_home / "config.json").exists()


def test_login_maton_stores_the_key_0600_and_the_gateway_transport(sim, isolated_home):
    key = sim.seed.maton_api_key
    env = {"TOGGLSYNC_API_URL": sim.gateway_url, "TOGGLSYNC_MATON_CTRL_URL": sim.ctrl_url}
    result = invoke(env, "login", "--maton", input=key + "\n")
    assert result.exit_code == 0, result.stderr
    assert "(maton)" in result.stdout and key not in result.output
    assert [(r.method, r.normalized_path, r.transport) for r in sim.log.records] == [("GET", "/me", "maton")]
    config_file = isolated_home / "config.json"
    assert mode(config_file) == 0o600
    assert json.loads(config_file.read_text()) == {"maton_api_key": key, "transport": "maton"}

    assert invoke(env, "api", "GET", "/me").exit_code == 0
    listed = invoke(env, "connections", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert json.loads(listed.stdout)[0]["connection_id"] == sim.seed.connection_id
    assert [r.transport for r in sim.log.records] == ["maton", "maton", "ctrl"]

    assert invoke(env, "logout").exit_code == 0
    assert "maton_api_key" not in json.loads(config_file.read_text())


def test_login_keeps_other_settings_in_the_config_file(sim, isolated_home):
    isolated_home.mkdir(parents=True)
    (isolated_home / "config.json").write_text(json.dumps({"api_url": sim.url, "pacing": 0}))
    result = invoke({}, "login", input=sim.seed.api_token + "\n")
    assert result.exit_code == 0, result.stderr
    assert json.loads((isolated_home / "config.json").read_text()) == {
        "api_url": sim.url,
        "pacing": 0,
        "api_token": sim.seed.api_token,
        "transport": "direct",
    }
    assert mode(isolated_home / "config.json") == 0o600


# --- config show / path and precedence -----------------------------------------------------------


def test_config_path_and_show(isolated_home, tmp_path):
    result = invoke({}, "config", "path")
    assert result.exit_code == 0
    assert result.stdout.strip() == str(isolated_home / "config.json")
    other = tmp_path / "elsewhere"
    assert invoke({}, "--home", other, "config", "path").stdout.strip() == str(other / "config.json")

    shown = invoke({"TOGGL_API_TOKEN": "tok-env-123"}, "config", "show")
    assert shown.exit_code == 0, shown.stderr
    text = shown.stdout
    for setting in ("home", "transport", "api_token", "maton_api_key", "api_url", "db", "pacing"):
        assert setting in text
    assert "********" in text and "tok-env-123" not in text
    assert "https://api.track.toggl.com" in text  # the effective default URL is shown


def test_config_show_json_sources_and_precedence(isolated_home, tmp_path):
    isolated_home.mkdir(parents=True)
    (isolated_home / "config.json").write_text(
        json.dumps(
            {
                "api_url": "https://file.example",
                "maton_connection": "conn-file",
                "pacing": 2,
                "transport": "maton",
                "maton_api_key": "mk-file-secret",
            }
        )
    )
    (isolated_home / "config.json").chmod(0o600)
    env = {"TOGGLSYNC_API_URL": "https://env.example/", "MATON_CONNECTION": "conn-env", "TOGGLSYNC_PACING": ""}
    result = invoke(env, "--api-url", "https://option.example", "config", "show", "--json")
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["api_url"]["value"] == "https://option.example" and shown["api_url"]["source"] == "option"
    assert shown["api_url"]["effective"] == "https://option.example"
    assert shown["maton_connection"] == {"value": "conn-env", "source": "env"}
    assert shown["pacing"] == {"value": 2.0, "source": "file"}
    assert shown["transport"] == {"value": "maton", "source": "file"}
    assert shown["maton_api_key"] == {"value": "********", "source": "file"}
    assert shown["api_token"] == {"value": None, "source": "default"}
    assert shown["maton_ctrl_url"] == {"value": "https://ctrl.maton.ai", "source": "default"}
    assert shown["db"]["source"] == "default" and shown["db"]["effective"] == str(isolated_home / "togglsync.db")
    assert shown["home"] == {"value": str(isolated_home), "source": "env"}
    assert "mk-file-secret" not in result.output

    # env beats file; the option beats env
    env_only = json.loads(invoke(env, "config", "show", "--json").stdout)
    assert env_only["api_url"]["value"] == "https://env.example" and env_only["api_url"]["source"] == "env"
    optioned = json.loads(invoke(env, "--transport", "direct", "--db", tmp_path / "x.db", "config", "show", "--json").stdout)
    assert optioned["transport"] == {"value": "direct", "source": "option"}
    assert optioned["db"]["source"] == "option" and optioned["db"]["effective"] == str(tmp_path / "x.db")
    homed = json.loads(invoke(env, "--home", tmp_path / "h", "config", "show", "--json").stdout)
    assert homed["home"] == {"value": str(tmp_path / "h"), "source": "option"}
    assert homed["api_url"]["source"] == "env"  # that home has no config file


def test_precedence_decides_where_requests_go(sim, isolated_home):
    """option > env > file, observed on the wire: the losers point at a closed port or carry a bad token."""
    dead = f"http://127.0.0.1:{closed_port()}"
    isolated_home.mkdir(parents=True)
    config_file = isolated_home / "config.json"
    config_file.write_text(json.dumps({"api_url": dead, "api_token": "wrong-file-token"}))
    config_file.chmod(0o600)

    file_only = invoke({}, "api", "GET", "/me")
    assert file_only.exit_code == 6  # the file's dead URL
    env = {"TOGGLSYNC_API_URL": sim.url, "TOGGL_API_TOKEN": sim.seed.api_token}
    assert invoke(env, "api", "GET", "/me").exit_code == 0  # env beats file
    by_option = invoke({"TOGGLSYNC_API_URL": dead, "TOGGL_API_TOKEN": sim.seed.api_token}, "--api-url", sim.url, "api", "GET", "/me")
    assert by_option.exit_code == 0, by_option.stderr  # option beats env
    file_token = invoke({"TOGGLSYNC_API_URL": sim.url}, "api", "GET", "/me")
    assert file_token.exit_code == 5  # the file's token is used when nothing overrides it
    assert [r.status for r in sim.log.records] == [200, 200, 403]


def test_transport_option_and_maton_inference(sim):
    maton = sim.env("maton")
    # Only a Maton key: the gateway is inferred.
    inferred = {k: v for k, v in maton.items() if k != "TOGGLSYNC_TRANSPORT"}
    assert invoke(inferred, "api", "GET", "/me").exit_code == 0
    assert sim.log.records[-1].transport == "maton"
    # --transport direct beats TOGGLSYNC_TRANSPORT=maton.
    both = {**maton, "TOGGL_API_TOKEN": sim.seed.api_token}
    result = invoke(both, "--transport", "direct", "--api-url", sim.url, "api", "GET", "/me")
    assert result.exit_code == 0, result.stderr
    assert sim.log.records[-1].transport == "direct"


def test_bad_configuration_is_a_one_line_usage_error(isolated_home):
    isolated_home.mkdir(parents=True)
    (isolated_home / "config.json").write_text("{not json")
    result = invoke({}, "config", "show")
    assert result.exit_code == 2
    assert "not valid JSON" in one_line_error(result)
    (isolated_home / "config.json").write_text("{}")
    bad_pacing = invoke({"TOGGLSYNC_PACING": "fast"}, "config", "show")
    assert bad_pacing.exit_code == 2 and "pacing" in one_line_error(bad_pacing)
    bad_transport = invoke({"TOGGLSYNC_TRANSPORT": "pigeon"}, "config", "show")
    assert bad_transport.exit_code == 2 and "pigeon" in one_line_error(bad_transport)


# --- commands as processes ---------------------------------------------------------------------------


def _clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOGGL", "MATON"))}
    env.update(extra)
    return env


def test_python_m_togglsync_version(isolated_home):
    done = subprocess.run(
        [sys.executable, "-m", "togglsync", "--version"],
        capture_output=True, text=True, timeout=30, env=_clean_env(TOGGLSYNC_HOME=str(isolated_home)),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"togglsync, version {__version__}"


def test_simulator_command_prints_env_that_works(isolated_home):
    proc = subprocess.Popen(
        [sys.executable, "-m", "togglsync", "simulator", "--port", "0", "--entries", "10", "--seed", "4"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_clean_env(),
    )
    try:
        lines: list[str] = []
        timer = threading.Timer(20, proc.kill)  # never hang the suite on a silent simulator
        timer.start()
        try:
            for line in proc.stdout:
                lines.append(line.rstrip("\n"))
                if line.startswith("# Login"):
                    break
        finally:
            timer.cancel()
        assert lines and lines[-1].startswith("# Login"), (lines, proc.poll())
        blocks: list[dict[str, str]] = [{}, {}]
        block = 0
        for line in lines:
            if line.startswith("# Or through the Maton gateway"):
                block = 1
            if line.startswith("export "):
                name, _, value = line[len("export "):].partition("=")
                blocks[block][name] = value
        direct, maton = blocks
        assert direct["TOGGLSYNC_API_URL"].startswith("http://127.0.0.1:")
        assert set(direct) == {"TOGGLSYNC_TRANSPORT", "TOGGLSYNC_API_URL", "TOGGL_API_TOKEN"}
        assert {"MATON_API_KEY", "TOGGLSYNC_MATON_CTRL_URL"} <= set(maton)

        me = invoke(direct, "api", "GET", "/me")
        assert me.exit_code == 0, me.stderr
        assert json.loads(me.stdout)["fullname"] == "Amélie Dupont"
        via_maton = invoke(maton, "api", "GET", "/toggl-track/api/v9/me/workspaces")
        assert via_maton.exit_code == 0, via_maton.stderr
        connections = invoke(maton, "connections", "list", "--json")
        assert connections.exit_code == 0 and json.loads(connections.stdout)[0]["status"] == "ACTIVE"
        assert proc.poll() is None  # still serving
    finally:
        proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()


def test_demo_runs(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "togglsync", "demo", "--entries", "60"],
        capture_output=True, text=True, timeout=120,
        env=_clean_env(TOGGLSYNC_HOME=str(tmp_path / "home"), COLUMNS="120"),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert "account" in done.stdout.lower()
    assert not (tmp_path / "home").exists()  # the demo keeps to its own temporary home
    # Its times are in the account's zone, named, like `report --week` at its end (not UTC beside it).
    assert "(Europe/Paris)" in done.stdout and "UTC" not in done.stdout
