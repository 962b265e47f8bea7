"""Where the sync stands, as the database says it: the cursors' names and the reads that decide
what a sync must fetch, in plain SQL on either kind of connection (`db.sql`).

The pull (`sync.pull`) and the quiet sync (`sync.quiet`, which must not import
SQLAlchemy) read them here; what follows from them is `sync.plan`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from togglsync import accounts
from togglsync.db import sql
from togglsync.db.sql import Connection
from togglsync.db.stored import timestamp_from_db

ENTRIES_CURSOR = "time_entries"
CATALOG_CURSOR = "catalog"
# Present while a full re-sync is under way (REWRITE_MARKER: `sync --full`): one that was
# interrupted between batches is done again by the next sync (see Puller.full_entry_resync).
RESYNC_MARKER = "time_entries:resync"
REWRITE_MARKER = "time_entries:rewrite"
# "workspace_users:<wid>": present once that workspace's members from the last
# full catalog refresh are stored; deleted when such a refresh stores the catalog.
USERS_CURSOR = "workspace_users"
# "all_users:<wid>": the last complete read of that workspace's recent window of every
# member's entries (`sync.window`): `since` the server's clock, `updated_at` ours (due-ness).
WINDOW_CURSOR = "all_users"


def users_due(conn: Connection, account: str = accounts.IMPLICIT) -> list[int]:
    """The account's workspaces (`accounts.workspaces`) whose members were not stored since its
    last full catalog refresh."""
    done = set(sql.column(conn, "SELECT resource FROM sync_cursors WHERE account = ? AND resource LIKE ?",
                          (account, USERS_CURSOR + ":%")))
    return [wid for wid in sorted(accounts.workspaces(conn, account)) if f"{USERS_CURSOR}:{wid}" not in done]


@dataclass(frozen=True)
class Prefetched:
    """The answer to `GET /me/time_entries?since=` that the quiet sync got and hands over to the
    whole sync (it found entries changed, or the catalog due): used instead of asking again."""

    since: datetime  # the cursor it asked from (before plan.since_for)
    entries: Any  # the answer as sent
    refused: bool  # the server refused this `since` (400): a full re-sync follows
    requests_before: int  # the client's requests_sent before it asked


def windows_read(conn: Connection, account: str) -> dict[int, datetime | None]:
    """The workspaces whose every member's entries the account may keep (`accounts.admin_of`),
    each with when its window was last read to the end (local clock; None: never)."""
    read = {str(r["resource"]): timestamp_from_db(r["updated_at"]) for r in sql.rows(
        conn, "SELECT resource, updated_at FROM sync_cursors WHERE account = ? AND resource LIKE ?",
        (account, WINDOW_CURSOR + ":%"))}
    return {wid: read.get(f"{WINDOW_CURSOR}:{wid}") for wid in sorted(accounts.admin_of(conn, account))}
