"""What SQLite alone costs a cold sync: the floor under any Python work, on this machine.

    .venv/bin/python bench/sqlite_floor.py                   # 100,000 entries, 2 runs a variant
    .venv/bin/python bench/sqlite_floor.py --entries 20000 --runs 1

It runs one cold `togglsync sync` against bench/simserver.py, takes the rows it
stored (`time_entries` and `time_entry_tags`, in their stored form), and writes
them again with the sqlite3 driver alone into an empty copy of the same schema:
no parsing, no checking, no conversion. Each variant starts from that empty
copy; the best of its runs is printed.

- "as the sync writes": newest first (as the API lists them), each transaction
  sorted by id, --rows-per-transaction rows in each (about what the re-sync's
  50 ms transactions take here), the upsert statement, the sync's pragmas
  (WAL, synchronous=NORMAL, foreign keys, a 64 MB cache, statement journals in
  memory, SQLite's automatic checkpoint at 1,000 pages);
- then one change at a time: one transaction; no automatic checkpoint (one at
  the end); `raw` left empty; no secondary index on time_entries; those indexes
  built after the load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import SimProcess, run_process, togglsync_exe, use_togglsync


def upsert_sql(table: str, columns: list[str]) -> str:
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates}")


class Floor:
    def __init__(self, synced: Path, work: Path, per_transaction: int, cache_mb: int):
        self.work = work
        self.cache_mb = cache_mb
        self.per_transaction = per_transaction
        source = sqlite3.connect(synced)
        self.columns = [row[1] for row in source.execute("PRAGMA table_info(time_entries)")]
        self.rows = source.execute(f"SELECT {', '.join(self.columns)} FROM time_entries ORDER BY id").fetchall()
        self.tag_columns = [row[1] for row in source.execute("PRAGMA table_info(time_entry_tags)")]
        by_entry: dict[int, list[tuple]] = {}
        for pair in source.execute(f"SELECT {', '.join(self.tag_columns)} FROM time_entry_tags"):
            by_entry.setdefault(pair[0], []).append(pair)
        self.tags = by_entry
        self.indexes = source.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'time_entries' AND sql IS NOT NULL"
        ).fetchall()
        source.close()
        self.empty = work / "empty.db"
        shutil.copy(synced, self.empty)
        conn = sqlite3.connect(self.empty, isolation_level=None)
        conn.execute("DELETE FROM time_entry_tags")
        conn.execute("DELETE FROM time_entries")
        conn.execute("VACUUM")
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.close()

    def run(self, *, one_transaction: bool = False, autocheckpoint: int = 1000, raw: bool = True,
            indexes: str = "kept") -> tuple[float, float, float, float]:
        """(total, statements, commits, end) seconds; `indexes`: kept, none, or after (built at the end)."""
        path = self.work / "floor.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.copy(self.empty, path)
        conn = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", f"cache_size={-1024 * self.cache_mb}",
                       "temp_store=MEMORY", f"wal_autocheckpoint={autocheckpoint}"):
            conn.execute(f"PRAGMA {pragma}")
        if indexes != "kept":
            for name, _sql in self.indexes:
                conn.execute(f"DROP INDEX {name}")
        rows = self.rows
        if not raw:
            at = self.columns.index("raw")
            rows = [row[:at] + (None,) + row[at + 1:] for row in rows]
        entries = upsert_sql("time_entries", self.columns)
        pairs = (f"INSERT INTO time_entry_tags ({', '.join(self.tag_columns)}) "
                 f"VALUES ({', '.join('?' * len(self.tag_columns))}) ON CONFLICT DO NOTHING")
        size = len(rows) if one_transaction else self.per_transaction
        began = time.perf_counter()
        statements = commits = 0.0
        for end in range(len(rows), 0, -size):  # newest first, as the API lists them
            batch = rows[max(0, end - size):end]
            at = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(entries, batch)
            conn.executemany(pairs, [pair for row in batch for pair in self.tags.get(row[0], ())])
            written = time.perf_counter()
            conn.execute("COMMIT")
            statements += written - at
            commits += time.perf_counter() - written
        at = time.perf_counter()
        if indexes == "after":
            for _name, sql in self.indexes:
                conn.execute(sql)
        if autocheckpoint == 0:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finish = time.perf_counter() - at
        conn.close()
        return time.perf_counter() - began, statements, commits, finish


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--rows-per-transaction", type=int, default=1500)
    parser.add_argument("--cache-mb", type=int, default=64, help="page cache (the re-sync's: db.engine.bulk_writes)")
    parser.add_argument("--only", help="run only the variants whose names contain this")
    args = parser.parse_args()
    use_togglsync(str(Path(sys.executable).parent / "togglsync"))
    work = Path(tempfile.mkdtemp(prefix="togglsync-floor-"))
    sim = SimProcess(args.entries)
    try:
        home = work / "home"
        run_process([togglsync_exe(), "sync", "--quiet"], sim.env(home), sim)
        floor = Floor(home / "togglsync.db", work, args.rows_per_transaction, args.cache_mb)
    finally:
        sim.close()
    try:
        print(f"{len(floor.rows):,} entries, {sum(map(len, floor.tags.values())):,} tag pairs, "
              f"{len(floor.indexes)} secondary indexes on time_entries; SQLite {sqlite3.sqlite_version}; "
              f"{args.cache_mb} MB cache; best of {args.runs}")
        print(f"{'variant':48s} {'total':>7s} {'inserts':>8s} {'commits':>8s} {'end':>6s}")
        variants = [
            (f"as the sync writes ({args.rows_per_transaction:,} rows a transaction)", {}),
            ("one transaction", {"one_transaction": True}),
            ("no automatic checkpoint, one at the end", {"autocheckpoint": 0}),
            ("raw left empty", {"raw": False}),
            ("no secondary index on time_entries", {"indexes": "none"}),
            ("those indexes built after the load", {"indexes": "after"}),
        ]
        for name, options in variants:
            if args.only and args.only not in name:
                continue
            best = min((floor.run(**options) for _ in range(args.runs)), key=lambda t: t[0])
            print(f"{name:48s} {best[0]:7.2f} {best[1]:8.2f} {best[2]:8.2f} {best[3]:6.2f}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        os.sync()


if __name__ == "__main__":
    main()
