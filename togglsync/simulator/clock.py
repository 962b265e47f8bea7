"""The simulator's clock: real time by default, frozen or shifted by tests.

Everything time-dependent in the fake Toggl (`at` stamps, "stop now", quota
windows, the leaky bucket, the `Date` header) reads this clock, so a test can
jump an hour ahead instead of sleeping for one.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone


def _real_now() -> datetime:
    return datetime.now(timezone.utc)


class SimClock:
    """Aware-UTC clock that can be frozen, advanced and released."""

    def __init__(self, frozen_at: datetime | None = None):
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._frozen: datetime | None = None
        if frozen_at is not None:
            self.freeze(frozen_at)

    def now(self) -> datetime:
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return _real_now() + self._offset

    @property
    def frozen(self) -> bool:
        return self._frozen is not None

    def freeze(self, at: datetime | None = None) -> datetime:
        """Stop the clock at `at` (default: the current simulated time)."""
        with self._lock:
            if at is None:
                at = self._frozen or _real_now() + self._offset
            if at.tzinfo is None:
                raise ValueError("SimClock needs an aware datetime")
            self._frozen = at.astimezone(timezone.utc)
            return self._frozen

    def advance(self, seconds: float) -> datetime:
        """Move simulated time forward (or back, with a negative value)."""
        step = timedelta(seconds=seconds)
        with self._lock:
            if self._frozen is not None:
                self._frozen += step
                return self._frozen
            self._offset += step
            return _real_now() + self._offset

    def unfreeze(self) -> None:
        """Let time flow again from the frozen point (no jump back to real time)."""
        with self._lock:
            if self._frozen is not None:
                self._offset = self._frozen - _real_now()
                self._frozen = None
