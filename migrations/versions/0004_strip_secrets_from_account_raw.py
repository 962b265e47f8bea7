"""Remove credentials that older versions copied into `account.raw`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 10:00:00

`account.raw` is GET /me as the API returned it, and GET /me includes the
user's `api_token`. Until the fix in `sync/plan.py` (account_row) it was
stored, readable by `togglsync sql` and by anyone with the file. This rewrites
`raw` without secret top-level keys and leaves every other key as it was.

Rewriting the row is not enough to get the bytes out of the file: SQLite
keeps deleted content in free pages, in unused space inside pages and in the
WAL. `secure_delete` zeroes what this rewrite frees; older copies (every
catalog refresh rewrote the row) need a VACUUM, which cannot run inside the
migration's transaction, so this migration asks `togglsync.db.migrate` to run
one after alembic commits (config attribute below). The `alembic` command
line does not do that; open the database with togglsync once afterwards, or
run `sqlite3 FILE VACUUM`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Read by togglsync/db/migrate.py (spelled out there too: a migration must not
# import togglsync code that may change later).
VACUUM_REQUEST = "togglsync_vacuum_after_upgrade"

# Exact names; "*token*" is matched separately. Not "*password*": GET /me has a
# harmless boolean `has_password`.
_SECRET_NAMES = frozenset({"api_token", "api_key", "apikey", "password"})


def is_secret_key(key: str) -> bool:
    name = key.lower()
    return name in _SECRET_NAMES or "token" in name


def without_secrets(raw: str) -> str | None:
    """`raw` re-serialised without secret top-level keys; None when there is nothing to remove.

    Text that is not a JSON object is left alone: nothing here wrote it, and
    guessing at it could destroy data.
    """
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(record, dict) or not any(is_secret_key(key) for key in record):
        return None
    kept = {key: value for key, value in record.items() if not is_secret_key(key)}
    # As togglsync.db.types.JSONText writes it.
    return json.dumps(kept, ensure_ascii=False)


def upgrade() -> None:
    context = op.get_context()
    sqlite = context.dialect.name == "sqlite"
    if context.as_sql and not sqlite:
        return  # a PostgreSQL database starts after togglsync stopped storing tokens: nothing to remove
    if context.as_sql:
        # `alembic upgrade --sql` cannot read rows: remove the names known to be secrets.
        paths = ", ".join(f"'$.{name}'" for name in sorted(_SECRET_NAMES | {"session_token", "oauth_token"}))
        op.execute(f"UPDATE account SET raw = json_remove(raw, {paths}) WHERE json_valid(raw)")
        return

    bind = op.get_bind()
    # Zero the freed bytes of the rows rewritten here (SQLite builds differ in
    # the default); put the connection back as it was afterwards, it is pooled.
    previous = bind.exec_driver_sql("PRAGMA secure_delete").scalar() if sqlite else None
    if sqlite:
        bind.exec_driver_sql("PRAGMA secure_delete=ON")
    try:
        rows = bind.execute(sa.text("SELECT id, raw FROM account WHERE raw IS NOT NULL")).all()
        for account_id, raw in rows:
            cleaned = without_secrets(raw)
            if cleaned is not None:
                bind.execute(sa.text("UPDATE account SET raw = :raw WHERE id = :id"), {"raw": cleaned, "id": account_id})
    finally:
        if sqlite:
            bind.exec_driver_sql(f"PRAGMA secure_delete={int(previous)}")

    # Every database that crosses this revision gets one VACUUM: copies of the
    # token from earlier rewrites may sit in free pages even where raw is clean
    # now. On a new (empty) file it costs milliseconds.
    if context.config is not None and sqlite:
        context.config.attributes[VACUUM_REQUEST] = True


def downgrade() -> None:
    # Nothing to undo: the schema did not change, and the removed token must not come back
    # (the next catalog refresh would not store it anyway).
    pass
