"""How requests reach Toggl: the two authentication schemes and the default roots.

A *root* is what `TOGGLSYNC_API_URL` holds: the client appends `/api/v9/...`
or `/reports/api/v3/...` to it. Both transports speak the same native paths;
only the root and the Authorization header differ.

Imports neither requests nor urllib3 (`pyproject.toml`, contract `light-http`):
the credential headers are `headers()`, which both the requests-based client
(through requests' auth hook, `__call__`) and the quiet sync's light transport
(`api/light.py`) send.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from collections.abc import MutableMapping
from typing import Protocol, TypeVar
from urllib.parse import urlsplit

# The default roots live in config (settings need them without importing requests).
from togglsync.config import DIRECT_URL as DIRECT_URL
from togglsync.config import MATON_CTRL_URL as MATON_CTRL_URL
from togglsync.config import MATON_URL as MATON_URL
from togglsync.errors import ConfigError

# A root copied from Toggl's docs often ends in the API prefix; the client adds it itself.
_API_SUFFIX = "/api/v9"


def _header_safe(value: str, what: str) -> str:
    """Strip and check a credential that goes into a header.

    http.client rejects a header value with a newline by quoting it in the
    exception, so a pasted token with a line break would end up in a
    traceback: refuse it here, naming only what it is.
    """
    value = (value or "").strip()
    if not value:
        raise ConfigError(f"the {what} is empty")
    if not value.isprintable() or any(c.isspace() for c in value) or not value.isascii():
        raise ConfigError(f"the {what} contains spaces, line breaks or other unexpected characters")
    return value


#: Headers the transports set from the credentials (lower case). Nothing else may set them:
#: `togglsync api -H` refuses them rather than send a request with someone else's identity.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "maton-connection"})


def credential_header(name: str) -> bool:
    """Is `name` a header the transport fills from the credentials (`CREDENTIAL_HEADERS`)?"""
    return name.strip().lower() in CREDENTIAL_HEADERS


class Credentials(Protocol):
    """What a transport needs of the credentials: the headers that carry them, the strings
    never to show (`secrets`), and a salted digest that tells whether they changed."""

    def headers(self) -> dict[str, str]: ...

    def secrets(self) -> tuple[str, ...]: ...

    def fingerprint(self, salt: bytes) -> str: ...


class _Prepared(Protocol):
    """What requests' auth hook is given (a `requests.PreparedRequest`): its headers."""

    @property
    def headers(self) -> MutableMapping[str, str]: ...


R = TypeVar("R", bound=_Prepared)


def _fingerprint(material: str, salt: bytes) -> str:
    """A one-way digest of what identifies a credential, under `salt` (random, stored beside it):
    keyed BLAKE2b. Tokens and Maton keys are long random strings, so a slow hash would add no
    strength; a salt per account keeps two databases' digests of one token unlike."""
    return hashlib.blake2b(material.encode(), digest_size=32, salt=salt[:16], person=b"togglsync-cred").hexdigest()


class DirectAuth:
    """HTTP Basic auth straight to Toggl: `<api token>:api_token`, or email:password."""

    def __init__(self, api_token: str):
        self._user = _header_safe(api_token, "Toggl API token")
        self._password = "api_token"  # Toggl's fixed marker: "the user field is a token"
        self._kind = "api token"

    @classmethod
    def with_password(cls, email: str, password: str) -> DirectAuth:
        if not email or not password:
            raise ConfigError("both email and password are needed for a password login")
        auth = cls.__new__(cls)
        auth._user, auth._password, auth._kind = email, password, "email/password"
        return auth

    def _encoded(self) -> str:
        return base64.b64encode(f"{self._user}:{self._password}".encode()).decode("ascii")

    def headers(self) -> dict[str, str]:
        """The request headers that carry these credentials (`CREDENTIAL_HEADERS`)."""
        return {"Authorization": "Basic " + self._encoded()}

    def __call__(self, request: R) -> R:
        """requests' auth hook (`auth=` of a request): the headers above."""
        request.headers.update(self.headers())
        return request

    def fingerprint(self, salt: bytes) -> str:
        """A salted one-way digest of these credentials (`accounts.check_credentials`): never the secret."""
        return _fingerprint(f"direct\0{self._user}\0{self._password}", salt)

    def secrets(self) -> tuple[str, ...]:
        """Strings that must never appear in a message (the chokepoint scrubs them)."""
        # The email of a password login is an identity, not a secret. The
        # encoded header counts: a proxy may echo it back in an error body.
        secret = self._user if self._kind == "api token" else self._password
        return (secret, self._encoded())

    def __repr__(self) -> str:
        return f"DirectAuth({self._kind}: ***)"


class MatonAuth:
    """Maton's managed-OAuth gateway: `Bearer <MATON_API_KEY>`, optionally picking a connection."""

    def __init__(self, api_key: str, connection: str | None = None):
        self._api_key = _header_safe(api_key, "Maton API key")
        # Without the header Maton uses the oldest active Toggl connection.
        self.connection = _header_safe(connection, "Maton connection id") if connection else None

    def headers(self) -> dict[str, str]:
        """The request headers that carry these credentials (`CREDENTIAL_HEADERS`)."""
        found = {"Authorization": f"Bearer {self._api_key}"}
        if self.connection:
            found["Maton-Connection"] = self.connection
        return found

    def __call__(self, request: R) -> R:
        """requests' auth hook (`auth=` of a request): the headers above."""
        request.headers.update(self.headers())
        return request

    def fingerprint(self, salt: bytes) -> str:
        """A salted one-way digest of the key and the connection (each connection is a Toggl user of its own)."""
        return _fingerprint(f"maton\0{self._api_key}\0{self.connection or ''}", salt)

    def secrets(self) -> tuple[str, ...]:
        return (self._api_key,)

    def __repr__(self) -> str:
        # The connection id only selects an account; it grants nothing on its own.
        extra = f", connection={self.connection!r}" if self.connection else ""
        return f"MatonAuth(api key: ***{extra})"


def check_url(url: str) -> str:
    """Validate a root URL and return it normalised (no trailing `/`, no `/api/v9`).

    Credentials travel in every request's headers, so plain http is refused
    unless the host is this machine (the simulator, a local proxy).
    """
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ConfigError(f"not a valid URL: {text[:80]!r}") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(f"not an http(s) URL: {text[:80]!r}")
    if parts.username or parts.password:
        # We log URLs; a secret inside one would end up in logs and messages.
        raise ConfigError(f"put credentials in the token settings, not in the URL (host {host})")
    if parts.query or parts.fragment:
        raise ConfigError(f"a root URL takes no query or fragment (host {host})")
    if parts.scheme == "http" and not is_loopback(host):
        raise ConfigError(
            f"refusing plain http:// to {host}: use https:// (http is allowed only for loopback hosts)"
        )
    path = parts.path.rstrip("/")
    if path.endswith(_API_SUFFIX):
        path = path[: -len(_API_SUFFIX)]
    return f"{parts.scheme}://{parts.netloc}{path}"


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback  # 127.0.0.0/8 and ::1
    except ValueError:
        return False
