"""`togglsync demo`: the product's story, told against the built-in simulator."""

from __future__ import annotations

import tempfile
from collections import Counter
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path

from rich.console import Console
from rich.table import Table

from togglsync.app import App
from togglsync.config import Settings


def run_demo(home: str | None = None, entries: int = 300, console: Console | None = None) -> None:
    from togglsync.simulator import Simulator

    console = console or Console()
    with ExitStack() as stack:
        home_path = Path(home) if home else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="togglsync-demo-")))
        sim = stack.enter_context(Simulator(entries=entries, plan="free", seed=42))
        console.rule("[bold]togglsync demo")
        console.print(
            f"A Toggl Track simulator is running at [cyan]{sim.url}[/] with a generated account "
            f"({entries} time entries). togglsync is pointed at it through its API URL setting;\n"
            f"data goes to [cyan]{home_path}[/]."
        )
        settings = Settings(home=home_path, api_token=sim.seed.api_token, api_url=sim.url, pacing=0.0)
        app = App(settings)
        stack.callback(app.close)
        client = app.client

        me = client.me(with_related_data=True)
        console.print(
            f"\n[bold]Account[/]: {me['fullname']} <{me['email']}>, time zone {me['timezone']}, "
            f"default workspace {me['default_workspace_id']}"
        )
        workspaces = me.get("workspaces") or []
        projects = me.get("projects") or []
        clients = {c["id"]: c["name"] for c in me.get("clients") or []}

        table = Table(title="Workspaces", show_edge=False, header_style="bold")
        for col in ("id", "name", "premium", "organization"):
            table.add_column(col)
        for ws in workspaces:
            table.add_row(str(ws["id"]), ws["name"], "yes" if ws.get("premium") else "no", str(ws.get("organization_id")))
        console.print(table)

        now = datetime.now(timezone.utc)
        recent = client.time_entries(start_date=(now - timedelta(days=89)).date(), end_date=(now + timedelta(days=1)).date())
        per_project = Counter(e.get("project_id") for e in recent)

        table = Table(title="Projects (entries in the last 89 days)", show_edge=False, header_style="bold")
        for col in ("id", "name", "client", "active", "entries"):
            table.add_column(col)
        for p in sorted(projects, key=lambda p: p["name"].casefold()):
            table.add_row(
                str(p["id"]), p["name"], clients.get(p.get("client_id"), ""),
                "yes" if p.get("active") else "no", str(per_project.get(p["id"], 0)),
            )
        table.add_row("", "(no project)", "", "", str(per_project.get(None, 0)))
        console.print(table)

        running = [e for e in recent if (e.get("duration") or 0) < 0]
        console.print(
            f"\n{len(recent)} time entries in the last 89 days, "
            f"{len(me.get('tags') or [])} tags, {len(clients)} clients"
            + (f"; running now: [green]{running[0].get('description') or '(no description)'}[/]" if running else "")
        )
        left = ", ".join(
            f"{q.pool}: {q.remaining} left" for q in client.quota.values() if q.remaining is not None
        )
        console.print(f"Requests used: [bold]{client.requests_sent}[/]" + (f" (quota {left})" if left else ""))
