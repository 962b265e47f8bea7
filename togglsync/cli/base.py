"""The root `togglsync` command group, and the one place our errors become messages and exit codes."""

from __future__ import annotations

import logging
from typing import Any

import click

from togglsync import __version__
from togglsync.app import App
from togglsync.config import load_settings
from togglsync.errors import TogglSyncError


class CliError(click.ClickException):
    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


class TogglSyncGroup(click.Group):
    """Translates TogglSyncError into `Error: <one line>` and its documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TogglSyncError as exc:
            raise CliError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, exc.exit_code) from None


CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


def get_app(ctx: click.Context) -> App:
    """The App for this invocation, built lazily so offline commands never need credentials."""
    obj = ctx.find_root().obj
    if obj.get("app") is None:
        settings = load_settings(obj["options"])
        obj["app"] = App(settings)
        ctx.find_root().call_on_close(obj["app"].close)
    return obj["app"]


@click.group(cls=TogglSyncGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="togglsync")
@click.option("--home", type=click.Path(file_okay=False),
              help="Config and data directory (env TOGGLSYNC_HOME; default: the platform's user data dir).")
@click.option("--db", help="Database: a file path or SQLAlchemy URL (env TOGGLSYNC_DB).")
@click.option("--transport", type=click.Choice(["direct", "maton"]),
              help="Talk to Toggl directly (API token) or through the Maton gateway.")
@click.option("--api-url", help="Root URL of the chosen transport (env TOGGLSYNC_API_URL).")
@click.option("--connection", "maton_connection", metavar="ID",
              help="Maton connection to use (env MATON_CONNECTION).")
@click.option("--tz", "timezone", metavar="ZONE",
              help="Show and read times in this IANA time zone (env TOGGLSYNC_TZ; default: your Toggl time zone).")
@click.option("--debug", is_flag=True, help="Log HTTP requests to stderr (credentials redacted).")
@click.pass_context
def cli(ctx: click.Context, home, db, transport, api_url, maton_connection, timezone, debug) -> None:
    """Offline-first local sync cache for Toggl Track."""
    if debug:
        logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
        logging.getLogger("togglsync").setLevel(logging.DEBUG)
    ctx.obj = {
        "options": {
            "home": home,
            "db": db,
            "transport": transport,
            "api_url": api_url,
            "maton_connection": maton_connection,
            "timezone": timezone,
        },
        "app": None,
    }


