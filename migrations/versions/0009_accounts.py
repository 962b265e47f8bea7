"""Several Toggl accounts in one database: each has its own cursors, quota state and pending operations.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 13:00:00

`accounts` names each account synced into this database and binds the name to
its Toggl user once the first answer says who it is (`user_id`, unique: one
name per Toggl user). `account_workspaces` records which workspaces each
account's last catalog snapshot listed: deletions by absence stay inside them.
`sync_cursors`, `quota_state` and `pending_operations` gain `account`.

A database from before belongs to the implicit account `main` (the one the
top-level credentials sync): its Toggl user, its cursors, its quota, its
pending operations and its workspaces. Portable operations only (SQLite's
batch mode rebuilds the two small tables whose primary key grows), but for the
`entries` view, recreated as 0008 wrote it (SQLite's date functions) with
three columns more at its end: `user_id`, `user` (who tracked it) and
`account` (the account of this database synced as them); `daily_totals`,
which reads it, is made again unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
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
         WHERE wu.workspace_id = e.workspace_id AND wu.user_id = e.user_id)) AS user,
    (SELECT s.name FROM accounts s WHERE s.user_id = e.user_id) AS account"""
# (Scalar subqueries, not joins: a query that does not read these columns, like Datasette's
# facet counts over 100,000 entries, pays nothing for them.)


def _entries_view(who: bool) -> str:
    """0008's `entries` view; with `who`, three columns more at the end."""
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
    (SELECT group_concat(name, ', ') FROM (
        SELECT t.name FROM time_entry_tags et JOIN tags t ON t.id = et.tag_id
        WHERE et.time_entry_id = e.id ORDER BY t.name)) AS tags,
    e.start,
    e.stop,
    CASE WHEN e.duration < 0
         THEN CAST(strftime('%s', 'now') AS INTEGER) - CAST(strftime('%s', e.start) AS INTEGER)
         ELSE e.duration END AS duration,
    e.duration < 0 AS running,
    e.billable,
    datetime(e.start, {_OFFSET} || ' seconds') AS local_start,
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
    for table, key in (("sync_cursors", "resource"), ("quota_state", "pool")):
        with op.batch_alter_table(table, recreate="always") as batch:
            batch.add_column(sa.Column("account", sa.Text(), server_default=default, nullable=False))
            batch.drop_constraint(f"pk_{table}", type_="primary")
            batch.create_primary_key(f"pk_{table}", ["account", key])
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
    with op.batch_alter_table("pending_operations") as batch:
        batch.drop_column("account")
    for table, key in (("sync_cursors", "resource"), ("quota_state", "pool")):
        op.execute(f"DELETE FROM {table} WHERE account <> '{IMPLICIT}'")
        with op.batch_alter_table(table, recreate="always") as batch:
            batch.drop_constraint(f"pk_{table}", type_="primary")
            batch.create_primary_key(f"pk_{table}", [key])
            batch.drop_column("account")
    op.drop_table("account_workspaces")
    op.drop_table("accounts")
