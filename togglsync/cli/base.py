"""The root `togglsync` command group, and the one place our errors become messages and exit codes."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import click

from togglsync import __version__
from togglsync.app import App
from togglsync.cli.messages import INTERRUPTED, error_line, one_line, scrub
from togglsync.config import Settings, load_settings
from togglsync.errors import DatabaseNotFound, ExitCode, TogglSyncError, UsageError

# Builds the App of an invocation. `App` unless the caller of the root command
# passes another as click's `obj` (`cli.main(obj=...)`, `CliRunner().invoke(cli, args, obj=...)`).
AppFactory = Callable[[Settings], App]


class CliError(click.ClickException):
    """`Error: <message>` and this exit code (click's own exceptions have one per class)."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self._exit_code = exit_code

    @property
    def exit_code(self) -> int:
        return self._exit_code

    @exit_code.setter
    def exit_code(self, value: int) -> None:
        self._exit_code = value


def confirm(question: str, yes: bool) -> None:
    """Ask before deleting; `--yes` skips it. Only a person at a terminal is asked: with
    standard input a pipe, a file or nothing (cron, ssh, scripts) it refuses at once, in one
    line, rather than wait for an answer that may never come. "No" stops (exit 1)."""
    if yes:
        return
    refused = "not deleted: pass --yes to delete without asking"
    if not sys.stdin.isatty():
        raise UsageError(f"{refused} (no terminal to ask)")
    try:
        answer = click.confirm(question, default=False)
    except click.Abort:
        raise UsageError(refused) from None
    if not answer:
        click.echo("Nothing deleted.")
        raise click.exceptions.Exit(1)


class DefaultListGroup(click.Group):
    """A group that runs its `list` command when no command is named.

    `togglsync projects` and `togglsync projects --all --json` mean
    `togglsync projects list ...` (so do `pending` and `conflicts`); `-h`
    still shows the group's help.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0].startswith("-") and args[0] not in ctx.help_option_names):
            args = ["list", *args]
        return super().parse_args(ctx, args)


class TogglSyncGroup(click.Group):
    """The root group: commands load on first use; our errors become `Error: <one line>` + exit code.

    Importing every command module (and with them SQLAlchemy, rich, requests)
    would cost every invocation; `togglsync status` should pay only for what
    it uses.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMANDS:
            module_name, attr = COMMANDS[name].split(":")
            command = getattr(importlib.import_module(module_name), attr)
            _take_global_options(command, [p for p in self.params if p.name in GLOBAL_OPTIONS])
            self.add_command(command, name)
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TogglSyncError as exc:
            raise CliError(scrubbed(one_line(exc)), exc.exit_code) from None
        except CliError as exc:
            # A command's own CliError may quote a TogglSyncError (`--sync`): the same rule.
            raise CliError(scrubbed(exc.message), exc.exit_code) from None
        except UnicodeEncodeError as exc:
            # Bytes that are not UTF-8 in an argument (a Latin-1 terminal): Python keeps them as
            # surrogates, which nothing can store or send.
            raise CliError(f"an argument is not valid UTF-8 text ({exc.reason}): set your terminal "
                           "to UTF-8 and type it again", ExitCode.USAGE) from None
        except (KeyboardInterrupt, click.Abort) as exc:
            # Ctrl-C, also at a prompt (click turns it into Abort); end of input at a prompt stays click's.
            if isinstance(exc, click.Abort) and not isinstance(exc.__context__, KeyboardInterrupt):
                raise
            click.echo(INTERRUPTED, err=True)
            raise click.exceptions.Exit(ExitCode.INTERRUPTED) from None
        except click.exceptions.Exit:
            raise  # a command's ctx.exit(code): not an error (and naming the file imports SQLAlchemy)
        except Exception as exc:
            # SQLite's errors about the database file (read-only, full, damaged, busy) that a
            # command's own reads let through: the db layer's one translation, naming the file.
            invocation = ctx.obj
            translated = error_line(exc, invocation.options if isinstance(invocation, Invocation) else {},
                                    invocation.secrets if isinstance(invocation, Invocation) else ())
            if translated is None:
                raise
            raise CliError(*translated) from None


# The root's options that a command also takes after its name (`togglsync log --tz UTC`,
# `togglsync sync --debug`), by the name of the root's parameter (and of `Invocation.options`).
GLOBAL_OPTIONS = frozenset({"home", "db", "transport", "api_url", "maton_connection", "timezone", "account", "debug"})


def _take_global_options(command: click.Command, options: list[click.Parameter]) -> None:
    """Give `command` and every command under it the root's options, hidden, unless it has an
    option of that spelling itself (`login --connection`, `demo --home`: theirs wins there)."""
    mine = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
    for option in options:
        if not isinstance(option, click.Option) or mine & set(option.opts):
            continue
        command.params.append(click.Option(
            [*option.opts, f"global_{option.name}"], type=None if option.is_flag else option.type,
            is_flag=option.is_flag, metavar=option.metavar, hidden=True, expose_value=False,
            callback=_set_global,
        ))
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _take_global_options(sub, options)


def _set_global(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """A global option given after the command: as if given before it (the later one wins)."""
    if value is None or value is False:
        return
    invocation = ctx.find_root().obj
    if not isinstance(invocation, Invocation):
        return
    name = str(param.name).removeprefix("global_")
    if name == "debug":
        enable_debug(invocation)
    else:
        invocation.options[name] = value


def retired_short_option(short: str, meaning: str, instead: str) -> Callable[[Any], Any]:
    """A short option this command no longer has because it means something else everywhere
    else: giving it is a one-line error saying what to type instead."""

    def refuse(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value:
            raise UsageError(f"{short} means {meaning} in togglsync; here write {instead}")

    return click.option(short, f"retired_{short.lstrip('-')}", multiple=True, hidden=True,
                        expose_value=False, callback=refuse)


def enable_debug(invocation: Invocation) -> None:
    """--debug: HTTP requests logged to stderr, through the redacting filter
    (`records.redact`, the rule error lines follow)."""
    if invocation.debug:
        return
    invocation.debug = True
    import logging  # here: most commands never log

    from togglsync.records import redact

    secrets = invocation.secrets

    class RedactingFilter(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            record.msg, record.args = redact(record.getMessage(), secrets), ()
            return True

    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())
    logging.getLogger("togglsync").setLevel(logging.DEBUG)


@contextmanager
def database_found(ctx: click.Context) -> Iterator[None]:
    """For commands that only read: a missing database is never created; say how to get one."""
    try:
        yield
    except DatabaseNotFound:
        from togglsync.query import database_name

        raise DatabaseNotFound(
            f"no database at {database_name(get_app(ctx).settings.db_target)} yet: run `togglsync sync` first "
            "(or point --db / TOGGLSYNC_DB at your database)"
        ) from None


# Command name -> "module:function". Each module holds the commands of one area.
COMMANDS = {
    "accounts": "togglsync.cli.account:accounts",
    "add": "togglsync.cli.tracking:add",
    "api": "togglsync.cli.remote:api",
    "cancel": "togglsync.cli.tracking:cancel",
    "clients": "togglsync.cli.catalog:clients",
    "config": "togglsync.cli.account:config",
    "conflicts": "togglsync.cli.syncing:conflicts",
    "connections": "togglsync.cli.remote:connections",
    "continue": "togglsync.cli.tracking:continue_",
    "db": "togglsync.cli.reporting:db",
    "demo": "togglsync.cli.extras:demo",
    "edit": "togglsync.cli.tracking:edit",
    "history": "togglsync.cli.syncing:history",
    "log": "togglsync.cli.tracking:log",
    "login": "togglsync.cli.account:login",
    "logout": "togglsync.cli.account:logout",
    "pending": "togglsync.cli.syncing:pending",
    "projects": "togglsync.cli.catalog:projects",
    "quota": "togglsync.cli.remote:quota",
    "report": "togglsync.cli.reporting:report",
    "rm": "togglsync.cli.tracking:rm",
    "schedule": "togglsync.cli.syncing:schedule",
    "simulator": "togglsync.cli.extras:simulator",
    "sql": "togglsync.cli.reporting:sql",
    "start": "togglsync.cli.tracking:start",
    "status": "togglsync.cli.tracking:status",
    "stop": "togglsync.cli.tracking:stop",
    "sync": "togglsync.cli.syncing:sync",
    "tags": "togglsync.cli.catalog:tags",
    "undo": "togglsync.cli.syncing:undo",
    "users": "togglsync.cli.catalog:users",
    "workspaces": "togglsync.cli.catalog:workspaces",
}


CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


@dataclass
class Invocation:
    """The root context's object: the global options, and the App built from them on first use.

    `secrets`: every credential an App of this invocation was given (`login` tries one
    that is not configured yet); error lines and the --debug log never show them."""

    options: dict[str, Any]
    make_app: AppFactory = App
    app: App | None = None
    secrets: set[str] = field(default_factory=set)
    debug: bool = False


def scrubbed(text: str) -> str:
    """Text for the terminal without any credential (error lines, a sync's refusals):
    `records.redact` with the secrets this invocation used or could use (`cli.messages.scrub`),
    the rule the --debug log follows."""
    ctx = click.get_current_context(silent=True)
    invocation = ctx.find_root().obj if ctx is not None else None
    if not isinstance(invocation, Invocation):
        from togglsync.records import redact

        return redact(text, ())
    return scrub(text, invocation.options, invocation.secrets)


def get_app(ctx: click.Context) -> App:
    """The App for this invocation, built lazily so offline commands never need credentials."""
    invocation: Invocation = ctx.find_root().obj
    if invocation.app is None:
        invocation.app = new_app(ctx, load_settings(invocation.options))
        ctx.find_root().call_on_close(invocation.app.close)
    return invocation.app


def note_pushed(text: str | None, record_id: int) -> None:
    """Say once, on stderr, that the `L<n>` a person typed was pushed and has a Toggl id now
    (the command acts on that record): stdout stays the command's output (--json...)."""
    from togglsync.lookup import pushed_note

    note = pushed_note(text or "", record_id)
    ctx = click.get_current_context(silent=True)
    said: set[str] = set() if ctx is None else ctx.find_root().meta.setdefault("togglsync.pushed_notes", set())
    if note is not None and note not in said:
        said.add(note)
        click.echo(f"{note}.", err=True)


def new_app(ctx: click.Context, settings: Settings) -> App:
    """An App on these settings, built like this invocation's; the caller closes it."""
    invocation: Invocation = ctx.find_root().obj
    invocation.secrets.update(s for s in (settings.api_token, settings.maton_api_key) if s)
    if "://" in settings.db_target:  # a database URL's password is blanked in errors too
        from urllib.parse import unquote, urlsplit

        try:
            password = urlsplit(settings.db_target).password
        except ValueError:
            password = None
        if password and len(password) >= 4:  # blanking a shorter one would blank ordinary words
            invocation.secrets.update({password, unquote(password)})
    return invocation.make_app(settings)


@click.group(cls=TogglSyncGroup, context_settings=CONTEXT_SETTINGS,
             epilog="The options above also work after the command: togglsync log --tz UTC, togglsync sync --debug.")
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
@click.option("--account", metavar="NAME",
              help="The account to sync, and offline edits go to (env TOGGLSYNC_ACCOUNT; default: every account "
                   "syncs, edits go to `accounts default`).")
@click.option("--debug", is_flag=True, help="Log HTTP requests to stderr (credentials redacted).")
@click.pass_context
def cli(ctx: click.Context, home, db, transport, api_url, maton_connection, timezone, account, debug) -> None:
    """Offline-first local sync cache for Toggl Track."""
    invocation = Invocation({}, ctx.obj or App)
    if debug:
        enable_debug(invocation)
    invocation.options = {
        "home": home,
        "db": db,
        "transport": transport,
        "api_url": api_url,
        "maton_connection": maton_connection,
        "timezone": timezone,
        "account": account,
    }
    ctx.obj = invocation


