"""Turning what came back (or didn't) into data or one of our typed errors.

Shared by `TogglClient` and `MatonControl` (through the chokepoint) and by the
quiet sync's light transport (`api/light.py`): every API answers in the same
styles (JSON string, plain text, HTML from a proxy, or an object), and the
caller should see the same error classes whichever one failed and whichever
transport carried it. Pure: it reads an `Answer` (a `Answer` is
one) and imports neither requests nor urllib3 (contract `light-http`); which
exception of those libraries means which failure is `api/failures.py`'s.
"""

from __future__ import annotations

import email.utils
import html
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import Enum
from http import HTTPStatus
from typing import Any, Protocol, overload

from togglsync.errors import (
    ApiError,
    AuthError,
    BadRequest,
    BadResponse,
    Conflict,
    NetworkError,
    NoMatonConnection,
    NotFound,
    PremiumRequired,
    QuotaExceeded,
    QuotaSnapshot,
    RateLimited,
    ServerError,
)
from togglsync.api.retrying import retry_after_seconds
from togglsync.api.transport import MatonAuth
from togglsync.records import redact


class Headers(Protocol):
    """A response's headers, read case-insensitively (requests' are)."""

    @overload
    def get(self, name: str, /) -> str | None: ...
    @overload
    def get(self, name: str, default: str, /) -> str: ...


class Answer(Protocol):
    """One HTTP response as the rules below read it (`Answer` is one; so is the
    light transport's `light.Answer`)."""

    @property
    def status_code(self) -> int: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def headers(self) -> Headers: ...
    @property
    def content(self) -> bytes: ...
    @property
    def text(self) -> str: ...

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


def quota_snapshot(headers: Headers, pool: str, now: datetime | None = None) -> QuotaSnapshot | None:
    """The quota headers of one response, or None when it carried none."""
    remaining = _int_header(headers, QUOTA_REMAINING)
    resets_in = _int_header(headers, QUOTA_RESETS_IN)
    if remaining is None and resets_in is None:
        return None
    return QuotaSnapshot(pool, remaining, resets_in, now or datetime.now(UTC))


def _int_header(headers: Headers, name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(float(value.strip())) if value is not None else None
    except ValueError:
        return None


def date_of(response: Answer) -> datetime | None:
    """The server's clock when it answered (its `Date` header), if it says so."""
    value = response.headers.get("Date")
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo is not None else None


# --- success ----------------------------------------------------------------------------


def decode_json(response: Answer, method: str, path: str) -> Any:
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


def api_error(response: Answer, *, method: str, path: str, pool: str) -> ApiError:
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


def typed_error(response: Answer, *, method: str, path: str, pool: str, auth: object,
                secrets: Iterable[str]) -> ApiError:
    """`api_error`, with the Maton gateway's own 400 told apart (`NoMatonConnection`) when `auth`
    is Maton's, and the credentials (`secrets`) blanked out of the message (`scrubbed`)."""
    error = api_error(response, method=method, path=path, pool=pool)
    if isinstance(auth, MatonAuth) and isinstance(error, BadRequest) and error.status == 400 \
            and "connection" in error.message.lower():
        # The gateway's own 400 (README of the API contract: "400 no Toggl connection").
        error = NoMatonConnection(error.status, error.message, connection=auth.connection,
                                  method=method, path=path, body=error.body)
    return scrubbed(error, secrets)


def scrubbed(error: ApiError, secrets: Iterable[str]) -> ApiError:
    """The error with credentials blanked out of its message (a gateway may echo headers,
    a body excerpt may quote a record's `api_token`): `records.redact`, the one rule."""
    text, message = str(error), error.message
    clean_text, clean_message = redact(text, secrets), redact(message, secrets)
    if (clean_text, clean_message) != (text, message):
        error.message = clean_message
        error.args = (clean_text,)
    return error


def _error_body(response: Answer) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return response.text[:MAX_BODY]


def server_message(response: Answer, body: Any = None) -> str:
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


def _status_phrase(response: Answer) -> str:
    # Toggl's 401/403 come with no body at all; say at least what the status means.
    try:
        return HTTPStatus(response.status_code).phrase
    except ValueError:
        return response.reason or f"HTTP {response.status_code}"


def _is_json(response: Answer) -> bool:
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


class Failure(Enum):
    """Why no HTTP response came: what the transport's exceptions say, in its own words
    (`api/failures.py` for requests and urllib3, `api/light.py` for http.client)."""

    DNS = "dns"
    CONNECT = "connect"  # refused, unreachable...: nothing was sent
    CONNECT_TIMEOUT = "connect timeout"
    TLS = "tls"
    READ_TIMEOUT = "read timeout"
    DROPPED = "dropped"  # the connection broke before the response was complete
    OTHER = "other"

    @property
    def before_sending(self) -> bool:
        """Failures that happen before the request is written."""
        return self in (Failure.DNS, Failure.CONNECT, Failure.CONNECT_TIMEOUT, Failure.TLS)


def no_response(failure: Failure, *, host: str, reason: str | None, sent: bool, timeout: float | None) -> NetworkError:
    """A one-line NetworkError for a request that got no HTTP response.

    `sent`: some attempt of this call reached the wire (the transport counted it).
    `reason`: the operating system's words, when it gave some. Only the host is
    named: URLs may carry ids, never credentials, but the message stays short either way.
    """
    maybe_applied = sent or failure in (Failure.READ_TIMEOUT, Failure.DROPPED)
    message = _describe_failure(failure, host, reason, timeout)
    if maybe_applied:
        message += "; the request was sent and may have been applied"
    return NetworkError(message, maybe_applied=maybe_applied)


def _describe_failure(failure: Failure, host: str, reason: str | None, timeout: float | None) -> str:
    if failure is Failure.DNS:
        return f"cannot resolve host {host} (DNS lookup failed)"
    if failure is Failure.CONNECT:
        return f"cannot connect to {host}: {reason or 'connection failed'}"
    if failure is Failure.CONNECT_TIMEOUT:
        return f"timed out connecting to {host}"
    if failure is Failure.TLS:
        if reason is None:
            return f"TLS handshake with {host} failed"
        # A proxy or antivirus that inspects TLS signs with its own certificate: the usual cause.
        return f"TLS handshake with {host} failed: {reason}; to trust a proxy's certificate, set REQUESTS_CA_BUNDLE"
    if failure is Failure.READ_TIMEOUT:
        within = f" within {timeout:g} s" if timeout else ""
        return f"no response from {host}{within}"
    if failure is Failure.DROPPED:
        return f"connection to {host} dropped before the response was complete"
    return f"network error talking to {host}: {reason}"
