"""The outbox: the only writer of `pending_operations`, and each of its transitions.

The transitions run on a real database (`open_database`), through a
SQLAlchemy connection, inside one transaction each, as their callers use them.
"""

from __future__ import annotations

import ast
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from togglsync import outbox
from togglsync.db.open import open_database
from togglsync.outbox import Action, State

PACKAGE = Path(__file__).resolve().parent.parent / "togglsync"
OWNER = PACKAGE / "outbox.py"
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
WID = 7

# Writes in SQL text: INSERT INTO / UPDATE / DELETE FROM / REPLACE INTO pending_operations.
_SQL_WRITE = re.compile(
    r"\b(insert\s+(or\s+\w+\s+)?into|replace\s+into|update|delete\s+from)\s+[\"'`]?pending_operations\b",
    re.IGNORECASE,
)
# Writes through the ORM: insert(PendingOperation), update(...), delete(...), and their table forms.
_ORM_WRITE = re.compile(r"\b(insert|update|delete)\(\s*PendingOperation\b(\.__table__)?")


def _writers(path: Path) -> list[str]:
    """Where one source file writes `pending_operations` (line: what)."""
    text = path.read_text(encoding="utf-8")
    found = []
    tree = ast.parse(text)
    for node in ast.walk(tree):
        # SQL text, however it is built: every string constant (f-string parts included).
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if _SQL_WRITE.search(node.value):
                found.append(f"{node.lineno}: SQL {node.value.strip()[:60]!r}")
        # ORM: insert/update/delete called with PendingOperation (or its table).
        if isinstance(node, ast.Call) and _call_name(node.func) in {"insert", "update", "delete"} and node.args:
            target = ast.unparse(node.args[0])
            if target.startswith("PendingOperation"):
                found.append(f"{node.lineno}: ORM {_call_name(node.func)}({target})")
        # Model instances added to a session.
        if isinstance(node, ast.Call) and _call_name(node.func) == "PendingOperation":
            found.append(f"{node.lineno}: ORM PendingOperation(...)")
    # And by text, for what the AST walk cannot see (a write split over string concatenation).
    for lineno, line in enumerate(text.splitlines(), 1):
        if _ORM_WRITE.search(line) and not any(f.startswith(f"{lineno}:") for f in found):
            found.append(f"{lineno}: ORM {line.strip()[:60]}")
    return sorted(found, key=lambda f: int(f.split(":")[0]))


def _call_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""




def test_only_the_outbox_writes_pending_operations():
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if path == OWNER:
            continue
        found = _writers(path)
        if found:
            offenders[rel] = found
    assert offenders == {}, "write pending_operations through togglsync.outbox only"


def test_the_writer_check_sees_every_form(tmp_path):
    """The check itself: each way of writing is caught; reads are not."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "a = 'INSERT INTO pending_operations (x) VALUES (?)'\n"
        "b = f\"UPDATE pending_operations SET state = {s}\"\n"
        "c = 'delete from  \"pending_operations\" where id = 1'\n"
        "conn.execute(update(PendingOperation).where(PendingOperation.id == 1))\n"
        "conn.execute(delete(PendingOperation.__table__))\n"
        "conn.execute(insert(PendingOperation).values(x=1))\n"
        "session.add(PendingOperation(resource='tag'))\n"
        "ok = 'SELECT * FROM pending_operations'\n"
        "ok2 = select(PendingOperation.id)\n"
    )
    found = _writers(sample)
    assert [f.split(":")[0] for f in found] == ["1", "2", "3", "4", "5", "6", "7"], found


# --- transitions on a real database --------------------------------------------------------------


@pytest.fixture
def engine(tmp_path):
    engine = open_database(tmp_path / "x.db")
    yield engine
    engine.dispose()


def _ops(engine, resource="time_entry", record_id=None):
    with engine.connect() as conn:
        ops = outbox.every(conn)
    return [op for op in ops if record_id is None or (op.resource == resource and op.record_id == record_id)]


def test_queue_create_gives_a_negative_temporary_id_owned_by_its_operation(engine):
    with engine.begin() as conn:
        first = outbox.queue_create(conn, "time_entry", WID, NOW, account="main")
        second = outbox.queue_create(conn, "tag", WID, NOW, account="main")
    assert first < 0 and second < 0 and first != second
    [a, b] = _ops(engine)
    assert (a.action, a.state, a.record_id, a.id) == (Action.CREATE, State.QUEUED, first, -first)
    assert a.temporary and b.resource == "tag" and a.created_at == NOW and a.attempts == 0


def test_edits_coalesce_into_a_queued_operation(engine):
    base = {"description": "before"}
    with engine.begin() as conn:
        outbox.note_edit(conn, "time_entry", 11, WID, base, NOW, account="main")
        outbox.note_edit(conn, "time_entry", 11, WID, {"description": "later"}, NOW, account="main")
    [op] = _ops(engine)
    assert op.action is Action.UPDATE and op.base == base  # the first base stays: the server's state

    with engine.begin() as conn:
        temp = outbox.queue_create(conn, "time_entry", WID, NOW, account="main")
        outbox.note_edit(conn, "time_entry", temp, WID, {"description": "x"}, NOW, account="main")
    assert [op.action for op in _ops(engine, record_id=temp)] == [Action.CREATE]  # the create carries it


def test_an_operation_in_flight_is_never_changed_an_edit_gets_its_own(engine):
    with engine.begin() as conn:
        temp = outbox.queue_create(conn, "time_entry", WID, NOW, account="main")
        outbox.mark_in_flight(conn, -temp, {"start": "x"}, NOW - timedelta(seconds=1), NOW)
        outbox.note_edit(conn, "time_entry", temp, WID, {"description": "a"}, NOW, account="main")
    create, update = _ops(engine, record_id=temp)
    assert create.state is State.IN_FLIGHT and create.fingerprint == {"start": "x"} and create.attempts == 1
    assert create.sent_at == NOW - timedelta(seconds=1)
    assert (update.action, update.state) == (Action.UPDATE, State.QUEUED)
    with engine.connect() as conn:
        assert [op.id for op in outbox.in_flight(conn)] == [create.id]
        assert outbox.counts(conn) == {State.IN_FLIGHT: 1, State.QUEUED: 1}

    with engine.begin() as conn:
        outbox.requeue(conn, create.id)
    assert _ops(engine, record_id=temp)[0].state is State.QUEUED


def test_park_retry_settle_and_drop(engine):
    with engine.begin() as conn:
        op_id = outbox.queue(conn, "project", Action.UPDATE, 5, WID, {"name": "a"}, NOW, account="main")
        other = outbox.queue(conn, "project", Action.DELETE, 6, WID, {"name": "b"}, NOW, account="main")
        outbox.park(conn, op_id, "400: " + "x" * 600, NOW)
    [op, _] = _ops(engine)
    assert op.state is State.FAILED and op.error.startswith("400: ") and len(op.error) == 500

    with engine.begin() as conn:
        outbox.retry(conn, op_id, NOW)
    [op, _] = _ops(engine)
    assert (op.state, op.error) == (State.QUEUED, None)

    with engine.begin() as conn:
        outbox.rebase(conn, op_id, {"name": "b"}, NOW)
        assert outbox.get(conn, op_id).base == {"name": "b"}
        outbox.settle(conn, op_id)
        assert outbox.get(conn, op_id) is None
        outbox.drop(conn, [other])
        assert outbox.every(conn) == []


def test_queued_is_in_push_order_parents_first_deletes_children_first(engine):
    with engine.begin() as conn:
        outbox.queue(conn, "time_entry", Action.UPDATE, 1, WID, {}, NOW, account="main")
        outbox.queue(conn, "client", Action.UPDATE, 2, WID, {}, NOW, account="main")
        outbox.queue(conn, "client", Action.DELETE, 3, WID, {}, NOW, account="main")
        outbox.queue(conn, "time_entry", Action.DELETE, 4, WID, {}, NOW, account="main")
        outbox.queue(conn, "project", Action.CREATE, 5, WID, None, NOW, account="main")
        order = [(op.resource, op.action) for op in outbox.queued(conn)]
    assert order == [
        ("client", "update"), ("project", "create"), ("time_entry", "update"),
        ("time_entry", "delete"), ("client", "delete"),
    ]


def test_updates_of_records_toggl_has_go_before_creates_of_their_kind(engine):
    """A timer stopped here reaches Toggl before the create of the one that overtook it
    (Toggl would stop it at sync time); an update of a record not created yet waits for it."""
    with engine.begin() as conn:
        temp = outbox.queue_create(conn, "time_entry", WID, NOW, account="main")
        outbox.queue(conn, "time_entry", Action.UPDATE, temp, WID, {}, NOW, account="main")
        outbox.queue(conn, "time_entry", Action.UPDATE, 8, WID, {}, NOW, account="main")
        order = [(op.action, op.record_id) for op in outbox.queued(conn)]
    assert order == [("update", 8), ("create", temp), ("update", temp)]


def test_note_delete_of_a_never_sent_create_leaves_nothing(engine):
    with engine.begin() as conn:
        temp = outbox.queue_create(conn, "time_entry", WID, NOW, account="main")
        outbox.note_edit(conn, "time_entry", temp, WID, {"description": "x"}, NOW, account="main")
        outbox.note_delete(conn, "time_entry", temp, WID, {"description": "y"}, NOW, account="main")
    assert _ops(engine) == []


def test_note_delete_of_a_create_in_flight_queues_a_delete_behind_it(engine):
    with engine.begin() as conn:
        temp = outbox.queue_create(conn, "time_entry", WID, NOW, account="main")
        outbox.mark_in_flight(conn, -temp, {}, NOW, NOW)
        outbox.note_delete(conn, "time_entry", temp, WID, {"description": "y"}, NOW, account="main")
    assert [(op.action, op.state) for op in _ops(engine)] == [
        (Action.CREATE, State.IN_FLIGHT), (Action.DELETE, State.QUEUED)
    ]


def test_note_delete_turns_a_queued_update_into_the_delete_and_drops_refused_updates(engine):
    with engine.begin() as conn:
        refused = outbox.queue(conn, "tag", Action.UPDATE, 9, WID, {"name": "a"}, NOW, account="main")
        outbox.park(conn, refused, "400: no", NOW)
        outbox.queue(conn, "tag", Action.UPDATE, 9, WID, {"name": "b"}, NOW, account="main")
        outbox.note_delete(conn, "tag", 9, WID, {"name": "c"}, NOW, account="main")
    [op] = _ops(engine)
    assert (op.action, op.state, op.base) == (Action.DELETE, State.QUEUED, {"name": "b"})


def test_parking_a_refused_create_folds_the_updates_queued_behind_it(engine):
    with engine.begin() as conn:
        temp = outbox.queue_create(conn, "project", WID, NOW, account="main")
        outbox.mark_in_flight(conn, -temp, {}, NOW, NOW)
        outbox.note_edit(conn, "project", temp, WID, {"name": "a"}, NOW, account="main")  # queued behind the create
        outbox.park(conn, -temp, "400: bad", NOW)
    [op] = _ops(engine)
    assert (op.action, op.state) == (Action.CREATE, State.FAILED)
    with engine.connect() as conn:
        assert outbox.rejected_create(outbox.for_record(conn, "project", temp))
        assert not outbox.edit_needs_update(outbox.for_record(conn, "project", temp))


def test_parking_a_refused_create_of_a_record_deleted_meanwhile_leaves_nothing(engine):
    with engine.begin() as conn:
        temp = outbox.queue_create(conn, "project", WID, NOW, account="main")
        outbox.mark_in_flight(conn, -temp, {}, NOW, NOW)
        outbox.note_delete(conn, "project", temp, WID, {"name": "a"}, NOW, account="main")
        outbox.park(conn, -temp, "400: bad", NOW)
    assert _ops(engine) == []


def test_park_undecided_keeps_what_is_queued_behind(engine):
    with engine.begin() as conn:
        temp = outbox.queue_create(conn, "tag", WID, NOW, account="main")
        outbox.mark_in_flight(conn, -temp, {}, NOW, NOW)
        outbox.note_delete(conn, "tag", temp, WID, {"name": "a"}, NOW, account="main")
        outbox.park_undecided(conn, -temp, "ambiguous: 2 records", NOW)
    assert [(op.action, op.state) for op in _ops(engine)] == [
        (Action.CREATE, State.FAILED), (Action.DELETE, State.QUEUED)
    ]


def test_rewrite_record_moves_operations_and_every_base_naming_it(engine):
    with engine.begin() as conn:
        temp = outbox.queue_create(conn, "tag", WID, NOW, account="main")
        outbox.queue(conn, "tag", Action.UPDATE, temp, WID, {"name": "a"}, NOW, account="main")
        entry_op = outbox.queue(conn, "time_entry", Action.UPDATE, 3, WID, {"tag_ids": [temp, 1]}, NOW, account="main")
        outbox.rewrite_record(conn, "tag", temp, 50)
        assert {op.record_id for op in outbox.by_record(conn, "tag")[50]} == {50}
        assert outbox.record_ids(conn, "tag") == {50}
        assert outbox.get(conn, entry_op).base == {"tag_ids": [1, 50]}


def test_forget_references_clears_bases_naming_deleted_records(engine):
    with engine.begin() as conn:
        entry_op = outbox.queue(conn, "time_entry", Action.UPDATE, 3, WID, {"tag_ids": [1, 2], "project_id": 4}, NOW, account="main")
        project_op = outbox.queue(conn, "project", Action.UPDATE, 4, WID, {"client_id": 8}, NOW, account="main")
        outbox.forget_references(conn, "tag", [2])
        outbox.forget_references(conn, "project", [4])
        outbox.forget_references(conn, "client", [8])
        assert outbox.get(conn, entry_op).base == {"tag_ids": [1], "project_id": None}
        assert outbox.get(conn, project_op).base == {"client_id": None}


def test_drop_record_removes_every_operation_of_one_record(engine):
    with engine.begin() as conn:
        temp = outbox.queue_create(conn, "client", WID, NOW, account="main")
        outbox.mark_in_flight(conn, -temp, {}, NOW, NOW)
        outbox.queue(conn, "client", Action.DELETE, temp, WID, {}, NOW, account="main")
        keep = outbox.queue(conn, "client", Action.UPDATE, 1, WID, {}, NOW, account="main")
        outbox.drop_record(conn, "client", temp)
        assert [op.id for op in outbox.every(conn)] == [keep]
