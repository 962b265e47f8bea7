"""A sync's progress: what the engine reports, and how a terminal shows it (issue 12).

The engine talks to a `Progress`; here a recording one (a plain implementation
of the protocol, not a mock of our code) checks what a cold sync and a push
report. The terminal display is checked with an injected clock: nothing is
drawn before its delay, something after, and nothing stays once it closes.
"""

from __future__ import annotations

import io

from test_sync_support import make_env

from togglsync.cli.progress import TerminalProgress, shown
from togglsync.sync.engine import run_sync, sync_lock
from togglsync.sync.progress import SILENT


class Recorded:
    def __init__(self) -> None:
        self.stages: list[tuple[str, int | None]] = []
        self.counts: dict[str, int] = {}

    def stage(self, text: str, total: int | None = None) -> None:
        self.stages.append((text, total))
        self.counts.setdefault(text, 0)

    def advance(self, amount: int = 1) -> None:
        self.counts[self.stages[-1][0]] += amount


def test_a_cold_sync_reports_the_catalog_the_download_and_every_entry_stored(make_sim, tmp_path):
    env = make_env(make_sim, tmp_path, entries=30)
    seen = Recorded()
    with sync_lock(str(env.db_path), progress=seen):
        run_sync(env.engine, env.client, progress=seen)
    names = [text for text, _ in seen.stages]
    assert names[0].startswith("reading workspaces")
    assert any(n.startswith("downloading time entries") for n in names)
    assert seen.counts["storing time entries"] == len(env.sim.state.all_time_entries())


def test_a_push_reports_each_operation_against_its_total(make_sim, tmp_path):
    env = make_env(make_sim, tmp_path)
    env.sync()
    for n in range(5):
        env.store.add_entry(f"offline {n}", start=env.ago(hours=n + 2), duration=600)
    seen = Recorded()
    run_sync(env.engine, env.client, progress=seen)
    assert ("pushing local changes", 5) in seen.stages
    assert seen.counts["pushing local changes"] == 5
    # Nothing to push: no push stage at all.
    quiet = Recorded()
    run_sync(env.engine, env.client, progress=quiet)
    assert all(text != "pushing local changes" for text, _ in quiet.stages)


def test_the_terminal_display_waits_its_delay_then_draws():
    now = [0.0]
    stream = io.StringIO()
    display = TerminalProgress(stream, delay=1.0, clock=lambda: now[0], force_terminal=True)
    display.stage("downloading time entries")
    display.advance(10)
    assert stream.getvalue() == ""  # a quick sync leaves no trace
    now[0] = 1.5
    display.stage("storing time entries", total=100)
    display.advance(40)
    display.close()
    drawn = stream.getvalue()
    assert "storing time entries" in drawn


def test_no_display_when_stderr_is_not_a_terminal():
    with shown(True, io.StringIO()) as progress:
        assert progress is SILENT
    with shown(False) as progress:
        assert progress is SILENT
