"""Simulator: the fake Toggl (+ Maton) on a loopback port, in a daemon thread."""

from __future__ import annotations

import errno
import signal
import socket
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from . import persist
from .app import MATON_PREFIX, SimApp
from .clock import SimClock
from .faults import FaultPlan
from .requestlog import RequestLog
from .seed import SeedInfo, seed_account
from .state import SimState


class PortInUse(OSError):
    """The port asked for is taken (werkzeug would print two lines and exit)."""

    def __init__(self, host: str, port: int):
        super().__init__(errno.EADDRINUSE, f"port {port} on {host} is in use")
        self.host, self.port = host, port


def _check_port(host: str, port: int) -> None:
    if port == 0:
        return
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # As werkzeug binds (SO_REUSEADDR): a port left in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise PortInUse(host, port) from None
        raise
    finally:
        probe.close()


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr, and no Date header of its own: the app sends the simulated one."""

    def send_response(self, code: int, message: str | None = None) -> None:
        self.send_response_only(code, message)
        self.send_header("Server", self.version_string())

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class Simulator:
    """A seeded fake Toggl on http://127.0.0.1:<port>; usable as a context manager.

    `now` freezes the clock at that moment before seeding (fully deterministic data).
    `tls` (a certificate file and its key file) serves it on https://127.0.0.1:<port> instead.
    """

    def __init__(
        self,
        *,
        entries: int = 50,
        plan: str = "free",
        seed: int = 0,
        quotas: bool = True,
        rate_limit: float | None = None,
        port: int = 0,
        user_quota: int = 30,
        org_quota: int | None = None,
        burst: int = 3,
        retry_after_header: bool = True,
        second_workspace: bool = False,
        now: datetime | None = None,
        host: str = "127.0.0.1",
        latency: float = 0.0,
        ids_from_clock: bool = False,
        state_file: Path | str | None = None,
        years: float | None = None,
        members: int = 0,
        member_entries: int = 0,
        role: str = "admin",
        tls: tuple[str, str] | None = None,
    ):
        self.clock = SimClock(frozen_at=now)
        self.state = SimState(self.clock)
        if ids_from_clock:
            # A practice server: a later run's ids are larger than an earlier run's (store.ID_RATES).
            self.state.id_clock = time.time
        self.state_file = Path(state_file) if state_file is not None else None
        # Whether the account came from the state file (else it was seeded now).
        self.loaded = self.state_file is not None and self.state_file.exists()
        if self.state_file is not None and self.loaded:
            self.seed: SeedInfo = persist.load(self.state, self.state_file)
        else:
            self.seed = seed_account(self.state, entries=entries, plan=plan, seed=seed, second_workspace=second_workspace,
                                     years=years, members=members, member_entries=member_entries, role=role)
        self.app = SimApp(
            self.state,
            quotas=quotas,
            user_quota=user_quota,
            org_quota=org_quota,
            rate_limit=rate_limit,
            burst=burst,
            retry_after_header=retry_after_header,
            latency=latency,
        )
        self.app.acting_user_id = self.seed.user_id
        self.app.save_state = self.save if self.state_file is not None else None
        self._host = host
        self._port = port
        # (certificate file, key file): served over https, as Toggl is (tests of certificate checks).
        self._tls = tls
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------

    def save(self) -> Path | None:
        """Write the account to the state file (if there is one); returns its path."""
        if self.state_file is None:
            return None
        persist.save(self.state, self.seed, self.state_file)
        return self.state_file

    def start(self) -> Simulator:
        if self._server is not None:
            return self
        _check_port(self._host, self._port)
        self._server = make_server(self._host, self._port, self.app, threaded=True, request_handler=_QuietHandler,
                                   ssl_context=self._tls)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            # How long stop() waits for the loop to notice: the suite starts and stops hundreds.
            kwargs={"poll_interval": 0.01},
            name="toggl-simulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server, self._thread = None, None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- where it is ------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the simulator is not running: call start() first")
        return self._server.server_port

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://{self._host}:{self.port}"

    @property
    def gateway_url(self) -> str:
        return self.url + MATON_PREFIX

    @property
    def ctrl_url(self) -> str:
        return self.url

    @property
    def log(self) -> RequestLog:
        return self.app.log

    @property
    def faults(self) -> FaultPlan:
        return self.app.faults

    def env(self, transport: str = "direct", connection: bool = False) -> dict[str, str]:
        """Environment variables that point togglsync at this simulator."""
        if transport == "direct":
            return {
                "TOGGLSYNC_TRANSPORT": "direct",
                "TOGGLSYNC_API_URL": self.url,
                "TOGGL_API_TOKEN": self.seed.api_token,
            }
        if transport == "maton":
            variables = {
                "TOGGLSYNC_TRANSPORT": "maton",
                "TOGGLSYNC_API_URL": self.gateway_url,
                "MATON_API_KEY": self.seed.maton_api_key,
                "TOGGLSYNC_MATON_CTRL_URL": self.ctrl_url,
            }
            if connection:
                variables["MATON_CONNECTION"] = self.seed.connection_id
            return variables
        raise ValueError(f"unknown transport {transport!r}: use 'direct' or 'maton'")


def run_forever(
    port: int = 0,
    entries: int = 200,
    plan: str = "free",
    *,
    seed: int = 0,
    quotas: bool = True,
    rate_limit: float | None = None,
    latency: float = 0.0,
    state_file: Path | str | None = None,
    second_workspace: bool = False,
    years: float | None = None,
    out: TextIO | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve a simulator until Ctrl-C (the `togglsync simulator` command) or until `stop` is set.

    A practice server: ids follow the wall clock (a restart never reuses an
    earlier run's ids), and with `state_file` the account is loaded from it
    when it exists and saved to it when the server stops (Ctrl-C, SIGTERM or
    `ctl save`). Prints the environment variables that point togglsync at it.
    Raises PortInUse when the port is taken, persist.StateFileError for a bad file.
    """
    out = out or sys.stdout
    if state_file is not None:
        persist.check_writable(Path(state_file))
    sim = Simulator(
        entries=entries,
        plan=plan,
        seed=seed,
        quotas=quotas,
        rate_limit=rate_limit,
        latency=latency,
        port=port,
        second_workspace=second_workspace,
        ids_from_clock=True,
        state_file=state_file,
        years=years,
        # Years of history come with a colleague's entries beside the user's (for `history --all-users`).
        members=1 if years else 0,
        member_entries=entries // 10 if years else 0,
    )
    sim.start()
    stopped = stop or threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (kill, a service manager) stops it as Ctrl-C does: the state is saved.
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: stopped.set())
    try:
        count = sum(1 for e in sim.state.entries.values() if not e.deleted)
        origin = f"loaded from {sim.state_file}" if sim.loaded else f"{plan} plan"
        print(f"# Toggl simulator on {sim.url} ({count} entries, {origin}). Ctrl-C stops it.", file=out)
        if sim.state_file is not None:
            print(f"# The account is saved to {sim.state_file} when it stops.", file=out)
        print("# Direct API:", file=out)
        for name, value in sim.env("direct").items():
            print(f"export {name}={value}", file=out)
        print("# Or through the Maton gateway:", file=out)
        for name, value in sim.env("maton").items():
            print(f"export {name}={value}", file=out)
        print(f"# Login for the seeded user: {sim.seed.email} / {sim.seed.password}", file=out)
        print(f"# Faults and remote changes: togglsync simulator ctl --url {sim.url} --help", file=out)
        out.flush()
        while not stopped.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
        try:
            saved = sim.save()
        except OSError as error:
            print(f"Error: cannot save the simulator's state to {sim.state_file}: {error.strerror}", file=sys.stderr)
        else:
            if saved is not None:
                print(f"# Saved the account to {saved}.", file=out)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
