"""The `togglsync` command: thin click glue over the library.

`base` holds the root group and the error translation; each module registers
the commands of one area.
"""

from togglsync.cli import account, catalog, extras, remote, reporting, syncing, tracking  # noqa: F401  (registers commands)
from togglsync.cli.base import CliError, cli, get_app


def main() -> None:
    cli(prog_name="togglsync")


__all__ = ["CliError", "cli", "get_app", "main"]
