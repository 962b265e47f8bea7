"""Bad input to every timer / time entry command: one `Error:` line, exit code 2, the database untouched.

"Untouched" is checked on a dump of every table (schema and rows) taken before
and after the failing command. The simulator is down: nothing is sent either.
"""

from __future__ import annotations

import pytest
from test_cli_tracking_support import (
    dump,
    error_line,
    offline_copy,
    ok,
    synced_template,
)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return synced_template(tmp_path_factory)


@pytest.fixture
def offline(template, tmp_path):
    return offline_copy(template, tmp_path)


PARIS = ("--tz", "Europe/Paris")
PAST = "2020-01-02 10:00"  # before the seeded running timer started (it runs now)

# (setup commands, failing command, a piece of the expected message)
CASES = {
    # start
    "start unknown project": ([], ("start", "x", "-p", "Webside relaunch"), "did you mean 'Website relaunch'"),
    "start unknown tag": ([], ("start", "x", "-t", "meetin"), "no tag named 'meetin'"),
    "start unknown project id with --create": ([], ("start", "x", "-p", "12345", "--create"), "no project with id 12345"),
    "start bad time": ([], ("start", "--at", "25:00"), "--at: time '25:00' not understood"),
    "start in the future": ([], ("start", "--at", "+1h"), "is in the future"),
    "start before the running timer": ([], ("start", "x", "--at", PAST, "-p", "Brand new", "--create"),
                                       "not after the start of the running timer"),
    "start in a DST gap": ([("stop",)], (*PARIS, "start", "--at", "2026-03-29 02:30"), "does not exist in Europe/Paris"),
    "start unknown workspace": ([], ("start", "x", "-w", "Nowhere"), "no workspace 'Nowhere'"),
    "start unknown time zone": ([], ("--tz", "Mars/Olympus", "start", "x"), "unknown time zone"),
    "start description with a line break": ([], ("start", "two\nlines"), "line breaks"),
    # stop
    "stop without a timer": ([("stop",)], ("stop",), "no timer is running"),
    "stop before the start": ([], ("stop", "--at", PAST), "before the timer's start"),
    "stop in the future": ([], ("stop", "--at", "+5m"), "is in the future"),
    "stop bad time": ([], ("stop", "--at", "soonish"), "--at: time 'soonish' not understood"),
    # continue
    "continue unknown id": ([], ("continue", "L999"), "no time entry L999"),
    "continue too far back": ([], ("continue", "-99999"), "there is no entry -99999"),
    "continue the running timer": ([], ("continue", "-1"), "is the running timer"),
    "continue not an id": ([], ("continue", "yesterday"), "is not an id"),
    "continue unknown option": ([], ("continue", "--bogus"), "no such option: --bogus"),
    "continue bad time": ([("stop",)], ("continue", "--at", "nope"), "--at: time 'nope' not understood"),
    # cancel
    "cancel without a timer": ([("stop",)], ("cancel",), "no timer is running"),
    # add
    "add without stop or duration": ([], ("add", "x", "--start", PAST), "add needs --stop TIME or --duration"),
    "add without start": ([], ("add", "x", "--stop", PAST), "add needs --start"),
    "add stop before start": ([], ("add", "x", "--start", PAST, "--stop", "9:00"), "is before the start"),
    "add stop and duration disagree": ([], ("add", "x", "--start", PAST, "--stop", "11:00", "--duration", "2h"),
                                       "disagree"),
    "add bad duration": ([], ("add", "x", "--start", PAST, "--duration", "90"), "--duration: duration '90' not understood"),
    "add zero duration": ([], ("add", "x", "--start", PAST, "--duration", "0m"), "at least one second"),
    "add unknown project": ([], ("add", "x", "--start", PAST, "--duration", "1h", "-p", "Nope"), "no project named 'Nope'"),
    "add in a DST gap": ([], (*PARIS, "add", "x", "--start", "2026-03-29 02:30", "--duration", "1h"), "DST gap"),
    "add bad start": ([], ("add", "x", "--start", "2026-02-30 09:00", "--duration", "1h"), "not a valid date"),
    # edit
    "edit unknown id": ([], ("edit", "L999", "-d", "x"), "no time entry L999"),
    "edit unknown toggl id": ([], ("edit", "4199999999", "-d", "x"), "no time entry 4199999999"),
    "edit without id": ([], ("edit",), "edit needs the ID"),
    "edit nothing to change": ([], ("edit", "-2"), "nothing to change"),
    "edit stop before start": ([], ("edit", "-2", "--stop", "2020-01-01 00:00"), "is before the start"),
    "edit start after stop": ([], ("edit", "-2", "--start", "2030-01-01 00:00"), "is after the entry's stop"),
    "edit stop and duration disagree": ([], ("edit", "-2", "--stop", "2030-01-01 00:00", "--duration", "1h"), "disagree"),
    "edit unknown tag": ([], ("edit", "-2", "--add-tag", "nosuchtag"), "no tag named 'nosuchtag'"),
    "edit remove unknown tag": ([], ("edit", "-2", "--remove-tag", "nosuchtag"), "no tag named 'nosuchtag' in workspace \"Amélie's workspace\""),
    "edit unknown project": ([], ("edit", "-2", "-p", "Nope"), "no project named 'Nope'"),
    "edit bad time": ([], ("edit", "-2", "--start", "noon-ish"), "--start: time 'noon-ish' not understood"),
    "edit running start in the future": ([], ("edit", "-1", "--start", "+1h"), "is in the future"),
    "edit running stop in the future": ([], ("edit", "-1", "--stop", "+1h"), "is in the future"),
    # rm
    "rm without id": ([], ("rm",), "rm needs the ID"),
    "rm unknown id": ([], ("rm", "L999"), "no time entry L999"),
    "rm one good one bad": ([], ("rm", "-1", "-2", "L999"), "no time entry L999"),
    "rm not an id": ([], ("rm", "abc"), "is not an id"),
    "rm minus zero": ([], ("rm", "-0"), "counts from -1"),
    # log
    "log to and a range": ([], ("log", "--week", "--to", "2026-11-01"), "choose one range"),
    "log two ranges": ([], ("log", "--today", "--week"), "choose one range"),
    "log range and from": ([], ("log", "--week", "--from", "2026-11-01"), "choose one range"),
    "log from after to": ([], ("log", "--from", "2026-11-02", "--to", "2026-11-01"), "is not before to"),
    "log bad date": ([], ("log", "--from", "someday"), "time 'someday' not understood"),
    "log unknown project": ([], ("log", "-p", "Nope"), "no project named 'Nope'"),
    "log unknown tag": ([], ("log", "-t", "Nope"), "no tag named 'Nope'"),
    "log two tags": ([], ("log", "-t", "meeting", "-t", "review"), "give one tag"),
}


@pytest.mark.parametrize("setup, args, message", list(CASES.values()), ids=list(CASES))
def test_bad_input_is_refused_and_changes_nothing(offline, setup, args, message):
    for step in setup:
        ok(offline.run(*step))
    before = dump(offline.db)
    result = offline.run(*args)
    line = error_line(result)
    assert result.exit_code == 2, (result.exit_code, line)
    assert message in line, line
    assert dump(offline.db) == before
    if (args[0] == "log" or "--remove-tag" in args) and "--create" in line:
        pytest.fail(f"the error suggests --create, which does not apply here: {line}")


def test_every_tracking_command_with_arguments_has_a_bad_input_case():
    commands = {next(a for a in args if a in COMMANDS) for _, args, _ in CASES.values()}
    assert commands == COMMANDS - {"status"}  # status takes no input that could be wrong


COMMANDS = {"start", "stop", "continue", "cancel", "status", "add", "edit", "rm", "log"}
