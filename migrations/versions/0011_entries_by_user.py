"""An index on time entries by user and start: several accounts in one database.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 16:00:00

With several accounts in one database (a team: 20 members of 20,000 entries
each), most questions are one user's entries in a range of starts: a full
re-sync's deletions by absence read one account's own entries in its 89-day
window (`Puller._own_entries`: `user_id = ?` and `start` in the window), and
`log`/`report --account NAME` one user's range. Through the index on `start`
alone both walk every member's entries in the range (twenty times the rows);
through `(user_id, start)` only that user's. `report --by user` over a range
reads it too (grouped by user, in index order) where the planner prefers it.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_time_entries_user_id_start", "time_entries", ["user_id", "start"])


def downgrade() -> None:
    op.drop_index("ix_time_entries_user_id_start", table_name="time_entries")
