"""Scheduled syncs: a crontab line or a systemd user timer running `togglsync sync --quiet`.

The default interval, 15 minutes, costs 4 `/me` requests an hour for the
incremental pulls plus one catalog refresh (1 `/me` + 1 per workspace) — about
5 of the free plan's 30 hourly `/me` requests, leaving 25 for everything else.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from togglsync.errors import UsageError

CRON_MARKER = "# togglsync scheduled sync"
UNIT_NAME = "togglsync-sync"


def parse_interval(text: str) -> int:
    """'15m', '1h', '90m', '2h' -> minutes (at least 1)."""
    match = re.fullmatch(r"\s*(\d+)\s*([mh])\s*", text or "")
    if not match:
        raise UsageError(f"interval {text!r} not understood: use minutes or hours, like 15m or 1h")
    minutes = int(match.group(1)) * (60 if match.group(2) == "h" else 1)
    if minutes < 1:
        raise UsageError("the interval must be at least 1 minute")
    return minutes


def sync_command() -> list[str]:
    """The command line a scheduler should run: absolute paths, no reliance on PATH."""
    exe = shutil.which("togglsync")
    base = [os.path.abspath(exe)] if exe else [sys.executable, "-m", "togglsync"]
    return base + ["sync", "--quiet"]


def _env_prefix(home: Path | None) -> dict[str, str]:
    env = {}
    if home is not None and os.environ.get("TOGGLSYNC_HOME"):
        env["TOGGLSYNC_HOME"] = str(home)
    return env


def cron_line(minutes: int, home: Path | None = None) -> str:
    if minutes < 60:
        # (an interval that does not divide 60 restarts at each full hour)
        when = f"*/{minutes} * * * *"
    elif minutes % 60 == 0 and minutes < 24 * 60:
        when = f"0 */{minutes // 60} * * *"
    else:
        raise UsageError("cron intervals must be under 60 minutes or a whole number of hours under 24")
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in _env_prefix(home).items())
    command = shlex.join(sync_command())
    # cron mails whatever a job prints: --quiet makes that "only on failure".
    return f"{when} {env + ' ' if env else ''}{command} {CRON_MARKER}"


@dataclass(frozen=True)
class SystemdUnits:
    service: str
    timer: str


def systemd_units(minutes: int, home: Path | None = None) -> SystemdUnits:
    env_lines = "".join(f"Environment={k}={v}\n" for k, v in _env_prefix(home).items())
    service = (
        "[Unit]\n"
        "Description=togglsync: sync the local Toggl Track cache\n"
        "After=network-online.target\n\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"{env_lines}"
        f"ExecStart={shlex.join(sync_command())}\n"
    )
    timer = (
        "[Unit]\n"
        f"Description=Run togglsync sync every {minutes} minutes\n\n"
        "[Timer]\n"
        "OnBootSec=2min\n"
        f"OnUnitActiveSec={minutes}min\n"
        # Spread many machines' syncs; catch up after sleep.
        "RandomizedDelaySec=30\n"
        "Persistent=true\n\n"
        "[Install]\n"
        "WantedBy=timers.target\n"
    )
    return SystemdUnits(service, timer)


def systemd_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def install_systemd(units: SystemdUnits, *, enable: bool = True) -> list[str]:
    """Write the unit files; enable the timer when systemctl is there. Returns what was done."""
    target = systemd_dir()
    target.mkdir(parents=True, exist_ok=True)
    (target / f"{UNIT_NAME}.service").write_text(units.service)
    (target / f"{UNIT_NAME}.timer").write_text(units.timer)
    done = [f"wrote {target / (UNIT_NAME + '.service')}", f"wrote {target / (UNIT_NAME + '.timer')}"]
    enable_cmd = ["systemctl", "--user", "enable", "--now", f"{UNIT_NAME}.timer"]
    if enable and shutil.which("systemctl"):
        for cmd in (["systemctl", "--user", "daemon-reload"], enable_cmd):
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                said = (proc.stderr or proc.stdout).strip().splitlines()
                # One line: what systemctl said last (tests/test_schedule.py).
                raise UsageError(f"{' '.join(cmd)} failed: {said[-1] if said else f'exit code {proc.returncode}'}")
        done.append(f"enabled {UNIT_NAME}.timer")
    else:
        done.append(f"now run: systemctl --user daemon-reload && {' '.join(enable_cmd)}")
    return done


def install_cron(line: str) -> list[str]:
    """Add (or replace) our line in the user's crontab."""
    if not shutil.which("crontab"):
        raise UsageError("crontab is not installed here: use --systemd, or add the printed line yourself")
    current = subprocess.run(["crontab", "-l"], capture_output=True, text=True)
    existing = current.stdout if current.returncode == 0 else ""
    kept = [l for l in existing.splitlines() if CRON_MARKER not in l]
    new = "\n".join(kept + [line]) + "\n"
    proc = subprocess.run(["crontab", "-"], input=new, capture_output=True, text=True)
    if proc.returncode != 0:
        raise UsageError(f"crontab refused the new table: {proc.stderr.strip()}")
    return ["crontab updated" + (" (replaced the previous togglsync line)" if len(kept) < len(existing.splitlines()) else "")]
