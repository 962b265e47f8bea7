"""`togglsync schedule`: the cron line run as cron runs it, systemd units checked by systemd-analyze,
the launchd agent, --remove, `schedule status`, and the run log `status` reads.

No test touches the real crontab, systemd or launchd: TOGGLSYNC_CRONTAB / TOGGLSYNC_SYSTEMCTL /
TOGGLSYNC_LAUNCHCTL point at small scripts, TOGGLSYNC_SYSTEMD_DIR / TOGGLSYNC_LAUNCHD_DIR at temp folders.
"""

from __future__ import annotations

import os
import plistlib
import shutil
import stat
import subprocess
import sys

import pytest
from conftest import invoke_cli

from togglsync import runlog
from togglsync.errors import UsageError
from togglsync.schedule import (
    Job,
    cron_line,
    install_systemd,
    next_on_clock,
    parse_interval,
    systemd_units,
)

MARKER = "# togglsync scheduled sync"


def _script(path, body):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.fixture
def fake_crontab(tmp_path, monkeypatch):
    """A `crontab` keeping the table in a file (and one line of someone else's)."""
    table = tmp_path / "crontab.txt"
    table.write_text("0 3 * * * /usr/bin/backup # not ours\n")
    script = _script(tmp_path / "bin" / "crontab",
                     f'T="{table}"\nif [ "$1" = "-l" ]; then [ -f "$T" ] || {{ echo "no crontab" >&2; exit 1; }}; '
                     f'cat "$T"; else cat > "$T"; fi\n')
    monkeypatch.setenv("TOGGLSYNC_CRONTAB", str(script))
    return table


@pytest.fixture
def fake_systemd(tmp_path, monkeypatch):
    calls = tmp_path / "systemctl-calls.txt"
    monkeypatch.setenv("TOGGLSYNC_SYSTEMCTL", str(_script(tmp_path / "bin" / "systemctl", f'echo "$@" >> "{calls}"\n')))
    monkeypatch.setenv("TOGGLSYNC_SYSTEMD_DIR", str(tmp_path / "units"))
    return calls


def cron_command(line: str) -> str:
    """What cron hands to /bin/sh: the sixth field on, `\\%` -> `%`, cut at a bare `%`."""
    command = line.split(None, 5)[5]
    out, escaped = [], False
    for ch in command:
        if escaped:
            out.append(ch if ch == "%" else "\\" + ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "%":
            break
        else:
            out.append(ch)
    return "".join(out)


def test_intervals():
    assert [parse_interval(t) for t in ("15m", "1h", " 90m ", "2h")] == [15, 60, 90, 120]
    for bad in ("", "15", "0m", "1d", "-5m"):
        with pytest.raises(UsageError):
            parse_interval(bad)
    job = Job(["/bin/togglsync", "sync"])
    assert cron_line(15, job).startswith("*/15 * * * * ") and cron_line(15, job).endswith(MARKER)
    assert cron_line(120, job).startswith("0 */2 * * * ")
    with pytest.raises(UsageError):
        cron_line(90, job)


def test_next_run_on_the_clock():
    from datetime import datetime

    at = datetime(2026, 12, 3, 11, 31, 20)
    assert next_on_clock(15, at) == datetime(2026, 12, 3, 11, 45)
    assert next_on_clock(120, at) == datetime(2026, 12, 3, 12, 0)
    assert next_on_clock(180, at) == datetime(2026, 12, 3, 12, 0)


def test_the_printed_cron_line_syncs_under_cron_s_empty_environment(sim, tmp_path, monkeypatch, fake_crontab):
    """The exact printed line, run as cron runs it: `env -i`, /bin/sh, from a folder holding a
    clone named togglsync, a home with a space and a `%`, the token only in the shell."""
    home = tmp_path / "my home 100%"
    for key, value in sim.env("direct").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("TOGGLSYNC_HOME", str(home))

    printed = invoke_cli(["schedule", "--cron"])
    assert printed.exit_code == 0, printed.output
    assert "TOGGL_API_TOKEN is set only in this shell" in printed.stderr  # says it, and how to fix it
    installed = invoke_cli(["schedule", "--cron", "--install"])
    assert installed.exit_code == 0, installed.output
    config = home / "config.json"
    assert sim.seed.api_token in config.read_text() and (config.stat().st_mode & 0o777) == 0o600
    again = invoke_cli(["schedule", "--cron"])
    assert again.stderr == "" and again.stdout == printed.stdout  # nothing left uncarried
    line = printed.stdout.strip()
    assert sim.seed.api_token not in line  # the secret is only in the config file
    table = fake_crontab.read_text().splitlines()
    assert table == ["0 3 * * * /usr/bin/backup # not ours", line]

    cwd = tmp_path / "home-dir"
    (cwd / "togglsync").mkdir(parents=True)
    (cwd / "togglsync" / "__init__.py").write_text("raise SystemExit('the clone was imported')\n")
    sim.log.clear()
    ran = subprocess.run(["env", "-i", f"HOME={cwd}", "PATH=/usr/bin:/bin", "SHELL=/bin/sh", "LOGNAME=nobody",
                          "/bin/sh", "-c", cron_command(line)], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, "", "")  # --quiet: cron mails nothing
    assert sim.log.count("GET") >= 1
    assert (home / "togglsync.db").exists()
    [logged] = runlog.runs(home)
    assert logged.exit_code == 0 and logged.message.startswith("sync: pulled")

    status = invoke_cli(["schedule", "status"])
    assert status.exit_code == 0, status.output
    assert "Installed: cron, every 15 minutes (your crontab)" in status.stdout
    assert "exit 0: sync: pulled" in status.stdout and "Next run:" in status.stdout

    removed = invoke_cli(["schedule", "--remove"])
    assert removed.exit_code == 0 and "removed the togglsync line" in removed.stdout
    assert fake_crontab.read_text().splitlines() == ["0 3 * * * /usr/bin/backup # not ours"]
    assert invoke_cli(["schedule", "--remove"]).stdout.startswith("Nothing to remove")


def test_settings_are_carried_not_dropped(tmp_path, monkeypatch):
    """--db, --transport, --connection, the API URL and pacing reach the scheduled command; relative paths made absolute."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MATON_API_KEY", "k-secret")
    monkeypatch.setenv("MATON_CONNECTION", "conn-1")
    monkeypatch.setenv("TOGGLSYNC_PACING", "2")
    result = invoke_cli(["--db", "my.db", "--api-url", "http://127.0.0.1:9/x", "schedule", "--cron"])
    assert result.exit_code == 0, result.output
    line = result.stdout
    assert f"--db {tmp_path / 'my.db'}" in line and "--api-url http://127.0.0.1:9/x" in line
    assert "--connection conn-1" in line and "TOGGLSYNC_PACING=2 " in line and "k-secret" not in line
    assert "MATON_API_KEY is set only in this shell" in result.stderr


def test_systemd_units_pass_systemd_analyze(tmp_path, monkeypatch, fake_systemd):
    home = tmp_path / "a home 50%"
    monkeypatch.setenv("TOGGLSYNC_HOME", str(home))
    monkeypatch.setenv("TOGGLSYNC_PACING", "0.5")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "my certs" / "ca 100%.pem"))
    result = invoke_cli(["schedule", "--systemd", "--install", "--every", "30m"])
    assert result.exit_code == 0, result.output
    units = tmp_path / "units"
    timer = (units / "togglsync-sync.timer").read_text()
    service = (units / "togglsync-sync.service").read_text()
    assert "OnCalendar=*-*-* *:00/30:00" in timer and "Persistent=true" in timer and "RandomizedDelaySec=" in timer
    assert "OnUnitActiveSec" not in timer
    assert f'--home "{str(home).replace("%", "%%")}"' in service
    assert f'Environment="REQUESTS_CA_BUNDLE={tmp_path}/my certs/ca 100%%.pem"' in service
    assert "enable --now togglsync-sync.timer" in fake_systemd.read_text()
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here: the units were not verified")
    verified = subprocess.run([analyze, "verify", str(units / "togglsync-sync.service"), str(units / "togglsync-sync.timer")],
                              capture_output=True, text=True, timeout=60)
    problems = [l for l in verified.stderr.splitlines() if "togglsync-sync" in l]
    assert verified.returncode == 0 and not problems, verified.stderr
    status = invoke_cli(["schedule", "status"])
    assert "Installed: systemd, every 30 minutes" in status.stdout and "random delay" in status.stdout
    removed = invoke_cli(["schedule", "--remove"])
    assert removed.exit_code == 0 and not (units / "togglsync-sync.timer").exists()
    assert "disable --now togglsync-sync.timer" in fake_systemd.read_text()


def test_a_failing_systemctl_is_one_line_naming_what_it_said(tmp_path, monkeypatch):
    fake = _script(tmp_path / "bin" / "systemctl",
                   "echo 'first line' >&2\necho 'Failed to connect to bus: No medium found' >&2\nexit 1\n")
    monkeypatch.setenv("TOGGLSYNC_SYSTEMCTL", str(fake))
    monkeypatch.setenv("TOGGLSYNC_SYSTEMD_DIR", str(tmp_path / "units"))
    with pytest.raises(UsageError) as caught:
        install_systemd(systemd_units(15, Job(["/bin/togglsync", "sync"])))
    assert str(caught.value) == "systemctl --user daemon-reload failed: Failed to connect to bus: No medium found"
    assert (tmp_path / "units" / "togglsync-sync.timer").read_text().count("OnCalendar=*-*-* *:00/15:00") == 1


def test_launchd_agent_is_a_valid_plist_and_the_default_on_macos(tmp_path, monkeypatch):
    home = tmp_path / "home & <more> 5%"
    monkeypatch.setenv("TOGGLSYNC_HOME", str(home))
    monkeypatch.setattr(sys, "platform", "darwin")
    result = invoke_cli(["schedule"])  # launchd by default on macOS
    assert result.exit_code == 0, result.output
    agent = plistlib.loads(result.stdout.encode())
    assert agent["ProgramArguments"][1:] == ["--home", str(home), "sync", "--quiet", "--log"]
    assert os.path.isabs(agent["ProgramArguments"][0])
    assert agent["StartInterval"] == 900 and agent["RunAtLoad"] is True
    plutil = shutil.which("plutil")
    if plutil:
        (tmp_path / "agent.plist").write_text(result.stdout)
        assert subprocess.run([plutil, "-lint", str(tmp_path / "agent.plist")]).returncode == 0
    refused = invoke_cli(["schedule", "--systemd"])
    assert refused.exit_code == 2 and "Error: systemd is Linux's: on macOS use --launchd" in refused.output

    calls = tmp_path / "launchctl-calls.txt"
    monkeypatch.setenv("TOGGLSYNC_LAUNCHCTL", str(_script(tmp_path / "bin" / "launchctl", f'echo "$@" >> "{calls}"\n')))
    monkeypatch.setenv("TOGGLSYNC_LAUNCHD_DIR", str(tmp_path / "agents"))
    assert invoke_cli(["schedule", "--install", "--every", "1h"]).exit_code == 0
    assert plistlib.loads((tmp_path / "agents" / "io.togglsync.sync.plist").read_bytes())["StartInterval"] == 3600
    assert "bootstrap gui/" in calls.read_text()
    assert "Installed: launchd, every 60 minutes" in invoke_cli(["schedule", "status"]).stdout
    assert invoke_cli(["schedule", "--remove"]).exit_code == 0
    assert not (tmp_path / "agents" / "io.togglsync.sync.plist").exists()


def test_status_shows_the_last_failed_sync(synced):
    good = synced.run("status")
    assert "Failed:" not in good.stdout
    failed = synced.run("sync", "--quiet", "--log", env={"TOGGL_API_TOKEN": "wrong-token"})
    assert failed.exit_code == 5
    shown = synced.run("status")
    assert shown.exit_code == 0
    assert "Failed:    a sync just now" in shown.stdout and "exit 5: " in shown.stdout
    assert "Authentication failed" in shown.stdout.splitlines()[-1]
    assert "wrong-token" not in (synced.home / "sync.log").read_text()
    as_json = synced.run("status", "--json")
    assert '"exit_code": 5' in as_json.stdout
    assert synced.run("sync", "--log").exit_code == 0
    assert "Failed:" not in synced.run("status").stdout


def test_the_run_log_is_bounded(tmp_path):
    for i in range(3000):
        runlog.append(tmp_path, i % 3, f"run {i} " + "x" * 40)
    assert (tmp_path / "sync.log").stat().st_size <= runlog.MAX_BYTES
    assert (tmp_path / "sync.log.1").stat().st_size <= runlog.MAX_BYTES
    runs = runlog.runs(tmp_path)
    assert runs[-1].message.startswith("run 2999 ") and len(runs) < 3000
    assert [int(r.message.split()[1]) for r in runs] == sorted(int(r.message.split()[1]) for r in runs)
