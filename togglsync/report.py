"""Reading the local database: entry listings and totals, all offline.

An entry belongs to the range (and the day) in which it starts; a running
entry counts up to `now`. Days are cut in the display time zone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, and_, select

from togglsync.db.models import Client, Project, Tag, TimeEntry, TimeEntryTag

GROUPINGS = ("project", "client", "tag", "day", "description")
NO_VALUE = {"project": "(no project)", "client": "(no client)", "tag": "(no tag)", "description": "(no description)"}


def entry_rows(
    engine: Engine,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    now: datetime,
    tz: ZoneInfo,
    project_id: int | None = None,
    tag_id: int | None = None,
    workspace_id: int | None = None,
) -> list[dict[str, Any]]:
    """Entries starting in [start, end), newest first, with names resolved and local times."""
    e = TimeEntry.__table__
    query = (
        select(
            e.c.id, e.c.workspace_id, e.c.description, e.c.start, e.c.stop, e.c.duration, e.c.billable,
            e.c.project_id, e.c.tags, Project.name.label("project"), Client.name.label("client"),
        )
        .select_from(e.outerjoin(Project, Project.id == e.c.project_id).outerjoin(Client, Client.id == Project.client_id))
        .order_by(e.c.start.desc())
    )
    conditions = []
    if start is not None:
        conditions.append(e.c.start >= start)
    if end is not None:
        conditions.append(e.c.start < end)
    if project_id is not None:
        conditions.append(e.c.project_id == project_id)
    if workspace_id is not None:
        conditions.append(e.c.workspace_id == workspace_id)
    if tag_id is not None:
        conditions.append(e.c.id.in_(select(TimeEntryTag.time_entry_id).where(TimeEntryTag.tag_id == tag_id)))
    if conditions:
        query = query.where(and_(*conditions))
    out = []
    with engine.connect() as conn:
        for row in conn.execute(query).mappings():
            running = row["duration"] < 0
            seconds = int((now - row["start"]).total_seconds()) if running else row["duration"]
            local_start = row["start"].astimezone(tz)
            out.append({
                "id": row["id"],
                "workspace_id": row["workspace_id"],
                "date": local_start.date().isoformat(),
                "start": local_start,
                "stop": row["stop"].astimezone(tz) if row["stop"] else None,
                "seconds": max(0, seconds),
                "running": running,
                "description": row["description"],
                "project_id": row["project_id"],
                "project": row["project"],
                "client": row["client"],
                "tags": list(row["tags"] or []),
                "billable": bool(row["billable"]),
                "unsynced": row["id"] < 0,
            })
    return out


@dataclass(frozen=True)
class Total:
    key: str
    seconds: int
    entries: int


def totals(rows: Iterable[dict[str, Any]], by: str) -> list[Total]:
    """Sum entry rows by project, client, tag (an entry counts once per tag), day or description."""
    if by not in GROUPINGS:
        raise ValueError(f"cannot group by {by!r}: use one of {', '.join(GROUPINGS)}")
    seconds: dict[str, int] = defaultdict(int)
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        if by == "day":
            keys = [row["date"]]
        elif by == "tag":
            keys = row["tags"] or [NO_VALUE["tag"]]
        else:
            keys = [row[by] or NO_VALUE[by]]
        for key in keys:
            seconds[key] += row["seconds"]
            counts[key] += 1
    ordered = sorted(seconds, key=lambda k: k) if by == "day" else sorted(seconds, key=lambda k: (-seconds[k], k))
    return [Total(k, seconds[k], counts[k]) for k in ordered]
