"""Pure sync decisions: cursors, what to fetch, the three-way merge, which server record a create made.

No HTTP and no database here (imports neither `api` nor `db`), so every rule
can be tested with plain dicts. What a record is (rows, states, bodies) is
`togglsync.records`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from togglsync.records import TIME_FIELDS, entry_row, format_ts, parse_ts, references_pending

# The API is eventually consistent: re-read this much before the cursor.
CURSOR_OVERLAP = timedelta(minutes=2)
# /me/time_entries rejects start dates older than about 3 months; stay inside.
HISTORY_DAYS = 89
# How far ahead a full re-sync reaches: entries planned for the coming year
# (Toggl documents no limit; a server that refuses it is asked up to tomorrow).
FUTURE_REACH = timedelta(days=366)


def next_cursor(previous: datetime | None, records: Iterable[dict[str, Any]], server_time: datetime | None) -> datetime | None:
    """The server-clock watermark after a pull: the newest `at` seen, or the response's Date.

    Never moves backwards. The local clock is never consulted.
    """
    parsed = [parse_ts(r.get("at")) for r in records]
    candidates = [c for c in parsed if c is not None]
    if server_time is not None:
        candidates.append(server_time)
    if previous is not None:
        candidates.append(previous)
    return max(candidates) if candidates else None


def since_for(cursor: datetime) -> int:
    """UNIX seconds to send as `since`, overlapping the window to survive eventual consistency."""
    return int((cursor - CURSOR_OVERLAP).timestamp())


UNKNOWN_REFS_REASON = "entries reference unknown projects or tags"
PENDING_EDITS_REASON = "catalog edits to push: look for changes made elsewhere first"


@dataclass(frozen=True)
class CatalogDecision:
    refresh: bool
    reason: str

    @property
    def with_users(self) -> bool:
        """A refresh for a reason of this sync's own (not its age) leaves the workspace members be."""
        return self.reason not in (UNKNOWN_REFS_REASON, PENDING_EDITS_REASON)


def catalog_decision(
    last_refresh: datetime | None,
    server_now: datetime | None,
    max_age: timedelta,
    unknown_refs: bool = False,
    pending_edits: bool = False,
) -> CatalogDecision:
    """Refresh the catalog (me, workspaces, clients, projects, tags, users) or not.

    `pending_edits`: a change of a catalog record (a rename, a delete) waits to be
    pushed. The snapshot is the only place a change made elsewhere since the last
    one shows (a PUT overwrites it without a word), so it is looked at first: the
    merge then records the value that loses as a conflict. One request, paid only
    by syncs that push a catalog edit."""
    if last_refresh is None:
        return CatalogDecision(True, "first sync")
    if unknown_refs:
        return CatalogDecision(True, UNKNOWN_REFS_REASON)
    if pending_edits:
        return CatalogDecision(True, PENDING_EDITS_REASON)
    if server_now is not None and server_now - last_refresh >= max_age:
        return CatalogDecision(True, "catalog older than the maximum age")
    return CatalogDecision(False, "fresh")


@dataclass(frozen=True)
class FieldConflict:
    field: str
    base: Any
    local: Any
    remote: Any
    kept: str  # "local" or "remote"


def merge3(
    base: dict[str, Any],
    local: dict[str, Any],
    remote: dict[str, Any],
    policy: str = "local",
) -> tuple[dict[str, Any], list[FieldConflict]]:
    """Three-way merge of one record's state.

    A field changed on one side only takes that side. Changed on both sides to
    the same value: no conflict. Changed differently: `policy` ("local" or
    "remote") wins and a FieldConflict says what the other side had. Tag ids
    are a set: additions and removals from both sides are combined.
    """
    merged: dict[str, Any] = {}
    conflicts: list[FieldConflict] = []
    for field in local:
        b, l, r = base.get(field), local.get(field), remote.get(field)
        if field == "tag_ids":
            b_set, l_set, r_set = set(b or []), set(l or []), set(r or [])
            merged[field] = sorted((b_set | (l_set - b_set) | (r_set - b_set)) - (b_set - l_set) - (b_set - r_set))
            continue
        if l == b:
            merged[field] = r
        elif r == b or r == l:
            merged[field] = l
        else:
            kept = "remote" if policy == "remote" else "local"
            merged[field] = r if kept == "remote" else l
            conflicts.append(FieldConflict(field, b, l, r, kept))
    # Time fields must stay consistent as a group: if the merge mixed the
    # start of one side with the stop of the other, keep the duration honest.
    if "duration" in merged and merged.get("start") and merged.get("stop"):
        start, stop = parse_ts(merged["start"]), parse_ts(merged["stop"])
        if start and stop and stop < start:
            # One side moved the start past the stop the other side set (a running
            # timer's start edited here, stopped elsewhere): a mix would have a
            # negative duration, which the table refuses. The times are one value
            # then, changed on both sides: the policy's side keeps all three, the
            # other side's are conflicts (tests/test_records.py).
            kept = "remote" if policy == "remote" else "local"
            winner = remote if kept == "remote" else local
            conflicts = [c for c in conflicts if c.field not in TIME_FIELDS]
            for f in TIME_FIELDS:
                merged[f] = winner.get(f)
                if local.get(f) != remote.get(f):
                    conflicts.append(FieldConflict(f, base.get(f), local.get(f), remote.get(f), kept))
        elif start and stop and merged["duration"] is not None and merged["duration"] >= 0:
            merged["duration"] = int((stop - start).total_seconds())
    return merged, conflicts


@dataclass(frozen=True)
class DeleteConflict:
    remote: dict[str, Any]  # the fields changed elsewhere, with their values there
    kept: str  # "local": the delete goes on; "remote": the record stays, as edited elsewhere


def edited_while_deleted(base: dict[str, Any], remote: dict[str, Any], policy: str = "local") -> DeleteConflict | None:
    """A record deleted here (`base`: its state as the server had it) shows up edited elsewhere.

    Nothing changed there: no conflict, the delete goes on. Otherwise one side's
    change is lost: under the "local" policy the delete wins, under "remote" the
    edit does (the delete is dropped); either way the conflict says what the
    other side had."""
    changed = {f: v for f, v in remote.items() if base.get(f) != v}
    if not changed:
        return None
    return DeleteConflict(changed, "remote" if policy == "remote" else "local")


def fingerprint_matches(fingerprint: dict[str, Any], record: dict[str, Any]) -> bool:
    """Is this server time entry the one a create with this fingerprint made?"""
    row = entry_row(record)
    start = format_ts(row["start"]) if row["start"] else None
    sent_running = (fingerprint.get("duration") or 0) < 0
    return (
        row["workspace_id"] == fingerprint.get("workspace_id")
        and start == fingerprint.get("start")
        and (row["description"] or "") == (fingerprint.get("description") or "")
        # A running entry we created may have been stopped by Toggl since (starting
        # a timer anywhere stops the running one): a sent timer matches a stopped
        # record too. A stopped entry we sent can never come back running.
        and (sent_running or row["duration"] >= 0)
    )


# --- the push: what to do with one operation ------------------------------------------------------

# A create younger than this (server clock) may not be visible in a pull yet:
# wait before concluding that it did not land.
VISIBILITY_MARGIN = timedelta(seconds=60)


class Step(StrEnum):
    BLOCKED = "blocked"  # waits for a reference (or its own create) to get a Toggl id
    DROP = "drop"  # nothing left to send: its record is gone here
    DROP_RECORD = "drop_record"  # a create whose record is gone: every operation of the record goes
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


def push_step(kind: str, action: str, record_id: int, row: Mapping[str, Any] | None) -> Step:
    """What the push does with one queued operation, given its record's row (None: gone here).

    A delete of a record that has no Toggl id yet waits for its create. A
    create whose row is gone was deleted here after it was requeued: Toggl never
    had the record, so nothing about it is left to send (a delete queued behind
    it under the temporary id would otherwise wait forever). An operation whose
    row points at a record without a Toggl id waits; so does an update of a
    record whose create has not finished.
    """
    temporary = record_id < 0
    if action == "delete":
        return Step.BLOCKED if temporary else Step.DELETE
    if row is None:
        return Step.DROP_RECORD if action == "create" else Step.DROP
    if references_pending(kind, row):
        return Step.BLOCKED
    if action == "create":
        return Step.CREATE
    return Step.BLOCKED if temporary else Step.UPDATE


class Verdict(StrEnum):
    ADOPT = "adopt"  # one server record matches: it is ours
    WAIT = "wait"  # cannot tell yet
    RESEND = "resend"  # it did not land: queue it again
    AMBIGUOUS = "ambiguous"  # several match: the user decides


def in_flight_verdict(
    candidates: int, *, sent_at: datetime | None, now: datetime, adopt_only: bool = False,
    margin: timedelta = VISIBILITY_MARGIN,
) -> Verdict:
    """What reconciliation concludes about a create in flight from the matching server records.

    `now` is the server's clock. No match means "did not land" only once the
    send is older than `margin` (before that the record may not be visible
    yet) and only after a complete pull (`adopt_only` after a partial one).
    """
    if candidates == 1:
        return Verdict.ADOPT
    if adopt_only:
        return Verdict.WAIT
    if candidates == 0:
        return Verdict.RESEND if sent_at is None or now - sent_at >= margin else Verdict.WAIT
    return Verdict.AMBIGUOUS
