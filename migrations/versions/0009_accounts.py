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
batch mode rebuilds the two small tables whose primary key grows).
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


def downgrade() -> None:
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
