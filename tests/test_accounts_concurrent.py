"""Two processes sync two accounts into one database (a SQLite file, a PostgreSQL database) at once, with offline edits and faults (issue 15).

Each process (tests/accounts_worker.py) edits its own account offline and syncs it, under its
own lock, while the other does the same; the simulator holds both users (who share a
workspace) and fails some requests on the way: 5xx answers, answers lost after the request
was applied. At the end both accounts converge with their servers: every entry each process
expects is on Toggl once, the cache equals the server for each user, and nothing of one
account carries the other's edits.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from test_sync_support import entry_states, server_entry_states

from togglsync import accounts, records
from togglsync.api import DirectAuth, RetryPolicy, TogglClient
from togglsync.db.models import PendingOperation, TimeEntry
from togglsync.db.open import open_database
from togglsync.simulator.seed import seed_account
from togglsync.sync.engine import SyncOptions, run_sync

WORKER = Path(__file__).with_name("accounts_worker.py")
CYCLES = 12


def _client(url: str, token: str) -> TogglClient:
    return TogglClient(url, DirectAuth(token), min_interval=0, retry=RetryPolicy.immediate(), timeout=(5.0, 10.0))


def test_two_processes_sync_two_accounts_into_one_file_with_faults(make_sim, tmp_path, database):
    sim = make_sim(entries=20, seed=1, quotas=False)
    bob = seed_account(sim.state, entries=15, seed=2)
    sim.state.add_membership(sim.seed.workspace_id, bob.user_id, role="user")
    db = database  # a file, or a PostgreSQL database (its locks: advisory locks per account)
    engine = open_database(db)
    tokens = {accounts.IMPLICIT: sim.seed.api_token, "bob": bob.api_token}
    users = {accounts.IMPLICIT: sim.seed.user_id, "bob": bob.user_id}
    for name, token in tokens.items():
        client = _client(sim.url, token)
        assert run_sync(engine, client, SyncOptions(), account=name).exit_code == 0
        client.close()

    # Faults either process may meet: 5xx before and after applying, answers lost after applying.
    faults = sim.faults
    rules = [
        faults.add(status=503, method="GET", path="/me/time_entries*", count=3),
        faults.add(status=502, method="GET", path="/me", count=2),
        faults.add(drop_response=True, method="POST", path="/workspaces/*/time_entries", count=3),
        faults.add(status=500, apply=True, method="PUT", path="/workspaces/*/time_entries/*", count=2),
        faults.add(status=503, method="DELETE", path="/workspaces/*/time_entries/*", count=2),
        faults.add(drop_response=True, method="PATCH", path="/workspaces/*/time_entries/*", count=1),
    ]

    workers = {}
    for seed, (name, token) in enumerate(tokens.items()):
        spec = {"db": str(db), "url": sim.url, "token": token, "account": name, "seed": seed, "cycles": CYCLES,
                "ledger": str(tmp_path / f"{name}.json")}
        workers[name] = subprocess.Popen([sys.executable, str(WORKER), json.dumps(spec)],
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for name, worker in workers.items():
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, f"{name}: {err[-3000:]}"
    ledgers = {name: json.loads((tmp_path / f"{name}.json").read_text()) for name in tokens}
    spent = sum(rule.hits for rule in rules)
    assert spent >= 6, f"the processes met only {spent} faults"

    # The faults are spent or cleared; each account syncs until nothing is left to send.
    faults.clear()
    for name, token in tokens.items():
        client = _client(sim.url, token)
        for _ in range(4):
            result = run_sync(engine, client, SyncOptions(), account=name)
            assert result.exit_code == 0, (name, result, ledgers[name]["outcomes"])
            with engine.connect() as conn:
                if not conn.execute(select(PendingOperation.id).where(PendingOperation.account == name)).first():
                    break
        client.close()

    with engine.connect() as conn:
        assert conn.execute(select(PendingOperation.__table__)).all() == []
        local_rows = [dict(r) for r in conn.execute(select(TimeEntry.__table__)).mappings()]
    server = server_entry_states(sim)
    for name, user in users.items():
        mine_local = entry_states(r for r in local_rows if r["user_id"] == user)
        mine_server = {i: s for i, s in server.items() if sim.state.entries[i].user_id == user}
        assert mine_local == mine_server, name  # converged with its server
        descriptions = [s["description"] for s in mine_server.values()]
        for description in ledgers[name]["expected"]:
            assert descriptions.count(description) == 1, (name, description)  # nothing lost, nothing twice
        other = next(n for n in users if n != name)
        assert not [d for d in descriptions if d and d.startswith(f"{other}-")], name  # none of the other's edits
    assert {e["id"] for e in sim.state.all_time_entries()} == {r["id"] for r in local_rows}
    assert all(records.entry_row(e)["user_id"] in users.values() for e in sim.state.all_time_entries())
    engine.dispose()
