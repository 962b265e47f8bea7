"""The `togglsync` command: thin click glue over the library.

This is the one place where our errors become one-line messages and exit codes.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click

from togglsync import __version__
from togglsync.app import App
from togglsync.config import load_settings, update_config_file
from togglsync.errors import ConfigError, ExitCode, TogglSyncError, UsageError
from togglsync.output import dumps, output_format_options, render_rows


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


def _app(ctx: click.Context) -> App:
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
@click.option("--debug", is_flag=True, help="Log HTTP requests to stderr (credentials redacted).")
@click.pass_context
def cli(ctx: click.Context, home, db, transport, api_url, maton_connection, debug) -> None:
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
        },
        "app": None,
    }


def main() -> None:
    cli(prog_name="togglsync")


# --- credentials and configuration -------------------------------------------------


@cli.command()
@click.option("--maton", is_flag=True, help="Store a Maton API key instead of a Toggl API token.")
@click.pass_context
def login(ctx: click.Context, maton: bool) -> None:
    """Store credentials after checking them with one request (GET /me).

    The secret is read from a hidden prompt (or standard input) and written to
    the config file with mode 0600.
    """
    from togglsync.config import with_overrides

    app = _app(ctx)
    what = "Maton API key" if maton else "Toggl API token"
    secret = click.prompt(what, hide_input=True).strip()
    if not secret:
        raise UsageError(f"empty {what}")
    key = "maton_api_key" if maton else "api_token"
    transport = "maton" if maton else "direct"
    trial = App(with_overrides(app.settings, transport=transport, **{key: secret}))
    me = trial.client.me()
    trial.close()
    update_config_file(app.settings.config_file, {key: secret, "transport": transport})
    click.echo(f"Logged in as {me.get('fullname') or '?'} <{me.get('email') or '?'}> "
               f"({transport}); credentials saved to {app.settings.config_file}")


@cli.command()
@click.pass_context
def logout(ctx: click.Context) -> None:
    """Remove stored credentials from the config file."""
    app = _app(ctx)
    update_config_file(app.settings.config_file, {"api_token": None, "maton_api_key": None})
    click.echo(f"Credentials removed from {app.settings.config_file}")


@cli.group()
def config() -> None:
    """Show the effective configuration."""


@config.command("show")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@click.pass_context
def config_show(ctx: click.Context, as_json: bool) -> None:
    """Every setting, its value and where it came from (secrets redacted)."""
    data = _app(ctx).settings.redacted()
    if as_json:
        click.echo(dumps(data))
        return
    rows = [
        {"setting": k, "value": v.get("effective", v["value"]), "source": v["source"]}
        for k, v in data.items()
    ]
    render_rows(rows, ["setting", "value", "source"])


@config.command("path")
@click.pass_context
def config_path_cmd(ctx: click.Context) -> None:
    """Print the config file's path."""
    click.echo(str(_app(ctx).settings.config_file))


# --- raw API access ---------------------------------------------------------------------


def _parse_data(data: str | None) -> Any:
    if data is None:
        return None
    if data == "-":
        data = sys.stdin.read()
    elif data.startswith("@"):
        try:
            with open(data[1:], encoding="utf-8") as fh:
                data = fh.read()
        except OSError as exc:
            raise UsageError(f"cannot read {data[1:]}: {exc.strerror}") from None
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise UsageError(f"-d is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


def _parse_query(pairs: tuple[str, ...]) -> dict[str, str | list[str]]:
    query: dict[str, str | list[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"-q expects key=value, got {pair!r}")
        if key in query:
            prev = query[key]
            query[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            query[key] = value
    return query


@cli.command()
@click.argument("method", type=click.Choice(["GET", "POST", "PUT", "PATCH", "DELETE"], case_sensitive=False))
@click.argument("path")
@click.option("-d", "--data", metavar="JSON", help="Request body: JSON text, @file, or - for stdin.")
@click.option("-q", "--query", "query", multiple=True, metavar="KEY=VALUE", help="Query parameter (repeatable).")
@click.option("-i", "--include", is_flag=True, help="Print the status and quota headers to stderr.")
@click.pass_context
def api(ctx: click.Context, method: str, path: str, data: str | None, query: tuple[str, ...], include: bool) -> None:
    """Send one request through the configured transport and print the JSON response.

    PATH is a Toggl API path such as /me, /api/v9/me/time_entries,
    /reports/api/v3/workspace/WID/search/time_entries, or a Maton-style
    /toggl-track/api/v9/... path.
    """
    body = _parse_data(data)
    params = _parse_query(query)
    app = _app(ctx)
    response = app.client.raw(method.upper(), path, params=params or None, json=body)
    if include:
        click.echo(f"HTTP {response.status}", err=True)
        for name in ("X-Toggl-Quota-Remaining", "X-Toggl-Quota-Resets-In", "X-Next-ID", "X-Next-Row-Number"):
            if name in response.headers:
                click.echo(f"{name}: {response.headers[name]}", err=True)
    if response.data is not None:
        click.echo(dumps(_redact_secrets(response.data, app.settings)))


# Response fields that hold a credential (GET /me answers with the user's api_token).
_SECRET_FIELDS = frozenset({"api_token"})
_REDACTED = "********"


def _redact_secrets(data: Any, settings: Any) -> Any:
    """The response with credentials blanked: tokens never reach our output, even from GET /me."""
    secrets = [s for s in (settings.api_token, settings.maton_api_key) if s]

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: (_REDACTED if k in _SECRET_FIELDS and isinstance(v, str) and v else walk(v))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str):
            for secret in secrets:
                value = value.replace(secret, _REDACTED)
        return value

    return walk(data)


# --- Maton connections ------------------------------------------------------------------


@cli.group()
def connections() -> None:
    """Manage Maton gateway connections to Toggl Track."""


_CONNECTION_COLUMNS = ["connection_id", "status", "app", "creation_time", "last_updated_time"]


@connections.command("list")
@click.option("--status", help="Only connections with this status, e.g. ACTIVE.")
@output_format_options
@click.pass_context
def connections_list(ctx: click.Context, status: str | None, fmt: str) -> None:
    """List your Toggl Track connections."""
    rows = _app(ctx).maton.list_connections(status=status)
    render_rows(rows, _CONNECTION_COLUMNS, fmt)


@connections.command("create")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@click.pass_context
def connections_create(ctx: click.Context, as_json: bool) -> None:
    """Start a new connection; open the printed URL in a browser to authorise it."""
    conn = _app(ctx).maton.create_connection()
    if as_json:
        click.echo(dumps(conn))
        return
    click.echo(f"Created connection {conn.get('connection_id')} ({conn.get('status')}).")
    click.echo(f"Open this URL in a browser to finish connecting Toggl Track:\n  {conn.get('url')}")


def _connection_id(value: str) -> str:
    # MatonControl raises a bare ValueError for a blank id, which would show as a traceback.
    if not value.strip():
        raise UsageError("a connection id is needed")
    return value.strip()


@connections.command("get")
@click.argument("connection_id")
@click.pass_context
def connections_get(ctx: click.Context, connection_id: str) -> None:
    """Show one connection as JSON."""
    click.echo(dumps(_app(ctx).maton.get_connection(_connection_id(connection_id))))


@connections.command("delete")
@click.argument("connection_id")
@click.pass_context
def connections_delete(ctx: click.Context, connection_id: str) -> None:
    """Delete a connection."""
    _app(ctx).maton.delete_connection(_connection_id(connection_id))
    click.echo(f"Deleted connection {connection_id}.")


# --- quota ---------------------------------------------------------------------------------


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@click.pass_context
def quota(ctx: click.Context, as_json: bool) -> None:
    """Toggl request quota left, from the last responses seen (sends no request)."""
    from togglsync.db.repo import load_quota

    app = _app(ctx)
    with app.engine.connect() as conn:
        snapshots = load_quota(conn)
    # load_quota gives {pool: QuotaSnapshot}: flatten to rows the renderers (and JSON) understand.
    rows = [
        {"pool": s.pool, "remaining": s.remaining, "resets_at": s.resets_at, "observed_at": s.observed_at}
        for _, s in sorted(snapshots.items())
    ]
    if as_json:
        click.echo(dumps(rows))
        return
    if not rows:
        click.echo("No quota information yet: it is recorded from the responses of the next request.")
        return
    render_rows(rows, ["pool", "remaining", "resets_at", "observed_at"])


# --- sync ----------------------------------------------------------------------------------


@cli.command()
@click.option("--budget", type=click.IntRange(1), metavar="N", help="Send at most N requests; the next run resumes.")
@click.option("--pull-only", is_flag=True, help="Only pull changes from Toggl.")
@click.option("--push-only", is_flag=True, help="Only push local changes (still pulls first if a create's outcome is unknown).")
@click.option("--full", is_flag=True, help="Refresh the whole catalog (workspaces, clients, projects, tags, users) now.")
@click.option("--policy", type=click.Choice(["local", "remote"]), default="local", show_default=True,
              help="Which side wins when both changed the same field (the other value goes to `conflicts`).")
@click.option("--wait", is_flag=True, help="Wait for a running sync to finish instead of exiting with code 3.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success (for cron).")
@click.pass_context
def sync(ctx: click.Context, budget, pull_only, push_only, full, policy, wait, as_json, quiet) -> None:
    """Pull Toggl's changes, then push local edits. One summary line; exit code says how it went."""
    from togglsync.sync.engine import SyncOptions, run_sync, sync_lock

    if pull_only and push_only:
        raise UsageError("--pull-only and --push-only exclude each other")
    app = _app(ctx)
    options = SyncOptions(pull=not push_only, push=not pull_only, budget=budget, policy=policy, force_catalog=full)
    with sync_lock(app.settings.db_target, wait=wait):
        result = run_sync(app.engine, app.client, options)
    if as_json:
        click.echo(dumps(result.as_dict()))
    elif not (quiet and result.exit_code == ExitCode.OK):
        click.echo(result.summary(), err=result.exit_code != ExitCode.OK)
        for failure in result.failures:
            click.echo(f"  failed: {failure}", err=True)
    if result.error:
        click.echo(f"Error: {result.error}", err=True)
    ctx.exit(result.exit_code)


@cli.group(invoke_without_command=True)
@output_format_options
@click.pass_context
def pending(ctx: click.Context, fmt: str) -> None:
    """Local changes waiting to be pushed (default: list them)."""
    if ctx.invoked_subcommand is None:
        from togglsync.queue import list_pending

        rows = list_pending(_app(ctx).engine)
        render_rows(rows, ["id", "action", "resource", "record_id", "state", "what", "error"], fmt)


@pending.command("list")
@output_format_options
@click.pass_context
def pending_list(ctx: click.Context, fmt: str) -> None:
    """List pending operations, oldest first."""
    from togglsync.queue import list_pending

    render_rows(list_pending(_app(ctx).engine), ["id", "action", "resource", "record_id", "state", "what", "error"], fmt)


@pending.command("retry")
@click.argument("op_id", type=int)
@click.pass_context
def pending_retry(ctx: click.Context, op_id: int) -> None:
    """Queue a failed operation again (it is sent on the next sync)."""
    from togglsync.queue import retry_operation

    retry_operation(_app(ctx).engine, op_id)
    click.echo(f"Operation {op_id} queued again.")


@pending.command("drop")
@click.argument("op_id", type=int)
@click.pass_context
def pending_drop(ctx: click.Context, op_id: int) -> None:
    """Forget a pending operation (the local row stays as it is; the next full sync corrects it)."""
    from togglsync.queue import drop_operation

    drop_operation(_app(ctx).engine, op_id)
    click.echo(f"Operation {op_id} dropped.")


_CONFLICT_COLUMNS = ["id", "resource", "record_id", "kind", "field", "base_value", "local_value", "remote_value", "kept", "detected_at"]


@cli.group(invoke_without_command=True)
@output_format_options
@click.pass_context
def conflicts(ctx: click.Context, fmt: str) -> None:
    """Fields both sides changed, and edits lost to deletions on Toggl (default: list open ones)."""
    if ctx.invoked_subcommand is None:
        from togglsync.queue import list_conflicts

        render_rows(list_conflicts(_app(ctx).engine), _CONFLICT_COLUMNS, fmt)


@conflicts.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include resolved conflicts.")
@output_format_options
@click.pass_context
def conflicts_list(ctx: click.Context, show_all: bool, fmt: str) -> None:
    """List conflicts."""
    from togglsync.queue import list_conflicts

    render_rows(list_conflicts(_app(ctx).engine, include_resolved=show_all), _CONFLICT_COLUMNS + ["resolved_at"], fmt)


@conflicts.command("resolve")
@click.argument("conflict_id", type=int)
@click.option("--keep", type=click.Choice(["local", "remote"]), required=True, help="The value to keep.")
@click.pass_context
def conflicts_resolve(ctx: click.Context, conflict_id: int, keep: str) -> None:
    """Settle a conflict; keeping the value that lost becomes a local edit pushed on the next sync."""
    from togglsync.queue import resolve_conflict

    message = resolve_conflict(_app(ctx).engine, conflict_id, keep)
    click.echo(message)


@cli.command()
@click.option("--cron", "kind", flag_value="cron", help="A crontab line (the default).")
@click.option("--systemd", "kind", flag_value="systemd", help="A systemd user service and timer.")
@click.option("--every", default="15m", show_default=True, help="Interval, e.g. 15m or 1h.")
@click.option("--install", is_flag=True, help="Install it for the current user instead of printing it.")
@click.pass_context
def schedule(ctx: click.Context, kind: str | None, every: str, install: bool) -> None:
    """Run `togglsync sync --quiet` on a schedule (quiet on success, loud on failure).

    Every 15 minutes costs about 5 of the free plan's 30 hourly /me requests.
    """
    from togglsync import schedule as sched

    minutes = sched.parse_interval(every)
    home = _app(ctx).settings.home
    if (kind or "cron") == "cron":
        line = sched.cron_line(minutes, home)
        done = sched.install_cron(line) if install else None
        click.echo(line if done is None else "\n".join(done))
    else:
        units = sched.systemd_units(minutes, home)
        if install:
            click.echo("\n".join(sched.install_systemd(units)))
        else:
            click.echo(f"# ~/.config/systemd/user/{sched.UNIT_NAME}.service\n{units.service}")
            click.echo(f"# ~/.config/systemd/user/{sched.UNIT_NAME}.timer\n{units.timer}")
            click.echo(f"# then: systemctl --user daemon-reload && systemctl --user enable --now {sched.UNIT_NAME}.timer")


# --- simulator and demo ------------------------------------------------------------------


@cli.command()
@click.option("--port", type=int, default=8765, show_default=True, help="Port on 127.0.0.1 (0 = any free port).")
@click.option("--entries", type=click.IntRange(0), default=500, show_default=True, help="Time entries to seed.")
@click.option("--plan", type=click.Choice(["free", "starter", "premium"]), default="free", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the generated account.")
@click.option("--no-quotas", is_flag=True, help="Do not enforce the hourly quotas.")
def simulator(port: int, entries: int, plan: str, seed: int, no_quotas: bool) -> None:
    """Run the built-in Toggl API simulator until interrupted.

    It prints the environment variables that point togglsync at it.
    """
    from togglsync.simulator.server import run_forever

    run_forever(port=port, entries=entries, plan=plan, seed=seed, quotas=not no_quotas)


@cli.command()
@click.option("--home", "demo_home", type=click.Path(file_okay=False),
              help="Keep the demo's data here (default: a temporary directory).")
@click.option("--entries", type=click.IntRange(0), default=300, show_default=True)
def demo(demo_home: str | None, entries: int) -> None:
    """Run togglsync against the built-in simulator and narrate what happens."""
    from togglsync.demo import run_demo

    run_demo(home=demo_home, entries=entries)


if __name__ == "__main__":  # pragma: no cover
    main()
