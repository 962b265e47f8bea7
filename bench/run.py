"""togglsync benchmark suite: rerunnable numbers for every speed claim.

    .venv/bin/python bench/run.py                          # full: 10k, 100k, 300k entries, median of 3 runs
    .venv/bin/python bench/run.py --quick                  # smaller sizes, 1 run (a smoke test, not the official figures)
    .venv/bin/python bench/run.py --runs 5 --sizes 10000,100000 --latency 0.15 --no-peer
    .venv/bin/python bench/run.py --team                   # scenario 11 alone: 20 accounts x 20,000 entries
    .venv/bin/python bench/run.py --only 7,8               # some scenarios only (table printed, no file written)
    .venv/bin/python bench/run.py --team --team-accounts 3 --team-entries 2000    # the same, small

Prints every figure as it is measured, then one table, and writes bench/RESULTS.md
(a table of the targets, then every figure).

What it runs
------------
* Scenario 1, the cold sync of the comparison size (100,000 entries; the largest
  size up to 100,000): togglsync with its default pacing, side by side with
  toggl-to-sqlite 0.9.0 (the closest peer, "1p") on the same seeded simulator, run
  after run alternately, with 0 ms and with --latency (150 ms) added to every
  answer; plus a labelled pacing-off row. Then scenarios 3-8 on that synced home.
* Scenario 2, growth: cold syncs at every --sizes size, log-log slopes of wall
  time and peak RSS between consecutive sizes.
* Scenario 9: on the largest size, 10 offline `start`s (each followed by a
  `stop`) spread over one cold sync, each timed as a whole process.
* Scenario 11, a team: --team-accounts members of one workspace (default 20),
  each a Toggl account of --team-entries entries (default 20,000), synced into
  one database: a PostgreSQL database on a throwaway server (tests/pg.py, the
  test suite's: initdb in a temporary folder, a free loopback port, fsync off;
  skipped with the reason when its programs are missing) and a SQLite file. The
  first member is `main`, the others `togglsync accounts add mNN`. Measured:
  the cold sync of every account (`togglsync sync`), the no-change sync of
  every account (exactly one request per account, asserted), peak RSS, and
  `report --by user` this month and over every entry; PostgreSQL's plans of
  that report are printed (auto_explain). `--team` runs only this scenario
  (one cold sync per backend unless --runs), prints its table and writes no
  file unless --out says where.

How it measures
---------------
* The simulator runs in its own process (bench/simserver.py): seeded through
  the simulator's back door (100k entries in seconds, all inside the 89-day
  window a cold sync fetches), serving on 127.0.0.1 with quotas off, and
  answering commands on a pipe (request log, remote edits, server-side
  counts, added latency). The client under test therefore never shares a GIL
  with the server; on a 2-core machine each gets a core, like a remote Toggl.
* Everything measured is a real `togglsync ...` process: the console script
  of a regular (not editable) install of this working tree into a virtualenv
  of the bench's own (bench/.togglsync-venv, made on first use and rebuilt
  when the source changes), as `pip install togglsync` gives users: an
  editable install adds setuptools' import hook (~20 ms a process).
  `--togglsync EXE` measures another program instead. Each runs with
  TOGGLSYNC_HOME / TOGGLSYNC_API_URL / TOGGL_API_TOKEN and the default
  pacing (what users run); rows marked
  "pacing off" set TOGGLSYNC_PACING=0. Wall time is the parent's clock from
  spawn to exit (interpreter start-up and imports included: that is what a
  user waits for). Peak memory is that process's peak RSS from os.wait4()
  (the per-child form of getrusage(RUSAGE_CHILDREN): it cannot be polluted
  by an earlier, larger child).
* The peer runs in a virtualenv of the bench's own (bench/.peer-venv, made on
  first use with `pip install toggl-to-sqlite==0.9.0`) through
  bench/peer_launch.py, which points its literal Toggl URLs at the simulator.
* Requests are counted from the simulator's request log (not from what the
  client says it sent), between a mark taken before and after each command.
* Offline edits (scenarios 5 and 6) are made in this process through
  togglsync's Python API (LocalStore) before the timed `togglsync sync`.
* Every figure is the median of --runs runs (default 3, --quick 1); the short
  CLI commands (scenarios 0, 3, 7, 8) are the median of at least 5.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CLI_RUNS = 5
PEER = "toggl-to-sqlite==0.9.0"
PEER_VENV = BENCH / ".peer-venv"
# togglsync as users get it: the working tree built and installed (not editable) into a venv of the bench's own.
INSTALL_VENV = BENCH / ".togglsync-venv"
INSTALLED_FROM = ("togglsync", "migrations", "pyproject.toml", "alembic.ini", "README.md")  # what the wheel is made of
COMPARISON_SIZE = 100_000  # the size the issue-13 targets are stated for
STARTS = 10  # offline starts during the big cold sync (scenario 9)


# --- the simulator process ------------------------------------------------------------------


class SimProcess:
    def __init__(self, entries: int, *, projects: int = 500, clients: int = 100, tags: int = 200, seed: int = 42,
                 years: float | None = None, users: int = 1):
        self.proc = subprocess.Popen(
            [sys.executable, str(BENCH / "simserver.py"), "--entries", str(entries), "--projects", str(projects),
             "--clients", str(clients), "--tags", str(tags), "--seed", str(seed), "--users", str(users)]
            + (["--years", str(years)] if years else []),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise RuntimeError("the simulator process exited before it was ready")
        self.info: dict[str, Any] = json.loads(line)

    def cmd(self, **command: Any) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        reply = json.loads(self.proc.stdout.readline())
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply

    def mark(self) -> int:
        return self.cmd(cmd="mark")["mark"]

    def requests_since(self, mark: int) -> list[dict[str, Any]]:
        return self.cmd(cmd="requests", since=mark)["requests"]

    def set_latency(self, seconds: float) -> None:
        """Every API answer from now on waits `seconds` first (the simulator's latency switch: a round trip)."""
        self.cmd(cmd="latency", seconds=seconds)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.cmd(cmd="quit")
                self.proc.wait(timeout=10)
            except (OSError, ValueError, RuntimeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()

    def env(self, home: Path, *, pacing_off: bool = False) -> dict[str, str]:
        """The environment of a togglsync process against this simulator: the default pacing unless `pacing_off`."""
        env = clean_env()
        env.update(
            TOGGLSYNC_HOME=str(home),
            TOGGLSYNC_API_URL=self.info["url"],
            TOGGL_API_TOKEN=self.info["token"],
            TOGGLSYNC_TRANSPORT="direct",
        )
        if pacing_off:
            env["TOGGLSYNC_PACING"] = "0"
        return env


def clean_env() -> dict[str, str]:
    """This environment without togglsync settings, and with Python's default bytecode caching
    (PYTHONDONTWRITEBYTECODE would make every process recompile modules edited since their .pyc)."""
    skip = ("TOGGLSYNC_", "TOGGL_", "MATON_", "PYTHONDONTWRITEBYTECODE")
    return {k: v for k, v in os.environ.items() if not k.startswith(skip)}


def warm_bytecode() -> None:
    """Import every module the measured commands use once, so their .pyc are current (as pip does at install)."""
    modules = ["togglsync.cli", "togglsync.cli.syncing", "togglsync.cli.tracking", "togglsync.cli.reporting", "togglsync.sync.engine",
               "togglsync.api", "togglsync.lookup", "togglsync.local", "togglsync.report", "togglsync.db.migrate", "rich.table"]
    subprocess.run([togglsync_python(), "-c", "import " + ", ".join(modules)], env=clean_env(), check=True, cwd=ROOT)


class CpuWatch:
    """CPU time used by processes other than this benchmark (and its children) while it runs: a busy machine inflates walls."""

    def __init__(self) -> None:
        self.busy0, self.ours0 = self._busy(), self._ours()
        self.wall0 = time.monotonic()

    @staticmethod
    def _busy() -> float:
        try:
            fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except OSError:
            return float("nan")
        user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _ours() -> float:
        import resource

        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    def others(self) -> tuple[float, float]:
        """(core-seconds used by other processes, their average share of one core)."""
        other = max(0.0, (self._busy() - self.busy0) - (self._ours() - self.ours0))
        return other, other / max(time.monotonic() - self.wall0, 1e-9)


# --- one measured process -------------------------------------------------------------------


@dataclass
class Proc:
    wall: float  # seconds, spawn to exit
    rss_mb: float  # peak RSS of the process
    code: int
    out: str
    err: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    db_mb: float = 0.0  # database size after the command (cold syncs)
    cpu: float = 0.0  # seconds of CPU (user + system) the process used: what a busy machine does not inflate
    stored: int = 0  # time entries in the database after the command (cold syncs)

    def json(self) -> dict[str, Any]:
        return json.loads(self.out)

    def count(self, method: str | None = None, path_prefix: str | None = None) -> int:
        return sum(
            1 for r in self.requests
            if (method is None or r["method"] == method) and (path_prefix is None or r["path"].startswith(path_prefix))
        )

    def server_seconds(self) -> float:
        return sum(r["server_seconds"] for r in self.requests)

    def describe_requests(self) -> str:
        groups: dict[str, int] = {}
        for r in self.requests:
            path = r["path"]
            parts = path.split("/")
            path = "/".join("{id}" if p.isdigit() or "," in p else p for p in parts)
            key = f"{r['method']} {path}"
            groups[key] = groups.get(key, 0) + 1
        return ", ".join(f"{n}× {k}" if n > 1 else k for k, n in groups.items()) or "none"


# The `togglsync` console script every measured process runs (`use_togglsync`).
_EXE: list[str] = []


def togglsync_exe() -> str:
    if not _EXE:
        raise RuntimeError("use_togglsync() first")
    return _EXE[0]


def togglsync_python() -> str:
    """The interpreter of the measured togglsync (beside its console script)."""
    return str(Path(togglsync_exe()).parent / "python")


def source_digest() -> str:
    """A digest of the files the package is built from: a new one means the bench's install is stale."""
    import hashlib

    digest = hashlib.sha256()
    for top in INSTALLED_FROM:
        root = ROOT / top
        files = sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts) if root.is_dir() \
            else [root] if root.is_file() else []
        for file in files:
            digest.update(str(file.relative_to(ROOT)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def installed_togglsync(venv: Path) -> str:
    """togglsync's console script in `venv`, a regular (not editable) install of this working tree: what
    `pip install togglsync` gives users, without the import hook of an editable install (setuptools'
    finder costs ~20 ms a process). Made on first use; rebuilt when the source changed since."""
    python, exe, stamp = venv / "bin" / "python", venv / "bin" / "togglsync", venv / "togglsync-source.sha256"
    digest = source_digest()
    if exe.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return str(exe)
    print(f"installing this working tree into {venv} (not editable) ...", flush=True)
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, text=True)
        # First the dependencies (and the postgres extra, for scenario 11), then the package itself, rebuilt.
        subprocess.run([str(python), "-m", "pip", "install", "-q", ".[postgres]"], check=True, capture_output=True,
                       text=True, cwd=ROOT)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", "."], check=True,
                       capture_output=True, text=True, cwd=ROOT)
    except (OSError, subprocess.CalledProcessError) as error:
        detail = (getattr(error, "stderr", "") or str(error)).strip().splitlines()
        sys.exit(f"could not install togglsync into {venv}: {detail[-1] if detail else error}")
    stamp.write_text(digest + "\n")
    return str(exe)


def use_togglsync(given: str | None) -> str:
    """Which togglsync the bench measures: `--togglsync EXE` as given, else the bench's own install. Returns
    the line for the report's Machine section."""
    if given:
        found = shutil.which(given)
        if not found:
            sys.exit(f"--togglsync {given}: no such program")
        _EXE[:] = [os.path.abspath(found)]
        return f"{_EXE[0]} (--togglsync)"
    _EXE[:] = [installed_togglsync(INSTALL_VENV)]
    return f"{_EXE[0]}: this working tree installed (not editable) into {INSTALL_VENV.relative_to(ROOT)}"


def run_process(argv: list[str], env: dict[str, str], sim: SimProcess | None = None, *, check: bool = True) -> Proc:
    """Run one process, measuring its wall time, its own peak RSS and the requests the simulator saw."""
    mark = sim.mark() if sim else 0
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        began = time.perf_counter()
        child = subprocess.Popen(argv, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=ROOT)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - began
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        result = Proc(wall, usage.ru_maxrss / 1024, child.returncode, out.read(), err.read(),
                      cpu=usage.ru_utime + usage.ru_stime)
    if sim:
        result.requests = sim.requests_since(mark)
    if check and result.code != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {result.code}:\n{result.out}\n{result.err}")
    return result


def cli(sim: SimProcess | None, home: Path, *args: str, env: dict[str, str] | None = None, check: bool = True,
        pacing_off: bool = False) -> Proc:
    return run_process([togglsync_exe(), *args], env or (sim.env(home, pacing_off=pacing_off) if sim else {}), sim, check=check)


def db_size_mb(path: Path) -> float:
    """A SQLite database's size on disk: the file and its write-ahead log, if any."""
    total = 0
    for candidate in (path, path.with_name(path.name + "-wal")):
        if candidate.exists():
            total += candidate.stat().st_size
    return total / 1e6


def count_rows(path: Path, table: str) -> int:
    import sqlite3

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


# --- results ---------------------------------------------------------------------------------


@dataclass
class Figure:
    scenario: str
    what: str
    values: list[float]
    unit: str
    target: str = ""
    ok: Callable[[float], bool] | None = None  # judged on the median
    fmt: str = "{:.3f}"
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def verdict(self) -> str:
        if self.ok is None:
            return ""
        return "PASS" if self.ok(self.median) else "MISS"

    def show(self, value: float) -> str:
        return self.fmt.format(value)


class Results:
    def __init__(self) -> None:
        self.figures: list[Figure] = []
        self.notes: list[str] = []
        self.details: list[str] = []

    def add(self, *args: Any, **kwargs: Any) -> Figure:
        figure = Figure(*args, **kwargs)
        self.figures.append(figure)
        mark = f"  [{figure.verdict}]" if figure.verdict else ""
        runs = ", ".join(figure.show(v) for v in figure.values)
        print(f"  {figure.scenario:<4} {figure.what:<60} {figure.show(figure.median):>10} {figure.unit:<10} ({runs}){mark}",
              flush=True)
        return figure

    def detail(self, text: str) -> None:
        self.details.append(text)
        print("    " + text, flush=True)

    def table(self) -> str:
        lines = [
            "| # | figure | median | unit | runs | target | result |",
            "|---|---|---:|---|---|---|---|",
        ]
        for f in self.figures:
            runs = ", ".join(f.show(v) for v in f.values)
            lines.append(f"| {f.scenario} | {f.what} | {f.show(f.median)} | {f.unit} | {runs} | {f.target} | {f.verdict or '—'} |")
        return "\n".join(lines)

    def targets_table(self) -> str:
        lines = ["| # | figure | target | measured (median) | met? |", "|---|---|---|---:|---|"]
        for f in self.figures:
            if f.verdict:
                met = "yes" if f.verdict == "PASS" else "**no**"
                lines.append(f"| {f.scenario} | {f.what.strip()} | {f.target} | {f.show(f.median)} {f.unit} | {met} |")
        return "\n".join(lines)

    def text_table(self) -> str:
        header = f"{'#':<4} {'figure':<60} {'median':>10} {'unit':<10} {'target':<24} result"
        rows = [header, "-" * len(header)]
        for f in self.figures:
            rows.append(f"{f.scenario:<4} {f.what:<60} {f.show(f.median):>10} {f.unit:<10} {f.target:<24} {f.verdict or '-'}")
        return "\n".join(rows)


def machine() -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    distro = ""
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                distro = line.split("=", 1)[1].strip('"')
    except OSError:
        pass

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "?"

    dirty = [line for line in git("status", "--porcelain", "togglsync").splitlines() if line.strip()]
    import togglsync

    return {
        "CPU": f"{cpu} — {os.cpu_count()} logical cores"
               + (f" ({len(os.sched_getaffinity(0))} usable)" if hasattr(os, "sched_getaffinity") else ""),
        "RAM": ram,
        "OS": f"{distro} ({platform.platform()})" if distro else platform.platform(),
        "Python": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        "togglsync": f"{togglsync.__version__}, git {git('rev-parse', '--short', 'HEAD')}"
                     + (f" + {len(dirty)} uncommitted change(s) under togglsync/" if dirty else ""),
        "SQLite": __import__("sqlite3").sqlite_version,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "command": " ".join(getattr(sys, "orig_argv", [sys.executable, *sys.argv])),
    }


# --- scenarios -------------------------------------------------------------------------------


def cold_sync(sim: SimProcess, home: Path, expected: int, *, pacing_off: bool = False) -> Proc:
    proc = cli(sim, home, "sync", "--json", pacing_off=pacing_off)
    pulled = proc.json()["pulled"].get("time_entries", 0)
    if pulled != expected:
        raise RuntimeError(f"cold sync pulled {pulled} entries, expected {expected}")
    proc.db_mb = db_size_mb(home / "togglsync.db")
    proc.stored = count_rows(home / "togglsync.db", "time_entries")
    return proc


# --- the peer: toggl-to-sqlite 0.9.0 in a virtualenv of the bench's own ----------------------


def peer_python(venv: Path) -> tuple[Path | None, str]:
    """The peer venv's interpreter, made on first use; (None, why) when it cannot be installed."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import importlib.metadata as m, toggl_to_sqlite; print(m.version('toggl-to-sqlite'))"]
    if python.exists():
        found = subprocess.run(probe, capture_output=True, text=True, cwd=ROOT)
        if found.returncode == 0 and found.stdout.strip() == PEER.split("==")[1]:
            return python, found.stdout.strip()
    print(f"installing the peer ({PEER}) into {venv} ...", flush=True)
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, text=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", PEER], check=True, capture_output=True, text=True)
        found = subprocess.run(probe, capture_output=True, text=True, check=True, cwd=ROOT)
    except (OSError, subprocess.CalledProcessError) as error:
        detail = (getattr(error, "stderr", "") or str(error)).strip().splitlines()
        return None, f"could not install {PEER} into {venv}: {detail[-1] if detail else error}"
    return python, found.stdout.strip()


def peer_cold_sync(sim: SimProcess, python: Path, work: Path, expected: int) -> Proc:
    """One first `toggl-to-sqlite fetch` into an empty database, as its README says to run it.

    `--since` (89 days ago, the window togglsync's cold sync reads) with `--days 90` makes it read the
    whole seeded account in one /me/time_entries request (left alone, it starts at the workspace's `at`
    and reads 25 days per request); its other requests are its own: workspaces and projects.
    """
    work.mkdir(parents=True, exist_ok=True)
    auth = work / "auth.json"
    auth.write_text(json.dumps({"api_token": sim.info["token"]}))
    db = work / "toggl.db"
    since = (datetime.now(UTC) - timedelta(days=89)).date().isoformat()
    env = clean_env()
    argv = [str(python), str(BENCH / "peer_launch.py"), sim.info["url"], "fetch", str(db), "--auth", str(auth),
            "--since", since, "--days", "90"]
    proc = run_process(argv, env, sim)
    proc.db_mb = db_size_mb(db)
    proc.stored = count_rows(db, "time_entries")
    if proc.stored != expected:
        raise RuntimeError(f"toggl-to-sqlite stored {proc.stored} entries, expected {expected}:\n{proc.out}\n{proc.err}")
    return proc


# --- scenarios 1 and 2: cold syncs --------------------------------------------------------------


def cold_figures(results: Results, label: str, name: str, size: int, procs: list[Proc], *, targets: bool = False,
                 server: bool = True) -> None:
    """Wall, throughput, peak RSS, requests, database size of cold syncs (targets of issue 13 when `targets`)."""
    walls = [p.wall for p in procs]
    results.add(label, f"{name}: wall", walls, "s")
    results.add(label, f"{name}: throughput", [size / w for w in walls], "entries/s", fmt="{:,.0f}",
                target=">= 25,000 entries/s" if targets else "", ok=(lambda v: v >= 25_000) if targets else None)
    results.add(label, f"{name}: peak RSS", [p.rss_mb for p in procs], "MB", fmt="{:.1f}")
    results.add(label, f"{name}: requests", [len(p.requests) for p in procs], "requests", fmt="{:.0f}",
                target="3" if targets else "", ok=(lambda v: v == 3) if targets else None)
    results.add(label, f"{name}: database size", [p.db_mb for p in procs], "MB", fmt="{:.1f}",
                target="<= 90 MB" if targets else "", ok=(lambda v: v <= 90) if targets else None)
    if server:
        results.add(label, "  of which simulator time (not togglsync)", [p.server_seconds() for p in procs], "s")
        results.add(label, "  togglsync-side throughput (wall − simulator)",
                    [size / max(p.wall - p.server_seconds(), 1e-9) for p in procs], "entries/s", fmt="{:,.0f}")


def comparison(results: Results, sim: SimProcess, size: int, runs: int, work: Path, latencies: list[float],
               peer: Path | None) -> tuple[list[Proc], Path]:
    """Scenario 1 (+1p): cold syncs of `size` entries, togglsync (default pacing) and the peer alternately, at each
    latency; a pacing-off row at 0 ms. Returns togglsync's 0 ms runs (for the growth figures) and one synced home."""
    targets = size >= COMPARISON_SIZE
    at_zero: list[Proc] = []
    kept: Path | None = None
    for latency in latencies:
        sim.set_latency(latency)
        ms = f"{latency * 1000:.0f} ms"
        ours, theirs = [], []
        for run in range(runs):
            home = work / f"cold-{size}-{ms.replace(' ', '')}-{run}"
            ours.append(cold_sync(sim, home, size))
            if latency == 0 and run == runs - 1:
                kept = home
            else:
                shutil.rmtree(home, ignore_errors=True)
            if peer is not None:
                theirs.append(peer_cold_sync(sim, peer, work / f"peer-{size}-{ms.replace(' ', '')}-{run}", size))
        if latency == 0:
            at_zero = ours
        results.detail(f"[1] {size:,} entries, {ms} per request, requests of a togglsync cold sync: {ours[0].describe_requests()}")
        cold_figures(results, "1", f"cold sync {size:,} entries, {ms}: togglsync", size, ours, targets=targets and latency == 0,
                     server=latency == 0)
        if peer is None:
            continue
        results.detail(f"[1p] {size:,} entries, {ms}, requests of a toggl-to-sqlite first fetch: {theirs[0].describe_requests()}")
        cold_figures(results, "1p", f"cold sync {size:,} entries, {ms}: toggl-to-sqlite", size, theirs, server=False)
        pairs = list(zip(ours, theirs, strict=True))
        results.add("1p", f"  {size:,} entries, {ms}: entries stored, togglsync − toggl-to-sqlite", [a.stored - b.stored for a, b in pairs],
                    "entries", fmt="{:.0f}", target="0 (same data)", ok=lambda v: v == 0)
        results.add("1p", f"  {size:,} entries, {ms}: throughput, togglsync ÷ toggl-to-sqlite", [b.wall / a.wall for a, b in pairs], "×",
                    fmt="{:.2f}", target=">= 1.5×" if targets else "", ok=(lambda v: v >= 1.5) if targets else None)
        results.add("1p", f"  {size:,} entries, {ms}: peak RSS, togglsync ÷ toggl-to-sqlite", [a.rss_mb / b.rss_mb for a, b in pairs], "×",
                    fmt="{:.2f}", target="<= 0.75×" if targets else "", ok=(lambda v: v <= 0.75) if targets else None)
        results.add("1p", f"  {size:,} entries, {ms}: database size, togglsync ÷ toggl-to-sqlite", [a.db_mb / b.db_mb for a, b in pairs], "×",
                    fmt="{:.2f}")
    sim.set_latency(0)
    # What the bench measured before issue 13: the same cold sync without togglsync's pacing (labelled; not a target).
    off = []
    for run in range(runs):
        home = work / f"cold-{size}-nopacing-{run}"
        off.append(cold_sync(sim, home, size, pacing_off=True))
        shutil.rmtree(home, ignore_errors=True)
    results.add("1", f"cold sync {size:,} entries, 0 ms, pacing off (TOGGLSYNC_PACING=0): wall", [p.wall for p in off], "s")
    results.add("1", f"cold sync {size:,} entries, 0 ms, pacing off (TOGGLSYNC_PACING=0): throughput",
                [size / p.wall for p in off], "entries/s", fmt="{:,.0f}")
    assert kept is not None
    return at_zero, kept


def plain_cold_syncs(results: Results, sim: SimProcess, size: int, runs: int, work: Path) -> list[Proc]:
    """Scenario 2 at a size other than the comparison size: togglsync cold syncs at 0 ms, default pacing."""
    procs = []
    for run in range(runs):
        home = work / f"cold-{size}-{run}"
        procs.append(cold_sync(sim, home, size))
        shutil.rmtree(home, ignore_errors=True)
    results.detail(f"[2] {size:,} entries, requests of a cold sync: {procs[0].describe_requests()}")
    cold_figures(results, "2", f"cold sync {size:,} entries, 0 ms: togglsync", size, procs)
    return procs


def growth_figures(results: Results, per_size: dict[int, list[Proc]]) -> None:
    """Scenario 2: log-log slopes of wall time and peak RSS between consecutive sizes (1.0 linear, < 1 better)."""
    medians = {size: (statistics.median(p.wall for p in procs), statistics.median(p.rss_mb for p in procs))
               for size, procs in per_size.items()}
    ordered = sorted(medians)
    for small, big in itertools.pairwise(ordered):
        (t1, m1), (t2, m2) = medians[small], medians[big]
        ratio = math.log(big / small)
        results.add("2", f"growth {small:,}→{big:,}: time slope (log-log)", [math.log(t2 / t1) / ratio], "", fmt="{:.2f}",
                    target="<= 1.0", ok=lambda v: v <= 1.0)
        results.add("2", f"growth {small:,}→{big:,}: peak-RSS slope (log-log)", [math.log(m2 / m1) / ratio], "",
                    fmt="{:.2f}", target="<= 1.0", ok=lambda v: v <= 1.0)
        results.add("2", f"growth {small:,}→{big:,}: marginal memory", [(m2 - m1) * 1024 / (big - small)], "KB/entry",
                    fmt="{:.2f}")
    if len(ordered) > 1:
        small, big = ordered[0], ordered[-1]
        (t1, m1), (t2, m2) = medians[small], medians[big]
        ratio = math.log(big / small)
        results.add("2", f"growth {small:,}→{big:,} overall: time slope (log-log)", [math.log(t2 / t1) / ratio], "",
                    fmt="{:.2f}", target="<= 1.0", ok=lambda v: v <= 1.0)
        results.add("2", f"growth {small:,}→{big:,} overall: peak-RSS slope (log-log)", [math.log(m2 / m1) / ratio], "",
                    fmt="{:.2f}", target="<= 1.0", ok=lambda v: v <= 1.0)
    past = [s for s in ordered if s >= COMPARISON_SIZE]
    if past and past[-1] > COMPARISON_SIZE:
        big = past[-1]
        results.add("2", f"cold sync {big:,} entries: peak RSS", [p.rss_mb for p in per_size[big]], "MB", fmt="{:.1f}",
                    target="<= 200 MB", ok=lambda v: v <= 200)
        if COMPARISON_SIZE in medians:
            m1, m2 = medians[COMPARISON_SIZE][1], medians[big][1]
            results.add("2", f"peak RSS {big:,} ÷ {COMPARISON_SIZE:,} entries (flat past {COMPARISON_SIZE:,})", [m2 / m1], "×",
                        fmt="{:.2f}", target="<= 1.10 (flat)", ok=lambda v: v <= 1.10)


def no_change(results: Results, sim: SimProcess, home: Path, runs: int) -> None:
    """`togglsync sync` as a user types it, right after a sync: nothing changed on either side (loopback, 0 ms)."""
    procs = [cli(sim, home, "sync") for _ in range(max(runs, CLI_RUNS))]
    results.detail(f"[3] requests: {procs[0].describe_requests()}; said: {procs[0].out.strip().splitlines()[:1]}")
    results.add("3", "no-change sync: requests", [len(p.requests) for p in procs], "requests", fmt="{:.0f}",
                target="exactly 1", ok=lambda v: v == 1)
    results.add("3", "no-change sync: process wall", [p.wall for p in procs], "s", target="<= 0.25 s", ok=lambda v: v <= 0.25)
    results.add("3", "no-change sync: peak RSS", [p.rss_mb for p in procs], "MB", fmt="{:.1f}")


def remote_changes(results: Results, sim: SimProcess, home: Path, runs: int, size: int, tag: str) -> None:
    from togglsync.db.open import Mode, open_database

    procs = []
    for run in range(runs):
        description = f"remote-edit {tag} {run}"
        # The same 1,000 entries every run, edited again: a sync reads back two minutes before its
        # cursor (plan.CURSOR_OVERLAP), so other entries each run made run 2 read 2,000 and run 3
        # 3,000 changed entries, not the 1,000 this figure is about.
        sim.cmd(cmd="edit_remote", n=1000, offset=size // 10, description=description)
        proc = cli(sim, home, "sync", "--json")
        db = open_database(home / "togglsync.db", Mode.FAST_READ_ONLY)
        try:
            local = db.conn.execute("SELECT count(*) FROM time_entries WHERE description = ?", (description,)).fetchone()[0]
        finally:
            db.close()
        if local != 1000:
            raise RuntimeError(f"after the sync {local} local entries carry the remote edit, expected 1000")
        procs.append(proc)
    results.detail(f"[4] requests: {procs[0].describe_requests()}; pulled {procs[0].json()['pulled']}")
    results.add("4", "1,000 remote changes: entry requests", [p.count("GET", "/me/time_entries") for p in procs], "requests",
                fmt="{:.0f}", target="1", ok=lambda v: v == 1)
    results.add("4", "1,000 remote changes: all requests", [len(p.requests) for p in procs], "requests", fmt="{:.0f}")
    results.add("4", "1,000 remote changes: process wall", [p.wall for p in procs], "s", target="<= 1 s", ok=lambda v: v <= 1.0)
    results.add("4", "1,000 remote changes: peak RSS", [p.rss_mb for p in procs], "MB", fmt="{:.1f}")


def _store(home: Path) -> Any:
    from togglsync.db.open import open_database
    from togglsync.local import LocalStore

    engine = open_database(home / "togglsync.db")
    return engine, LocalStore(engine)


def offline_creates(results: Results, sim: SimProcess, home: Path, runs: int, tag: str) -> None:
    """1,000 entries created offline, then one sync. The only scenario with pacing off (see the comment below)."""
    procs, adds, dupes = [], [], []
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=40)
    for run in range(runs):
        marker = f"bench-create {tag} {run} #"
        engine, store = _store(home)
        began = time.perf_counter()
        for i in range(1000):
            store.add_entry(f"{marker}{i:04d}", start=base + timedelta(hours=run, seconds=i * 3), duration=2)
        adds.append(time.perf_counter() - began)
        engine.dispose()
        # Pacing off: at the default 1 request/s the 1,000 POSTs take ~17 minutes a run, all of it waiting.
        proc = cli(sim, home, "sync", "--json", pacing_off=True)
        counted = sim.cmd(cmd="count_description", prefix=marker)
        if proc.json()["pending"] != 0:
            raise RuntimeError(f"{proc.json()['pending']} operations still pending after the push")
        dupes.append(counted["count"] - counted["distinct"])
        procs.append((proc, counted))
    first = procs[0][0]
    results.detail(f"[5] requests: {first.describe_requests()}; server holds {procs[0][1]['count']} entries with the marker")
    results.add("5", "1,000 offline creates (pacing off): POST requests", [p.count("POST") for p, _ in procs], "requests", fmt="{:.0f}",
                target="1,000", ok=lambda v: v == 1000)
    results.add("5", "1,000 offline creates (pacing off): all requests", [len(p.requests) for p, _ in procs], "requests", fmt="{:.0f}",
                target="1,001 (+ the pull)", ok=lambda v: v == 1001)
    results.add("5", "1,000 offline creates (pacing off): entries on the server", [c["count"] for _, c in procs], "entries", fmt="{:.0f}",
                target="1,000, no duplicate", ok=lambda v: v == 1000)
    results.add("5", "1,000 offline creates (pacing off): duplicates", dupes, "entries", fmt="{:.0f}", target="0", ok=lambda v: v == 0)
    results.add("5", "1,000 offline creates (pacing off): sync wall", [p.wall for p, _ in procs], "s")
    results.add("5", "1,000 offline creates (pacing off): push throughput", [1000 / p.wall for p, _ in procs], "creates/s", fmt="{:,.0f}")
    results.add("5", "1,000 offline creates (pacing off): peak RSS", [p.rss_mb for p, _ in procs], "MB", fmt="{:.1f}")
    results.add("5", "  (offline) LocalStore.add_entry ×1,000, in-process", adds, "s")


def bulk_edit(results: Results, sim: SimProcess, home: Path, runs: int, size: int, tag: str) -> None:
    procs, edits, counts = [], [], []
    for run in range(runs):
        description = f"bulk-edit {tag} {run}"
        ids = sim.cmd(cmd="entry_ids", n=1000, offset=size // 2 + run * 1000)["ids"]
        engine, store = _store(home)
        began = time.perf_counter()
        for entry_id in ids:
            store.edit_entry(entry_id, description=description)
        edits.append(time.perf_counter() - began)
        engine.dispose()
        proc = cli(sim, home, "sync", "--json")
        counts.append(sim.cmd(cmd="count_description", prefix=description)["count"])
        procs.append(proc)
    results.detail(f"[6] requests: {procs[0].describe_requests()}")
    results.add("6", "same edit on 1,000 entries: PATCH requests", [p.count("PATCH") for p in procs], "requests", fmt="{:.0f}",
                target="<= 10 (bulk PATCH)", ok=lambda v: v <= 10)
    results.add("6", "same edit on 1,000 entries: all requests", [len(p.requests) for p in procs], "requests", fmt="{:.0f}",
                target="(+ 1 pull)")
    results.add("6", "same edit on 1,000 entries: edited on the server", counts, "entries", fmt="{:.0f}",
                target="1,000", ok=lambda v: v == 1000)
    results.add("6", "same edit on 1,000 entries: sync wall", [p.wall for p in procs], "s")
    results.add("6", "same edit on 1,000 entries: peak RSS", [p.rss_mb for p in procs], "MB", fmt="{:.1f}")
    results.add("6", "  (offline) LocalStore.edit_entry ×1,000, in-process", edits, "s")


def tracking_commands(results: Results, sim: SimProcess, home: Path) -> None:
    status = [cli(sim, home, "status") for _ in range(CLI_RUNS)]
    starts, stops = [], []
    for i in range(CLI_RUNS):
        starts.append(cli(sim, home, "start", f"bench timer {i}"))
        stops.append(cli(sim, home, "stop"))
    for name, procs in (("status", status), ("start", starts), ("stop", stops)):
        results.add("7", f"togglsync {name}: process wall", [p.wall for p in procs], "s", target="<= 0.1 s",
                    ok=lambda v: v <= 0.1)
        results.add("7", f"togglsync {name}: requests", [len(p.requests) for p in procs], "requests", fmt="{:.0f}",
                    target="0", ok=lambda v: v == 0)
        results.add("7", f"togglsync {name}: peak RSS", [p.rss_mb for p in procs], "MB", fmt="{:.1f}")
        results.add("7", f"  togglsync {name}: CPU (user + system; a busy machine inflates the wall, not this)",
                    [p.cpu for p in procs], "s")


def reading_commands(results: Results, sim: SimProcess, home: Path, size: int) -> None:
    reports = [cli(sim, home, "report", "--week") for _ in range(CLI_RUNS)]
    sqls = [cli(sim, home, "sql", "SELECT count(*) FROM entries", "--json") for _ in range(CLI_RUNS)]
    as_json = [cli(sim, home, "report", "--week", "--json") for _ in range(CLI_RUNS)]
    count = json.loads(sqls[0].out)[0]["count(*)"]
    week = json.loads(as_json[0].out)
    in_week = sum(row.get("entries", 0) for row in week["rows"])
    results.detail(f"[8] `sql` counted {count:,} entries; `report --week` covers {in_week:,} entries in {len(week['rows'])} "
                   f"project rows (the seed spreads entries evenly over all projects, so a week touches nearly all of them)")
    for name, procs in (("report --week", reports), ('sql "SELECT count(*) FROM entries"', sqls)):
        results.add("8", f"togglsync {name}: process wall", [p.wall for p in procs], "s", target="<= 0.5 s",
                    ok=lambda v: v <= 0.5)
        results.add("8", f"togglsync {name}: requests", [len(p.requests) for p in procs], "requests", fmt="{:.0f}",
                    target="0", ok=lambda v: v == 0)
        results.add("8", f"togglsync {name}: peak RSS", [p.rss_mb for p in procs], "MB", fmt="{:.1f}")
    results.add("8", "  togglsync report --week --json: process wall (no table rendering)", [p.wall for p in as_json], "s")


def history(results: Results, sizes: list[int], runs: int, work: Path) -> None:
    """Scenario 10: `togglsync history` after a cold sync, the user's entries spread over five years
    (two colleagues' beside them): requests against ceil(old entries / 50) + 5%, wall, peak RSS
    (flat in the number of pages: one page in memory at a time)."""
    rss: dict[int, float] = {}
    for size in sizes:
        sim = SimProcess(size, years=5)
        try:
            walls, memories, counts, stored = [], [], [], 0
            for run in range(runs):
                home = work / f"history-{size}-{run}"
                cli(sim, home, "sync")
                proc = cli(sim, home, "history", "--json")
                done = proc.json()
                if not done["complete"]:
                    raise RuntimeError(f"history did not complete: {done}")
                walls.append(proc.wall)
                memories.append(proc.rss_mb)
                counts.append(len(proc.requests))
                stored = done["stored"]
        finally:
            sim.close()
        allowed = math.ceil(stored / 50) * 1.05
        results.add("10", f"history of {stored:,} old entries (5 years): requests", counts, "requests", fmt="{:.0f}",
                    target=f"<= {allowed:.0f} (ceil(n/50) + 5%)", ok=lambda v, a=allowed: v <= a)
        results.add("10", f"history of {stored:,} old entries: process wall", walls, "s")
        results.add("10", f"history of {stored:,} old entries: peak RSS", memories, "MB", fmt="{:.1f}")
        rss[size] = statistics.median(memories)
    if len(rss) > 1:
        low, high = min(rss), max(rss)
        results.detail(f"[10] peak RSS {rss[low]:.1f} MB at {low:,} entries, {rss[high]:.1f} MB at {high:,}: "
                       "one page (50 grouped rows) in memory at a time")


# --- scenario 11: a team in one database ---------------------------------------------------------


def postgres_server() -> tuple[Any, str]:
    """A throwaway PostgreSQL server (tests/pg.py, the test suite's: initdb in a temporary folder, a free
    loopback port), or (None, why not) when its programs are missing or it would not start."""
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        import pg
    finally:
        sys.path.remove(str(ROOT / "tests"))
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return None, "psycopg is not installed (pip install -e '.[postgres]')"
    try:
        return pg.start(), ""
    except pg.Unavailable as exc:
        return None, str(exc)


def explained(server: Any, url: str, argv: list[str], env: dict[str, str], marker: str) -> list[str]:
    """The plans PostgreSQL chose for the statements of `togglsync ARGV` whose text holds `marker`, with
    their times (auto_explain for that database, the plans read back from the server's log)."""
    import psycopg

    database = url.rsplit("/", 1)[1]
    settings = {"session_preload_libraries": "auto_explain", "auto_explain.log_min_duration": "0",
                "auto_explain.log_analyze": "on", "auto_explain.log_buffers": "on"}
    with psycopg.connect(host="127.0.0.1", port=server.port, user="togglsync", dbname="postgres", autocommit=True) as conn:
        for name, value in settings.items():
            conn.execute(f'ALTER DATABASE "{database}" SET {name} = \'{value}\'')
    log = server.folder / "log"
    offset = log.stat().st_size
    try:
        run_process([togglsync_exe(), *argv], env)
    finally:
        with psycopg.connect(host="127.0.0.1", port=server.port, user="togglsync", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{database}" RESET ALL')
    with log.open(errors="replace") as f:
        f.seek(offset)
        text = f.read()
    plans = []
    for chunk in text.split("LOG:  duration: ")[1:]:
        body = chunk.split("\n", 1)
        if marker in chunk and len(body) == 2:
            lines = [line for line in body[1].splitlines() if line.startswith(("\t", " ")) and "Query Text" not in line]
            plans.append(f"{body[0].strip().removesuffix('plan:').strip()}\n" + "\n".join(lines))
    return plans


def team_home(sim: SimProcess, home: Path, database: str | None) -> dict[str, str]:
    """A home whose config holds every member of the simulator's team as an account: the first as `main`
    (the top-level token), the others added with `togglsync accounts add mNN` (token on standard input,
    one GET /me each: set-up, not measured). `database`: TOGGLSYNC_DB (a PostgreSQL URL), else the file."""
    env = sim.env(home)
    if database:
        env["TOGGLSYNC_DB"] = database
    for n, member in enumerate(sim.info["team"][1:], start=2):
        done = subprocess.run([togglsync_exe(), "accounts", "add", f"m{n:02d}"], input=member["token"] + "\n",
                              env=env, capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            raise RuntimeError(f"accounts add m{n:02d} exited with {done.returncode}: {done.stderr.strip()}")
    return env


def team_counts(env: dict[str, str]) -> tuple[int, float]:
    """(time entries stored, database size in MB) of a team home, read with `togglsync sql` (either backend)."""
    done = subprocess.run([togglsync_exe(), "sql", "SELECT count(*) AS n FROM time_entries WHERE id > 0", "--json"],
                          env=env, capture_output=True, text=True, cwd=ROOT, check=True)
    stored = json.loads(done.stdout)[0]["n"]
    if env.get("TOGGLSYNC_DB"):
        size = subprocess.run([togglsync_exe(), "sql", "SELECT pg_database_size(current_database()) AS b", "--json"],
                              env=env, capture_output=True, text=True, cwd=ROOT, check=True)
        return stored, json.loads(size.stdout)[0]["b"] / 1e6
    return stored, db_size_mb(Path(env["TOGGLSYNC_HOME"]) / "togglsync.db")


def team(results: Results, accounts: int, per_account: int, runs: int, work: Path) -> None:
    """Scenario 11: `accounts` members of one workspace, each a Toggl account of `per_account` entries
    synced into one database (`togglsync sync` syncs every account in turn), on PostgreSQL and on SQLite:
    the cold sync of all accounts, the no-change sync of all of them (one request per account: checked),
    peak RSS, and `report --by user` over every entry (this month, and the whole seeded range)."""
    sim = SimProcess(per_account, users=accounts)
    total = per_account * accounts
    server, why = postgres_server()
    try:
        results.detail(f"[11] simulator with {accounts} members x {per_account:,} entries ({sim.info['entries']:,} in all) "
                       f"in one workspace: seeded in {sim.info['seed_seconds']} s")
        backends: list[tuple[str, str | None]] = []
        if server is None:
            print(f"  [11] PostgreSQL half skipped: {why}", flush=True)
            results.detail(f"[11] PostgreSQL half skipped: {why}")
        else:
            results.detail(f"[11] PostgreSQL {server.version}: a throwaway cluster on 127.0.0.1 (tests/pg.py: fsync off)")
            backends.append(("PostgreSQL", None))
        backends.append(("SQLite", None))
        first_day = (datetime.now(UTC) - timedelta(days=86)).date().isoformat()
        for label, _ in backends:
            colds: list[Proc] = []
            env: dict[str, str] = {}
            for run in range(runs):
                home = work / f"team-{label}-{run}"
                url = server.create_database(migrated=False) if label == "PostgreSQL" else None
                env = team_home(sim, home, url)
                cold = run_process([togglsync_exe(), "sync", "--json"], env, sim)
                answer = cold.json()["accounts"]
                short = {name: a.get("pulled", {}).get("time_entries", 0) for name, a in answer.items()
                         if a.get("pulled", {}).get("time_entries", 0) != per_account}
                if len(answer) != accounts or short:
                    raise RuntimeError(f"team cold sync on {label}: {len(answer)} accounts, these pulled other than "
                                       f"{per_account:,} entries: {short}")
                cold.stored, cold.db_mb = team_counts(env)
                if cold.stored != total:
                    raise RuntimeError(f"team cold sync on {label} stored {cold.stored:,} entries, expected {total:,}")
                colds.append(cold)
                if run < runs - 1:
                    shutil.rmtree(home, ignore_errors=True)
                    if url:
                        server.drop_database(url)
            name = f"team {accounts} x {per_account:,}, {label}"
            results.detail(f"[11] {label}: requests of the cold sync of every account: {colds[0].describe_requests()}")
            results.add("11", f"{name}: cold sync of every account: wall", [p.wall for p in colds], "s")
            results.add("11", f"{name}: cold sync: throughput", [total / p.wall for p in colds], "entries/s", fmt="{:,.0f}")
            results.add("11", f"{name}: cold sync: peak RSS", [p.rss_mb for p in colds], "MB", fmt="{:.1f}")
            results.add("11", f"{name}: cold sync: CPU of togglsync (user + system)", [p.cpu for p in colds], "s")
            results.add("11", f"{name}: cold sync: requests", [len(p.requests) for p in colds], "requests", fmt="{:.0f}")
            results.add("11", f"{name}: database size", [p.db_mb for p in colds], "MB", fmt="{:.1f}")
            quiet = [run_process([togglsync_exe(), "sync"], env, sim) for _ in range(max(runs, CLI_RUNS))]
            for proc in quiet:
                if len(proc.requests) != accounts or proc.count("GET", "/me/time_entries") != accounts:
                    raise RuntimeError(f"no-change sync of {accounts} accounts on {label} sent {len(proc.requests)} "
                                       f"requests ({proc.describe_requests()}), expected exactly one per account")
            print(f"  [11] {label}: no-change sync of {accounts} accounts: {len(quiet[0].requests)} requests "
                  f"({quiet[0].describe_requests()}): one per account, as asserted", flush=True)
            results.add("11", f"{name}: no-change sync of every account: requests", [len(p.requests) for p in quiet],
                        "requests", fmt="{:.0f}", target=f"exactly {accounts} (one per account)",
                        ok=lambda v, n=accounts: v == n)
            results.add("11", f"{name}: no-change sync: wall", [p.wall for p in quiet], "s")
            results.add("11", f"{name}: no-change sync: per account", [p.wall / accounts for p in quiet], "s")
            results.add("11", f"{name}: no-change sync: peak RSS", [p.rss_mb for p in quiet], "MB", fmt="{:.1f}")
            results.add("11", f"{name}: no-change sync: CPU (user + system)", [p.cpu for p in quiet], "s")
            month = [run_process([togglsync_exe(), "report", "--by", "user", "--month", "--json"], env, sim)
                     for _ in range(CLI_RUNS)]
            whole = [run_process([togglsync_exe(), "report", "--by", "user", "--from", first_day, "--to", "today",
                                  "--json"], env, sim) for _ in range(CLI_RUNS)]
            in_month = sum(row.get("entries", 0) for row in month[0].json()["rows"])
            rows = whole[0].json()["rows"]
            counted = sum(row.get("entries", 0) for row in rows)
            if len(rows) != accounts or counted != total:
                raise RuntimeError(f"report --by user over everything on {label}: {len(rows)} rows, {counted:,} entries; "
                                   f"expected {accounts} rows, {total:,} entries")
            results.detail(f"[11] {label}: `report --by user --month` counts {in_month:,} entries (this month so far); "
                           f"`report --by user --from {first_day} --to today` all {counted:,} in {len(rows)} rows")
            if label == "PostgreSQL":
                for argv in (["report", "--by", "user", "--month"], ["report", "--by", "user", "--from", first_day, "--to", "today"]):
                    for plan in explained(server, env["TOGGLSYNC_DB"], argv, env, "GROUP BY e.user_id"):
                        print(f"  [11] PostgreSQL plan of `togglsync {' '.join(argv)}`: {plan}", flush=True)
                        nodes = [line.strip().split("  (")[0].lstrip("-> ").strip() for line in plan.splitlines()[1:]
                                 if "(cost=" in line or "(actual" in line]
                        results.detail(f"[11] PostgreSQL plan of `togglsync {' '.join(argv)}` ({plan.splitlines()[0]}): "
                                       + " → ".join(nodes))
            target = label == "PostgreSQL"
            results.add("11", f"{name}: report --by user --month: wall", [p.wall for p in month], "s",
                        target="<= 1 s" if target else "", ok=(lambda v: v <= 1.0) if target else None)
            results.add("11", f"{name}: report --by user, all {total:,} entries: wall", [p.wall for p in whole], "s",
                        target="<= 1 s" if target else "", ok=(lambda v: v <= 1.0) if target else None)
            results.add("11", f"{name}: report --by user --month: CPU (user + system)", [p.cpu for p in month], "s")
            results.add("11", f"{name}: report --by user, all entries: CPU (user + system)", [p.cpu for p in whole], "s")
            results.add("11", f"{name}: report --by user, all entries: peak RSS", [p.rss_mb for p in whole], "MB",
                        fmt="{:.1f}")
    finally:
        sim.close()
        if server is not None:
            server.stop()


def _has_account(db: Path) -> bool:
    """Has the cold sync stored the account (what `start` needs) yet? Read-only, never creates the file."""
    import sqlite3

    if not db.exists():
        return False
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.05)
        try:
            return conn.execute("SELECT count(*) FROM account").fetchone()[0] > 0
        finally:
            conn.close()
    except sqlite3.Error:
        return False


def offline_starts(results: Results, sim: SimProcess, size: int, work: Path, expected_wall: float) -> None:
    """Scenario 9: `start` (then `stop`) STARTS times while a cold sync of `size` entries runs, each a whole process.

    The starts begin once the sync has stored the account (before that `start` has no workspace and says
    "run sync first") and are spread over the rest of the sync, `expected_wall` being the median cold sync
    wall measured just before; a start that is slow delays the next. A start counts as "during the sync"
    when the sync was still running when that start exited.
    """
    home = work / f"starts-{size}"
    env = sim.env(home)
    db = home / "togglsync.db"
    mark = sim.mark()
    errors = tempfile.TemporaryFile("w+")
    began = time.perf_counter()
    sync = subprocess.Popen([togglsync_exe(), "sync", "--json"], env=env, stdout=subprocess.DEVNULL,
                            stderr=errors, stdin=subprocess.DEVNULL, cwd=ROOT)
    finished: list[tuple[float, int, float]] = []  # (wall, exit code, peak RSS MB) once reaped

    def sync_running() -> bool:
        if finished:
            return False
        pid, status, usage = os.wait4(sync.pid, os.WNOHANG)
        if pid == 0:
            return True
        finished.append((time.perf_counter() - began, os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024))
        sync.returncode = finished[0][1]
        return False

    while not _has_account(db):
        if not sync_running():
            errors.seek(0)
            raise RuntimeError(f"the cold sync ended before it stored the account: {errors.read()}")
        time.sleep(0.01)
    ready = time.perf_counter() - began
    gap = max(0.05, (expected_wall - ready) * 0.9 / STARTS)
    starts: list[Proc] = []
    stops: list[Proc] = []
    during = 0
    for i in range(STARTS):
        due = ready + i * gap
        pause = due - (time.perf_counter() - began)
        if pause > 0:
            time.sleep(pause)
        start = run_process([togglsync_exe(), "start", f"bench start during sync {i}"], env, check=False)
        if sync_running() and time.perf_counter() - began <= expected_wall:
            during += 1
        starts.append(start)
        stops.append(run_process([togglsync_exe(), "stop"], env, check=False))
    while sync_running():
        time.sleep(0.05)
    wall, code, rss = finished[0]
    requests = sim.requests_since(mark)
    errors.seek(0)
    err = errors.read()
    errors.close()
    if code != 0:
        raise RuntimeError(f"the cold sync with starts during it exited with {code}: {err}")
    failed = [p for p in starts if p.code != 0]
    results.detail(f"[9] {size:,} entries: the sync stored the account after {ready:.2f} s, then {STARTS} starts "
                   f"{gap:.2f} s apart; sync wall {wall:.1f} s, {len(requests)} requests, peak RSS {rss:.0f} MB")
    for p in failed:
        results.detail(f"[9] a start failed with exit {p.code}: {(p.err or p.out).strip().splitlines()[-1:]}")
    results.add("9", f"offline start during a {size:,}-entry cold sync: median wall", [p.wall for p in starts], "s",
                target="<= 0.2 s", ok=lambda v: v <= 0.2)
    results.add("9", f"offline start during a {size:,}-entry cold sync: slowest", [max(p.wall for p in starts)], "s",
                target="<= 0.2 s, every time", ok=lambda v: v <= 0.2)
    results.add("9", "  each start's CPU (user + system): wall minus this is waiting, for the lock or for a core",
                [p.cpu for p in starts], "s")
    results.add("9", "  starts that failed", [len(failed)], "starts", fmt="{:.0f}", target="0", ok=lambda v: v == 0)
    results.add("9", f"  starts that ended within the cold sync's usual wall ({expected_wall:.1f} s)", [during], "starts",
                fmt="{:.0f}", target=f"{STARTS} (else fewer were measured under the sync)")
    results.add("9", "  stop after each start: median wall", [p.wall for p in stops], "s")
    results.add("9", "  stop after each start: slowest", [max(p.wall for p in stops)], "s")
    results.add("9", "  that cold sync: wall (it also pushes the timers the starts made)", [wall], "s")


def baseline(results: Results, home: Path) -> None:
    """What any process pays before togglsync does anything: context for the wall-time targets."""
    env = clean_env()
    env["TOGGLSYNC_HOME"] = str(home)
    bare = [run_process([togglsync_python(), "-c", "pass"], env) for _ in range(CLI_RUNS)]
    version = [run_process([togglsync_exe(), "--version"], env) for _ in range(CLI_RUNS)]
    results.add("0", "python -c pass: process wall (interpreter floor)", [p.wall for p in bare], "s")
    results.add("0", "togglsync --version: process wall (CLI floor)", [p.wall for p in version], "s")


# --- main ------------------------------------------------------------------------------------


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(part.replace("_", "").replace(",", "")) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes are whole numbers separated by commas, not {text!r}") from None
    if not sizes or sizes[0] < 100:
        raise argparse.ArgumentTypeError("give at least one size of 100 entries or more")
    return sizes


def parse_scenarios(text: str) -> set[int]:
    try:
        chosen = {int(part) for part in text.split(",") if part.strip()}
    except ValueError:
        raise argparse.ArgumentTypeError(f"scenarios are numbers from 0 to 11 separated by commas, not {text!r}") from None
    if not chosen or not chosen <= set(range(12)):
        raise argparse.ArgumentTypeError(f"scenarios are numbers from 0 to 11, not {text!r}")
    return chosen


def load() -> str:
    """The load average, as `uptime` shows it."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f} (1, 5, 15 min)"


def other_load(watch: CpuWatch, busy_before: float | None = None) -> tuple[str, bool]:
    """What processes outside the benchmark used while it ran, and whether that made the machine busy
    (the figures inflated)."""
    seconds, share = watch.others()
    before = f"; {busy_before:.0%} in the second before it" if busy_before is not None else ""
    busy = share > 0.15
    note = " — figures are inflated by a busy machine, rerun when it is quiet" if busy else ""
    return f"other processes used {seconds:.0f} CPU-seconds during the run ({share:.0%} of one core on average{before}){note}", busy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes and 1 run: a smoke test, not the official figures")
    parser.add_argument("--runs", type=int, default=None, help="runs per figure (default 3, --quick 1); the median is reported")
    parser.add_argument("--sizes", type=parse_sizes, default=None, metavar="N,N,...",
                        help="cold-sync sizes (default 10000,100000,300000; --quick 1000,5000,20000). The comparison "
                             "with the peer and scenarios 3-8 use the largest size up to 100,000; scenario 9 the largest")
    parser.add_argument("--latency", type=float, default=0.15, metavar="SECONDS",
                        help="added to every simulator answer in the second set of cold syncs (default 0.15, a round "
                             "trip over the internet; 0 measures at loopback only)")
    parser.add_argument("--no-peer", action="store_true", help="skip toggl-to-sqlite (the side-by-side rows)")
    parser.add_argument("--peer-venv", type=Path, default=PEER_VENV,
                        help=f"the peer's virtualenv, made on first use (default {PEER_VENV.relative_to(ROOT)})")
    parser.add_argument("--out", type=Path, default=None,
                        help="where to write the report (default bench/RESULTS.md; with --team: nowhere unless given)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary homes (databases) for inspection")
    parser.add_argument("--history-sizes", type=lambda t: [] if t.strip() == "0" else parse_sizes(t), default=None, metavar="N,N,...",
                        help="entries of scenario 10, history over five years (default 10000,50000; --quick "
                             "5000,20000; 0 skips it: with the default pacing, 50,000 entries take over 1,000 s)")
    parser.add_argument("--team", action="store_true",
                        help="run only scenario 11, a team in one database (on PostgreSQL when its programs are "
                             "found, and on SQLite)")
    parser.add_argument("--team-accounts", type=int, default=20, metavar="N",
                        help="scenario 11: accounts, members of one workspace (default 20; 0 skips the scenario)")
    parser.add_argument("--team-entries", type=int, default=20_000, metavar="N",
                        help="scenario 11: entries per account (default 20000)")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                        help="first wait up to SECONDS for other processes to use < 20%% of a core (shared machines)")
    parser.add_argument("--only", type=parse_scenarios, default=None, metavar="N,N,...",
                        help="run only these scenarios (0-11, e.g. 7,8 or 9); a home that scenarios 3-8 need is made "
                             "by an unmeasured cold sync. Writes no file unless --out says where")
    parser.add_argument("--togglsync", default=None, metavar="EXE",
                        help=f"measure this togglsync program (e.g. .venv/bin/togglsync, an editable install) instead "
                             f"of the bench's own install of the working tree ({INSTALL_VENV.relative_to(ROOT)}, "
                             f"not editable, rebuilt when the source changes)")
    args = parser.parse_args()
    # Killed (SIGTERM): leave through the `finally` blocks, which stop the simulator and the PostgreSQL server.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    if args.team:
        team_only(args)
        return
    if args.only is None:
        args.out = args.out or BENCH / "RESULTS.md"
    if args.latency < 0 or args.latency > 10:
        parser.error("--latency is a number of seconds from 0 to 10")
    runs = args.runs or (1 if args.quick else 3)
    sizes = args.sizes or ([1_000, 5_000, 20_000] if args.quick else [10_000, 100_000, 300_000])
    main_size = max([s for s in sizes if s <= COMPARISON_SIZE] or sizes[:1])
    largest = sizes[-1]
    latencies = [0.0] + ([args.latency] if args.latency > 0 else [])
    if main_size < 2000 * runs:
        parser.error(f"with {runs} run(s) the comparison size (the largest --sizes size up to {COMPARISON_SIZE:,}) must be "
                     f"at least {2000 * runs:,}: scenarios 4 and 6 edit 1,000 different entries a run in its second half")
    tag = uuid.uuid4().hex[:8]  # markers unique to this run
    only: set[int] = args.only or set(range(12))

    def want(*scenarios: int) -> bool:
        return any(n in only for n in scenarios)

    install = use_togglsync(args.togglsync)
    peer: Path | None = None
    peer_note = "not measured (--no-peer)" if want(1) else "not measured (--only)"
    if not args.no_peer and want(1):
        peer, found = peer_python(args.peer_venv)
        if peer is None:
            print(f"WARNING: {found}; the side-by-side rows are left out (--no-peer skips this step)", flush=True)
            peer_note = f"not measured: {found}"
        else:
            peer_note = f"toggl-to-sqlite {found} from PyPI, in {args.peer_venv} ({peer_python_version(peer)})"
    info = machine()
    info["togglsync install"] = install
    info["load before"] = load()
    info["peer"] = peer_note
    if args.only is not None:
        info["scenarios"] = ", ".join(str(n) for n in sorted(only)) + " only (--only)"
    print("togglsync benchmark" + (" (QUICK: reduced sizes, 1 run — not the official figures)" if args.quick else ""))
    for key, value in info.items():
        print(f"  {key}: {value}")
    print(f"  runs per figure: {runs} (CLI commands: {CLI_RUNS}); sizes: {', '.join(f'{s:,}' for s in sizes)}; "
          f"comparison size {main_size:,}; latencies: {', '.join(f'{x * 1000:.0f} ms' for x in latencies)}\n", flush=True)

    results = Results()
    work = Path(tempfile.mkdtemp(prefix="togglsync-bench-"))
    warm_bytecode()
    deadline = time.monotonic() + args.wait_quiet
    while True:
        probe = CpuWatch()
        time.sleep(1.0)
        _, busy_before = probe.others()
        if busy_before <= 0.2 or time.monotonic() >= deadline:
            break
        print(f"waiting for a quiet machine: other processes use {busy_before:.0%} of a core", flush=True)
        time.sleep(4.0)
    if busy_before > 0.2:
        print(f"WARNING: other processes are using {busy_before:.0%} of a core right now: wall times will be inflated\n", flush=True)
    watch = CpuWatch()
    began = time.perf_counter()
    sim = None
    per_size: dict[int, list[Proc]] = {}
    try:
        if want(0):
            baseline(results, work / "baseline")
        for size in sizes:
            here = (want(1, 3, 4, 5, 6, 7, 8) and size == main_size) or (want(2) and size != main_size) \
                or (want(9) and size == largest)
            if not here:
                continue
            sim = SimProcess(size)
            results.detail(f"[{'1+2' if size == main_size else '2'}] simulator with {size:,} entries, {sim.info['projects']} "
                           f"projects, {sim.info['clients']} clients, {sim.info['tags']} tags: seeded in {sim.info['seed_seconds']} s")
            if size == main_size and want(1, 3, 4, 5, 6, 7, 8):
                if want(1):
                    print(f"[1] cold syncs of {size:,} entries" + (" side by side with toggl-to-sqlite" if peer else ""), flush=True)
                    per_size[size], home = comparison(results, sim, size, runs, work, latencies, peer)
                else:
                    print(f"making a synced {size:,}-entry home for scenarios {', '.join(str(n) for n in sorted(only))} "
                          "(one cold sync, not measured)", flush=True)
                    home = work / f"home-{size}"
                    cold_sync(sim, home, size, pacing_off=True)
                if want(3):
                    print(f"[3] no-change sync against the synced {size:,}-entry home", flush=True)
                    no_change(results, sim, home, runs)
                if want(4):
                    print("[4] 1,000 remote changes", flush=True)
                    remote_changes(results, sim, home, runs, size, tag)
                if want(5):
                    print("[5] 1,000 offline creates", flush=True)
                    offline_creates(results, sim, home, runs, tag)
                if want(6):
                    print("[6] one edit on 1,000 entries", flush=True)
                    bulk_edit(results, sim, home, runs, size, tag)
                if want(7):
                    print(f"[7] status / start / stop (median of {CLI_RUNS})", flush=True)
                    tracking_commands(results, sim, home)
                if want(8):
                    print(f"[8] report / sql over {size:,} entries (median of {CLI_RUNS})", flush=True)
                    reading_commands(results, sim, home, size)
                shutil.rmtree(home, ignore_errors=True)
            elif size != main_size and want(2):
                print(f"[2] cold syncs of {size:,} entries", flush=True)
                per_size[size] = plain_cold_syncs(results, sim, size, runs, work)
            if size == largest and want(9):
                if size not in per_size:  # the starts are spread over the usual wall of this cold sync
                    print(f"timing one cold sync of {size:,} entries for scenario 9 (not a figure)", flush=True)
                    per_size[size] = [cold_sync(sim, work / f"cold-{size}-for-9", size)]
                    shutil.rmtree(work / f"cold-{size}-for-9", ignore_errors=True)
                print(f"[9] {STARTS} offline starts during a cold sync of {size:,} entries", flush=True)
                offline_starts(results, sim, size, work, statistics.median(p.wall for p in per_size[size]))
            sim.close()
            sim = None
        if want(2):
            growth_figures(results, per_size)
        history_sizes = args.history_sizes
        if history_sizes is None:
            history_sizes = [5_000, 20_000] if args.quick else [10_000, 50_000]
        if not want(10):
            results.detail("[10] history over five years: skipped (--only)")
        elif history_sizes:
            print("[10] history over five years", flush=True)
            history(results, history_sizes, runs, work)
        else:
            results.detail("[10] history over five years: skipped (--history-sizes 0)")
        if not want(11):
            results.detail("[11] a team in one database: skipped (--only)")
        elif args.team_accounts > 0:
            print(f"[11] a team: {args.team_accounts} accounts x {args.team_entries:,} entries in one database", flush=True)
            team(results, args.team_accounts, args.team_entries, runs, work)
        else:
            results.detail("[11] a team in one database: skipped (--team-accounts 0)")
    finally:
        if sim is not None:
            sim.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")
    elapsed = time.perf_counter() - began
    info["load after"] = load()
    info["other load"], busy = other_load(watch, busy_before)
    print(f"\n{info['other load']}; load average {info['load after']}")
    print("\n" + results.text_table())
    missed = [f for f in results.figures if f.verdict == "MISS"]
    print(f"\n{len([f for f in results.figures if f.verdict])} targets checked, {len(missed)} missed; took {elapsed:.0f} s")
    if args.out is None:
        print("\n" + results.table())
        return
    write_report(args.out, info, results, runs=runs, sizes=sizes, main_size=main_size, latencies=latencies,
                 quick=args.quick, elapsed=elapsed, busy=busy)
    print(f"wrote {args.out}")


def team_only(args: argparse.Namespace) -> None:
    """`--team`: scenario 11 alone (one cold sync per backend unless --runs), its table printed; the
    report written only where --out says."""
    if args.team_accounts < 1 or args.team_entries < 1:
        sys.exit("--team needs --team-accounts and --team-entries of at least 1")
    runs = args.runs or 1
    install = use_togglsync(args.togglsync)
    info = machine()
    info["togglsync install"] = install
    info["load before"] = load()
    info["peer"] = "not measured (--team)"
    print(f"togglsync benchmark, scenario 11 only: {args.team_accounts} accounts x {args.team_entries:,} entries")
    for key, value in info.items():
        print(f"  {key}: {value}")
    results = Results()
    work = Path(tempfile.mkdtemp(prefix="togglsync-bench-"))
    warm_bytecode()
    watch = CpuWatch()
    began = time.perf_counter()
    try:
        print(f"[11] a team: {args.team_accounts} accounts x {args.team_entries:,} entries in one database", flush=True)
        team(results, args.team_accounts, args.team_entries, runs, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")
    elapsed = time.perf_counter() - began
    info["load after"] = load()
    info["other load"], busy = other_load(watch)
    print(f"\n{info['other load']}; load average {info['load after']}")
    print("\n" + results.text_table())
    missed = [f for f in results.figures if f.verdict == "MISS"]
    print(f"\n{len([f for f in results.figures if f.verdict])} targets checked, {len(missed)} missed; took {elapsed:.0f} s")
    if args.out:
        write_report(args.out, info, results, runs=runs, sizes=[args.team_entries], main_size=args.team_entries,
                     latencies=[0.0], quick=False, elapsed=elapsed, busy=busy)
        print(f"wrote {args.out}")
    else:
        print("\n" + results.table())


def peer_python_version(python: Path) -> str:
    found = subprocess.run([str(python), "-c", "import platform; print(platform.python_version())"],
                           capture_output=True, text=True)
    return f"Python {found.stdout.strip() or '?'}"


HOW_MEASURED = """## How it was measured

- The simulator (`togglsync.simulator.Simulator`, quotas off, real clock) runs in its own process,
  `bench/simserver.py`, seeded through its back door: entries start inside the last 85 days, so the cold
  sync's 89-day window fetches all of them. Client and server never share a GIL; on 2 cores each gets one.
- "150 ms" rows: the simulator's latency switch makes every answer wait that long before it is built
  (a round trip to a remote Toggl); "0 ms" is loopback. The simulator time shown never includes it.
- Each measured command is a fresh `togglsync …` process (the console script of a regular, not editable,
  install of the working tree into `bench/.togglsync-venv`, rebuilt when the source changes: the Machine
  section names it) with the **default pacing** (what users run:
  requests that wait on each other at least 1 s apart), loopback HTTP. Rows that say "pacing off" set
  TOGGLSYNC_PACING=0: the cold sync's (for comparison with earlier results) and scenario 5's (1,000
  POSTs at 1 request/s would take ~17 minutes a run). Wall time: spawn to exit, interpreter start-up and
  imports included. Peak memory: that process's own peak RSS (`os.wait4` rusage, `ru_maxrss`).
  Database size: the file plus its write-ahead log, right after the command.
- The peer, toggl-to-sqlite 0.9.0, is installed from PyPI into `bench/.peer-venv` (made on first use)
  and run there by `bench/peer_launch.py`, which rewrites its literal `https://api.track.toggl.com` URLs
  to the simulator inside its process (and its `GET /workspaces` to `GET /me/workspaces`, the
  simulator's list of a user's workspaces). It runs as `toggl-to-sqlite fetch DB --since <89 days ago>
  --days 90` into an empty database: one `/me/time_entries` request for the same 89-day window as
  togglsync's cold sync, then its workspaces and projects. togglsync and the peer alternate run by run on
  the same simulator (same seeded data), and each pair is checked to end with the same number of
  entries. Ratios are taken per pair, then the median.
- Requests are counted in the simulator's request log between two marks, not taken from the client.
- "Simulator time" is the time the simulator spent handling the requests (routing, rules, JSON encoding),
  measured server side; the end-to-end figure includes it (a real Toggl also takes time to answer), the
  "togglsync-side" throughput removes it.
- Scenarios 5 and 6 make the offline edits in the benchmark process with `LocalStore` (timed separately),
  then time `togglsync sync`; the server is then checked for the expected records (no duplicates).
- Growth slopes are log(t₂/t₁)/log(n₂/n₁) between sizes: 1.0 is linear, below 1 better. Both include
  the fixed costs (start-up, imports, pacing), which flatten them at small sizes.
- Scenario 9: a cold sync of the largest size into a fresh home; once it has stored the account (before
  that `start` has no workspace), 10 `togglsync start` processes, each followed by a `stop`, spread over
  the rest of the sync; each start is timed spawn to exit.
- "other load" is the CPU time that processes outside the benchmark used while it ran (from /proc/stat),
  beside the load average (`uptime`): on a shared machine it says whether the walls can be trusted
  (`--wait-quiet` waits for a quiet moment).

For a missed target, `bench/ANALYSIS.md` (written by hand) explains the cause and what would fix it;
`bench/profile.py` shows where the time and memory go (phase timers, peak RSS per
phase, `-X importtime` per command, the import floor of each dependency; `--cprofile DIR` adds cProfile).
"""


def write_report(path: Path, info: dict[str, str], results: Results, *, runs: int, sizes: list[int], main_size: int,
                 latencies: list[float], quick: bool, elapsed: float, busy: bool = False) -> None:
    missed = [f for f in results.figures if f.verdict == "MISS"]
    checked = [f for f in results.figures if f.verdict]
    command = info.pop("command")
    lines = [
        "# togglsync benchmark results",
        "",
        "Written by `bench/run.py`; do not edit by hand. Rerun it to check any figure:",
        "",
        f"    {command}",
        "",
    ]
    if busy:
        lines += [("> **BUSY MACHINE**: other processes used the CPU during this run (see *other load* below), so "
                   "every wall time and throughput here is inflated; memory, sizes and request counts are not. "
                   "Rerun on a quiet machine (`--wait-quiet SECONDS` waits for one) before judging a time target."), ""]
    if quick:
        lines += [("> **QUICK RUN**: reduced sizes and a single run. A smoke test, not the official figures; "
                   "targets stated for 100,000 entries are not checked at these sizes."), ""]
    lines += ["## Machine", ""]
    lines += [f"- **{key}**: {value}" for key, value in info.items()]
    lines += [
        f"- **cores**: {os.cpu_count()}; **Python**: {platform.python_version()}; **date**: {info.get('date', '?')}",
        (f"- **runs**: every figure is the median of {runs} run(s) (the short commands of scenarios 0, 3, 7 and 8: "
         f"of at least {CLI_RUNS}; scenario 9: of its {STARTS} starts); all runs are listed"),
        (f"- **sizes**: cold syncs at {', '.join(f'{s:,}' for s in sizes)} entries, with 500 projects, 100 clients and "
         f"200 tags; the comparison with the peer at {main_size:,} with "
         f"{' and '.join(f'{x * 1000:.0f} ms' for x in latencies)} per request; scenarios 3–8 on the synced "
         f"{main_size:,}-entry home; scenario 9 during a cold sync of {sizes[-1]:,}"),
        f"- **total time**: {elapsed:.0f} s",
        "",
        f"## Targets: {len(checked) - len(missed)} of {len(checked)} met",
        "",
        results.targets_table(),
        "",
        "## Every figure",
        "",
        results.table(),
        "",
        HOW_MEASURED,
        "## Details",
        "",
    ]
    lines += [f"- {d}" for d in results.details]
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
