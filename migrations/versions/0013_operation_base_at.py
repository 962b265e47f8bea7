"""The server's version an operation's base was taken from: `pending_operations.base_at`.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 05:00:00

An update's or delete's `base` is the record as the server had it when the edit was
made here, but not which version that was. A stale answer (a snapshot from before our
own push, an eventually consistent read) then looked like an edit made elsewhere: under
the "remote" policy it cancelled a delete made here and recorded a conflict naming the
old value (found by tests/test_sync_model.py). `base_at` is that version's `at`
(server clock); a pull bringing a version no newer is nothing new there.

Operations queued before this revision have none, and are merged as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pending_operations") as batch:
        batch.add_column(sa.Column("base_at", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pending_operations") as batch:
        batch.drop_column("base_at")
