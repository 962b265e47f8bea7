"""Sync cursors and quota state in plain SQL, on either kind of connection (`db.sql`).

The sync's bookkeeping: `sync_cursors` (the server-clock watermark per
resource, and the markers an unfinished re-sync leaves) and `quota_state`
(the latest quota headers per pool). Plain SQL so that a sync that finds
nothing changed reads and writes them on the sqlite3 driver alone
(`sync.quiet`), without importing SQLAlchemy; the rest of the sync passes its
SQLAlchemy connections. Every function leaves the transaction to the caller.

Both are per account (`togglsync.accounts`): each function reads or writes the
rows of one account, main (`config.IMPLICIT_ACCOUNT`) unless told.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from togglsync.config import IMPLICIT_ACCOUNT
from togglsync.db import sql
from togglsync.db.sql import Connection
from togglsync.db.stored import from_utc_text, timestamp_from_db, timestamp_to_db, to_utc_text
from togglsync.errors import QuotaObservation


def set_cursor(
    conn: Connection,
    resource: str,
    since: datetime,
    *,
    full_sync_at: datetime | None = None,
    now: datetime | None = None,
    account: str = IMPLICIT_ACCOUNT,
) -> None:
    """Store the account's server-clock watermark for `resource`.

    Writes what it is given: whether a cursor may move backwards (only on a
    declared full re-sync) is the sync engine's decision. `full_sync_at`,
    when given, records that this pull was a full one; otherwise the previous
    value is kept. `now` (local clock, diagnostics only) defaults to the
    current time.
    """
    updated = to_utc_text(now or datetime.now(timezone.utc))
    if full_sync_at is None:
        sql.execute(
            conn,
            "INSERT INTO sync_cursors (account, resource, since, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (account, resource) DO UPDATE SET since = excluded.since, updated_at = excluded.updated_at",
            (account, resource, to_utc_text(since), updated),
        )
    else:
        sql.execute(
            conn,
            "INSERT INTO sync_cursors (account, resource, since, full_sync_at, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (account, resource) DO UPDATE SET since = excluded.since, "
            "full_sync_at = excluded.full_sync_at, updated_at = excluded.updated_at",
            (account, resource, to_utc_text(since), to_utc_text(full_sync_at), updated),
        )


def get_cursor(conn: Connection, resource: str, *, account: str = IMPLICIT_ACCOUNT) -> datetime | None:
    """The account's stored watermark for `resource`; None means "never pulled: do a full sync"."""
    return timestamp_from_db(sql.scalar(
        conn, "SELECT since FROM sync_cursors WHERE account = ? AND resource = ?", (account, resource)))


def cursor_stored_at(conn: Connection, resource: str, *, account: str = IMPLICIT_ACCOUNT) -> datetime | None:
    """When the account's cursor for `resource` was last stored (our clock, not the server's); None if never."""
    return timestamp_from_db(sql.scalar(
        conn, "SELECT updated_at FROM sync_cursors WHERE account = ? AND resource = ?", (account, resource)))


def cursors(conn: Connection, *, account: str = IMPLICIT_ACCOUNT) -> dict[str, datetime]:
    """Every stored watermark of the account, by resource (one query, for a sync deciding what to do)."""
    return {
        row["resource"]: from_utc_text(row["since"])
        for row in sql.rows(conn, "SELECT resource, since FROM sync_cursors WHERE account = ?", (account,))
    }


def record_quota(conn: Connection, snapshots: Iterable[QuotaObservation], *, account: str = IMPLICIT_ACCOUNT) -> None:
    """Remember the latest quota headers per pool of the account (whose credentials they were sent with).

    An observation older than the stored one is ignored, so two processes
    (or an out-of-order batch) cannot roll the state back. The rows are applied
    in order, so within one batch the newest observation of a pool wins too.
    """
    sql.executemany(
        conn,
        "INSERT INTO quota_state (account, pool, remaining, resets_at, observed_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (account, pool) DO UPDATE SET remaining = excluded.remaining, resets_at = excluded.resets_at, "
        # Text comparison is time comparison in our timestamp format.
        "observed_at = excluded.observed_at WHERE excluded.observed_at >= quota_state.observed_at",
        [
            (account, snapshot.pool, snapshot.remaining, timestamp_to_db(snapshot.resets_at), to_utc_text(snapshot.observed_at))
            for snapshot in snapshots
        ],
    )


def history_ranges(conn: Connection, scope: str, *, account: str | None = IMPLICIT_ACCOUNT) -> list[dict[str, object]]:
    """The stored ranges of `togglsync history` for one scope of the account (None: of every
    account; `history_plan.RangeState.from_row` reads them): `status` and the quiet sync ask
    whether the history is done."""
    if account is None:
        return [dict(r) for r in sql.rows(conn, "SELECT * FROM history_ranges WHERE scope = ?", (scope,))]
    return [dict(r) for r in sql.rows(
        conn, "SELECT * FROM history_ranges WHERE scope = ? AND account = ?", (scope, account))]
