"""Maton's control API: the Toggl connections behind a Maton API key.

`create_connection()` returns a connection whose `url` the user opens in a
browser to finish Toggl's OAuth; `list_connections()` shows which ones are
ACTIVE. The ids go into `MatonAuth(connection=...)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import togglsync
from togglsync.api.chokepoint import Chokepoint, Timeout
from togglsync.api.retrying import SYSTEM_CLOCK, Clock, RetryPolicy
from togglsync.api.transport import MATON_CTRL_URL, MatonAuth, check_url
from togglsync.errors import BadResponse

if TYPE_CHECKING:
    import requests

TOGGL_APP = "toggl-track"


class MatonControl:
    """List, create, inspect and delete Maton connections (plain dicts, unwrapped)."""

    def __init__(
        self,
        ctrl_url: str = MATON_CTRL_URL,
        api_key: str = "",
        *,
        timeout: Timeout = (5.0, 30.0),
        retry: RetryPolicy | None = None,
        user_agent: str = f"togglsync/{togglsync.__version__}",
        session: requests.Session | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ):
        self.ctrl_url = check_url(ctrl_url)
        self.auth = MatonAuth(api_key)  # the same Bearer key as the gateway; no connection header
        # Not Toggl's quota, and calls are rare (setup only): no pacing.
        self._http = Chokepoint(
            self.ctrl_url,
            self.auth,
            timeout=timeout,
            retry=retry,
            min_interval=0.0,
            user_agent=user_agent,
            session=session,
            clock=clock,
        )

    def __repr__(self) -> str:
        return f"MatonControl({self.ctrl_url!r}, auth={self.auth!r})"

    def __enter__(self) -> MatonControl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @property
    def requests_sent(self) -> int:
        return self._http.requests_sent

    def list_connections(self, app: str | None = TOGGL_APP, status: str | None = None) -> list[dict[str, Any]]:
        """Connections of this Maton key, e.g. `status="ACTIVE"`; `app=None` lists every app's."""
        params = {k: v for k, v in (("app", app), ("status", status)) if v is not None}
        body = self._call("GET", "/connections", params=params or None)
        items = body.get("connections") if isinstance(body, dict) else body
        if not isinstance(items, list):
            raise BadResponse(200, "expected a list of connections", method="GET", path="/connections", body=body)
        return [_unwrap(item) for item in items]

    def create_connection(self, app: str = TOGGL_APP) -> dict[str, Any]:
        """Start a new connection; open its `url` in a browser to authorise Toggl."""
        return _unwrap(self._call("POST", "/connections", json={"app": app}))

    def get_connection(self, connection_id: str) -> dict[str, Any]:
        return _unwrap(self._call("GET", _connection_path(connection_id)))

    def delete_connection(self, connection_id: str) -> None:
        self._call("DELETE", _connection_path(connection_id))

    def _call(self, method: str, path: str, *, params: Any = None, json: Any = None) -> Any:
        response = self._http.send(method, self.ctrl_url + path, params=params, json=json)
        return self._http.check(response, method=method, path=path, pool="maton")


def _connection_path(connection_id: str) -> str:
    if not connection_id or not str(connection_id).strip():
        raise ValueError("a connection id is needed")
    return "/connections/" + quote(str(connection_id).strip(), safe="")


def _unwrap(body: Any) -> dict[str, Any]:
    """`{"connection": {...}}` -> `{...}`; a bare object passes through."""
    if isinstance(body, dict) and isinstance(body.get("connection"), dict):
        connection: dict[str, Any] = body["connection"]
        return connection
    if isinstance(body, dict):
        return body
    raise BadResponse(200, "expected a connection object", body=body)
