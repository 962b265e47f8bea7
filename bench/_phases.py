"""Run one `togglsync` command with cheap timers around the functions that matter (no profiler overhead).

    python bench/_phases.py sync --quiet      # the same arguments as `togglsync`

Used by bench/profile.py. Prints, on stderr, a table: time per phase, calls,
and the peak RSS when the phase ended (peak RSS only grows, so the phase
whose end shows the jump is where the peak was reached). Nested phases are
indented and included in their parent's time.

The modules a command would import lazily are imported up front here (to
wrap them), so the "imports" line over-counts for commands that need fewer
of them: bench/profile.py also reports `-X importtime` for each command.
"""

from __future__ import annotations

import atexit
import resource
import sys
import time

STARTED = time.perf_counter()
timings: dict[str, list[float]] = {}  # label -> [seconds, calls, peak RSS MB at the end of the last call]
order: list[str] = []


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _wrap(owner: object, name: str, label: str, *, item: bool = False) -> None:
    try:
        original = owner[name] if item else getattr(owner, name)  # type: ignore[index]
    except (AttributeError, KeyError):
        return  # renamed or gone in this version of the engine: skip it
    if label not in timings:
        timings[label] = [0.0, 0, 0.0]
        order.append(label)
    slot = timings[label]

    def timed(*args, **kwargs):
        began = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            slot[0] += time.perf_counter() - began
            slot[1] += 1
            slot[2] = _rss_mb()

    if item:
        owner[name] = timed  # type: ignore[index]
    else:
        setattr(owner, name, timed)


def instrument() -> None:
    from sqlalchemy.engine import default

    from togglsync import records, report, rows, timer
    from togglsync.api import chokepoint, client
    from togglsync.cli import reporting
    from togglsync.db import open as db_open
    from togglsync.db import repo
    from togglsync.sync import apply, engine, pull, push

    timings["imports (cli + every instrumented module)"] = [time.perf_counter() - STARTED, 1, _rss_mb()]
    order.append("imports (cli + every instrumented module)")
    _wrap(db_open, "open_database", "open_database (create or check the schema)")
    _wrap(engine, "run_sync", "run_sync")
    _wrap(pull.Puller, "pull_catalog", "  Puller.pull_catalog")
    _wrap(client.TogglClient, "me", "    GET /me?with_related_data=true (wait+transfer+decode)")
    _wrap(pull.Puller, "pull_users", "  Puller.pull_users")
    _wrap(pull.Puller, "pull_entries", "  Puller.pull_entries")
    _wrap(client.TogglClient, "time_entries", "    GET /me/time_entries (wait+transfer+decode)")
    _wrap(chokepoint, "decode_json", "      json decode of response bodies (all requests)")
    # pull.py and apply.py import these by name: wrap every binding with one label.
    for module in (apply, pull):
        _wrap(module, "apply_records", "    apply_records (all resources)")
    _wrap(records._BUILDERS, records.Kind.TIME_ENTRY, "      records.entry_row × N", item=True)
    _wrap(apply, "_changed_only", "      _changed_only")
    _wrap(apply, "_local_tag_names", "      _local_tag_names")
    _wrap(apply, "upsert", "      repo.upsert (stored form + driver executemany)")
    _wrap(repo, "_stored_rows", "        rows to stored form (timestamps, JSON)")
    _wrap(rows, "mirror_tags", "      rows.mirror_tags (time_entry_tags)")
    _wrap(pull.Puller, "_unknown_refs", "  Puller._unknown_refs")
    _wrap(push.Pusher, "push", "  Pusher.push")
    _wrap(default.DefaultDialect, "do_commit", "COMMIT (all transactions)")
    _wrap(timer, "running_entry", "timer.running_entry")
    _wrap(timer, "start", "timer.start")
    _wrap(timer, "stop", "timer.stop")
    _wrap(report, "entry_rows", "report.entry_rows")
    _wrap(reporting, "_print_report", "reporting._print_report (rich table)")


def show() -> None:
    total = time.perf_counter() - STARTED
    out = sys.stderr
    print(f"{'phase':<62} {'seconds':>8} {'calls':>7} {'peak RSS at end':>16}", file=out)
    for label in order:
        seconds, calls, rss = timings[label]
        if calls:
            print(f"{label:<62} {seconds:8.3f} {int(calls):7d} {rss:13.1f} MB", file=out)
    print(f"{'total in-process (interpreter start-up not included)':<62} {total:8.3f} {'':7} {_rss_mb():13.1f} MB", file=out)


if __name__ == "__main__":
    instrument()
    atexit.register(show)
    from togglsync.cli import main

    sys.argv = ["togglsync", *sys.argv[1:]]
    main()
