"""Initial schema: the Toggl catalog, time entries, sync cursors and quota state.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 09:05:07

Column types are spelled as stored: timestamps and JSON are TEXT (see
togglsync/db/types.py for their format), so this file does not depend on
togglsync code that may change later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def toggl_id() -> sa.Column:
    """A Toggl id primary key: INTEGER on SQLite so it aliases the rowid."""
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        autoincrement=False,
        nullable=False,
    )


def utc_text(name: str, nullable: bool = True) -> sa.Column:
    """A UTCDateTime column: 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC."""
    return sa.Column(name, sa.Text(), nullable=nullable)


def json_text(name: str) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=True)


def flag(name: str, default: bool) -> sa.Column:
    """A boolean with a default: 1/0 on SQLite (as this file always wrote it), true/false elsewhere."""
    if op.get_context().dialect.name == "sqlite":
        server_default = sa.text("1" if default else "0")
    else:
        server_default = sa.text("true" if default else "false")
    return sa.Column(name, sa.Boolean(), server_default=server_default, nullable=False)


def upgrade() -> None:
    op.create_table(
        "account",
        toggl_id(),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("fullname", sa.Text(), nullable=True),
        sa.Column("timezone", sa.Text(), nullable=True),
        sa.Column("default_workspace_id", sa.BigInteger(), nullable=True),
        sa.Column("beginning_of_week", sa.Integer(), nullable=True),
        utc_text("at"),
        json_text("raw"),
        utc_text("synced_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account")),
    )
    op.create_table(
        "workspaces",
        toggl_id(),
        sa.Column("organization_id", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        flag("premium", default=False),
        utc_text("at"),
        json_text("raw"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
    )
    op.create_table(
        "workspace_users",
        sa.Column("workspace_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("fullname", sa.Text(), nullable=True),
        sa.Column("role", sa.Text(), nullable=True),
        flag("is_active", default=True),
        json_text("raw"),
        sa.PrimaryKeyConstraint("workspace_id", "user_id", name=op.f("pk_workspace_users")),
    )
    op.create_table(
        "clients",
        toggl_id(),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        flag("archived", default=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("creator_id", sa.BigInteger(), nullable=True),
        utc_text("at"),
        json_text("raw"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
    )
    op.create_table(
        "projects",
        toggl_id(),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        flag("active", default=True),
        flag("is_private", default=True),
        sa.Column("color", sa.Text(), nullable=True),
        flag("billable", default=False),
        utc_text("created_at"),
        utc_text("at"),
        json_text("raw"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
    )
    op.create_table(
        "tags",
        toggl_id(),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("creator_id", sa.BigInteger(), nullable=True),
        utc_text("at"),
        json_text("raw"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
    )

    op.create_table(
        "time_entries",
        toggl_id(),
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("project_id", sa.BigInteger(), nullable=True),
        sa.Column("task_id", sa.BigInteger(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        utc_text("start", nullable=False),
        utc_text("stop"),
        sa.Column("duration", sa.Integer(), nullable=False),
        flag("billable", default=False),
        sa.Column("tag_ids", sa.Text(), server_default=sa.text("'[]'"), nullable=False),
        sa.Column("tags", sa.Text(), server_default=sa.text("'[]'"), nullable=False),
        utc_text("at"),
        json_text("raw"),
        sa.CheckConstraint("duration >= -1", name=op.f("ck_time_entries_duration_normalised")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_time_entries")),
    )
    op.create_index(op.f("ix_time_entries_start"), "time_entries", ["start"])
    op.create_index(op.f("ix_time_entries_project_id"), "time_entries", ["project_id"])
    op.create_index(op.f("ix_time_entries_workspace_id_start"), "time_entries", ["workspace_id", "start"])

    op.create_table(
        "time_entry_tags",
        sa.Column("time_entry_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tag_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["time_entry_id"],
            ["time_entries.id"],
            name=op.f("fk_time_entry_tags_time_entry_id_time_entries"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("time_entry_id", "tag_id", name=op.f("pk_time_entry_tags")),
    )
    op.create_index(op.f("ix_time_entry_tags_tag_id"), "time_entry_tags", ["tag_id"])

    op.create_table(
        "sync_cursors",
        sa.Column("resource", sa.Text(), nullable=False),
        utc_text("since", nullable=False),
        utc_text("full_sync_at"),
        utc_text("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("resource", name=op.f("pk_sync_cursors")),
    )
    op.create_table(
        "quota_state",
        sa.Column("pool", sa.Text(), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=True),
        utc_text("resets_at"),
        utc_text("observed_at", nullable=False),
        sa.PrimaryKeyConstraint("pool", name=op.f("pk_quota_state")),
    )


def downgrade() -> None:
    # Dropping a table drops its indexes; dependants go first.
    op.drop_table("quota_state")
    op.drop_table("sync_cursors")
    op.drop_table("time_entry_tags")
    op.drop_table("time_entries")
    op.drop_table("tags")
    op.drop_table("projects")
    op.drop_table("clients")
    op.drop_table("workspace_users")
    op.drop_table("workspaces")
    op.drop_table("account")
