"""The `togglsync` command: thin click glue over the library.

`base` holds the root group, the error translation and the table of
commands; each other module holds the commands of one area, loaded on use.
`main` first offers the command line to `quick`, which runs `status`,
`start` and `stop` without importing click (or hands them back to it).
"""

from __future__ import annotations

import gc
import sys
from typing import Any

__all__ = ["CliError", "cli", "get_app", "main"]


def main() -> None:
    try:
        from togglsync.cli.quick import run

        code = run(sys.argv[1:])
        if code is not None:
            sys.exit(code)
        from togglsync.cli.base import cli

        cli(prog_name="togglsync")
    finally:
        # The command is over (its files closed, its transactions committed): what it built
        # goes with the process. Frozen, the objects are skipped by the garbage collections of
        # the interpreter's shutdown, which walked everything SQLAlchemy made: 0.2-0.3 s of a
        # sync that stored 1,000 changes (bench scenario 4).
        gc.freeze()


def __getattr__(name: str) -> Any:
    """`from togglsync.cli import cli` (and CliError, get_app): the click CLI, loaded on first use."""
    if name in ("CliError", "cli", "get_app"):
        from togglsync.cli import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
