"""Convenience views for everyday SQL (`entries`, `daily_totals`) and the time-zone table they use.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 09:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The offset in force at an entry's start, in the display time zone (UTC if unknown).
_OFFSET = (
    "COALESCE((SELECT o.offset_seconds FROM tz_offsets o WHERE o.utc_from <= e.start "
    "ORDER BY o.utc_from DESC LIMIT 1), 0)"
)

ENTRIES_VIEW = f"""
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
    date(e.start, {_OFFSET} || ' seconds') AS local_date,
    e.id < 0 AS unsynced
FROM time_entries e
LEFT JOIN workspaces w ON w.id = e.workspace_id
LEFT JOIN projects p ON p.id = e.project_id
LEFT JOIN clients c ON c.id = p.client_id
"""

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


# The same views in PostgreSQL's SQL (timestamps are the same UTC text; `to_char` writes what
# SQLite's datetime() and date() write).
_PG_OFFSET = _OFFSET
_PG_LOCAL = f"(CAST(e.start AS timestamp) + make_interval(secs => {_PG_OFFSET}))"

PG_ENTRIES_VIEW = f"""
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
    (SELECT string_agg(t.name, ', ' ORDER BY t.name) FROM time_entry_tags et JOIN tags t ON t.id = et.tag_id
        WHERE et.time_entry_id = e.id) AS tags,
    e.start,
    e.stop,
    CASE WHEN e.duration < 0
         THEN CAST(floor(extract(epoch FROM now())) AS bigint)
              - CAST(floor(extract(epoch FROM CAST(e.start AS timestamp))) AS bigint)
         ELSE e.duration END AS duration,
    e.duration < 0 AS running,
    e.billable,
    to_char({_PG_LOCAL}, 'YYYY-MM-DD HH24:MI:SS') AS local_start,
    to_char({_PG_LOCAL}, 'YYYY-MM-DD') AS local_date,
    e.id < 0 AS unsynced
FROM time_entries e
LEFT JOIN workspaces w ON w.id = e.workspace_id
LEFT JOIN projects p ON p.id = e.project_id
LEFT JOIN clients c ON c.id = p.client_id
"""


def upgrade() -> None:
    op.create_table(
        "tz_offsets",
        sa.Column("utc_from", sa.Text(), nullable=False),
        sa.Column("utc_to", sa.Text(), nullable=False),
        sa.Column("offset_seconds", sa.Integer(), nullable=False),
        sa.Column("zone", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("utc_from", name=op.f("pk_tz_offsets")),
    )
    op.execute(ENTRIES_VIEW if op.get_context().dialect.name == "sqlite" else PG_ENTRIES_VIEW)
    op.execute(DAILY_TOTALS_VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW daily_totals")
    op.execute("DROP VIEW entries")
    op.drop_table("tz_offsets")
