"""A simulated account saved to a file and loaded again (`togglsync simulator --state FILE`).

A practice server that is restarted keeps its account: the same users,
tokens, records and ids (and the ids it will hand out next), so the client's
database stays true to it. The file is JSON (datetimes as {"__dt__": iso}),
written atomically with mode 0600: it holds the account's API token and Maton key.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from .model import Client, Connection, MatonKey, Membership, Organization, Project, Tag, TimeEntry, User, Workspace
from .seed import SeedInfo
from .state import SimState

FORMAT = 1

# Store attribute -> (record class, how its dict is keyed).
_TABLES: dict[str, tuple[type, str]] = {
    "organizations": (Organization, "id"),
    "workspaces": (Workspace, "id"),
    "users": (User, "id"),
    "clients": (Client, "id"),
    "projects": (Project, "id"),
    "tags": (Tag, "id"),
    "entries": (TimeEntry, "id"),
    "maton_keys": (MatonKey, "key"),
    "connections": (Connection, "connection_id"),
}


class StateFileError(Exception):
    """The state file cannot be read as a saved simulator account."""


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"__dt__": value.isoformat()}
    raise TypeError(f"cannot save {type(value).__name__}")


def _decode(obj: dict[str, Any]) -> Any:
    if set(obj) == {"__dt__"}:
        return datetime.fromisoformat(obj["__dt__"])
    return obj


def _fields(record: Any) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


def save(state: SimState, seed: SeedInfo, path: Path) -> None:
    """Write the account to `path` (atomically: a crash leaves the old file or the new one)."""
    with state.lock:
        data = {
            "format": FORMAT,
            "seed": _fields(seed),
            "memberships": [_fields(m) for m in state.memberships],
            "next_ids": state.next_ids(),
            "last_at": state.last_at(),
            **{name: [_fields(r) for r in getattr(state, name).values()] for name in _TABLES},
        }
        text = json.dumps(data, default=_encode, ensure_ascii=False)
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=path.name + ".", dir=path.parent or Path("."))
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def check_writable(path: Path) -> None:
    """Refuse, before serving, a state file that could not be saved when the server stops."""
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise StateFileError(f"cannot save to {path}: {folder} is not a directory")
    if not os.access(folder, os.W_OK):
        raise StateFileError(f"cannot save to {path}: {folder} is not writable")
    if Path(path).is_dir():
        raise StateFileError(f"cannot save to {path}: it is a directory")


def load(state: SimState, path: Path) -> SeedInfo:
    """Fill an empty `state` from `path`; returns the seeded account's SeedInfo."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"), object_hook=_decode)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise StateFileError(f"{path} is not a simulator state file (format {FORMAT})")
        with state.lock:
            for name, (cls, key) in _TABLES.items():
                table = getattr(state, name)
                for fields in data[name]:
                    record = cls(**fields)
                    table[getattr(record, key)] = record
            state.memberships[:] = [Membership(**m) for m in data["memberships"]]
            for entry in state.entries.values():
                state.reindex_running(entry)
            state.restore_ids(data["next_ids"], data["last_at"])
        return SeedInfo(**data["seed"])
    except StateFileError:
        raise
    except OSError as error:
        raise StateFileError(f"cannot read {path}: {error.strerror}") from None
    except (ValueError, KeyError, TypeError) as error:
        raise StateFileError(f"{path} is not a simulator state file ({type(error).__name__}: {error})") from None
