"""`togglsync demo`: the product's story, told against the built-in simulator.

Cold sync, offline edits (a new project used by a new entry, a timer started
and stopped), the pending queue, a sync that pushes them, the server agreeing,
a change from another device, a no-change sync that costs one request, and
this week's report with its chart, straight from the local database.
"""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from togglsync.app import App
from togglsync.config import Settings


def _table(title: str, columns: list[str], rows: list[list[object]]) -> Table:
    table = Table(title=title, show_edge=False, header_style="bold", title_justify="left")
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    return table


def _clock(stamp: str | None, zone: ZoneInfo) -> str:
    """Toggl's ISO time -> `HH:MM` in the display zone ("" for none)."""
    if not stamp:
        return ""
    return f"{datetime.fromisoformat(stamp.replace('Z', '+00:00')).astimezone(zone):%H:%M}"


def run_demo(home: str | None = None, entries: int = 300, console: Console | None = None) -> None:
    from togglsync.cli.base import cli
    from togglsync import catalog, lookup, report, rows as local_rows
    from togglsync.records import Kind
    from togglsync.local import LocalStore
    from togglsync.records import format_id
    from togglsync.queue import list_pending
    from togglsync.simulator import Simulator
    from togglsync.sync.engine import SyncOptions, run_sync

    console = console or Console()
    with ExitStack() as stack:
        home_path = Path(home) if home else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="togglsync-demo-")))
        sim = stack.enter_context(Simulator(entries=entries, plan="free", seed=42))
        settings = Settings(home=home_path, api_token=sim.seed.api_token, api_url=sim.url, pacing=0.0)
        app = App(settings)
        stack.callback(app.close)
        engine, client = app.engine, app.client

        def step(title: str) -> None:
            console.print()
            console.rule(f"[bold]{title}", align="left")

        def sync(note: str = "") -> None:
            result = run_sync(engine, client, SyncOptions())
            console.print(f"[green]$ togglsync sync[/]{note}\n{result.summary()}")

        console.rule("[bold]togglsync demo")
        console.print(
            f"A Toggl Track simulator runs at [cyan]{sim.url}[/] with a generated account "
            f"({entries} time entries, free plan: 30 /me requests per hour).\n"
            f"togglsync points at it through its API URL setting; the database is [cyan]{settings.db_target}[/]."
        )

        step("1. Cold sync: the whole catalog and the last 89 days of entries")
        sync()
        with engine.connect() as conn:
            counts = catalog.totals(conn)
            zone = lookup.display_tz(conn, settings.timezone)  # every time below is shown in it
        console.print(f"Local database now holds {counts[Kind.TIME_ENTRY]} time entries and {counts[Kind.PROJECT]} projects.")

        step("2. Offline: nothing below sends a request")
        before = len(sim.log.records)
        store = LocalStore(engine)
        now = datetime.now(timezone.utc).replace(microsecond=0)
        project = store.create_project("Offline launch", color="#0b83d9")
        tag = store.create_tag("offline")
        timer = store.start_timer("Sketching the launch plan", project_id=project["id"], start=now - timedelta(minutes=50))
        store.stop_timer(now - timedelta(minutes=5))
        added = store.add_entry(
            "Call with the printer", start=now - timedelta(hours=3), duration=45 * 60,
            project_id=project["id"], tag_ids=[tag["id"]],
        )
        console.print(
            f"Created project [bold]Offline launch[/] (local id {format_id(project['id'])}), "
            f"tag [bold]offline[/] ({format_id(tag['id'])}),\n"
            f"started a timer at {(now - timedelta(minutes=50)).astimezone(zone):%H:%M} and stopped it at "
            f"{(now - timedelta(minutes=5)).astimezone(zone):%H:%M} ({zone.key}) "
            f"(entry {format_id(timer['id'])}), and logged 45 minutes on the new project "
            f"(entry {format_id(added['id'])}).\n"
            f"Requests sent meanwhile: [bold]{len(sim.log.records) - before}[/]."
        )
        console.print("[green]$ togglsync pending[/]")
        console.print(_table(
            "", ["id", "action", "resource", "record", "what"],
            [[p["id"], p["action"], p["resource"], format_id(p["record_id"]), p["what"]] for p in list_pending(engine, zone)],
        ))
        console.print("The running entry from the web app was stopped locally when the new timer started: that is the update.")

        step("3. Back online: one sync pushes the queue, dependencies first")
        sync()
        with engine.connect() as conn:
            project_id, _ = lookup.resolve(conn, Kind.PROJECT, "Offline launch", None)
            local_entries = report.entry_rows(conn, project_id=project_id, now=now, tz=zone)[::-1]
        pending_left = len(list_pending(engine))
        server_entries = {e["id"]: e for e in sim.state.all_time_entries()}
        rows = []
        for e in local_entries:
            s = server_entries.get(e["id"], {})
            rows.append([e["id"], e["description"], f"{e['start']:%H:%M}-{e['stop']:%H:%M}" if e["stop"] else "running",
                         "yes" if s.get("project_id") == project_id else "NO", _clock(s.get("stop"), zone)])
        console.print(f"The project now has its Toggl id [bold]{project_id}[/]; entries follow it. Pending left: {pending_left}.")
        console.print(_table(
            "Local entries and what the server holds", ["id", "description", f"local time ({zone.key})", "server project matches", "server stop"], rows,
        ))

        step("4. A change from another device, then a sync that finds nothing")
        entry = local_entries[0]
        sim.state.update_time_entry(sim.seed.user_id, entry["workspace_id"], entry["id"], {"description": "Launch plan (edited on the phone)"})
        sync("  [dim]# pulls the edit[/]")
        with engine.connect() as conn:
            desc = local_rows.require(conn, Kind.TIME_ENTRY, entry["id"])["description"]
        console.print(f"Entry {entry['id']} now reads: [bold]{desc}[/]")
        sync("  [dim]# nothing new: exactly one request[/]")

        step("5. This week, from the local database (offline, no request)")
        console.print("[green]$ togglsync report --week --chart[/]")
        before = len(sim.log.records)
        cli.main(["--home", str(home_path), "report", "--week", "--chart"], prog_name="togglsync", standalone_mode=False)
        console.print(f"Requests sent: [bold]{len(sim.log.records) - before}[/].")
        console.print(
            "\nNext: [bold]togglsync schedule[/] runs `togglsync sync --quiet` every 15 minutes; "
            "[bold]togglsync sql[/] and the README's schema let you query everything."
        )
