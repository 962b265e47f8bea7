"""Injected failures: the next N matching requests answer with an error, hang, or lose their response."""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass
from typing import Any


@dataclass
class FaultRule:
    """What to do to the next `count` requests matching `method` and `path`.

    - `status` alone: answer with it, without applying the request.
    - `status` + `apply=True`: apply the request, then answer with `status`.
    - `drop_response=True`: apply the request, then close the connection
      without answering (the client cannot tell whether it landed).
    - `latency`: sleep that long before answering (for client timeouts).
    - `body`: the (JSON-encoded) body sent with `status` (default: a message).
    - `raw_body`: bytes sent as they are instead (truncated JSON, an HTML page...),
      with `content_type` (default: JSON's); `content_type` alone relabels `body`.
    `path` is an fnmatch pattern over the normalised path (e.g. "/me/time_entries*").
    """

    status: int | None = None
    method: str = "*"
    path: str = "*"
    count: int = 1
    apply: bool = False
    drop_response: bool = False
    latency: float = 0.0
    body: Any = None
    headers: dict[str, str] | None = None
    raw_body: bytes | None = None
    content_type: str | None = None
    hits: int = 0

    def matches(self, method: str, normalized_path: str) -> bool:
        return fnmatch.fnmatchcase(method.upper(), self.method.upper()) and fnmatch.fnmatchcase(
            normalized_path, self.path
        )

    @property
    def applies_request(self) -> bool:
        return self.apply or self.drop_response or self.status is None


class FaultPlan:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(
        self,
        status: int | None = None,
        method: str = "*",
        path: str = "*",
        count: int = 1,
        apply: bool = False,
        drop_response: bool = False,
        latency: float = 0.0,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw_body: bytes | str | None = None,
        content_type: str | None = None,
    ) -> FaultRule:
        if status is None and not drop_response and not latency:
            raise ValueError("a fault needs a status, drop_response=True or a latency")
        if raw_body is not None and status is None:
            raise ValueError("a raw_body needs a status to answer with")
        if raw_body is not None and body is not None:
            raise ValueError("give a body or a raw_body, not both")
        rule = FaultRule(
            status=status,
            method=method,
            path=path,
            count=count,
            apply=apply,
            drop_response=drop_response,
            latency=latency,
            body=body,
            headers=dict(headers or {}),
            raw_body=raw_body.encode("utf-8") if isinstance(raw_body, str) else raw_body,
            content_type=content_type,
        )
        with self._lock:
            self._rules.append(rule)
        return rule

    def take(self, method: str, normalized_path: str) -> FaultRule | None:
        """The first rule matching this request, consuming one of its uses."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, normalized_path):
                    rule.hits += 1
                    if rule.hits >= rule.count:
                        self._rules.remove(rule)
                    return rule
        return None

    @property
    def pending(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
