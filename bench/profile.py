"""Where the time and memory of the benchmarked commands go: rerunnable diagnosis for missed targets.

    .venv/bin/python bench/profile.py                   # 100,000 entries
    .venv/bin/python bench/profile.py --entries 20000 --cprofile /tmp/prof

Against the same seeded simulator as bench/run.py (bench/simserver.py), it runs:

1. a cold `togglsync sync` with phase timers (bench/_phases.py): time per
   phase and the peak RSS reached by the end of each phase;
2. on the synced home: a no-change sync, status, start, stop, report --week
   and report --week --json, each with phase timers and with
   `python -X importtime` (import cost of that command, by top-level module);
3. the import floor: the wall time of `python -c "import X"` for the heavy
   dependencies.

With --cprofile DIR it also writes a cProfile file per command and prints
the top functions by own time (cProfile inflates Python-heavy code, so use it
for "what", and the phase timers for "how much").
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import BENCH, SimProcess, run_process, togglsync_exe, use_togglsync

COMMANDS = [
    ("no-change sync", ["sync", "--quiet"]),
    ("status", ["status"]),
    ("start", ["start", "profile timer"]),
    ("stop", ["stop"]),
    ("report --week", ["report", "--week"]),
    ("report --week --json", ["report", "--week", "--json"]),
]
IMPORTS = ["pass", "import sqlite3", "import click", "import rich.console, rich.table", "import requests", "import sqlalchemy",
           "import sqlalchemy.orm", "import togglsync.db.models", "import togglsync.lookup", "import togglsync.sync.engine"]


def importtime_summary(stderr: str, top: int = 6) -> str:
    """Total import time and the heaviest top-level imports from `-X importtime` output."""
    rows = []
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match and len(match.group(3)) <= 1:
            rows.append((int(match.group(2)), match.group(4)))
    total = sum(us for us, _ in rows)
    heavy = ", ".join(f"{name} {us / 1000:.0f} ms" for us, name in sorted(rows, reverse=True)[:top])
    return f"imports {total / 1000:.0f} ms (under -X importtime): {heavy}"


def cprofile_top(path: Path, limit: int = 15) -> str:
    import io
    import pstats

    stream = io.StringIO()
    stats = pstats.Stats(str(path), stream=stream)
    stats.sort_stats("tottime").print_stats(limit)
    lines = [line for line in stream.getvalue().splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    return "\n".join(lines[start:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--cprofile", type=Path, help="also write and summarise a cProfile file per command in this folder")
    args = parser.parse_args()
    if args.cprofile:
        args.cprofile.mkdir(parents=True, exist_ok=True)
    phases = str(BENCH / "_phases.py")
    # The phase timers run the interpreter's own togglsync (sys.executable); so do the others here.
    use_togglsync(str(Path(sys.executable).parent / "togglsync"))
    work = Path(tempfile.mkdtemp(prefix="togglsync-profile-"))
    sim = SimProcess(args.entries)
    try:
        home = work / "home"
        env = sim.env(home)
        print(f"== cold sync of {args.entries:,} entries (phase timers)")
        cold = run_process([sys.executable, phases, "sync", "--quiet"], env, sim)
        print(f"wall {cold.wall:.3f} s, peak RSS {cold.rss_mb:.1f} MB; simulator time per request: "
              + ", ".join(f"{r['method']} {r['path']} {r['server_seconds']:.3f} s" for r in cold.requests))
        print(cold.err)
        if args.cprofile:
            other = work / "cprofile-cold"
            run_process([sys.executable, "-m", "cProfile", "-o", str(args.cprofile / "cold-sync.prof"), togglsync_exe(),
                         "sync", "--quiet"], sim.env(other), sim)
            print(cprofile_top(args.cprofile / "cold-sync.prof", 25) + "\n")

        def run(argv: list[str], *, prefix: list[str] | None = None, check: bool = True):
            # Each measured start/stop finds the state it needs (prepared, not measured). Two `start`s
            # within the same second are refused ("a timer is running since after that start time").
            if argv[0] in ("start", "stop"):
                run_process([togglsync_exe(), "stop"], env, sim, check=False)
            if argv[0] == "stop":
                run_process([togglsync_exe(), "start", "profile timer"], env, sim)
            return run_process([*(prefix or [togglsync_exe()]), *argv], env, sim, check=check)

        for name, argv in COMMANDS:
            print(f"== {name} on the synced home")
            walls = [run(argv).wall for _ in range(3)]
            timed = run(argv, prefix=[sys.executable, phases])
            imports = run(argv, prefix=[sys.executable, "-X", "importtime", togglsync_exe()])
            print(f"plain wall median {statistics.median(walls):.3f} s; instrumented wall {timed.wall:.3f} s, "
                  f"peak RSS {timed.rss_mb:.1f} MB, {len(timed.requests)} request(s)")
            print(importtime_summary(imports.err))
            print(timed.err)
            if args.cprofile:
                target = args.cprofile / f"{name.replace(' ', '_').replace('-', '')}.prof"
                run(argv, prefix=[sys.executable, "-m", "cProfile", "-o", str(target), togglsync_exe()])
                print(cprofile_top(target) + "\n")

        print("== import floor: wall of `python -c ...` (median of 5)")
        for code in IMPORTS:
            walls = [run_process([sys.executable, "-c", code], {"PATH": "/usr/bin:/bin"}).wall for _ in range(5)]
            print(f"  {statistics.median(walls) * 1000:6.0f} ms  {code}")
    finally:
        sim.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
