"""Toggl's request limits: hourly quotas (402) and the short-term leaky bucket (429).

Both read the simulator clock, so tests move time instead of waiting.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from .clock import SimClock

WINDOW = timedelta(hours=1)
USER_QUOTA = 30  # every /me request, on every plan
ORG_QUOTAS = {"free": 30, "starter": 240, "premium": 600}


@dataclass(frozen=True)
class QuotaVerdict:
    allowed: bool
    remaining: int | None  # None: no quota applies, and none is reported
    resets_in: int  # seconds

    @property
    def headers(self) -> dict[str, str]:
        if self.remaining is None:
            return {}
        return {
            "X-Toggl-Quota-Remaining": str(self.remaining),
            "X-Toggl-Quota-Resets-In": str(self.resets_in),
        }


@dataclass
class _Window:
    started: datetime
    used: int = 0


class QuotaBook:
    """Hourly request windows per pool key; a window opens at its first request.

    With `enforce=False` (`togglsync simulator --no-quotas`) there is no quota: requests are
    never refused, nothing is counted, and no `X-Toggl-Quota-*` header is sent. Toggl documents
    those headers as what a quota answer carries (the remaining count and the reset, and on a
    402 what tells a spent quota from a premium feature: /work/shared/toggl-api.md), so without
    a quota there is nothing true to report; a count falling to 0 while never refusing misled
    clients that keep a reserve (history, the recent window), and a frozen full count would be a
    number Toggl never sends. A client reads no header as "nothing known": a whole window.
    """

    def __init__(self, clock: SimClock, *, enforce: bool = True, user_quota: int = USER_QUOTA, org_quota: int | None = None):
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple[object, ...], _Window] = {}
        self.enforce = enforce
        self.user_quota = user_quota
        self.org_quota = org_quota  # overrides the plan's limit when set

    def organization_limit(self, plan: str) -> int:
        return self.org_quota if self.org_quota is not None else ORG_QUOTAS[plan]

    def charge(self, key: tuple[object, ...], limit: int) -> QuotaVerdict:
        """Count one request against the pool `key`, or refuse it when the pool is spent."""
        if not self.enforce:
            return QuotaVerdict(allowed=True, remaining=None, resets_in=0)
        now = self._clock.now()
        with self._lock:
            window = self._windows.get(key)
            if window is None or now >= window.started + WINDOW:
                window = self._windows[key] = _Window(started=now)
            resets_in = max(0, math.ceil((window.started + WINDOW - now).total_seconds()))
            if window.used >= limit:
                return QuotaVerdict(allowed=False, remaining=0, resets_in=resets_in)
            window.used += 1
            return QuotaVerdict(allowed=True, remaining=max(0, limit - window.used), resets_in=resets_in)

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()


class LeakyBucket:
    """About `rate` requests per second per credential, with a small burst."""

    def __init__(self, clock: SimClock, *, rate: float, burst: int = 3):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._clock = clock
        self._lock = threading.Lock()
        self._levels: dict[str, tuple[float, datetime]] = {}
        self.rate = rate
        self.burst = burst

    def admit(self, key: str) -> float | None:
        """None when the request may pass; else the seconds to wait before retrying."""
        now = self._clock.now()
        with self._lock:
            level, last = self._levels.get(key, (0.0, now))
            elapsed = max(0.0, (now - last).total_seconds())
            level = max(0.0, level - elapsed * self.rate)
            if level + 1 > self.burst:
                self._levels[key] = (level, now)
                return (level + 1 - self.burst) / self.rate
            self._levels[key] = (level + 1, now)
            return None
