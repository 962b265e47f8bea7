"""The built-in simulator (a practice server, and `ctl` to drive it) and the demo."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from togglsync.cli.base import CliError
from togglsync.errors import ExitCode, UsageError
from togglsync.output import dumps

# --- simulator and demo ------------------------------------------------------------------


@click.group(invoke_without_command=True)
@click.option("--port", type=int, default=8765, show_default=True, help="Port on 127.0.0.1 (0 = any free port).")
@click.option("--entries", type=click.IntRange(0), default=500, show_default=True, help="Time entries to seed.")
@click.option("--plan", type=click.Choice(["free", "starter", "premium"]), default="free", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the generated account.")
@click.option("--years", type=click.FloatRange(0.1, 30), metavar="N",
              help="Spread the entries over N years (and add a colleague's): what is older than 90 days "
                   "only `togglsync history` reaches, as on Toggl.")
@click.option("--no-quotas", is_flag=True, help="No hourly quotas: never a 402 for them, and no X-Toggl-Quota-* headers.")
@click.option("--rate-limit", type=click.FloatRange(min=0, min_open=True), metavar="N",
              help="Answer 429 (with Retry-After) beyond about N requests per second.")
@click.option("--latency", type=click.FloatRange(0, 600), default=0.0, metavar="SECONDS",
              help="Wait this long before every answer (a slow network).")
@click.option("--state", "state_file", type=click.Path(dir_okay=False), metavar="FILE",
              help="Load the account from FILE if it exists, save it there when stopped.")
@click.pass_context
def simulator(ctx: click.Context, port: int, entries: int, plan: str, seed: int, years: float | None,
              no_quotas: bool, rate_limit: float | None, latency: float, state_file: str | None) -> None:
    """Run the built-in Toggl API simulator until interrupted (a practice server).

    It prints the environment variables that point togglsync at it. Ids follow
    the clock, so a restarted simulator never reuses an earlier run's ids;
    `--state FILE` keeps the account itself across restarts. `togglsync
    simulator ctl ...` injects faults and makes changes "elsewhere" while it runs.
    """
    if ctx.invoked_subcommand is not None:
        return
    from togglsync.simulator.persist import StateFileError
    from togglsync.simulator.server import PortInUse, run_forever

    try:
        run_forever(port=port, entries=entries, plan=plan, seed=seed, quotas=not no_quotas,
                    rate_limit=rate_limit, latency=latency, state_file=state_file, years=years)
    except PortInUse as busy:
        raise UsageError(f"port {busy.port} on {busy.host} is in use: choose another with --port "
                         "(--port 0 picks a free one)") from None
    except StateFileError as bad:
        raise UsageError(f"--state: {bad}") from None


# --- ctl: drive a running simulator from the shell ---------------------------------------


@simulator.group()
@click.option("--url", metavar="URL", help="The simulator (env TOGGLSYNC_SIMULATOR_URL, else the root of "
              "TOGGLSYNC_API_URL, else http://127.0.0.1:8765).")
@click.pass_context
def ctl(ctx: click.Context, url: str | None) -> None:
    """Inject faults, switch limits and make remote changes on a running simulator."""
    from togglsync.simulator.ctl import DEFAULT_URL

    ctx.meta["togglsync.simulator_url"] = (
        url or os.environ.get("TOGGLSYNC_SIMULATOR_URL") or os.environ.get("TOGGLSYNC_API_URL") or DEFAULT_URL
    )


def _ctl(ctx: click.Context, method: str, path: str, body: Any = None) -> Any:
    from togglsync.simulator.ctl import CtlError, call

    try:
        return call(ctx.meta["togglsync.simulator_url"], method, path, body)
    except CtlError as error:
        raise CliError(str(error), ExitCode.NETWORK if error.unreachable else ExitCode.ERROR) from None


def _show(data: Any) -> None:
    click.echo(dumps(data))


@ctl.command("status")
@click.pass_context
def ctl_status(ctx: click.Context) -> None:
    """Who is simulated, how many records, the switches and faults waiting."""
    _show(_ctl(ctx, "GET", "/"))


@ctl.command("fault")
@click.option("--status", type=click.IntRange(100, 599), help="Answer with this HTTP status (e.g. 500, 503, 429).")
@click.option("--method", default="*", show_default=True, help="Requests of this method (a pattern).")
@click.option("--path", default="*", show_default=True,
              help="Requests whose path (after /api/v9) matches this pattern, e.g. '/me/time_entries*'.")
@click.option("--count", type=click.IntRange(1), default=1, show_default=True, help="How many requests it hits.")
@click.option("--apply", "apply_", is_flag=True, help="Carry the request out, then answer with --status.")
@click.option("--drop", is_flag=True, help="Carry the request out, then close the connection without answering.")
@click.option("--latency", type=click.FloatRange(0, 600), default=0.0, metavar="SECONDS", help="Hang this long first.")
@click.option("--body", metavar="JSON", help="The body answered with --status (JSON).")
@click.pass_context
def ctl_fault(ctx: click.Context, status, method, path, count, apply_, drop, latency, body) -> None:
    """Make the next matching requests fail: an error status, a hang, or a lost answer."""
    spec: dict[str, Any] = {"method": method, "path": path, "count": count, "apply": apply_,
                            "drop_response": drop, "latency": latency}
    if status is not None:
        spec["status"] = status
    if body is not None:
        try:
            spec["body"] = json.loads(body)
        except ValueError:
            raise UsageError("--body is not valid JSON") from None
    _show(_ctl(ctx, "POST", "/faults", spec))


@ctl.command("faults")
@click.pass_context
def ctl_faults(ctx: click.Context) -> None:
    """The faults waiting for a request."""
    _show(_ctl(ctx, "GET", "/faults"))


@ctl.command("clear")
@click.pass_context
def ctl_clear(ctx: click.Context) -> None:
    """Drop every fault waiting."""
    _ctl(ctx, "DELETE", "/faults")
    click.echo("no faults waiting")


@ctl.command("set")
@click.option("--rate-limit", metavar="N", help="Requests per second before 429s ('off' for none).")
@click.option("--latency", type=click.FloatRange(0, 600), metavar="SECONDS", help="Wait before every answer.")
@click.pass_context
def ctl_set(ctx: click.Context, rate_limit: str | None, latency: float | None) -> None:
    """Change the 429 rate limit or the added latency of the running simulator."""
    spec: dict[str, Any] = {}
    if rate_limit is not None:
        if rate_limit.lower() in ("off", "none", "0"):
            spec["rate_limit"] = None
        else:
            try:
                spec["rate_limit"] = float(rate_limit)
            except ValueError:
                raise UsageError("--rate-limit takes a number of requests per second, or 'off'") from None
    if latency is not None:
        spec["latency"] = latency
    if not spec:
        raise UsageError("give --rate-limit and/or --latency")
    _show(_ctl(ctx, "PUT", "/settings", spec))


@ctl.command("remote")
@click.argument("method", type=click.Choice(["GET", "POST", "PUT", "PATCH", "DELETE"], case_sensitive=False))
@click.argument("path")
@click.option("--data", "-d", metavar="JSON", help="Request body (JSON).")
@click.pass_context
def ctl_remote(ctx: click.Context, method: str, path: str, data: str | None) -> None:
    """Make a change "on another device": a Toggl API v9 request as the simulated user.

    PATH as in Toggl's API v9 (e.g. /workspaces/WID/time_entries/ID). It follows
    Toggl's rules, but costs no quota and meets no fault. Prints Toggl's answer.
    """
    body = None
    if data is not None:
        try:
            body = json.loads(data)
        except ValueError:
            raise UsageError("--data is not valid JSON") from None
    answer = _ctl(ctx, "POST", "/toggl", {"method": method.upper(), "path": path, "body": body})
    if not 200 <= answer["status"] < 300:
        raise CliError(f"Toggl (simulated) answered {answer['status']}: {answer['body']}", ExitCode.ERROR)
    if answer["body"] is not None:
        _show(answer["body"])


@ctl.command("save")
@click.pass_context
def ctl_save(ctx: click.Context) -> None:
    """Write the account to the simulator's --state file now."""
    saved = _ctl(ctx, "POST", "/save")
    click.echo(f"saved to {saved['saved']}")


@click.command()
@click.option("--home", "demo_home", type=click.Path(file_okay=False),
              help="Keep the demo's data here (default: a temporary directory).")
@click.option("--entries", type=click.IntRange(0), default=300, show_default=True)
def demo(demo_home: str | None, entries: int) -> None:
    """Run togglsync against the built-in simulator and narrate what happens."""
    from togglsync.cli.demo import run_demo

    run_demo(home=demo_home, entries=entries)
