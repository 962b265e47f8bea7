"""A seeded Toggl simulator in its own process, driven by bench/run.py over stdin/stdout.

Why a separate process: the client under test (`togglsync ...`, itself a
subprocess) must not share a GIL with the server, and on a 2-core machine
each side then gets a core, as with a real (remote) Toggl. Why not
`togglsync simulator`: the benchmark needs the simulator's back door (fast
seeding of 100k entries inside the 89-day window, remote edits, counting
records) and its request log, which only exist in the serving process. So
this script starts a `Simulator`, seeds it through `sim.state`, serves on
127.0.0.1 and answers one-line JSON commands:

    {"cmd": "mark"}                               -> {"mark": <log length>}
    {"cmd": "requests", "since": M}               -> the requests logged after mark M
    {"cmd": "edit_remote", "n": N, "offset": K, "description": D}
                                                  -> edits N seeded entries on the "server"
    {"cmd": "count_description", "prefix": P}     -> live server entries whose description starts with P
    {"cmd": "entry_ids", "n": N, "offset": K}     -> N seeded entry ids
    {"cmd": "latency", "seconds": S}              -> from now on every API answer waits S seconds first
                                                     (the simulator's own latency switch: a round trip)
    {"cmd": "quit"}

The first line written is {"ready": true, "url": ..., "token": ..., "team": [...], ...}; with
--users N, "team" lists the N members of the seeded workspace ({"user_id", "token", "email"}),
each with --entries entries of their own.
Every request's server-side handling time (routing, rules, JSON encoding)
is recorded too, so the client's share of an end-to-end wall time can be told
apart from the simulator's; the added latency is not part of it.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from datetime import timedelta
from typing import Any

from togglsync.simulator.model import TimeEntry
from togglsync.simulator.server import Simulator

DESCRIPTIONS = [
    "Code review", "Réunion d'équipe", "日本語の翻訳", "Deploy 🚀", "Bug triage", "Écriture de la documentation",
    "Customer call ☎️", "Sprint planning", "Research: CRDTs and sync", "Email", "Pair programming with Zoë", "",
    None,
]
CREATED_WITH = ["TogglTrack Web", "Toggl Desktop", "Toggl Mobile iOS"]
COLORS = ["#0b83d9", "#9e5bd9", "#d94182", "#e36a00", "#bf7000", "#2da608", "#06a893", "#c9806b"]


class TimedApp:
    """WSGI wrapper: server-side time per request (handler + JSON encoding), kept beside the log."""

    def __init__(self, app: Any):
        self._app = app
        self.times: list[float] = []  # seconds, one per request, same order as app.log

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        began = time.perf_counter()
        latency = self._app.latency  # slept inside the app before answering: not simulator work
        try:
            return self._app(environ, start_response)
        finally:
            self.times.append(max(0.0, time.perf_counter() - began - latency))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)


def add_members(sim: Simulator, users: int) -> list[dict[str, Any]]:
    """The seeded user and `users - 1` more, each a member of the seeded workspace with a token of
    their own (a team: one Toggl account per member); each as {"user_id", "token", "email"}."""
    state, info = sim.state, sim.seed
    team = [{"user_id": info.user_id, "token": info.api_token, "email": state.users[info.user_id].email}]
    for n in range(2, users + 1):
        email = f"member{n:02d}@example.com"
        user = state.add_user(email, f"Member {n:02d}", api_token=f"{n:04d}" + "c" * 28, password=f"pw{n}",
                              default_workspace_id=info.workspace_id)
        state.add_membership(info.workspace_id, user.id, role="user")
        team.append({"user_id": user.id, "token": user.api_token, "email": email})
    return team


def seed(sim: Simulator, *, entries: int, projects: int, clients: int, tags: int, days: int, rng: random.Random,
         user_ids: list[int] | None = None) -> list[int]:
    """Top the seeded account up to the given catalog sizes and add `entries` entries starting in the last `days` days,
    for each of `user_ids` (default: the seeded user) in the seeded workspace. Returns the first user's entry ids.

    Built like togglsync/simulator/seed.py does it: records constructed directly
    (valid by construction) and stored with `insert_time_entry`, no write rules.
    """
    state, info = sim.state, sim.seed
    wid, uid = info.workspace_id, info.user_id
    user_ids = user_ids or [uid]
    now = state.clock.now().replace(microsecond=0)
    born = now - timedelta(days=days + 60)
    with state.lock:
        client_ids = list(info.client_ids)
        for i in range(len(client_ids), clients):
            client_ids.append(state.add_client_record(wid, f"Client {i:04d}", uid, at=born + timedelta(minutes=i)).id)
        project_ids = list(info.project_ids)
        for i in range(len(project_ids), projects):
            project = state.add_project_record(
                wid, f"Project {i:04d}", COLORS[i % len(COLORS)], uid,
                client_id=client_ids[i % len(client_ids)] if i % 4 else None,
                billable=i % 3 == 0, active=True, at=born + timedelta(minutes=i), created_at=born,
            )
            project_ids.append(project.id)
        tag_ids = list(info.tag_ids)
        for i in range(len(tag_ids), tags):
            tag_ids.append(state.add_tag_record(wid, f"tag-{i:04d}", uid, at=born + timedelta(minutes=i)).id)

        # Newest first, walking back from ten minutes ago; the newest one runs.
        step = days * 86400 / max(entries, 1)
        # The shortest entry: 30 s, or less when entries are so dense (300,000 in 85 days: one per 24.5 s)
        # that 30 s each would walk back past the window a cold sync reads. Seeds up to ~220,000 entries
        # are the same as before this floor existed.
        shortest = min(30, max(1, int(step * 0.9)))
        first: list[int] = []
        for member in user_ids:
            ids = _seed_entries(state, wid, member, entries=entries, days=days, step=step, shortest=shortest, now=now,
                                rng=rng, project_ids=project_ids, tag_ids=tag_ids)
            first = first or ids
    return first


def _seed_entries(state: Any, wid: int, uid: int, *, entries: int, days: int, step: float, shortest: int, now: Any,
                  rng: random.Random, project_ids: list[int], tag_ids: list[int]) -> list[int]:
    """One user's `entries` entries, newest first from ten minutes ago (the newest one runs); their ids."""
    cursor = now - timedelta(minutes=10)
    built: list[TimeEntry] = []
    for index in range(entries):
        if index == 0:
            start = cursor - timedelta(seconds=rng.randrange(300, 3600))
            stop, duration = None, -1
        else:
            duration = max(shortest, int(step * rng.uniform(0.3, 0.9)))
            gap = max(0, int(step) - duration)
            stop = cursor - timedelta(seconds=rng.randrange(0, gap + 1))
            start = stop - timedelta(seconds=duration)
        cursor = start
        roll = rng.random()
        tag_count = 0 if roll < 0.5 else 1 if roll < 0.8 else rng.randint(2, 3)
        project_id = None if rng.random() < 0.15 else rng.choice(project_ids)
        at = min((stop or start) + timedelta(seconds=rng.randrange(0, 600), microseconds=rng.randrange(1_000_000)),
                 now - timedelta(minutes=5))
        built.append(TimeEntry(
            id=0, workspace_id=wid, user_id=uid, start=start, stop=stop, duration=duration, at=at,
            description=rng.choice(DESCRIPTIONS), project_id=project_id,
            billable=project_id is not None and rng.random() < 0.5,
            tag_ids=rng.sample(tag_ids, tag_count), created_with=rng.choice(CREATED_WITH),
        ))
    if built and (now - built[-1].start).days >= days:
        raise RuntimeError(f"the oldest seeded entry starts {(now - built[-1].start).days} days ago, past {days}")
    ids = []
    for entry in reversed(built):  # ids grow with time, as on Toggl
        entry.id = state.new_id("time_entry")
        state.insert_time_entry(entry)
        ids.append(entry.id)
    return ids


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, required=True)
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--tags", type=int, default=200)
    parser.add_argument("--days", type=int, default=85)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--years", type=float, default=None,
                        help="the simulator's own seed over YEARS (with two colleagues' entries), for `history`")
    parser.add_argument("--users", type=int, default=1,
                        help="members of the seeded workspace, each with a token of their own and --entries entries "
                             "(the team scenario: one account per member)")
    args = parser.parse_args()

    began = time.perf_counter()
    if args.years:
        # Years of history: older than 90 days reachable only through the Reports API. Quotas high
        # instead of off: the client sees and stores quota headers as it does with Toggl (with
        # quotas off there are none).
        sim = Simulator(entries=args.entries, years=args.years, members=2, member_entries=args.entries // 25,
                        seed=args.seed, org_quota=10**9, user_quota=10**9)
        ids = sorted(e.id for e in sim.state.entries.values() if e.user_id == sim.seed.user_id)
        team: list[dict[str, Any]] = []
    else:
        sim = Simulator(entries=0, quotas=False, seed=args.seed)  # real clock: the client's cursors follow it
        team = add_members(sim, args.users)
        ids = seed(sim, entries=args.entries, projects=args.projects, clients=args.clients, tags=args.tags,
                   days=args.days, rng=random.Random(args.seed), user_ids=[m["user_id"] for m in team])
    inner = sim.app
    timed = TimedApp(inner)
    sim.app = timed  # type: ignore[assignment]  # Simulator.start() serves self.app; .log forwards to SimApp
    sim.start()
    seeded_in = time.perf_counter() - began
    info, state = sim.seed, sim.state
    out = sys.stdout
    lock = threading.Lock()

    def reply(payload: dict[str, Any]) -> None:
        with lock:
            out.write(json.dumps(payload) + "\n")
            out.flush()

    reply({
        "ready": True, "url": sim.url, "token": info.api_token, "workspace_id": info.workspace_id,
        "user_id": info.user_id, "entries": len(state.entries), "projects": len(state.projects),
        "clients": len(state.clients), "tags": len(state.tags), "seed_seconds": round(seeded_in, 2),
        "team": team,
    })
    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        name = command["cmd"]
        if name == "quit":
            reply({"ok": True})
            break
        if name == "mark":
            reply({"mark": len(sim.log)})
        elif name == "requests":
            records = sim.log.records[command["since"]:]
            times = timed.times[command["since"]:]
            reply({"requests": [
                {"method": r.method, "path": r.normalized_path, "status": r.status, "query": r.query,
                 "server_seconds": round(t, 6)}
                for r, t in zip(records, times)
            ]})
        elif name == "entry_ids":
            start = command.get("offset", 0)
            reply({"ids": ids[start:start + command["n"]]})
        elif name == "edit_remote":
            start = command.get("offset", 0)
            chosen = ids[start:start + command["n"]]
            began = time.perf_counter()
            for entry_id in chosen:
                state.update_time_entry(info.user_id, info.workspace_id, entry_id, {"description": command["description"]})
            reply({"edited": len(chosen), "seconds": round(time.perf_counter() - began, 3)})
        elif name == "latency":
            inner.latency = float(command["seconds"])
            reply({"latency": inner.latency})
        elif name == "count_description":
            prefix = command["prefix"]
            with state.lock:
                live = [e for e in state.entries.values() if not e.deleted]
                matching = sum(1 for e in live if (e.description or "").startswith(prefix))
                descriptions = [e.description for e in live if (e.description or "").startswith(prefix)]
            reply({"count": matching, "distinct": len(set(descriptions)), "live": len(live)})
        else:
            reply({"error": f"unknown command {name!r}"})
    sim.stop()


if __name__ == "__main__":
    main()
