"""What each kind of record is: its table, label, editable fields, references, state and API bodies.

The one description of Toggl's records that everything below the CLI uses:
the offline edits (`local`, `timer`), the outbox, the sync (`pull`, `apply`,
`push`) and the listings. Pure: no I/O, no database, no HTTP, so every rule
here is tested with plain dicts and the fast commands can import it for free.

Vocabulary:
* a *row* is a record as our tables hold it (aware datetimes, lists);
* a record's *state* is the dict of the fields a user can edit, in JSON-able
  form (timestamps as ISO text, tag ids sorted). Pending operations keep the
  state they were made on as their merge base; payloads and merges are
  computed from states, never from stored deltas.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone, tzinfo
from enum import StrEnum
from typing import Any, NamedTuple, TypeVar

from togglsync.errors import BadResponse, UsageError

Row = dict[str, Any]
State = dict[str, Any]


class Kind(StrEnum):
    """A kind of record. Equal to its string value, which the schema stores (`pending_operations.resource`)."""

    TIME_ENTRY = "time_entry"
    PROJECT = "project"
    CLIENT = "client"
    TAG = "tag"
    WORKSPACE = "workspace"


class Reference(NamedTuple):
    """`source.field` holds the id of a `target` record (a list of ids when `many`).

    When the target is deleted, Toggl clears the field (or removes the id from
    the list) without changing the source's `at`; we do the same locally. When
    a temporary id is replaced by Toggl's, every reference to it is rewritten.
    """

    source: Kind
    field: str
    target: Kind
    many: bool = False
    # A list reference is mirrored as pairs in a link table (table, source column, target column),
    # so SQL can join it, and the targets' names are kept beside the ids for readers of the table.
    link: tuple[str, str, str] | None = None
    names_field: str | None = None


class Spec(NamedTuple):
    kind: Kind
    table: str
    label: str
    # The fields a user can edit (and the push sends); a record's state.
    editable: tuple[str, ...]
    # Editable offline: created, changed and deleted through the outbox.
    local: bool
    # Named records: a name unique per workspace, ignoring case.
    named: bool
    # The field and value that mark a record archived (hidden from listings unless asked).
    archived_when: tuple[str, bool] | None = None
    # Fields Toggl fills in when a create leaves them out (a project's colour).
    defaulted: tuple[str, ...] = ()


SPECS: dict[Kind, Spec] = {
    Kind.TIME_ENTRY: Spec(
        Kind.TIME_ENTRY, "time_entries", "time entry",
        ("description", "project_id", "task_id", "start", "stop", "duration", "billable", "tag_ids"),
        local=True, named=False,
    ),
    Kind.PROJECT: Spec(
        Kind.PROJECT, "projects", "project", ("name", "client_id", "color", "billable", "is_private", "active"),
        local=True, named=True, archived_when=("active", False), defaulted=("color",),
    ),
    Kind.CLIENT: Spec(
        Kind.CLIENT, "clients", "client", ("name", "notes", "archived"), local=True, named=True,
        archived_when=("archived", True),
    ),
    Kind.TAG: Spec(Kind.TAG, "tags", "tag", ("name",), local=True, named=True),
    Kind.WORKSPACE: Spec(Kind.WORKSPACE, "workspaces", "workspace", (), local=False, named=True),
}

# Who references whom: the one map (push rewrites ids, deletes detach, listings join).
REFERENCES: tuple[Reference, ...] = (
    Reference(Kind.TIME_ENTRY, "project_id", Kind.PROJECT),
    Reference(
        Kind.TIME_ENTRY, "tag_ids", Kind.TAG, many=True,
        link=("time_entry_tags", "time_entry_id", "tag_id"), names_field="tags",
    ),
    Reference(Kind.PROJECT, "client_id", Kind.CLIENT),
)

# What lives inside what: `source.field` names the record that contains the source. When the
# container goes (a workspace the user left, was removed from, or that was deleted), everything
# it contains goes with it. Listed referencing kinds first, so that their rows are gone before
# the records they point at (nothing is detached in vain).
CONTAINMENT: tuple[Reference, ...] = tuple(
    Reference(kind, "workspace_id", Kind.WORKSPACE) for kind in (Kind.TIME_ENTRY, Kind.TAG, Kind.PROJECT, Kind.CLIENT)
)

# Rows that are no records of their own but belong to one: (table, column naming the record).
# A workspace's members go with the workspace, and so does which accounts belong to it and
# how far `togglsync history` reached in it (its entries went: a workspace joined again has
# its history fetched again).
OWNED_ROWS: dict[Kind, tuple[tuple[str, str], ...]] = {
    Kind.WORKSPACE: (
        ("workspace_users", "workspace_id"), ("account_workspaces", "workspace_id"), ("history_ranges", "workspace_id"),
    ),
}


def contents(kind: str) -> tuple[Reference, ...]:
    """The kinds a record of `kind` contains, each with the field naming its container."""
    return tuple(r for r in CONTAINMENT if r.target == kind)


def owned_rows(kind: str) -> tuple[tuple[str, str], ...]:
    """The plain rows (table, column) that belong to a record of `kind` and go with it."""
    return OWNED_ROWS.get(Kind(kind), ())


# The conflict kind of an edit made inside a container that went (a workspace left).
CONTAINER_GONE = "workspace_gone"


def gone_container_message(kind: str, record_id: int) -> str:
    """Why an edit inside a container that went can never reach Toggl (kept with the lost edit)."""
    return f"{spec(kind).label} {format_id(record_id)} is no longer accessible"


def without_references(kind: str, state: Mapping[str, Any]) -> State:
    """A state with every reference cleared (they named records of a container that went)."""
    out = dict(state)
    for ref in references_from(kind):
        if ref.field in out:
            out[ref.field] = [] if ref.many else None
    return out


# The kinds edited offline, in push order: what others reference goes first
# (deletes go in the reverse order).
PUSH_ORDER: tuple[Kind, ...] = (Kind.CLIENT, Kind.PROJECT, Kind.TAG, Kind.TIME_ENTRY)


def spec(kind: str) -> Spec:
    """The Spec of a kind named by its string (as stored); unknown kinds are a ValueError."""
    return SPECS[Kind(kind)]


def references_from(kind: str) -> tuple[Reference, ...]:
    return tuple(r for r in REFERENCES if r.source == kind)


def references_to(kind: str) -> tuple[Reference, ...]:
    return tuple(r for r in REFERENCES if r.target == kind)


def referenced_ids(ref: Reference, row: Mapping[str, Any]) -> list[int]:
    """The ids `row` holds in `ref.field` (none, one, or a list)."""
    value = row.get(ref.field)
    if value is None:
        return []
    return list(value) if ref.many else [value]


def references_pending(kind: str, row: Mapping[str, Any]) -> bool:
    """Does the row point at a record that has no Toggl id yet (a negative, temporary id)?"""
    return any(v < 0 for ref in references_from(kind) for v in referenced_ids(ref, row))


def without_reference(ref: Reference, row: Mapping[str, Any], target_ids: Iterable[int]) -> Any:
    """The new value of `ref.field` once the targets are gone: the list without them, or None."""
    gone = set(target_ids)
    if ref.many:
        return [v for v in referenced_ids(ref, row) if v not in gone]
    return None if row.get(ref.field) in gone else row.get(ref.field)


def replace_reference(ref: Reference, value: Any, old: int, new: int) -> Any:
    """`value` of `ref.field` with the id `old` replaced by `new` (lists stay sorted and unique:
    an entry may hold both, a local tag and the Toggl tag it turns out to be)."""
    if ref.many:
        return sorted({new if v == old else v for v in (value or [])})
    return new if value == old else value


def push_phase(kind: str, action: str, record_id: int) -> tuple[int, int, int]:
    """Sort key of an operation in a push: creates and updates in PUSH_ORDER, then deletes in reverse.

    Within a kind, updates of records Toggl has go before the creates: a timer
    stopped here goes before the create of the one that overtook it, which
    Toggl would otherwise answer by stopping it at its own clock, at sync time
    (see `overtaken`). Updates of records still waiting for their create come
    after it.
    """
    order = PUSH_ORDER.index(Kind(kind))
    if action == "delete":
        return (1, len(PUSH_ORDER) - order, 0)
    return (0, order, 0 if action == "update" and record_id > 0 else 1)


# --- ids as people write them ------------------------------------------------------------------

def format_id(record_id: int) -> str:
    """How people see an id: Toggl's as is, an unsynced record's as L<n>."""
    return f"L{-record_id}" if record_id < 0 else str(record_id)


def public_id(record_id: int | None) -> int | str | None:
    """An id in --json and --csv: a Toggl id is a number, an unsynced record's the string `L<n>`
    (never the database's negative id, which the CLI reads as -N, the Nth most recent entry)."""
    if record_id is None:
        return None
    return format_id(record_id) if record_id < 0 else int(record_id)


# SQLite's INTEGER: anything past it cannot be an id (and would overflow the driver).
MAX_ID = 2**63 - 1


def parse_id(text: str) -> int:
    """`123` or `L5` -> a database id (L5 -> -5)."""
    value = (text or "").strip()
    match = re.fullmatch(r"([Ll]?)(\d+)", value)
    if match:
        number = int(match.group(2))
        if number > MAX_ID:
            raise UsageError(f"{text!r} is too large to be an id")
        return -number if match.group(1) else number
    raise UsageError(f"{text!r} is not an id: use a Toggl id like 4100000123 or a local id like L5")



# --- names, colours, descriptions: what a user may type --------------------------------------

# Toggl refuses longer names; refusing here keeps a queued create from failing at push time.
MAX_NAME_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 3000
_COLOR = r"#[0-9a-fA-F]{6}"  # compiled on first use (re's cache): the fast commands never ask


def clean_name(kind: str, value: str | None) -> str:
    """A record's name as it will be stored: trimmed, not blank, one line, not too long."""
    label = spec(kind).label
    text = (value or "").strip()
    if not text:
        raise UsageError(f"{label} name can't be blank")
    if any(ch in text for ch in "\r\n\t") or any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise UsageError(f"{label} name can't contain line breaks, tabs or control characters")
    if len(text) > MAX_NAME_LENGTH:
        raise UsageError(f"{label} name is too long ({len(text)} characters; at most {MAX_NAME_LENGTH})")
    return text


def clean_color(value: str | None) -> str | None:
    """`#rrggbb` (stored in lower case), or None for Toggl's default."""
    if value is None:
        return None
    text = value.strip()
    if not re.fullmatch(_COLOR, text):
        raise UsageError(f"bad color {value!r}: use #rrggbb, e.g. #0b83d9")
    return text.lower()


def clean_description(value: str | None) -> str | None:
    """An entry's description as it will be stored: one line, trimmed, not too long; blank is none."""
    if value is None:
        return None
    if any(ch in value for ch in "\r\n"):
        raise UsageError("the description can't contain line breaks")
    text = value.strip()
    if len(text) > MAX_DESCRIPTION_LENGTH:
        raise UsageError(
            f"description is too long ({len(text)} characters; at most {MAX_DESCRIPTION_LENGTH})"
        )
    return text or None


def edited_tags(
    current: Iterable[int], *, replace: Iterable[int] | None = None, add: Iterable[int] = (), remove: Iterable[int] = ()
) -> list[int]:
    """An entry's tags after an edit: `replace` (else the current ones), plus `add`, minus `remove`."""
    base = set(current if replace is None else replace)
    return sorted((base | set(add)) - set(remove))


def same_name(a: str | None, b: str | None) -> bool:
    """Names compare ignoring case, outside ASCII too (SQLite's lower() folds ASCII only)."""
    return (a or "").casefold() == (b or "").casefold()


def as_stored(text: Any) -> Any:
    """Text as Toggl may give it back: trimmed, in Unicode NFC; blank is none."""
    if not isinstance(text, str):
        return text
    return unicodedata.normalize("NFC", text).strip() or None


def same_value(field: str, a: Any, b: Any) -> bool:
    """Whether two values of a field are the same on Toggl (text as stored, names ignoring case)."""
    if isinstance(a, str) or isinstance(b, str):
        a, b = as_stored(a), as_stored(b)
        return same_name(a, b) if field == "name" else a == b
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return sorted(a or []) == sorted(b or [])
    return bool(a == b)



# --- timestamps and API records -> rows ------------------------------------------------------

def parse_ts(value: Any) -> datetime | None:
    """Parse the API's timestamp forms (`...Z`, `...+00:00`, with or without micros) to aware UTC."""
    if value is None or value == "":
        return None
    if value.__class__ is str:
        # The API's usual forms parse as they are (3.11 reads a final "Z"); anything else
        # (spaces around it, ...) takes the careful way below, which raises for garbage.
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is timezone.utc:
                return parsed
    if isinstance(value, datetime):
        dt = value
    elif not isinstance(value, str):
        # A number is not a timestamp (3.11 would read str(20260105) as a date).
        raise ValueError(f"not a timestamp: {_short(value)}")
    else:
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not a timestamp: {_short(value)}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def format_ts(dt: datetime) -> str:
    """The form Toggl accepts in request bodies."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_deleted(record: dict[str, Any]) -> bool:
    return bool(record.get("server_deleted_at") or record.get("deleted_at"))


def _first(record: dict[str, Any], key: str, *others: str) -> Any:
    """The value of the first of these keys that is not null (a field and its legacy copy)."""
    value = record.get(key)
    if value is not None:
        return value  # the usual case, at once
    for other in others:
        value = record.get(other)
        if value is not None:
            return value
    return None


# --- validating what the server sent -------------------------------------------------------
#
# Every field a row takes is checked: a malformed record is a BadResponse
# naming the record and field, never its other values, and wrong types are
# never coerced (`"tag_ids": "12"` is not [1, 2]). tests/test_hostile_server.py

_SQLITE_INT = (-(2**63), 2**63 - 1)


class _FieldError(ValueError):
    def __init__(self, field: str, problem: str):
        super().__init__(f"field {field!r} {problem}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _as_int(value: Any, field: str) -> int:
    if value.__class__ is int and _SQLITE_INT[0] <= value <= _SQLITE_INT[1]:
        return value  # the usual case, at once
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _FieldError(field, f"is not an integer: {_short(value)}")
    if not _SQLITE_INT[0] <= value <= _SQLITE_INT[1]:
        raise _FieldError(field, "is out of range")
    return value


def _opt_int(value: Any, field: str) -> int | None:
    return None if value is None else _as_int(value, field)


def _opt_str(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _FieldError(field, f"is not a string: {_short(value)}")
    if value.isascii():
        return value  # no lone surrogate in it
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _FieldError(field, "is not valid unicode") from None
    return value


def _ts_field(record: dict[str, Any], field: str) -> datetime | None:
    try:
        return parse_ts(record.get(field))
    except ValueError as error:
        raise _FieldError(field, str(error)) from None


def _int_list(value: Any, field: str = "tag_ids") -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _FieldError(field, f"is not a list: {_short(value)}")
    low, high = _SQLITE_INT
    # The usual ids at once; anything else through `_as_int` (converted or refused there).
    return [v if v.__class__ is int and low <= v <= high else _as_int(v, field) for v in value]


def _str_list(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _FieldError(field, f"is not a list: {_short(value)}")
    if not value:
        return []
    return [_opt_str(v, field) or "" for v in value]


_Row = TypeVar("_Row", bound=Callable[..., dict[str, Any]])


def _validated(what: str) -> Callable[[_Row], _Row]:
    """Turn any malformed-record failure of a row builder into a BadResponse."""

    def wrap(build: _Row) -> _Row:
        @functools.wraps(build)
        def checked(*args: Any, **kwargs: Any) -> dict[str, Any]:
            first = args[0] if args else None
            # The record is the first argument that is not an id (a dict at once, as a rule).
            record = first if first.__class__ is dict else next(
                (a for a in args if not isinstance(a, int) or isinstance(a, bool)), None)
            if not isinstance(record, dict):
                raise BadResponse(200, f"expected a {what} record (an object), got {type(record).__name__}")
            try:
                row = build(*args, **kwargs)
            except (_FieldError, KeyError, OverflowError) as error:
                which = record.get("id")
                named = f" {which}" if isinstance(which, int) and not isinstance(which, bool) else ""
                detail = f"field {str(error)} is missing" if isinstance(error, KeyError) else str(error)
                if isinstance(error, OverflowError):
                    detail = "a time or duration is out of range"
                raise BadResponse(200, f"malformed {what} record{named}: {detail}") from None
            # One rule for every table: no credential is stored (a workspace's `api_token` too).
            raw = row.get("raw")
            if isinstance(raw, dict):
                row["raw"] = without_secrets(raw)
            return row

        return checked  # type: ignore[return-value]

    return wrap


@_validated("time entry")
def entry_row(record: dict[str, Any]) -> dict[str, Any]:
    """A time entry as the API sends it -> a `time_entries` row.

    Normalises what the API is inconsistent about: `tags`/`tag_ids` are null
    right after a create, any negative duration means "running" (create says
    -1, `current` says -start), legacy `wid`/`pid`/`uid`/`tid` copies.
    """
    duration = _opt_int(record.get("duration"), "duration")
    duration = duration if duration is not None else 0
    start = _ts_field(record, "start")
    stop = _ts_field(record, "stop")
    if duration < 0:
        duration, stop = -1, None
    elif stop is None and start is not None:
        stop = start + timedelta(seconds=duration)
    return {
        "id": _as_int(record["id"], "id"),
        "workspace_id": _opt_int(_first(record, "workspace_id", "wid"), "workspace_id"),
        "user_id": _opt_int(_first(record, "user_id", "uid"), "user_id"),
        "project_id": _opt_int(_first(record, "project_id", "pid"), "project_id"),
        "task_id": _opt_int(_first(record, "task_id", "tid"), "task_id"),
        "description": _opt_str(record.get("description"), "description"),
        "start": start,
        "stop": stop,
        "duration": duration,
        "billable": bool(record.get("billable")),
        **_tags_in_order(_int_list(record.get("tag_ids")), _str_list(record.get("tags"), "tags")),
        "at": _ts_field(record, "at"),
        "raw": record,
        "source": SYNC_SOURCE,
    }


# Where a time entry row's fields came from (`time_entries.source`): the regular sync's
# GET /me/time_entries (and edits made here), or the Reports API's detailed report
# (`togglsync history`). The sync's is the fuller record: it takes a report's row over
# when both say the same `at` (`supersedes`), never the other way round.
SYNC_SOURCE = "sync"
REPORT_SOURCE = "report"
_SOURCE_RANK = {REPORT_SOURCE: 0, SYNC_SOURCE: 1}


def supersedes(row: dict[str, Any], stored_at: datetime | None, stored_source: str | None) -> bool:
    """Whether a row the server just sent replaces the stored version of the record: a newer
    `at` (or an unknown one) does; the same `at` only when it comes from a fuller source
    (the sync over a report). A stale answer never takes a record back to an older version."""
    if row["at"] is None or stored_at is None or stored_at < row["at"]:
        return True
    if stored_at == row["at"] and stored_source is not None and "source" in row:
        return _SOURCE_RANK.get(row["source"], 1) > _SOURCE_RANK.get(stored_source, 1)
    return False


def report_records(row: Any) -> list[dict[str, Any]]:
    """One detailed-report row (a group of entries sharing user, project, description, tags,
    billable) -> one record per entry: the row's fields with `time_entries` holding that
    entry alone, what `report_entry_row` reads and `raw` keeps."""
    if not isinstance(row, dict):
        raise BadResponse(200, f"expected a report row (an object), got {type(row).__name__}")
    entries = row.get("time_entries")
    if not isinstance(entries, list) or not entries:
        raise BadResponse(200, "malformed report row: field 'time_entries' is not a list of entries")
    return [{**row, "time_entries": [entry]} for entry in entries]


def report_entry_row(workspace_id: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A row builder for the report's records (`report_records`) of one workspace (the
    report names it only in its path): the same `time_entries` columns a synced entry has,
    tag names left to the tags table, `raw` the report's row, `source` "report"."""

    @_validated("report time entry")
    def build(record: dict[str, Any]) -> dict[str, Any]:
        entry = record["time_entries"][0]
        if not isinstance(entry, dict):
            raise _FieldError("time_entries", "is not a list of objects")
        duration = _as_int(entry["seconds"], "seconds")
        start = _ts_field(entry, "start")
        stop = _ts_field(entry, "stop")
        if start is None:
            raise _FieldError("start", "is missing")
        if duration < 0 or stop is None:
            raise _FieldError("stop", "is missing: a report lists finished entries only")
        return {
            "id": _as_int(entry["id"], "id"),
            "workspace_id": workspace_id,
            "user_id": _opt_int(record.get("user_id"), "user_id"),
            "project_id": _opt_int(record.get("project_id"), "project_id"),
            "task_id": _opt_int(record.get("task_id"), "task_id"),
            "description": _opt_str(record.get("description"), "description"),
            "start": start,
            "stop": stop,
            "duration": duration,
            "billable": bool(record.get("billable")),
            **_tags_in_order(_int_list(record.get("tag_ids")), []),
            "at": _ts_field(entry, "at"),
            "raw": record,
            "source": REPORT_SOURCE,
        }

    return build


def _tags_in_order(tag_ids: list[int], names: list[str]) -> dict[str, list[Any]]:
    """An entry's tags in our one order, by id, names alongside (Toggl keeps the order it was given).

    Every write stores this order (local edits, merges, pulls), so a row never
    differs from a cold sync's by the order alone (tests/test_found_by_model.py)."""
    if len(tag_ids) < 2:
        return {"tag_ids": tag_ids, "tags": names}  # in order already (most entries)
    ordered = sorted(set(tag_ids))
    if ordered == tag_ids:
        return {"tag_ids": tag_ids, "tags": names}
    if len(names) == len(tag_ids):
        by_id = dict(zip(tag_ids, names))
        return {"tag_ids": ordered, "tags": [by_id[t] for t in ordered]}
    return {"tag_ids": ordered, "tags": names}


@_validated("project")
def project_row(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": _as_int(record["id"], "id"),
        "workspace_id": _opt_int(_first(record, "workspace_id", "wid"), "workspace_id"),
        "client_id": _opt_int(_first(record, "client_id", "cid"), "client_id"),
        "name": _opt_str(record.get("name"), "name") or "",
        "active": bool(record.get("active", True)),
        "is_private": bool(record.get("is_private")),
        "color": _opt_str(record.get("color"), "color"),
        "billable": bool(record.get("billable")),
        "created_at": _ts_field(record, "created_at"),
        "at": _ts_field(record, "at"),
        "raw": record,
    }


@_validated("client")
def client_row(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": _as_int(record["id"], "id"),
        "workspace_id": _opt_int(_first(record, "wid", "workspace_id"), "workspace_id"),
        "name": _opt_str(record.get("name"), "name") or "",
        "archived": bool(record.get("archived")),
        "notes": _opt_str(record.get("notes"), "notes"),
        "creator_id": _opt_int(record.get("creator_id"), "creator_id"),
        "at": _ts_field(record, "at"),
        "raw": record,
    }


@_validated("tag")
def tag_row(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": _as_int(record["id"], "id"),
        "workspace_id": _opt_int(_first(record, "workspace_id", "wid"), "workspace_id"),
        "name": _opt_str(record.get("name"), "name") or "",
        "creator_id": _opt_int(record.get("creator_id"), "creator_id"),
        "at": _ts_field(record, "at"),
        "raw": record,
    }


@_validated("workspace")
def workspace_row(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": _as_int(record["id"], "id"),
        "organization_id": _opt_int(record.get("organization_id"), "organization_id"),
        "name": _opt_str(record.get("name"), "name") or "",
        "premium": bool(record.get("premium")),
        "at": _ts_field(record, "at"),
        "raw": record,
    }


@_validated("workspace user")
def workspace_user_row(workspace_id: int, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "workspace_id": workspace_id,
        "user_id": _as_int(_first(record, "user_id", "id"), "user_id"),
        "email": _opt_str(record.get("email"), "email"),
        "fullname": _opt_str(record.get("fullname"), "fullname") or _opt_str(record.get("name"), "name"),
        "role": record.get("role") or ("admin" if record.get("admin") else None),
        "is_active": bool(record.get("is_active", record.get("active", True))),
        "raw": record,
    }


@_validated("account")
def account_row(record: dict[str, Any], synced_at: datetime) -> dict[str, Any]:
    # GET /me answers with the user's `api_token`: `_validated` strips it (tests/test_security.py).
    core = {k: v for k, v in record.items() if k not in _RELATED}
    return {
        "id": _as_int(record["id"], "id"),
        "email": _opt_str(record.get("email"), "email"),
        "fullname": _opt_str(record.get("fullname"), "fullname"),
        "timezone": _opt_str(record.get("timezone"), "timezone"),
        "default_workspace_id": _opt_int(record.get("default_workspace_id"), "default_workspace_id"),
        "beginning_of_week": _opt_int(record.get("beginning_of_week"), "beginning_of_week"),
        "at": _ts_field(record, "at"),
        "raw": core,
        "synced_at": synced_at,
    }


# --- secrets: one rule for what is stored, printed and logged ----------------------------------
#
# Keys of an API record that hold a credential: GET /me's `api_token`, a workspace's
# `api_token`, anything named like a token or key. Never stored (every row builder's
# `raw` goes through `without_secrets`), never printed (`togglsync api`, error lines
# and the --debug log go through `redact`). Migrations 0004 and 0006 applied the rule
# to databases written before it (spelled out there: migrations do not import us).
# Top-level keys only; not "*password*": GET /me has a harmless boolean `has_password`.
_SECRET_NAMES = frozenset({"api_token", "api_key", "apikey", "password"})
REDACTED = "********"


@functools.lru_cache(maxsize=4096)  # a record's keys repeat; a hostile server's cannot grow it
def is_secret_field(key: str) -> bool:
    name = key.lower()
    return name in _SECRET_NAMES or "token" in name


def without_secrets(record: dict[str, Any]) -> dict[str, Any]:
    """The record without its secret keys (the same object when it has none)."""
    if not _holds_secret(tuple(record)):
        return record
    return {k: v for k, v in record.items() if not is_secret_field(k)}


@functools.lru_cache(maxsize=256)
def _holds_secret(keys: tuple[str, ...]) -> bool:
    """Whether a record's keys, in order, hold a secret one: the records of a kind share their
    keys (100,000 entries of a cold sync, one shape), so each shape is looked at once."""
    return any(map(is_secret_field, keys))


# `"<key>": "<value>"` in JSON text (an error quoting a body, a logged line).
_JSON_PAIR = r'"(?P<key>[^"\\]{1,64})"\s*:\s*"(?P<value>(?:[^"\\]|\\.)*)"'  # compiled on first use


def _blank(text: str, secret: str) -> str:
    """`text` without `secret`, nor any start of it of 16 characters or more (a quote cut short: `_short`)."""
    if len(secret) < 16:
        return text.replace(secret, REDACTED)
    head, parts, i = secret[:16], [], 0
    while (j := text.find(head, i)) >= 0:
        k = j + len(head)
        while k < len(text) and k - j < len(secret) and text[k] == secret[k - j]:
            k += 1
        parts += [text[i:j], REDACTED]
        i = k
    return "".join(parts) + text[i:]


def redact(text: str, secrets: Iterable[object] = ()) -> str:
    """Text with every given secret value, and the value of every secret key it quotes as JSON, blanked.
    (A value that is not text, a number typed into the config file, is blanked as its text.)"""
    for secret in secrets:
        if secret:
            text = _blank(text, str(secret))
    if '"' not in text:
        return text
    return re.sub(
        _JSON_PAIR,
        lambda m: f'"{m["key"]}": "{REDACTED}"' if is_secret_field(m["key"]) else m[0], text
    )


# Lists `GET /me?with_related_data=true` embeds; not part of the account row's raw JSON.
_RELATED = frozenset({"clients", "projects", "tags", "tasks", "time_entries", "workspaces"})


# --- state, diffs, bodies ----------------------------------------------------------------------

TIME_FIELDS = ("start", "stop", "duration")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_ts(value)
    if isinstance(value, (list, tuple)):
        return sorted(value)
    return value


def state_of(kind: str, row: Mapping[str, Any]) -> State:
    """The editable fields of a table row (or a row built from an API record)."""
    return {f: _jsonable(row.get(f)) for f in spec(kind).editable}


def changed_fields(base: Mapping[str, Any], current: Mapping[str, Any]) -> State:
    """The fields whose value differs from the base, with their current value."""
    return {f: v for f, v in current.items() if base.get(f) != v}


def from_state(state: Mapping[str, Any]) -> Row:
    """State values -> row values (ISO text -> aware datetimes)."""
    out = dict(state)
    for key in ("start", "stop"):
        if key in out:
            out[key] = parse_ts(out[key])
    return out


def overtaken(
    running: Iterable[Mapping[str, Any]], *, starting: datetime | None = None
) -> dict[int, dict[str, Any]]:
    """One timer runs per user, and the later start wins: of these running entries (id,
    start), every one but the latest-started stops where the next one started (a timer
    started after it, anywhere, would have stopped it then). `starting`: a timer about to
    start then, after all of them, which overtakes the latest. Returns the new `stop` and
    `duration` of each entry that stops, by id.

    Toggl keeps one running entry too, but stops the old one when the create of the new
    one arrives, at its clock: for a timer started offline that is sync time, and the
    overlap would count twice. The timer (`timer.start`), the pull and the reconciliation
    of creates (through `rows.stop_overtaken`) apply this rule, so Toggl hears each stop
    as an ordinary edit. Equal starts: the entry Toggl has keeps running (the other becomes
    a zero-length entry and costs no request), else the one created last.
    """
    ordered = sorted(running, key=lambda e: (e["start"], e["id"] > 0, abs(e["id"])))
    stops = [later["start"] for later in ordered[1:]] + ([starting] if starting is not None else [])
    return {
        entry["id"]: {"stop": stop, "duration": int((stop - entry["start"]).total_seconds())}
        for entry, stop in zip(ordered, stops)
    }


def entry_body(state: Mapping[str, Any]) -> dict[str, Any]:
    """Request body fields for a time entry state (or part of one)."""
    body = dict(state)
    if "duration" in body and body["duration"] is not None and body["duration"] < 0:
        body["duration"] = -1
        body.pop("stop", None)
    return body


def create_body(kind: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """What a create sends for a row made offline."""
    state = state_of(kind, row)
    if kind == Kind.TIME_ENTRY:
        body = {k: v for k, v in entry_body(state).items() if v is not None}
        body["workspace_id"] = row["workspace_id"]
        body.setdefault("billable", False)
        return body
    if kind == Kind.CLIENT:
        state.pop("archived", None)  # a new client is active; archiving is its own request
    return {k: v for k, v in state.items() if v is not None}


def tag_changes(base: Mapping[str, Any], current: Mapping[str, Any]) -> tuple[list[int], list[int]]:
    """The tag ids an edit added and removed relative to its base: what Toggl must hear, not the
    whole list, so a tag another device added meanwhile survives (issue 10, case 6)."""
    before, after = set(base.get("tag_ids") or ()), set(current.get("tag_ids") or ())
    return sorted(after - before), sorted(before - after)


def _absolute_fields(kind: str, row: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The changed fields sent as values (tags aside); an entry's times always as a consistent group."""
    body = {k: v for k, v in changes.items() if not (kind == Kind.TIME_ENTRY and k == "tag_ids")}
    if kind == Kind.TIME_ENTRY and set(TIME_FIELDS) & set(body):
        # Absolute times: a stop recorded offline reaches Toggl as that time,
        # not as the moment of the push.
        state = state_of(kind, row)
        body["start"] = state["start"]
        if state["duration"] is not None and state["duration"] < 0:
            body["duration"] = -1
            body.pop("stop", None)
        else:
            body["stop"] = state["stop"]
            body["duration"] = state["duration"]
    return body


def update_body(
    kind: str, row: Mapping[str, Any], changes: Mapping[str, Any], base: Mapping[str, Any]
) -> dict[str, Any] | None:
    """What an update sends as one PUT: the changed fields; an entry's tags as `tag_action`
    additions or removals relative to `base`. None when one PUT cannot say it (tags both
    added and removed): `update_patch` says it in one request then."""
    body = _absolute_fields(kind, row, changes)
    if kind != Kind.TIME_ENTRY or "tag_ids" not in changes:
        return body
    added, removed = tag_changes(base, changes)
    if added and removed:
        return None
    if added or removed:
        body["tag_ids"] = added or removed
        body["tag_action"] = "add" if added else "delete"
    return body


def update_patch(
    kind: str, row: Mapping[str, Any], changes: Mapping[str, Any], base: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The same update as JSON-Patch operations (the bulk PATCH, also for one id): each changed
    field replaced, an entry's tags added and removed relative to `base`."""
    ops = [{"op": "replace", "path": f"/{k}", "value": v} for k, v in _absolute_fields(kind, row, changes).items()]
    if kind == Kind.TIME_ENTRY and "tag_ids" in changes:
        added, removed = tag_changes(base, changes)
        if added:
            ops.append({"op": "add", "path": "/tag_ids", "value": added})
        if removed:
            ops.append({"op": "remove", "path": "/tag_ids", "value": removed})
    return ops


def fingerprint_of(kind: str, row: Mapping[str, Any], *, after_id: int | None = None) -> dict[str, Any]:
    """What identifies a create among the server's records when its answer was lost.

    `sent` is the state it sends; `after_id` the highest Toggl id of its kind
    known here when it was sent: Toggl's ids grow, so a record with an id at
    or below it existed before the create and cannot be its result (a
    look-alike pushed earlier). An entry also names its user.
    """
    state = state_of(kind, row)
    found: dict[str, Any] = {"workspace_id": row["workspace_id"], "sent": state, "after_id": after_id}
    if kind == Kind.TIME_ENTRY:
        found.update(start=state["start"], description=state["description"], duration=state["duration"])
        found["user_id"] = row.get("user_id")
    else:
        found["name"] = row["name"]
    return found


# --- which server record a create made -----------------------------------------------------------


class Match(StrEnum):
    EXACT = "exact"  # every field the create sent: this is the record it made
    NEAR = "near"  # made after it, and like it: ours changed elsewhere, or someone else's look-alike
    NONE = "none"


def create_match(kind: str, fingerprint: Mapping[str, Any], row: Mapping[str, Any]) -> Match:
    """How a server record (as a row; deleted ones included) relates to a create whose answer was lost.

    Only records that cannot be older than the create are asked about (the
    caller filters by id: Toggl's ids grow). EXACT needs every field the
    create sent, compared the way Toggl stores them (text trimmed and in NFC,
    names ignoring case; a timer we sent running may have been stopped since,
    starting a timer elsewhere stops it). NEAR is a record made since that
    shares what another device leaves alone more often than not: an entry's
    start or description, a record's name, or everything but the name.
    """
    if row.get("workspace_id") != fingerprint.get("workspace_id"):
        return Match.NONE
    sent = fingerprint.get("sent") or {}
    mine = fingerprint.get("user_id")
    if mine is not None and row.get("user_id") not in (None, mine):
        return Match.NONE  # another member's entry
    theirs = state_of(kind, row)
    left_to_toggl = {f for f in spec(kind).defaulted if sent.get(f) is None}
    differ = {f for f in sent if f not in left_to_toggl and not same_value(f, sent[f], theirs.get(f))}
    if kind == Kind.TIME_ENTRY:
        sent_running = (sent.get("duration") or 0) < 0
        if sent_running and (theirs.get("duration") or 0) >= 0:
            differ -= {"stop", "duration"}  # stopped since, by Toggl or by hand
        if not sent_running and (theirs.get("duration") or 0) < 0:
            return Match.NONE  # a stopped entry we sent never comes back running
        if not differ:
            return Match.EXACT
        return Match.NEAR if not {"start", "description"} <= differ else Match.NONE
    if not differ:
        return Match.EXACT
    return Match.NEAR if differ <= {"name"} or "name" not in differ else Match.NONE


def describe(kind: str, row: Mapping[str, Any] | None, tz: tzinfo | None = None) -> str:
    """One line naming a record for people: an entry's description and start (in `tz`, the
    display zone, when given), else its name."""
    source = row or {}
    if kind == Kind.TIME_ENTRY:
        text = source.get("description") or "(no description)"
        start = source.get("start")
        if isinstance(start, str):
            start = parse_ts(start) or start
        if isinstance(start, datetime):
            if tz is not None and start.tzinfo is not None:
                start = start.astimezone(tz)
            start = start.strftime("%Y-%m-%d %H:%M")
        return f"{text} @ {start}" if start else str(text)
    return str(source.get("name") or "")


_BUILDERS: dict[Kind, Callable[[dict[str, Any]], Row]] = {
    Kind.TIME_ENTRY: entry_row,
    Kind.PROJECT: project_row,
    Kind.CLIENT: client_row,
    Kind.TAG: tag_row,
    Kind.WORKSPACE: workspace_row,
}


def to_row(kind: str, record: dict[str, Any]) -> Row:
    """A record as the API sends it -> our table row (a BadResponse when malformed)."""
    return _BUILDERS[Kind(kind)](record)


def row_builder(kind: str) -> Callable[[dict[str, Any]], Row]:
    """The function that turns this kind's API records into rows (see `to_row`)."""
    return _BUILDERS[Kind(kind)]
