"""The SQLite schema, as typed SQLAlchemy models.

This schema is public: users query it with their own SQL, so table and column
names are plain snake_case copies of Toggl's field names and change only
through a migration.

Conventions that hold for every Toggl table:

* `id` is Toggl's 64-bit id. A record created offline gets a negative
  temporary id in the same column until it is pushed; then the id and every
  reference to it are rewritten.
* References between Toggl records (`workspace_id`, `project_id`, ...) are
  plain integers without foreign keys: an entry may point at a project we
  cannot see, or at a temporary id.
* Records Toggl deleted are removed by the sync engine; there is no
  "deleted" flag.
* `at` is Toggl's last-modified time (server clock); NULL for a record that
  was never pushed. `raw` is the record exactly as the API returned it,
  unknown fields included.
* Timestamps are UTC text, see `togglsync.db.types.UTCDateTime`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from togglsync import records
from togglsync.db.types import JSONText, UTCDateTime

# Named constraints and indexes: alembic's batch mode (how SQLite tables are
# altered) can only drop or recreate a constraint it can name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Toggl ids exceed 32 bits. On SQLite a single-column primary key must be
# declared exactly INTEGER to alias the rowid (BIGINT would not), and SQLite's
# INTEGER is 64-bit anyway.
TogglId = BigInteger().with_variant(Integer(), "sqlite")

FALSE = text("0")
TRUE = text("1")
EMPTY_JSON_LIST = text("'[]'")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    if TYPE_CHECKING:
        # Every model here is declared with its own table, so `__table__` is a
        # Table (SQLAlchemy types it as any FromClause): `.insert()`, `.name`.
        __table__: ClassVar[Table]


class Account(Base):
    """The user whose token we sync with (GET /me)."""

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(TogglId, primary_key=True, autoincrement=False)
    email: Mapped[str | None] = mapped_column(Text)
    fullname: Mapped[str | None] = mapped_column(Text)
    timezone: Mapped[str | None] = mapped_column(Text)
    default_workspace_id: Mapped[int | None] = mapped_column(BigInteger)
    beginning_of_week: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSONText)
    # Local clock, when /me was last read: for display only, never a cursor.
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SyncAccount(Base):
    """The Toggl accounts synced into this database, by name (`togglsync accounts`).

    `main` is the implicit account of the top-level credentials; others are added
    with `togglsync accounts add` (their secrets stay in the config file). `user_id`
    is the Toggl user the name was bound to by its first sync: another user's
    answer under this name is refused, and one user has one name."""

    __tablename__ = "accounts"

    name: Mapped[str] = mapped_column(Text, primary_key=True, doc="The account's name (`--account NAME`).")
    user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True, doc="Its Toggl user; empty until its first sync.")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    credential: Mapped[str | None] = mapped_column(
        Text, doc="A salted one-way digest of the credentials it was bound with (never the secret): "
                  "when they change, one GET /me checks whose they are (migration 0012).")


class AccountWorkspace(Base):
    """The workspaces each account's last catalog snapshot listed: what its deletions by absence may touch."""

    __tablename__ = "account_workspaces"

    account: Mapped[str] = mapped_column(Text, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class Workspace(Base):
    """Toggl workspaces the account belongs to: every other record lives in one."""

    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(TogglId, primary_key=True, autoincrement=False)
    organization_id: Mapped[int | None] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(Text)
    premium: Mapped[bool] = mapped_column(server_default=FALSE)
    at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSONText)


class WorkspaceUser(Base):
    """Members of a workspace; `user_id` is the Toggl user id."""

    __tablename__ = "workspace_users"

    workspace_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    email: Mapped[str | None] = mapped_column(Text)
    fullname: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(server_default=TRUE)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSONText)


class Client(Base):
    """Clients, the people or companies projects are for."""

    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(TogglId, primary_key=True, autoincrement=False)
    workspace_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(Text)
    archived: Mapped[bool] = mapped_column(server_default=FALSE)
    notes: Mapped[str | None] = mapped_column(Text)
    creator_id: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSONText)


class Project(Base):
    """Projects entries are booked on; a project may have a client."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(TogglId, primary_key=True, autoincrement=False)
    workspace_id: Mapped[int] = mapped_column(BigInteger)
    client_id: Mapped[int | None] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(server_default=TRUE)
    # Toggl creates projects private unless told otherwise.
    is_private: Mapped[bool] = mapped_column(server_default=TRUE)
    color: Mapped[str | None] = mapped_column(Text)
    billable: Mapped[bool] = mapped_column(server_default=FALSE)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSONText)


class Tag(Base):
    """Tags of a workspace; which entries carry them is in time_entry_tags."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(TogglId, primary_key=True, autoincrement=False)
    workspace_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(Text)
    creator_id: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSONText)


# The partial index of running entries (migration 0005): its name and condition.
RUNNING_INDEX = "ix_time_entries_running"
RUNNING_ONLY = "duration < 0"


class TimeEntry(Base):
    """One time entry. A running entry has `stop` NULL and `duration` -1."""

    __tablename__ = "time_entries"
    __table_args__ = (
        Index(None, "start"),
        Index(None, "project_id"),
        Index(None, "workspace_id", "start"),
        # One user's entries in a range: an account's re-sync window, `--account` (migration 0011).
        Index(None, "user_id", "start"),
        # Running entries only (one, as a rule): "which timer is running?" without
        # walking back through every entry when none is (migration 0005).
        # (PostgreSQL's WHERE is added by `postgresql_options`, when a PostgreSQL database is opened.)
        Index(RUNNING_INDEX, "start", sqlite_where=text(RUNNING_ONLY)),
        # Grouping by day (the `entries` view's local_date, Datasette's facet) reads this index only.
        Index(None, "local_date"),
        # The API says "running" with any negative number (-1, or -<start
        # epoch> from /current); the sync engine stores -1 so that sums and
        # comparisons on `duration` stay meaningful in plain SQL.
        CheckConstraint("duration >= -1", name="duration_normalised"),
    )

    id: Mapped[int] = mapped_column(TogglId, primary_key=True, autoincrement=False)
    workspace_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    project_id: Mapped[int | None] = mapped_column(BigInteger)
    task_id: Mapped[int | None] = mapped_column(BigInteger)
    description: Mapped[str | None] = mapped_column(Text, doc="What was done.")
    start: Mapped[datetime] = mapped_column(UTCDateTime, doc="When the entry started (UTC).")
    stop: Mapped[datetime | None] = mapped_column(UTCDateTime, doc="When it stopped (UTC); empty while running.")
    duration: Mapped[int] = mapped_column(
        Integer, doc="Length in seconds; -1 while running.", info={"unit": "s"}
    )
    billable: Mapped[bool] = mapped_column(server_default=FALSE, doc="1 if billable.")
    # Both as the API gives them (ids, and names for readability); the
    # queryable form is the time_entry_tags table.
    tag_ids: Mapped[list[int]] = mapped_column(
        JSONText, server_default=EMPTY_JSON_LIST, doc="The tags' ids (JSON array)."
    )
    tags: Mapped[list[str]] = mapped_column(
        JSONText, server_default=EMPTY_JSON_LIST, doc="The tags' names (JSON array)."
    )
    at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSONText)
    # The start's date in the account's time zone (tz_offsets), YYYY-MM-DD, for grouping by
    # day. Derived, never set by hand: db.repo.upsert computes it (`info`), migration 0008's
    # triggers fill it for other writers, db.tzoffsets.store_zone when the zone changes.
    local_date: Mapped[str | None] = mapped_column(
        Text, info={"local_date_of": "start"}, doc="The start's date in the account's time zone."
    )
    # Where the row's fields last came from (records.SOURCES): "sync" (GET /me/time_entries, or
    # an edit made here) or "report" (`togglsync history`: the Reports API's detailed report,
    # whose row `raw` holds). The regular sync takes a report's row over when it sees the entry.
    source: Mapped[str] = mapped_column(
        Text, server_default=text("'sync'"),
        doc="Where the row came from: sync (the regular sync, or made here) or report (history, the Reports API).",
    )


class TimeEntryTag(Base):
    """One row per (entry, tag id), mirroring `time_entries.tag_ids` for joins.

    The entry side has a real foreign key: the rows belong to the entry, go
    away with it and follow its id when a temporary id is replaced. The tag
    side has none, like every other Toggl reference.
    """

    __tablename__ = "time_entry_tags"
    __table_args__ = (Index(None, "tag_id"),)

    time_entry_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("time_entries.id", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    tag_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class SyncCursor(Base):
    """Where the last incremental pull of one resource stopped.

    `resource` names what was pulled: "time_entries", "projects:<workspace id>"...
    `since` is a server-clock watermark (Toggl's `at` values or Date header);
    `full_sync_at` and `updated_at` are local clock: diagnostics, and the catalog's
    `updated_at` tells parked operations whether it was refreshed since they were
    refused (same clock as their `updated_at`; sync/plan.parked_step).
    """

    __tablename__ = "sync_cursors"
    __table_args__ = (PrimaryKeyConstraint("account", "resource"),)

    resource: Mapped[str] = mapped_column(Text, primary_key=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    full_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Whose cursor (accounts.name): every account pulls on its own.
    account: Mapped[str] = mapped_column(Text, primary_key=True, server_default=text("'main'"))


class QuotaState(Base):
    """The last quota headers seen per pool, so a new process knows not to spend.

    `pool` is "user" (every /me request), "workspace:<id>" or "organization:<id>".
    """

    __tablename__ = "quota_state"
    __table_args__ = (PrimaryKeyConstraint("account", "pool"),)

    pool: Mapped[str] = mapped_column(Text, primary_key=True)
    remaining: Mapped[int | None] = mapped_column(Integer)
    resets_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    account: Mapped[str] = mapped_column(Text, primary_key=True, server_default=text("'main'"))


class PendingOperation(Base):
    """One local change waiting to reach Toggl (the outbox).

    Written in the same transaction as the row it changes. The payload is not
    stored: it is computed at push time from the current row and `base`, so
    later edits coalesce for free. Order is `id` (a sequence, never a clock).

    `state`: "queued" (not sent yet), "in_flight" (a create was sent and its
    outcome is not known yet: never modified, reconciled before any resend),
    "failed" (the server rejected it; `error` says why; kept until the sync
    retries it after a back-off, or the user retries or drops it).
    """

    __tablename__ = "pending_operations"
    __table_args__ = (
        Index(None, "resource", "record_id"),
        Index(None, "account", "state"),
        CheckConstraint("action IN ('create', 'update', 'delete')", name="action"),
        CheckConstraint("state IN ('queued', 'in_flight', 'failed')", name="state"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # "client", "project", "tag" or "time_entry"
    resource: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    # The record's id: negative (temporary) until its create is pushed.
    record_id: Mapped[int] = mapped_column(BigInteger)
    workspace_id: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(Text, server_default=text("'queued'"))
    # The server's version of the record the edit was made on (3-way merge base);
    # for a delete, the record as it was, so a lost edit can still be shown.
    base: Mapped[dict[str, Any] | None] = mapped_column(JSONText)
    # For a create in flight: what was sent, to recognise it on the server.
    fingerprint: Mapped[dict[str, Any] | None] = mapped_column(JSONText)
    # Server-clock estimate of when the create was sent.
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The account that sends it (accounts.name): a time entry's is its user's; see togglsync.accounts.
    account: Mapped[str] = mapped_column(Text, server_default=text("'main'"))
    # The `at` (server clock) of the version `base` was taken from; a pulled version no newer
    # is a stale answer, not an edit made elsewhere (migration 0013).
    base_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SyncConflict(Base):
    """A field both sides changed, or an edit the server made impossible.

    `kind`: "both_changed" (the policy kept one value, both are here),
    "deleted_remotely" (the record was deleted on Toggl while edited here;
    `local_value` holds the lost edit), "deleted_locally" (deleted here while
    edited on Toggl; `remote_value` holds that edit, `kept` says which side won),
    "workspace_gone" (edited here in a workspace the user has left since;
    `remote_value` says so, `local_value` holds what was not sent).
    `resolved_at` NULL means still open.
    """

    __tablename__ = "conflicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource: Mapped[str] = mapped_column(Text)
    record_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(Text)
    field: Mapped[str | None] = mapped_column(Text)
    base_value: Mapped[Any] = mapped_column(JSONText, nullable=True)
    local_value: Mapped[Any] = mapped_column(JSONText, nullable=True)
    remote_value: Mapped[Any] = mapped_column(JSONText, nullable=True)
    # "local" or "remote": which value the table holds now.
    kept: Mapped[str | None] = mapped_column(Text)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IdMap(Base):
    """Where a record created offline went: its temporary id (negative: `L5` is -5) and the
    Toggl id its create got, written when the id is replaced (`rows.rewrite_id`), so `L5`
    still names the record after the push (`lookup`). Never reused: temporary ids are minus
    an operation's id, and operation ids never repeat."""

    __tablename__ = "id_map"

    # "client", "project", "tag" or "time_entry"
    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    local_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    toggl_id: Mapped[int] = mapped_column(BigInteger)
    pushed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HistoryRange(Base):
    """How far `togglsync history` reaches: per workspace and scope (`me`: the user's own
    entries, `all`: every member's), date ranges (inclusive, the report's dates) and the
    paging cursor up to which each is stored (`next_*`: Toggl's X-Next-* headers, NULL
    before the first page and once `done_at` is set). A page and its cursor are written in
    one transaction (`sync.history`). Per account (`accounts.name`): each account's user
    has their own history, even in a workspace two accounts share."""

    __tablename__ = "history_ranges"
    __table_args__ = (
        CheckConstraint("scope IN ('me', 'all')", name="scope"),
        PrimaryKeyConstraint("account", "workspace_id", "scope", "range_start"),
    )

    workspace_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    scope: Mapped[str] = mapped_column(Text, primary_key=True)
    range_start: Mapped[str] = mapped_column(Text, primary_key=True)  # YYYY-MM-DD
    range_end: Mapped[str] = mapped_column(Text)  # YYYY-MM-DD, inclusive
    next_id: Mapped[int | None] = mapped_column(BigInteger)
    next_row_number: Mapped[int | None] = mapped_column(BigInteger)
    next_timestamp: Mapped[int | None] = mapped_column(BigInteger)
    pages: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    entries: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Whose history (accounts.name): the account's user's entries (`me`) or, through its
    # credentials, every member's (`all`).
    account: Mapped[str] = mapped_column(Text, primary_key=True, server_default=text("'main'"))


class TzOffset(Base):
    """The display time zone's UTC offsets over time (one row per DST period), for the views.

    Filled from the account's Toggl time zone on sync. `entries.local_start`
    adds the offset in force at the entry's start: correct across DST changes
    in any SQLite client.
    """

    __tablename__ = "tz_offsets"

    utc_from: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    utc_to: Mapped[datetime] = mapped_column(UTCDateTime)
    offset_seconds: Mapped[int] = mapped_column(Integer)
    zone: Mapped[str] = mapped_column(Text)


def model_for(kind: str) -> type[Base]:
    """The model of a kind of record (`records.Kind`), found by the table its Spec names."""

    table = records.spec(kind).table
    for mapper in Base.registry.mappers:
        model: type[Base] = mapper.class_
        if model.__table__.name == table:
            return model
    raise KeyError(f"no model for the table {table!r}")


def postgresql_options() -> None:
    """PostgreSQL's options on the tables (the running entries' index condition), added to the
    metadata when a PostgreSQL database is opened (`db.postgres`). Naming one in a table's
    definition makes SQLAlchemy import its PostgreSQL dialect at once: 40 ms of every sync
    on SQLite. Idempotent."""
    index = next(ix for ix in TimeEntry.__table__.indexes if ix.name == RUNNING_INDEX)
    index.dialect_options["postgresql"]["where"] = text(RUNNING_ONLY)
