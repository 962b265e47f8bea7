"""The account: which Toggl account each piece of sync state belongs to, in the database.

Several Toggl accounts can sync into one database (`togglsync accounts`). Each
has a name; `main` (IMPLICIT) is the account of the top-level credentials, so a
set-up that never ran `accounts` works as before and an older database's data
is `main`'s (migration 0010). The transport and secrets of an account live in
the config file only (`config.Settings.for_account`); here is what the
database knows of it:

* `accounts`: the name, bound to its Toggl user by the first answer that says
  who it is (`bind`): another user's answer under that name is refused, and one
  Toggl user has one name (the guard of issue 15: an account nobody added is
  never synced into a database that holds another's data).
* `accounts.credential`: a salted one-way digest of the credentials it was bound
  with (`check_credentials`, never the secret): a sync whose answers name no user
  (nothing changed since the cursor) still knows when the token or Maton
  connection under the name was replaced, and one GET /me says whose it is.
* `account_workspaces`: the workspaces its last catalog snapshot listed; its
  deletions by absence stay inside them (`workspaces`, `shared`).
* per account: cursors (`sync_cursors.account`), quota (`quota_state.account`),
  pending operations (`pending_operations.account`, chosen by `for_operation`)
  and the sync lock (`lock_suffix`, `lock_scope`).

Plain SQL (`db.sql`) on either connection, inside the caller's transaction.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from togglsync import records
from togglsync.config import IMPLICIT_ACCOUNT
from togglsync.db import sql
from togglsync.db.sql import Connection
from togglsync.db.stored import to_utc_text
from togglsync.errors import AnotherAccount, BadResponse, UsageError

IMPLICIT = IMPLICIT_ACCOUNT
# A salt -> the digest of the credentials a client sends (`TogglClient.credential_fingerprint`).
Fingerprint = Callable[[bytes], str]


class Credentials(Protocol):
    """What `check_credentials` asks of a client (`TogglClient`, `sync.remote.Toggl`)."""

    def credential_fingerprint(self, salt: bytes) -> str: ...
    def me(self, with_related_data: bool = False) -> dict[str, Any]: ...


_NAME = r"[a-z0-9][a-z0-9_-]{0,31}"  # compiled on first use (re's cache)


def check_name(name: str) -> str:
    """A name people can type and a file name can carry: lower-case letters, digits, `-`, `_`."""
    if not re.fullmatch(_NAME, name):
        raise UsageError(
            f"invalid account name {name!r}: use up to 32 lower-case letters, digits, '-' or '_' (like 'work')")
    return name


def lock_scope(name: str) -> str:
    """What one sync holds: one sync per account and database (a lock file beside a SQLite file,
    `lock_suffix`; the string a PostgreSQL advisory lock can hash)."""
    return f"togglsync:sync:{name}"


def lock_suffix(name: str) -> str:
    """The account's sync lock file beside a SQLite file is the file's name plus this
    (`sync.lock.lock_path`): `.lock` for main, as before accounts; `.<name>.lock` for another."""
    return ".lock" if name == IMPLICIT else f".{check_name(name)}.lock"


class Account(NamedTuple):
    name: str
    user_id: int | None


def get(conn: Connection, name: str) -> Account | None:
    row = sql.first(conn, "SELECT name, user_id FROM accounts WHERE name = ?", (name,))
    return None if row is None else Account(row["name"], row["user_id"])


def every(conn: Connection) -> list[dict[str, Any]]:
    """Every account the database knows, with who it is (from its last GET /me) and what waits."""
    return sql.rows(
        conn,
        "SELECT a.name, a.user_id, u.email, u.fullname, a.added_at, "
        "(SELECT count(*) FROM pending_operations p WHERE p.account = a.name) AS pending, "
        "(SELECT max(c.updated_at) FROM sync_cursors c WHERE c.account = a.name AND c.resource = 'time_entries') "
        "AS last_sync "
        "FROM accounts a LEFT JOIN account u ON u.id = a.user_id ORDER BY a.name",
    )


def add(conn: Connection, name: str, now: datetime) -> bool:
    """Know `name` (unbound until its first sync); False when it was known already."""
    check_name(name)
    if get(conn, name) is not None:
        return False
    sql.execute(conn, "INSERT INTO accounts (name, user_id, added_at) VALUES (?, NULL, ?)", (name, to_utc_text(now)))
    return True


def forget(conn: Connection, name: str) -> None:
    """Forget an account's sync state (cursors, quota, workspaces, its name); its records stay.
    Refused while it has pending operations: they would never be sent."""
    waiting = sql.scalar(conn, "SELECT count(*) FROM pending_operations WHERE account = ?", (name,))
    if waiting:
        raise UsageError(
            f"account {name!r} has {waiting} local change(s) not sent yet: sync them "
            f"(`togglsync sync --account {name}`) or drop them (`togglsync pending`) first")
    for table in ("sync_cursors", "quota_state", "account_workspaces"):
        sql.execute(conn, f"DELETE FROM {table} WHERE account = ?", (name,))
    sql.execute(conn, "DELETE FROM accounts WHERE name = ?", (name,))


def bind(conn: Connection, name: str, user_ids: Iterable[Any], now: datetime, *, check_only: bool = False,
         fingerprint: Fingerprint | None = None) -> int | None:
    """Check that an answer's users are this account's Toggl user, binding an unbound name to it
    (`check_only`: write nothing; the caller binds in the transaction that stores the answer),
    with the `fingerprint` of the credentials that brought the answer (`check_credentials`).
    Returns the user.

    Refused (AnotherAccount, one line) before anything is stored: another user's answer
    under a bound name (another token put where the old one was), or a user another name
    has. `main` binds itself on its first sync, like any account added on purpose."""
    account = get(conn, name)
    for user_id in user_ids:
        # Only whole numbers are ids; anything else is a malformed answer, which validation refuses.
        if not isinstance(user_id, int) or isinstance(user_id, bool):
            continue
        bound = account.user_id if account is not None else None
        if bound == user_id:
            continue
        if bound is not None:
            raise _another_user(name, user_id, bound)
        owner = sql.scalar(conn, "SELECT name FROM accounts WHERE user_id = ?", (user_id,))
        if owner is not None:
            raise AnotherAccount(
                f"these credentials are Toggl user {user_id}'s, already synced here as account {owner!r}: "
                f"sync it as {owner!r} (`--account {owner}`)")
        if name == IMPLICIT and account is None and _holds_other_data(conn, user_id):
            raise AnotherAccount(
                f"these credentials are Toggl user {user_id}'s, but this database holds another user's data: "
                "use another database for them (--db or TOGGLSYNC_DB), or add them as an account "
                "(`togglsync accounts add NAME`); one database holds one account unless accounts are added")
        if not check_only:
            if account is None:
                add(conn, name, now)
            sql.execute(conn, "UPDATE accounts SET user_id = ? WHERE name = ?", (user_id, name))
            if fingerprint is not None:
                remember_credential(conn, name, fingerprint)
        account = Account(name, user_id)
    return account.user_id if account is not None else None


def _another_user(name: str, user_id: int, bound: int) -> AnotherAccount:
    """Credentials of `user_id` under the name `bound` to another user: the one line that refuses them."""
    return AnotherAccount(
        f"these credentials are Toggl user {user_id}'s, but account {name!r} in this database is user "
        f"{bound}'s: use the credentials of {name!r}, or add the other user as an account of its own "
        "(`togglsync accounts add NAME`); one database holds one account unless accounts are added")


def remember_credential(conn: Connection, name: str, fingerprint: Fingerprint) -> None:
    """Store the digest of the credentials an account is bound with, under a new random salt:
    `<salt hex>$<digest hex>` (never the secret, nor anything it can be read back from)."""
    salt = os.urandom(16)
    sql.execute(conn, "UPDATE accounts SET credential = ? WHERE name = ?", (f"{salt.hex()}${fingerprint(salt)}", name))


def same_credential(stored: str | None, fingerprint: Fingerprint) -> bool:
    """Are these the credentials whose digest is `stored`? (None, or a form not ours: unknown, so no.)"""
    salt, _, digest = (stored or "").partition("$")
    try:
        raw = bytes.fromhex(salt)
    except ValueError:
        return False
    import hmac  # here: its OpenSSL load costs `status`/`start`/`stop` ~2 ms, and they never ask

    return bool(raw and digest) and hmac.compare_digest(fingerprint(raw), digest)


def check_credentials(transaction: Callable[[], AbstractContextManager[Connection]], name: str,
                      client: Credentials) -> None:
    """Before a sync of a bound account asks anything: are its credentials the ones it was bound
    with? Yes (their digest matches): nothing to do, no request. No (another token or Maton
    connection was put under the name, or the account was bound before digests were kept):
    one GET /me says whose they are: its own user's (a token reset), and the new digest is
    stored; another user's is refused (AnotherAccount, exit 2) before anything else is asked
    or stored, as an answer naming another user is (`bind`). An answer that
    names no user (nothing changed since the cursor) could not tell, and the account's cursor
    and offline edits would have gone with the other user's credentials.

    `transaction`: a short write transaction on either connection (the request is made outside it)."""
    fingerprint = client.credential_fingerprint
    with transaction() as conn:
        row = sql.first(conn, "SELECT user_id, credential FROM accounts WHERE name = ?", (name,))
    if row is None or row["user_id"] is None or same_credential(row["credential"], fingerprint):
        return  # unbound: its first answer binds it, with these credentials' digest (`bind`)
    user_id = client.me().get("id")
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        raise BadResponse(200, "GET /me named no user id")
    with transaction() as conn:
        bound = user_of(conn, name)
        if bound is not None and bound != user_id:
            raise _another_user(name, user_id, bound)
        remember_credential(conn, name, fingerprint)


def _holds_other_data(conn: Connection, user_id: int) -> bool:
    """Another user's GET /me or synced entries that no account added here holds (a database
    synced by someone else without accounts): main's first sync may not mix into it."""
    added = "(SELECT user_id FROM accounts WHERE user_id IS NOT NULL)"
    return bool(
        sql.scalar(conn, f"SELECT 1 FROM account WHERE id <> ? AND id NOT IN {added} LIMIT 1", (user_id,))
        or sql.scalar(conn, f"SELECT 1 FROM time_entries WHERE id > 0 AND user_id <> ? AND user_id NOT IN {added} "
                            "LIMIT 1", (user_id,))
    )


def user_of(conn: Connection, name: str) -> int | None:
    """The Toggl user an account is bound to (None: not synced yet)."""
    account = get(conn, name)
    return None if account is None else account.user_id


def name_of_user(conn: Connection, user_id: int | None) -> str | None:
    return None if user_id is None else sql.scalar(conn, "SELECT name FROM accounts WHERE user_id = ?", (user_id,))


def workspaces(conn: Connection, name: str) -> set[int]:
    """The workspaces the account's last catalog snapshot listed."""
    return {int(w) for w in sql.column(conn, "SELECT workspace_id FROM account_workspaces WHERE account = ?", (name,))}


def set_workspaces(conn: Connection, name: str, workspace_ids: Iterable[int]) -> None:
    sql.execute(conn, "DELETE FROM account_workspaces WHERE account = ?", (name,))
    sql.executemany(conn, "INSERT INTO account_workspaces (account, workspace_id) VALUES (?, ?)",
                    [(name, int(w)) for w in sorted(set(workspace_ids))])


def admin_of(conn: Connection, name: str) -> set[int]:
    """Of the account's workspaces, those its Toggl user is an admin of, as their member lists
    (`workspace_users`, per user: not the workspace record another account may have stored)
    say: where it may read every member's entries (`history --all-users`, the window)."""
    user_id = user_of(conn, name)
    if user_id is None:
        return set()
    admins = {int(w) for w in sql.column(
        conn, "SELECT workspace_id FROM workspace_users WHERE user_id = ? AND role = 'admin'", (user_id,))}
    return admins & workspaces(conn, name)


def synced_users(conn: Connection) -> set[int]:
    """The Toggl users an account here syncs: their entries are their own sync's (its
    `/me/time_entries` pull and its deletions), never a workspace-wide window's."""
    return {int(u) for u in sql.column(conn, "SELECT user_id FROM accounts WHERE user_id IS NOT NULL")}


def shared(conn: Connection, name: str, workspace_ids: Iterable[int]) -> set[int]:
    """Of these workspaces, those another account belongs to too."""
    ids = sorted({int(w) for w in workspace_ids})
    if not ids:
        return set()
    return {int(w) for w in sql.column(
        conn,
        f"SELECT DISTINCT workspace_id FROM account_workspaces WHERE account <> ? "
        f"AND workspace_id IN ({sql.placeholders(len(ids))})", (name, *ids))}


def for_operation(conn: Connection, kind: str, workspace_id: int, user_id: int | None, preferred: str | None) -> str:
    """The account that sends an offline edit: a time entry's is its user's (the account bound to
    it); a project, client or tag goes through `preferred` (`--account`, else the default) when
    it belongs to the workspace, else through an account that does, else `preferred` or main."""
    if kind == records.Kind.TIME_ENTRY:
        owner = name_of_user(conn, user_id)
        if owner is not None:
            return owner
    members = sql.column(conn, "SELECT account FROM account_workspaces WHERE workspace_id = ? ORDER BY account",
                         (workspace_id,))
    if preferred is not None and (preferred in members or not members):
        return preferred
    if members:
        return IMPLICIT if IMPLICIT in members else str(members[0])
    return IMPLICIT


def chosen_user(conn: Connection, name: str | None) -> int | None:
    """The Toggl user of the account offline edits go to (`name`, else main, else the only one)."""
    if name is not None:
        account = get(conn, name)
        if account is None:
            raise UsageError(f"no account {name!r} in this database: see `togglsync accounts list`")
        if account.user_id is None:
            raise UsageError(f"account {name!r} was never synced: run `togglsync sync --account {name}` once while online")
        return account.user_id
    return user_of(conn, IMPLICIT)


def keeps_zone(conn: Connection, name: str) -> bool:
    """Whether this account's Toggl time zone is the database's (`tz_offsets`, the views' local
    dates): main's when it is synced here, else the first account's by name. One zone, or each
    account's sync would compute every entry's local date again in its own."""
    first = sql.scalar(
        conn, "SELECT name FROM accounts WHERE user_id IS NOT NULL ORDER BY name <> ?, name LIMIT 1", (IMPLICIT,))
    return first is None or first == name
