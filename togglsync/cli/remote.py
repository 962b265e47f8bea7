"""Talking to Toggl and Maton directly: api, connections, quota."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import click

from togglsync.cli.base import confirm, get_app as _app, retired_short_option
from togglsync.api.transport import credential_header
from togglsync.errors import TogglSyncError, UsageError
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


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP token (RFC 9110)


def _parse_headers(pairs: tuple[str, ...]) -> dict[str, str]:
    """`-H 'Name: value'` -> {Name: value}; errors name the header, never its value (it may be a secret)."""
    headers: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition(":")
        name, value = name.strip(), value.strip()
        if not sep or not _HEADER_NAME.fullmatch(name):
            shown = name if _HEADER_NAME.fullmatch(name) else "the header"
            raise UsageError(f"-H expects 'Name: value' (e.g. -H 'Accept-Language: fr'); {shown} is not that")
        if not value.isprintable():
            raise UsageError(f"-H {name}: the value holds a line break or another control character")
        if credential_header(name):
            raise UsageError(f"-H {name}: togglsync sends this header from your credentials; it cannot be given "
                             "(choose the credentials with TOGGL_API_TOKEN, MATON_API_KEY, --transport, --connection)")
        headers[name] = value
    return headers


_JQ_MISSING = ("--jq needs the jq program, which is not installed (apt install jq, brew install jq: "
               "https://jqlang.org); without it, pipe the JSON to another tool, e.g. | python3 -m json.tool")


def _jq_program(expression: str) -> str:
    """The jq executable, after checking that `expression` compiles (before any request is spent)."""
    import shutil
    import subprocess

    program = shutil.which("jq")
    if program is None:
        raise UsageError(_JQ_MISSING)
    # With no input jq compiles the program and runs nothing: a syntax error costs no request.
    checked = subprocess.run([program, expression], input=b"", capture_output=True)
    if checked.returncode != 0:
        raise UsageError(f"--jq: {_jq_message(checked.stderr)}")
    return program


def _jq_message(stderr: bytes) -> str:
    lines = [line for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[0].strip() if lines else "jq failed"


def _run_jq(program: str, expression: str, text: str) -> None:
    import subprocess

    done = subprocess.run([program, "-r", expression], input=text.encode("utf-8"), capture_output=True)
    if done.returncode != 0:
        raise TogglSyncError(f"--jq: {_jq_message(done.stderr)}")
    sys.stdout.flush()
    click.echo(done.stdout.decode("utf-8", "replace"), nl=False)


_SHOWN_HEADERS = ("X-Toggl-Quota-Remaining", "X-Toggl-Quota-Resets-In", "X-Next-ID", "X-Next-Row-Number")


def _show_headers(response: Any) -> None:
    click.echo(f"HTTP {response.status}", err=True)
    for name in _SHOWN_HEADERS:
        if name in response.headers:
            click.echo(f"{name}: {response.headers[name]}", err=True)


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _method_and_path(words: tuple[str, ...], has_body: bool) -> tuple[str, str]:
    """`[METHOD] PATH`, as `gh api` takes it: no method is GET, or POST when a body is given."""
    if len(words) == 1:
        if words[0].upper() in _METHODS:
            raise UsageError(f"api {words[0]}: which path? e.g. togglsync api {words[0].upper()} /me")
        return ("POST" if has_body else "GET"), words[0]
    if len(words) != 2:
        raise UsageError("api takes [METHOD] PATH, e.g. togglsync api /me or togglsync api PUT /workspaces/WID/tags/ID")
    method, path = words
    if method.upper() not in _METHODS:
        raise UsageError(f"api: {method!r} is not a method (one of {', '.join(_METHODS)}); "
                         "e.g. togglsync api GET /me")
    return method.upper(), path


@click.command()
@click.argument("words", nargs=-1, required=True, metavar="[METHOD] PATH")
@click.option("-d", "--data", metavar="JSON", help="Request body: JSON text, @file, or - for stdin.")
@click.option("--query", "query", multiple=True, metavar="KEY=VALUE", help="Query parameter (repeatable).")
@retired_short_option("-q", "--quiet", "--query KEY=VALUE")
@click.option("-H", "--header", "headers", multiple=True, metavar="'NAME: VALUE'",
              help="Send this header too (repeatable). Authorization and Maton-Connection come from your "
                   "credentials and cannot be given.")
@click.option("--paginate", is_flag=True,
              help="Fetch every page and print their rows as one JSON array: GET lists by page/per_page "
                   "(until a short page), Reports API searches by their X-Next-* headers. Each page is one "
                   "request against the hourly quota.")
@click.option("--jq", "jq", metavar="EXPR",
              help="Filter the JSON through jq (strings print raw, like gh). Needs the jq program; without "
                   "it, pipe the output to another tool.")
@click.option("-i", "--include", is_flag=True,
              help="Print the status and quota headers to stderr (with --paginate: each page's, and the "
                   "number of requests).")
@click.pass_context
def api(ctx: click.Context, words: tuple[str, ...], data: str | None, query: tuple[str, ...],
        headers: tuple[str, ...], paginate: bool, jq: str | None, include: bool) -> None:
    """Send a request through the configured transport and print the JSON response, like `gh api`.

    METHOD is GET, POST, PUT, PATCH or DELETE; without it, GET (POST when
    -d gives a body), as in gh. PATH is a Toggl API path such as /me, /api/v9/me/time_entries,
    /reports/api/v3/workspace/WID/search/time_entries, or a Maton-style
    /toggl-track/api/v9/... path. Standard output holds the JSON only
    (credentials in it blanked); nothing else is printed unless -i.

    --paginate follows the pages of a list (GET /workspaces/WID/projects,
    /workspaces/WID/tasks...: page=1,2,... until a short page; per_page is
    200 unless you give one) or of a Reports API search (POST: X-Next-ID and
    X-Next-Row-Number sent back as first_id and first_row_number), and
    prints all their rows as one JSON array, only once every page has come.
    Every page is one request against Toggl's hourly quota: -i shows how many
    were spent. A report that repeats its cursor is an error, never a loop.

    \b
    togglsync api /me -H 'Accept-Language: fr' -i
    togglsync api POST /workspaces/WID/tags -d '{"name": "urgent"}'
    togglsync api GET /workspaces/WID/projects --paginate --jq '.[].name'
    togglsync api POST /reports/api/v3/workspace/WID/search/time_entries --paginate -d '{"start_date": "2024-01-01", "end_date": "2024-12-31"}'
    """
    method, path = _method_and_path(words, data is not None)
    body = _parse_data(data)
    params = _parse_query(query)
    extra = _parse_headers(headers)
    program = _jq_program(jq) if jq is not None else None
    app = _app(ctx)
    sent_before = app.client.requests_sent
    if paginate:
        result: Any = None
        pages = 0
        for page in app.client.raw_pages(method, path, params=params or None, json=body, headers=extra):
            pages += 1
            if include:
                _show_headers(page)
            if isinstance(page.data, list) and (result is None or isinstance(result, list)):
                result = [*(result or []), *page.data]
            else:
                result = page.data  # not a list: the only page
        if include:
            spent = app.client.requests_sent - sent_before
            click.echo(f"{pages} page{'s' if pages != 1 else ''}, {spent} request{'s' if spent != 1 else ''}",
                       err=True)
        has_body = True
        data_out = [] if result is None else result
    else:
        response = app.client.raw(method.upper(), path, params=params or None, json=body, headers=extra)
        if include:
            _show_headers(response)
        has_body, data_out = response.has_body, response.data
    if not has_body:  # a JSON null prints `null`; only an empty body prints nothing
        return
    text = dumps(_redact_secrets(data_out, app.settings))
    if program is not None and jq is not None:
        _run_jq(program, jq, text)
    else:
        click.echo(text)


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
