"""The run log: one line per logged sync (`sync --log`, which scheduled runs use) in the home.

`<home>/sync.log`, a line per run: `<UTC time>\\t<exit code>\\t<one line>`. When it passes
`MAX_BYTES` it becomes `sync.log.1` (the previous one is dropped), so the two files stay
under about 128 KiB: some two weeks of runs every 15 minutes. `togglsync status` and
`togglsync schedule status` read it. Standard library only: `status` must start fast.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

from togglsync.errors import ExitCode

LOG_NAME = "sync.log"
MAX_BYTES = 64 * 1024


class Run(NamedTuple):
    at: datetime  # UTC
    exit_code: int
    message: str

    @property
    def ok(self) -> bool:
        """Not a failure: synced (some changes may wait for the user), or another sync was running."""
        return self.exit_code in (ExitCode.OK, ExitCode.FAILED_OPS, ExitCode.LOCKED)


def log_path(home: Path) -> Path:
    return home / LOG_NAME


def append(home: Path, exit_code: int, message: str, *, now: datetime | None = None) -> None:
    """Add one line; rotate first when the file is full. A log that cannot be written
    (read-only home, full disk) never fails the sync it describes."""
    at = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    text = " ".join((message or "").split()) or "-"
    line = f"{at.strftime('%Y-%m-%dT%H:%M:%SZ')}\t{exit_code}\t{text}\n"
    path = log_path(home)
    try:
        home.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size + len(line) > MAX_BYTES:
            os.replace(path, path.with_name(LOG_NAME + ".1"))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(line)
    except OSError:
        pass


def runs(home: Path) -> list[Run]:
    """Every logged run, oldest first (a line that is not ours is skipped)."""
    path = log_path(home)
    found: list[Run] = []
    for part in (path.with_name(LOG_NAME + ".1"), path):
        try:
            text = part.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            fields = line.split("\t", 2)
            if len(fields) != 3:
                continue
            try:
                at = datetime.strptime(fields[0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
                code = int(fields[1])
            except ValueError:
                continue
            found.append(Run(at, code, fields[2]))
    return found


def last_run(home: Path) -> Run | None:
    found = runs(home)
    return found[-1] if found else None


def last_failure(home: Path) -> Run | None:
    """The last failed run, when no run has succeeded since (a failure already mended is news no more)."""
    for run in reversed(runs(home)):
        return None if run.ok else run
    return None
