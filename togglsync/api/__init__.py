"""HTTP side of togglsync: Toggl Track (direct or through Maton) -> plain JSON data.

`api` never imports `db`; the sync engine glues the two together.

The names below are imported when first used (PEP 562): importing a pure module
of this package (`api.transport`, `api.responses`, `api.retrying`, `api.light`)
must not import requests, which `TogglClient` needs (the quiet sync, `sync/quiet.py`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from togglsync.api.client import JSON, ApiResponse, TogglClient
    from togglsync.api.maton import MatonControl
    from togglsync.api.retrying import Pacer, RetryPolicy
    from togglsync.api.transport import DIRECT_URL, MATON_CTRL_URL, MATON_URL, DirectAuth, MatonAuth, check_url

_HOME = {
    "JSON": "client", "ApiResponse": "client", "TogglClient": "client", "MatonControl": "maton",
    "Pacer": "retrying", "RetryPolicy": "retrying",
    "DIRECT_URL": "transport", "MATON_CTRL_URL": "transport", "MATON_URL": "transport", "DirectAuth": "transport",
    "MatonAuth": "transport", "check_url": "transport",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


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
