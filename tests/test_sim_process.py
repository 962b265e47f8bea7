"""The test harness's simulator in a child process (tests/sim_process.py) answers calls from
several threads at once, each its own answer: the sync calls its clock from the entries
download's thread and its own. Before the lock, two threads on the pipe lost an answer, and
the soak waited for it until CI's limit."""

from __future__ import annotations

import threading
from datetime import datetime

from sim_process import SimProcess


def test_calls_from_several_threads_each_get_their_own_answer():
    sim = SimProcess(entries=1, seed=1, quotas=False)
    answers: dict[int, list] = {n: [] for n in range(4)}

    def ask(n: int) -> None:
        for _ in range(150):
            answers[n].append(sim.clock.now())
            answers[n].append(len(sim.log))

    threads = [threading.Thread(target=ask, args=(n,), daemon=True) for n in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        stuck = [thread for thread in threads if thread.is_alive()]
    finally:
        sim.stop()  # its pipe closed: a thread still waiting for an answer ends
    assert not stuck, "an answer was lost: a thread waited for ever"
    for got in answers.values():
        assert [type(value) for value in got] == [datetime, int] * 150
