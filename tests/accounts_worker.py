"""One account's life in a process of its own, for tests/test_accounts_concurrent.py (no tests here).

Run as a script with one JSON argument: {"db", "url", "token", "account", "seed", "cycles", "ledger"}.
Each cycle makes a few offline edits for the account (LocalStore, `account=`), then syncs it
(`run_sync(..., account=)`, its own lock), while another process does the same for another
account in the same SQLite file. Writes the ledger: the descriptions of the entries it expects
Toggl to hold at the end (made, renamed or deleted here), and the syncs' outcomes.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from random import Random

from sqlalchemy import select

from togglsync.api import DirectAuth, RetryPolicy, TogglClient
from togglsync.db.models import TimeEntry
from togglsync.db.open import open_database
from togglsync.errors import UsageError
from togglsync.local import LocalStore
from togglsync.sync.engine import SyncOptions, run_sync, sync_lock


def main(spec: dict) -> None:
    rnd = Random(spec["seed"])
    name = spec["account"]
    engine = open_database(spec["db"])
    client = TogglClient(spec["url"], DirectAuth(spec["token"]), min_interval=0, retry=RetryPolicy.immediate(),
                         timeout=(5.0, 10.0))
    store = LocalStore(engine, account=name)
    expected: set[str] = set()
    outcomes: list[str] = []
    for cycle in range(spec["cycles"]):
        for step in range(rnd.choice([1, 2, 3])):
            now = datetime.now(timezone.utc)
            roll = rnd.random()
            mine = _own_entries(engine, expected)
            if roll < 0.45 or not mine:
                description = f"{name}-{cycle}-{step}"
                store.add_entry(description, start=now - timedelta(hours=rnd.randint(2, 60)), duration=rnd.randint(60, 3600))
                expected.add(description)
            elif roll < 0.7:
                entry_id, old = rnd.choice(sorted(mine.items()))
                new = f"{name}-{cycle}-{step}-renamed"
                store.edit_entry(entry_id, description=new)
                expected.discard(old)
                expected.add(new)
            elif roll < 0.85:
                entry_id, old = rnd.choice(sorted(mine.items()))
                store.delete_entry(entry_id)
                expected.discard(old)
            else:
                try:
                    store.stop_timer()
                except UsageError:
                    store.start_timer(f"{name}-{cycle}-timer")
                    expected.add(f"{name}-{cycle}-timer")
        with sync_lock(spec["db"], wait=True, account=name):
            result = run_sync(engine, client, SyncOptions(), account=name)
        outcomes.append(f"{result.exit_code} {result.stopped or ''} {result.error or ''}".strip())
    with open(spec["ledger"], "w", encoding="utf-8") as out:
        json.dump({"expected": sorted(expected), "outcomes": outcomes}, out)
    client.close()
    engine.dispose()


def _own_entries(engine, expected: set[str]) -> dict[int, str]:
    """This worker's entries by id (those it made and still expects), stopped ones only."""
    with engine.connect() as conn:
        found = conn.execute(select(TimeEntry.id, TimeEntry.description).where(
            TimeEntry.description.in_(sorted(expected)), TimeEntry.duration >= 0)).all()
    return {int(i): str(d) for i, d in found}


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
