"""A throwaway PostgreSQL server for the tests (no tests here).

`start()` makes a cluster in a temporary folder (initdb), listening on a free
loopback port and a socket in that folder, with durability off (fsync,
synchronous_commit, full_page_writes: nothing here must survive a crash), and
returns a `Server`: `create_database()` gives each test a database of its own,
`stop()` stops the server and removes the folder. The programs come from
`pg_ctl` on PATH, else Debian's /usr/lib/postgresql/<version>/bin.

PostgreSQL refuses to run as root: as root, the server runs as the `postgres`
user (Debian's package creates it), else as `nobody`, through `runuser`.

`python tests/pg.py` starts one and prints its URL until Ctrl-C (to poke at it).
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SUPERUSER = "togglsync"


class Unavailable(Exception):
    """No PostgreSQL here, or it would not start: the message says why."""


def programs() -> Path:
    """The folder of initdb, pg_ctl and postgres."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                      key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    if versions:
        return versions[-1].parent
    raise Unavailable("PostgreSQL is not installed (no pg_ctl on PATH or in /usr/lib/postgresql/*/bin)")


def _runner() -> tuple[list[str], str | None]:
    """The command prefix that runs the server's programs as a user PostgreSQL accepts, and that user."""
    if os.geteuid() != 0:
        return [], None
    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        runuser = shutil.which("runuser")
        if runuser:
            return [runuser, "-u", user, "--"], user
    raise Unavailable("running as root, and neither a postgres nor a nobody user (with runuser) to run the server as")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    bin: Path
    folder: Path
    port: int
    prefix: list[str]
    version: str
    _names: itertools.count = field(default_factory=itertools.count)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(statement)

    _template: str | None = None

    def create_database(self, *, migrated: bool = True) -> str:
        """A new database, at this version's schema (a copy of one migrated once: a fraction of
        the migrations' time), or empty; its URL."""
        name = f"t{os.getpid()}_{next(self._names)}"
        if migrated and self._template is None:
            template = f"template_{os.getpid()}"
            self._admin(f'CREATE DATABASE "{template}"')
            from togglsync.db.open import open_database

            open_database(self.url(template)).dispose()
            self._template = template
        self._admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{self._template}"' if migrated else ""))
        return self.url(name)

    def drop_database(self, url: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')

    def stop(self) -> None:
        subprocess.run([*self.prefix, str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate",
                        "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)


def start() -> Server:
    """A new cluster, started (see the module's docstring); `Unavailable` when it cannot be."""
    bin = programs()
    prefix, user = _runner()
    folder = Path(tempfile.mkdtemp(prefix="togglsync-pg-"))
    if user is not None:
        shutil.chown(folder, user=user)
    try:
        done = subprocess.run(
            [*prefix, str(bin / "initdb"), "-D", str(folder / "data"), "-U", SUPERUSER, "--auth=trust",
             "-E", "UTF8", "--locale=C", "--no-sync"], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise Unavailable(f"initdb failed: {(done.stderr or done.stdout).strip()[-500:]}")
        for _attempt in range(3):  # a free port may be taken between the probe and the server's bind
            port = _free_port()
            options = (f"-p {port} -h 127.0.0.1 -k {folder} -c fsync=off -c synchronous_commit=off "
                       "-c full_page_writes=off -c max_connections=300")
            done = subprocess.run(
                [*prefix, str(bin / "pg_ctl"), "-D", str(folder / "data"), "-l", str(folder / "log"), "-o", options,
                 "-w", "-t", "60", "start"], capture_output=True, text=True, timeout=90)
            if done.returncode == 0:
                break
        else:
            log = (folder / "log").read_text(errors="replace")[-500:] if (folder / "log").exists() else ""
            raise Unavailable(f"the server did not start: {done.stderr.strip()[-300:]} {log}")
        version = subprocess.run([str(bin / "postgres"), "--version"], capture_output=True, text=True).stdout.strip()
    except BaseException:
        subprocess.run([*prefix, str(bin / "pg_ctl"), "-D", str(folder / "data"), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Server(bin, folder, port, prefix, version.removeprefix("postgres (PostgreSQL) "))


if __name__ == "__main__":
    server = start()
    print(f"PostgreSQL {server.version}: {server.url()} (Ctrl-C stops it)")
    try:
        import time

        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
