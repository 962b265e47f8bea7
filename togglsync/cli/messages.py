"""Our errors as one line and an exit code, without click: `error_line`.

The click CLI's last word on an error (`cli.base.TogglSyncGroup.invoke`) and
the fast way of `status`/`start`/`stop` (`cli.quick`) both print
`Error: <error_line's text>` and exit with its code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from togglsync.errors import TogglSyncError

# What Ctrl-C prints, on stderr, before exit code 130 (`ExitCode.INTERRUPTED`).
INTERRUPTED = ("Interrupted: this command's unfinished change is not saved; local changes not yet pushed "
               "stay queued (`togglsync pending`).")


def one_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def configured_secrets(options: Mapping[str, Any]) -> set[str]:
    """Every credential the settings of these options hold (what must never be printed)."""
    from togglsync.config import load_settings

    try:
        return load_settings(options).secrets()
    except TogglSyncError:
        return set()


def scrub(text: str, options: Mapping[str, Any], secrets: Iterable[str] = ()) -> str:
    """`records.redact` with every credential of this invocation (`secrets`: those it used besides)."""
    from togglsync.records import redact

    return redact(text, set(secrets) | configured_secrets(options))


def database_file(options: Mapping[str, Any]) -> str:
    """The database these options name, for messages."""
    from togglsync.config import load_settings

    try:
        target = load_settings(options).db_target
    except TogglSyncError:
        return "(your database)"
    from togglsync.query import database_name

    return database_name(target)


def error_line(exc: BaseException, options: Mapping[str, Any], secrets: Iterable[str] = ()) -> tuple[str, int] | None:
    """(text, exit code) for our errors and SQLite's errors about the database file (naming
    it: `db.lite.storage_error`); None for anything else (a bug: its traceback)."""
    if isinstance(exc, TogglSyncError):
        return scrub(one_line(exc), options, secrets), int(exc.exit_code)
    from togglsync.db.lite import storage_error

    translated = storage_error(exc, database_file(options))
    if translated is None:
        return None
    return scrub(one_line(translated), options, secrets), int(translated.exit_code)
