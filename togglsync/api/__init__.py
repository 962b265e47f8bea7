"""HTTP side of togglsync: Toggl Track (direct or through Maton) -> plain JSON data.

`api` never imports `db`; the sync engine glues the two together.
"""

from togglsync.api.client import JSON, ApiResponse, TogglClient
from togglsync.api.maton import MatonControl
from togglsync.api.retrying import Pacer, RetryPolicy
from togglsync.api.transport import DIRECT_URL, MATON_CTRL_URL, MATON_URL, DirectAuth, MatonAuth, check_url

__all__ = [
    "DIRECT_URL",
    "JSON",
    "MATON_CTRL_URL",
    "MATON_URL",
    "ApiResponse",
    "DirectAuth",
    "MatonAuth",
    "MatonControl",
    "Pacer",
    "RetryPolicy",
    "TogglClient",
    "check_url",
]
