"""Every test runs with its own togglsync home and no credentials from the developer's shell."""

from __future__ import annotations

import pytest

_ENV_VARS = (
    "TOGGL_API_TOKEN",
    "MATON_API_KEY",
    "MATON_CONNECTION",
    "TOGGLSYNC_HOME",
    "TOGGLSYNC_DB",
    "TOGGLSYNC_API_URL",
    "TOGGLSYNC_MATON_CTRL_URL",
    "TOGGLSYNC_TRANSPORT",
    "TOGGLSYNC_PACING",
    "TOGGLSYNC_BUSY_TIMEOUT",
    "TOGGLSYNC_TZ",
    "TOGGLSYNC_ACCOUNT",
)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    for name in _ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "togglsync-home"
    monkeypatch.setenv("TOGGLSYNC_HOME", str(home))
    return home


# -- Both databases: SQLite and PostgreSQL ---------------------------------------------
#
# A test that takes `backend` (directly, or through `env`, `synced`, `database`) runs
# twice: on a SQLite file and on a PostgreSQL database of its own, on a throwaway
# server this session starts (tests/pg.py; one per xdist worker). A test or module that
# reads the SQLite file itself is marked `sqlite_only` and runs once. Where PostgreSQL
# cannot be started the PostgreSQL half is skipped, with the reason, except under
# .ci/run (TOGGLSYNC_TEST_POSTGRES=required), where that is an error.

BACKENDS = ("sqlite", "postgresql")

# The modules whose database-facing tests run on both (the sync's push, reconciliation and
# parked operations; the everyday commands; the offline editing API). The others take the
# same fixtures on SQLite alone, to keep .ci/run under 10 minutes on 2 cores: add a module
# here (and mark what reads the file itself `sqlite_only`) to run it on PostgreSQL too.
POSTGRES_MODULES = frozenset({
    "test_sync_push", "test_sync_interrupt", "test_parked", "test_create_recognition", "test_account_guard",
    "test_cli_tracking", "test_cli_reporting", "test_cli_catalog", "test_cli_ids", "test_cli_undo", "test_local", "test_postgres",
    "test_accounts", "test_accounts_concurrent", "test_window",
})


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: runs on SQLite only (it reads the file itself)")


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        only = (metafunc.definition.get_closest_marker("sqlite_only") is not None
                or metafunc.module.__name__.rsplit(".", 1)[-1] not in POSTGRES_MODULES)
        metafunc.parametrize("backend", ["sqlite"] if only else list(BACKENDS), indirect=True)


@pytest.fixture(scope="session")
def postgres_server():
    """The session's PostgreSQL server (tests/pg.py), or a skip saying why there is none."""
    import os

    import pg

    try:
        server = pg.start()
    except pg.Unavailable as exc:
        if os.environ.get("TOGGLSYNC_TEST_POSTGRES") == "required":
            pytest.fail(f"PostgreSQL is required here but could not be started: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL half skipped: {exc}")
    yield server
    server.stop()


@pytest.fixture
def backend(request):
    """`sqlite` or `postgresql` (parametrised: see above)."""
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres_server")
        request.node.user_properties.append(("postgresql", server.version))
    return request.param


@pytest.fixture
def database(backend, request, tmp_path):
    """A database target for this test, not created yet: a file path, or a new PostgreSQL database's URL."""
    if backend == "sqlite":
        yield tmp_path / "cache.db"
        return
    server = request.getfixturevalue("postgres_server")
    url = server.create_database()
    yield url
    server.drop_database(url)


def pytest_terminal_summary(terminalreporter):
    """Say whether the PostgreSQL half ran: how many tests, on which server."""
    import re

    on_postgres = re.compile(r"[\[-]postgresql[\]-]")
    reports = [r for key in ("passed", "failed", "error", "skipped") for r in terminalreporter.stats.get(key, [])
               if on_postgres.search(getattr(r, "nodeid", ""))]
    calls = [r for r in reports if r.when == "call" or (r.when == "setup" and r.outcome != "passed")]
    if not calls:
        return
    versions = {value for r in calls for name, value in getattr(r, "user_properties", ()) if name == "postgresql"}
    counts = {}
    for r in calls:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    told = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
    server = f"PostgreSQL {', '.join(sorted(versions))} (a throwaway server on 127.0.0.1 per worker)" if versions \
        else "PostgreSQL (not started)"
    terminalreporter.write_line(f"{server}: {len(calls)} tests: {told}")


# -- Time for the HTTP client ----------------------------------------------------


class InstantClock:
    """A clock whose sleeps return at once: its time moves by what was slept, and `slept` lists the waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock():
    return InstantClock()


# -- The CLI in-process --------------------------------------------------------------


def invoke_cli(args, *, env=None, input=None, clock=None):
    """`togglsync ARGS` through click's CliRunner.

    Its App keeps the production retry policy and pacing, on `clock` (a new
    InstantClock by default): back-off and pacing cost no real time.
    """
    from click.testing import CliRunner

    from togglsync.app import App
    from togglsync.cli import cli

    clock = clock or InstantClock()
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, input=input,
                              obj=lambda settings: App(settings, clock=clock))


def run_in_terminal(args, env, answer):
    """`togglsync ARGS` in a child process whose standard input is a terminal (a pty), where
    `answer` is typed: what a person at a prompt sees. `env` values of None are unset.
    Returns (exit code, stdout, stderr)."""
    import os
    import pty
    import subprocess
    import sys

    environ = {**os.environ, **{k: v for k, v in env.items() if v is not None}}
    for name in [k for k, v in env.items() if v is None]:
        environ.pop(name, None)
    leader, follower = pty.openpty()
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "togglsync", *map(str, args)], stdin=follower, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=environ, text=True,
        )
        os.write(leader, answer.encode())
        out, err = child.communicate(timeout=120)
    finally:
        os.close(leader)
        os.close(follower)
    return child.returncode, out, err


# -- Toggl simulator (togglsync.simulator) ------------------------------------


class SimHttp:
    """A requests.Session aimed at a running Simulator, authenticated for its seeded user.

    `call("GET", "/me")` goes to <root>/api/v9/me; `api="reports"` to <root>/reports/api/v3.
    transport="maton" goes through the gateway prefix with the Maton key.
    """

    def __init__(self, sim, transport="direct", connection=None):
        import requests

        self.sim = sim
        self.session = requests.Session()
        if transport == "direct":
            root = sim.url
            self.session.auth = (sim.seed.api_token, "api_token")
        elif transport == "maton":
            root = sim.gateway_url
            self.session.headers["Authorization"] = f"Bearer {sim.seed.maton_api_key}"
            if connection:
                self.session.headers["Maton-Connection"] = connection
        else:
            raise ValueError(transport)
        self.roots = {"v9": root + "/api/v9", "reports": root + "/reports/api/v3"}

    def __call__(self, method, path, *, api="v9", **kwargs):
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.roots[api] + path, **kwargs)

    def get(self, path, **kwargs):
        return self("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self("PUT", path, **kwargs)

    def patch(self, path, **kwargs):
        return self("PATCH", path, **kwargs)

    def delete(self, path, **kwargs):
        return self("DELETE", path, **kwargs)


@pytest.fixture
def make_sim():
    """Start Simulators (keyword arguments as Simulator's); all stop after the test."""
    from togglsync.simulator import Simulator

    started = []

    def make(**kwargs):
        simulator = Simulator(**kwargs).start()
        started.append(simulator)
        return simulator

    yield make
    for simulator in started:
        simulator.stop()


@pytest.fixture
def sim(make_sim):
    """A running simulator: 50 entries, free plan, quotas on, clock following real time."""
    return make_sim(entries=50, seed=1)


@pytest.fixture
def sim_http():
    """SimHttp factory: sim_http(sim, transport="direct"|"maton", connection=None)."""
    return SimHttp


# -- A home that has synced once, for the everyday (offline) commands ---------------


class SyncedHome:
    """A togglsync home whose database was filled by one cold sync from a simulator.

    `run(*args)` invokes the CLI in-process (click's CliRunner) with this home's
    environment; `sim` is the simulator (stop it to prove a command is offline);
    `db` the database path.
    """

    def __init__(self, sim, home, db=None):
        self.sim = sim
        self.home = home
        self.env = {**sim.env("direct"), "TOGGLSYNC_HOME": str(home), "TOGGLSYNC_PACING": "0"}
        # A file in the home, or (PostgreSQL) the database's URL, in TOGGLSYNC_DB.
        self.db = db or home / "togglsync.db"
        if db is not None:
            self.env["TOGGLSYNC_DB"] = str(db)

    def run(self, *args, input=None, env=None):
        return invoke_cli(args, env={**self.env, **(env or {})}, input=input)

    def requests(self) -> int:
        return len(self.sim.log.records)


@pytest.fixture
def synced(make_sim, isolated_home, backend, request):
    """A SyncedHome after one successful `togglsync sync` (seeded account, 200 entries, quotas off),
    on each backend (a SQLite file in the home, or a PostgreSQL database)."""
    sim = make_sim(entries=200, seed=7, quotas=False)
    db = request.getfixturevalue("database") if backend == "postgresql" else None
    home = SyncedHome(sim, isolated_home, db)
    result = home.run("sync")
    assert result.exit_code == 0, result.output
    return home


@pytest.fixture
def env(make_sim, database):
    """A database synced once against a fresh simulator, its request log cleared (test_sync_support.SyncEnv),
    on each backend.

    Modules that need another start (a bigger account, no first sync) define their own `env`."""
    from test_sync_support import make_env

    synced = make_env(make_sim, database=database)
    synced.sync()
    synced.sim.log.clear()
    yield synced
    synced.close()
