"""A fake Toggl Track API v9 (+ Reports v3 and the Maton gateway) for tests and benchmarks.

    with Simulator(entries=50) as sim:
        requests.get(sim.url + "/api/v9/me", auth=(sim.seed.api_token, "api_token"))

See docs/architecture.md and ../shared/toggl-api.md for the behaviour it copies.
"""

from .clock import SimClock
from .faults import FaultPlan, FaultRule
from .model import SimError
from .requestlog import RequestLog, RequestRecord
from .seed import SeedInfo, seed_account
from .server import Simulator, run_forever
from .state import SimState

__all__ = [
    "FaultPlan",
    "FaultRule",
    "RequestLog",
    "RequestRecord",
    "SeedInfo",
    "SimClock",
    "SimError",
    "SimState",
    "Simulator",
    "run_forever",
    "seed_account",
]
