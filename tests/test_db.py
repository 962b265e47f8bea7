"""The database layer: engine settings, column types, schema rules, repo helpers."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, delete, event, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError, StatementError

from togglsync.db.engine import for_reading, make_engine
from togglsync.db.open import Mode, open_database
from togglsync.errors import DatabaseNotFound, StorageError
from togglsync.db.models import Project, QuotaState, TimeEntry, TimeEntryTag
from togglsync.db.repo import get_cursor, load_quota, record_quota, set_cursor, upsert
from togglsync.db.types import from_utc_text, to_utc_text
from togglsync.errors import ConfigError, QuotaSnapshot

UTC = timezone.utc


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "data" / "togglsync.db"


@pytest.fixture
def engine(db_path):
    engine = open_database(str(db_path))
    yield engine
    engine.dispose()


def entry(id: int, **overrides) -> dict:
    row = {
        "id": id,
        "workspace_id": 1,
        "user_id": 7,
        "project_id": None,
        "task_id": None,
        "description": f"entry {id}",
        "start": datetime(2024, 12, 16, 9, 0, tzinfo=UTC),
        "stop": datetime(2024, 12, 16, 10, 0, tzinfo=UTC),
        "duration": 3600,
        "billable": False,
        "tag_ids": [],
        "tags": [],
        "at": datetime(2024, 12, 16, 10, 0, 0, 123456, tzinfo=UTC),
        "raw": {"id": id},
    }
    row.update(overrides)
    return row


def pragma(conn, name: str):
    return conn.exec_driver_sql(f"PRAGMA {name}").scalar()


# --- engine --------------------------------------------------------------


def test_our_engine_sets_pragmas(engine):
    with engine.connect() as conn:
        assert pragma(conn, "journal_mode") == "wal"
        assert pragma(conn, "foreign_keys") == 1
        assert pragma(conn, "busy_timeout") == 10_000
        assert pragma(conn, "synchronous") == 1  # NORMAL


def test_other_engines_keep_sqlalchemy_defaults(engine, tmp_path):
    plain = create_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    statements = []
    event.listen(plain, "before_cursor_execute", lambda *args: statements.append(args[2]))
    try:
        with plain.begin() as conn:
            assert pragma(conn, "journal_mode") == "delete"
            assert pragma(conn, "foreign_keys") == 0
            conn.exec_driver_sql("CREATE TABLE t (x)")
        assert not any(s.startswith("BEGIN") for s in statements)
    finally:
        plain.dispose()


def test_make_engine_takes_a_path_and_creates_its_directory(tmp_path):
    path = tmp_path / "deep" / "er" / "x.db"
    engine = make_engine(str(path))
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x)")
        assert path.is_file()
    finally:
        engine.dispose()


def test_in_memory_database_gets_the_schema():
    engine = open_database("sqlite:///:memory:")
    try:
        with engine.begin() as conn:
            upsert(conn, TimeEntry, [entry(1)])
            assert conn.scalar(select(TimeEntry.description)) == "entry 1"
            assert pragma(conn, "foreign_keys") == 1
    finally:
        engine.dispose()


def test_other_databases_are_refused():
    # SQLite and PostgreSQL only (tests/test_postgres.py): the message names both, never the password.
    with pytest.raises(ConfigError, match="SQLite or PostgreSQL") as refused:
        make_engine("mysql://me:s3cret@localhost/toggl")
    assert "s3cret" not in str(refused.value)


def test_write_transactions_begin_immediate(engine):
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with engine.begin() as conn:
        conn.execute(insert(TimeEntry), [entry(1)])
    assert statements[0] == "BEGIN IMMEDIATE"


def test_second_writer_gets_busy_instead_of_deadlocking(db_path):
    holder = make_engine(str(db_path), busy_timeout_ms=50)
    waiter = make_engine(str(db_path), busy_timeout_ms=50)
    try:
        with holder.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x)")
        with holder.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            started = time.monotonic()
            # The write lock is taken at BEGIN, so the second writer fails at
            # once (after its busy timeout) rather than after reading.
            with pytest.raises(StorageError, match="is busy: another program has been writing to it for more than 0.05 s"):
                with waiter.begin() as other:
                    other.exec_driver_sql("SELECT count(*) FROM t")
            assert time.monotonic() - started < 2
    finally:
        holder.dispose()
        waiter.dispose()


def test_second_writer_waits_for_the_first(db_path):
    first = make_engine(str(db_path))
    second = make_engine(str(db_path), busy_timeout_ms=5_000)
    second_begins = threading.Event()

    def note_begin(statement: str) -> None:
        if statement.startswith("BEGIN"):
            second_begins.set()

    @event.listens_for(second, "connect")
    def _trace(dbapi_connection, connection_record):
        # SQLite traces a statement as it starts running: for BEGIN IMMEDIATE,
        # before it asks for the write lock.
        dbapi_connection.set_trace_callback(note_begin)

    try:
        with first.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x)")
        locked = threading.Event()
        held_until_the_second_began: list[bool] = []

        def hold_lock_until_the_second_begins():
            with first.begin() as conn:
                conn.exec_driver_sql("INSERT INTO t VALUES (1)")
                locked.set()
                held_until_the_second_began.append(second_begins.wait(5))

        thread = threading.Thread(target=hold_lock_until_the_second_begins)
        thread.start()
        locked.wait(5)
        # Read-then-write: in a deferred transaction this is the case that
        # fails with SQLITE_BUSY whatever the timeout; here it just waits.
        with second.begin() as conn:
            seen = conn.exec_driver_sql("SELECT count(*) FROM t").scalar()
            conn.exec_driver_sql("INSERT INTO t VALUES (?)", (seen + 1,))
        thread.join(10)
        assert not thread.is_alive()
        assert held_until_the_second_began == [True]
        with second.connect() as conn:
            assert conn.exec_driver_sql("SELECT max(x) FROM t").scalar() == 2
    finally:
        first.dispose()
        second.dispose()


def test_readers_do_not_wait_for_a_writer(engine):
    reader = for_reading(engine)
    with engine.begin() as writer:
        upsert(writer, TimeEntry, [entry(1)])
        with reader.connect() as conn:
            assert conn.scalar(select(TimeEntry.id)) is None  # snapshot before the commit


# --- read-only engine ----------------------------------------------------


def test_readonly_engine_reads_but_refuses_writes(engine, db_path):
    with engine.begin() as conn:
        upsert(conn, TimeEntry, [entry(1)])
    engine.dispose()  # no -wal/-shm left behind: the read-only open must cope
    readonly = open_database(db_path, Mode.READ_ONLY)
    try:
        with readonly.connect() as conn:
            assert conn.scalar(select(TimeEntry.description)) == "entry 1"
        with pytest.raises(OperationalError, match="readonly"):
            with readonly.begin() as conn:
                conn.execute(delete(TimeEntry))
        with pytest.raises(OperationalError, match="readonly"):
            with readonly.begin() as conn:
                conn.exec_driver_sql("CREATE TABLE sneaky (x)")
    finally:
        readonly.dispose()


def test_fast_read_only_refuses_writes(engine, db_path):
    engine.dispose()
    fast = open_database(db_path, Mode.FAST_READ_ONLY)
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            fast.conn.execute("DELETE FROM time_entries")
    finally:
        fast.close()


def test_read_only_opens_handle_awkward_paths(tmp_path):
    path = tmp_path / "my data #1?" / "toggl sync.db"
    open_database(str(path)).dispose()
    readonly = open_database(str(path), Mode.READ_ONLY)
    try:
        with readonly.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM time_entries").scalar() == 0
    finally:
        readonly.dispose()
    fast = open_database(str(path), Mode.FAST_READ_ONLY)
    try:
        assert fast._engine is None  # the driver opened it alone
        assert fast.conn.execute("SELECT count(*) FROM time_entries").fetchone() == (0,)
    finally:
        fast.close()


@pytest.mark.parametrize("mode", [Mode.READ_ONLY, Mode.FAST_READ_ONLY])
def test_read_only_opens_need_an_existing_file(tmp_path, mode):
    with pytest.raises(DatabaseNotFound):
        open_database(tmp_path / "missing.db", mode)
    assert not (tmp_path / "missing.db").exists()


# --- timestamps ----------------------------------------------------------


def test_timestamps_are_stored_as_utc_text(engine):
    start = datetime(2024, 12, 16, 11, 30, tzinfo=ZoneInfo("Europe/Tallinn"))
    at = datetime(2024, 12, 16, 9, 31, 2, 5, tzinfo=UTC)
    with engine.begin() as conn:
        upsert(conn, TimeEntry, [entry(1, start=start, stop=None, duration=-1, at=at)])
        stored = conn.execute(text("SELECT start, stop, at FROM time_entries")).one()
        assert tuple(stored) == ("2024-12-16 09:30:00", None, "2024-12-16 09:31:02.000005")
        back = conn.execute(select(TimeEntry.start, TimeEntry.at)).one()
    assert back.start == start and back.start.tzinfo == UTC
    assert back.at == at and back.at.microsecond == 5


def test_sqlite_date_functions_read_the_stored_text(engine):
    start = datetime(2024, 2, 29, 23, 59, 59, 250000, tzinfo=UTC)
    with engine.begin() as conn:
        upsert(conn, TimeEntry, [entry(1, start=start)])
        row = conn.execute(
            text("SELECT datetime(start), date(start), strftime('%s', start) FROM time_entries")
        ).one()
    assert tuple(row) == ("2024-02-29 23:59:59", "2024-02-29", str(int(start.timestamp())))


def test_naive_datetimes_are_refused(engine):
    with pytest.raises(ValueError, match="naive"):
        to_utc_text(datetime(2024, 1, 1))
    with engine.begin() as conn:
        with pytest.raises(ValueError, match="naive"):
            upsert(conn, TimeEntry, [entry(1, start=datetime(2024, 1, 1, 9))])


def test_queries_compare_timestamps_in_utc(engine):
    with engine.begin() as conn:
        upsert(
            conn,
            TimeEntry,
            [
                entry(1, start=datetime(2024, 1, 1, 8, tzinfo=UTC)),
                entry(2, start=datetime(2024, 1, 1, 10, tzinfo=UTC)),
            ],
        )
        # 10:30 in UTC+2 is 08:30 UTC: only entry 2 starts after it.
        after = datetime(2024, 1, 1, 10, 30, tzinfo=timezone(timedelta(hours=2)))
        assert conn.scalars(select(TimeEntry.id).where(TimeEntry.start > after)).all() == [2]


_zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=45)), timezone(timedelta(hours=-9)), ZoneInfo("America/New_York")]
)
_aware = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=_zones)


def instant(value: datetime) -> datetime:
    # Python never calls a time in a repeated (DST fold) hour equal to a time
    # in another zone; compare instants in UTC instead.
    return value.astimezone(UTC)


@given(_aware, _aware)
def test_text_order_is_time_order(a, b):
    assert (to_utc_text(a) < to_utc_text(b)) == (instant(a) < instant(b))
    assert (to_utc_text(a) == to_utc_text(b)) == (instant(a) == instant(b))


@given(_aware)
def test_text_round_trips(value):
    stored = to_utc_text(value)
    assert from_utc_text(stored) == instant(value)
    assert from_utc_text(stored).tzinfo == UTC
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?", stored)
    assert ("." in stored) == (value.microsecond != 0)


@pytest.fixture(scope="module")
def sqlite_functions():
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        yield conn
    engine.dispose()


@given(value=_aware)
def test_sqlite_reads_every_stored_timestamp(sqlite_functions, value):
    stored = to_utc_text(value)
    # datetime() returns NULL for text it cannot parse.
    assert sqlite_functions.exec_driver_sql("SELECT datetime(?)", (stored,)).scalar() == stored[:19]


# --- ids and JSON ----------------------------------------------------------


@pytest.mark.parametrize("toggl_id", [4_300_000_000, 2**62, 2**63 - 1, -1])
def test_64_bit_and_temporary_ids_round_trip(engine, toggl_id):
    with engine.begin() as conn:
        upsert(conn, TimeEntry, [entry(toggl_id, project_id=toggl_id, workspace_id=toggl_id)])
        row = conn.execute(select(TimeEntry.id, TimeEntry.project_id, TimeEntry.workspace_id)).one()
        assert tuple(row) == (toggl_id, toggl_id, toggl_id)
        # INTEGER PRIMARY KEY: the id is the rowid, no separate index.
        assert conn.exec_driver_sql("SELECT rowid = id FROM time_entries").scalar() == 1


def test_unicode_json_round_trips_unescaped(engine):
    raw = {"description": "Café ☕ 日本語 🕐", "tags": ["naïve"], "unknown_future_field": {"x": [1, None]}}
    with engine.begin() as conn:
        upsert(conn, TimeEntry, [entry(1, raw=raw, tags=["naïve"])])
        assert conn.scalar(select(TimeEntry.raw)) == raw
        stored = conn.exec_driver_sql("SELECT raw FROM time_entries").scalar()
        assert "Café ☕ 日本語 🕐" in stored
        extracted = conn.exec_driver_sql("SELECT json_extract(raw, '$.description') FROM time_entries").scalar()
        assert extracted == raw["description"]
        assert conn.scalar(select(TimeEntry.tags)) == ["naïve"]


def test_tag_lists_default_to_empty_json(engine):
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO time_entries (id, workspace_id, start, duration) VALUES (1, 1, '2024-01-01 00:00:00', 0)"
        )
        assert conn.execute(select(TimeEntry.tag_ids, TimeEntry.tags, TimeEntry.billable)).one() == ([], [], False)


# --- schema rules ------------------------------------------------------------


def test_running_duration_must_be_normalised(engine):
    with engine.begin() as conn:
        upsert(conn, TimeEntry, [entry(1, stop=None, duration=-1)])
        with pytest.raises(IntegrityError, match="duration_normalised"):
            upsert(conn, TimeEntry, [entry(2, stop=None, duration=-1734339324)])


def test_entry_tags_follow_their_entry(engine):
    with engine.begin() as conn:
        upsert(conn, TimeEntry, [entry(-5, tag_ids=[10, 11]), entry(6)])
        upsert(conn, TimeEntryTag, [{"time_entry_id": -5, "tag_id": 10}, {"time_entry_id": -5, "tag_id": 11}])
        # Pushed: the temporary id becomes Toggl's, the tag rows follow.
        conn.execute(update(TimeEntry).where(TimeEntry.id == -5).values(id=4_300_000_001))
        assert sorted(conn.execute(select(TimeEntryTag.time_entry_id, TimeEntryTag.tag_id)).all()) == [
            (4_300_000_001, 10),
            (4_300_000_001, 11),
        ]
        conn.execute(delete(TimeEntry).where(TimeEntry.id == 4_300_000_001))
        assert conn.execute(select(TimeEntryTag)).all() == []


def test_entry_tags_need_an_existing_entry(engine):
    with engine.begin() as conn:
        with pytest.raises(IntegrityError, match="FOREIGN KEY"):
            upsert(conn, TimeEntryTag, [{"time_entry_id": 99, "tag_id": 1}])


def test_references_to_unseen_records_are_allowed(engine):
    with engine.begin() as conn:
        upsert(conn, TimeEntry, [entry(1, project_id=123456789012, task_id=5)])
        assert conn.scalar(select(TimeEntry.project_id)) == 123456789012


# --- upsert ------------------------------------------------------------------


def test_upsert_inserts_then_updates(engine):
    with engine.begin() as conn:
        upsert(conn, TimeEntry, [entry(1), entry(2)])
        upsert(conn, TimeEntry, [entry(2, description="changed", tag_ids=[3], tags=["x"]), entry(3)])
        rows = conn.execute(select(TimeEntry.id, TimeEntry.description, TimeEntry.tag_ids).order_by(TimeEntry.id)).all()
    assert rows == [(1, "entry 1", []), (2, "changed", [3]), (3, "entry 3", [])]


def test_upsert_writes_only_the_columns_given(engine):
    project = {"id": 9, "workspace_id": 1, "name": "Build", "color": "#06aaf5", "raw": {"id": 9}}
    with engine.begin() as conn:
        upsert(conn, Project.__table__, [project])
        upsert(conn, Project.__table__, [{"id": 9, "workspace_id": 1, "name": "Build v2"}])
        row = conn.execute(select(Project.name, Project.color, Project.active)).one()
    assert tuple(row) == ("Build v2", "#06aaf5", True)


def test_upsert_handles_more_rows_than_sqlite_variables(engine):
    rows = [entry(i) for i in range(1, 1501)]  # 14 columns x 1500 rows = 21000 variables
    with engine.begin() as conn:
        assert upsert(conn, TimeEntry, rows) == 1500
        assert upsert(conn, TimeEntry, [dict(r, description="again") for r in rows]) == 1500
        counts = conn.execute(text("SELECT count(*), count(DISTINCT description) FROM time_entries")).one()
    assert tuple(counts) == (1500, 1)


def test_upsert_of_key_only_rows_ignores_duplicates(engine):
    with engine.begin() as conn:
        upsert(conn, TimeEntry, [entry(1)])
        link = {"time_entry_id": 1, "tag_id": 2}
        upsert(conn, TimeEntryTag, [link])
        upsert(conn, TimeEntryTag, [link, link])
        assert conn.execute(select(TimeEntryTag.tag_id)).scalars().all() == [2]


def test_upsert_rejects_mixed_or_keyless_rows(engine):
    with engine.begin() as conn:
        with pytest.raises(ValueError, match="same columns"):
            upsert(conn, TimeEntry, [entry(1), {"id": 2}])
        with pytest.raises(ValueError, match="primary key"):
            upsert(conn, TimeEntry, [{"description": "no id"}])
    assert upsert(None, TimeEntry, []) == 0  # type: ignore[arg-type]


# --- cursors and quota -------------------------------------------------------


def test_cursor_round_trip(engine):
    first = datetime(2024, 12, 16, 1, 55, 24, 123456, tzinfo=UTC)
    full = datetime(2024, 12, 16, 2, 0, tzinfo=UTC)
    with engine.begin() as conn:
        assert get_cursor(conn, "time_entries") is None
        set_cursor(conn, "time_entries", first, full_sync_at=full)
        set_cursor(conn, "projects:123", first)
        later = first + timedelta(minutes=5)
        set_cursor(conn, "time_entries", later)
        assert get_cursor(conn, "time_entries") == later
        assert get_cursor(conn, "projects:123") == first
        stored = conn.execute(text("SELECT full_sync_at FROM sync_cursors WHERE resource = 'time_entries'")).scalar()
    assert stored == "2024-12-16 02:00:00"  # kept when a later pull was incremental


def test_quota_round_trip_keeps_the_newest_observation(engine):
    seen = datetime(2025, 9, 1, 12, 0, tzinfo=UTC)
    user = QuotaSnapshot(pool="user", remaining=3, resets_in=1200, observed_at=seen)
    workspace = QuotaSnapshot(pool="workspace:42", remaining=None, resets_in=None, observed_at=seen)
    stale = QuotaSnapshot(pool="user", remaining=29, resets_in=3600, observed_at=seen - timedelta(minutes=30))
    newer = QuotaSnapshot(pool="user", remaining=2, resets_in=1190, observed_at=seen + timedelta(seconds=10))
    with engine.begin() as conn:
        record_quota(conn, [user, workspace])
        record_quota(conn, [stale])
        assert load_quota(conn) == {"user": user, "workspace:42": workspace}
        record_quota(conn, [newer])
        quota = load_quota(conn)
        assert quota["user"] == newer
        assert quota["user"].resets_at == datetime(2025, 9, 1, 12, 20, tzinfo=UTC)
        assert conn.scalar(select(QuotaState.resets_at).where(QuotaState.pool == "user")) == newer.resets_at


def _pages_after_upserts(path, batches) -> int:
    engine = open_database(str(path))
    try:
        for batch in batches:
            with engine.begin() as conn:
                upsert(conn, TimeEntry, batch)
    finally:
        engine.dispose()
    with sqlite3.connect(path) as raw:
        return int(raw.execute("PRAGMA page_count").fetchone()[0])


def test_rows_sent_newest_first_take_no_more_room_than_sorted_ones(tmp_path):
    """Toggl sends entries newest first: inserting them so splits the B-tree's pages half
    empty. The file must stay about the size the same rows take inserted by id."""
    ids = list(range(1_000_000, 1_000_000 + 6000))
    made = lambda i: entry(i, description=f"entry {i} " + "x" * 120, raw={"id": i, "d": "y" * 200},  # noqa: E731
                           start=datetime(2024, 12, 16, tzinfo=UTC) + timedelta(minutes=i - ids[0]))
    newest_first = [made(i) for i in reversed(ids)]
    sorted_pages = _pages_after_upserts(tmp_path / "a" / "t.db", [[made(i) for i in ids[k:k + 2000]] for k in range(0, 6000, 2000)])
    newest_first_pages = _pages_after_upserts(tmp_path / "b" / "t.db", [newest_first[k:k + 2000] for k in range(0, 6000, 2000)])
    assert newest_first_pages <= sorted_pages * 1.1, (newest_first_pages, sorted_pages)
