"""What a sync says about its progress while it runs, for a display that wants to show it.

The sync calls a `Progress`; the CLI passes one that draws on a terminal
(`togglsync.cli.progress`), everyone else gets `SILENT`. A stage names what
is going on (with a total when it is known); `advance` counts work done in it.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def stage(self, text: str, total: int | None = None) -> None: ...
    def advance(self, amount: int = 1) -> None: ...


class _Silent:
    def stage(self, text: str, total: int | None = None) -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass


SILENT: Progress = _Silent()
