"""Which exception of requests and urllib3 means which `responses.Failure` (no HTTP response came).

The message and whether the request may have been applied are `responses.no_response`'s,
the one rule that the light transport (`api/light.py`) follows too.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import requests
from urllib3.exceptions import (
    ConnectTimeoutError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.exceptions import SSLError as Urllib3SSLError

from togglsync.api.responses import Failure, no_response
from togglsync.errors import NetworkError

# Most telling first: a DNS failure is a connect failure is a connect timeout (urllib3's classes).
_KINDS: tuple[tuple[tuple[type[BaseException], ...], Failure], ...] = (
    ((NameResolutionError,), Failure.DNS),
    ((NewConnectionError,), Failure.CONNECT),
    ((ConnectTimeoutError, requests.ConnectTimeout), Failure.CONNECT_TIMEOUT),
    ((Urllib3SSLError, requests.exceptions.SSLError), Failure.TLS),
    ((ReadTimeoutError, requests.ReadTimeout), Failure.READ_TIMEOUT),
    ((ProtocolError, requests.exceptions.ChunkedEncodingError), Failure.DROPPED),
)


def network_error(exc: requests.RequestException, *, host: str, sent: bool, timeout: float | None) -> NetworkError:
    """A one-line NetworkError for a request that got no HTTP response (`responses.no_response`).

    `sent` says whether any attempt of this call reached the wire (the
    counting adapter knows); the exception type can only add to that.
    """
    causes = list(_causes(exc))
    failure = next((kind for classes, kind in _KINDS if any(isinstance(c, classes) for c in causes)), Failure.OTHER)
    reason = _tls_reason(causes) if failure is Failure.TLS else _os_reason(causes)
    if failure is Failure.OTHER and reason is None:
        reason = type(causes[-1]).__name__
    return no_response(failure, host=host, reason=reason, sent=sent, timeout=timeout)


def _tls_reason(causes: list[BaseException]) -> str | None:
    """The certificate check's own words ("self-signed certificate", "certificate has expired")."""
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"its certificate is not trusted ({cause.verify_message or 'verification failed'})"
    return None


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
