"""`status`, `start` and `stop` without click: the commands' bodies, and the entry point's fast way.

These three are typed many times a day and must answer in under 0.1 s, less
than importing click, SQLAlchemy or requests takes. So:

* the bodies of the three commands live here, free of click: `Session` (one
  invocation's settings, `now`, account, database on the sqlite3 driver
  alone, display zone), `show_status`, `resolve_refs` + `start_timer` +
  `report_started`, `stop_timer`. They write through the `echo` they are
  given. The click commands (`cli/tracking.py`) call them with `click.echo`;
* `run(argv)`, called by `togglsync.cli.main` before anything else, reads
  the command line itself when it is one of those commands with options it
  fully understands, and runs the same bodies with a plain writer. It hands
  everything else to the click CLI by returning None: another command,
  `-h`, `--sync`, `--debug`, an option or form it does not know, a database
  on a server, any error before the command changed or printed anything (a
  missing database, a name not found, a bad `--at`...). The click CLI then
  does it all again from the start and says what it always says, so every
  message and exit code is click's own. The database file failing (busy past
  the timeout, read-only, full) is said at once, by `cli.messages`, the
  click CLI's own words: trying again would only wait again.

The offline edits themselves are `timer.start` / `timer.stop` (rows and the
outbox through their owners), as in the click commands. Nothing here imports
click, SQLAlchemy, requests or rich (`tests/test_quick.py`).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

from togglsync.errors import UsageError

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from togglsync.config import Settings
    from togglsync.db import postgres
    from togglsync.db.lite import Database
    from togglsync.db.sql import Connection
    from togglsync.local import LocalStore

Echo = Callable[[str], None]
# Says once that an `L<n>` typed was pushed and is a Toggl id now (`cli.base.note_pushed`).
Note = Callable[[str, int], None]

class Session:
    """What a timer command needs: settings, one `now` for the whole command, the account, the
    database (sqlite3 driver alone when it can), the display zone."""

    def __init__(self, settings: Settings, *, read_only: bool = False):
        self.settings = settings
        self.read_only = read_only  # status, log: never create a database that is not there
        # The account new entries and timers go to (--account, else `accounts default`).
        self.account: str | None = settings.account
        self.now = datetime.now(timezone.utc)
        _ = self.tz  # resolved now: a bad --tz must fail before anything is written

    def open_db(self) -> Database | postgres.Database:
        from togglsync.db.open import Mode, open_database

        return open_database(self.settings.db_target,
                             Mode.FAST_READ_ONLY if self.read_only else Mode.FAST_READ_WRITE)

    @cached_property
    def db(self) -> Database | postgres.Database:
        """The database on the sqlite3 driver alone: every read, and the writes of
        status/start/stop (no SQLAlchemy import). Other writes go through LocalStore."""
        return self.open_db()

    @cached_property
    def tz(self) -> ZoneInfo:
        from togglsync.lookup import display_tz

        return display_tz(self.db.conn, self.settings.timezone)

    @property
    def today(self) -> date:
        return self.now.astimezone(self.tz).date()

    def time(self, text: str, option: str, *, default_date: date | None = None) -> datetime:
        """A time typed by the user, in the display zone -> UTC (errors name the option)."""
        from togglsync.timeparse import parse_time

        try:
            return parse_time(text, tz=self.tz, now=self.now, default_date=default_date)
        except ValueError as exc:
            raise UsageError(f"{option}: {exc}") from None

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def hm(self, moment: datetime, *, day: date | None = None) -> str:
        """`14:05`, or `2026-11-20 14:05` when not on `day` (default today), in the display zone."""
        from togglsync.timeparse import format_clock

        return format_clock(moment, self.tz, day=day or self.today)


def duration(seconds: int) -> str:
    from togglsync.timeparse import format_duration

    return format_duration(seconds)


def fmt_id(record_id: int) -> str:
    from togglsync.records import format_id

    return format_id(record_id)


def public_id(record_id: int | None) -> int | str | None:
    """An id in --json/--csv: a number for Toggl's, "L<n>" for an unsynced record (README, Ids)."""
    from togglsync.records import public_id as public

    return public(record_id)


def label(conn: Connection, row: Mapping[str, Any]) -> str:
    """`L5 "Writing docs" [Website relaunch] #café #urgent`"""
    from togglsync.catalog import name_of

    parts = [fmt_id(row["id"]), f'"{row["description"]}"' if row.get("description") else "(no description)"]
    if row.get("project_id") is not None:
        name = name_of(conn, "project", row["project_id"])
        parts.append(f"[{name if name is not None else fmt_id(row['project_id'])}]")
    parts += [f"#{tag}" for tag in row.get("tags") or []]
    return " ".join(parts)


# --- projects and tags named on the command line ---------------------------------------------


class Refs:
    """Project and tags as typed, resolved in one workspace; unknown ones are created by `apply`.
    (A plain class, as the other classes of the fast way: making a dataclass costs ~1 ms, and
    importing `dataclasses` ~8 ms, of the 0.1 s these commands have.)"""

    def __init__(self, workspace_id: int) -> None:
        self.workspace_id = workspace_id
        self.project_id: int | None = None
        self.new_project: str | None = None
        self.tag_ids: list[int] = []
        self.new_tags: list[str] = []

    @property
    def complete(self) -> bool:
        """Nothing to create: every name typed is a record already."""
        return self.new_project is None and not self.new_tags

    def apply(self, store: LocalStore) -> list[str]:
        """Create what is missing (inside the caller's batch); returns what was created, for the user."""
        created = []
        if self.new_project is not None:
            project = store.create_project(self.new_project, workspace_id=self.workspace_id)
            self.project_id = project["id"]
            created.append(f'project {fmt_id(project["id"])} "{project["name"]}"')
        for name in self.new_tags:
            tag = store.create_tag(name, workspace_id=self.workspace_id)
            self.tag_ids.append(tag["id"])
            created.append(f'tag {fmt_id(tag["id"])} "{tag["name"]}"')
        self.tag_ids = sorted(set(self.tag_ids))
        return created


def existing(conn: Connection, kind: str, wid: int, value: str, note: Note, *, can_create: bool = False) -> int:
    """A project/tag that must exist; the error suggests close names (and --create where it applies)."""
    from togglsync import lookup

    found = lookup.resolve(conn, kind, value, wid, can_create=can_create)[0]
    note(value, found)
    return found


# The option that names a record of each kind, for messages.
_OPTION_OF = {"project": "-p/--project", "tag": "-t/--tag"}


def _ref(conn: Connection, kind: str, wid: int, value: str, create: bool, note: Note) -> int | None:
    """A project/tag id, or None when it does not exist and --create may make it."""
    from togglsync import lookup

    text = (value or "").strip()
    option = _OPTION_OF[kind]
    if not text:
        raise UsageError(f"{option}: give a {kind} name or id")
    if not create:
        return existing(conn, kind, wid, text, note, can_create=True)
    found = lookup.find_id(conn, kind, wid, text)
    if found is not None:
        note(text, found)
    if found is None and re.fullmatch(r"[Ll]?\d+", text):
        # An id that is not there is a typo, never a name to create.
        raise UsageError(f"no {kind} with id {text} in this workspace (--create makes names, not ids)")
    return found


def resolve_refs(conn: Connection, wid: int, project: str | None, tags: Sequence[str], create: bool,
                 note: Note) -> Refs:
    refs = Refs(workspace_id=wid)
    if project is not None:
        refs.project_id = _ref(conn, "project", wid, project, create, note)
        if refs.project_id is None:
            refs.new_project = project.strip()
    for tag in tags:
        found = _ref(conn, "tag", wid, tag, create, note)
        if found is not None:
            refs.tag_ids.append(found)
        elif tag.strip().casefold() not in {t.casefold() for t in refs.new_tags}:
            refs.new_tags.append(tag.strip())
    return refs


# --- start, stop -------------------------------------------------------------------------------


def start_refs(s: Session, project: str | None, tags: Sequence[str], create: bool, workspace: str | None,
               note: Note) -> tuple[Refs, dict[str, Any] | None]:
    """`start`'s project and tags resolved (nothing written), and the timer running before it."""
    from togglsync import lookup, timer

    with s.db.snapshot() as conn:
        refs = resolve_refs(conn, lookup.workspace_id(conn, workspace, s.account), project, tags, create, note)
        running = timer.running_entry(conn, s.account)
    return refs, running


def start_timer(s: Session, description: str | None, refs: Refs, billable: bool, start: datetime) -> dict[str, Any]:
    """The timer started (`timer.start`, one transaction) with records that exist already."""
    from togglsync import timer

    with s.db.transaction() as conn:
        return timer.start(
            conn, description, project_id=refs.project_id, tag_ids=refs.tag_ids, billable=billable,
            start=start, workspace_id=refs.workspace_id, now=s.now, tz=s.tz, account_name=s.account,
        )


def report_started(s: Session, entry: Mapping[str, Any], running_before: Mapping[str, Any] | None,
                   echo: Echo) -> None:
    from togglsync import rows

    with s.db.snapshot() as conn:
        if running_before is not None:
            stopped = rows.require(conn, "time_entry", running_before["id"])
            echo(f"Stopped {label(conn, stopped)} at {s.hm(stopped['stop'])} after {duration(stopped['duration'])}.")
        echo(f"Started {label(conn, entry)} at {s.hm(entry['start'])}.")


def stop_timer(s: Session, at: str | None) -> dict[str, Any]:
    """The running timer stopped (`timer.stop`, one transaction) at `--at` or now."""
    from togglsync import timer

    stop_at = s.time(at, "--at") if at is not None else s.now
    with s.db.transaction() as conn:
        return timer.stop(conn, stop_at, now=s.now, tz=s.tz, account_name=s.account)


def report_stopped(s: Session, entry: Mapping[str, Any], echo: Echo) -> None:
    echo(f"Stopped {label(s.db.conn, entry)} at {s.hm(entry['stop'])} after {duration(entry['duration'])}.")


# --- status ----------------------------------------------------------------------------------


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return "just now"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min ago"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min ago" if minutes else f"{hours} h ago"
    return f"{hours // 24} days ago"


def show_status(s: Session, as_json: bool, echo: Echo) -> None:
    """The running timer, today's and this week's totals, pending changes and the last sync:
    everything read first, then printed."""
    from togglsync.report import status as read_status
    from togglsync.runlog import last_failure

    tz = s.tz
    with s.db.snapshot() as conn:
        now = read_status(conn, now=s.now, tz=tz)
        running = now.running
        running_label = label(conn, running) if running else None
    today, today_seconds, week_start, week_seconds = now.today, now.today_seconds, now.week_start, now.week_seconds
    pending, failed, last_sync = now.pending, now.failed, now.last_sync
    elapsed = max(0, int((s.now - running["start"]).total_seconds())) if running else 0
    # The last logged sync (`sync --log`: scheduled ones), when it failed and none has worked since.
    failure = last_failure(s.settings.home)
    if as_json:
        from togglsync.output import dumps

        echo(dumps({
            "running": None if running is None else {
                "id": public_id(running["id"]),
                "description": running["description"],
                "project_id": public_id(running["project_id"]),
                "tags": list(running["tags"] or []),
                "billable": bool(running["billable"]),
                "start": running["start"].astimezone(tz),
                "seconds": elapsed,
            },
            "timezone": tz.key,
            "today": {"date": today, "seconds": today_seconds},
            "week": {"start": week_start.astimezone(tz).date(), "seconds": week_seconds},
            "pending": pending,
            "failed": failed,
            "last_sync": last_sync,
            "last_sync_seconds_ago": None if last_sync is None else max(0, int((s.now - last_sync).total_seconds())),
            "last_failed_sync": None if failure is None else {
                "at": failure.at, "exit_code": failure.exit_code, "message": failure.message},
            "history": {"complete": now.history.complete, "since": now.history.since,
                        "ranges_left": now.history.ranges_left, "entries_left": now.history.entries,
                        "hours_left": round(now.history.hours, 1)} if now.history.started else None,
        }))
        return
    lines = []
    if running:
        lines.append(f"Running:   {running_label} since {s.hm(running['start'])} ({duration(elapsed)})")
    else:
        lines.append("Running:   no timer (`togglsync start` or `togglsync continue`)")
    lines.append(f"Today:     {duration(today_seconds)}")
    lines.append(f"This week: {duration(week_seconds)} (since {week_start.astimezone(tz):%a %Y-%m-%d})")
    if pending:
        line = f"{pending} change{'s' if pending != 1 else ''} to push"
        if failed:
            # Parked: `sync` exits 7 while any are left (README, exit codes).
            line += f" ({failed} waiting for you: see `togglsync pending`)"
    else:
        line = "nothing to push"
    lines.append(f"Pending:   {line}")
    lines.append(f"History:   {_history_line(now.history)}")
    if last_sync is None:
        lines.append("Last sync: never")
    else:
        lines.append(f"Last sync: {_ago((s.now - last_sync).total_seconds())} ({s.hm(last_sync)})")
    if failure is not None:
        lines.append(f"Failed:    a sync {_ago((s.now - failure.at).total_seconds())} "
                     f"({s.hm(failure.at)}), exit {failure.exit_code}: {failure.message}")
    for text in lines:
        echo(text)


def _history_line(history: Any) -> str:
    """How far back the database reaches (history_plan.Status)."""
    from togglsync.history_plan import describe_hours

    if not history.started:
        return "the last 89 days only (`togglsync history` fetches everything older)"
    if history.complete:
        return f"complete since {history.since}"
    return (f"since {history.since}, {history.ranges_left} range{'s' if history.ranges_left != 1 else ''} left "
            f"(about {history.entries} entries, {describe_hours(history.hours)} at this plan's quota; "
            "scheduled syncs go on with it, or `togglsync history`)")


# --- the entry point's fast way -----------------------------------------------------------------


class _HandOver(Exception):
    """Not for the fast way: the click CLI does this invocation from the start."""


# The root's options the fast way reads (`cli.base.cli`), before or after the command: spelling -> its
# key. These tables repeat what the click commands declare (importing click costs what the fast way
# saves): tests/test_quick.py holds them to the click declarations.
GLOBAL_SPELLINGS = {"--home": "home", "--db": "db", "--transport": "transport", "--api-url": "api_url",
                    "--connection": "maton_connection", "--tz": "timezone", "--account": "account"}
# Each command's own options: spelling -> (its key, takes a value, repeatable).
OWN_OPTIONS: dict[str, dict[str, tuple[str, bool, bool]]] = {
    "status": {"--json": ("as_json", False, False)},
    "start": {"-p": ("project", True, False), "--project": ("project", True, False),
              "-t": ("tags", True, True), "--tag": ("tags", True, True),
              "--billable": ("billable", False, False), "--at": ("at", True, False),
              "--create": ("create", False, False),
              "-w": ("workspace", True, False), "--workspace": ("workspace", True, False)},
    "stop": {"--at": ("at", True, False)},
}
OPTION_ARGUMENTS = {"status": 0, "start": 1, "stop": 0}  # positional arguments each takes at most


class _Command(NamedTuple):
    name: str
    options: dict[str, Any]  # the root's options, as `cli.base.cli` gathers them
    values: dict[str, Any]
    arguments: list[str]


def _read(argv: Sequence[str]) -> _Command:
    """The command line, as click would read it, or _HandOver when it is not certain to be."""
    options: dict[str, Any] = {}
    name: str | None = None
    values: dict[str, Any] = {}
    arguments: list[str] = []
    args = list(argv)
    while args:
        arg = args.pop(0)
        if not arg.startswith("-") or arg == "-":
            if name is None:
                if arg not in OWN_OPTIONS:
                    raise _HandOver
                name = arg
                continue
            arguments.append(arg)
            if len(arguments) > OPTION_ARGUMENTS[name]:
                raise _HandOver
            continue
        spelling, attached = arg.split("=", 1) if arg.startswith("--") and "=" in arg else (arg, None)
        own = OWN_OPTIONS[name].get(spelling) if name is not None else None
        if own is not None:
            key, takes_value, repeats = own
            if not takes_value:
                if attached is not None:
                    raise _HandOver
                values[key] = True
                continue
            value = _value(args, attached)
            values[key] = [*values.get(key, []), value] if repeats else value
        elif spelling in GLOBAL_SPELLINGS:
            options[GLOBAL_SPELLINGS[spelling]] = _value(args, attached)
        else:
            raise _HandOver  # -h, --version, --debug, --sync, `--`, -pNAME, a typo...
    if name is None:
        raise _HandOver
    home = options.get("home")
    if home is not None and os.path.exists(home) and not (os.path.isdir(home) and os.access(home, os.R_OK)):
        raise _HandOver  # click's --home check says why
    return _Command(name, options, values, arguments)


def _value(args: list[str], attached: str | None) -> str:
    if attached is not None:
        return attached
    if not args:
        raise _HandOver  # "requires an argument": click says so
    return args.pop(0)


class _Writer:
    """Standard output as click.echo writes plain text to it: one line at a time, flushed."""

    def __init__(self) -> None:
        self.said = False
        # What loading the settings said on stderr (a config file others can read): said once
        # the fast way goes on, dropped when it hands over (click's way says it again).
        self.warnings = ""

    def warn(self) -> None:
        if self.warnings:
            sys.stderr.write(self.warnings)
            sys.stderr.flush()
            self.warnings = ""

    def __call__(self, line: str) -> None:
        self.said = True
        self.warn()
        if "\x1b" in line:  # click.echo drops terminal escapes outside a terminal: its rule, its code
            import click

            click.echo(line)
            return
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def _never_pushed(text: str, record_id: int) -> None:
    """A name typed as an `L<n>` that was pushed since: click's way says so (`cli.base.note_pushed`)."""
    from togglsync.lookup import pushed_note

    if pushed_note(text, record_id) is not None:
        raise _HandOver


def run(argv: Sequence[str]) -> int | None:
    """`togglsync status|start|stop ...` done the fast way: its exit code; None hands it to click."""
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    if encoding != "utf8":
        return None  # click.echo's own choices for other encodings
    try:
        command = _read(argv)
    except _HandOver:
        return None
    echo = _Writer()
    changed = False
    try:
        import contextlib
        import io

        from togglsync.config import load_settings
        from togglsync.db.lite import on_server

        with contextlib.redirect_stderr(io.StringIO()) as said:
            settings = load_settings(command.options)
        echo.warnings = said.getvalue()
        if on_server(settings.db_target):
            return None
        session = Session(settings, read_only=command.name == "status")
        try:
            values = command.values
            if command.name == "status":
                show_status(session, bool(values.get("as_json")), echo)
            elif command.name == "stop":
                entry = stop_timer(session, values.get("at"))
                changed = True
                report_stopped(session, entry, echo)
            else:
                at = values.get("at")
                start_at = session.time(at, "--at") if at is not None else session.now
                refs, running = start_refs(session, values.get("project"), values.get("tags", []),
                                           bool(values.get("create")), values.get("workspace"), _never_pushed)
                if not refs.complete:
                    return None  # --create making a record: LocalStore, the click command's way
                description = command.arguments[0] if command.arguments else None
                entry = start_timer(session, description, refs, bool(values.get("billable")), start_at)
                changed = True
                report_started(session, entry, running, echo)
        finally:
            if "db" in session.__dict__:
                session.db.close()
    except KeyboardInterrupt:
        from togglsync.cli.messages import INTERRUPTED
        from togglsync.errors import ExitCode

        echo.warn()
        print(INTERRUPTED, file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (`| head -1`): as click ends then, quietly, exit code 1.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        from togglsync.errors import StorageError

        if not (changed or echo.said or isinstance(exc, StorageError)):
            return None  # click's way says what went wrong, in its words
        echo.warn()
        return _failed(exc, command.options)
    echo.warn()
    return 0


def _failed(exc: Exception, options: Mapping[str, Any]) -> int:
    """One `Error:` line as the click CLI prints it (`messages.error_line`), without running the
    command again: after the change was saved (reading it back to print it), or when the database
    file itself failed (busy past the timeout, read-only, full: trying again would wait again)."""
    from togglsync.cli.messages import error_line

    found = error_line(exc, options)
    if found is None:
        raise exc
    text, code = found
    print(f"Error: {text}", file=sys.stderr)
    return code
