"""An HTTPAdapter that counts the requests it actually puts on the wire.

Toggl's quota counts requests the server received, retries included, and
urllib3 retries inside a single `Session.request()` call; a response hook would
see one response per call and miss them. So the count is taken where urllib3
writes a request to a socket: once the request line, headers and body have
been sent. A connect failure (refused, DNS, connect timeout) counts nothing:
nothing reached the server.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager, ProxyManager


class _CountingConnection:
    """Mixin for urllib3 connections; `on_sent` is bound per adapter (see `_pool_classes`)."""

    on_sent: Callable[[], None]

    def request(self, *args: Any, **kwargs: Any) -> None:
        try:
            super().request(*args, **kwargs)  # type: ignore[misc]
        except BrokenPipeError:
            # The server closed while we were still sending; urllib3 then reads
            # whatever it answered, so the request did arrive.
            self.on_sent()
            raise
        self.on_sent()


def _pool_classes(on_sent: Callable[[], None]) -> dict[str, type[HTTPConnectionPool]]:
    # Classes per adapter: urllib3 builds connections from a pool's class
    # attribute, and a class attribute is the only hook that carries our counter.
    hook = {"on_sent": staticmethod(on_sent)}
    http_conn = type("CountingHTTPConnection", (_CountingConnection, HTTPConnection), hook)
    https_conn = type("CountingHTTPSConnection", (_CountingConnection, HTTPSConnection), hook)
    return {
        "http": type("CountingHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
        "https": type("CountingHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
    }


class CountingAdapter(HTTPAdapter):
    """`requests` adapter whose `sent` grows by one for every request written to a socket."""

    def __init__(self, *, max_retries: Any = 0, **kwargs: Any):
        self.sent = 0
        self._counting = threading.Lock()  # two threads may send at once (`Chokepoint`)
        self._pools = _pool_classes(self._count)
        super().__init__(max_retries=max_retries, **kwargs)  # calls init_poolmanager

    def _count(self) -> None:
        with self._counting:
            self.sent += 1

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self._install(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        manager: PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)  # a ProxyManager or SOCKS one
        self._install(manager)
        return manager

    def _install(self, manager: PoolManager) -> None:
        # SOCKS managers use their own pool classes; they go uncounted rather than broken.
        if type(manager) in (PoolManager, ProxyManager):
            manager.pool_classes_by_scheme = self._pools
