"""When to send a request again, how long to wait first, and client-side pacing.

Two layers retry, on purpose:

* urllib3's `Retry`, mounted on the session, repeats *repeatable* methods on
  429/5xx and on read errors, and any method on connect errors (nothing was
  sent). POST is not repeatable: a create that got a 5xx or lost its response
  may have landed, and only the sync engine can find out (by pulling).
* The chokepoint resends a POST that got a 429: the rate limiter refuses a
  request before it is processed, so the resend cannot duplicate anything.

`raise_on_status=False` lets the last 429/5xx through as a response, so our own
error mapping (not urllib3's MaxRetryError) decides what the caller sees.

The policy, pacing and `Retry-After` are pure (no requests, no urllib3: the
quiet sync's light transport, `api/light.py`, follows them too); urllib3's
`Retry` built from the policy is `api/urllib3_retry.py`'s, imported when asked for.
"""

from __future__ import annotations

import email.utils
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from urllib3.util.retry import Retry

    from togglsync.api.responses import Headers

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

# Safe to send twice: PUT carries absolute values, DELETE of a deleted record
# is harmless, PATCH is stop (409 on the second) or a bulk replace.
REPEATABLE_METHODS = frozenset({"GET", "PUT", "DELETE", "PATCH"})


class Clock(Protocol):
    """The time that pacing and back-off are measured in and waited through."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Real time: what every client uses unless it is given another clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


@dataclass(frozen=True)
class RetryPolicy:
    """How persistent the client is. A value, so tests and benchmarks can swap it."""

    retries: int = 3  # further attempts after the first
    backoff: float = 1.0  # seconds before the first retry, doubling after (Toggl: "back off from 1 s")
    backoff_max: float = 30.0
    jitter: float = 0.5  # up to this many random seconds added, so clients don't retry in lockstep
    respect_retry_after: bool = True
    # A server asking us to wait longer than this gets no retry: the caller sees
    # RateLimited/ServerError with retry_after and can schedule the next run instead.
    max_retry_after: float = 60.0

    @classmethod
    def off(cls) -> RetryPolicy:
        """Every failure surfaces at once."""
        return cls(retries=0)

    @classmethod
    def immediate(cls, retries: int = 3) -> RetryPolicy:
        """Retry without waiting: tests and benchmarks against the simulator."""
        return cls(retries=retries, backoff=0.0, jitter=0.0, respect_retry_after=False)

    def delay(self, retry_number: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `retry_number` (1-based) of the chokepoint's own loop."""
        if self.respect_retry_after and retry_after is not None:
            return retry_after
        if self.backoff <= 0:
            return 0.0
        wait: float = self.backoff * 2 ** (retry_number - 1) + random.random() * self.jitter
        return min(wait, self.backoff_max)

    def waits_too_long(self, retry_after: float | None) -> bool:
        return self.respect_retry_after and retry_after is not None and retry_after > self.max_retry_after

    def to_urllib3(
        self,
        *,
        retries: int | None = None,
        methods: frozenset[str] = REPEATABLE_METHODS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Retry:
        """The urllib3 `Retry` for one request; `retries` may lower the count (request budget).

        `sleep` waits between attempts (a test's clock instead of real time).
        """
        from togglsync.api.urllib3_retry import TogglRetry

        count = self.retries if retries is None else max(0, min(retries, self.retries))
        return TogglRetry(
            total=count,
            # One more try after a connect or read failure is enough: offline, or a
            # server too slow to answer within the timeout, rarely heals in seconds,
            # and each read timeout already cost the full timeout.
            connect=min(count, 1),
            read=min(count, 1),
            redirect=False,  # we never follow redirects: see the chokepoint
            status_forcelist=RETRY_STATUSES,
            allowed_methods=methods,
            backoff_factor=self.backoff,
            backoff_max=self.backoff_max,
            backoff_jitter=self.jitter,
            respect_retry_after_header=self.respect_retry_after,
            retry_after_max=self.max_retry_after,
            raise_on_status=False,
            raise_on_redirect=False,
            sleep=sleep,
        )


def retry_after_seconds(headers: Headers) -> float | None:
    """`Retry-After` as seconds from now (it may be a number or an HTTP date); None if absent or garbled."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


class Pacer:
    """Keeps request starts at least `min_interval` seconds apart (Toggl asks for about 1 req/s).

    Cheaper than being refused: a 429 still costs a request from the hourly quota.
    Safe to share between two threads: each `wait` reserves the next start under a
    lock and sleeps outside it. `note_start` records a request sent without waiting
    (one sent beside another whose answer it does not need): the next paced request
    waits for `min_interval` after it.
    """

    def __init__(
        self,
        min_interval: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if min_interval < 0:
            raise ValueError("min_interval must be >= 0")
        self.min_interval = min_interval
        self._clock = clock
        self._sleep = sleep
        self._last_start: float | None = None
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Block until the next request may start; return the seconds waited."""
        with self._lock:
            now = self._clock()
            due = now
            if self.min_interval > 0 and self._last_start is not None:
                due = max(now, self._last_start + self.min_interval)
            self._last_start = due  # this request's slot: another thread's comes after it
        waited = due - now
        if waited > 0:
            self._sleep(waited)
            with self._lock:  # a sleep that overran: the next one counts from the real start
                self._last_start = max(due if self._last_start is None else self._last_start, self._clock())
        return waited

    def note_start(self) -> None:
        """A request starts now without waiting its turn (see the class)."""
        with self._lock:
            now = self._clock()
            self._last_start = now if self._last_start is None else max(now, self._last_start)
