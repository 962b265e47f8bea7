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
