"""Talking to Toggl and Maton directly: api, connections, quota."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from togglsync.cli.base import confirm, get_app as _app, retired_short_option
from togglsync.errors import UsageError
from togglsync.output import HUMAN, dumps, output_format_options, render_rows

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
            raise UsageError(f"--query expects KEY=VALUE, got {pair!r}")
        if key in query:
            prev = query[key]
            query[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            query[key] = value
    return query


@click.command()
@click.argument("method", type=click.Choice(["GET", "POST", "PUT", "PATCH", "DELETE"], case_sensitive=False))
@click.argument("path")
@click.option("-d", "--data", metavar="JSON", help="Request body: JSON text, @file, or - for stdin.")
@click.option("--query", "query", multiple=True, metavar="KEY=VALUE", help="Query parameter (repeatable).")
@retired_short_option("-q", "--quiet", "--query KEY=VALUE")
@click.option("-i", "--include", is_flag=True, help="Print the status and quota headers to stderr.")
@click.pass_context
def api(ctx: click.Context, method: str, path: str, data: str | None, query: tuple[str, ...], include: bool) -> None:
    """Send one request through the configured transport and print the JSON response.

    PATH is a Toggl API path such as /me, /api/v9/me/time_entries,
    /reports/api/v3/workspace/WID/search/time_entries, or a Maton-style
    /toggl-track/api/v9/... path.

    \b
    togglsync api GET /me
    togglsync api GET /me/time_entries --query since=1732406400 -i
    togglsync api POST /workspaces/WID/tags -d '{"name": "urgent"}'
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
    if response.has_body:  # a JSON null prints `null`; only an empty body prints nothing
        click.echo(dumps(_redact_secrets(response.data, app.settings)))


def _redact_secrets(data: Any, settings: Any) -> Any:
    """The response with credentials blanked: tokens never reach our output, even from GET /me.

    Which keys are credentials is `records.is_secret_field`, the rule the database and error lines follow."""
    from togglsync.records import REDACTED, is_secret_field, redact

    secrets = [s for s in (settings.api_token, settings.maton_api_key) if s]

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: (REDACTED if is_secret_field(k) and isinstance(v, str) and v else walk(v))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str):
            return redact(value, secrets) if any(s in value for s in secrets) else value
        return value

    return walk(data)


# --- Maton connections ------------------------------------------------------------------


@click.group()
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
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def connections_delete(ctx: click.Context, connection_id: str, yes: bool) -> None:
    """Delete a connection (asks first; Toggl must be authorised again to make a new one)."""
    wanted = _connection_id(connection_id)
    confirm(f"Delete Maton connection {connection_id}? Syncing through it stops until you connect again", yes)
    _app(ctx).maton.delete_connection(wanted)
    click.echo(f"Deleted connection {connection_id}.")


# --- quota ---------------------------------------------------------------------------------


@click.command()
@output_format_options
@click.pass_context
def quota(ctx: click.Context, fmt: str) -> None:
    """Toggl request quota left, from the last responses seen (sends no request)."""
    from togglsync.db.repo import load_quota

    app = _app(ctx)
    with app.engine.connect() as conn:
        snapshots = load_quota(conn, account=app.settings.chosen_account())
    # load_quota gives {pool: QuotaSnapshot}: flatten to rows the renderers (and JSON) understand.
    rows = [
        {"pool": s.pool, "remaining": s.remaining, "resets_at": s.resets_at, "observed_at": s.observed_at}
        for _, s in sorted(snapshots.items())
    ]
    if fmt in HUMAN and not rows:
        click.echo("No quota information yet: it is recorded from the responses of the next request.",
                   err=fmt == "plain")
        return
    from togglsync.lookup import display_tz

    with app.engine.connect() as conn:
        zone = display_tz(conn, app.settings.timezone)
    render_rows(rows, ["pool", "remaining", "resets_at", "observed_at"], fmt, zone=zone)
