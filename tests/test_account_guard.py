"""One database holds one account (issue 15, "Guard now").

Another account's token syncing into a database that holds an account's data
would share its cursors and let a re-sync delete by absence everything that is
not in the other account's answer. The sync refuses it with one clear line
before it stores anything. Against the simulator over HTTP.
"""

from __future__ import annotations

from test_sync_support import dump

from togglsync.api.client import TogglClient
from togglsync.api.transport import DirectAuth
from togglsync.errors import ExitCode
from togglsync.sync.engine import SyncOptions, run_sync


def _second_account(env) -> TogglClient:
    """Another Toggl user, with a workspace and an entry of their own."""
    state = env.sim.state
    org = state.add_organization("Other org", plan="free")
    workspace = state.add_workspace(org.id, "Theirs")
    user = state.add_user("other@example.com", "Other Person", api_token="b" * 32, password="x",
                          default_workspace_id=workspace.id)
    state.add_membership(workspace.id, user.id)
    start = env.ago(hours=3).isoformat().replace("+00:00", "Z")
    state.create_time_entry(user.id, workspace.id, {"created_with": "phone", "workspace_id": workspace.id,
                                                     "start": start, "duration": 600, "description": "theirs"})
    return TogglClient(env.sim.url, DirectAuth("b" * 32), min_interval=0, retry=env.retry, timeout=(5.0, 10.0))


def test_another_accounts_token_is_refused_before_anything_is_stored(env):
    other = _second_account(env)
    before, cursor = dump(env.engine), env.cursor()
    for options in (SyncOptions(), SyncOptions(force_catalog=True), SyncOptions(full_entries=True)):
        result = run_sync(env.engine, other, options)
        assert result.exit_code == ExitCode.USAGE, result
        assert "one database holds one account" in (result.error or "")
        assert dump(env.engine) == before and env.cursor() == cursor
    # The account the database belongs to syncs as before.
    assert env.sync().exit_code == ExitCode.OK


# -- Credentials replaced under a bound name, and an answer that names no user ---------------
#
# A sync whose `since` answer is empty names no user: before accounts kept a digest of the
# credentials an account was bound with, another user's token put under the name moved that
# account's cursor with the other user's (empty) answer and sent its offline edits with the other
# user's credentials. Now a changed digest costs one GET /me, and another user is refused before
# anything else is asked.

OTHER_TOKEN = "d" * 32


def _quiet_other_user(sim) -> str:
    """Another Toggl user with a workspace of their own and nothing changed lately: their `since`
    answer is `[]`, naming no one. Returns their token."""
    state = sim.state
    org = state.add_organization("Elsewhere", plan="free")
    workspace = state.add_workspace(org.id, "Theirs")
    user = state.add_user("else@example.com", "Someone Else", api_token=OTHER_TOKEN, password="x",
                          default_workspace_id=workspace.id)
    state.add_membership(workspace.id, user.id)
    return OTHER_TOKEN


def _requests(sim) -> list[tuple[str, str]]:
    return [(r.method, r.normalized_path) for r in sim.log.records]


def _database_text(db) -> str:
    """Everything the database holds, as text: the file's bytes (SQLite, with its write-ahead log),
    or every row of every table (PostgreSQL)."""
    from pathlib import Path

    if not str(db).startswith("postgresql"):
        path = Path(db)
        return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists()).decode(
            "latin-1")
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(str(db))
    try:
        with engine.connect() as conn:
            tables = inspect(conn).get_table_names()
            return "\n".join(str(row[0]) for table in tables
                             for row in conn.execute(text(f'SELECT CAST(t AS text) FROM "{table}" t')))
    finally:
        engine.dispose()


def test_another_users_credentials_under_a_bound_name_are_refused_when_the_answer_names_no_one(env):
    from togglsync.local import LocalStore

    other = TogglClient(env.sim.url, DirectAuth(_quiet_other_user(env.sim)), min_interval=0, retry=env.retry,
                        timeout=(5.0, 10.0))
    # An offline edit of main's waits: it must never go with the other user's credentials.
    LocalStore(env.engine).add_entry("main's offline entry", start=env.ago(hours=2), duration=600)
    env.sim.clock.advance(120)
    before, cursor = dump(env.engine), env.cursor()
    env.sim.log.clear()
    result = run_sync(env.engine, other, SyncOptions())
    assert result.exit_code == ExitCode.USAGE, result
    assert "account 'main' in this database is user" in (result.error or "")
    assert "\n" not in result.error and "Toggl user" in result.error
    # One GET /me said whose they are; nothing else was asked or sent, nothing stored, no cursor moved.
    assert _requests(env.sim) == [("GET", "/me")]
    assert dump(env.engine) == before and env.cursor() == cursor
    # Refused again next time (the digest was not replaced), at the same cost.
    env.sim.log.clear()
    assert run_sync(env.engine, other, SyncOptions()).exit_code == ExitCode.USAGE
    assert _requests(env.sim) == [("GET", "/me")]
    other.close()
    # The account's own credentials: no extra request, the edit goes.
    env.sim.log.clear()
    assert env.sync().exit_code == ExitCode.OK
    assert ("GET", "/me") not in _requests(env.sim)
    assert env.server_entries_described("main's offline entry")


def test_a_new_token_of_the_same_user_costs_one_get_me_once(env):
    env.sim.state.users[env.uid].api_token = "e" * 32  # the user reset their token on Toggl
    fresh = TogglClient(env.sim.url, DirectAuth("e" * 32), min_interval=0, retry=env.retry, timeout=(5.0, 10.0))
    env.sim.clock.advance(120)
    result = run_sync(env.engine, fresh, SyncOptions())
    assert result.exit_code == ExitCode.OK, result
    assert _requests(env.sim).count(("GET", "/me")) == 1
    env.sim.log.clear()
    env.sim.clock.advance(120)
    assert run_sync(env.engine, fresh, SyncOptions()).exit_code == ExitCode.OK
    assert ("GET", "/me") not in _requests(env.sim)
    fresh.close()


def test_an_account_bound_before_digests_were_kept_checks_once(env):
    from sqlalchemy import text

    with env.engine.begin() as conn:
        conn.execute(text("UPDATE accounts SET credential = NULL"))
    env.sim.clock.advance(120)
    assert env.sync().exit_code == ExitCode.OK
    assert _requests(env.sim).count(("GET", "/me")) == 1
    env.sim.log.clear()
    env.sim.clock.advance(120)
    assert env.sync().exit_code == ExitCode.OK
    assert ("GET", "/me") not in _requests(env.sim)


def _cli_env(sim, home, database, transport="direct", **extra):
    variables = {**sim.env(transport, connection=transport == "maton"), "TOGGLSYNC_HOME": str(home),
                 "TOGGLSYNC_PACING": "0", "TOGGLSYNC_DB": str(database)}
    variables.update(extra)
    return variables


def _cursors(database) -> list[tuple]:
    from sqlalchemy import text

    from togglsync.db.open import open_database

    engine = open_database(database)
    try:
        with engine.connect() as conn:
            return sorted(tuple(r) for r in conn.execute(text("SELECT account, resource, since FROM sync_cursors")))
    finally:
        engine.dispose()


def test_sync_refuses_another_token_in_one_error_line_and_no_secret_is_kept_or_shown(make_sim, isolated_home, database):
    """`togglsync sync` as a user runs it (the quiet way on SQLite): another user's token in
    TOGGL_API_TOKEN, nothing changed since the cursor. One `Error:` line, exit 2, one request;
    neither token appears in the output or anywhere in the database."""
    from conftest import invoke_cli

    sim = make_sim(entries=30, seed=5, quotas=False)
    own = sim.seed.api_token
    assert invoke_cli(["sync"], env=_cli_env(sim, isolated_home, database)).exit_code == 0
    assert invoke_cli(["sync"], env=_cli_env(sim, isolated_home, database)).exit_code == 0
    other = _quiet_other_user(sim)
    cursors = _cursors(database)
    sim.log.clear()
    result = invoke_cli(["sync"], env=_cli_env(sim, isolated_home, database, TOGGL_API_TOKEN=other))
    assert result.exit_code == ExitCode.USAGE, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "account 'main' in this database is user" in errors[0], result.output
    assert _requests(sim) == [("GET", "/me")]
    assert _cursors(database) == cursors
    stored = _database_text(database)
    for secret in (own, other):
        assert secret not in result.output
        assert secret not in stored
    assert "main" in stored  # (the text is the database's: the account is there)
    # Its own token again: one request, as before.
    sim.log.clear()
    done = invoke_cli(["sync"], env=_cli_env(sim, isolated_home, database))
    assert done.exit_code == 0, done.output
    assert own not in done.output and own not in _database_text(database)


def test_another_maton_connection_of_the_same_key_is_another_user(make_sim, isolated_home, database):
    """One Maton key, two connections, two Toggl users: the connection is part of the credentials."""
    from conftest import invoke_cli

    sim = make_sim(entries=30, seed=6, quotas=False)
    env = _cli_env(sim, isolated_home, database, transport="maton")
    assert invoke_cli(["sync"], env=env).exit_code == 0
    _quiet_other_user(sim)
    other_user = sim.state.user_by_token(OTHER_TOKEN)
    theirs = sim.state.add_connection(sim.seed.maton_api_key, user_id=other_user.id).connection_id
    cursors = _cursors(database)
    sim.log.clear()
    result = invoke_cli(["sync"], env={**env, "MATON_CONNECTION": theirs})
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "account 'main' in this database is user" in result.output
    assert _requests(sim) == [("GET", "/me")]
    assert _cursors(database) == cursors
    assert sim.seed.maton_api_key not in result.output + _database_text(database)


def test_reading_a_record_again_with_another_users_credentials_never_removes_it(env):
    """`pending drop` reads the record again: another user's 404 would have removed it here."""
    import pytest

    from togglsync import records
    from togglsync.errors import AnotherAccount
    from togglsync.sync.engine import reread

    other = TogglClient(env.sim.url, DirectAuth(_quiet_other_user(env.sim)), min_interval=0, retry=env.retry,
                        timeout=(5.0, 10.0))
    entry = max(env.entries())
    env.sim.log.clear()
    with pytest.raises(AnotherAccount):
        reread(env.engine, other, records.Kind.TIME_ENTRY, entry, env.wid)
    assert env.entry(entry) is not None
    assert _requests(env.sim) == [("GET", "/me")]
    other.close()
    assert reread(env.engine, env.client, records.Kind.TIME_ENTRY, entry, env.wid)
