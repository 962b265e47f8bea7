"""Workspaces, users, clients, projects and tags, offline.

Every command here reads and writes the local database only: listings show
what the last sync stored plus local edits, and edits are queued as pending
operations that `togglsync sync` pushes.

Records are named by name (case-insensitive, within the workspace given by
-w/--workspace, default the account's default one) or by id: a Toggl id, or
`L<n>` for a record created offline and not pushed yet. An id is found in any
workspace unless -w is given.
"""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import Connection

from togglsync import catalog, lookup
from togglsync.cli.base import DefaultListGroup, confirm, get_app as _app
from togglsync.cli.base import note_pushed
from togglsync.errors import UsageError
from togglsync.output import HUMAN, output_format_options, render_rows
from togglsync.records import Kind, format_id, public_id
# Table columns never wrapped or cut: an id must stay usable on a narrow terminal.
IDS = ("id", "user_id", "organization_id", "color")


def workspace_option(func):
    return click.option(
        "-w", "--workspace", metavar="NAME|ID", default=None,
        help="Workspace by name or id (default: your default workspace).",
    )(func)


# --- helpers ---------------------------------------------------------------------------------


def _store(ctx: click.Context):
    from togglsync.local import LocalStore

    app = _app(ctx)
    return LocalStore(app.engine, account=app.settings.account)


def _resolve(conn: Connection, kind: str, workspace: str | None, value: str) -> tuple[int, int]:
    """A project/client/tag named by the user -> (its id, its workspace id).

    Names are looked up in the chosen workspace; an id is also found in
    another workspace when -w was not given.
    """
    found = lookup.resolve(conn, kind, value, lookup.workspace_id(conn, workspace), strict=workspace is not None)
    note_pushed(value, found[0])
    return found


def _ref(record_id: int | None) -> str | int | None:
    """An id as the CLI accepts it back: Toggl's as a number, an unsynced one as "L<n>"."""
    return public_id(record_id)


def _client_id(conn: Connection, value: str, workspace: int) -> int:
    """A project's client, named by -c (name, Toggl id or L<n>)."""
    client_id = lookup.resolve(conn, Kind.CLIENT, value, workspace)[0]
    note_pushed(value, client_id)
    return client_id


def _shown(name: str | None, record_id: int) -> str:
    return f"{name!r} ({format_id(record_id)})"


PENDING_NOTE = "`togglsync sync` sends it to Toggl"


# --- workspaces and users ------------------------------------------------------------------


@click.group(cls=DefaultListGroup)
def workspaces() -> None:
    """Workspaces you belong to (with no command: list them)."""


@workspaces.command("list")
@workspace_option
@output_format_options
@click.pass_context
def workspaces_list(ctx: click.Context, workspace: str | None, fmt: str) -> None:
    """List workspaces; `default` marks your default one."""
    with _app(ctx).engine.connect() as conn:
        only = lookup.workspace_id(conn, workspace) if workspace is not None else None
        rows = catalog.workspaces(conn, only)
    render_rows(rows, ["id", "name", "organization_id", "premium", "default"], fmt, fixed=IDS)


@click.group(cls=DefaultListGroup)
def users() -> None:
    """Members of a workspace (with no command: list them)."""


@users.command("list")
@workspace_option
@output_format_options
@click.pass_context
def users_list(ctx: click.Context, workspace: str | None, fmt: str) -> None:
    """List the members of a workspace, as of the last sync."""
    with _app(ctx).engine.connect() as conn:
        rows = catalog.members(conn, lookup.workspace_id(conn, workspace))
    render_rows(rows, ["user_id", "fullname", "email", "role", "active"], fmt, fixed=IDS)


def _listing(ctx: click.Context, kind: Kind, workspace: str | None, archived: bool) -> list[dict[str, Any]]:
    with _app(ctx).engine.connect() as conn:
        return catalog.listing(conn, kind, lookup.workspace_id(conn, workspace), archived=archived)


def _usage(ctx: click.Context, kind: Kind, value: str, workspace: str | None) -> tuple[int, str | None, dict[str, int]]:
    """The record a command names, its name and what uses it."""
    with _app(ctx).engine.connect() as conn:
        record_id, _ = _resolve(conn, kind, workspace, value)
        return record_id, catalog.name_of(conn, kind, record_id), catalog.usage(conn, kind, record_id)


# --- projects ------------------------------------------------------------------------------

PROJECT_TABLE = ["id", "name", "client", "active", "billable", "color", "entries"]
PROJECT_DATA = ["id", "name", "workspace_id", "client_id", "client", "active", "billable", "private", "color", "entries"]


@click.group(cls=DefaultListGroup)
def projects() -> None:
    """Projects, offline: list, add, edit, rm (with no command: list active ones).

    Changes are queued and sent to Toggl by `togglsync sync`.
    """


@projects.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include archived (inactive) projects.")
@workspace_option
@output_format_options
@click.pass_context
def projects_list(ctx: click.Context, show_all: bool, workspace: str | None, fmt: str) -> None:
    """List projects with their client and how many local time entries use them."""
    rows = [
        {
            "id": _ref(r["id"]), "name": r["name"], "workspace_id": r["workspace_id"],
            "client_id": _ref(r["client_id"]), "client": r["client_id_name"],
            "active": r["active"], "billable": r["billable"], "private": r["is_private"],
            "color": r["color"], "entries": r["uses"]["time_entry"],
        }
        for r in _listing(ctx, Kind.PROJECT, workspace, show_all)
    ]
    render_rows(rows, PROJECT_TABLE if fmt in HUMAN else PROJECT_DATA, fmt, fixed=IDS)


@projects.command("add")
@click.argument("name")
@click.option("--client", metavar="NAME|ID", help="The project's client (in the same workspace).")
@click.option("--color", metavar="#RRGGBB", help="Color as #rrggbb (default: Toggl picks one).")
@click.option("--billable", is_flag=True, help="Mark the project billable.")
@click.option("--public", is_flag=True, help="Make the project public (Toggl creates projects private).")
@workspace_option
@click.pass_context
def projects_add(ctx: click.Context, name: str, client: str | None, color: str | None, billable: bool,
                 public: bool, workspace: str | None) -> None:
    """Create a project (offline; it gets a local id L<n> until synced)."""
    with _app(ctx).engine.connect() as conn:
        wid = lookup.workspace_id(conn, workspace, _app(ctx).settings.account)
        client_id = _client_id(conn, client, wid) if client is not None else None
    row = _store(ctx).create_project(
        name, client_id=client_id, color=color, billable=billable, is_private=not public, workspace_id=wid
    )
    click.echo(f"Created project {_shown(row['name'], row['id'])}; {PENDING_NOTE}.")


@projects.command("edit")
@click.argument("project")
@click.option("--name", help="New name.")
@click.option("--client", metavar="NAME|ID|none", help="New client; `none` removes it.")
@click.option("--color", metavar="#RRGGBB", help="New color as #rrggbb.")
@click.option("--billable/--no-billable", default=None, help="Billable or not.")
@click.option("--public/--private", default=None, help="Public or private.")
@click.option("--archive/--unarchive", default=None, help="Archive (make inactive) or restore the project.")
@workspace_option
@click.pass_context
def projects_edit(ctx: click.Context, project: str, name: str | None, client: str | None, color: str | None,
                  billable: bool | None, public: bool | None, archive: bool | None, workspace: str | None) -> None:
    """Change a project (PROJECT: name or id)."""
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = name
    if color is not None:
        values["color"] = color
    if billable is not None:
        values["billable"] = billable
    if public is not None:
        values["is_private"] = not public
    if archive is not None:
        values["active"] = not archive
    with _app(ctx).engine.connect() as conn:
        project_id, wid = _resolve(conn, Kind.PROJECT, workspace, project)
        if client is not None:
            none = client.strip().lower() in ("", "none")
            values["client_id"] = None if none else _client_id(conn, client, wid)
    if not values:
        raise UsageError("nothing to change: give --name, --client, --color, --billable, --public or --archive")
    row = _store(ctx).edit_project(project_id, **values)
    click.echo(f"Updated project {_shown(row['name'], row['id'])}; {PENDING_NOTE}.")


@projects.command("rm")
@click.argument("project")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@workspace_option
@click.pass_context
def projects_rm(ctx: click.Context, project: str, yes: bool, workspace: str | None) -> None:
    """Delete a project; its time entries are kept without a project (as Toggl does)."""
    project_id, name, uses = _usage(ctx, Kind.PROJECT, project, workspace)
    entries = _entries(uses["time_entry"])
    confirm(f"Delete project {_shown(name, project_id)}? {entries} will be left without a project", yes)
    _store(ctx).delete_project(project_id)
    click.echo(f"Deleted project {_shown(name, project_id)} ({entries} unassigned); {PENDING_NOTE}.")


def _entries(n: int) -> str:
    return f"{n} time entr{'y' if n == 1 else 'ies'}"


# --- clients -------------------------------------------------------------------------------

CLIENT_TABLE = ["id", "name", "archived", "projects", "notes"]
CLIENT_DATA = ["id", "name", "workspace_id", "archived", "projects", "notes"]


@click.group(cls=DefaultListGroup)
def clients() -> None:
    """Clients, offline: list, add, edit, rm, archive, restore (with no command: list active ones).

    Changes are queued and sent to Toggl by `togglsync sync`.
    """


@clients.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include archived clients.")
@workspace_option
@output_format_options
@click.pass_context
def clients_list(ctx: click.Context, show_all: bool, workspace: str | None, fmt: str) -> None:
    """List clients with how many projects each has."""
    rows = [
        {
            "id": _ref(r["id"]), "name": r["name"], "workspace_id": r["workspace_id"],
            "archived": r["archived"], "projects": r["uses"]["project"], "notes": r["notes"],
        }
        for r in _listing(ctx, Kind.CLIENT, workspace, show_all)
    ]
    render_rows(rows, CLIENT_TABLE if fmt in HUMAN else CLIENT_DATA, fmt, fixed=IDS)


@clients.command("add")
@click.argument("name")
@click.option("--notes", help="Free-text notes.")
@workspace_option
@click.pass_context
def clients_add(ctx: click.Context, name: str, notes: str | None, workspace: str | None) -> None:
    """Create a client (offline; it gets a local id L<n> until synced)."""
    with _app(ctx).engine.connect() as conn:
        wid = lookup.workspace_id(conn, workspace, _app(ctx).settings.account)
    row = _store(ctx).create_client(name, notes=(notes or None), workspace_id=wid)
    click.echo(f"Created client {_shown(row['name'], row['id'])}; {PENDING_NOTE}.")


@clients.command("edit")
@click.argument("client")
@click.option("--name", help="New name.")
@click.option("--notes", help="New notes (an empty string removes them).")
@workspace_option
@click.pass_context
def clients_edit(ctx: click.Context, client: str, name: str | None, notes: str | None, workspace: str | None) -> None:
    """Change a client (CLIENT: name or id)."""
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = name
    if notes is not None:
        values["notes"] = notes or None
    with _app(ctx).engine.connect() as conn:
        client_id, _ = _resolve(conn, Kind.CLIENT, workspace, client)
    if not values:
        raise UsageError("nothing to change: give --name or --notes")
    row = _store(ctx).edit_client(client_id, **values)
    click.echo(f"Updated client {_shown(row['name'], row['id'])}; {PENDING_NOTE}.")


@clients.command("rm")
@click.argument("client")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@workspace_option
@click.pass_context
def clients_rm(ctx: click.Context, client: str, yes: bool, workspace: str | None) -> None:
    """Delete a client; its projects are kept without a client (as Toggl does)."""
    client_id, name, uses = _usage(ctx, Kind.CLIENT, client, workspace)
    n = uses["project"]
    projects_text = f"{n} project{'' if n == 1 else 's'}"
    confirm(f"Delete client {_shown(name, client_id)}? {projects_text} will be left without a client", yes)
    _store(ctx).delete_client(client_id)
    click.echo(f"Deleted client {_shown(name, client_id)} ({projects_text} unassigned); {PENDING_NOTE}.")


def _client(ctx: click.Context, client: str, workspace: str | None) -> dict[str, Any]:
    from togglsync import rows

    with _app(ctx).engine.connect() as conn:
        client_id, _ = _resolve(conn, Kind.CLIENT, workspace, client)
        return rows.require(conn, Kind.CLIENT, client_id)


@clients.command("archive")
@click.argument("client")
@workspace_option
@click.pass_context
def clients_archive(ctx: click.Context, client: str, workspace: str | None) -> None:
    """Archive a client (Toggl allows this on paid plans only)."""
    row = _client(ctx, client, workspace)
    if row["archived"]:
        click.echo(f"Client {_shown(row['name'], row['id'])} is already archived.")
        return
    row = _store(ctx).archive_client(row["id"])
    click.echo(f"Archived client {_shown(row['name'], row['id'])}; {PENDING_NOTE}.")


@clients.command("restore")
@click.argument("client")
@workspace_option
@click.pass_context
def clients_restore(ctx: click.Context, client: str, workspace: str | None) -> None:
    """Un-archive a client (its projects stay as they are)."""
    row = _client(ctx, client, workspace)
    if not row["archived"]:
        click.echo(f"Client {_shown(row['name'], row['id'])} is not archived.")
        return
    row = _store(ctx).restore_client(row["id"])
    click.echo(f"Restored client {_shown(row['name'], row['id'])}; {PENDING_NOTE}.")


# --- tags ----------------------------------------------------------------------------------

TAG_TABLE = ["id", "name", "entries"]
TAG_DATA = ["id", "name", "workspace_id", "entries"]


@click.group(cls=DefaultListGroup)
def tags() -> None:
    """Tags, offline: list, add, edit, rm (with no command: list them).

    Changes are queued and sent to Toggl by `togglsync sync`.
    """


@tags.command("list")
@workspace_option
@output_format_options
@click.pass_context
def tags_list(ctx: click.Context, workspace: str | None, fmt: str) -> None:
    """List tags with how many local time entries carry each."""
    rows = [
        {"id": _ref(r["id"]), "name": r["name"], "workspace_id": r["workspace_id"], "entries": r["uses"]["time_entry"]}
        for r in _listing(ctx, Kind.TAG, workspace, True)
    ]
    render_rows(rows, TAG_TABLE if fmt in HUMAN else TAG_DATA, fmt, fixed=IDS)


@tags.command("add")
@click.argument("name")
@workspace_option
@click.pass_context
def tags_add(ctx: click.Context, name: str, workspace: str | None) -> None:
    """Create a tag (offline; it gets a local id L<n> until synced)."""
    with _app(ctx).engine.connect() as conn:
        wid = lookup.workspace_id(conn, workspace, _app(ctx).settings.account)
    row = _store(ctx).create_tag(name, workspace_id=wid)
    click.echo(f"Created tag {_shown(row['name'], row['id'])}; {PENDING_NOTE}.")


@tags.command("edit")
@click.argument("tag")
@click.option("--name", help="New name (required).")
@workspace_option
@click.pass_context
def tags_edit(ctx: click.Context, tag: str, name: str | None, workspace: str | None) -> None:
    """Rename a tag (TAG: name or id); entries carrying it follow."""
    if name is None:
        raise UsageError("nothing to change: give --name NEW")
    with _app(ctx).engine.connect() as conn:
        tag_id, _ = _resolve(conn, Kind.TAG, workspace, tag)
    row = _store(ctx).edit_tag(tag_id, name=name)
    click.echo(f"Updated tag {_shown(row['name'], row['id'])}; {PENDING_NOTE}.")


@tags.command("rm")
@click.argument("tag")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@workspace_option
@click.pass_context
def tags_rm(ctx: click.Context, tag: str, yes: bool, workspace: str | None) -> None:
    """Delete a tag; it is removed from the time entries that carry it."""
    tag_id, name, uses = _usage(ctx, Kind.TAG, tag, workspace)
    entries = _entries(uses["time_entry"])
    confirm(f"Delete tag {_shown(name, tag_id)}? It will be removed from {entries}", yes)
    _store(ctx).delete_tag(tag_id)
    click.echo(f"Deleted tag {_shown(name, tag_id)} (removed from {entries}); {PENDING_NOTE}.")
