"""A partial index on running time entries.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 12:45:00

"Which timer is running?" (`status`, `start`, `stop`, every offline start)
is `WHERE duration < 0 ORDER BY start DESC LIMIT 1`. Through the index on
`start` alone, SQLite walks back through every entry when none is running:
about 0.1 s at 100,000 entries, a third of those commands' budget. The index
holds only running entries (one, as a rule), so the answer is immediate.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_time_entries_running", "time_entries", ["start"],
        sqlite_where=sa.text("duration < 0"), postgresql_where=sa.text("duration < 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_time_entries_running", table_name="time_entries")
