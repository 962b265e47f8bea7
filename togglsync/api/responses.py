"""Turning what came back (or didn't) into data or one of our typed errors.

Shared by `TogglClient` and `MatonControl`: both APIs answer in the same styles
(JSON string, plain text, HTML from a proxy, or an object), and the caller
should see the same error classes whichever one failed.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import requests
from urllib3.exceptions import (
    ConnectTimeoutError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import SSLError as Urllib3SSLError

from togglsync.errors import (
    ApiError,
    AuthError,
    BadRequest,
    BadResponse,
    Conflict,
    NetworkError,
    NotFound,
    PremiumRequired,
    QuotaExceeded,
    QuotaSnapshot,
    RateLimited,
    ServerError,
)
from togglsync.api.retrying import retry_after_seconds

MAX_MESSAGE = 300  # characters of a server message worth showing on one line
MAX_BODY = 2000  # characters of an unparsed error body kept on the exception

QUOTA_REMAINING = "X-Toggl-Quota-Remaining"
QUOTA_RESETS_IN = "X-Toggl-Quota-Resets-In"

_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: AuthError,
    403: AuthError,
    404: NotFound,
    409: Conflict,
    410: NotFound,
    422: BadRequest,
}


# --- quota ------------------------------------------------------------------------------


def quota_pool(path: str) -> str:
    """The quota pool a native path draws from (see docs/architecture.md, "Quota pools")."""
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    if parts[:1] == ["me"]:
        return "user"
    # /workspaces/<wid>/... (API v9) and /workspace/<wid>/... (reports v3) spend the organization's quota.
    if len(parts) >= 2 and parts[0] in ("workspaces", "workspace") and parts[1].isdigit():
        return f"workspace:{parts[1]}"
    if len(parts) >= 2 and parts[0] == "organizations" and parts[1].isdigit():
        return f"organization:{parts[1]}"
    return "other"


def quota_snapshot(headers: Any, pool: str, now: datetime | None = None) -> QuotaSnapshot | None:
    """The quota headers of one response, or None when it carried none."""
    remaining = _int_header(headers, QUOTA_REMAINING)
    resets_in = _int_header(headers, QUOTA_RESETS_IN)
    if remaining is None and resets_in is None:
        return None
    return QuotaSnapshot(pool, remaining, resets_in, now or datetime.now(UTC))


def _int_header(headers: Any, name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(float(value.strip())) if value is not None else None
    except ValueError:
        return None


# --- success ----------------------------------------------------------------------------


def decode_json(response: requests.Response, method: str, path: str) -> Any:
    """The JSON body of a 2xx response; None for an empty body (DELETE answers with nothing)."""
    if not response.content.strip():
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        kind = response.headers.get("Content-Type", "no content type")
        snippet = _one_line(response.text)[:80]
        raise BadResponse(
            response.status_code,
            f"expected JSON, got {kind}: {snippet!r}",
            method=method,
            path=path,
            body=response.text[:MAX_BODY],
        ) from None


# --- errors -----------------------------------------------------------------------------


def api_error(response: requests.Response, *, method: str, path: str, pool: str) -> ApiError:
    """The typed error for a non-2xx response (the caller raises it)."""
    status = response.status_code
    body = _error_body(response)
    message = server_message(response, body)
    where = {"method": method, "path": path, "body": body}
    if status == 402:
        quota = quota_snapshot(response.headers, pool)
        # The same status means "premium feature" too; only the quota headers tell them apart.
        if quota is not None and quota.remaining is not None and quota.remaining <= 0:
            return QuotaExceeded(status, message, quota=quota, **where)
        return PremiumRequired(status, message, **where)
    if status == 429:
        return RateLimited(status, message, retry_after=retry_after_seconds(response.headers), **where)
    if 300 <= status < 400:
        # We never follow redirects: a redirected POST could be replayed elsewhere.
        target = response.headers.get("Location", "?")
        return ApiError(status, f"unexpected redirect to {target[:120]}", **where)
    if status >= 500:
        return ServerError(status, message, **where)
    return _BY_STATUS.get(status, ApiError)(status, message, **where)


def _error_body(response: requests.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return response.text[:MAX_BODY]


def server_message(response: requests.Response, body: Any = None) -> str:
    """One short line saying what the server objected to.

    Toggl sends a JSON string (`"Time entry not found"`); older endpoints plain
    text; gateways and proxies HTML pages; some APIs objects with `message`/`error`.
    """
    if body is None:
        body = _error_body(response)
    content_type = response.headers.get("Content-Type", "").lower()
    if "html" in content_type or (isinstance(body, str) and body.lstrip()[:1] == "<" and not _is_json(response)):
        # A proxy's or gateway's error page: its title says it; the rest is markup.
        text = _one_line(_html_summary(response.text))
    elif isinstance(body, str):
        text = _one_line(body)
    elif isinstance(body, dict):
        text = _message_from_object(body)
    elif body is None:
        text = ""
    else:
        text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    if not text:
        text = _status_phrase(response)
    return _truncate(text)


def _status_phrase(response: requests.Response) -> str:
    # Toggl's 401/403 come with no body at all; say at least what the status means.
    try:
        return HTTPStatus(response.status_code).phrase
    except ValueError:
        return response.reason or f"HTTP {response.status_code}"


def _is_json(response: requests.Response) -> bool:
    try:
        json.loads(response.content)
    except ValueError:
        return False
    return True


def _message_from_object(body: dict[str, Any]) -> str:
    for key in ("message", "error", "error_message", "detail"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return _one_line(value)
        if isinstance(value, dict):  # {"error": {"message": ...}}
            inner = _message_from_object(value)
            if inner:
                return inner
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def _html_summary(text: str) -> str:
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    if title and title.group(1).strip():
        return html.unescape(title.group(1))
    without_scripts = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.IGNORECASE | re.DOTALL)
    for line in re.sub(r"<[^>]+>", "\n", without_scripts).splitlines():
        if line.strip():
            return html.unescape(line)
    return ""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _truncate(text: str, limit: int = MAX_MESSAGE) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- no response ------------------------------------------------------------------------


# Failures that happen before the request is written, and after.
_BEFORE_SENDING = (ConnectTimeoutError, requests.ConnectTimeout, Urllib3SSLError, requests.exceptions.SSLError)
_AFTER_SENDING = (ReadTimeoutError, requests.ReadTimeout, ProtocolError, requests.exceptions.ChunkedEncodingError)


def network_error(exc: requests.RequestException, *, host: str, sent: bool, timeout: float | None) -> NetworkError:
    """A one-line NetworkError for a request that got no HTTP response.

    `sent` says whether any attempt of this call reached the wire (the
    counting adapter knows); the exception type can only add to that.
    Only the host is named: URLs may carry ids, never credentials, but the
    message stays short either way.
    """
    causes = list(_causes(exc))
    not_sent = any(isinstance(c, _BEFORE_SENDING) for c in causes)
    after_sending = any(isinstance(c, _AFTER_SENDING) for c in causes)
    maybe_applied = sent or (after_sending and not not_sent)
    message = _describe_failure(causes, host, timeout)
    if maybe_applied:
        message += "; the request was sent and may have been applied"
    return NetworkError(message, maybe_applied=maybe_applied)


def _describe_failure(causes: list[BaseException], host: str, timeout: float | None) -> str:
    def has(*kinds: type[BaseException]) -> bool:
        return any(isinstance(c, kinds) for c in causes)

    if has(NameResolutionError):
        return f"cannot resolve host {host} (DNS lookup failed)"
    if has(NewConnectionError):
        reason = _os_reason(causes) or "connection failed"
        return f"cannot connect to {host}: {reason}"
    if has(ConnectTimeoutError, requests.ConnectTimeout):
        return f"timed out connecting to {host}"
    if has(Urllib3SSLError, requests.exceptions.SSLError):
        return f"TLS handshake with {host} failed"
    if has(ReadTimeoutError, requests.ReadTimeout):
        within = f" within {timeout:g} s" if timeout else ""
        return f"no response from {host}{within}"
    if has(ProtocolError, requests.exceptions.ChunkedEncodingError):
        return f"connection to {host} dropped before the response was complete"
    reason = _os_reason(causes) or type(causes[-1]).__name__
    return f"network error talking to {host}: {reason}"


def _os_reason(causes: list[BaseException]) -> str | None:
    for cause in reversed(causes):
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror.lower()
    return None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps: requests -> urllib3 -> socket errors."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        wrapped = [getattr(current, "reason", None), current.__cause__, current.__context__]
        wrapped += [a for a in current.args if isinstance(a, BaseException)]
        stack.extend(w for w in wrapped if isinstance(w, BaseException))
