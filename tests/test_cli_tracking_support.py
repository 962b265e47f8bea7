"""Shared helpers for the timer / time entry command tests (no tests here).

An "offline" home holds a copy of a database synced once from a simulator
that has been stopped since: a command that tried the network would fail, so
every test using one proves the command works offline. Copying one synced
database per test module keeps the many small cases fast. Test modules wrap
`synced_template` and `offline_copy` in fixtures of their own:

    @pytest.fixture(scope="module")
    def template(tmp_path_factory):
        return synced_template(tmp_path_factory)

    @pytest.fixture
    def offline(template, tmp_path):
        return offline_copy(template, tmp_path)
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from click.testing import Result
from conftest import _ENV_VARS, invoke_cli


@dataclass
class Home:
    """A togglsync home; `run(*args)` invokes the CLI in-process with its environment."""

    env: dict[str, Any]
    db: Path
    sim: Any = field(default=None)

    def run(self, *args: Any, env: dict[str, Any] | None = None) -> Result:
        return invoke_cli(args, env={**self.env, **(env or {})})

    def sql(self, query: str, *params: Any) -> list[tuple]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute(query, params).fetchall()

    def execute(self, *statements: str) -> None:
        conn = sqlite3.connect(self.db)
        try:
            for statement in statements:
                conn.execute(statement)
            conn.commit()
        finally:
            conn.close()


def synced_template(tmp_path_factory) -> tuple[Path, dict[str, Any]]:
    """(home dir, env) of a home synced once from a simulator that is stopped afterwards."""
    from togglsync.simulator import Simulator

    sim = Simulator(entries=200, seed=7, quotas=False).start()
    try:
        home = tmp_path_factory.mktemp("tracking-template")
        # The shell's settings must not leak in (conftest clears them per test, after us).
        env = {name: None for name in _ENV_VARS}
        env.update({**sim.env("direct"), "TOGGLSYNC_HOME": str(home), "TOGGLSYNC_PACING": "0"})
        result = invoke_cli(["sync"], env=env)
        assert result.exit_code == 0, result.output
    finally:
        sim.stop()
    return home, env


def offline_copy(template: tuple[Path, dict[str, Any]], tmp_path: Path) -> Home:
    """A fresh copy of the synced home; its simulator is down."""
    source, env = template
    home = tmp_path / "offline-home"
    shutil.copytree(source, home)
    return Home(env={**env, "TOGGLSYNC_HOME": str(home)}, db=home / "togglsync.db")


def online(synced) -> Home:
    """The conftest `synced` home as a Home (simulator running)."""
    return Home(env=synced.env, db=synced.db, sim=synced.sim)


def back_online(home: Home) -> None:
    """Restart a stopped simulator (it gets a new port) and point the home at it."""
    home.sim.start()
    home.env["TOGGLSYNC_API_URL"] = home.sim.url


def dump(db: Path) -> list[str]:
    """Every table's content (and the schema) as SQL text: equal dumps mean an unchanged database."""
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr, result.exception)
    assert result.stderr == "", result.stderr
    return result.stdout


def error_line(result: Result) -> str:
    """The one `Error: ...` line on stderr of a failed command."""
    assert result.exit_code != 0, result.stdout
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), result.stderr
    return lines[0]


def entries(home: Home, description: str) -> list[dict[str, Any]]:
    """Local rows of the entries with this description, oldest first."""
    conn = sqlite3.connect(home.db)
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute(
            "SELECT * FROM time_entries WHERE description = ? ORDER BY start, abs(id)", (description,)
        ).fetchall()
        return [dict(r) for r in rows]
    finally:
        conn.close()


def running(home: Home) -> dict[str, Any] | None:
    conn = sqlite3.connect(home.db)
    conn.row_factory = sqlite3.Row
    try:
        row = conn.execute("SELECT * FROM time_entries WHERE duration < 0 ORDER BY start DESC").fetchone()
        return dict(row) if row else None
    finally:
        conn.close()


def pending(home: Home) -> list[tuple]:
    return home.sql("SELECT action, resource, record_id, state FROM pending_operations ORDER BY id")
