"""The quiet sync's one request without requests: `LightClient`.

A sync that finds nothing changed is one `GET /me/time_entries?since=`; importing
requests and urllib3 for it took longer than the request and the database work
together (bench/RESULTS.md, scenario 3). `LightClient` sends that request over
the standard library's `http.client` and follows the rules every request
follows, from their owners, which import neither requests nor urllib3
(contract `light-http` in pyproject.toml):

* the credentials' headers: `transport.DirectAuth.headers` / `MatonAuth.headers`;
* the root: `transport.check_url`; the timeout and the pacing: `retrying.Pacer`;
* an answer -> its data or our typed error, its quota and its `Date`:
  `responses.decode_json`, `responses.typed_error` (Maton's 400, secrets blanked),
  `responses.quota_snapshot`, `responses.date_of`;
* no answer -> `responses.no_response` (`responses.Failure`).

What it does not do itself it hands to the whole client (`TogglClient`, built
then by the `full` factory), which goes on where it stopped (`TogglClient.carry_on`:
the requests counted, the server's clock, the quota seen, the pacing, the budget):

* anything but the quiet sync's `since` request (`me()` when the credentials
  changed, `whole()` for the rest of a sync);
* a proxy in the environment (`*_proxy`): requests' own handling of it
  (certificates are checked against the bundle requests would use: the one
  `REQUESTS_CA_BUNDLE` or `CURL_CA_BUNDLE` names, else certifi's; a bundle
  named there that does not exist is the whole client's error to give);
* nothing sent (DNS, refused, connect timeout, TLS): the whole client tries as it
  always does, nothing was spent;
* a retry the policy allows (429/5xx; a read failure): after the policy's wait
  (`RetryPolicy.delay`, `Retry-After` honoured), with the retries already spent.

An answer received is never asked for again: a 4xx, a redirect or a 2xx is
the result (data or error), as the whole client would make it.
"""

from __future__ import annotations

import http.client
import logging
import os
import ssl
import time
import zlib
from collections.abc import Callable
from datetime import datetime
from email.message import Message
from typing import TYPE_CHECKING, Any, overload
from urllib.parse import urlencode, urlsplit

import togglsync
from togglsync.api.params import unix_seconds
from togglsync.api.responses import (
    Failure,
    date_of,
    decode_json,
    no_response,
    quota_pool,
    quota_snapshot,
    scrubbed,
    typed_error,
)
from togglsync.api.retrying import RETRY_STATUSES, SYSTEM_CLOCK, Clock, Pacer, RetryPolicy, retry_after_seconds
from togglsync.api.transport import Credentials, check_url
from togglsync.errors import ApiError, QuotaSnapshot

if TYPE_CHECKING:
    from togglsync.api.client import TogglClient

log = logging.getLogger("togglsync.api")

_PREFIX = "/api/v9"
# Where requests looks for a CA bundle of the user's choosing (trust_env), in this order.
_CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def proxied() -> bool:
    """Is a proxy configured where requests looks for one (`trust_env`: the standard library's
    `getproxies`, i.e. `*_proxy` in the environment, and on macOS and Windows the system's
    settings)? The light transport then leaves the request to requests. (urllib.request: 5 ms.)"""
    from urllib.request import getproxies

    return bool(getproxies())


class _Headers:
    """An http.client response's headers, read case-insensitively (`responses.Headers`)."""

    def __init__(self, message: Message):
        self._message = message

    @overload
    def get(self, name: str, /) -> str | None: ...
    @overload
    def get(self, name: str, default: str, /) -> str: ...
    def get(self, name: str, default: str | None = None, /) -> str | None:
        value = self._message.get(name)
        return default if value is None else str(value)


class Answer:
    """One response read whole (`responses.Answer`)."""

    def __init__(self, status_code: int, reason: str | None, message: Message, content: bytes):
        self.status_code = status_code
        self.reason = reason
        self.headers = _Headers(message)
        self.content = content

    @property
    def text(self) -> str:
        charset = self.headers.get("Content-Type", "").partition("charset=")[2].split(";")[0].strip(' "')
        try:
            return self.content.decode(charset or "utf-8", errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")


class _Handover(Exception):
    """The whole client takes this request over (see the module), after `spent` retries."""

    def __init__(self, spent: int):
        super().__init__(spent)
        self.spent = spent


class LightClient:
    """The quiet sync's client (`sync.remote.QuietToggl`): `time_entries(since=)` over
    http.client; everything else, and the rest of a sync, through the whole client that
    `full` builds (`whole()`)."""

    def __init__(
        self,
        root_url: str,
        auth: Credentials,
        *,
        full: Callable[[], TogglClient],
        timeout: float | tuple[float, float] = (5.0, 30.0),
        retry: RetryPolicy | None = None,
        min_interval: float = 1.0,
        user_agent: str = f"togglsync/{togglsync.__version__}",
        on_quota: Callable[[QuotaSnapshot], None] | None = None,
        clock: Clock = SYSTEM_CLOCK,
        wall_clock: Callable[[], datetime] | None = None,
    ):
        self.root_url = check_url(root_url)
        self.auth = auth
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.clock = clock
        self.pacer = Pacer(min_interval, clock=clock.monotonic, sleep=clock.sleep)
        self.on_quota = on_quota
        self.wall_clock = wall_clock
        self._full_factory = full
        self._full: TogglClient | None = None
        self._user_agent = user_agent
        self._quota: dict[str, QuotaSnapshot] = {}
        self._sent = 0
        self._budget: int | None = None
        self._server_time: datetime | None = None

    def __repr__(self) -> str:
        return f"LightClient({self.root_url!r}, auth={self.auth!r})"

    # --- the bookkeeping the sync reads (the whole client's, once there is one) ------------

    @property
    def quota(self) -> dict[str, QuotaSnapshot]:
        return self._quota if self._full is None else self._full.quota

    @property
    def requests_sent(self) -> int:
        return self._sent if self._full is None else self._full.requests_sent

    @property
    def server_time(self) -> datetime | None:
        return self._server_time if self._full is None else self._full.server_time

    @property
    def budget(self) -> int | None:
        return self._budget if self._full is None else self._full.budget

    @budget.setter
    def budget(self, value: int | None) -> None:
        self._budget = value
        if self._full is not None:
            self._full.budget = value

    def credential_fingerprint(self, salt: bytes) -> str:
        return self.auth.fingerprint(salt)

    def whole(self, *, retries_spent: int = 0) -> TogglClient:
        """The whole client, going on where this one stopped (`TogglClient.carry_on`)."""
        if self._full is None:
            full = self._full_factory()
            full.carry_on(sent=self._sent, server_time=self._server_time, quota=self._quota, pacer=self.pacer,
                          budget=self._budget)
            self._full = full
        if retries_spent:
            self._full.spend_retries(retries_spent)
        return self._full

    def close(self) -> None:
        if self._full is not None:
            self._full.close()

    # --- requests ------------------------------------------------------------------------

    def me(self, with_related_data: bool = False) -> dict[str, Any]:
        return self.whole().me(with_related_data)

    def time_entries(self, since: int | datetime | None = None, **others: Any) -> list[dict[str, Any]]:
        """GET /me/time_entries?since=: light; any other form of it through the whole client."""
        if since is None or any(v not in (None, False) for v in others.values()):
            return self.whole().time_entries(since, **others)
        params = {"since": unix_seconds(since)}
        try:
            found: list[dict[str, Any]] = self._get("/me/time_entries", params)
        except _Handover as handover:
            return self.whole(retries_spent=handover.spent).time_entries(since)
        return found

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        if self._full is not None or proxied() or (
                self._budget is not None and self._sent >= self._budget):  # the whole client says it
            raise _Handover(0)
        self.pacer.wait()
        target = f"{urlsplit(self.root_url).path}{_PREFIX}{path}?{urlencode(params)}"
        started = time.monotonic()
        answer = self._exchange(target)
        log.debug("GET %s%s -> %s (%.0f ms)", self.root_url, target, answer.status_code,
                  (time.monotonic() - started) * 1000)
        self._note(answer, path)
        if 200 <= answer.status_code < 300:
            try:
                return decode_json(answer, "GET", path)
            except ApiError as error:
                raise scrubbed(error, self.auth.secrets()) from None
        retries = self.retry.retries if self._budget is None else min(self.retry.retries, self._budget - self._sent)
        if answer.status_code in RETRY_STATUSES and retries > 0:
            retry_after = retry_after_seconds(answer.headers)
            if not self.retry.waits_too_long(retry_after):
                wait = self.retry.delay(1, retry_after)
                log.debug("GET %s -> %s, the whole client retries in %.2f s", path, answer.status_code, wait)
                if wait > 0:
                    self.clock.sleep(wait)
                raise _Handover(1)
        raise typed_error(answer, method="GET", path=path, pool=quota_pool(path), auth=self.auth,
                          secrets=self.auth.secrets())

    def _exchange(self, target: str) -> Answer:
        """One request on a connection of its own; its answer read whole."""
        parts = urlsplit(self.root_url)
        host = parts.hostname or ""
        connect, read = self.timeout if isinstance(self.timeout, tuple) else (self.timeout, self.timeout)
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            context = _tls()
            if context is None:
                raise _Handover(0)
            connection = http.client.HTTPSConnection(host, parts.port, timeout=connect, context=context)
        else:
            connection = http.client.HTTPConnection(host, parts.port, timeout=connect)
        try:
            try:
                connection.connect()
            except OSError:
                raise _Handover(0) from None  # nothing sent: the whole client tries, and says why not
            if connection.sock is not None:
                connection.sock.settimeout(read)
            headers = {"User-Agent": self._user_agent, "Accept": "application/json",
                       "Accept-Encoding": "gzip, deflate", **self.auth.headers()}
            try:
                connection.request("GET", target, headers=headers)
            except BrokenPipeError:
                pass  # the server closed while we sent: it may have answered, read it (as urllib3 does)
            except OSError as error:
                raise self._lost(Failure.DROPPED, error) from None
            finally:
                self._sent += 1
            try:
                response = connection.getresponse()
                content = _decoded(response.read(), response.headers.get("Content-Encoding"))
            except TimeoutError as error:
                raise self._lost(Failure.READ_TIMEOUT, error) from None
            except (OSError, http.client.HTTPException, zlib.error) as error:
                raise self._lost(Failure.DROPPED, error) from None
            return Answer(response.status, response.reason, response.headers, content)
        finally:
            connection.close()

    def _lost(self, failure: Failure, error: BaseException) -> Exception:
        """No answer after the request was sent: the whole client's one retry, if the policy
        has one (a read failure is retried once, `RetryPolicy.to_urllib3`), else the error."""
        if self.retry.retries > 0 and (self._budget is None or self._sent < self._budget):
            return _Handover(self.retry.retries)  # its one attempt is the read failure's one retry
        reason = error.strerror.lower() if isinstance(error, OSError) and error.strerror else type(error).__name__
        _, read = self.timeout if isinstance(self.timeout, tuple) else (self.timeout, self.timeout)
        return no_response(failure, host=urlsplit(self.root_url).netloc, reason=reason, sent=True, timeout=read)

    def _note(self, answer: Answer, path: str) -> None:
        when = date_of(answer)
        if when is not None:
            self._server_time = when
        snapshot = quota_snapshot(answer.headers, quota_pool(path), self.wall_clock() if self.wall_clock else None)
        if snapshot is not None:
            self._quota[snapshot.pool] = snapshot
            if self.on_quota is not None:
                self.on_quota(snapshot)


def _tls() -> ssl.SSLContext | None:
    """Certificates checked against the bundle requests would use: the environment's
    (`_CA_VARIABLES`), else certifi's. None when the environment names one that is not there."""
    chosen = next((os.environ[name] for name in _CA_VARIABLES if os.environ.get(name)), None)
    if chosen is None:
        import certifi

        return ssl.create_default_context(cafile=certifi.where())
    if os.path.isdir(chosen):
        return ssl.create_default_context(capath=chosen)
    if not os.path.isfile(chosen):
        return None
    return ssl.create_default_context(cafile=chosen)


def _decoded(body: bytes, encoding: str | None) -> bytes:
    """The body without its Content-Encoding (we ask for gzip or deflate only)."""
    kind = (encoding or "").strip().lower()
    if kind in ("gzip", "x-gzip"):
        return zlib.decompress(body, 16 + zlib.MAX_WBITS)
    if kind == "deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, -zlib.MAX_WBITS)  # raw deflate, as some servers send it
    return body

