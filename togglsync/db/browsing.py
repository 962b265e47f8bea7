"""Datasette metadata for the database: titles, descriptions, units, hidden tables, facets, queries.

Derived from the models (a table's description is its model's docstring, a
column's its `doc`, a unit its `info["unit"]`), so the schema is described in
one place; what the models cannot say (the views, the conventions every
Toggl table shares, the example queries of the README) is here. `togglsync db
metadata` prints it, `togglsync db serve` hands it to Datasette.

No foreign keys link ids to names: Toggl references legitimately dangle (an
entry on a project we cannot see, a tag made since the last catalog pull) and
our engine enforces foreign keys. The `entries` view carries the names
(workspace, project, client, tags), `entry_tags` the tags' names, one row per
tag (Datasette's array facet on `time_entries.tags` times out at 100,000
entries); time_entry_tags -> time_entries is a real foreign key.
"""

from __future__ import annotations

import inspect
from typing import Any

from togglsync.db.models import Base

TITLE = "togglsync: your Toggl Track time entries"
DESCRIPTION = (
    "The local cache togglsync keeps in sync with Toggl Track. Start with the entries view "
    "(names, local dates, tags) or daily_totals. Times are UTC text unless named local_*."
)

# What every Toggl table's columns of these names mean (models.py's module docstring).
COMMON_COLUMNS = {
    "id": "Toggl's id; negative: created offline, not pushed yet (L5 is -5).",
    "workspace_id": "The workspace (workspaces.id).",
    "project_id": "The project (projects.id); empty: none.",
    "client_id": "The client (clients.id); empty: none.",
    "user_id": "The Toggl user.",
    "creator_id": "The Toggl user who created it.",
    "name": "The name, as shown in Toggl.",
    "at": "Last changed on Toggl (server clock, UTC); empty if never pushed.",
    "raw": "The record as Toggl's API returned it (JSON), credentials removed.",
}

# Bookkeeping of the sync and of the views: hidden in Datasette's listing, still queryable.
HIDDEN = ("sync_cursors", "quota_state", "tz_offsets", "id_map", "history_ranges", "alembic_version")

# Per table or view: facets shown by default, the sort, the label column.
TABLE_OPTIONS: dict[str, dict[str, Any]] = {
    "time_entries": {"facets": ["local_date", "billable"], "sort_desc": "start"},
    "entry_tags": {"facets": ["tag"]},
    "entries": {"facets": ["local_date", "project", "client"], "sort_desc": "start"},
    "daily_totals": {"sort_desc": "date"},
    "pending_operations": {"facets": ["state", "resource", "action"]},
    "conflicts": {"facets": ["kind", "resource"]},
}

# The views (migrations 0003, 0008 and 0010): no model to read them from.
VIEWS: dict[str, dict[str, Any]] = {
    "entries": {
        "title": "Entries",
        "description": (
            "Time entries with their workspace, project, client and tag names; "
            "local times in the account's Toggl time zone (correct across DST)."
        ),
        "columns": {
            "workspace": "The workspace's name.",
            "project": "The project's name; empty: no project.",
            "client": "The project's client's name.",
            "tags": "The tags' names, comma-separated, sorted.",
            "duration": "Length in seconds; a running entry counts to now.",
            "running": "1 while the timer runs.",
            "local_start": "The start in the account's time zone.",
            "unsynced": "1 if created offline and not pushed yet.",
            "user": "Who tracked it (the Toggl user's name).",
            "account": "The account of this database synced as that user (several accounts in one database).",
        },
        "units": {"duration": "s"},
    },
    "entry_tags": {
        "title": "Entry tags",
        "description": "One row per tag on an entry, with the tag's name: facet on tag to count entries by tag.",
        "columns": {
            "time_entry_id": "The entry (time_entries.id).",
            "tag_id": "The tag (tags.id).",
            "tag": "The tag's name; empty if the catalog does not hold it (yet).",
        },
    },
    "daily_totals": {
        "title": "Daily totals",
        "description": "Entries and time per local day (the account's time zone).",
        "columns": {
            "date": "The local day.",
            "entries": "How many entries started that day.",
            "seconds": "Their total length.",
            "hours": "The same in hours, rounded to 0.01.",
            "billable_seconds": "The billable part.",
        },
        "units": {"seconds": "s", "billable_seconds": "s", "hours": "hour"},
    },
}

# The README's example queries ("The database"); a test checks the README shows each.
QUERIES: dict[str, dict[str, str]] = {
    "hours_per_client_last_month": {
        "title": "Hours per client last month",
        "sql": (
            "SELECT coalesce(client, '(no client)') AS client, round(sum(duration) / 3600.0, 1) AS hours\n"
            "FROM entries\n"
            "WHERE local_date >= date('now', 'start of month', '-1 month') "
            "AND local_date < date('now', 'start of month')\n"
            "GROUP BY client ORDER BY hours DESC;"
        ),
    },
    "untagged_this_week": {
        "title": "Untagged entries this week (weeks starting on Monday)",
        "sql": (
            "SELECT local_start, description, project FROM entries\n"
            "WHERE tags IS NULL AND local_date >= date('now', 'weekday 0', '-6 days');"
        ),
    },
    "last_two_weeks": {
        "title": "The last two weeks, day by day",
        "sql": "SELECT date, hours FROM daily_totals ORDER BY date DESC LIMIT 14;",
    },
    "entries_with_tag": {
        "title": "Entries with a given tag",
        "sql": (
            "SELECT e.start, e.description FROM time_entries e\n"
            "JOIN time_entry_tags et ON et.time_entry_id = e.id JOIN tags t ON t.id = et.tag_id\n"
            "WHERE t.name = :tag;"
        ),
    },
}


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _tables() -> dict[str, dict[str, Any]]:
    tables: dict[str, dict[str, Any]] = {}
    for mapper in sorted(Base.registry.mappers, key=lambda m: m.class_.__table__.name):
        model = mapper.class_
        table = model.__table__
        doc = inspect.getdoc(model) if model.__doc__ else None
        entry: dict[str, Any] = {"title": _title(table.name)}
        if doc:
            entry["description"] = " ".join(doc.split("\n\n")[0].split())
        columns = {c.name: c.doc or COMMON_COLUMNS[c.name] for c in table.columns
                   if c.doc or c.name in COMMON_COLUMNS}
        if columns:
            entry["columns"] = columns
        units = {c.name: c.info["unit"] for c in table.columns if "unit" in c.info}
        if units:
            entry["units"] = units
        if table.name in HIDDEN:
            entry["hidden"] = True
        tables[table.name] = entry
    time_entries = tables["time_entries"]["columns"]
    for name, view in VIEWS.items():
        # A view column named like a time_entries column means the same.
        columns = {**{k: v for k, v in time_entries.items() if k not in ("tags", "tag_ids", "raw", "at")},
                   **view["columns"]} if name == "entries" else dict(view["columns"])
        tables[name] = {**view, "columns": columns}
    tables["alembic_version"] = {"title": "Schema version", "hidden": True}
    for name, options in TABLE_OPTIONS.items():
        tables[name].update(options)
    return tables


def metadata(database: str) -> dict[str, Any]:
    """Datasette's metadata (JSON-ready) for the database Datasette names `database` (the file's stem)."""
    return {
        "title": TITLE,
        "databases": {
            database: {
                "title": TITLE,
                "description": DESCRIPTION,
                "tables": _tables(),
                "queries": {name: dict(query) for name, query in QUERIES.items()},
            }
        },
    }
