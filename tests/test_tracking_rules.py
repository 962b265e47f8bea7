"""The rules of time entries, through the Python API (LocalStore) and the pure helpers it calls.

The CLI's `start`, `stop`, `continue`, `add` and `edit` only parse and render:
each rule here is enforced by the library, so a script gets the same refusals
as the command line (tests/test_cli_tracking_errors.py checks the commands).
Every refusal leaves the database as it was.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from togglsync import records, timer
from togglsync.db.models import Account, Tag, Workspace
from togglsync.db.open import open_database
from togglsync.errors import UsageError
from togglsync.local import LocalStore

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
WID = 10
PARIS = ZoneInfo("Europe/Paris")


def at(hours: float) -> datetime:
    """NOW plus (or minus) some hours."""
    return NOW + timedelta(hours=hours)


@pytest.fixture
def store(tmp_path):
    engine = open_database(tmp_path / "rules.db")
    with engine.begin() as conn:
        conn.execute(Account.__table__.insert().values(id=1, default_workspace_id=WID, synced_at=NOW))
        conn.execute(Workspace.__table__.insert().values(id=WID, name="Mine"))
        conn.execute(Tag.__table__.insert(), [{"id": i, "workspace_id": WID, "name": f"t{i}"} for i in (1, 2, 3)])
    yield LocalStore(engine, clock=lambda: NOW)
    engine.dispose()


def dump(store: LocalStore) -> list:
    with store.engine.connect() as conn:
        return [
            list(conn.execute(text(f"SELECT * FROM {t} ORDER BY 1")))
            for t in ("time_entries", "time_entry_tags", "pending_operations")
        ]


def refused(store: LocalStore, call, match: str) -> str:
    before = dump(store)
    with pytest.raises(UsageError, match=match) as error:
        call()
    assert dump(store) == before
    return str(error.value)


# --- start, stop, continue ----------------------------------------------------------------------


def test_a_timer_cannot_start_later_than_now(store):
    message = refused(store, lambda: store.start_timer("x", start=at(1), tz=PARIS), "is in the future")
    assert message == "the start (14:00) is in the future: a timer can't start later than now"  # Paris time
    assert store.start_timer("x", start=NOW)["start"] == NOW


def test_a_new_timer_starts_after_the_running_one(store):
    store.start_timer("first", start=at(-2))
    message = refused(store, lambda: store.start_timer("second", start=at(-2)), "not after the start of the running")
    assert message.endswith("(10:00 UTC): stop it first")  # no zone given: times in UTC, and it says so
    store.start_timer("second", start=at(-1))
    assert store.running_entry()["description"] == "second"


def test_a_timer_stops_after_its_start_and_no_later_than_now(store):
    store.start_timer("x", start=at(-2))
    refused(store, lambda: store.stop_timer(at(-3)), "is before the timer's start")
    refused(store, lambda: store.stop_timer(at(1), tz=PARIS), r"the stop \(14:00\) is in the future")
    assert store.stop_timer(at(-1))["duration"] == 3600


def test_continue_defaults_to_the_latest_stopped_entry_and_refuses_the_running_one(store):
    refused(store, lambda: store.continue_entry(), "there is no stopped entry to continue")
    store.add_entry("older", start=at(-5), duration=600)
    store.add_entry("latest", start=at(-4), duration=600)
    running = store.start_timer("running", start=at(-1))
    refused(store, lambda: store.continue_entry(running["id"]), "is the running timer")
    refused(store, lambda: store.continue_entry(start=at(1)), "is in the future")
    assert store.continue_entry()["description"] == "latest"


# --- add ---------------------------------------------------------------------------------------


def test_an_added_entry_needs_an_end_that_agrees(store):
    refused(store, lambda: store.add_entry("x", start=at(-2)), "give a stop time or a duration")
    refused(store, lambda: store.add_entry("x", start=at(-2), stop=at(-3), tz=PARIS),
            r"the stop \(10:00\) is before the start \(11:00\)")
    message = refused(store, lambda: store.add_entry("x", start=at(-2), stop=at(-1), duration=7200, tz=PARIS),
                      "disagree")
    assert message == ("the stop (12:00) and the duration (2:00:00) disagree "
                       "(the start plus the duration is 13:00): give one of them")
    entry = store.add_entry("x", start=at(-2), stop=at(-1), duration=3600)
    assert (entry["stop"], entry["duration"]) == (at(-1), 3600)
    assert store.add_entry("y", start=at(-2), duration=1800)["stop"] == at(-1.5)


def test_descriptions_are_one_trimmed_line_and_blank_is_none(store):
    refused(store, lambda: store.add_entry("two\nlines", start=at(-2), duration=60), "line breaks")
    refused(store, lambda: store.start_timer("two\r\nlines"), "line breaks")
    assert store.add_entry("  padded  ", start=at(-2), duration=60)["description"] == "padded"
    entry = store.start_timer("   ", start=at(-1))
    assert entry["description"] is None
    refused(store, lambda: store.edit_entry(entry["id"], description="a\nb"), "line breaks")
    assert store.edit_entry(entry["id"], description=" new ")["description"] == "new"


# --- edit: times --------------------------------------------------------------------------------


def test_a_new_start_keeps_the_stop_and_must_not_pass_it(store):
    entry = store.add_entry("x", start=at(-3), duration=3600)  # 10:00-11:00 in Paris
    refused(store, lambda: store.edit_entry(entry["id"], start=at(-1.5), tz=PARIS),
            r"the new start \(11:30\) is after the entry's stop \(11:00\)")
    edited = store.edit_entry(entry["id"], start=at(-3.5))
    assert (edited["start"], edited["stop"], edited["duration"]) == (at(-3.5), at(-2), 5400)


def test_a_new_stop_or_duration_must_agree_with_the_start(store):
    entry = store.add_entry("x", start=at(-3), duration=3600)
    refused(store, lambda: store.edit_entry(entry["id"], stop=at(-4)), "is before the start")
    refused(store, lambda: store.edit_entry(entry["id"], stop=at(-1), duration=60), "disagree")
    edited = store.edit_entry(entry["id"], duration=1800)  # moves the stop
    assert (edited["stop"], edited["duration"]) == (at(-2.5), 1800)
    edited = store.edit_entry(entry["id"], start=at(-4), duration=600)  # from the new start
    assert (edited["start"], edited["stop"]) == (at(-4), at(-4) + timedelta(minutes=10))


def test_a_running_entry_is_edited_no_later_than_now(store):
    running = store.start_timer("x", start=at(-1))
    refused(store, lambda: store.edit_entry(running["id"], start=at(1)), "a running timer can't start later than now")
    refused(store, lambda: store.edit_entry(running["id"], stop=at(1)), "a running timer can't stop later than now")
    refused(store, lambda: store.edit_entry(running["id"], duration=7200), "can't stop later than now")
    moved = store.edit_entry(running["id"], start=at(-2))
    assert moved["start"] == at(-2) and moved["duration"] < 0  # still running
    stopped = store.edit_entry(running["id"], duration=1800)  # a length stops it
    assert (stopped["stop"], stopped["duration"]) == (at(-1.5), 1800)


# --- edit: tags ---------------------------------------------------------------------------------


def test_edited_tags_replace_add_and_remove():
    assert records.edited_tags([1, 2]) == [1, 2]
    assert records.edited_tags([1, 2], replace=[3]) == [3]
    assert records.edited_tags([1, 2], replace=[]) == []
    assert records.edited_tags([1, 2], add=[3, 1]) == [1, 2, 3]
    assert records.edited_tags([1, 2], remove=[1, 9]) == [2]
    assert records.edited_tags([1, 2], replace=[3], add=[1], remove=[3]) == [1]


def test_edit_entry_combines_tags_with_the_current_ones(store):
    entry = store.add_entry("x", start=at(-3), duration=60, tag_ids=[1, 2])
    assert store.edit_entry(entry["id"], add_tag_ids=[3])["tag_ids"] == [1, 2, 3]
    assert store.edit_entry(entry["id"], remove_tag_ids=[1])["tag_ids"] == [2, 3]
    assert store.edit_entry(entry["id"], tag_ids=[1], add_tag_ids=[2], remove_tag_ids=[3])["tag_ids"] == [1, 2]
    assert store.edit_entry(entry["id"], tag_ids=[])["tag_ids"] == []
    refused(store, lambda: store.edit_entry(entry["id"], add_tag_ids=[99]), "no tag with id 99")


# --- the pure rules, without a database ------------------------------------------------------------


def test_span_and_edited_times_are_pure():
    assert timer.span(at(-1), None, 60) == at(-1) + timedelta(minutes=1)
    with pytest.raises(UsageError, match="2026-11-19 23:00"):  # not on the start's day: the date is shown
        timer.span(at(-1), at(-14), None, tz=PARIS)
    row = {"start": at(-3), "stop": at(-2), "duration": 3600}
    assert timer.edited_times(row, now=NOW) == {}
    assert timer.edited_times(row, stop=at(-1), now=NOW) == {"start": at(-3), "stop": at(-1), "duration": 7200}
