"""Outbox of pending local operations, and the conflicts table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 09:13:29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pending_operations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.Text(), server_default=sa.text("'queued'"), nullable=False),
        sa.Column("base", sa.Text(), nullable=True),
        sa.Column("fingerprint", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Text(), nullable=False),
        sa.CheckConstraint("action IN ('create', 'update', 'delete')", name=op.f("ck_pending_operations_action")),
        sa.CheckConstraint("state IN ('queued', 'in_flight', 'failed')", name=op.f("ck_pending_operations_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_operations")),
        # AUTOINCREMENT: operation ids are never reused, so they order edits
        # and can name temporary record ids without collisions.
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("pending_operations") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pending_operations_resource_record_id"), ["resource", "record_id"], unique=False
        )

    op.create_table(
        "conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("field", sa.Text(), nullable=True),
        sa.Column("base_value", sa.Text(), nullable=True),
        sa.Column("local_value", sa.Text(), nullable=True),
        sa.Column("remote_value", sa.Text(), nullable=True),
        sa.Column("kept", sa.Text(), nullable=True),
        sa.Column("detected_at", sa.Text(), nullable=False),
        sa.Column("resolved_at", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conflicts")),
    )


def downgrade() -> None:
    op.drop_table("conflicts")
    with op.batch_alter_table("pending_operations") as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_operations_resource_record_id"))
    op.drop_table("pending_operations")
