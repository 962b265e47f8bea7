"""The push's decisions, with plain data: what to do with one operation, and with a create in flight."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta, timezone

import pytest

from togglsync import records
from togglsync.records import Match, create_match
from togglsync.sync.plan import VISIBILITY_MARGIN, Step, Verdict, in_flight_verdict, push_step

ENTRY = {"id": 5, "project_id": 3, "tag_ids": [1, 2]}
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("kind", "action", "record_id", "row", "step"),
    [
        ("time_entry", "delete", -4, None, Step.BLOCKED),  # waits for its create
        ("time_entry", "delete", 5, None, Step.DELETE),
        ("time_entry", "delete", 5, ENTRY, Step.DELETE),
        ("time_entry", "create", -4, None, Step.DROP_RECORD),  # deleted here after a requeue
        ("time_entry", "update", 5, None, Step.DROP),
        ("time_entry", "create", -4, {**ENTRY, "project_id": -9}, Step.BLOCKED),  # project not pushed yet
        ("time_entry", "update", 5, {**ENTRY, "tag_ids": [1, -2]}, Step.BLOCKED),  # a tag not pushed yet
        ("project", "update", 5, {"id": 5, "client_id": -1}, Step.BLOCKED),
        ("time_entry", "create", -4, ENTRY, Step.CREATE),
        ("time_entry", "update", -4, ENTRY, Step.BLOCKED),  # its create has not finished
        ("time_entry", "update", 5, ENTRY, Step.UPDATE),
        ("tag", "update", 8, {"id": 8, "name": "x"}, Step.UPDATE),
    ],
)
def test_push_step(kind, action, record_id, row, step):
    assert push_step(kind, action, record_id, row) is step


def test_in_flight_verdict_adopts_one_match_at_once():
    assert in_flight_verdict(1, sent_at=NOW, now=NOW) is Verdict.ADOPT
    assert in_flight_verdict(1, sent_at=NOW, now=NOW, adopt_only=True) is Verdict.ADOPT


def test_in_flight_verdict_resends_only_once_the_send_would_be_visible():
    assert in_flight_verdict(0, sent_at=NOW, now=NOW + VISIBILITY_MARGIN - timedelta(seconds=1)) is Verdict.WAIT
    assert in_flight_verdict(0, sent_at=NOW, now=NOW + VISIBILITY_MARGIN) is Verdict.RESEND
    assert in_flight_verdict(0, sent_at=None, now=NOW) is Verdict.RESEND
    # After a partial pull, "not found" proves nothing.
    assert in_flight_verdict(0, sent_at=None, now=NOW, adopt_only=True) is Verdict.WAIT


def test_in_flight_verdict_several_matches_are_for_the_user():
    assert in_flight_verdict(2, sent_at=NOW, now=NOW) is Verdict.ASK
    assert in_flight_verdict(2, sent_at=NOW, now=NOW, adopt_only=True) is Verdict.WAIT


def test_in_flight_verdict_a_near_record_is_neither_adopted_nor_ignored():
    late = NOW + VISIBILITY_MARGIN
    assert in_flight_verdict(0, 1, sent_at=NOW, now=late) is Verdict.ASK
    assert in_flight_verdict(1, 3, sent_at=NOW, now=late) is Verdict.ADOPT  # an exact match settles it
    # Before the margin the exact one may still appear; after a partial pull, nothing is concluded.
    assert in_flight_verdict(0, 1, sent_at=NOW, now=NOW) is Verdict.WAIT
    assert in_flight_verdict(0, 1, sent_at=NOW, now=late, adopt_only=True) is Verdict.WAIT


SENT_ENTRY = {
    "description": "Meeting", "project_id": 7, "task_id": None, "start": "2026-12-01T14:00:00Z",
    "stop": "2026-12-01T15:00:00Z", "duration": 3600, "billable": False, "tag_ids": [1, 2],
}


def _entry_fingerprint(**changes):
    return {"workspace_id": 1, "user_id": 9, "after_id": 100, "sent": {**SENT_ENTRY, **changes}}


def _server_entry(**changes):
    row = {**SENT_ENTRY, "workspace_id": 1, "user_id": 9, "id": 101, **changes}
    return records.from_state(row)


@pytest.mark.parametrize(
    "server, match",
    [
        ({}, Match.EXACT),
        ({"tag_ids": [2, 1]}, Match.EXACT),
        ({"description": "  Meeting "}, Match.EXACT),  # Toggl trims
        ({"description": "renamed on the phone"}, Match.NEAR),
        ({"start": "2026-12-01T13:30:00Z", "duration": 5400}, Match.NEAR),
        ({"duration": 1500, "stop": "2026-12-01T14:25:00Z"}, Match.NEAR),  # a look-alike
        ({"project_id": 8}, Match.NEAR),
        ({"description": "other", "start": "2026-12-01T09:00:00Z", "stop": "2026-12-01T10:00:00Z"}, Match.NONE),
        ({"workspace_id": 2}, Match.NONE),
        ({"user_id": 10}, Match.NONE),  # another member's entry
        ({"duration": -1, "stop": None}, Match.NONE),  # a stopped entry we sent never runs again
    ],
)
def test_create_match_for_an_entry(server, match):
    assert create_match("time_entry", _entry_fingerprint(), _server_entry(**server)) is match


def test_create_match_a_timer_we_sent_may_have_been_stopped_since():
    fingerprint = _entry_fingerprint(stop=None, duration=-1)
    assert create_match("time_entry", fingerprint, _server_entry()) is Match.EXACT


def test_create_match_unicode_forms_are_the_same_text():
    fingerprint = _entry_fingerprint(description=unicodedata.normalize("NFD", "Café"))
    assert create_match("time_entry", fingerprint, _server_entry(description="Café")) is Match.EXACT


@pytest.mark.parametrize(
    "server, match",
    [
        ({}, Match.EXACT),
        ({"name": "website", "color": "#aabbcc"}, Match.EXACT),  # names ignore case; Toggl picked a colour
        ({"client_id": 5}, Match.NEAR),  # same name, another client: a colleague's, or ours moved
        ({"name": "Web site"}, Match.NEAR),  # renamed elsewhere
        ({"name": "Other", "client_id": 5}, Match.NONE),
    ],
)
def test_create_match_for_a_project(server, match):
    sent = {"name": "Website", "client_id": 4, "color": None, "billable": False, "is_private": True, "active": True}
    fingerprint = {"workspace_id": 1, "after_id": 100, "sent": sent}
    row = {**sent, "color": "#123456", "workspace_id": 1, "id": 101, **server}
    assert create_match("project", fingerprint, row) is match
