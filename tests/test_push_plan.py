"""The push's decisions, with plain data: what to do with one operation, and with a create in flight."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

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
    assert in_flight_verdict(2, sent_at=NOW, now=NOW) is Verdict.AMBIGUOUS
    assert in_flight_verdict(2, sent_at=NOW, now=NOW, adopt_only=True) is Verdict.WAIT
