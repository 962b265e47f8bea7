"""The `togglsync` command: thin click glue over the library.

`base` holds the root group, the error translation and the table of
commands; each other module holds the commands of one area, loaded on use.
"""

from togglsync.cli.base import CliError, cli, get_app


def main() -> None:
    cli(prog_name="togglsync")


__all__ = ["CliError", "cli", "get_app", "main"]
