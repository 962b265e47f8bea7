"""A sync that finds nothing changed (`sync.quiet`): one request, no SQLAlchemy import and no
requests import (`api.light`); any other answer goes to the whole sync as it is, never asked twice."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

PROBE = """
import sys
from togglsync.cli import cli
try:
    cli.main(sys.argv[1:], prog_name="togglsync")
except SystemExit as exit:
    code = exit.code
WATCHED = ("sqlalchemy", "sqlalchemy.dialects.postgresql", "alembic", "requests", "urllib3")
print("HEAVY=" + ",".join(sorted(m for m in WATCHED if m in sys.modules)))
sys.exit(code)
"""


def _in_a_process(home, *args, env=None):
    """`togglsync ARGS` in a fresh interpreter: (its exit, stdout without the probe's line, the heavy modules it imported)."""
    done = subprocess.run([sys.executable, "-c", PROBE, *args], env={**os.environ, **home.env, **(env or {})},
                          capture_output=True, text=True, timeout=60)
    lines = done.stdout.splitlines()
    heavy = [line.removeprefix("HEAVY=") for line in lines if line.startswith("HEAVY=")]
    return done, "\n".join(line for line in lines if not line.startswith("HEAVY=")), heavy[-1] if heavy else None


def _cursor(home, resource):
    conn = sqlite3.connect(home.db)
    try:
        found = conn.execute("SELECT since FROM sync_cursors WHERE resource = ?", (resource,)).fetchone()
    finally:
        conn.close()
    return found and found[0]


def _set_cursor(home, resource, since):
    conn = sqlite3.connect(home.db)
    try:
        with conn:
            conn.execute("UPDATE sync_cursors SET since = ? WHERE resource = ?",
                         (since.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" "), resource))
    finally:
        conn.close()


def _paths(home):
    return [(r.method, r.normalized_path) for r in home.sim.log.records]


def test_a_sync_that_finds_nothing_changed_is_one_request_and_no_sqlalchemy(synced):
    before = _cursor(synced, "time_entries")
    synced.sim.clock.advance(5)
    synced.sim.log.clear()
    done, out, heavy = _in_a_process(synced, "sync", "--json")
    assert done.returncode == 0, done.stderr
    assert heavy == "", f"a sync that found nothing changed imported {heavy}"
    assert _paths(synced) == [("GET", "/me/time_entries")]
    assert set(synced.sim.log.records[0].query) == {"since"}
    result = json.loads(out)
    assert result["pulled"] == {"time_entries": 0} and result["deleted"] == {"time_entries": 0}
    assert (result["requests"], result["pending"], result["exit_code"], result["error"]) == (1, 0, 0, None)
    assert _cursor(synced, "time_entries") > before


def test_the_quiet_request_is_answered_as_the_whole_client_would_and_the_secret_never_shows(synced):
    """An error answer to the light transport's request (`api.light`): the same typed error and
    exit code as the whole client's (`responses.typed_error`), the token blanked out of it even
    when the server echoes it, and the request not sent again (an answer came)."""
    token = synced.env["TOGGL_API_TOKEN"]
    synced.sim.clock.advance(5)
    synced.sim.faults.add(status=403, method="GET", path="/me/time_entries", count=1,
                          body=f"token {token} is not allowed")
    synced.sim.log.clear()
    done, out, heavy = _in_a_process(synced, "sync", "--json")
    assert heavy == "", f"an error answer to the quiet request imported {heavy}"
    assert _paths(synced) == [("GET", "/me/time_entries")]
    result = json.loads(out)
    assert (result["stopped"], result["exit_code"], result["requests"]) == ("AuthError", done.returncode, 1)
    assert done.returncode != 0
    assert token not in done.stdout + done.stderr
    assert "is not allowed" in result["error"]


def test_a_quiet_request_the_server_keeps_failing_costs_the_retries_the_policy_allows_no_more(synced):
    """A 503 to the light transport's request: the whole client retries it (after the policy's
    wait) with one retry fewer, so the request is sent 1 + RetryPolicy().retries times in all, as
    a sync through requests alone sends it."""
    from togglsync.api.retrying import RetryPolicy

    synced.sim.faults.add(status=503, method="GET", path="/me/time_entries", count=100)
    synced.sim.log.clear()
    result = synced.run("sync", "--json")
    assert result.exit_code != 0
    assert _paths(synced) == [("GET", "/me/time_entries")] * (1 + RetryPolicy().retries)
    assert json.loads(result.output.split("\nError:")[0])["requests"] == 1 + RetryPolicy().retries


def test_a_server_error_then_an_answer_is_one_retry_and_a_quiet_sync(synced):
    before = _cursor(synced, "time_entries")
    synced.sim.clock.advance(5)
    synced.sim.faults.add(status=503, method="GET", path="/me/time_entries", count=1)
    synced.sim.log.clear()
    result = synced.run("sync", "--json")
    assert result.exit_code == 0, result.output
    assert _paths(synced) == [("GET", "/me/time_entries")] * 2
    assert json.loads(result.output)["requests"] == 2
    assert _cursor(synced, "time_entries") > before


def test_a_proxy_in_the_environment_is_left_to_requests(synced):
    """requests honours *_proxy (trust_env); the light transport hands the request to it."""
    synced.sim.clock.advance(5)
    synced.sim.log.clear()
    done, out, heavy = _in_a_process(synced, "sync", "--json", env={"no_proxy": "127.0.0.1,localhost"})
    assert done.returncode == 0, done.stderr
    assert "requests" in heavy
    assert _paths(synced) == [("GET", "/me/time_entries")]
    assert json.loads(out)["requests"] == 1


def _changed_elsewhere(synced, description):
    """A finished entry edited on "another device" (the simulator) a few seconds on; the log cleared."""
    sim = synced.sim
    entry = next(e for e in sim.state.entries.values() if not e.deleted and e.stop is not None)
    sim.clock.advance(5)
    sim.state.update_time_entry(sim.seed.user_id, entry.workspace_id, entry.id, {"description": description})
    sim.log.clear()
    return entry


def _stored_description(synced, entry):
    conn = sqlite3.connect(synced.db)
    try:
        return conn.execute("SELECT description FROM time_entries WHERE id = ?", (entry.id,)).fetchone()[0]
    finally:
        conn.close()


def test_entries_changed_elsewhere_are_stored_from_the_same_answer(synced):
    entry = _changed_elsewhere(synced, "changed elsewhere")
    result = synced.run("sync", "--json")
    assert result.exit_code == 0, result.output
    assert _paths(synced) == [("GET", "/me/time_entries")]  # the quiet look's answer, not asked again
    assert json.loads(result.output)["requests"] == 1
    assert _stored_description(synced, entry) == "changed elsewhere"


def test_entries_changed_elsewhere_are_stored_without_importing_requests(synced):
    """The whole sync that stores the quiet request's answer sends nothing more (the catalog
    fresh, nothing to push): its client (`TogglClient`, carrying on from `api.light`) never
    imports requests (the `Chokepoint` does on its first request), nor SQLAlchemy's PostgreSQL
    dialect on SQLite (`db.models.postgresql_options`: 40 ms)."""
    _changed_elsewhere(synced, "changed, again")
    done, out, heavy = _in_a_process(synced, "sync", "--json")
    assert done.returncode == 0, done.stderr
    assert _paths(synced) == [("GET", "/me/time_entries")]
    assert json.loads(out)["pulled"]["time_entries"] == 1 and json.loads(out)["requests"] == 1
    assert "sqlalchemy" in heavy and "requests" not in heavy and "urllib3" not in heavy, heavy
    assert "sqlalchemy.dialects.postgresql" not in heavy, heavy


def test_gzipped_answers_are_read_by_the_light_transport_and_stored_from(synced):
    """Toggl gzips its answers for a client that accepts it: the quiet request's answer (`api.light`
    asks for gzip) is decoded there, an empty one and one with a change in it, which the whole
    sync stores without asking again."""
    sim = synced.sim
    sim.app.compress = True
    sim.clock.advance(5)
    sim.log.clear()
    done, out, heavy = _in_a_process(synced, "sync", "--json")
    assert done.returncode == 0, done.stderr
    assert heavy == "" and json.loads(out)["requests"] == 1, (heavy, out)
    assert "gzip" in sim.log.records[0].headers.get("accept-encoding", "")
    entry = _changed_elsewhere(synced, "changed, gzipped")
    done, out, heavy = _in_a_process(synced, "sync", "--json")
    assert done.returncode == 0, done.stderr
    assert _paths(synced) == [("GET", "/me/time_entries")]
    assert json.loads(out)["pulled"]["time_entries"] == 1 and json.loads(out)["requests"] == 1
    assert _stored_description(synced, entry) == "changed, gzipped"


def test_the_command_leaves_its_objects_to_the_process_exit():
    """`togglsync` (the console script's `cli.main`) freezes the garbage collector's objects
    when the command is over: the interpreter's shutdown then skips collecting them, which
    took 0.2-0.3 s after a sync that stored 1,000 changes (bench scenario 4)."""
    probe = ("import atexit, gc, sys\n"
             "atexit.register(lambda: print('FROZEN=%d' % gc.get_freeze_count()))\n"
             "from togglsync.cli import main\n"
             "sys.argv = ['togglsync', '--version']\n"
             "main()\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    frozen = int(done.stdout.rsplit("FROZEN=", 1)[1])
    assert frozen > 1000, done.stdout


def test_a_catalog_due_is_refreshed_after_the_same_answer(synced):
    _set_cursor(synced, "catalog", datetime.now(timezone.utc) - timedelta(hours=2))
    synced.sim.log.clear()
    result = synced.run("sync", "--json")
    assert result.exit_code == 0, result.output
    paths = _paths(synced)
    assert paths.count(("GET", "/me/time_entries")) == 1
    assert paths.count(("GET", "/me")) == 1
    assert json.loads(result.output)["requests"] == len(paths)
    assert _cursor(synced, "catalog") > (datetime.now(timezone.utc) - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize("why", ["too_old", "refused_anyway"])
def test_a_since_the_server_refuses_is_followed_by_the_full_resync_not_asked_again(synced, why):
    if why == "too_old":
        _set_cursor(synced, "time_entries", datetime.now(timezone.utc) - timedelta(days=100))
    else:  # the server's clock says the cursor is recent: only the refusal says to re-sync
        synced.sim.faults.add(status=400, method="GET", path="/me/time_entries", count=1)
    synced.sim.log.clear()
    result = synced.run("sync", "--json")
    assert result.exit_code == 0, result.output
    queries = [set(r.query) for r in synced.sim.log.find("GET", "/me/time_entries")]
    assert queries == [{"since"}, {"start_date", "end_date"}]
    assert synced.sim.log.records[0].status == 400


def test_a_quiet_sync_stopped_by_the_server_says_so_and_keeps_its_cursor(synced):
    before = _cursor(synced, "time_entries")
    synced.sim.faults.add(status=503, method="GET", path="/me/time_entries", count=100)
    result = synced.run("sync", "--json")
    assert result.exit_code != 0
    stopped = json.loads(result.output.split("\nError:")[0])
    assert stopped["stopped"] == "ServerError" and stopped["pulled"] == {}
    assert _cursor(synced, "time_entries") == before


# -- Several accounts (togglsync.accounts): the quiet look is per account ----------------------


@pytest.fixture
def two(make_sim, isolated_home):
    """A home with main and an added account `bob`, both synced (quotas on: each account's headers)."""
    from conftest import SyncedHome

    from togglsync.simulator.seed import seed_account

    sim = make_sim(entries=20, seed=7)
    home = SyncedHome(sim, isolated_home)
    assert home.run("sync").exit_code == 0
    home.bob = seed_account(sim.state, entries=10, seed=8)
    added = home.run("accounts", "add", "bob", input=home.bob.api_token + "\n")
    assert added.exit_code == 0, added.output
    synced = home.run("sync")
    assert synced.exit_code == 0, synced.output
    return home


def _rows(home, query, *args):
    conn = sqlite3.connect(home.db)
    try:
        return conn.execute(query, args).fetchall()
    finally:
        conn.close()


def _entry_cursors(home):
    return dict(_rows(home, "SELECT account, since FROM sync_cursors WHERE resource = 'time_entries'"))


def test_every_account_syncs_quietly_one_request_each_its_own_cursor_and_quota(two):
    before = _entry_cursors(two)
    assert before.keys() == {"main", "bob"}
    conn = sqlite3.connect(two.db)
    with conn:
        conn.execute("DELETE FROM quota_state")
    conn.close()
    two.sim.clock.advance(5)
    two.sim.log.clear()
    done, out, heavy = _in_a_process(two, "sync", "--json")
    assert done.returncode == 0, done.stderr
    assert heavy == "", f"a sync of every account that found nothing changed imported {heavy}"
    assert _paths(two) == [("GET", "/me/time_entries")] * 2
    result = json.loads(out)
    assert {name: (r["requests"], r["pulled"], r["exit_code"]) for name, r in result["accounts"].items()} == {
        "main": (1, {"time_entries": 0}, 0), "bob": (1, {"time_entries": 0}, 0)}
    after = _entry_cursors(two)
    assert after["main"] > before["main"] and after["bob"] > before["bob"]
    # Each account's quota headers under its own name (they were sent with its own credentials).
    assert {account for (account,) in _rows(two, "SELECT DISTINCT account FROM quota_state")} == {"main", "bob"}


def test_one_accounts_change_goes_the_whole_way_the_others_stay_quiet(two):
    sim = two.sim
    entry = next(e for e in sim.state.entries.values()
                 if not e.deleted and e.stop is not None and e.user_id == two.bob.user_id)
    sim.clock.advance(5)
    sim.state.update_time_entry(two.bob.user_id, entry.workspace_id, entry.id, {"description": "bob, elsewhere"})
    before = _entry_cursors(two)
    sim.log.clear()
    result = two.run("sync", "--json")
    assert result.exit_code == 0, result.output
    assert _paths(two) == [("GET", "/me/time_entries")] * 2  # bob's answer stored as it came, not asked again
    accounts = json.loads(result.output)["accounts"]
    assert accounts["main"]["pulled"] == {"time_entries": 0} and accounts["bob"]["pulled"]["time_entries"] == 1
    assert _rows(two, "SELECT description FROM time_entries WHERE id = ?", entry.id) == [("bob, elsewhere",)]
    after = _entry_cursors(two)
    assert after["main"] > before["main"] and after["bob"] > before["bob"]


def test_the_quiet_sync_takes_the_lock_of_the_account_it_syncs(two):
    from togglsync.sync.lock import sync_lock

    two.sim.clock.advance(5)
    two.sim.log.clear()
    with sync_lock(str(two.db), account="bob"):
        done, out, heavy = _in_a_process(two, "sync", "--json")
    assert heavy == ""
    assert done.returncode != 0
    result = json.loads(out)["accounts"]
    assert result["main"]["exit_code"] == 0 and result["main"]["requests"] == 1
    assert "another sync for account 'bob' is running" in result["bob"]["error"]
    assert _paths(two) == [("GET", "/me/time_entries")]  # main's; bob's lock was held, bob asked nothing


@pytest.mark.parametrize("born_days_ago", [40, 100])
def test_a_young_accounts_scheduled_sync_records_nothing_older_and_goes_quiet(make_sim, isolated_home, born_days_ago):
    """An account younger than the sync's window (40 days: nothing older to ask for) or one
    whose older days hold no entry (100 days: one empty report): the first scheduled sync
    (`--log`, history on) records that the history is complete, `status` says so, and the next
    scheduled sync that finds nothing changed is the quick one request."""
    from conftest import SyncedHome

    sim = make_sim(entries=30, seed=5, quotas=False)
    born = sim.clock.now() - timedelta(days=born_days_ago)
    sim.state.users[sim.seed.user_id].created_at = born
    home = SyncedHome(sim, isolated_home)
    first = home.run("sync", "--log")
    assert first.exit_code == 0, first.output
    status = home.run("status", "--json")
    assert json.loads(status.output)["history"]["complete"] is True, status.output
    assert "History:   complete since" in home.run("status").output
    sim.clock.advance(5)
    sim.log.clear()
    done, out, heavy = _in_a_process(home, "sync", "--log", "--json")
    assert done.returncode == 0, done.stderr
    assert _paths(home) == [("GET", "/me/time_entries")]
    assert heavy == "", f"a scheduled sync that found nothing changed imported {heavy}"
    assert json.loads(out)["requests"] == 1


# -- over https, as Toggl is ---------------------------------------------------------------------


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for 127.0.0.1 and its key (openssl's command line)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed: it makes the test's certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return str(cert), str(key)


def test_over_https_the_quiet_request_checks_the_certificate_as_requests_does(make_sim, isolated_home, certificate):
    """The quiet request (`api.light`, the standard library's TLS) trusts what requests would: the
    bundle in REQUESTS_CA_BUNDLE here. A certificate that bundle does not vouch for gets no request
    and no token, from either transport: one Error line, and the cursor stays."""
    from conftest import SyncedHome

    sim = make_sim(entries=200, seed=7, quotas=False, tls=certificate)
    home = SyncedHome(sim, isolated_home)
    home.env["REQUESTS_CA_BUNDLE"] = certificate[0]
    assert home.env["TOGGLSYNC_API_URL"].startswith("https://127.0.0.1:")
    done, _, _ = _in_a_process(home, "sync")
    assert done.returncode == 0, done.stderr
    sim.clock.advance(5)
    sim.log.clear()
    done, out, heavy = _in_a_process(home, "sync", "--json")
    assert done.returncode == 0, done.stderr
    assert heavy == "" and json.loads(out)["requests"] == 1, (heavy, out)
    entry = _changed_elsewhere(home, "changed, over https")
    done, out, heavy = _in_a_process(home, "sync", "--json")
    assert done.returncode == 0 and json.loads(out)["pulled"]["time_entries"] == 1, done.stderr
    assert _stored_description(home, entry) == "changed, over https"

    before = _cursor(home, "time_entries")
    sim.log.clear()
    del home.env["REQUESTS_CA_BUNDLE"]  # certifi's bundle, which knows nothing of this certificate
    done, out, heavy = _in_a_process(home, "sync")
    assert done.returncode != 0
    error = done.stderr.strip().splitlines()[-1]
    assert error == (f"Error: TLS handshake with 127.0.0.1:{sim.port} failed: its certificate is not trusted "
                     "(self-signed certificate); to trust a proxy's certificate, set REQUESTS_CA_BUNDLE"), done.stderr
    assert sim.log.records == [] and _cursor(home, "time_entries") == before
    assert sim.seed.api_token not in done.stderr + done.stdout
