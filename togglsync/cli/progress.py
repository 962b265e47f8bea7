"""A sync's progress on a terminal: what it is doing, drawn on stderr once it takes a while.

Nothing is drawn when stderr is not a terminal (cron, pipes, `--quiet`,
`--json`), and nothing before `DELAY` has passed: a sync that finishes in a
moment leaves no trace, and rich is not even imported for it. The display is
transient: once the sync ends, only its summary line stays.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

from togglsync.sync.progress import SILENT, Progress

DELAY = 1.0  # seconds before anything is drawn


class TerminalProgress:
    """`sync.progress.Progress` drawn with rich, started lazily after `delay`."""

    def __init__(self, stream: IO[str], *, delay: float = DELAY, clock: Callable[[], float] = time.monotonic,
                 force_terminal: bool | None = None):
        self.stream, self.delay, self.clock, self.force_terminal = stream, delay, clock, force_terminal
        self.started = clock()
        self.text = "syncing"
        self.total: int | None = None
        self.done = 0
        self.bar: Any = None
        self.task: Any = None

    def stage(self, text: str, total: int | None = None) -> None:
        self.text, self.total, self.done = text, total, 0
        self._draw()

    def advance(self, amount: int = 1) -> None:
        self.done += amount
        self._draw()

    def _draw(self) -> None:
        if self.bar is None:
            if self.clock() - self.started < self.delay:
                return
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, SpinnerColumn, TextColumn

            console = Console(file=self.stream, force_terminal=self.force_terminal)
            self.bar = Bar(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                           console=console, transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.text, total=self.total)
        self.bar.update(self.task, description=self.text, total=self.total, completed=self.done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


@contextmanager
def shown(enabled: bool, stream: IO[str] | None = None) -> Iterator[Progress]:
    """A `Progress` for this command: drawn on `stream` (stderr) when enabled and a terminal."""
    stream = stream if stream is not None else sys.stderr
    if not enabled or not stream.isatty():
        yield SILENT
        return
    display = TerminalProgress(stream)
    try:
        yield display
    finally:
        display.close()
