"""Scheduled syncs: a crontab line (Linux), a systemd user timer (Linux) or a launchd agent (macOS)
running `togglsync sync --quiet --log`.

The default interval, 15 minutes, costs 4 `/me` requests an hour for the
incremental pulls plus one catalog refresh (1 `/me` + 1 per workspace) — about
5 of the free plan's 30 hourly `/me` requests, leaving 25 for everything else.

A scheduler runs the command in an environment of its own: cron's is nearly empty, its
working directory the home folder. So the command is the absolute path of the installed
console script (never `python -m togglsync`, which imports a `togglsync` folder in the
working directory), and every setting in effect here that it would not see is made
explicit (`scheduled_job`): non-secrets on the command line or in its environment,
secrets only in the config file (0600, `save_secrets`, on `--install`). What cannot be
carried is a warning.

The programs it calls are injectable (tests, and people with unusual set-ups):
`TOGGLSYNC_CRONTAB`, `TOGGLSYNC_SYSTEMCTL`, `TOGGLSYNC_LAUNCHCTL` (a command line), and
the folders `TOGGLSYNC_SYSTEMD_DIR` and `TOGGLSYNC_LAUNCHD_DIR`.
"""

from __future__ import annotations

import os
import plistlib
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Mapping

from togglsync import runlog
from togglsync.config import ENV_VARS, Settings, read_config_file, update_config_file
from togglsync.errors import TogglSyncError, UsageError

CRON_MARKER = "# togglsync scheduled sync"
UNIT_NAME = "togglsync-sync"
LAUNCHD_LABEL = "io.togglsync.sync"
KINDS = ("cron", "systemd", "launchd")

# Settings the scheduled command carries as global options (non-secrets).
_OPTIONS = {"db": "--db", "transport": "--transport", "api_url": "--api-url", "maton_connection": "--connection"}
# Non-secrets without an option: carried in the command's environment.
_ENV_ONLY = ("pacing", "maton_ctrl_url")
_EXTRA_ENV = ("TOGGLSYNC_BUSY_TIMEOUT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
_SECRETS = ("api_token", "maton_api_key")
# Read by the HTTP library: carried, unless one holds a password (then a warning).
_PROXY_ENV = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
              "NO_PROXY", "no_proxy")


def parse_interval(text: str) -> int:
    """'15m', '1h', '90m', '2h' -> minutes (at least 1)."""
    match = re.fullmatch(r"\s*(\d+)\s*([mh])\s*", text or "")
    if not match:
        raise UsageError(f"interval {text!r} not understood: use minutes or hours, like 15m or 1h")
    minutes = int(match.group(1)) * (60 if match.group(2) == "h" else 1)
    if minutes < 1:
        raise UsageError("the interval must be at least 1 minute")
    return minutes


def check_interval(minutes: int) -> None:
    """Calendar schedules (cron, systemd) fire on the clock: under an hour, or whole hours under a day."""
    if not (minutes < 60 or (minutes % 60 == 0 and minutes < 24 * 60)):
        raise UsageError("the interval must be under 60 minutes or a whole number of hours under 24")


def default_kind(platform: str | None = None) -> str:
    """launchd on macOS, cron elsewhere."""
    return "launchd" if (platform or sys.platform) == "darwin" else "cron"


def check_kind(kind: str, platform: str | None = None) -> None:
    if kind == "systemd" and (platform or sys.platform) == "darwin":
        raise UsageError("systemd is Linux's: on macOS use --launchd (the default here)")


# --- what runs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """The scheduled command: `argv`, the environment it needs beyond the scheduler's (`env`),
    the secrets to save in the config file for it (`secrets`: setting -> value), and warnings."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    warnings: list[str] = field(default_factory=list)


def console_script() -> tuple[list[str], str | None]:
    """The installed `togglsync` script, by absolute path (the one beside this interpreter
    first), and a warning when there is none."""
    name = "togglsync.exe" if sys.platform == "win32" else "togglsync"
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside.absolute())], None
    found = shutil.which("togglsync")
    if found:
        return [os.path.abspath(found)], None
    # -P: the working directory is not put on sys.path (a clone named togglsync there).
    return [os.path.abspath(sys.executable), "-P", "-m", "togglsync"], (
        "no installed `togglsync` script was found: the scheduled command runs this Python with -m togglsync")


def scheduled_job(settings: Settings, environ: Mapping[str, str] | None = None) -> Job:
    """What the scheduler should run so that it syncs exactly what a sync run here would."""
    environ = os.environ if environ is None else environ
    base, missing_script = console_script()
    warnings = [missing_script] if missing_script else []
    argv = base + ["--home", str(Path(settings.home).expanduser().absolute())]
    sources = settings.sources
    for name, flag in _OPTIONS.items():
        value = getattr(settings, name)
        if value and sources.get(name) in ("option", "env"):
            if name == "db" and "://" not in str(value):
                value = os.path.abspath(os.path.expanduser(str(value)))
            argv += [flag, str(value)]
    argv += ["sync", "--quiet", "--log"]
    env: dict[str, str] = {}
    for name in _ENV_ONLY:
        if sources.get(name) in ("option", "env") and environ.get(ENV_VARS[name]):
            env[ENV_VARS[name]] = environ[ENV_VARS[name]]
    for var in _EXTRA_ENV:
        if environ.get(var):
            env[var] = environ[var]
    try:
        in_file = read_config_file(settings.config_file)
    except TogglSyncError:
        in_file = {}
    secrets: dict[str, str] = {}
    for name in _SECRETS:
        value = getattr(settings, name)
        if value and sources.get(name) in ("option", "env") and in_file.get(name) != value:
            secrets[name] = str(value)
    for name in secrets:
        warnings.append(
            f"{ENV_VARS[name]} is set only in this shell and the scheduled sync will not see it: "
            f"`--install` saves it to {settings.config_file} (readable by you only), or run `togglsync login`")
    chosen_secret = settings.maton_api_key if settings.transport == "maton" else settings.api_token
    if not chosen_secret:
        warnings.append("no credentials are configured: the scheduled sync exits with code 5 until you run "
                        "`togglsync login`" + (" --maton" if settings.transport == "maton" else ""))
    if settings.db and "@" in str(settings.db) and "://" in str(settings.db) and sources.get("db") != "file":
        warnings.append("the database URL holds a password, and the scheduled command shows it: "
                        f"put it in {settings.config_file} instead (`db` setting)")
    for var in _PROXY_ENV:
        if environ.get(var) and "@" in environ[var]:
            warnings.append(f"{var} holds a password and is not carried: "
                            "give the scheduled command that environment yourself")
        elif environ.get(var):
            env[var] = environ[var]
    return Job(argv, env, secrets, warnings)


def save_secrets(settings: Settings, job: Job) -> list[str]:
    """Write the secrets the scheduled run needs to the config file (0600). Returns what was done."""
    if not job.secrets:
        return []
    update_config_file(settings.config_file, job.secrets)
    names = ", ".join(ENV_VARS[n] for n in job.secrets)
    return [f"saved {names} to {settings.config_file} (readable by you only) for the scheduled sync"]


# --- quoting -------------------------------------------------------------------------------------


def cron_quote(text: str) -> str:
    """A shell word for a crontab command: shell quoting, and `%` (a newline to cron) escaped."""
    return shlex.quote(text).replace("%", "\\%")


def systemd_quote(text: str) -> str:
    """One word of ExecStart=: `%` (specifiers) and `$` (variables) doubled, quoted when needed."""
    word = text.replace("%", "%%").replace("$", "$$")
    if re.fullmatch(r"[A-Za-z0-9_./:@+=,%$-]+", word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def systemd_env(name: str, value: str) -> str:
    """An Environment= line, always quoted (spaces), `%` doubled (`$` is not special there)."""
    word = f"{name}={value}".replace("%", "%%").replace("\\", "\\\\").replace('"', '\\"')
    return f'Environment="{word}"'


# --- cron ----------------------------------------------------------------------------------------


def cron_when(minutes: int) -> str:
    check_interval(minutes)
    # (an interval that does not divide 60 restarts at each full hour)
    return f"*/{minutes} * * * *" if minutes < 60 else f"0 */{minutes // 60} * * *"


def cron_line(minutes: int, job: Job) -> str:
    env = " ".join(f"{k}={cron_quote(v)}" for k, v in job.env.items())
    command = " ".join(cron_quote(a) for a in job.argv)
    # cron mails whatever a job prints: --quiet makes that "only on failure".
    return f"{cron_when(minutes)} {env + ' ' if env else ''}{command} {CRON_MARKER}"


def _run(kind: str, args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str] | None:
    """Run crontab / systemctl / launchctl (or the command that stands for it); None when absent."""
    override = os.environ.get(f"TOGGLSYNC_{kind.upper()}")
    base = shlex.split(override) if override else [kind]
    if not shutil.which(base[0]):
        return None
    return subprocess.run(base + args, input=stdin, capture_output=True, text=True)


def _said(proc: subprocess.CompletedProcess[str]) -> str:
    lines = (proc.stderr or proc.stdout or "").strip().splitlines()
    return lines[-1] if lines else f"exit code {proc.returncode}"


def _crontab() -> list[str] | None:
    """The user's crontab lines; None when there is no crontab program."""
    proc = _run("crontab", ["-l"])
    if proc is None:
        return None
    return proc.stdout.splitlines() if proc.returncode == 0 else []


def _write_crontab(lines: list[str]) -> None:
    proc = _run("crontab", ["-"], "".join(line + "\n" for line in lines))
    if proc is None or proc.returncode != 0:
        raise UsageError(f"crontab refused the new table: {_said(proc) if proc else 'no crontab'}")


def install_cron(line: str) -> list[str]:
    """Add (or replace) our line in the user's crontab."""
    existing = _crontab()
    if existing is None:
        raise UsageError("crontab is not installed here: use --systemd, or add the printed line yourself")
    kept = [l for l in existing if CRON_MARKER not in l]
    _write_crontab(kept + [line])
    return ["crontab updated" + (" (replaced the previous togglsync line)" if len(kept) < len(existing) else "")]


# --- systemd ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SystemdUnits:
    service: str
    timer: str


def on_calendar(minutes: int) -> str:
    check_interval(minutes)
    return f"*-*-* *:00/{minutes}:00" if minutes < 60 else f"*-*-* 00/{minutes // 60}:00:00"


def random_delay(minutes: int) -> int:
    """Seconds: a third of the interval, at most 5 minutes (many users, not one second)."""
    return min(minutes * 60 // 3, 300)


def systemd_units(minutes: int, job: Job) -> SystemdUnits:
    env_lines = "".join(systemd_env(k, v) + "\n" for k, v in job.env.items())
    service = (
        "[Unit]\n"
        "Description=togglsync: sync the local Toggl Track cache\n"
        "After=network-online.target\n\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"{env_lines}"
        f"ExecStart={' '.join(systemd_quote(a) for a in job.argv)}\n"
    )
    timer = (
        "[Unit]\n"
        f"Description=Run togglsync sync every {minutes} minutes\n\n"
        "[Timer]\n"
        # On the clock, so Persistent= catches up a run missed while the machine slept.
        f"OnCalendar={on_calendar(minutes)}\n"
        "Persistent=true\n"
        f"RandomizedDelaySec={random_delay(minutes)}\n\n"
        "[Install]\n"
        "WantedBy=timers.target\n"
    )
    return SystemdUnits(service, timer)


def systemd_dir() -> Path:
    if os.environ.get("TOGGLSYNC_SYSTEMD_DIR"):
        return Path(os.environ["TOGGLSYNC_SYSTEMD_DIR"])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def linger_hint() -> str | None:
    """User timers stop at logout unless lingering is on for the user."""
    user = os.environ.get("USER") or os.environ.get("LOGNAME")
    if user and Path("/var/lib/systemd/linger", user).exists():
        return None
    return ("user timers run only while you are logged in: to sync also after logout, run "
            "`loginctl enable-linger " + (user or "$USER") + "`")


def _systemctl(args: list[str], *, must: bool) -> bool:
    proc = _run("systemctl", ["--user"] + args)
    if proc is None:
        return False
    if proc.returncode != 0 and must:
        # One line: what systemctl said last (tests/test_schedule.py).
        raise UsageError(f"systemctl --user {' '.join(args)} failed: {_said(proc)}")
    return proc.returncode == 0


def install_systemd(units: SystemdUnits, *, enable: bool = True) -> list[str]:
    """Write the unit files; enable the timer when systemctl is there. Returns what was done."""
    target = systemd_dir()
    target.mkdir(parents=True, exist_ok=True)
    (target / f"{UNIT_NAME}.service").write_text(units.service)
    (target / f"{UNIT_NAME}.timer").write_text(units.timer)
    done = [f"wrote {target / (UNIT_NAME + '.service')}", f"wrote {target / (UNIT_NAME + '.timer')}"]
    if enable and _systemctl(["daemon-reload"], must=True):
        _systemctl(["enable", "--now", f"{UNIT_NAME}.timer"], must=True)
        done.append(f"enabled {UNIT_NAME}.timer")
    else:
        done.append(f"now run: systemctl --user daemon-reload && systemctl --user enable --now {UNIT_NAME}.timer")
    return done


# --- launchd -------------------------------------------------------------------------------------


def launchd_dir() -> Path:
    if os.environ.get("TOGGLSYNC_LAUNCHD_DIR"):
        return Path(os.environ["TOGGLSYNC_LAUNCHD_DIR"])
    return Path.home() / "Library" / "LaunchAgents"


def launchd_plist(minutes: int, job: Job) -> bytes:
    """A LaunchAgent: every `minutes` (StartInterval), and once at load (RunAtLoad)."""
    agent: dict[str, Any] = {
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": list(job.argv),
        "StartInterval": minutes * 60,
        "RunAtLoad": True,
        "ProcessType": "Background",
    }
    if job.env:
        agent["EnvironmentVariables"] = dict(job.env)
    return plistlib.dumps(agent)


def _plist_file() -> Path:
    return launchd_dir() / f"{LAUNCHD_LABEL}.plist"


def install_launchd(plist: bytes) -> list[str]:
    target = _plist_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    domain = f"gui/{os.getuid()}" if hasattr(os, "getuid") else "gui"
    _run("launchctl", ["bootout", f"{domain}/{LAUNCHD_LABEL}"])  # a previous one, if loaded
    target.write_bytes(plist)
    proc = _run("launchctl", ["bootstrap", domain, str(target)])
    if proc is None:
        return [f"wrote {target}", f"now run: launchctl bootstrap {domain} {shlex.quote(str(target))}"]
    if proc.returncode != 0:
        raise UsageError(f"launchctl bootstrap failed: {_said(proc)}")
    return [f"wrote {target}", f"loaded {LAUNCHD_LABEL}"]


# --- what is installed, removing it, status --------------------------------------------------


@dataclass(frozen=True)
class Installed:
    kind: str
    where: str
    command: str
    minutes: int | None


def installed() -> list[Installed]:
    """Every togglsync schedule installed for this user (cron, systemd, launchd)."""
    found: list[Installed] = []
    for line in _crontab() or []:
        if CRON_MARKER in line:
            fields = line.split(None, 5)
            minutes = _cron_minutes(fields[:5]) if len(fields) > 5 else None
            command = fields[5].replace(CRON_MARKER, "").strip() if len(fields) > 5 else line
            found.append(Installed("cron", "your crontab", command, minutes))
    timer = systemd_dir() / f"{UNIT_NAME}.timer"
    if timer.exists():
        service = systemd_dir() / f"{UNIT_NAME}.service"
        command = _ini_value(service, "ExecStart") or "?"
        found.append(Installed("systemd", str(timer), command, _calendar_minutes(_ini_value(timer, "OnCalendar"))))
    plist = _plist_file()
    if plist.exists():
        try:
            agent = plistlib.loads(plist.read_bytes())
            command = " ".join(shlex.quote(str(a)) for a in agent.get("ProgramArguments", []))
            interval = int(agent.get("StartInterval", 0)) // 60 or None
        except Exception:
            command, interval = "(unreadable plist)", None
        found.append(Installed("launchd", str(plist), command, interval))
    return found


def _ini_value(path: Path, key: str) -> str | None:
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith(key + "="):
                return line[len(key) + 1:]
    except OSError:
        return None
    return None


def _cron_minutes(fields: list[str]) -> int | None:
    minute, hour = fields[0], fields[1]
    if minute.startswith("*/") and hour == "*" and minute[2:].isdigit():
        return int(minute[2:])
    if minute == "0" and hour.startswith("*/") and hour[2:].isdigit():
        return int(hour[2:]) * 60
    return None


def _calendar_minutes(spec: str | None) -> int | None:
    match = re.fullmatch(r"\*-\*-\* \*:00/(\d+):00", spec or "")
    if match:
        return int(match.group(1))
    match = re.fullmatch(r"\*-\*-\* 00/(\d+):00:00", spec or "")
    return int(match.group(1)) * 60 if match else None


def next_on_clock(minutes: int, now: datetime) -> datetime:
    """The next time a calendar schedule of `minutes` fires after `now` (cron's and systemd's rule:
    minutes divisible by the interval, restarting at each hour; whole hours from midnight)."""
    t = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(24 * 60 + 1):
        if minutes < 60 and t.minute % minutes == 0:
            return t
        if minutes >= 60 and t.minute == 0 and t.hour % (minutes // 60) == 0:
            return t
        t += timedelta(minutes=1)
    return t


def next_run(item: Installed, now: datetime, last: runlog.Run | None) -> str:
    """When it runs next, in words (local time)."""
    if item.minutes is None:
        return "unknown (not a schedule togglsync wrote)"
    if item.kind == "launchd":
        if last is None:
            return f"within {item.minutes} minutes (launchd: every {item.minutes} minutes from load)"
        due = max(last.at.astimezone(now.tzinfo) + timedelta(minutes=item.minutes), now)
        return f"about {due:%Y-%m-%d %H:%M} (every {item.minutes} minutes)"
    due = next_on_clock(item.minutes, now)
    extra = f", plus up to {random_delay(item.minutes)} s of random delay" if item.kind == "systemd" else ""
    return f"{due:%Y-%m-%d %H:%M}{extra}"


def remove() -> list[str]:
    """Remove every togglsync schedule installed for this user. Returns what was done."""
    done: list[str] = []
    lines = _crontab()
    if lines and any(CRON_MARKER in l for l in lines):
        _write_crontab([l for l in lines if CRON_MARKER not in l])
        done.append("removed the togglsync line from your crontab")
    timer = systemd_dir() / f"{UNIT_NAME}.timer"
    service = systemd_dir() / f"{UNIT_NAME}.service"
    if timer.exists() or service.exists():
        _systemctl(["disable", "--now", f"{UNIT_NAME}.timer"], must=False)
        for path in (timer, service):
            path.unlink(missing_ok=True)
        _systemctl(["daemon-reload"], must=False)
        done.append(f"removed {timer} and {service.name}")
    plist = _plist_file()
    if plist.exists():
        domain = f"gui/{os.getuid()}" if hasattr(os, "getuid") else "gui"
        _run("launchctl", ["bootout", f"{domain}/{LAUNCHD_LABEL}"])
        plist.unlink()
        done.append(f"removed {plist}")
    return done
