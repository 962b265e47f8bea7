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

from togglsync import records
from togglsync.records import TIME_FIELDS, parse_ts, references_pending

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


def beyond_since_reach(moment: datetime, server_time: datetime | None, history_days: int = HISTORY_DAYS) -> bool:
    """Whether `moment` lies further back than a `since` may reach (four days of margin).

    Judged by the server's clock only: without one yet, ask, and let a server
    that finds it too old say so (400)."""
    return server_time is not None and server_time - moment > timedelta(days=history_days - 4)


class PullStart(StrEnum):
    """What a pull fetches before the entries."""

    CATALOG = "catalog"  # the catalog snapshot, and the workspace members after it
    USERS = "users"  # only the members an earlier run stored no answer for
    NOTHING = "nothing"


def pull_start(catalog_at: datetime | None, *, force_catalog: bool, users_due: bool) -> PullStart:
    """The first sync (or `sync --full`) reads the catalog first, so entries find their projects
    and tags; a run stopped (budget, quota) after the catalog and before the members fetches them
    first, or a tight budget never gets there."""
    if catalog_at is None or force_catalog:
        return PullStart.CATALOG
    if users_due:
        return PullStart.USERS
    return PullStart.NOTHING


def needs_resync(cursor: datetime | None, server_time: datetime | None, history_days: int = HISTORY_DAYS) -> bool:
    """Entries must be read whole (the re-sync window), not by `since`: never pulled, or the
    cursor lies beyond `since`'s reach (judged by the server's clock, see beyond_since_reach)."""
    return cursor is None or beyond_since_reach(cursor, server_time, history_days)


def another_account(stored: int | None, seen: Iterable[Any]) -> int | None:
    """The user id, among those an answer carries, that is not the account the database holds
    (None: all are, or the database holds no account yet). One database holds one account."""
    if stored is None:
        return None
    # Only whole numbers are ids; anything else is a malformed answer, which validation refuses.
    return next((u for u in seen if isinstance(u, int) and not isinstance(u, bool) and u != stored), None)


UNKNOWN_REFS_REASON = "entries reference unknown projects or tags"
PARKED_REFS_REASON = "parked edits name projects, clients or tags that may be gone"
PENDING_EDITS_REASON = "catalog edits to push: look for changes made elsewhere first"


@dataclass(frozen=True)
class CatalogDecision:
    refresh: bool
    reason: str

    @property
    def users_too(self) -> bool:
        """A full refresh (first sync, age) fetches the workspace members as well."""
        return self.refresh and self.reason not in (UNKNOWN_REFS_REASON, PARKED_REFS_REASON, PENDING_EDITS_REASON)


def catalog_decision(
    last_refresh: datetime | None,
    server_now: datetime | None,
    max_age: timedelta,
    unknown_refs: bool = False,
    parked_refs: bool = False,
    pending_edits: bool = False,
) -> CatalogDecision:
    """Refresh the catalog (me, workspaces, clients, projects, tags, users) or not.

    `parked_refs`: a parked operation is due and waits for a refresh (`parked_step`).
    `pending_edits`: a change of a catalog record (a rename, a delete) waits to be
    pushed. The snapshot is the only place a change made elsewhere since the last
    one shows (a PUT overwrites it without a word), so it is looked at first: the
    merge then records the value that loses as a conflict. One request, paid only
    by syncs that push a catalog edit. Only the first sync and the age-based
    refresh fetch the workspace members too (`users_too`)."""
    if last_refresh is None:
        return CatalogDecision(True, "first sync")
    if unknown_refs:
        return CatalogDecision(True, UNKNOWN_REFS_REASON)
    if pending_edits:
        return CatalogDecision(True, PENDING_EDITS_REASON)
    if server_now is not None and server_now - last_refresh >= max_age:
        return CatalogDecision(True, "catalog older than the maximum age")
    if parked_refs:
        return CatalogDecision(True, PARKED_REFS_REASON)
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


# --- the push: what to do with one operation ------------------------------------------------------

# A create younger than this (server clock) may not be visible in a pull yet:
# wait before concluding that it did not land.
# Toggl documents no bound on its eventual consistency: five minutes is far above
# what is observed, and a create that did not land still goes on the next
# scheduled run (every 15 minutes by default).
VISIBILITY_MARGIN = timedelta(minutes=5)


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
    ADOPT = "adopt"  # one server record is the one it made
    WAIT = "wait"  # cannot tell yet
    RESEND = "resend"  # it did not land: queue it again
    ASK = "ask"  # several records, or records it may have become: the user decides


def in_flight_verdict(
    exact: int, near: int = 0, *, sent_at: datetime | None, now: datetime, adopt_only: bool = False,
    margin: timedelta = VISIBILITY_MARGIN,
) -> Verdict:
    """What reconciliation concludes about a create in flight from the server records like it.

    `exact`/`near` count the candidates (`create_match`); `now` is the
    server's clock. No record proves "did not land" only once the send is
    older than `margin` (before that it may not be visible yet) and only after
    a complete pull (`adopt_only` after a partial one). A near record is never
    adopted and never ignored: sending again could duplicate our own record
    edited elsewhere, adopting could take someone else's.
    """
    if exact == 1:
        return Verdict.ADOPT
    if adopt_only:
        return Verdict.WAIT
    if exact > 1:
        return Verdict.ASK
    if sent_at is not None and now - sent_at < margin:
        return Verdict.WAIT
    return Verdict.ASK if near else Verdict.RESEND


# --- parked operations: when a refused operation goes again on its own ----------------------------

# The wait after a refusal, doubling with every send (`attempts`), capped: a permanently
# refused edit costs a handful of requests a day, never one per sync.
PARKED_FIRST_WAIT = timedelta(minutes=5)
PARKED_MAX_WAIT = timedelta(hours=4)
# The server refused this one request (it will not succeed as sent): the push parks the operation
# and goes on. 401, 402, 429 and 5xx are not here: they stop the push with the queue intact.
REFUSED = frozenset({400, 403, 404, 409, 410, 422})


def refusal(status: int, message: str) -> str:
    """The `error` a refused operation is parked with: Toggl's status, then its message."""
    return f"{status}: {message}"


def refusal_status(error: str | None) -> int | None:
    """The HTTP status of a refusal (`refusal`); None for anything else (an undecided create)."""
    head, sep, _ = (error or "").partition(":")
    return int(head) if sep and head.isdigit() else None


def parked_wait(attempts: int) -> timedelta:
    """How long an operation parked after `attempts` sends waits before it goes again on its own."""
    doublings = min(max(attempts, 1) - 1, 16)
    return min(PARKED_FIRST_WAIT * (1 << doublings), PARKED_MAX_WAIT)


class Parked(StrEnum):
    WAIT = "wait"  # not yet (or never on its own: the user decides)
    REFRESH = "refresh"  # due, but a record it names may be gone: refresh the catalog, then retry
    RETRY = "retry"  # due: queue it again now


def parked_step(
    *, error: str | None, attempts: int, parked_at: datetime, now: datetime, catalog_at: datetime | None,
    references: bool,
) -> Parked:
    """What the sync does with one parked (refused) operation now.

    Only a refusal (a 4xx status in `error`) goes again on its own; an undecided
    create waits for the user. It waits `parked_wait(attempts)` from when it
    was parked (a stamp in the future, after our clock went back, is not
    trusted: due). One whose row names a project, client or tag may have been
    refused for a record deleted on Toggl: it goes once a catalog refresh
    newer than its parking (`catalog_at`, same clock) has detached what is
    gone, and asks for one if there was none. Both clocks are ours (local).
    """
    if refusal_status(error) not in REFUSED:
        return Parked.WAIT
    if parked_at <= now < parked_at + parked_wait(attempts):
        return Parked.WAIT
    if references and (catalog_at is None or catalog_at < parked_at):
        return Parked.REFRESH
    return Parked.RETRY
