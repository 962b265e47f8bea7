"""Credentials and configuration: login, logout, config."""

from __future__ import annotations

import sys

import click

from togglsync.cli.base import get_app as _app
from togglsync.cli.base import new_app
from togglsync.config import update_config_file
from togglsync.errors import UsageError
from togglsync.output import dumps, format_options, render_rows

# --- credentials and configuration -------------------------------------------------


@click.command()
@click.option("--maton", is_flag=True, help="Store a Maton API key instead of a Toggl API token.")
@click.pass_context
def login(ctx: click.Context, maton: bool) -> None:
    """Store credentials after checking them with one request (GET /me).

    The secret is read from a hidden prompt, or as one line from standard input
    when that is not a terminal (`pass show toggl | togglsync login`), and
    written to the config file with mode 0600. With `togglsync --connection ID
    login --maton` the key is checked through that connection, and both are kept.
    """
    from togglsync.config import with_overrides

    app = _app(ctx)
    what = "Maton API key" if maton else "Toggl API token"
    try:
        if not sys.stdin.isatty():
            # Piped (`pass show toggl | togglsync login`): read the line; getpass would warn
            # that it cannot hide what is not typed.
            secret = sys.stdin.readline().strip()
        else:
            # default="": an empty line is an answer (refused below), not a reason to ask again forever.
            secret = click.prompt(what, hide_input=True, default="", show_default=False).strip()
    except click.Abort as exc:
        # click turns both Ctrl-C and the end of input into Abort; only the end of input
        # (`togglsync login < /dev/null`, an empty pipe) means "no token given".
        if not isinstance(exc.__context__, EOFError):
            raise
        secret = ""
    if not secret:
        variable = "MATON_API_KEY" if maton else "TOGGL_API_TOKEN"
        raise UsageError(f"no {what} given: paste it at the prompt, or set {variable} instead of logging in")
    key = "maton_api_key" if maton else "api_token"
    transport = "maton" if maton else "direct"
    trial = new_app(ctx, with_overrides(app.settings, transport=transport, **{key: secret}))
    me = trial.client.me()
    trial.close()
    changes = {key: secret, "transport": transport}
    if maton and app.settings.sources.get("maton_connection") == "option":
        # `togglsync --connection ID login --maton` checked the key through that connection: keep both.
        changes["maton_connection"] = app.settings.maton_connection
    update_config_file(app.settings.config_file, changes)
    click.echo(f"Logged in as {me.get('fullname') or '?'} <{me.get('email') or '?'}> "
               f"({transport}); credentials saved to {app.settings.config_file}")


@click.command()
@click.pass_context
def logout(ctx: click.Context) -> None:
    """Remove stored credentials from the config file."""
    app = _app(ctx)
    update_config_file(app.settings.config_file, {"api_token": None, "maton_api_key": None})
    click.echo(f"Credentials removed from {app.settings.config_file}")


@click.group()
def config() -> None:
    """Show the effective configuration."""


@config.command("show")
@format_options(json_help="Output JSON (an object: setting -> value, source).")
@click.pass_context
def config_show(ctx: click.Context, fmt: str) -> None:
    """Every setting, its value and where it came from (secrets redacted)."""
    data = _app(ctx).settings.redacted()
    if fmt == "json":
        click.echo(dumps(data))
        return
    rows = [
        {"setting": k, "value": v.get("effective", v["value"]), "source": v["source"]}
        for k, v in data.items()
    ]
    render_rows(rows, ["setting", "value", "source"], fmt)


@config.command("path")
@click.pass_context
def config_path_cmd(ctx: click.Context) -> None:
    """Print the config file's path."""
    click.echo(str(_app(ctx).settings.config_file))
