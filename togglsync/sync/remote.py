"""What the sync needs from Toggl: a Protocol, and the per-kind table of endpoints.

`TogglClient` satisfies `Toggl` structurally (the api package does not import
the sync); a test double or another backend implements the same few methods.
`ENDPOINTS` says how each kind of record is created, updated, deleted and
listed, so the push has no per-kind if-chains: Toggl's per-kind details
(a client's `archived` as its own archive/restore request, a project delete
keeping its entries) live in this one table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, Protocol

from togglsync.errors import NotFound, QuotaSnapshot
from togglsync.records import Kind

Record = dict[str, Any]


class ReportPage(Protocol):
    """One page of the detailed report (`TogglClient.report_page`)."""

    @property
    def rows(self) -> list[Record]: ...
    @property
    def following(self) -> dict[str, int]: ...


class Counted(Protocol):
    """A client's bookkeeping: the quota seen per pool, the server's clock, the requests sent
    and the budget (`outcome.settled` reads them however a sync ends)."""

    @property
    def quota(self) -> dict[str, QuotaSnapshot]: ...
    @property
    def server_time(self) -> datetime | None: ...
    @property
    def requests_sent(self) -> int: ...
    @property
    def budget(self) -> int | None: ...
    @budget.setter
    def budget(self, value: int | None) -> None: ...


class Toggl(Counted, Protocol):
    """The part of Toggl's API that a sync uses, with the client's bookkeeping."""

    # whose credentials (`accounts.check_credentials`): a salted digest, never the secret
    def credential_fingerprint(self, salt: bytes) -> str: ...

    # pull
    def me(self, with_related_data: bool = False) -> Record: ...

    def my_workspaces(self) -> list[Record]: ...
    def workspace_users(self, wid: int) -> list[Record]: ...
    def time_entries(
        self,
        since: int | datetime | None = None,
        before: date | datetime | str | None = None,
        start_date: date | datetime | str | None = None,
        end_date: date | datetime | str | None = None,
        meta: bool = False,
    ) -> list[Record]: ...
    def download_me(self, sink: BinaryIO) -> None: ...
    def download_time_entries(
        self, sink: BinaryIO, *, start_date: date | datetime | str, end_date: date | datetime | str,
        paced: bool = True,
    ) -> datetime | None: ...

    # history (the Reports API's detailed search, one page)
    def report_page(self, wid: int, body: Mapping[str, Any]) -> ReportPage: ...

    # one record (putting back one the user gave a local change of up)
    def time_entry(self, entry_id: int, meta: bool = False) -> Record: ...
    def project(self, wid: int, project_id: int) -> Record: ...
    def client(self, wid: int, client_id: int) -> Record: ...

    # push
    def create_time_entry(self, wid: int, body: Mapping[str, Any]) -> Record: ...
    def update_time_entry(self, wid: int, entry_id: int, body: Mapping[str, Any]) -> Record: ...
    def delete_time_entry(self, wid: int, entry_id: int) -> None: ...
    def bulk_patch_time_entries(self, wid: int, ids: Sequence[int], ops: Sequence[Mapping[str, Any]]) -> Record: ...
    def create_project(self, wid: int, body: Mapping[str, Any]) -> Record: ...
    def update_project(self, wid: int, project_id: int, body: Mapping[str, Any]) -> Record: ...
    def delete_project(
        self, wid: int, project_id: int, te_deletion_mode: Literal["delete", "unassign"] | None = None
    ) -> None: ...
    def create_client(self, wid: int, body: Mapping[str, Any]) -> Record: ...
    def update_client(self, wid: int, client_id: int, body: Mapping[str, Any]) -> Record: ...
    def delete_client(self, wid: int, client_id: int) -> None: ...
    def archive_client(self, wid: int, client_id: int) -> list[int]: ...
    def restore_client(
        self, wid: int, client_id: int, restore_all_projects: bool = False, projects: Sequence[int] | None = None
    ) -> Record: ...
    def create_tag(self, wid: int, body: Mapping[str, Any]) -> Record: ...
    def update_tag(self, wid: int, tag_id: int, body: Mapping[str, Any]) -> Record: ...
    def delete_tag(self, wid: int, tag_id: int) -> None: ...

    # changes since a moment, deleted records included (recognising a create whose answer was lost)
    def my_projects(self, since: int | datetime | None = None, include_archived: bool = True) -> list[Record]: ...
    def my_clients(self, since: int | datetime | None = None) -> list[Record]: ...
    def my_tags(self, since: int | datetime | None = None) -> list[Record]: ...

    # listings (adopting a record whose name is taken)
    def iter_projects(
        self,
        wid: int,
        *,
        active: bool | Literal["both"] = "both",
        since: int | datetime | None = None,
        per_page: int = 200,
    ) -> Iterable[Record]: ...
    def clients(
        self,
        wid: int,
        status: Literal["active", "archived", "both"] | None = None,
        name: str | None = None,
    ) -> list[Record]: ...
    def tags(self, wid: int) -> list[Record]: ...


@dataclass(frozen=True)
class Endpoints:
    """How one kind of record is written to Toggl, and listed to be found by name."""

    create: Callable[[Toggl, int, Record], Any]
    # An update answers with the record, or None when it gives nothing to store.
    update: Callable[[Toggl, int, int, Record], Any]
    delete: Callable[[Toggl, int, int], None]
    # Named kinds only: every record of a workspace.
    listing: Callable[[Toggl, int], Iterable[Any]] | None = None
    # Named kinds only: the account's records changed since a moment (UNIX seconds), deleted included.
    changed_since: Callable[[Toggl, int], Iterable[Any]] | None = None
    # One record by workspace and id (NotFound when Toggl has none): one request.
    fetch: Callable[[Toggl, int, int], Any] | None = None


def _fetch_tag(toggl: Toggl, wid: int, tag_id: int) -> Any:
    """Toggl has no GET of one tag: the workspace's list, one request."""
    for tag in toggl.tags(wid):
        if isinstance(tag, dict) and tag.get("id") == tag_id:
            return tag
    raise NotFound(404, f"no tag {tag_id} in workspace {wid}")


def _update_client(toggl: Toggl, wid: int, client_id: int, body: Record) -> Any:
    """A PUT cannot archive: `archived` goes as its own archive/restore request."""
    body = dict(body)
    archived = body.pop("archived", None)
    record = toggl.update_client(wid, client_id, body) if body else None
    if archived is True:
        toggl.archive_client(wid, client_id)
        return None  # the response lists archived projects; the next pull brings the client
    if archived is False:
        toggl.restore_client(wid, client_id, restore_all_projects=False)
        return None
    return record


ENDPOINTS: dict[Kind, Endpoints] = {
    Kind.TIME_ENTRY: Endpoints(
        create=lambda t, wid, body: t.create_time_entry(wid, body),
        update=lambda t, wid, rid, body: t.update_time_entry(wid, rid, body),
        delete=lambda t, wid, rid: t.delete_time_entry(wid, rid),
        fetch=lambda t, wid, rid: t.time_entry(rid),
    ),
    Kind.PROJECT: Endpoints(
        create=lambda t, wid, body: t.create_project(wid, body),
        update=lambda t, wid, rid, body: t.update_project(wid, rid, body),
        # Deleting a project here keeps its entries (as the local delete does): they lose the project.
        delete=lambda t, wid, rid: t.delete_project(wid, rid, te_deletion_mode="unassign"),
        listing=lambda t, wid: t.iter_projects(wid),
        changed_since=lambda t, since: t.my_projects(since=since),
        fetch=lambda t, wid, rid: t.project(wid, rid),
    ),
    Kind.CLIENT: Endpoints(
        create=lambda t, wid, body: t.create_client(wid, body),
        update=_update_client,
        delete=lambda t, wid, rid: t.delete_client(wid, rid),
        listing=lambda t, wid: t.clients(wid, status="both"),
        changed_since=lambda t, since: t.my_clients(since=since),
        fetch=lambda t, wid, rid: t.client(wid, rid),
    ),
    Kind.TAG: Endpoints(
        create=lambda t, wid, body: t.create_tag(wid, body),
        update=lambda t, wid, rid, body: t.update_tag(wid, rid, body),
        delete=lambda t, wid, rid: t.delete_tag(wid, rid),
        listing=lambda t, wid: t.tags(wid),
        changed_since=lambda t, since: t.my_tags(since=since),
        fetch=_fetch_tag,
    ),
}


# Kinds listed for the whole account rather than per workspace (what contains the others).
class QuietToggl(Counted, Protocol):
    """What the quiet sync asks of Toggl (`sync.quiet`): whose credentials, one `since` request,
    and the whole client for the rest of the sync (`whole()`, going on with the same count,
    clock, quota and pacing). `api.light.LightClient` asks without importing requests; a
    `TogglClient` is one too (its `whole()` is itself)."""

    def credential_fingerprint(self, salt: bytes) -> str: ...
    def me(self, with_related_data: bool = False) -> Record: ...
    def time_entries(self, since: int | datetime | None = None) -> list[Record]: ...
    def whole(self) -> Toggl: ...


ACCOUNT_LISTINGS: dict[Kind, Callable[[Toggl], Iterable[Any]]] = {
    Kind.WORKSPACE: lambda t: t.my_workspaces(),
}


def endpoints(kind: str) -> Endpoints:
    return ENDPOINTS[Kind(kind)]


if TYPE_CHECKING:
    from togglsync.api.client import TogglClient

    from togglsync.api.light import LightClient

    def _client_is_a_toggl(client: TogglClient) -> Toggl:
        return client  # mypy checks that TogglClient satisfies the Protocol

    def _clients_ask_quietly(client: TogglClient, light: LightClient) -> tuple[QuietToggl, QuietToggl]:
        return client, light  # and that both satisfy the quiet sync's
