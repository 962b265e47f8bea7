"""The timer and time entries, offline: start, stop, continue, cancel, status, add, edit, rm, log.

Every command here reads and writes the local database only and answers at
once; nothing reaches Toggl until the next sync (`--sync` runs one right after
the change). Times are stored in UTC, read and shown in the display zone
(--tz, else the account's Toggl time zone).

An entry is named by its Toggl id, `L<n>` (created offline, not pushed yet)
or `-1`, `-2`... (the most recent entry first, by start time). Bad input is
refused before anything is written: the database is left as it was.

Imports of SQLAlchemy and the library are inside the functions. The bodies of
`status`, `start` and `stop` are in `cli/quick.py`, free of click, where the
entry point's fast way runs them too.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

import click

from togglsync.cli import quick
from togglsync.cli.base import CliError, note_pushed
from togglsync.cli.base import get_app as _app
from togglsync.cli.quick import Refs as _Refs
from togglsync.errors import ExitCode, TogglSyncError, UsageError
from togglsync.output import format_options

if TYPE_CHECKING:
    from togglsync.db import postgres
    from togglsync.db.lite import Database
    from togglsync.db.sql import Connection
    from togglsync.local import LocalStore

TIME_HELP = "e.g. 9:30, 14:05, -15m, 'yesterday 17:00', 2026-11-20T09:00 (in the display zone)"
DURATION_HELP = "e.g. 1h30m, 90m, 1:30"

# --- shared options ------------------------------------------------------------------------


def _sync_option(func):
    return click.option(
        "--sync", "sync_now", is_flag=True,
        help="Run one sync of the account the change was made in (--account, else the default account) "
             "right after the change, and print its summary.",
    )(func)


def _workspace_option(func):
    return click.option(
        "-w", "--workspace", metavar="NAME|ID", default=None,
        help="Workspace by name or id (default: your default workspace).",
    )(func)


def _project_option(func):
    return click.option(
        "-p", "--project", metavar="NAME|ID",
        help="Project by name (case-insensitive) or id.",
    )(func)


def _tag_option(func):
    return click.option(
        "-t", "--tag", "tags", multiple=True, metavar="NAME|ID",
        help="Tag by name (case-insensitive) or id; repeat for several.",
    )(func)


def _allow_long_option(func):
    return click.option(
        "--allow-long", is_flag=True,
        help="Accept an entry longer than 24 hours (refused otherwise: usually a start on the wrong day).",
    )(func)


def _create_option(func):
    return click.option(
        "--create", is_flag=True,
        help="Create an unknown project or tag offline (pushed on the next sync) instead of refusing it.",
    )(func)


# --- one invocation's context ----------------------------------------------------------------


class _Session(quick.Session):
    """`quick.Session` for a click command: the app of the invocation, its store, and a
    database closed with the context (a missing one said as `database_found` says it)."""

    def __init__(self, ctx: click.Context, *, read_only: bool = False):
        self.ctx = ctx
        self.app = _app(ctx)
        super().__init__(self.app.settings, read_only=read_only)

    @cached_property
    def engine(self):
        return self.app.engine

    def open_db(self) -> Database | postgres.Database:
        from togglsync.cli.base import database_found

        with database_found(self.ctx):
            db = super().open_db()
        self.ctx.call_on_close(db.close)
        return db

    @cached_property
    def store(self) -> LocalStore:
        from togglsync.local import LocalStore

        return LocalStore(self.engine, account=self.account)


_duration = quick.duration
_label = quick.label
_fmt_id = quick.fmt_id
_public_id = quick.public_id


def _parse_duration(text: str, option: str = "--duration") -> int:
    from togglsync.timeparse import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


def _not_an_option(value: str) -> None:
    """ID arguments accept `-1`, `-2`...; anything else starting with `-` is a mistyped option."""
    if value.startswith("-") and not re.fullmatch(r"-\d+", value):
        raise UsageError(f"no such option: {value}")


def _entry_id(conn: Connection, value: str) -> int:
    """An entry named on the command line (Toggl id, L<n>, -N); an L<n> pushed since is said so."""
    from togglsync import lookup

    entry_id = lookup.entry_id(conn, value)
    note_pushed(value, entry_id)
    return entry_id


def _entry(conn: Connection, entry_id: int) -> dict[str, Any]:
    from togglsync import rows

    return rows.require(conn, "time_entry", entry_id)


def _what_changed(s: _Session, conn: Connection, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """`description: "a" -> "b"`, one line per field an edit changed (times as one span)."""
    from togglsync.catalog import name_of

    def project(row: dict[str, Any]) -> str:
        pid = row.get("project_id")
        return "(none)" if pid is None else str(name_of(conn, "project", pid) or _fmt_id(pid))

    shown = {
        "description": lambda row: f'"{row["description"]}"' if row.get("description") else "(none)",
        "project": project,
        "tags": lambda row: ", ".join(f"#{t}" for t in row.get("tags") or []) or "(none)",
        "billable": lambda row: "yes" if row.get("billable") else "no",
        "times": lambda row: _span(s, row),
    }
    lines = []
    for field, show in shown.items():
        old, new = show(before), show(after)
        if old != new:
            lines.append(f"{field}: {old} -> {new}")
    return lines or ["nothing changed: it was so already"]


def _span(s: _Session, row: dict[str, Any]) -> str:
    """`2026-11-20 09:00-10:30 (1:30:00)`, or `since 09:00 (0:12:00)` for a running entry."""
    if row["duration"] < 0:
        return f"since {s.hm(row['start'])} ({_duration(max(0, int((s.now - row['start']).total_seconds())))})"
    day = s.local_date(row["start"])
    return f"{day.isoformat()} {s.hm(row['start'], day=day)}-{s.hm(row['stop'], day=day)} ({_duration(row['duration'])})"


# --- projects and tags named on the command line ---------------------------------------------


def _existing(conn: Connection, kind: str, wid: int, value: str, *, can_create: bool = False) -> int:
    return quick.existing(conn, kind, wid, value, note_pushed, can_create=can_create)


def _resolve_refs(conn: Connection, wid: int, project: str | None, tags: list[str], create: bool) -> _Refs:
    return quick.resolve_refs(conn, wid, project, tags, create, note_pushed)


def _print_created(created: list[str]) -> None:
    for what in created:
        click.echo(f"Created {what} (offline; pushed on the next sync).")


# --- --sync ----------------------------------------------------------------------------------


def _sync_after(s: _Session, wanted: bool) -> None:
    """Run one sync of the account the change was made in (--account, else the default
    account), as `togglsync sync --account NAME` does (its credentials, its lock), and exit
    with its code."""
    if not wanted:
        return
    from togglsync.cli.syncing import sync_account_now

    try:
        result = sync_account_now(s.ctx, s.account)
    except TogglSyncError as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CliError(f"saved locally but not synced: {message}", exc.exit_code) from None
    if result.exit_code != ExitCode.OK:
        s.ctx.exit(result.exit_code)


# --- start, stop, continue, cancel -------------------------------------------------------------


def _report_started(s: _Session, entry: dict[str, Any], running_before: dict[str, Any] | None) -> None:
    quick.report_started(s, entry, running_before, click.echo)


@click.command()
@click.argument("description", required=False)
@_project_option
@_tag_option
@click.option("--billable", is_flag=True, help="Mark the entry billable.")
@click.option("--at", metavar="TIME", help=f"Start time instead of now, {TIME_HELP}.")
@_create_option
@_workspace_option
@_sync_option
@click.pass_context
def start(ctx, description, project, tags, billable, at, create, workspace, sync_now) -> None:
    """Start a timer; a running one is stopped at the new start.

    Offline: the timer is in the local database at once and reaches Toggl on
    the next sync.

    \b
    togglsync start "Writing docs" -p "Website relaunch" -t review
    togglsync start "Call" --at 9:30 -p "New client" --create   # makes the project offline
    togglsync start                                            # a timer without a description
    """
    s = _Session(ctx)
    start_at = s.time(at, "--at") if at is not None else s.now
    refs, running = quick.start_refs(s, project, list(tags), create, workspace, note_pushed)
    created: list[str] = []
    if not refs.complete:
        # --create: the new project/tags and the timer in one transaction, through LocalStore.
        with s.store.batch() as store:
            created = refs.apply(store)
            entry = store.start_timer(
                description, project_id=refs.project_id, tag_ids=refs.tag_ids, billable=billable,
                start=start_at, workspace_id=refs.workspace_id, tz=s.tz,
            )
    else:
        entry = quick.start_timer(s, description, refs, billable, start_at)
    _print_created(created)
    _report_started(s, entry, running)
    _sync_after(s, sync_now)


@click.command()
@click.option("--at", metavar="TIME", help=f"Stop time instead of now, {TIME_HELP}.")
@_sync_option
@click.pass_context
def stop(ctx, at, sync_now) -> None:
    """Stop the running timer; the stop time recorded here is the one Toggl gets."""
    s = _Session(ctx)
    entry = quick.stop_timer(s, at)
    quick.report_stopped(s, entry, click.echo)
    _sync_after(s, sync_now)


@click.command("continue", context_settings={"ignore_unknown_options": True})
@click.argument("entry", required=False, metavar="[ID|-N]")
@click.option("--at", metavar="TIME", help=f"Start time instead of now, {TIME_HELP}.")
@_sync_option
@click.pass_context
def continue_(ctx, entry, at, sync_now) -> None:
    """Start a timer like an earlier entry: same description, project, tags and billable.

    ID is a Toggl id, L<n> or -N (-1 is the most recent entry); default: the
    most recent stopped entry. A running timer is stopped at the new start.
    """
    from togglsync import lookup, timer

    s = _Session(ctx)
    if entry is not None:
        _not_an_option(entry)
    start_at = s.time(at, "--at") if at is not None else s.now
    with s.db.snapshot() as conn:
        entry_id = _entry_id(conn, entry) if entry is not None else None
        running = timer.running_entry(conn, s.account)
    new = s.store.continue_entry(entry_id, start=start_at, tz=s.tz)
    _report_started(s, new, running)
    _sync_after(s, sync_now)


@click.command()
@_sync_option
@click.pass_context
def cancel(ctx, sync_now) -> None:
    """Discard the running timer (delete it). If it was never pushed, Toggl never hears of it."""
    from togglsync import outbox, timer

    s = _Session(ctx)
    with s.db.snapshot() as conn:
        running = timer.running_entry(conn, s.account)
        if running is None:
            raise UsageError("no timer is running")
        label = _label(conn, running)
        in_flight = any(op.state is outbox.State.IN_FLIGHT for op in outbox.for_record(conn, "time_entry", running["id"]))
    s.store.delete_entry(running["id"])
    if running["id"] > 0:
        fate = "Toggl deletes it on the next sync"
    elif in_flight:
        fate = "its create may have reached Toggl: the next sync removes it there"
    else:
        fate = "it was never sent to Toggl, and nothing will be"
    click.echo(f"Discarded {label}, started {s.hm(running['start'])}; {fate}.")
    _sync_after(s, sync_now)


# --- status ----------------------------------------------------------------------------------


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_context
def status(ctx, as_json) -> None:
    """The running timer, today's and this week's totals, pending changes and the last sync."""
    quick.show_status(_Session(ctx, read_only=True), as_json, click.echo)


# --- add, edit, rm ------------------------------------------------------------------------------


@click.command()
@click.argument("description", required=False)
@click.option("--start", "start_text", metavar="TIME", help=f"When it started (required), {TIME_HELP}.")
@click.option("--stop", "stop_text", metavar="TIME",
              help="When it ended; a time without a date is on the start's day.")
@click.option("--duration", metavar="DURATION", help=f"How long it lasted instead of --stop, {DURATION_HELP}.")
@_project_option
@_tag_option
@click.option("--billable", is_flag=True, help="Mark the entry billable.")
@_allow_long_option
@_create_option
@_workspace_option
@_sync_option
@click.pass_context
def add(ctx, description, start_text, stop_text, duration, project, tags, billable, allow_long, create, workspace,
        sync_now) -> None:
    """Add a finished entry: --start and --stop or --duration (a running timer is `start`).

    \b
    togglsync add "Review" --start "yesterday 14:00" --duration 1h30m -p "Website relaunch"
    togglsync add "Standup" --start 9:30 --stop 9:45 -t meeting --billable
    """
    from togglsync import lookup

    s = _Session(ctx)
    if start_text is None:
        raise UsageError("add needs --start TIME (to start a timer now, use `togglsync start`)")
    if stop_text is None and duration is None:
        raise UsageError("add needs --stop TIME or --duration (a running timer is `togglsync start`)")
    start_at = s.time(start_text, "--start")
    stop_at = s.time(stop_text, "--stop", default_date=s.local_date(start_at)) if stop_text is not None else None
    seconds = _parse_duration(duration) if duration is not None else None
    with s.db.snapshot() as conn:
        refs = _resolve_refs(conn, lookup.workspace_id(conn, workspace, s.account), project, list(tags), create)
    with s.store.batch() as store:
        created = refs.apply(store)
        entry = store.add_entry(
            description, start=start_at, stop=stop_at, duration=seconds, project_id=refs.project_id,
            tag_ids=refs.tag_ids, billable=billable, workspace_id=refs.workspace_id, tz=s.tz, allow_long=allow_long,
        )
    _print_created(created)
    with s.db.snapshot() as conn:
        click.echo(f"Added {_label(conn, entry)} {_span(s, entry)}.")
    _sync_after(s, sync_now)


def _split_tags(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("entry", required=False, metavar="ID")
@click.option("-d", "--description", help="New description ('' for none).")
@click.option("-p", "--project", metavar="NAME|ID|none", help="New project by name or id; `none` removes it.")
@click.option("--tags", "tag_list", metavar="A,B", help="Replace the tags with this comma-separated list ('' for none).")
@click.option("-t", "--tag", "tags", multiple=True, metavar="NAME|ID", help="Replace the tags; repeat for several.")
@click.option("--add-tag", "add_tags", multiple=True, metavar="NAME|ID", help="Add a tag; repeatable.")
@click.option("--remove-tag", "remove_tags", multiple=True, metavar="NAME|ID", help="Remove a tag; repeatable.")
@click.option("--start", "start_text", metavar="TIME",
              help="New start; a time without a date is on the entry's day. The stop stays where it is.")
@click.option("--stop", "stop_text", metavar="TIME",
              help="New stop (stops a running entry); a time without a date is on the entry's day.")
@click.option("--duration", metavar="DURATION", help=f"New length, moving the stop, {DURATION_HELP}.")
@click.option("--billable/--no-billable", default=None, help="Mark billable or not.")
@_allow_long_option
@_create_option
@_sync_option
@click.pass_context
def edit(ctx, entry, description, project, tag_list, tags, add_tags, remove_tags, start_text, stop_text,
         duration, billable, allow_long, create, sync_now) -> None:
    """Change an entry: ID is a Toggl id, L<n> or -N (-1 is the entry started latest).

    It prints which entry it changed and what changed (before -> after).

    \b
    togglsync edit -1 --description "Fix the login page" --add-tag urgent
    togglsync edit -2 --start 9:00 --stop 10:15       # the entry's own day
    togglsync edit 4100000123 --project none
    """
    from togglsync import lookup

    s = _Session(ctx)
    if entry is None:
        raise UsageError("edit needs the ID of an entry, e.g. -1 or L5 (see `togglsync log`)")
    _not_an_option(entry)
    changes: dict[str, Any] = {}
    if description is not None:
        changes["description"] = description
    if billable is not None:
        changes["billable"] = billable
    if project is not None and project.strip().casefold() in ("none", ""):
        changes["project_id"] = None
        project = None
    replace = tag_list is not None or bool(tags)
    with s.db.snapshot() as conn:
        entry_id = _entry_id(conn, entry)
        row = _entry(conn, entry_id)
        wid = row["workspace_id"]
        day = s.local_date(row["start"])
        # Project and tags as named (created in the same transaction as the edit with --create).
        named = (_split_tags(tag_list or "") + list(tags) if replace else []) + list(add_tags)
        refs = _resolve_refs(conn, wid, project, named, create)
        removed = [_existing(conn, "tag", wid, t) for t in remove_tags]
    new_start = s.time(start_text, "--start", default_date=day) if start_text is not None else None
    new_stop = s.time(stop_text, "--stop", default_date=day) if stop_text is not None else None
    seconds = _parse_duration(duration) if duration is not None else None
    times = (new_start, new_stop, seconds)
    if not (changes or project is not None or replace or add_tags or remove_tags or times != (None, None, None)):
        raise UsageError(
            "nothing to change: give --description, --project, --tags/-t, --add-tag, --remove-tag, "
            "--start, --stop, --duration or --billable/--no-billable"
        )

    with s.store.batch() as store:
        created = refs.apply(store)
        if project is not None:
            changes["project_id"] = refs.project_id
        if replace:
            changes["tag_ids"] = refs.tag_ids
        elif add_tags:
            changes["add_tag_ids"] = refs.tag_ids
        updated = store.edit_entry(
            entry_id, remove_tag_ids=removed, start=new_start, stop=new_stop, duration=seconds, tz=s.tz,
            allow_long=allow_long, **changes
        )
    _print_created(created)
    with s.db.snapshot() as conn:
        click.echo(f"Updated {_label(conn, updated)} {_span(s, updated)}.")
        for line in _what_changed(s, conn, row, updated):
            click.echo(f"  {line}")
    _sync_after(s, sync_now)


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("entries", nargs=-1, metavar="ID...")
@_sync_option
@click.pass_context
def rm(ctx, entries, sync_now) -> None:
    """Delete entries: each ID is a Toggl id, L<n> or -N. Several are deleted together, or none."""
    from togglsync import lookup

    s = _Session(ctx)
    if not entries:
        raise UsageError("rm needs the ID of an entry, e.g. -1 or L5 (see `togglsync log`)")
    for value in entries:
        _not_an_option(value)
    with s.db.snapshot() as conn:
        # All resolved before any is deleted: `rm -1 -2` means the two most recent entries.
        ids = list(dict.fromkeys(_entry_id(conn, value) for value in entries))
        rows = [_entry(conn, entry_id) for entry_id in ids]
        labels = [f"{_label(conn, row)} {_span(s, row)}" for row in rows]
    with s.store.batch() as store:
        for entry_id in ids:
            store.delete_entry(entry_id)
    for label in labels:
        click.echo(f"Deleted {label}.")
    if any(entry_id > 0 for entry_id in ids) and not sync_now:
        # Toggl still has them until the next sync: the delete can be taken back until then.
        many = len(ids) > 1
        click.echo(f"Toggl still has {'them' if many else 'it'} until the next sync: `togglsync undo` brings "
                   f"{'them' if many else 'it'} back.")
    _sync_after(s, sync_now)


# --- log -------------------------------------------------------------------------------------

_LOG_COLUMNS = ["id", "date", "time", "duration", "project", "tags", "description"]
_LOG_FIXED = ("id", "date", "time", "duration")
_LOG_DATA_COLUMNS = [
    "id", "date", "start", "stop", "seconds", "duration", "running", "description", "project", "project_id",
    "client", "tags", "billable", "workspace_id", "unsynced", "user_id",
]
_RANGES = ("today", "yesterday", "week", "last_week", "month", "last_month", "year", "last_year")


def _times(s: _Session, row: dict[str, Any]) -> str:
    """`09:30-10:45`; `23:10-01:30+1` past midnight; `10:35-running`."""
    day = row["start"].date()
    start = s.hm(row["start"], day=day)
    if row["running"]:
        return f"{start}-running"
    stop = row["stop"].astimezone(s.tz)
    later = (stop.date() - day).days
    return f"{start}-{s.hm(stop, day=stop.date())}{f'+{later}' if later else ''}"


@click.command()
@click.option("--today", is_flag=True, help="Entries started today (the default).")
@click.option("--yesterday", is_flag=True, help="Entries started yesterday.")
@click.option("--week", is_flag=True, help="This week (weeks start on your Toggl beginning of week).")
@click.option("--last-week", is_flag=True, help="Last week.")
@click.option("--month", is_flag=True, help="This calendar month.")
@click.option("--last-month", is_flag=True, help="Last calendar month.")
@click.option("--year", is_flag=True, help="This calendar year.")
@click.option("--last-year", is_flag=True, help="Last calendar year.")
@click.option("--from", "from_text", metavar="DATE|TIME",
              help="Start of the range, e.g. 2026-11-01, 'monday', a month 2026-03 or a year 2019 "
                   "(alone: up to today, that whole day included).")
@click.option("--to", "to_text", metavar="DATE|TIME",
              help="End of the range; a date alone includes that whole day, a month (2026-03) or a year (2024) "
                   "the whole month or year (alone: from the first day with an entry).")
@click.option("-p", "--project", metavar="NAME|ID", help="Only entries of this project (name or id).")
@click.option("-t", "--tag", "tags", multiple=True, metavar="NAME|ID", help="Only entries with this tag (name or id).")
@click.option("-w", "--workspace", metavar="NAME|ID", default=None,
              help="Only this workspace's entries (default: all); -p/-t names are looked up here "
                   "(default: your default workspace).")
@format_options(json_help="Output JSON (local times with their UTC offset).")
@click.pass_context
def log(ctx, today, yesterday, week, last_week, month, last_month, year, last_year, from_text, to_text, project,
        tags, workspace, fmt) -> None:
    """List time entries, oldest first, with a total (default: today's).

    Days are cut in the display zone; an entry belongs to the day it starts.
    At a terminal: a table; in a pipe: tab-separated rows with a header line
    (no title, no total), so grep, cut and awk see whole records.

    \b
    togglsync log --yesterday
    togglsync log --week -p "Website relaunch" | grep -i review
    togglsync log --from 2026-11-01 --to 2026-11-15 --nl
    togglsync log --from 2019 --to 2024 -p "Website relaunch" --csv
    """
    from togglsync import lookup
    from togglsync.output import HUMAN, render_rows
    from togglsync.report import custom_range, entry_rows
    from togglsync.timeparse import named_range

    s = _Session(ctx, read_only=True)
    flags = dict(zip(_RANGES, (today, yesterday, week, last_week, month, last_month, year, last_year)))
    chosen = [name for name, on in flags.items() if on]
    custom = [f"--{n}" for n, text in (("from", from_text), ("to", to_text)) if text is not None]
    if len(chosen) > 1 or (chosen and custom):
        given = [f"--{n.replace('_', '-')}" for n in chosen] + custom[:1]
        raise UsageError(f"choose one range: {' and '.join(given)} exclude each other")
    if len(tags) > 1:
        raise UsageError("-t/--tag: give one tag")
    tz = s.tz
    with s.db.snapshot() as conn:
        wid = lookup.workspace_id(conn, workspace, s.account)
        project_id = _existing(conn, "project", wid, project) if project is not None else None
        tag_id = _existing(conn, "tag", wid, tags[0]) if tags else None
        bow = lookup.beginning_of_week(conn)
    try:
        if custom:
            start, end = custom_range(s.db.conn, from_text, to_text, tz=tz, now=s.now)
            name = None
        else:
            name = (chosen or ["today"])[0].replace("_", "-")
            start, end = named_range(name, tz=tz, now=s.now, beginning_of_week=bow)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    rows = entry_rows(
        s.db.conn, start=start, end=end, now=s.now, tz=tz, project_id=project_id, tag_id=tag_id,
        workspace_id=wid if workspace is not None else None,
        user_id=lookup.account_filter(s.db.conn, s.app.settings.account_filter()),
    )
    rows.reverse()  # oldest first: the most recent (-1) ends up right above the total
    if fmt not in HUMAN:
        data = [{
            **r,
            "id": _public_id(r["id"]),
            "project_id": _public_id(r["project_id"]),
            "start": r["start"].isoformat(),
            "stop": r["stop"].isoformat() if r["stop"] else None,
            "duration": _duration(r["seconds"]),
        } for r in rows]
        render_rows(data, _LOG_DATA_COLUMNS, fmt)
        return
    table = [{
        "id": _fmt_id(r["id"]),
        "date": r["date"],
        "time": _times(s, r),
        "duration": _duration(r["seconds"]),
        "project": r["project"] or "",
        "tags": ", ".join(r["tags"]),
        "description": r["description"] or "",
    } for r in rows]
    last_day = (end - timedelta(seconds=1)).astimezone(tz).date()
    first_day = start.astimezone(tz).date()
    one_day = first_day == last_day
    when = first_day.isoformat() if one_day else f"{first_day} to {last_day}"
    title = f"{name + ', ' if name else ''}{when} ({tz.key})"
    total = sum(r["seconds"] for r in rows)
    if fmt == "plain":
        # For grep, cut and awk: every row complete with its date, no title, no total line.
        render_rows(table, _LOG_COLUMNS, "plain")
        if not rows:
            click.echo(f"No entries: {title}.", err=True)
        return
    if not rows:
        click.echo(f"No entries: {title}.")
        return
    # One day: its date is in the title, and the description gets the room.
    columns = [c for c in _LOG_COLUMNS if not (one_day and c == "date")]
    render_rows(table, columns, "table", title=title, fixed=_LOG_FIXED)
    click.echo(f"Total: {_duration(total)} in {len(rows)} entr{'y' if len(rows) == 1 else 'ies'}")
