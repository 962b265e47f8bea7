"""Several Toggl accounts in one database: each has its own cursors, quota state and pending operations.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 13:00:00

`accounts` names each account synced into this database and binds the name to
its Toggl user once the first answer says who it is (`user_id`, unique: one
name per Toggl user). `account_workspaces` records which workspaces each
account's last catalog snapshot listed: deletions by absence stay inside them.
`sync_cursors`, `quota_state`, `history_ranges` and `pending_operations` gain
`account` (the first three have it in their primary key: each account pulls,
spends its quota and reaches back in its history on its own).

A database from before belongs to the implicit account `main` (the one the
top-level credentials sync): its Toggl user, its cursors, its quota, its
history, its pending operations and its workspaces. Portable operations only
(on SQLite, batch mode rebuilds the three small tables whose primary key
grows; elsewhere the key is dropped and made again), but for the `entries`
view, recreated as 0008 wrote it in each dialect's SQL with three columns more
at its end: `user_id`, `user` (who tracked it) and `account` (the account of
this database synced as them); `daily_totals`, which reads it, is made again
unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IMPLICIT = "main"  # togglsync.accounts.IMPLICIT, spelled out: a migration stays as it was written

_OFFSET = (
    "COALESCE((SELECT o.offset_seconds FROM tz_offsets o WHERE o.utc_from <= e.start "
    "ORDER BY o.utc_from DESC LIMIT 1), 0)"
)
# Who tracked it (issue 15: several accounts in one database), as the view's last columns:
# the Toggl user, their name (GET /me of a synced account, else the workspace's member list),
# and the account of this database synced as them.
_WHO = """,
    e.user_id,
    COALESCE(
        (SELECT COALESCE(u.fullname, u.email) FROM account u WHERE u.id = e.user_id),
        (SELECT COALESCE(wu.fullname, wu.email) FROM workspace_users wu
         WHERE wu.workspace_id = e.workspace_id AND wu.user_id = e.user_id)) AS "user",
    (SELECT s.name FROM accounts s WHERE s.user_id = e.user_id) AS account"""
# (Scalar subqueries, not joins: a query that does not read these columns, like Datasette's
# facet counts over 100,000 entries, pays nothing for them.)


def _sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


# 0008's local time in PostgreSQL's SQL (timestamps are the same UTC text).
_PG_LOCAL = f"(CAST(e.start AS timestamp) + make_interval(secs => {_OFFSET}))"


def _entries_view(who: bool) -> str:
    """0008's `entries` view in this dialect's SQL; with `who`, three columns more at the end."""
    if _sqlite():
        tags = """(SELECT group_concat(name, ', ') FROM (
        SELECT t.name FROM time_entry_tags et JOIN tags t ON t.id = et.tag_id
        WHERE et.time_entry_id = e.id ORDER BY t.name))"""
        duration = "CAST(strftime('%s', 'now') AS INTEGER) - CAST(strftime('%s', e.start) AS INTEGER)"
        local_start = f"datetime(e.start, {_OFFSET} || ' seconds')"
    else:
        tags = """(SELECT string_agg(t.name, ', ' ORDER BY t.name) FROM time_entry_tags et JOIN tags t ON t.id = et.tag_id
        WHERE et.time_entry_id = e.id)"""
        duration = """CAST(floor(extract(epoch FROM now())) AS bigint)
              - CAST(floor(extract(epoch FROM CAST(e.start AS timestamp))) AS bigint)"""
        local_start = f"to_char({_PG_LOCAL}, 'YYYY-MM-DD HH24:MI:SS')"
    return f"""
CREATE VIEW entries AS
SELECT
    e.id,
    e.workspace_id,
    w.name AS workspace,
    e.description,
    e.project_id,
    p.name AS project,
    p.client_id,
    c.name AS client,
    {tags} AS tags,
    e.start,
    e.stop,
    CASE WHEN e.duration < 0
         THEN {duration}
         ELSE e.duration END AS duration,
    e.duration < 0 AS running,
    e.billable,
    {local_start} AS local_start,
    e.local_date AS local_date,
    e.id < 0 AS unsynced{_WHO if who else ""}
FROM time_entries e
LEFT JOIN workspaces w ON w.id = e.workspace_id
LEFT JOIN projects p ON p.id = e.project_id
LEFT JOIN clients c ON c.id = p.client_id
"""


# 0008's, unchanged: it reads `entries`, so it is dropped and made again with it.
DAILY_TOTALS_VIEW = """
CREATE VIEW daily_totals AS
SELECT
    local_date AS date,
    count(*) AS entries,
    sum(duration) AS seconds,
    round(sum(duration) / 3600.0, 2) AS hours,
    sum(CASE WHEN billable THEN duration ELSE 0 END) AS billable_seconds
FROM entries
GROUP BY local_date
"""


def _replace_views(who: bool) -> None:
    op.execute("DROP VIEW daily_totals")
    op.execute("DROP VIEW entries")
    op.execute(_entries_view(who))
    op.execute(DAILY_TOTALS_VIEW)


# The tables whose primary key gains `account` in front, with the key they had.
_KEYED = (("sync_cursors", ["resource"]), ("quota_state", ["pool"]),
          ("history_ranges", ["workspace_id", "scope", "range_start"]))


def _grow_key(table: str, column: sa.Column, key: list[str]) -> None:
    if _sqlite():
        with op.batch_alter_table(table, recreate="always") as batch:
            batch.add_column(column)
            batch.drop_constraint(f"pk_{table}", type_="primary")
            batch.create_primary_key(f"pk_{table}", key)
        return
    op.add_column(table, column)
    op.drop_constraint(f"pk_{table}", table, type_="primary")
    op.create_primary_key(f"pk_{table}", table, key)


def _shrink_key(table: str, key: list[str]) -> None:
    if _sqlite():
        with op.batch_alter_table(table, recreate="always") as batch:
            batch.drop_constraint(f"pk_{table}", type_="primary")
            batch.create_primary_key(f"pk_{table}", key)
            batch.drop_column("account")
        return
    op.drop_constraint(f"pk_{table}", table, type_="primary")
    op.create_primary_key(f"pk_{table}", table, key)
    op.drop_column(table, "account")


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("added_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_accounts")),
        sa.UniqueConstraint("user_id", name=op.f("uq_accounts_user_id")),
    )
    op.create_table(
        "account_workspaces",
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account", "workspace_id", name=op.f("pk_account_workspaces")),
    )
    default = sa.text(f"'{IMPLICIT}'")
    for table, key in _KEYED:
        _grow_key(table, sa.Column("account", sa.Text(), server_default=default, nullable=False), ["account", *key])
    op.add_column("pending_operations", sa.Column("account", sa.Text(), server_default=default, nullable=False))
    op.create_index(op.f("ix_pending_operations_account_state"), "pending_operations", ["account", "state"])
    # What was synced so far is the implicit account's.
    op.execute(
        f"INSERT INTO accounts (name, user_id, added_at) SELECT '{IMPLICIT}', id, synced_at FROM account "
        "WHERE id = (SELECT min(id) FROM account)"
    )
    op.execute(f"INSERT INTO account_workspaces (account, workspace_id) SELECT '{IMPLICIT}', id FROM workspaces")
    _replace_views(who=True)


def downgrade() -> None:
    _replace_views(who=False)
    op.drop_index(op.f("ix_pending_operations_account_state"), "pending_operations")
    # A plain DROP COLUMN (SQLite 3.35+ has it), as 0009's downgrade does.
    op.drop_column("pending_operations", "account")
    for table, key in _KEYED:
        op.execute(f"DELETE FROM {table} WHERE account <> '{IMPLICIT}'")
        _shrink_key(table, key)
    op.drop_table("account_workspaces")
    op.drop_table("accounts")
