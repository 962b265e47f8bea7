"""`togglsync simulator` as a practice server (issue 11): restarts that keep the account
(--state) or at least never reuse ids, 429s and latency on a switch, faults and remote
changes from the shell (`simulator ctl`), and one error line for a busy port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests
from conftest import invoke_cli

TOGGLSYNC = [sys.executable, "-m", "togglsync"]


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOGGL", "MATON"))}
    env.update(extra)
    return env


class Served:
    """`togglsync simulator ARGS` in a child process, until stop()."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([*TOGGLSYNC, "simulator", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=clean_env())
        self.lines: list[str] = []
        timer = threading.Timer(30, self.proc.kill)  # never hang the suite on a silent simulator
        timer.start()
        try:
            for line in self.proc.stdout:
                self.lines.append(line.rstrip("\n"))
                if line.startswith("# Login"):
                    break
        finally:
            timer.cancel()
        assert self.lines and self.lines[-1].startswith("# Login"), (self.lines, self.proc.stderr.read())
        exports = [line[len("export "):].partition("=") for line in self.lines if line.startswith("export ")]
        self.env = {name: value for name, _, value in exports[:3]}  # the direct block
        self.url = self.env["TOGGLSYNC_API_URL"]
        self.token = self.env["TOGGL_API_TOKEN"]

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stop(self) -> None:
        """SIGTERM, as `kill` or a service manager would: the state file is written."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


@pytest.fixture
def serve():
    started: list[Served] = []

    def start(*args):
        served = Served(*args)
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


def cli(served, *args, home, input=None):
    return invoke_cli(args, env={**served.env, "TOGGLSYNC_HOME": str(home), "TOGGLSYNC_PACING": "0"}, input=input)


def ctl(served, *args):
    return invoke_cli(["simulator", "ctl", "--url", served.url, *args])


def local_entries(served, home) -> dict[int, tuple]:
    shown = cli(served, "sql", "SELECT id, description, start, stop FROM time_entries WHERE id > 0", "--json", home=home)
    assert shown.exit_code == 0, shown.output
    return {r["id"]: (r["description"], r["start"], r["stop"]) for r in json.loads(shown.stdout)}


def remote_entries(served) -> list[dict]:
    shown = ctl(served, "remote", "GET", "/me/time_entries")
    assert shown.exit_code == 0, shown.output
    return json.loads(shown.stdout)


# --- restarts ----------------------------------------------------------------------------------


def test_a_restart_with_state_keeps_the_account_and_goes_on_with_its_ids(serve, tmp_path):
    state, home = tmp_path / "sim.json", tmp_path / "home"
    first = serve("--port", "0", "--entries", "12", "--seed", "5", "--state", str(state), "--no-quotas")
    assert cli(first, "sync", home=home).exit_code == 0
    before = local_entries(first, home)
    assert len(before) == 12
    first.stop()
    assert state.exists() and (state.stat().st_mode & 0o777) == 0o600  # it holds the token

    second = serve("--port", "0", "--entries", "12", "--seed", "5", "--state", str(state), "--no-quotas")
    assert f"loaded from {state}" in second.lines[0]
    assert second.token == first.token
    result = cli(second, "sync", home=home)
    assert result.exit_code == 0, result.output
    assert "pulled nothing new" in result.output
    assert local_entries(second, home) == before

    added = cli(second, "add", "practice", "--start", "09:00", "--stop", "09:30", "--sync", home=home)
    assert added.exit_code == 0, added.output
    after = local_entries(second, home)
    (new_id,) = set(after) - set(before)
    assert new_id > max(before)


def test_a_fresh_run_never_reuses_an_earlier_runs_ids(serve, tmp_path):
    """Restarted without --state the account is seeded again, with larger ids: what the
    new run creates is added beside what the earlier run gave, and overwrites none of it."""
    home = tmp_path / "home"
    first = serve("--port", "0", "--entries", "10", "--seed", "2", "--no-quotas")
    assert cli(first, "sync", home=home).exit_code == 0
    assert cli(first, "add", "mine", "--start", "08:00", "--stop", "08:30", "--sync", home=home).exit_code == 0
    from_first = local_entries(first, home)
    first_ids = {e["id"] for e in remote_entries(first)}
    assert len(from_first) == 11 and set(from_first) <= first_ids
    first.stop()

    second = serve("--port", "0", "--entries", "10", "--seed", "2", "--no-quotas")
    second_ids = {e["id"] for e in remote_entries(second)}
    assert min(second_ids) > max(first_ids)
    workspace = json.loads(ctl(second, "status").stdout)["workspace_ids"][0]
    made = ctl(second, "remote", "POST", f"/workspaces/{workspace}/time_entries", "--data", json.dumps({
        "created_with": "phone", "workspace_id": workspace, "description": "theirs",
        "start": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 600)), "duration": 300}))
    assert made.exit_code == 0, made.output
    theirs = json.loads(made.stdout)["id"]
    assert theirs > max(first_ids)

    result = cli(second, "sync", home=home)
    assert result.exit_code == 0, result.output
    now = local_entries(second, home)
    assert {i: now[i] for i in from_first} == from_first  # nothing of the first run overwritten
    assert now[theirs][0] == "theirs"


# --- switches and ctl ----------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after(serve):
    served = serve("--port", "0", "--entries", "3", "--rate-limit", "0.5", "--no-quotas")
    answers = [requests.get(served.url + "/api/v9/me", auth=(served.token, "api_token"), timeout=10) for _ in range(6)]
    limited = [a for a in answers if a.status_code == 429]
    assert limited and all(a.headers.get("Retry-After") for a in limited)
    assert answers[0].status_code == 200


def test_latency_delays_every_answer_and_ctl_set_changes_it(serve):
    served = serve("--port", "0", "--entries", "3", "--latency", "0.3", "--no-quotas")
    started = time.monotonic()
    assert requests.get(served.url + "/api/v9/me", auth=(served.token, "api_token"), timeout=10).status_code == 200
    assert time.monotonic() - started >= 0.3
    changed = ctl(served, "set", "--latency", "0", "--rate-limit", "5")
    assert changed.exit_code == 0, changed.output
    assert json.loads(changed.stdout) == {"rate_limit": 5.0, "latency": 0.0}
    status = json.loads(ctl(served, "status").stdout)
    assert status["latency"] == 0.0 and status["rate_limit"] == 5.0


def test_an_outage_rehearsed_from_the_shell(serve, tmp_path):
    home = tmp_path / "home"
    served = serve("--port", "0", "--entries", "5", "--no-quotas")
    assert cli(served, "sync", home=home).exit_code == 0

    added = ctl(served, "fault", "--status", "503", "--path", "/me*", "--count", "20")
    assert added.exit_code == 0, added.output
    assert json.loads(ctl(served, "faults").stdout)[0]["status"] == 503
    down = cli(served, "sync", home=home)
    assert down.exit_code != 0
    assert down.stderr.strip().splitlines()[-1].startswith("Error: ")

    assert ctl(served, "clear").exit_code == 0
    assert json.loads(ctl(served, "faults").stdout) == []
    assert cli(served, "sync", home=home).exit_code == 0


def test_a_conflict_rehearsed_from_the_shell(serve, tmp_path):
    home = tmp_path / "home"
    served = serve("--port", "0", "--entries", "5", "--no-quotas")
    assert cli(served, "sync", home=home).exit_code == 0
    entry = next(e for e in remote_entries(served) if e["stop"])
    assert cli(served, "edit", entry["id"], "-d", "written here", home=home).exit_code == 0

    changed = ctl(served, "remote", "PUT", f"/workspaces/{entry['workspace_id']}/time_entries/{entry['id']}",
                  "--data", json.dumps({"description": "written elsewhere"}))
    assert changed.exit_code == 0, changed.output
    assert json.loads(changed.stdout)["description"] == "written elsewhere"

    assert cli(served, "sync", home=home).exit_code == 0
    conflicts = cli(served, "conflicts", "--json", home=home)
    assert conflicts.exit_code == 0, conflicts.output
    found = json.loads(conflicts.stdout)
    assert any(c["record_id"] == entry["id"] and "written elsewhere" in json.dumps(c) for c in found), found


def test_ctl_save_writes_the_state_file_now(serve, tmp_path):
    state = tmp_path / "sim.json"
    served = serve("--port", "0", "--entries", "3", "--state", str(state))
    saved = ctl(served, "save")
    assert saved.exit_code == 0 and str(state) in saved.stdout
    assert json.loads(state.read_text())["seed"]["api_token"] == served.token


def test_ctl_without_a_simulator_is_one_error_line_exit_6():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = invoke_cli(["simulator", "ctl", "--url", f"http://127.0.0.1:{port}", "status"])
    assert result.exit_code == 6
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: no simulator at"), result.stderr


def test_a_busy_port_is_one_error_line_naming_port(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([*TOGGLSYNC, "simulator", "--port", str(port), "--entries", "1"],
                              capture_output=True, text=True, timeout=60, env=clean_env())
    assert done.returncode == 2
    assert done.stderr.strip() == (f"Error: port {port} on 127.0.0.1 is in use: choose another with --port "
                                   "(--port 0 picks a free one)")
    assert done.stdout == ""


@pytest.mark.parametrize("content", [None, "not json", '{"format": 99}'])
def test_a_state_file_that_cannot_be_used_is_one_error_line(tmp_path, content):
    state = tmp_path / ("missing-dir/sim.json" if content is None else "sim.json")
    if content is not None:
        state.write_text(content)
    done = subprocess.run([*TOGGLSYNC, "simulator", "--port", "0", "--entries", "1", "--state", str(state)],
                          capture_output=True, text=True, timeout=60, env=clean_env())
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: --state: "), done.stderr
