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
@click.option("--history/--no-history", "with_history", default=None,
              help="After the sync, spend the quota it leaves (above the reserve `history` keeps) on unfinished "
                   "history (`togglsync history`). Default: on for scheduled syncs (--log) unless the setting "
                   "sync_history (TOGGLSYNC_SYNC_HISTORY) is off; costs no request once the history is complete.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success (for cron).")
@click.option("--log", "log_run", is_flag=True,
              help="Add one line about this run (time, exit code, summary) to sync.log in the home "
                   "(scheduled syncs do; `status` and `schedule status` read it).")
@click.pass_context
def sync(ctx: click.Context, budget, pull_only, push_only, full, policy, wait, with_history, as_json, quiet,
         log_run) -> None:
    """Pull Toggl's changes, then push local edits. One summary line; exit code says how it went.

    \b
    A workspace-wide account (`accounts add NAME --all-users`, or the setting
    all_users for main) also keeps every member's entries of the workspaces it
    is an admin of current: every all_users_every minutes (60) it re-reads the
    last all_users_days days (14) through the Reports API, ceil(rows/50)
    report requests per workspace (a row groups alike entries; from the
    organization's hourly quota, never its last 10), and removes what the
    report no longer lists in that window.

    \b
    togglsync sync
    togglsync sync --quiet        # for cron: nothing printed on success
    togglsync sync --json --debug # the result as JSON, the requests logged to stderr
    """
    if with_history is None:
        with_history = log_run and _app(ctx).settings.sync_history
    if not log_run:
        _sync(ctx, budget, pull_only, push_only, full, policy, wait, as_json, quiet, with_history)
        return
    from togglsync.cli.messages import one_line
    from togglsync.errors import TogglSyncError

    said = ctx.meta.setdefault("togglsync.sync_summary", [])
    try:
        _sync(ctx, budget, pull_only, push_only, full, policy, wait, as_json, quiet, with_history)
    except click.exceptions.Exit as done:
        _log_run(ctx, done.exit_code, said[-1] if said else "")
        raise
    except TogglSyncError as exc:
        _log_run(ctx, exc.exit_code, f"Error: {scrubbed(one_line(exc))}")
        raise
    except click.ClickException as exc:
        _log_run(ctx, exc.exit_code, f"Error: {scrubbed(exc.format_message())}")
        raise
    _log_run(ctx, ExitCode.OK, said[-1] if said else "")


def _log_run(ctx: click.Context, code: int, message: str) -> None:
    """One line in the run log of the home this run used (also when its settings would not load)."""
    from pathlib import Path

    from togglsync import runlog
    from togglsync.config import home_dir, load_settings

    options = ctx.find_root().obj.options
    try:
        home = load_settings(options).home
    except Exception:
        home = Path(options["home"]) if options.get("home") else home_dir()
    runlog.append(home, int(code), message)


def _sync(ctx: click.Context, budget, pull_only, push_only, full, policy, wait, as_json, quiet,
          with_history=False) -> None:
    from togglsync.config import IMPLICIT_ACCOUNT
    from togglsync.sync.outcome import HistoryOptions, SyncOptions

    if pull_only and push_only:
        raise UsageError("--pull-only and --push-only exclude each other")
    settings = _app(ctx).settings
    options = SyncOptions(pull=not push_only, push=not pull_only, budget=budget, policy=policy, force_catalog=full,
                          full_entries=full, accept_empty_resync=full,
                          history=HistoryOptions() if with_history else None)
    chosen = settings.chosen_account()
    names = [chosen] if chosen != IMPLICIT_ACCOUNT or not settings.accounts else settings.account_names()
    if names == [IMPLICIT_ACCOUNT]:
        # One account, as before accounts: its own output, exit code and errors.
        _sync_one(ctx, options, wait, as_json, quiet)
        return
    _sync_each(ctx, names, options, wait, as_json, quiet)


def _sync_each(ctx: click.Context, names: list[str], options: Any, wait: bool, as_json: bool, quiet: bool) -> None:
    """Every account in turn, each under its own lock, with its own credentials and quota: one
    failing stops none of the others. One summary line per account, each `NAME: ...`; the exit
    code is the first failing account's (every failure says which account, in one line)."""
    from togglsync.cli.base import new_app
    from togglsync.cli.messages import one_line
    from togglsync.db.open import Engines
    from togglsync.errors import TogglSyncError

    settings = _app(ctx).settings
    results: dict[str, Any] = {}
    code = ExitCode.OK
    said = []
    # One engine for every account's sync (on PostgreSQL, three per account were half of a no-change sync).
    engines = ctx.with_resource(Engines())
    for name in names:
        try:
            app = new_app(ctx, settings.for_account(name))
            app.engines = engines
            try:
                result = _run_one(app, name, options, wait, quiet or as_json)
            finally:
                app.close()
        except KeyboardInterrupt:
            click.echo(f"Interrupted during account {name!r}; run `togglsync sync` again to finish.", err=True)
            ctx.exit(ExitCode.INTERRUPTED)
        except TogglSyncError as exc:
            line = f"Error: account {name}: {scrubbed(one_line(exc))}"
            results[name] = {"error": scrubbed(one_line(exc)), "exit_code": int(exc.exit_code)}
            click.echo(line, err=True)
            said.append(line)
            code = code or exc.exit_code
            continue
        results[name] = result.as_dict()
        said.append(f"{name}: " + scrubbed(result.summary() + (f"; Error: {result.error}" if result.error else "")))
        if not as_json:
            _render_named(name, result, quiet)
        code = code or result.exit_code
    ctx.meta.setdefault("togglsync.sync_summary", []).append(" | ".join(said))
    if as_json:
        click.echo(scrubbed(dumps({"accounts": results, "exit_code": int(code)})))
    ctx.exit(code)


def _render_named(name: str, result: Any, quiet: bool) -> None:
    """One account's result (`render_result`), each line naming the account."""
    if quiet and result.exit_code in (ExitCode.OK, ExitCode.FAILED_OPS):
        if result.exit_code == ExitCode.FAILED_OPS:
            click.echo(f"{name}: {result.parked_line()}", err=True)
        return
    click.echo(f"{name}: {result.summary()}", err=result.exit_code != ExitCode.OK)
    for failure in result.failures:
        click.echo(f"{name}:   failed: {scrubbed(failure)}", err=True)
    if result.parked:
        click.echo(f"{name}: {result.parked_line()}", err=True)
    if result.error:
        click.echo(f"Error: account {name}: {scrubbed(result.error)}", err=True)


def _run_one(app: Any, name: str, options: Any, wait: bool, silent: bool) -> Any:
    """One account's sync under its lock (`sync.lock.sync_lock`, one per account): the quiet way
    when nothing changed (`sync.quiet`: one request, no SQLAlchemy), else the whole way."""
    from togglsync.cli.progress import shown
    from togglsync.sync.lock import sync_lock
    from togglsync.sync.quiet import sync

    settings = app.settings
    if settings.all_users and options.window is None:
        # A workspace-wide account (setting all_users): every member's recent entries too.
        from dataclasses import replace

        from togglsync.sync.outcome import WindowOptions

        options = replace(options, window=WindowOptions(days=settings.all_users_days, every=settings.all_users_every))
    engine = (lambda: app.engines.engine(settings.db_target)) if app.engines is not None else None
    with shown(not silent) as progress, sync_lock(settings.db_target, wait=wait, progress=progress, account=name,
                                                  engine=engine):
        return sync(lambda: app.database, lambda: app.engine, app.quiet_client, options, progress=progress,
                    account=name)


def sync_account_now(ctx: click.Context, name: str | None) -> Any:
    """One sync of account `name` (None: main) right after an offline edit (`start --sync`...):
    with that account's credentials, under its lock, printed as `sync` prints it (a named
    account's lines say its name). Returns the `SyncResult`."""
    from togglsync.cli.base import new_app
    from togglsync.config import IMPLICIT_ACCOUNT
    from togglsync.sync.outcome import SyncOptions

    name = name or IMPLICIT_ACCOUNT
    if name == IMPLICIT_ACCOUNT:
        result = _run_one(_app(ctx), name, SyncOptions(), False, True)
        render_result(result)
        return result
    app = new_app(ctx, _app(ctx).settings.for_account(name))
    try:
        result = _run_one(app, name, SyncOptions(), False, True)
    finally:
        app.close()
    _render_named(name, result, quiet=False)
    return result


def _sync_one(ctx: click.Context, options: Any, wait: bool, as_json: bool, quiet: bool) -> None:
    """The implicit account alone (no `accounts add` ever run): the output as before accounts."""
    from togglsync.config import IMPLICIT_ACCOUNT
    from togglsync.sync.outcome import SyncInterrupted

    try:
        result = _run_one(_app(ctx), IMPLICIT_ACCOUNT, options, wait, quiet or as_json)
    except KeyboardInterrupt as interrupted:
        # Everything done so far is kept; the next sync goes on from there.
        done = interrupted.result if isinstance(interrupted, SyncInterrupted) else None
        if done is not None and done.to_push:
            what = f"pushed {done.pushed} of {done.to_push} local changes"
        else:
            what = "what was pulled so far is kept"
        click.echo(f"Interrupted: {what}; run `togglsync sync` again to finish.", err=True)
        ctx.meta.setdefault("togglsync.sync_summary", []).append(f"Interrupted: {what}")
        ctx.exit(ExitCode.INTERRUPTED)
    # What the run log says of it (`sync --log`): the summary, and why it did not finish.
    ctx.meta.setdefault("togglsync.sync_summary", []).append(
        scrubbed(result.summary() + (f"; Error: {result.error}" if result.error else "")))
    if as_json:
        click.echo(scrubbed(dumps(result.as_dict())))
        if result.error:
            click.echo(f"Error: {scrubbed(result.error)}", err=True)
    else:
        render_result(result, quiet=quiet)
    ctx.exit(result.exit_code)


# --- history -------------------------------------------------------------------------------


@click.command()
@click.option("--since", metavar="DATE", help="How far back (YYYY-MM-DD). Default: the day your Toggl account "
              "was created (older entries, backdated or a colleague's, need --since).")
@click.option("--all-users", is_flag=True, help="Every member's entries, not only yours (workspace admins only).")
@click.option("--budget", type=click.IntRange(1), metavar="N", help="Send at most N requests; the next run resumes.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success.")
@click.pass_context
def history(ctx: click.Context, since: str | None, all_users: bool, budget: int | None, as_json: bool,
            quiet: bool) -> None:
    """Fetch every entry older than the regular sync's 89 days, through Toggl's Reports API.

    \b
    The regular sync reads GET /me/time_entries, which reaches back about
    three months; this reads the detailed report, which reaches the whole
    account: one request brings 50 groups of alike entries (same project,
    description, tags), so at most one request per 50 entries, usually far
    fewer. Each page is stored with the cursor
    that follows it, so a run stopped anywhere (Ctrl-C, a kill, a 402,
    --budget) resumes where it stopped. Report requests spend your
    organization's hourly quota (30/240/600 on free/starter/premium):
    history always leaves 10 requests of each quota for the regular sync,
    stops there and says when the quota resets. Scheduled syncs go on with
    unfinished history by themselves (setting sync_history, on by default),
    so a free plan's 20,000 old entries arrive within a day or two.
    `togglsync status` says how far the history goes.

    \b
    togglsync history
    togglsync history --since 2019-01-01 --budget 100
    togglsync history --all-users      # every member's entries (admins)
    """
    from datetime import date

    from togglsync.sync.engine import sync_lock
    from togglsync.sync.history import History, HistoryOptions

    try:
        first = date.fromisoformat(since) if since is not None else None
    except ValueError:
        raise UsageError(f"--since must be a date like 2019-03-02, not {since!r}") from None
    from togglsync.cli.base import new_app
    from togglsync.cli.progress import shown
    from togglsync.config import IMPLICIT_ACCOUNT

    # The history of one account (--account, else main): its user, workspaces, ranges and quota.
    name = _app(ctx).settings.chosen_account()
    app = _app(ctx) if name == IMPLICIT_ACCOUNT else new_app(ctx, _app(ctx).settings.for_account(name))
    client = app.client
    client.budget = None if budget is None else client.requests_sent + budget
    try:
        with shown(not (quiet or as_json)) as progress, sync_lock(app.settings.db_target, account=name):
            result = History(app.engine, client, progress=progress, account=name).run(
                HistoryOptions(all_users=all_users, since=first))
    except KeyboardInterrupt:
        click.echo("Interrupted: every page fetched so far is kept; run `togglsync history` again to go on.", err=True)
        ctx.exit(ExitCode.INTERRUPTED)
    finally:
        client.budget = None
        if app is not _app(ctx):
            app.close()
    if as_json:
        click.echo(scrubbed(dumps(result.as_dict())))
    elif not (quiet and result.exit_code == ExitCode.OK):
        click.echo(result.summary(display_zone(ctx)), err=result.exit_code != ExitCode.OK)
    if result.error:
        click.echo(f"Error: {scrubbed(result.error)}", err=True)
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
        if dropped.account != app.settings.credentials_of:
            # Another account's record: read with its credentials, under its lock.
            from togglsync.cli.base import new_app

            ctx = click.get_current_context()
            app = new_app(ctx, app.settings.for_account(dropped.account))
            ctx.call_on_close(app.close)
        with sync_lock(app.settings.db_target, account=dropped.account):
            there = reread(app.engine, app.client, dropped.kind, dropped.record_id, dropped.workspace_id,
                           account=dropped.account)
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


@click.group(invoke_without_command=True)
@click.option("--cron", "kind", flag_value="cron", help="A crontab line (the default on Linux).")
@click.option("--systemd", "kind", flag_value="systemd", help="A systemd user service and timer (Linux).")
@click.option("--launchd", "kind", flag_value="launchd", help="A launchd agent (the default on macOS).")
@click.option("--every", default="15m", show_default=True, help="Interval, e.g. 15m or 1h.")
@click.option("--install", is_flag=True, help="Install it for the current user instead of printing it.")
@click.option("--remove", is_flag=True, help="Remove every togglsync schedule installed for the current user.")
@click.pass_context
def schedule(ctx: click.Context, kind: str | None, every: str, install: bool, remove: bool) -> None:
    """Run `togglsync sync --quiet --log` on a schedule (quiet on success, loud on failure).

    Prints the crontab line (Linux) or launchd agent (macOS) unless --install; `schedule
    status` says what is installed and how its last run ended. Every 15 minutes costs about
    5 of the free plan's 30 hourly /me requests.

    \b
    Examples:
      togglsync schedule --install             # cron on Linux, launchd on macOS
      togglsync schedule --systemd --install   # a systemd user timer instead
      togglsync schedule status
      togglsync schedule --remove
    """
    from togglsync import schedule as sched

    if ctx.invoked_subcommand is not None:
        return
    if remove:
        if install:
            raise UsageError("--install and --remove exclude each other")
        done = sched.remove()
        click.echo("\n".join(done) if done else "Nothing to remove: no togglsync schedule is installed.")
        return
    kind = kind or sched.default_kind()
    sched.check_kind(kind)
    minutes = sched.parse_interval(every)
    sched.check_interval(minutes)
    settings = _app(ctx).settings
    job = sched.scheduled_job(settings)
    for warning in job.warnings:
        if not (install and job.secrets and "is set only in this shell" in warning):
            click.echo(f"Warning: {warning}", err=True)
    if kind == "cron":
        line = sched.cron_line(minutes, job)
        if not install:
            click.echo(line)
            return
        done = sched.save_secrets(settings, job) + sched.install_cron(line)
    elif kind == "systemd":
        units = sched.systemd_units(minutes, job)
        hint = sched.linger_hint()
        if not install:
            click.echo(f"# ~/.config/systemd/user/{sched.UNIT_NAME}.service\n{units.service}")
            click.echo(f"# ~/.config/systemd/user/{sched.UNIT_NAME}.timer\n{units.timer}")
            click.echo(f"# then: systemctl --user daemon-reload && systemctl --user enable --now {sched.UNIT_NAME}.timer")
            if hint:
                click.echo(f"# Note: {hint}")
            return
        done = sched.save_secrets(settings, job) + sched.install_systemd(units)
        done += [f"Note: {hint}"] if hint else []
    else:
        plist = sched.launchd_plist(minutes, job)
        if not install:
            click.echo(plist.decode(), nl=False)
            click.echo(f"Save it as ~/Library/LaunchAgents/{sched.LAUNCHD_LABEL}.plist, then run: launchctl "
                       f"bootstrap gui/$(id -u) ~/Library/LaunchAgents/{sched.LAUNCHD_LABEL}.plist", err=True)
            return
        done = sched.save_secrets(settings, job) + sched.install_launchd(plist)
    click.echo("\n".join(done))


@schedule.command("status")
@click.pass_context
def schedule_status(ctx: click.Context) -> None:
    """What is installed, when it last ran and how that ended, when it runs next."""
    from datetime import datetime

    from togglsync import runlog
    from togglsync import schedule as sched

    home = _app(ctx).settings.home
    now = datetime.now().astimezone()
    last = runlog.last_run(home)
    found = sched.installed()
    if not found:
        click.echo("Installed: nothing (`togglsync schedule --install`)")
    for item in found:
        every = f"every {item.minutes} minutes" if item.minutes else "its own schedule"
        click.echo(f"Installed: {item.kind}, {every} ({item.where})")
        click.echo(f"  runs:    {item.command}")
    if last is None:
        click.echo(f"Last run:  none logged yet ({runlog.log_path(home)})")
    else:
        click.echo(f"Last run:  {last.at.astimezone(now.tzinfo):%Y-%m-%d %H:%M} exit {last.exit_code}: {last.message}")
    for item in found:
        click.echo(f"Next run:  {sched.next_run(item, now, last)}" + (f" ({item.kind})" if len(found) > 1 else ""))
