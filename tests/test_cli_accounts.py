"""`togglsync accounts` and `sync` of every account, through the CLI against the simulator (issue 15)."""

from __future__ import annotations

import json
import sqlite3
import stat

import pytest

from conftest import SyncedHome

from togglsync.simulator.seed import seed_account


@pytest.fixture
def home(make_sim, isolated_home):
    sim = make_sim(entries=20, seed=7, quotas=False)
    synced = SyncedHome(sim, isolated_home)
    assert synced.run("sync").exit_code == 0
    synced.bob = seed_account(sim.state, entries=10, seed=8)
    return synced


def _sql(home, query, *args):
    with sqlite3.connect(home.db) as conn:
        return conn.execute(query, args).fetchall()


def ok(result):
    assert result.exit_code == 0, result.output
    return result


def test_add_list_sync_every_account_and_offline_edits_per_account(home):
    bob = home.bob
    out = ok(home.run("accounts", "add", "bob", input=bob.api_token + "\n")).output
    assert "Added account 'bob'" in out and bob.api_token not in out
    config = home.home / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text())["accounts"]["bob"]["api_token"] == bob.api_token
    assert bob.api_token.encode() not in home.db.read_bytes()  # secrets never in the database

    listed = json.loads(ok(home.run("accounts", "list", "--json")).output)
    assert [(a["name"], a["user_id"]) for a in listed] == [("main", home.sim.seed.user_id), ("bob", bob.user_id)]

    result = ok(home.run("sync"))
    assert "main: sync:" in result.output and "bob: sync:" in result.output
    counts = dict(_sql(home, "SELECT user_id, count(*) FROM time_entries GROUP BY user_id"))
    assert counts[bob.user_id] == 10 and counts[home.sim.seed.user_id] == 20

    ok(home.run("--account", "bob", "start", "bob works"))
    ok(home.run("start", "main works"))
    running = dict(_sql(home, "SELECT description, user_id FROM time_entries WHERE duration < 0"))
    assert running == {"bob works": bob.user_id, "main works": home.sim.seed.user_id}
    ok(home.run("accounts", "default", "bob"))
    assert ok(home.run("accounts", "default")).output.strip() == "bob"
    ok(home.run("add", "bob's meeting", "--start", "9:00", "--stop", "9:30"))
    assert _sql(home, "SELECT user_id FROM time_entries WHERE description = ?", "bob's meeting") == [(bob.user_id,)]
    waiting = dict(_sql(home, "SELECT account, count(*) FROM pending_operations GROUP BY account"))
    assert waiting["bob"] >= 2 and waiting["main"] >= 1

    # Bob's changes wait: removing bob is refused until they are sent.
    refused = home.run("accounts", "remove", "bob", "--yes")
    assert refused.exit_code == 2 and "not sent yet" in refused.output

    ok(home.run("--account", "bob", "sync"))
    assert dict(_sql(home, "SELECT account, count(*) FROM pending_operations GROUP BY account")).keys() == {"main"}
    ok(home.run("sync"))
    assert _sql(home, "SELECT count(*) FROM pending_operations") == [(0,)]
    server = {e["description"]: e["user_id"] for e in home.sim.state.all_time_entries() if e["duration"] < 0}
    assert server == {"bob works": bob.user_id, "main works": home.sim.seed.user_id}

    ok(home.run("accounts", "remove", "bob", "--yes"))
    assert "bob" not in json.loads(config.read_text()).get("accounts", {})
    assert _sql(home, "SELECT count(*) FROM sync_cursors WHERE account = 'bob'") == [(0,)]


def test_one_failing_account_stops_none_of_the_others_and_the_exit_code_says_which(home):
    ok(home.run("accounts", "add", "bob", input=home.bob.api_token + "\n"))
    config = home.home / "config.json"
    data = json.loads(config.read_text())
    data["accounts"]["broken"] = {"transport": "direct", "api_token": "f" * 32}
    config.write_text(json.dumps(data))
    config.chmod(0o600)
    result = home.run("sync")
    assert result.exit_code == 5, result.output  # the broken account's (credentials refused)
    assert "Error: account broken:" in result.output
    assert "main: sync:" in result.output and "bob: sync:" in result.output
    assert "f" * 32 not in result.output
    assert _sql(home, "SELECT count(*) FROM time_entries WHERE user_id = ?", home.bob.user_id) == [(10,)]


def test_a_set_up_without_accounts_syncs_as_before(home):
    result = ok(home.run("sync"))
    assert result.output.startswith("sync: ") and "main:" not in result.output


def test_adding_a_user_already_synced_is_refused(home):
    result = home.run("accounts", "add", "again", input=home.sim.seed.api_token + "\n")
    assert result.exit_code == 2 and "already synced here as account 'main'" in result.output
    assert "accounts" not in json.loads((home.home / "config.json").read_text() if (home.home / "config.json").exists() else "{}")


@pytest.fixture
def both(home):
    ok(home.run("accounts", "add", "bob", input=home.bob.api_token + "\n"))
    ok(home.run("sync"))
    return home


def test_log_and_report_see_every_account_unless_one_is_named(both):
    bob, main = both.bob.user_id, both.sim.seed.user_id
    every = json.loads(ok(both.run("log", "--from", "2000-01-01", "--to", "2100-01-01", "--json")).output)
    assert {e["user_id"] for e in every} == {bob, main}
    only = json.loads(ok(both.run("--account", "bob", "log", "--from", "2000-01-01", "--to", "2100-01-01",
                                  "--json")).output)
    assert {e["user_id"] for e in only} == {bob} and len(only) == 10
    by_user = json.loads(ok(both.run("report", "--by", "user", "--from", "2000-01-01", "--to", "2100-01-01",
                                     "--json")).output)
    assert {r["user_id"]: r["entries"] for r in by_user["rows"]} == {bob: 10, main: 20}
    rows = ok(both.run("sql", "SELECT account, count(*) AS n FROM entries GROUP BY account ORDER BY account",
                       "--json")).output
    assert json.loads(rows) == [{"account": "bob", "n": 10}, {"account": "main", "n": 20}]


def test_giving_up_an_edit_of_another_accounts_entry_reads_it_again_with_its_credentials(both):
    bob = both.bob.user_id
    [(entry_id, description)] = _sql(both, "SELECT id, description FROM time_entries WHERE user_id = ? AND "
                                           "duration >= 0 ORDER BY id LIMIT 1", bob)
    ok(both.run("edit", entry_id, "-d", "changed by mistake"))
    [(op_id, account)] = _sql(both, "SELECT id, account FROM pending_operations")
    assert account == "bob"
    out = ok(both.run("pending", "drop", op_id)).output
    assert "read from Toggl just now" in out, out
    assert _sql(both, "SELECT description FROM time_entries WHERE id = ?", entry_id) == [(description,)]


def test_start_sync_syncs_the_account_the_entry_was_started_in(both):
    """`--account bob start --sync`: the entry is bob's, and so is the sync that sends it (with
    bob's credentials, under bob's lock); main's sync is not run. With bob the default account,
    `start --sync` alone does the same."""
    bob = both.bob
    cursors = "SELECT account, since FROM sync_cursors WHERE resource = 'time_entries' ORDER BY account"
    before = dict(_sql(both, cursors))
    both.sim.clock.advance(5)
    result = ok(both.run("--account", "bob", "start", "bob, synced at once", "--sync"))
    assert "bob" in result.output and "sync:" in result.output
    on_server = [e for e in both.sim.state.all_time_entries() if e["description"] == "bob, synced at once"]
    assert [e["user_id"] for e in on_server] == [bob.user_id]
    assert _sql(both, "SELECT count(*) FROM pending_operations") == [(0,)]
    after = dict(_sql(both, cursors))
    assert after["main"] == before["main"] and after["bob"] > before["bob"]  # bob's sync alone
    ok(both.run("accounts", "default", "bob"))
    ok(both.run("stop", "--sync"))
    assert [e["stop"] is not None for e in both.sim.state.all_time_entries()
            if e["description"] == "bob, synced at once"] == [True]
    assert _sql(both, "SELECT count(*) FROM pending_operations") == [(0,)]
