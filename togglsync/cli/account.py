"""Credentials and configuration: login, logout, config, accounts."""

from __future__ import annotations

import sys
from typing import Any

import click

from togglsync.cli.base import DefaultListGroup, get_app as _app
from togglsync.cli.base import new_app
from togglsync.config import update_config_file
from togglsync.errors import UsageError
from togglsync.output import dumps, format_options, output_format_options, render_rows

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
    secret = _read_secret(what)
    if not secret:
        variable = "MATON_API_KEY" if maton else "TOGGL_API_TOKEN"
        raise UsageError(f"no {what} given: paste it at the prompt, or set {variable} instead of logging in")
    key = "maton_api_key" if maton else "api_token"
    transport = "maton" if maton else "direct"
    trial = new_app(ctx, with_overrides(app.settings, transport=transport, **{key: secret}))
    me = trial.client.me()
    trial.close()
    changes: dict[str, Any] = {key: secret, "transport": transport}
    if maton and app.settings.sources.get("maton_connection") == "option":
        # `togglsync --connection ID login --maton` checked the key through that connection: keep both.
        changes["maton_connection"] = app.settings.maton_connection
    update_config_file(app.settings.config_file, changes)
    click.echo(f"Logged in as {me.get('fullname') or '?'} <{me.get('email') or '?'}> "
               f"({transport}); credentials saved to {app.settings.config_file}")


def _read_secret(what: str) -> str:
    """A secret from a hidden prompt, or one line of standard input when it is not a terminal
    (`pass show toggl | togglsync login`); "" when none was given."""
    try:
        if not sys.stdin.isatty():
            # Piped: read the line; getpass would warn that it cannot hide what is not typed.
            return sys.stdin.readline().strip()
        # default="": an empty line is an answer (refused by the caller), not a reason to ask again forever.
        return str(click.prompt(what, hide_input=True, default="", show_default=False)).strip()
    except click.Abort as exc:
        # click turns both Ctrl-C and the end of input into Abort; only the end of input
        # (`togglsync login < /dev/null`, an empty pipe) means "no secret given".
        if not isinstance(exc.__context__, EOFError):
            raise
        return ""


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


# --- several accounts in one database ---------------------------------------------------------

ACCOUNT_COLUMNS = ["name", "default", "transport", "connection", "all_users", "user_id", "email", "pending",
                   "last_sync"]


@click.group(cls=DefaultListGroup)
def accounts() -> None:
    """The Toggl accounts synced into this database (with no command: list them).

    \b
    togglsync accounts add work                      # a Toggl API token, read like `login`
    togglsync accounts add team --maton --connection ID   # a Maton connection (the key: yours, or typed)
    togglsync accounts default work                  # where offline edits go
    togglsync accounts add boss --all-users          # an admin keeping every member's entries
    togglsync accounts all-users main on             # the same for an account already here
    togglsync sync                                   # every account; --account NAME: one

    `main` is the account of the top-level credentials (`login`, TOGGL_API_TOKEN). Secrets
    stay in the config file (mode 0600), never in the database.
    """


def _account_rows(ctx: click.Context) -> list[dict[str, Any]]:
    from togglsync import accounts as owner
    from togglsync.config import IMPLICIT_ACCOUNT

    app = _app(ctx)
    settings = app.settings
    with app.engine.connect() as conn:
        known = {row["name"]: row for row in owner.every(conn)}
    default = settings.account or IMPLICIT_ACCOUNT
    out = []
    for name in sorted(set(settings.account_names()) | set(known), key=lambda n: (n != IMPLICIT_ACCOUNT, n)):
        configured = name in settings.account_names()
        mine = settings.for_account(name) if configured else None
        row = known.get(name, {})
        out.append({
            "name": name, "default": "*" if name == default else "",
            "transport": mine.transport if mine else "(no credentials here)",
            "connection": (mine.maton_connection or "") if mine and mine.transport == "maton" else "",
            "all_users": "on" if mine and mine.all_users else "",
            "user_id": row.get("user_id"), "email": row.get("email"), "pending": row.get("pending", 0),
            "last_sync": row.get("last_sync"),
        })
    return out


@accounts.command("list")
@output_format_options
@click.pass_context
def accounts_list(ctx: click.Context, fmt: str) -> None:
    """Every account: its transport, its Toggl user (once synced), what waits, its last sync."""
    render_rows(_account_rows(ctx), ACCOUNT_COLUMNS, fmt, fixed=("user_id",))


@accounts.command("add")
@click.argument("name")
@click.option("--maton", is_flag=True, help="Through the Maton gateway (a Maton key; typed, or yours when none is).")
@click.option("--connection", "connection", metavar="ID", help="The Maton connection of this account.")
@click.option("--all-users", is_flag=True,
              help="Workspace-wide: an admin account that keeps every member's entries current (see `accounts "
                   "all-users`).")
@click.pass_context
def accounts_add(ctx: click.Context, name: str, maton: bool, connection: str | None, all_users: bool) -> None:
    """Add an account: its secret is read like `login` (hidden prompt, or one line of standard
    input), checked with one request (GET /me), and stored in the config file; the database
    learns its name and Toggl user. `togglsync sync` syncs it from then on."""
    from togglsync import accounts as owner
    from togglsync.config import ACCOUNTS_KEY, IMPLICIT_ACCOUNT, read_config_file, update_config_file, with_overrides

    owner.check_name(name)
    app = _app(ctx)
    settings = app.settings
    if name == IMPLICIT_ACCOUNT:
        raise UsageError(f"{IMPLICIT_ACCOUNT!r} is the account of the top-level credentials: use `togglsync login`")
    if name in settings.accounts:
        raise UsageError(f"account {name!r} exists already: `togglsync accounts remove {name}` first")
    if connection and not maton:
        raise UsageError("--connection is a Maton connection: add --maton")
    what = "Maton API key" if maton else "Toggl API token"
    secret = _read_secret(what)
    if not secret and maton and settings.maton_api_key:
        secret = settings.maton_api_key  # another connection of your own Maton key
    if not secret:
        raise UsageError(f"no {what} given: paste it at the prompt, or pipe it in")
    entry = {"transport": "maton" if maton else "direct", ("maton_api_key" if maton else "api_token"): secret}
    if connection:
        entry["maton_connection"] = connection
    if all_users:
        entry["all_users"] = "on"
    trial = new_app(ctx, with_overrides(settings, transport=entry["transport"], api_token=entry.get("api_token"),
                                        maton_api_key=entry.get("maton_api_key"), maton_connection=connection))
    try:
        me = trial.client.me()
    finally:
        trial.close()
    from datetime import datetime, timezone

    with app.engine.begin() as conn:
        owner.add(conn, name, datetime.now(timezone.utc))
        owner.bind(conn, name, [me.get("id") if isinstance(me, dict) else None], datetime.now(timezone.utc),
                   fingerprint=trial.client.credential_fingerprint)
    added = dict(read_config_file(settings.config_file).get(ACCOUNTS_KEY, {}))
    added[name] = entry
    update_config_file(settings.config_file, {ACCOUNTS_KEY: added})
    click.echo(f"Added account {name!r}: {me.get('fullname') or '?'} <{me.get('email') or '?'}> ({entry['transport']}); "
               f"credentials saved to {settings.config_file}. `togglsync sync` syncs it"
               + (" with every member's recent entries." if all_users else "."))


@accounts.command("remove")
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def accounts_remove(ctx: click.Context, name: str, yes: bool) -> None:
    """Remove an account: its credentials from the config file, its cursors and quota from the
    database (its records stay). Refused while it has local changes not sent yet."""
    from togglsync import accounts as owner
    from togglsync.cli.base import confirm
    from togglsync.config import ACCOUNTS_KEY, IMPLICIT_ACCOUNT, read_config_file, update_config_file

    app = _app(ctx)
    if name == IMPLICIT_ACCOUNT:
        raise UsageError(f"{IMPLICIT_ACCOUNT!r} is the account of the top-level credentials: use `togglsync logout`")
    with app.engine.connect() as conn:
        known = owner.get(conn, name) is not None
    if name not in app.settings.accounts and not known:
        raise UsageError(f"no account {name!r}: see `togglsync accounts list`")
    confirm(f"Remove account {name!r} (its synced records stay)?", yes)
    with app.engine.begin() as conn:
        owner.forget(conn, name)
    added = dict(read_config_file(app.settings.config_file).get(ACCOUNTS_KEY, {}))
    added.pop(name, None)
    changes: dict[str, Any] = {ACCOUNTS_KEY: added or None}
    if app.settings.sources.get("account") == "file" and app.settings.account == name:
        changes["account"] = None
    update_config_file(app.settings.config_file, changes)
    click.echo(f"Removed account {name!r}.")


@accounts.command("default")
@click.argument("name", required=False)
@click.pass_context
def accounts_default(ctx: click.Context, name: str | None) -> None:
    """Show, or set, the account offline edits go to (`start`, `add`, new projects...) when
    no --account is given; `main` unless set."""
    from togglsync.config import IMPLICIT_ACCOUNT, update_config_file

    settings = _app(ctx).settings
    if name is None:
        click.echo(settings.account or IMPLICIT_ACCOUNT)
        return
    if name != IMPLICIT_ACCOUNT and name not in settings.accounts:
        raise UsageError(f"no account {name!r}: add it with `togglsync accounts add {name}`")
    update_config_file(settings.config_file, {"account": None if name == IMPLICIT_ACCOUNT else name})
    click.echo(f"Offline edits go to account {name!r}.")


@accounts.command("all-users")
@click.argument("name")
@click.argument("switch", required=False, type=click.Choice(["on", "off"]))
@click.pass_context
def accounts_all_users(ctx: click.Context, name: str, switch: str | None) -> None:
    """Show, or set, whether account NAME keeps every member's entries current (workspace-wide).

    \b
    On: after its regular sync, each workspace the account is an admin of has
    its last all_users_days days (14) of every member's entries read again
    through the Reports API, at most every all_users_every minutes (60):
    ceil(rows/50) report requests per workspace, from the organization's hourly
    quota (30/240/600 on free/starter/premium), never its last 10. An entry
    stored from such a report that the report no longer lists within the
    window is removed here. Entries outside the window, of other workspaces,
    and of users an account here syncs (its own) are never touched. A
    non-admin's sync says so in one Error line (exit code 5).
    """
    from togglsync.config import ACCOUNTS_KEY, IMPLICIT_ACCOUNT, read_config_file, update_config_file

    settings = _app(ctx).settings
    if name != IMPLICIT_ACCOUNT and name not in settings.accounts:
        raise UsageError(f"no account {name!r}: see `togglsync accounts list`")
    if switch is None:
        click.echo("on" if settings.for_account(name).all_users else "off")
        return
    if name == IMPLICIT_ACCOUNT:
        update_config_file(settings.config_file, {"all_users": switch == "on"})
    else:
        added = dict(read_config_file(settings.config_file).get(ACCOUNTS_KEY, {}))
        added[name] = {**added[name], "all_users": switch}
        update_config_file(settings.config_file, {ACCOUNTS_KEY: added})
    if switch == "on":
        click.echo(f"Account {name!r} keeps every member's recent entries of the workspaces it is an admin of "
                   "(from its next sync).")
    else:
        click.echo(f"Account {name!r} syncs its own entries only; every member's entries stored so far stay.")
