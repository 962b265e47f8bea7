"""Each entry's local date, stored and indexed, and an `entry_tags` view: fast facets by day and tag.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 11:40:00

The `entries` view computed `local_date` for every row from `tz_offsets` (a
correlated look-up per entry): grouping 100,000 entries by it took about
0.5 s, over Datasette's 200 ms facet limit. `time_entries.local_date` now
holds it, indexed, and the view reads it: the same facet takes a few
milliseconds. The value is the entry's start in the account's time zone, as
the view said before:

* the sync's bulk upsert writes it (`db.tzoffsets.local_dates`: the same rule
  in Python, on the stored offsets);
* triggers fill it for every other writer (offline edits, a person's own
  SQL): after an insert that left it NULL, after a change of `start`;
* when the zone changes (`tz_offsets` is refilled by `db.tzoffsets.store_zone`),
  `store_zone` computes it again for every entry.

`entry_tags` names each (entry, tag) pair's tag, so counting entries by tag
is one pass over the pairs.

No foreign keys are added: Toggl references (project, client, workspace, tag
ids) legitimately point at records the catalog does not hold (a project we
cannot see, a tag made since the last catalog pull), and the engine enforces
foreign keys (PRAGMA foreign_keys=ON). Tried: foreign keys from time_entries to
projects and workspaces and from time_entry_tags to tags (batch mode, 0.6 s at
100,000 entries, views kept, but this migration's triggers dropped with the old
table) made 8 sync tests fail with "FOREIGN KEY constraint failed", among them
an entry on a project or tag the catalog does not hold yet, a tag or project
deleted remotely, a create adopted under an existing id. The views carry the
names instead (`entries`, `entry_tags`).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The offset in force at an entry's start, in the display time zone (UTC if unknown): 0003's rule.
_OFFSET = (
    "COALESCE((SELECT o.offset_seconds FROM tz_offsets o WHERE o.utc_from <= NEW.start "
    "ORDER BY o.utc_from DESC LIMIT 1), 0)"
)
_SET_LOCAL_DATE = (
    f"UPDATE time_entries SET local_date = date(NEW.start, {_OFFSET} || ' seconds') WHERE id = NEW.id;"
)

# Only when the writer did not say: the sync's bulk upsert computes the value itself
# (db.repo.upsert, db.tzoffsets.local_dates), as a trigger costs a second write of the row
# (about 30 us an entry: +50% on a cold sync of 100,000).
TRIGGERS = (
    f"""CREATE TRIGGER time_entries_local_date_insert AFTER INSERT ON time_entries
WHEN NEW.local_date IS NULL
BEGIN {_SET_LOCAL_DATE} END""",
    f"""CREATE TRIGGER time_entries_local_date_update AFTER UPDATE OF start ON time_entries
WHEN NEW.start IS NOT OLD.start
BEGIN {_SET_LOCAL_DATE} END""",
)

_VIEW_OFFSET = _OFFSET.replace("NEW.start", "e.start")

# PostgreSQL: the same rule in a trigger function (a BEFORE trigger sets the row's value: no second
# write), and the views in its SQL; timestamps are the same UTC text, `to_char` writes what SQLite's
# datetime() and date() write.
_PG_LOCAL_DATE = (
    f"to_char(CAST(NEW.start AS timestamp) + make_interval(secs => {_OFFSET}), 'YYYY-MM-DD')"
)
PG_TRIGGERS = (
    f"""CREATE FUNCTION time_entries_local_date() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.local_date := {_PG_LOCAL_DATE};
    RETURN NEW;
END $$""",
    """CREATE TRIGGER time_entries_local_date_insert BEFORE INSERT ON time_entries
FOR EACH ROW WHEN (NEW.local_date IS NULL) EXECUTE FUNCTION time_entries_local_date()""",
    """CREATE TRIGGER time_entries_local_date_update BEFORE UPDATE OF start ON time_entries
FOR EACH ROW WHEN (NEW.start IS DISTINCT FROM OLD.start) EXECUTE FUNCTION time_entries_local_date()""",
)
_PG_VIEW_LOCAL = f"(CAST(e.start AS timestamp) + make_interval(secs => {_VIEW_OFFSET}))"


def _sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


def _entries_view(local_date: str) -> str:
    if not _sqlite():
        return _pg_entries_view(local_date)
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
    datetime(e.start, {_VIEW_OFFSET} || ' seconds') AS local_start,
    {local_date} AS local_date,
    e.id < 0 AS unsynced
FROM time_entries e
LEFT JOIN workspaces w ON w.id = e.workspace_id
LEFT JOIN projects p ON p.id = e.project_id
LEFT JOIN clients c ON c.id = p.client_id
"""


def _pg_entries_view(local_date: str) -> str:
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
    to_char({_PG_VIEW_LOCAL}, 'YYYY-MM-DD HH24:MI:SS') AS local_start,
    {local_date} AS local_date,
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


# One row per tag on an entry, with the tag's name: the tag facet (a group by over the pairs and
# the tags' primary key, about 80 ms at 100,000 tagged entries; the `entries` view's `tags`
# column is one string per entry, and Datasette's array facet on `time_entries.tags` times out).
ENTRY_TAGS_VIEW = """
CREATE VIEW entry_tags AS
SELECT et.time_entry_id, et.tag_id, t.name AS tag
FROM time_entry_tags et
LEFT JOIN tags t ON t.id = et.tag_id
"""


def _replace_views(local_date: str) -> None:
    op.execute("DROP VIEW daily_totals")
    op.execute("DROP VIEW entries")
    op.execute(_entries_view(local_date))
    op.execute(DAILY_TOTALS_VIEW)


def upgrade() -> None:
    op.add_column("time_entries", sa.Column("local_date", sa.Text(), nullable=True))
    if _sqlite():
        op.execute(f"UPDATE time_entries SET local_date = date(start, {_OFFSET.replace('NEW.start', 'time_entries.start')} || ' seconds')")
    else:
        op.execute(f"UPDATE time_entries SET local_date = {_PG_LOCAL_DATE.replace('NEW.start', 'time_entries.start')}")
    op.create_index("ix_time_entries_local_date", "time_entries", ["local_date"])
    for trigger in TRIGGERS if _sqlite() else PG_TRIGGERS:
        op.execute(trigger)
    _replace_views("e.local_date")
    op.execute(ENTRY_TAGS_VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW entry_tags")
    if _sqlite():
        _replace_views(f"date(e.start, {_VIEW_OFFSET} || ' seconds')")
        op.execute("DROP TRIGGER time_entries_local_date_update")
        op.execute("DROP TRIGGER time_entries_local_date_insert")
    else:
        _replace_views(f"to_char({_PG_VIEW_LOCAL}, 'YYYY-MM-DD')")
        op.execute("DROP TRIGGER time_entries_local_date_update ON time_entries")
        op.execute("DROP TRIGGER time_entries_local_date_insert ON time_entries")
        op.execute("DROP FUNCTION time_entries_local_date()")
    op.drop_index("ix_time_entries_local_date", table_name="time_entries")
    with op.batch_alter_table("time_entries") as batch:
        batch.drop_column("local_date")
