"""urllib3's `Retry` as our `RetryPolicy` wants it (`RetryPolicy.to_urllib3` builds one)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from itertools import takewhile
from typing import TYPE_CHECKING, Any, Self

from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from togglsync.api.retrying import retry_after_seconds

if TYPE_CHECKING:
    from types import TracebackType

    from urllib3.connectionpool import ConnectionPool
    from urllib3.response import BaseHTTPResponse


class TogglRetry(Retry):
    """urllib3's Retry with three changes for a rate-limited API.

    * The first retry waits `backoff_factor` too (urllib3 retries the first one
      immediately, which a leaky bucket at ~1 req/s would refuse again).
    * A `Retry-After` longer than `retry_after_max` ends the retries instead of
      being shortened to the maximum: retrying early only burns quota.
    * The waits go through `sleep` (given, kept by every `new()` copy).
    """

    def __init__(self, *args: Any, sleep: Callable[[float], None] = time.sleep, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sleep = sleep

    def new(self, **kw: Any) -> Self:
        retry = super().new(**kw)
        retry._sleep = self._sleep
        return retry

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        # As urllib3 decides: the server's Retry-After when it gave a usable one, else the back-off.
        wait = self.get_retry_after(response) if response is not None and self.respect_retry_after_header else None
        if not wait:
            wait = self.get_backoff_time()
        if wait > 0:
            self._sleep(wait)

    def get_backoff_time(self) -> float:
        consecutive = len(list(takewhile(lambda h: h.redirect_location is None, reversed(self.history))))
        if consecutive == 0 or self.backoff_factor <= 0:
            return 0.0
        wait = self.backoff_factor * 2 ** (consecutive - 1)
        if self.backoff_jitter:
            wait += random.random() * self.backoff_jitter
        return float(max(0.0, min(self.backoff_max, wait)))

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        # One reading of Retry-After for both layers: "1.5" or garbage is no reason to
        # end the request (urllib3's own parser raises InvalidHeader on them);
        # tests/test_api_errors.py::test_a_retry_after_urllib3_cannot_read_is_tolerated.
        return retry_after_seconds(response.headers)

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        if response is not None and self.respect_retry_after_header:
            wait = self.get_retry_after(response)
            if wait is not None and wait > self.retry_after_max:
                # With raise_on_status=False urllib3 hands this response back as the result.
                reason = ResponseError(f"server asked to wait {wait:.0f} s")
                raise MaxRetryError(_pool, url, reason)  # type: ignore[arg-type]  # as urllib3 does: no pool yet is None
        return super().increment(method, url, response, error, _pool, _stacktrace)
