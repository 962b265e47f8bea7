"""What clients sent: one record per request, for tests to assert on (never credentials)."""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str  # as received, e.g. "/toggl-track/api/v9/me/time_entries"
    normalized_path: str  # without transport and API prefixes, e.g. "/me/time_entries"
    api: str | None  # "v9" | "reports" | "ctrl" | None (unknown route)
    query: dict[str, str]
    transport: str  # "direct" | "maton" | "ctrl"
    connection: str | None  # the Maton-Connection header
    json: Any  # the parsed request body, or None
    status: int | None
    pool: str | None  # "user" | "workspace:<wid>" | "organization:<oid>" | None
    at: datetime  # simulator clock when the request arrived
    dropped: bool = False  # the response was never sent (fault)
    created_id: int | None = None  # the record a POST made, even if the client never heard of it
    # The request's headers by lower-case name, without the credentials (Authorization, cookies).
    headers: dict[str, str] = field(default_factory=dict)


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    @property
    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def find(self, method: str | None = None, path: str | None = None, transport: str | None = None) -> list[RequestRecord]:
        """Records matching the method, an fnmatch pattern over the normalised path, and the transport."""
        return [
            r
            for r in self.records
            if (method is None or r.method.upper() == method.upper())
            and (path is None or fnmatch.fnmatchcase(r.normalized_path, path))
            and (transport is None or r.transport == transport)
        ]

    def count(self, method: str | None = None, path: str | None = None, transport: str | None = None) -> int:
        return len(self.find(method, path, transport))

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)
