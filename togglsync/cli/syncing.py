"""Sync and its queue: sync, pending, conflicts, schedule."""

from __future__ import annotations

from typing import Any

import click

from togglsync.cli.base import DefaultListGroup, get_app as _app
from togglsync.cli.base import scrubbed
from togglsync.errors import ExitCode, UsageError
from togglsync.output import dumps, output_format_options, render_rows

# --- sync ----------------------------------------------------------------------------------


@click.command()
@click.option("--budget", type=click.IntRange(1), metavar="N", help="Send at most N requests; the next run resumes.")
@click.option("--pull-only", is_flag=True, help="Only pull changes from Toggl.")
@click.option("--push-only", is_flag=True, help="Only push local changes (still pulls first if a create's outcome is unknown).")
@click.option("--full", is_flag=True,
              help="Read everything again: the whole catalog (workspaces, clients, projects, tags, users) and "
                   "every entry of the last 89 days (and a year ahead); trusts a re-sync that finds no entries "
                   "left on Toggl (a plain sync refuses to empty the cache).")
@click.option("--policy", type=click.Choice(["local", "remote"]), default="local", show_default=True,
              help="Which side wins when both changed the same field (the other value goes to `conflicts`).")
@click.option("--wait", is_flag=True, help="Wait for a running sync to finish instead of exiting with code 3.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success (for cron).")
@click.pass_context
def sync(ctx: click.Context, budget, pull_only, push_only, full, policy, wait, as_json, quiet) -> None:
    """Pull Toggl's changes, then push local edits. One summary line; exit code says how it went.

    \b
    togglsync sync
    togglsync sync --quiet        # for cron: nothing printed on success
    togglsync sync --json --debug # the result as JSON, the requests logged to stderr
    """
    from togglsync.sync.engine import SyncInterrupted, SyncOptions, run_sync, sync_lock

    if pull_only and push_only:
        raise UsageError("--pull-only and --push-only exclude each other")
    app = _app(ctx)
    options = SyncOptions(pull=not push_only, push=not pull_only, budget=budget, policy=policy, force_catalog=full,
                          full_entries=full, accept_empty_resync=full)
    try:
        with sync_lock(app.settings.db_target, wait=wait):
            result = run_sync(app.engine, app.client, options)
    except KeyboardInterrupt as interrupted:
        # Everything done so far is kept; the next sync goes on from there.
        done = interrupted.result if isinstance(interrupted, SyncInterrupted) else None
        if done is not None and done.to_push:
            what = f"pushed {done.pushed} of {done.to_push} local changes"
        else:
            what = "what was pulled so far is kept"
        click.echo(f"Interrupted: {what}; run `togglsync sync` again to finish.", err=True)
        ctx.exit(ExitCode.INTERRUPTED)
    if as_json:
        click.echo(scrubbed(dumps(result.as_dict())))
        if result.error:
            click.echo(f"Error: {scrubbed(result.error)}", err=True)
    else:
        render_result(result, quiet=quiet)
    ctx.exit(result.exit_code)


def render_result(result: Any, *, quiet: bool = False) -> None:
    """What a sync prints (a `SyncResult`): the summary, each refusal, what waits, the error.

    `--quiet` prints nothing on success, and one line when edits wait for the user
    (exit code 7: cron mails it, every run until they are settled)."""
    if quiet and result.exit_code in (ExitCode.OK, ExitCode.FAILED_OPS):
        if result.exit_code == ExitCode.FAILED_OPS:
            click.echo(result.parked_line(), err=True)
        return
    click.echo(result.summary(), err=result.exit_code != ExitCode.OK)
    for failure in result.failures:
        click.echo(f"  failed: {scrubbed(failure)}", err=True)
    if result.parked:
        click.echo(result.parked_line(), err=True)
    if result.error:
        click.echo(f"Error: {scrubbed(result.error)}", err=True)


PENDING_COLUMNS = ["id", "action", "resource", "record_id", "state", "what", "error"]


def display_zone(ctx: click.Context) -> Any:
    """The display zone (--tz, else your Toggl time zone): times in listings and messages."""
    from togglsync.lookup import display_tz

    app = _app(ctx)
    with app.engine.connect() as conn:
        return display_tz(conn, app.settings.timezone)


def _pending_rows(ctx: click.Context) -> list[dict[str, Any]]:
    """The outbox as people read it: an unsynced record as L<n> (a string), never its negative id."""
    from togglsync.queue import list_pending
    from togglsync.records import public_id

    rows = list_pending(_app(ctx).engine, display_zone(ctx))
    for row in rows:
        row["record_id"] = public_id(row["record_id"])
    return rows


@click.group(cls=DefaultListGroup)
def pending() -> None:
    """Local changes waiting to be pushed (with no command, or only options: list them)."""


@pending.command("list")
@output_format_options
@click.pass_context
def pending_list(ctx: click.Context, fmt: str) -> None:
    """List pending operations, oldest first."""
    render_rows(_pending_rows(ctx), PENDING_COLUMNS, fmt, zone=display_zone(ctx))


@pending.command("retry")
@click.argument("op_id", type=click.IntRange(0, 2**63 - 1))
@click.pass_context
def pending_retry(ctx: click.Context, op_id: int) -> None:
    """Queue a failed operation again (it is sent on the next sync)."""
    from togglsync.queue import retry_operation

    retry_operation(_app(ctx).engine, op_id)
    click.echo(f"Operation {op_id} queued again.")


@pending.command("adopt")
@click.argument("op_id", type=click.IntRange(0, 2**63 - 1))
@click.argument("toggl_id", type=click.IntRange(1, 2**63 - 1))
@click.pass_context
def pending_adopt(ctx: click.Context, op_id: int, toggl_id: int) -> None:
    """Settle a parked create: the record TOGGL_ID on Toggl is the one it made."""
    from togglsync.queue import adopt_operation

    adopt_operation(_app(ctx).engine, op_id, toggl_id)
    click.echo(f"Operation {op_id} settled: the record is {toggl_id} on Toggl.")


@pending.command("drop")
@click.argument("op_id", type=click.IntRange(0, 2**63 - 1))
@click.pass_context
def pending_drop(ctx: click.Context, op_id: int) -> None:
    """Give a pending operation up: a record made here goes; a record changed or deleted here is
    put back as Toggl has it (read again from Toggl, one request, when it answers)."""
    from togglsync.queue import drop_operation

    app = _app(ctx)
    dropped = drop_operation(app.engine, op_id, display_zone(ctx))
    others = [str(i) for i in dropped.op_ids if i != op_id]
    head = f"Operation {op_id} dropped" + (f" (with {', '.join(others)}: every unsent edit of the record)" if others else "")
    if not dropped.restored:
        click.echo(f"{head}: {dropped.describe()} is {dropped.outcome()}.")
        return
    failed = _reread(app, dropped)
    if failed is None:
        click.echo(f"{head}: {dropped.describe()} is back as Toggl has it (read from Toggl just now).")
    elif failed is _GONE:
        click.echo(f"{head}: {dropped.describe()} is removed here: Toggl has it no more (read from Toggl just now).")
    else:
        click.echo(f"{head}: {dropped.describe()} is back as Toggl had it at the last sync (not read again: "
                   f"{failed}); the next sync brings any change made there since.")


_GONE = "gone"


def _reread(app: Any, dropped: Any) -> str | None:
    """Read the record of a dropped operation again from Toggl (one request, under the sync
    lock). None when done; `_GONE` when Toggl has it no more; else why not (offline, no
    credentials, a sync running)."""
    from togglsync.errors import TogglSyncError
    from togglsync.sync.engine import reread, sync_lock

    if dropped.record_id < 0:
        return "Toggl has not given it an id yet"
    try:
        with sync_lock(app.settings.db_target):
            there = reread(app.engine, app.client, dropped.kind, dropped.record_id, dropped.workspace_id)
    except TogglSyncError as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None if there else _GONE


@click.command()
@click.option("--dry-run", "-n", is_flag=True, help="Say what would be undone, and change nothing.")
@click.pass_context
def undo(ctx: click.Context, dry_run: bool) -> None:
    """Reverse the last local change not pushed yet (all that one command did), and say what it did.

    A record added here goes; one changed or deleted here is back as Toggl has it (a record's
    edits since the last sync travel together, so all of them are undone). Works offline and
    sends nothing. A change already pushed is not undone: edit the record, or add it again.
    """
    from togglsync.queue import undo_last

    done = undo_last(_app(ctx).engine, dry_run=dry_run, tz=display_zone(ctx))
    if not done.given_up:
        click.echo(f"Nothing to undo: {done.reason}.")
        return
    for item in done.given_up:
        if dry_run:
            click.echo(f"Would undo {item.change()}: it would be {item.outcome()}.")
        else:
            click.echo(f"Undid {item.change()}: it is {item.outcome()}.")


_CONFLICT_COLUMNS = ["id", "resource", "record_id", "kind", "field", "base_value", "local_value", "remote_value", "kept", "detected_at"]


def _conflict_rows(ctx: click.Context, include_resolved: bool = False) -> list[dict[str, Any]]:
    """Conflicts as people read them: an unsynced record as L<n>, like `pending`."""
    from togglsync.queue import list_conflicts
    from togglsync.records import public_id

    rows = list_conflicts(_app(ctx).engine, include_resolved=include_resolved)
    for row in rows:
        row["record_id"] = public_id(row["record_id"])
    return rows


@click.group(cls=DefaultListGroup)
def conflicts() -> None:
    """Fields both sides changed, and edits lost to deletions on Toggl (with no command, or only
    options: list open ones; `conflicts --all` includes resolved ones)."""


@conflicts.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include resolved conflicts.")
@output_format_options
@click.pass_context
def conflicts_list(ctx: click.Context, show_all: bool, fmt: str) -> None:
    """List conflicts."""
    render_rows(_conflict_rows(ctx, include_resolved=show_all), _CONFLICT_COLUMNS + ["resolved_at"], fmt,
                zone=display_zone(ctx))


@conflicts.command("resolve")
@click.argument("conflict_id", type=click.IntRange(0, 2**63 - 1))
@click.option("--keep", type=click.Choice(["local", "remote"]), required=True, help="The value to keep.")
@click.pass_context
def conflicts_resolve(ctx: click.Context, conflict_id: int, keep: str) -> None:
    """Settle a conflict; keeping the value that lost becomes a local edit pushed on the next sync."""
    from togglsync.queue import resolve_conflict

    message = resolve_conflict(_app(ctx).engine, conflict_id, keep)
    click.echo(message)


@click.command()
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
