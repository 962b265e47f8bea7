"""History from the Reports API: where each entry came from, and how far the history reaches.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 13:00:00

`togglsync history` fills the database with entries older than the regular
sync's window through the Reports API's detailed search. Its rows are ordinary
`time_entries` rows; `time_entries.source` says where a row's fields last came
from: `sync` (GET /me/time_entries, or an edit made here: every row written
before this revision) or `report` (the detailed report; `raw` holds the
report's row). `history_ranges` holds, per workspace and scope (`me`: the
user's own entries, `all`: every member's), the date ranges the history covers,
each with the paging cursor that says how far it is stored: a page and its
cursor are written in one transaction, so a history stopped anywhere resumes
where it stopped.

Only portable operations (add_column, create_table), so the revision runs on
any database alembic supports.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "time_entries",
        sa.Column("source", sa.Text(), nullable=False, server_default=sa.text("'sync'")),
    )
    op.create_table(
        "history_ranges",
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("range_start", sa.Text(), nullable=False),
        sa.Column("range_end", sa.Text(), nullable=False),
        sa.Column("next_id", sa.BigInteger(), nullable=True),
        sa.Column("next_row_number", sa.BigInteger(), nullable=True),
        sa.Column("next_timestamp", sa.BigInteger(), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("entries", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("done_at", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.Text(), nullable=False),
        sa.CheckConstraint("scope IN ('me', 'all')", name=op.f("ck_history_ranges_scope")),
        sa.PrimaryKeyConstraint("workspace_id", "scope", "range_start", name=op.f("pk_history_ranges")),
    )


def downgrade() -> None:
    op.drop_table("history_ranges")
    # A plain DROP COLUMN (SQLite 3.35+ has it): a batch copy of the table would drop
    # migration 0008's triggers and break the views that read the table.
    op.drop_column("time_entries", "source")
