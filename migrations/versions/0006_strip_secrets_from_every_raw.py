"""Remove credentials from the `raw` JSON of every table.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 11:00:00

Toggl's workspace objects carry an `api_token` (a workspace token), and
versions before this one stored it in `workspaces.raw`, where `togglsync sql`
showed it. 0004 cleaned `account.raw` only. Every row builder now stores
`raw` through one rule (`togglsync.records.without_secrets`); this applies the
same rule to what older versions wrote, in every table with a `raw` column:
secret top-level keys go, every other key stays as it was, and text that is
not a JSON object is left alone. Like 0004 it zeroes the freed bytes and asks
for a VACUUM after the upgrade (older row versions may hold the token).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Read by togglsync/db/migrate.py (spelled out here: a migration must not import
# togglsync code that may change later).
VACUUM_REQUEST = "togglsync_vacuum_after_upgrade"

# The tables with a `raw` column at 0005, and their keys.
TABLES = {
    "account": ("id",),
    "workspaces": ("id",),
    "workspace_users": ("workspace_id", "user_id"),
    "clients": ("id",),
    "projects": ("id",),
    "tags": ("id",),
    "time_entries": ("id",),
}

# togglsync.records.is_secret_field as of this revision: exact names, and any
# name holding "token". Not "*password*": GET /me has a harmless `has_password`.
_SECRET_NAMES = frozenset({"api_token", "api_key", "apikey", "password"})


def is_secret_key(key: str) -> bool:
    name = key.lower()
    return name in _SECRET_NAMES or "token" in name


def without_secrets(raw: str) -> str | None:
    """`raw` re-serialised without secret top-level keys; None when there is nothing to remove."""
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(record, dict) or not any(is_secret_key(key) for key in record):
        return None
    kept = {key: value for key, value in record.items() if not is_secret_key(key)}
    # As togglsync.db.types.JSONText writes it.
    return json.dumps(kept, ensure_ascii=False)


# Only rows whose text could hold a secret key are read (LIKE ignores ASCII case):
# a database of 100,000 entries is not parsed row by row.
_MAY_HOLD_A_SECRET = " OR ".join(f"raw LIKE '%{word}%'" for word in ("token", "api_key", "apikey", "password"))


def upgrade() -> None:
    context = op.get_context()
    sqlite = context.dialect.name == "sqlite"
    if context.as_sql and not sqlite:
        return  # a PostgreSQL database starts after togglsync stopped storing tokens: nothing to remove
    if context.as_sql:
        # `alembic upgrade --sql` cannot read rows: remove the names known to be secrets.
        paths = ", ".join(f"'$.{name}'" for name in sorted(_SECRET_NAMES | {"session_token", "oauth_token"}))
        for table in TABLES:
            op.execute(f"UPDATE {table} SET raw = json_remove(raw, {paths}) WHERE json_valid(raw)")
        return

    bind = op.get_bind()
    previous = bind.exec_driver_sql("PRAGMA secure_delete").scalar() if sqlite else None
    if sqlite:
        bind.exec_driver_sql("PRAGMA secure_delete=ON")
    try:
        for table, keys in TABLES.items():
            columns = ", ".join(keys)
            rows = bind.execute(
                sa.text(f"SELECT {columns}, raw FROM {table} WHERE raw IS NOT NULL AND ({_MAY_HOLD_A_SECRET})")
            ).all()
            where = " AND ".join(f"{key} = :{key}" for key in keys)
            for row in rows:
                cleaned = without_secrets(row[-1])
                if cleaned is not None:
                    bind.execute(
                        sa.text(f"UPDATE {table} SET raw = :raw WHERE {where}"),
                        {"raw": cleaned, **dict(zip(keys, row[:-1]))},
                    )
    finally:
        if sqlite:
            bind.exec_driver_sql(f"PRAGMA secure_delete={int(previous)}")

    # A VACUUM for every database crossing this revision: a deleted workspace's
    # row (a workspace left) may hold its token in free pages with no raw left to clean.
    if context.config is not None and sqlite:
        context.config.attributes[VACUUM_REQUEST] = True


def downgrade() -> None:
    # Nothing to undo: the schema did not change, and a removed token must not come back.
    pass
