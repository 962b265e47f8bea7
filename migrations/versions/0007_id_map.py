"""Where a record created offline went: its temporary id -> its Toggl id.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 11:00:00

A record made offline is `L5` (id -5) until its create is pushed; then every
table holds its Toggl id and `L5` named nothing any more: `rm L5`, copied
from an earlier `log`, said "no time entry L5". `rows.rewrite_id` records the
pair here when it replaces the id, and `lookup` reads it, so `L5` keeps naming
the record ("L5 was pushed; it is now 4100000502"). Temporary ids are minus an
operation's id, and operation ids are never reused: a local id maps to one
record for good.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "id_map",
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("local_id", sa.BigInteger(), nullable=False),
        sa.Column("toggl_id", sa.BigInteger(), nullable=False),
        sa.Column("pushed_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "local_id", name=op.f("pk_id_map")),
    )


def downgrade() -> None:
    op.drop_table("id_map")
