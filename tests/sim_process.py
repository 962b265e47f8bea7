"""The Toggl simulator in a child process, driven over a pipe (no tests here).

Why: a test that measures its own process (RSS, open files, threads) must
not host the server too: the simulator's request threads, keep-alive
sockets, request log and deleted-record history would all count as ours.

`SimProcess` looks like a `Simulator` to the shared test helpers
(test_sync_support.SyncEnv, assert_local_equals_server): `url`, `seed`,
and `state` / `clock` / `faults` / `log` proxies whose method calls run in
the child. Arguments and results travel as JSON; datetimes as
{"__dt__": iso}; dataclasses (request records) arrive as dicts; a SimError
raised in the child is raised again here. One call at a time: the sync calls
the clock from two threads (the entries download records its quota on the
wall clock while the sync goes on), and two threads on the pipe at once lose
a reply (TextIOWrapper is not thread-safe), leaving one waiting for ever.

Run as a script, this file is the child: it reads one call per line from
stdin and answers one line per call on stdout.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import threading
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from togglsync.simulator.model import SimError


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"__dt__": value.isoformat()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    raise TypeError(f"cannot send {type(value).__name__} over the pipe")


def _decode(obj: dict[str, Any]) -> Any:
    if set(obj) == {"__dt__"}:
        return datetime.fromisoformat(obj["__dt__"])
    return obj


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_encode)


def _loads(line: str) -> Any:
    return json.loads(line, object_hook=_decode)


class _Proxy:
    """`proxy.name(*args, **kwargs)` runs `<target>.name(...)` in the child."""

    def __init__(self, owner: SimProcess, target: str) -> None:
        self._owner, self._target = owner, target

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self._owner.call(self._target, name, *args, **kwargs)


class _LogProxy(_Proxy):
    @property
    def records(self) -> list[dict[str, Any]]:
        return self._owner.call("log", "records")

    def __len__(self) -> int:
        return self._owner.call("log", "__len__")


class SimProcess:
    """A started Simulator (keyword arguments as Simulator's) in a child process; `stop()` ends it."""

    def __init__(self, **sim_kwargs: Any) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, _dumps(sim_kwargs)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        self._calling = threading.Lock()  # a call's line out and its answer in, together
        ready = self._read()
        self.url: str = ready["url"]
        self.seed = SimpleNamespace(**ready["seed"])
        self.state = _Proxy(self, "state")
        self.clock = _Proxy(self, "clock")
        self.faults = _Proxy(self, "faults")
        self.log = _LogProxy(self, "log")

    def _read(self) -> Any:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the simulator process ended (exit code {self.proc.poll()})")
        return _loads(line)

    def call(self, target: str, name: str, *args: Any, **kwargs: Any) -> Any:
        assert self.proc.stdin is not None
        with self._calling:
            self.proc.stdin.write(_dumps({"target": target, "name": name, "args": args, "kwargs": kwargs}) + "\n")
            self.proc.stdin.flush()
            reply = self._read()
        if "sim_error" in reply:
            status, message = reply["sim_error"]
            raise SimError(status, message)
        if "error" in reply:
            raise RuntimeError(f"in the simulator process: {reply['error']}")
        return reply["result"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()  # end of input: the child stops its server and exits
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _serve(sim_kwargs: dict[str, Any]) -> None:
    import traceback

    from togglsync.simulator import Simulator

    sim = Simulator(**sim_kwargs).start()
    targets = {"state": sim.state, "clock": sim.clock, "faults": sim.faults, "log": sim.log}
    seed = {k: v for k, v in vars(sim.seed).items() if isinstance(v, (str, int, list, type(None)))}

    def reply(payload: dict[str, Any]) -> None:
        sys.stdout.write(_dumps(payload) + "\n")
        sys.stdout.flush()

    reply({"url": sim.url, "seed": seed})
    try:
        for line in sys.stdin:
            call = _loads(line)
            try:
                attr = getattr(targets[call["target"]], call["name"])
                # A property (faults.pending) is "called" like a method, with no arguments.
                result = attr(*call["args"], **call["kwargs"]) if callable(attr) else attr
                if call["target"] == "faults" and call["name"] == "add":
                    result = None  # a FaultRule (may hold bytes): nothing the caller needs back
                reply({"result": result})
            except SimError as exc:
                reply({"sim_error": [exc.status, exc.message]})
            except Exception:  # noqa: BLE001 - shown in the parent's failure
                reply({"error": traceback.format_exc()})
    finally:
        sim.stop()


if __name__ == "__main__":
    _serve(_loads(sys.argv[1]))
