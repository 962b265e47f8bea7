"""The client of the practice server's admin endpoints (`togglsync simulator ctl ...`).

Plain urllib: the simulator shares no code with togglsync's own HTTP client.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from .app import ADMIN_PREFIX, MATON_PREFIX

DEFAULT_URL = "http://127.0.0.1:8765"


class CtlError(Exception):
    """The simulator could not be reached (`unreachable`), or refused the request."""

    def __init__(self, message: str, *, unreachable: bool = False):
        super().__init__(message)
        self.unreachable = unreachable


def simulator_root(url: str) -> str:
    """The simulator's root from any URL it printed (the gateway's too)."""
    root = url.rstrip("/")
    return root.removesuffix(MATON_PREFIX)


def call(url: str, method: str, path: str, body: Any = None, *, timeout: float = 10.0) -> Any:
    """One admin request; the decoded JSON answer, or CtlError."""
    root = simulator_root(url)
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(
        root + ADMIN_PREFIX + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read()
    except urllib.error.HTTPError as error:
        text = error.read().decode("utf-8", "replace")
        try:
            message = json.loads(text)
        except ValueError:
            message = text
        if error.code == 404 and not str(message).startswith("simulator"):
            message = "not a togglsync simulator"
        raise CtlError(f"the simulator at {root} answered {error.code}: {message}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise CtlError(f"no simulator at {root} ({reason}): start one with `togglsync simulator`", unreachable=True) from None
    return json.loads(payload) if payload.strip() else None
