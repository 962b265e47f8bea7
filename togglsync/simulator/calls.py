"""What a route handler receives (Call) and may return (Reply, EMPTY)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from werkzeug.datastructures import MultiDict

from . import validate as check

if TYPE_CHECKING:
    from .state import SimState


class _Empty:
    def __repr__(self) -> str:
        return "EMPTY"


EMPTY: Any = _Empty()  # a 200 with no body at all (Toggl's DELETE), unlike JSON `null`


@dataclass
class Call:
    state: SimState
    query: MultiDict[str, str]
    body: Any = None
    user_id: int = 0  # the Toggl user (direct or behind a Maton connection)
    maton_key: str | None = None  # ctrl API calls
    base_url: str = ""  # "http://127.0.0.1:PORT", for URLs the simulator hands out

    def arg(self, name: str) -> str | None:
        value = self.query.get(name)
        return None if value is None or value == "" else value

    def flag(self, name: str) -> bool:
        return bool(check.query_bool(self.query.get(name), name))


@dataclass
class Reply:
    """A handler result with its own status or headers; plain return values mean 200 + JSON."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"
