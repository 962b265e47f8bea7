"""The one place HTTP requests leave togglsync.

Everything that must hold for *every* request lives here, so no endpoint can
forget it: the request budget, pacing, the retry policy, the timeout, no
redirects, counting what reached the wire, logging without secrets, turning
transport failures into `NetworkError`, and resending a POST refused with 429.
Both `TogglClient` and `MatonControl` send through a `Chokepoint`.

Two threads may send through one `Chokepoint` at once (a sync downloads the
entries while it reads GET /me, `sync.pull`): the budget, the pacing and the
count are kept under locks, and `requests.Session` is shared for reads (its
connection pool is thread-safe). Everything else is one thread's at a time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from typing import TYPE_CHECKING, TypeAlias

from togglsync.api.responses import date_of, decode_json, scrubbed, typed_error
from togglsync.api.retrying import REPEATABLE_METHODS, SYSTEM_CLOCK, Clock, Pacer, RetryPolicy, retry_after_seconds
from togglsync.api.transport import credential_header
from togglsync.errors import ApiError, BudgetExhausted, ConfigError, UsageError
from togglsync.records import redact

if TYPE_CHECKING:
    import requests

    from togglsync.api.counting import CountingAdapter

log = logging.getLogger("togglsync.api")

Timeout = float | tuple[float, float]

# What requests takes as `auth=`: a hook that sets the credentials' headers (`transport.DirectAuth`...).
Auth: TypeAlias = "Callable[[requests.PreparedRequest], requests.PreparedRequest]"


def _no_response() -> tuple[type[requests.RequestException], ...]:
    """What "the server could not be reached, or stopped answering" looks like in requests."""
    import requests

    return (
        requests.ConnectionError,  # refused, DNS, TLS, proxy, connect timeout, dropped connection
        requests.Timeout,  # read timeout
        requests.exceptions.ChunkedEncodingError,  # the body stopped halfway
        requests.exceptions.ContentDecodingError,
    )


def _refused() -> type[requests.RequestException]:
    import requests

    return requests.RequestException


class Chokepoint:
    """One `requests.Session` with our adapter mounted on one root URL.

    requests is imported, and the session made, when the first request is sent: a sync
    whose answers the quiet sync already has (`api.light`) sends none and never pays for it."""

    def __init__(
        self,
        root_url: str,
        auth: Auth,
        *,
        timeout: Timeout = (5.0, 30.0),
        retry: RetryPolicy | None = None,
        min_interval: float = 0.0,
        user_agent: str,
        session: requests.Session | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ):
        self.root_url = root_url
        self.auth = auth
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.clock = clock
        self.pacer = Pacer(min_interval, clock=clock.monotonic, sleep=clock.sleep)
        self.budget: int | None = None
        self.server_time: datetime | None = None
        self._bookkeeping = threading.Lock()  # the budget's check and the retry settings of one send
        self._earlier = 0  # requests another transport sent before this one took over (`carry_on`)
        self._retries_spent = 0  # retries of the next request another transport already made
        self._host = urlsplit(root_url).netloc
        self._given_session = session
        self._session: requests.Session | None = None
        self._owns_session = session is None
        self._user_agent = user_agent
        self._adapter: CountingAdapter | None = None

    def _wire(self) -> tuple[requests.Session, CountingAdapter]:
        """The session and our adapter, made on first use (called under `_bookkeeping`)."""
        if self._session is None or self._adapter is None:
            import requests

            from togglsync.api.counting import CountingAdapter

            session = self._given_session or requests.Session()
            adapter = CountingAdapter(max_retries=self.retry.to_urllib3(sleep=self.clock.sleep))
            # Mounted on our root only, so a session passed in keeps its adapters
            # for other hosts, and ours wins for this one (longest prefix).
            session.mount(self.root_url + "/", adapter)
            self._session, self._adapter = session, adapter
        return self._session, self._adapter

    @property
    def requests_sent(self) -> int:
        """Requests that reached the wire, every attempt and retry included."""
        return self._earlier + (self._adapter.sent if self._adapter is not None else 0)

    def carry_on(self, *, sent: int, server_time: datetime | None, pacer: Pacer) -> None:
        """Go on where another transport of the same credentials stopped (`api.light`): its
        requests counted (the budget counts them), its server clock, its pacing."""
        with self._bookkeeping:
            self._earlier += sent
        if self.server_time is None:
            self.server_time = server_time
        self.pacer = pacer

    def spend_retries(self, count: int) -> None:
        """The next request's first attempts were made elsewhere: `count` retries fewer for it."""
        with self._bookkeeping:
            self._retries_spent = count

    def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        repeatable: bool | None = None,
        stream: bool = False,
        headers: Mapping[str, str] | None = None,
        paced: bool = True,
    ) -> requests.Response:
        """Send one logical request; return the final response whatever its status.

        With `stream`, the body is left unread for the caller to iterate (and close).
        Without `paced`, it does not wait its turn (the pacer): for a request sent
        beside another whose answer it does not need; the next paced one waits after it.
        `headers` are sent besides ours (`togglsync api -H`); a header the
        transport sets from the credentials (`transport.credential_header`) is
        refused with `UsageError` before anything is sent.

        `repeatable` overrides the method's default (a reports POST only reads,
        so it may be retried like a GET).
        """
        method = method.upper()
        extra = dict(headers or {})
        for name in extra:
            if credential_header(name):
                raise UsageError(
                    f"the {name} header is not yours to set: togglsync sends it from the configured credentials"
                )
        if repeatable is None:
            repeatable = method in REPEATABLE_METHODS
        resends = 0
        while True:
            response = self._send_once(
                method, url, params=params, json=json, repeatable=repeatable, stream=stream, headers=extra,
                paced=paced or resends > 0,
            )
            if response.status_code != 429 or repeatable:
                return response  # urllib3 already retried what it may
            # A 429 is refused before processing, so even a create can go again.
            resends += 1
            retry_after = retry_after_seconds(response.headers)
            if resends > self.retry.retries or self.retry.waits_too_long(retry_after):
                return response
            delay = self.retry.delay(resends, retry_after)
            log.debug("%s %s -> 429, resending in %.2f s", method, url, delay)
            if delay > 0:
                self.clock.sleep(delay)

    def _send_once(
        self,
        method: str,
        url: str,
        *,
        params: Any,
        json: Any,
        repeatable: bool,
        stream: bool = False,
        headers: Mapping[str, str] | None = None,
        paced: bool = True,
    ) -> requests.Response:
        with self._bookkeeping:
            retries, self._retries_spent = max(0, self.retry.retries - self._retries_spent), 0
            if self.budget is not None:
                left = self.budget - self.requests_sent
                if left <= 0:
                    where = urlsplit(url).path
                    raise BudgetExhausted(f"request budget of {self.budget} spent; {method} {where} not sent")
                retries = min(retries, left - 1)  # retries count against the budget too
            methods = REPEATABLE_METHODS | {method} if repeatable else REPEATABLE_METHODS
            session, adapter = self._wire()
            adapter.max_retries = self.retry.to_urllib3(
                retries=retries, methods=frozenset(methods), sleep=self.clock.sleep
            )
        if paced:
            self.pacer.wait()
        else:
            self.pacer.note_start()
        sent_before = self.requests_sent
        started = time.monotonic()
        try:
            response = session.request(
                method,
                url,
                params=params,
                json=json,
                auth=self.auth,
                timeout=self.timeout,
                allow_redirects=False,
                headers={"User-Agent": self._user_agent, "Accept": "application/json", **(headers or {})},
                stream=stream,
            )
        except _no_response() as exc:
            from togglsync.api.failures import network_error

            elapsed = (time.monotonic() - started) * 1000
            log.debug("%s %s -> %s (%.0f ms)", method, url, type(exc).__name__, elapsed)
            sent = self.requests_sent > sent_before
            raise network_error(exc, host=self._host, sent=sent, timeout=self._read_timeout()) from exc
        except _refused() as exc:
            # Refused by requests before sending (a bad header value, URL...): our
            # setup is wrong. Its text may quote a header, so only the type is shown.
            raise ConfigError(f"cannot build a request for {self._host}: {type(exc).__name__}") from None
        elapsed = (time.monotonic() - started) * 1000
        log.debug("%s %s -> %s (%.0f ms)", method, response.url, response.status_code, elapsed)
        self._note_date(response)
        return response

    def check(self, response: requests.Response, *, method: str, path: str, pool: str = "other") -> Any:
        """The decoded body of a 2xx response; raise the typed error otherwise."""
        if not 200 <= response.status_code < 300:
            raise self.error(response, method=method, path=path, pool=pool)
        try:
            return decode_json(response, method, path)
        except ApiError as error:
            # Its message quotes the start of the body, and GET /me's body holds the api_token.
            raise self._scrubbed(error) from None

    def error(self, response: requests.Response, *, method: str, path: str, pool: str = "other") -> ApiError:
        return typed_error(response, method=method, path=path, pool=pool, auth=self.auth, secrets=_secrets(self.auth))

    def _scrubbed(self, error: ApiError) -> ApiError:
        return scrubbed(error, _secrets(self.auth))

    def scrub(self, text: str) -> str:
        return redact(text, _secrets(self.auth))

    def _note_date(self, response: requests.Response) -> None:
        when = date_of(response)
        if when is not None:
            self.server_time = when

    def _read_timeout(self) -> float | None:
        return self.timeout[1] if isinstance(self.timeout, tuple) else self.timeout

    def close(self) -> None:
        if self._owns_session and self._session is not None:
            self._session.close()


def _secrets(auth: Auth) -> tuple[str, ...]:
    reveal: Callable[[], tuple[str, ...]] | None = getattr(auth, "secrets", None)
    return tuple(s for s in (reveal() if reveal else ()) if s)


def landed_earlier(response: requests.Response) -> bool:
    """Did an earlier attempt of this call possibly reach and change the server?

    urllib3 keeps the history of retried attempts on the response. A 429 was
    refused before processing and a connect error sent nothing; anything else
    (5xx, read timeout, dropped connection) may have been applied.
    """
    from urllib3.exceptions import ConnectTimeoutError

    retries = getattr(response.raw, "retries", None)
    for attempt in getattr(retries, "history", ()):
        if attempt.status == 429:
            continue
        if attempt.error is not None and isinstance(attempt.error, ConnectTimeoutError):
            continue
        return True
    return False
