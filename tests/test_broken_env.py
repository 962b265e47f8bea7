"""Broken environments through the real CLI: one `Error:` line, a documented exit code, nothing sent.

A read-only database file or folder, a full disk, a damaged file, a database another
program holds for longer than the busy timeout, bytes that are not UTF-8 in an argument,
a `--db` typo given to a command that only reads, Ctrl-C anywhere. Each scene asserts the
single error line, the exit code, no traceback and, for `sync`, no request at all.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from togglsync.errors import ExitCode
from togglsync.sync.engine import lock_path

WRITERS = (["start", "broken"], ["edit", "-1", "-d", "broken"], ["projects", "add", "Broken"], ["sync"])


def one_error(result, code: int, *needles: str) -> str:
    text = result.output  # stdout and stderr
    assert "Traceback" not in text, text
    assert result.exit_code == code, (result.exit_code, text, result.exception)
    errors = [line for line in text.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, text
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """`path` (a file or a folder) read-only: by its mode, or, for root (whom modes do not
    stop), by a read-only bind mount over it."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    if not (_mount("--bind", str(path), str(path)) and _mount("-o", "remount,bind,ro", str(path), str(path))):
        subprocess.run(["umount", str(path)], capture_output=True)
        pytest.skip("root, and no read-only bind mount here")
    try:
        yield
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "--lazy", str(path)], check=True)  # a file still open: not left mounted


def _quiet(db: Path) -> None:
    """Everything in the main file (no -wal left), as after any command."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


# -- read-only file, read-only folder ------------------------------------------------------------


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_read_only_database_is_one_line_exit_8_and_sync_sends_nothing(synced, what):
    _quiet(synced.db)
    synced.sim.log.clear()
    with read_only(synced.db if what == "file" else synced.db.parent):
        for args in WRITERS:
            one_error(synced.run(*args), ExitCode.DATABASE, str(synced.db.parent))
        assert synced.requests() == 0
    # Nothing was lost: the database works again once writable.
    assert synced.run("start", "works again").exit_code == 0


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_a_lock_file_on_a_read_only_folder_is_one_line_exit_8(synced, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "my.db"
    synced.run("--db", str(db), "status")  # the database does not exist: said, and not created
    assert not db.exists()
    import shutil

    _quiet(synced.db)
    shutil.copy(synced.db, db)
    synced.sim.log.clear()
    with read_only(folder):
        line = one_error(synced.run("--db", str(db), "sync"), ExitCode.DATABASE)
        assert str(folder) in line
    assert synced.requests() == 0


READERS = (["status"], ["log"], ["report"], ["sql", "SELECT id, description FROM time_entries ORDER BY id"])


def _fast(synced, *args: str, env=None) -> subprocess.CompletedProcess:
    """`togglsync ARGS` in a fresh process through the entry point (`status`: the fast way, sqlite3 alone)."""
    return subprocess.run([sys.executable, "-m", "togglsync", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **synced.env, **(env or {})})


def _steady(text: str) -> str:
    """What two runs a moment apart print alike (the seeded timer runs; the last sync recedes)."""
    return re.sub(r"\b\d+:\d\d(:\d\d)?\b|\d+ (s|min) ago|just now", "T", text)


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
@pytest.mark.parametrize("what", ["file", "folder"])
def test_reading_commands_read_a_database_in_a_read_only_place(synced, what):
    synced.sim.log.clear()
    writable = {tuple(args): synced.run(*args) for args in READERS}
    fast = _fast(synced, "status")
    assert fast.returncode == 0, fast.stderr
    _quiet(synced.db)  # the file alone (readers leave a -shm and an empty -wal), as when copied or mounted
    assert not Path(f"{synced.db}-wal").exists() and not Path(f"{synced.db}-shm").exists()
    with read_only(synced.db if what == "file" else synced.db.parent):
        for args in READERS:  # through click (`sql`: SQLAlchemy's engine)
            result = synced.run(*args)
            assert result.exit_code == 0, (args, result.output)
            assert _steady(result.output) == _steady(writable[tuple(args)].output), args
        again = _fast(synced, "status")
        assert (again.returncode, again.stderr) == (0, ""), again.stderr
        assert _steady(again.stdout) == _steady(fast.stdout)
        for args in WRITERS:
            one_error(synced.run(*args), ExitCode.DATABASE, str(synced.db.parent))
    assert synced.requests() == 0


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
@pytest.mark.parametrize("with_shm", [True, False])
def test_commits_left_in_the_wal_of_a_read_only_folder_are_read_or_said(synced, tmp_path, with_shm):
    """A copy taken while a writer had commits in its -wal: with the -shm beside it SQLite reads them;
    without it (and a folder no one can write) they cannot be read, and are never silently left out."""
    folder = tmp_path / "copy"
    folder.mkdir()
    _quiet(synced.db)
    writer = sqlite3.connect(synced.db, isolation_level=None)
    try:
        writer.execute("PRAGMA wal_autocheckpoint=0")
        writer.execute("UPDATE time_entries SET description = 'only in the wal' "
                       "WHERE id = (SELECT max(id) FROM time_entries WHERE stop IS NOT NULL)")
        for suffix in ("", "-wal", *(["-shm"] if with_shm else [])):
            shutil.copy(f"{synced.db}{suffix}", folder / f"togglsync.db{suffix}")
    finally:
        writer.close()
    env = {"TOGGLSYNC_DB": str(folder / "togglsync.db")}
    with read_only(folder):
        if with_shm:
            # `log` from long ago: the entry edited may have started yesterday in the account's zone.
            for args in (["log", "--from", "2000"],
                         ["sql", "SELECT count(*) FROM time_entries WHERE description = 'only in the wal'"]):
                result = synced.run(*args, env=env)
                assert result.exit_code == 0, result.output
                assert "only in the wal" in result.output or "\n1\n" in result.output, result.output
            return
        for args in READERS:
            one_error(synced.run(*args, env=env), ExitCode.DATABASE, str(folder / "togglsync.db"), "togglsync.db-wal")
        fast = _fast(synced, "status", env=env)
        assert fast.returncode == ExitCode.DATABASE, fast.stderr
        assert [line for line in fast.stderr.splitlines() if line.startswith("Error:")] == \
            fast.stderr.splitlines()
        assert "togglsync.db-wal" in fast.stderr


# -- a damaged file -------------------------------------------------------------------------------


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_a_damaged_database_is_one_line_exit_8_and_sync_sends_nothing(synced):
    _quiet(synced.db)
    data = bytearray(synced.db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page:] = bytes((i * 37 + 11) % 256 for i in range(len(data) - page))  # every page after the first
    synced.db.write_bytes(bytes(data))
    synced.sim.log.clear()
    for args in [*WRITERS, ["status"], ["log"], ["report"]]:
        one_error(synced.run(*args), ExitCode.DATABASE, str(synced.db), "damaged")
    assert synced.requests() == 0


# -- another writer, for longer than the busy timeout --------------------------------------------


@pytest.mark.sqlite_only  # reads or changes the SQLite file itself
def test_a_database_held_by_another_writer_is_one_line_exit_8_and_sync_sends_nothing(synced):
    synced.sim.log.clear()
    other = sqlite3.connect(synced.db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        for args in WRITERS:
            one_error(synced.run(*args, env={"TOGGLSYNC_BUSY_TIMEOUT": "0"}), ExitCode.DATABASE,
                      str(synced.db), "busy")
        assert synced.requests() == 0
        assert synced.run("status", env={"TOGGLSYNC_BUSY_TIMEOUT": "0"}).exit_code == 0  # readers go on
    finally:
        other.execute("ROLLBACK")
        other.close()


# -- a full disk ----------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A 4 MB file system of its own (tmpfs; root only)."""
    where = tmp_path / "small-disk"
    where.mkdir()
    if os.geteuid() != 0 or not _mount("-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)):
        pytest.skip("a small file system needs root (mount -t tmpfs)")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def _fill(folder: Path) -> None:
    with contextlib.suppress(OSError), open(folder / "filler", "wb", buffering=0) as filler:
        while True:
            filler.write(b"\0" * 4096)


def test_a_full_disk_is_one_line_exit_8(synced, small_disk):
    db = small_disk / "toggl.db"
    assert synced.run("--db", str(db), "sync").exit_code == 0
    _fill(small_disk)
    for args in (["--db", str(db), "start", "broken"], ["--db", str(db), "sync", "--full"]):
        one_error(synced.run(*args), ExitCode.DATABASE, str(small_disk))
    (small_disk / "filler").unlink()
    assert synced.run("--db", str(db), "start", "room again").exit_code == 0


# -- the sync's lock for every SQLite URL form ----------------------------------------------------


@pytest.mark.parametrize("form", ["{}", "sqlite:///{}", "sqlite+pysqlite:///{}", "sqlite:///file:{}?uri=true"])
def test_every_sqlite_url_form_has_a_sync_lock(tmp_path, form):
    db = tmp_path / "my.db"
    assert lock_path(form.format(db)) == tmp_path / "my.db.lock"


@pytest.mark.parametrize("target", [":memory:", "sqlite://", "sqlite:///:memory:", "sqlite+pysqlite:///:memory:"])
def test_in_memory_databases_have_no_lock(target):
    assert lock_path(target) is None


# -- arguments that are not UTF-8 -----------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["add", "caf\udce9", "--start", "9:00", "--stop", "10:00"],
    ["start", "caf\udce9"],
    ["projects", "add", "caf\udce9"],
    ["tags", "add", "caf\udce9"],
])
def test_arguments_that_are_not_utf8_are_one_line_exit_2(synced, args):
    one_error(synced.run(*args), ExitCode.USAGE, "UTF-8")


# -- a --db typo given to a command that only reads ------------------------------------------------


@pytest.mark.parametrize("command", ["status", "log"])
def test_a_read_only_command_never_creates_a_database(synced, tmp_path, command):
    typo = tmp_path / "tpyo" / "toggl.db"
    one_error(synced.run("--db", str(typo), command), ExitCode.ERROR, f"no database at {typo}")
    assert not typo.parent.exists()


# -- Ctrl-C anywhere ------------------------------------------------------------------------------


class _CtrlC(io.BytesIO):
    """Standard input whose reader gets Ctrl-C."""

    def read(self, size=-1):
        if size == 0:  # click's check that this is a binary stream
            return b""
        raise KeyboardInterrupt

    def readline(self, size=-1):
        raise KeyboardInterrupt

    read1 = read


def test_ctrl_c_at_a_prompt_exits_130_in_one_line(synced):
    result = synced.run("login", input=_CtrlC())
    text = result.output
    assert result.exit_code == ExitCode.INTERRUPTED, text
    assert "Traceback" not in text and "Aborted" not in text
    assert [line for line in result.stderr.splitlines() if line.startswith("Interrupted")], text


def test_ctrl_c_during_a_request_of_another_command_exits_130(synced, monkeypatch):
    def send(self, request, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(requests.Session, "send", send)
    result = synced.run("api", "GET", "/me")
    monkeypatch.undo()
    assert result.exit_code == ExitCode.INTERRUPTED, result.output
    assert "Traceback" not in result.output and "Aborted" not in result.output
    assert result.stderr.splitlines() == [
        "Interrupted: this command's unfinished change is not saved; local changes not yet pushed stay queued "
        "(`togglsync pending`)."
    ]


# -- credentials: missing, or a Maton key without a usable connection ------------------------------


@pytest.mark.parametrize("transport", ["direct", "maton"])
def test_missing_credentials_are_an_auth_error_exit_5(make_sim, isolated_home, transport):
    from conftest import invoke_cli

    sim = make_sim(entries=5, quotas=False)
    env = {**sim.env(transport), "TOGGL_API_TOKEN": "", "MATON_API_KEY": "", "TOGGLSYNC_HOME": str(isolated_home)}
    one_error(invoke_cli(["sync"], env=env), ExitCode.AUTH, "login")
    assert len(sim.log.records) == 0


@pytest.mark.parametrize("case", ["no active connection", "a wrong --connection"])
def test_a_maton_key_without_a_usable_connection_is_an_auth_error_and_one_request(make_sim, isolated_home, case):
    from conftest import invoke_cli

    sim = make_sim(entries=5, quotas=False)
    env = {**sim.env("maton"), "TOGGLSYNC_HOME": str(isolated_home), "TOGGLSYNC_PACING": "0"}
    assert invoke_cli(["sync"], env=env).exit_code == 0  # a cursor now: a 400 on it looked stale
    sim.log.clear()
    args = ["sync"]
    if case == "no active connection":
        for connection in list(sim.state.connections.values()):
            connection.status = "PENDING"
        named = "togglsync connections"
    else:
        args = ["--connection", "0000-not-mine", "sync"]
        named = "0000-not-mine"
    one_error(invoke_cli(args, env=env), ExitCode.AUTH, named, "togglsync connections")
    assert len(sim.log.records) == 1  # not retried as a stale cursor's re-sync
