"""The simulator's WSGI app: transports, auth, limits, faults and the request log around the routes.

One request goes: classify the path (direct / Maton gateway / Maton ctrl) ->
consume a matching fault -> route -> authenticate -> 429 bucket -> hourly
quota (402) -> handler -> JSON. Every request is logged, without credentials.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import gzip
import json
import socket
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from urllib.parse import parse_qsl
from dataclasses import dataclass
from typing import Any

import orjson
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.datastructures import MultiDict
from werkzeug.routing import Map
from werkzeug.wrappers import Request, Response

from . import admin_routes, ctrl_routes, toggl_routes
from .calls import EMPTY, Call, Reply
from .faults import FaultPlan, FaultRule
from .limits import LeakyBucket, QuotaBook
from .model import SimError
from .requestlog import RequestLog, RequestRecord
from .state import SimState

MATON_PREFIX = "/toggl-track"
API_PREFIXES = (("/api/v9", "v9"), ("/reports/api/v3", "reports"))
ROUTES: dict[str, Map] = {"v9": toggl_routes.V9, "reports": toggl_routes.REPORTS, "ctrl": ctrl_routes.CTRL}
JSON_TYPE = "application/json; charset=utf-8"
DEFAULT_FAULT_MESSAGES = {
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True)
class Target:
    """Where a request is aimed, after taking the transport and API prefixes off its path."""

    transport: str  # "direct" | "maton" | "ctrl"
    api: str | None  # "v9" | "reports" | "ctrl" | None (no such API)
    normalized_path: str


ADMIN_PREFIX = "/_sim"


def classify(path: str) -> Target:
    if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
        return Target("admin", "admin", path[len(ADMIN_PREFIX) :] or "/")
    transport, rest = "direct", path
    if path == MATON_PREFIX or path.startswith(MATON_PREFIX + "/"):
        transport, rest = "maton", path[len(MATON_PREFIX) :] or "/"
    for prefix, api in API_PREFIXES:
        if rest == prefix or rest.startswith(prefix + "/"):
            return Target(transport, api, rest[len(prefix) :] or "/")
    if transport == "direct" and (rest == "/connections" or rest.startswith(("/connections/", "/connect/"))):
        return Target("ctrl", "ctrl", rest)
    return Target(transport, None, rest)


@dataclass
class _Pool:
    label: str  # as the client records it: "user", "workspace:<wid>", "organization:<oid>"
    key: tuple[Any, ...]  # what is counted: per user, or per (user, organization)
    limit: int


class SimApp:
    """WSGI callable over a SimState."""

    def __init__(
        self,
        state: SimState,
        *,
        quotas: bool = True,
        user_quota: int = 30,
        org_quota: int | None = None,
        rate_limit: float | None = None,
        burst: int = 3,
        retry_after_header: bool = True,
        latency: float = 0.0,
    ):
        self.state = state
        self.clock = state.clock
        self.log = RequestLog()
        self.faults = FaultPlan()
        self.quotas = QuotaBook(state.clock, enforce=quotas, user_quota=user_quota, org_quota=org_quota)
        self.burst = burst
        self.rate_limit: float | None = None
        self.bucket: LeakyBucket | None = None
        self.set_rate_limit(rate_limit)
        self.retry_after_header = retry_after_header
        # Real seconds added before every API answer (a slow network, a slow Toggl).
        self.latency = latency
        # Answers gzipped for a client that accepts it (Toggl's own answers are): off by default,
        # compressing a 40 MB answer would be most of a benchmark's server time.
        self.compress = False
        # For the admin endpoints (admin_routes.py): who "another device" acts as, how to save.
        self.acting_user_id: int | None = None
        self.save_state: Callable[[], Any] | None = None

    def set_rate_limit(self, rate: float | None) -> None:
        """Answer 429 beyond `rate` requests per second per credential (None: never)."""
        self.rate_limit = rate
        self.bucket = LeakyBucket(self.state.clock, rate=rate, burst=self.burst) if rate else None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        arrived = self.clock.now()
        target = classify(request.path)
        body, body_is_json = _read_json(request)
        if target.api == "admin":
            return self._to_response(self._admin(request, target, body, body_is_json))(environ, start_response)
        if self.latency:
            time.sleep(self.latency)  # real time on purpose, as a fault's latency

        fault = self.faults.take(request.method, target.normalized_path)
        if fault is not None and fault.latency:
            time.sleep(fault.latency)  # real time on purpose: the client's timeout is real
        created_id = None
        if fault is not None and not fault.applies_request:
            reply, pool = _fault_reply(fault, {}), None
        else:
            reply, pool = self._serve(request, target, body, body_is_json)
            created_id = _created_id(request.method, reply)
            if fault is not None and fault.status is not None:
                reply = _fault_reply(fault, reply.headers)

        self.log.append(
            RequestRecord(
                method=request.method,
                path=request.path,
                normalized_path=target.normalized_path,
                api=target.api,
                query=request.args.to_dict(),
                transport=target.transport,
                connection=request.headers.get("Maton-Connection"),
                json=body,
                status=reply.status,
                pool=pool.label if pool else None,
                at=arrived,
                dropped=bool(fault and fault.drop_response),
                created_id=created_id,
                headers={k.lower(): v for k, v in request.headers.items() if k.lower() not in _UNLOGGED_HEADERS},
            )
        )
        if fault is not None and fault.drop_response:
            _drop_connection(environ)
        response = self._to_response(reply)
        payload = response.get_data()
        if self.compress and payload and "gzip" in request.headers.get("Accept-Encoding", ""):
            response.set_data(gzip.compress(payload))
            response.headers["Content-Encoding"] = "gzip"
        return response(environ, start_response)

    # -- one request ------------------------------------------------------

    def _serve(self, request: Request, target: Target, body: Any, body_is_json: bool) -> tuple[Reply, _Pool | None]:
        if target.api is None:
            return _no_route(request), None
        adapter = ROUTES[target.api].bind("simulator")
        try:
            handler, args = adapter.match(target.normalized_path, method=request.method)
        except MethodNotAllowed:
            return _error(405, f"{request.method} is not supported on {request.path}"), None
        except NotFound:
            return _no_route(request), None

        pool: _Pool | None = None
        quota_headers: dict[str, str] = {}
        try:
            call = Call(state=self.state, query=request.args, body=body, base_url=request.host_url.rstrip("/"))
            if target.api == "ctrl":
                if handler not in ctrl_routes.PUBLIC:
                    call.maton_key = self._maton_key(request)
            else:
                call.user_id, credential = self._authenticate(request, target)
                self._throttle(credential)
                pool = self._pool(target, args, call.user_id)
                if pool is not None:
                    verdict = self.quotas.charge(pool.key, pool.limit)
                    quota_headers = verdict.headers
                    if not verdict.allowed:
                        raise SimError(
                            402,
                            f"You have hit your hourly limit for API calls ({pool.limit} per hour for this "
                            f"quota). Try again in {verdict.resets_in} seconds.",
                        )
            if not body_is_json:
                raise SimError(400, "Invalid JSON input")
            reply = _as_reply(handler(call, **args))
        except SimError as error:
            reply = _error(error.status, error.message, error.headers)
            if not error.quota_headers:
                quota_headers = {}
        except Exception as error:  # a simulator bug: fail loudly, but keep serving
            traceback.print_exc(file=sys.stderr)
            reply = _error(500, f"simulator bug: {type(error).__name__}: {error}")
        reply.headers.update(quota_headers)
        return reply, pool

    def _admin(self, request: Request, target: Target, body: Any, body_is_json: bool) -> Reply:
        """The practice server's own endpoints (admin_routes.py): not Toggl's, never logged or limited."""
        if not _from_loopback(request):
            return _error(403, "the simulator's admin endpoints answer loopback clients only")
        adapter = admin_routes.ADMIN.bind("simulator")
        try:
            handler, args = adapter.match(target.normalized_path, method=request.method)
        except MethodNotAllowed:
            return _error(405, f"{request.method} is not supported on {request.path}")
        except NotFound:
            return _no_route(request)
        try:
            if not body_is_json:
                raise SimError(400, "Invalid JSON input")
            return _as_reply(handler(self, body, **args))
        except SimError as error:
            return _error(error.status, error.message, error.headers)

    def act_as_user(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        """A Toggl v9 request by the seeded user from elsewhere: the routes' rules, no quota, fault or log."""
        if self.acting_user_id is None:
            raise SimError(409, "no user to act as")
        path, _, query = path.partition("?")
        adapter = ROUTES["v9"].bind("simulator")
        try:
            handler, args = adapter.match(path, method=method)
        except MethodNotAllowed:
            return 405, f"{method} is not supported on {path}"
        except NotFound:
            return 404, f"simulator: no route for {method} {path}"
        call = Call(state=self.state, query=MultiDict(parse_qsl(query)), body=body, user_id=self.acting_user_id)
        try:
            reply = _as_reply(handler(call, **args))
        except SimError as error:
            return error.status, error.message
        return reply.status, None if reply.body is EMPTY else reply.body

    def _authenticate(self, request: Request, target: Target) -> tuple[int, str]:
        """(user id, credential for the rate limit), or the transport's auth error."""
        header = request.headers.get("Authorization", "")
        if target.transport == "maton":
            key = self._maton_key(request)
            user_id, _ = self.state.gateway_user(key, request.headers.get("Maton-Connection"))
            return user_id, key
        if not header:
            raise SimError(401, None, {"X-Authorization-Missing": "true"})
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            raise SimError(403, None)
        try:
            username, _, password = base64.b64decode(encoded.strip()).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise SimError(403, None) from None
        if password == "api_token":
            user = self.state.user_by_token(username)
        else:
            user = self.state.user_by_password(username, password)
        if user is None:
            raise SimError(403, None)
        return user.id, username

    def _maton_key(self, request: Request) -> str:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not self.state.is_maton_key(key):
            raise SimError(401, "Invalid or missing Maton API key")
        return key

    def _throttle(self, credential: str) -> None:
        if self.bucket is None:
            return
        wait = self.bucket.admit(credential)
        if wait is not None:
            headers = {"Retry-After": str(max(1, round(wait)))} if self.retry_after_header else {}
            raise SimError(429, "Too Many Requests: slow down to about one request per second", headers)

    def _pool(self, target: Target, args: Mapping[str, Any], user_id: int) -> _Pool | None:
        """Which hourly quota a request counts against (None: it counts against none)."""
        if target.api == "v9" and target.normalized_path.startswith("/me"):
            return _Pool("user", ("user", user_id), self.quotas.user_quota)
        if "wid" in args:
            organization_id = self.state.organization_of(args["wid"])
            label = f"workspace:{args['wid']}"
        elif "oid" in args:
            organization_id = args["oid"]
            label = f"organization:{args['oid']}"
        else:
            return None
        plan = self.state.organization_plan(organization_id) if organization_id is not None else None
        if plan is None:
            return None  # no such workspace/organization: nothing to count against
        return _Pool(label, ("organization", user_id, organization_id), self.quotas.organization_limit(plan))

    def _to_response(self, reply: Reply) -> Response:
        if reply.body is EMPTY:
            payload = b""
        elif isinstance(reply.body, bytes):
            payload = reply.body  # a fault's raw body: not JSON-encoded, whatever the content type
        elif reply.content_type.startswith("application/json"):
            payload = _json_bytes(reply.body)
        else:
            payload = str(reply.body).encode("utf-8")
        response = Response(payload, status=reply.status, content_type=reply.content_type)
        for name, value in reply.headers.items():
            response.headers[name] = value
        response.headers["Date"] = email.utils.format_datetime(self.clock.now(), usegmt=True)
        return response


def _from_loopback(request: Request) -> bool:
    address = request.remote_addr or ""
    return address.startswith("127.") or address in ("::1", "localhost")


def _read_json(request: Request) -> tuple[Any, bool]:
    """(parsed body or None, whether it was valid JSON); an empty body is valid and None."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return None, True
    try:
        return json.loads(raw), True
    except (ValueError, UnicodeDecodeError):
        return None, False


def _as_reply(result: Any) -> Reply:
    return result if isinstance(result, Reply) else Reply(result)


# Never in the request log: what proves who the client is.
_UNLOGGED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


def _error(status: int, message: str | None, headers: dict[str, str] | None = None) -> Reply:
    """Toggl's error shape: a JSON-encoded string, or no body at all."""
    return Reply(EMPTY if message is None else message, status=status, headers=dict(headers or {}))


def _no_route(request: Request) -> Reply:
    return _error(404, f"simulator: no route for {request.method} {request.path}")


def _fault_reply(fault: FaultRule, headers: dict[str, str]) -> Reply:
    status = fault.status or 500
    if fault.raw_body is not None:
        body: Any = fault.raw_body  # bytes: sent as they are (see _to_response)
    else:
        body = fault.body if fault.body is not None else DEFAULT_FAULT_MESSAGES.get(status, f"simulated {status}")
    reply = Reply(body, status=status, headers={**headers, **(fault.headers or {})})
    if fault.content_type:
        reply.content_type = fault.content_type
    return reply


def _drop_connection(environ: dict[str, Any]) -> None:
    """Close the socket without answering; werkzeug treats the error below as a client hang-up."""
    connection = environ.get("werkzeug.socket")
    if connection is not None:
        try:
            connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    raise ConnectionAbortedError("simulator fault: response dropped")


def _json_bytes(body: Any) -> bytes:
    # Compact, like Toggl's own answers; orjson keeps a 100,000-entry answer
    # from being the slowest part of a benchmarked cold sync. What it refuses
    # (integers past 64 bits in a test's body) goes through the json module.
    try:
        return orjson.dumps(body)
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _created_id(method: str, reply: Reply) -> int | None:
    """The id of the record a POST made (whatever the client was told): for tests' bookkeeping."""
    if method != "POST" or reply.status != 200:
        return None
    data = reply.body
    found = data.get("id") if isinstance(data, dict) else None
    return found if isinstance(found, int) else None
