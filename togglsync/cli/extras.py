"""The built-in simulator and the demo."""

from __future__ import annotations

import click



# --- simulator and demo ------------------------------------------------------------------


@click.command()
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


@click.command()
@click.option("--home", "demo_home", type=click.Path(file_okay=False),
              help="Keep the demo's data here (default: a temporary directory).")
@click.option("--entries", type=click.IntRange(0), default=300, show_default=True)
def demo(demo_home: str | None, entries: int) -> None:
    """Run togglsync against the built-in simulator and narrate what happens."""
    from togglsync.cli.demo import run_demo

    run_demo(home=demo_home, entries=entries)
