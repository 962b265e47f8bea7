"""`TogglClient`: typed Toggl Track API v9 / Reports v3 calls returning plain JSON data.

Every call goes through `request()` (and from there through the `Chokepoint`):
URL building, quota bookkeeping and error mapping happen once, here. The
typed methods only know paths and parameters; they normalise nothing about
record shapes (null vs [] tags etc. is the sync layer's job).

Requests are the scarcest resource (30 /me requests per hour on every plan),
so argument mistakes that the server would reject are caught *before* sending.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, cast
from urllib.parse import parse_qsl, urlsplit

import togglsync
from togglsync.api.chokepoint import Auth, Chokepoint, Timeout, landed_earlier
from togglsync.api.params import entry_time, flag, report_date, unix_seconds
from togglsync.api.responses import date_of, quota_pool, quota_snapshot
from togglsync.api.retrying import SYSTEM_CLOCK, Clock, Pacer, RetryPolicy
from togglsync.api.transport import DirectAuth, MatonAuth, check_url
from togglsync.errors import BadResponse, NetworkError, QuotaSnapshot, UsageError

if TYPE_CHECKING:
    import requests

Api = Literal["v9", "reports"]

JSON = dict[str, Any]
"""One JSON object as Toggl sends it. Its fields vary by endpoint, plan and API
version, and nothing here checks them (the sync layer does), so values stay Any."""

_PREFIX: dict[str, str] = {"v9": "/api/v9", "reports": "/reports/api/v3"}

BULK_LIMIT = 100  # ids per bulk PATCH, Toggl's documented maximum

# Toggl's default page size for workspace lists. A page of exactly this many
# rows when we asked for more means the server ignored `per_page`: keep going.
SERVER_DEFAULT_PAGE = 151

# The page size `raw_pages` asks a list for when the caller gives none: Toggl's maximum for projects.
LIST_PAGE = 200

# What a retry of our own stop / delete meets when the first attempt went through.
_STOPPED = (409,)
_GONE = (404, 410)

CREATED_WITH = "togglsync"  # also the fingerprint the sync engine looks for after a lost create


# Rows asked for per detailed-report page: Toggl's documented default. The server may send
# fewer; `report_page` follows its X-Next-* headers whatever the size.
REPORT_PAGE_SIZE = 50


@dataclass(frozen=True)
class ReportPage:
    """One page of the detailed report: its rows, and the next page's cursor (`first_id`,
    `first_row_number`, `first_timestamp` from the X-Next-* headers; empty on the last page)."""

    rows: list[JSON]
    following: dict[str, int]


@dataclass(frozen=True)
class ApiResponse:
    """What `raw()` returns: the status, the headers and the decoded body."""

    status: int
    headers: Mapping[str, str]  # requests' case-insensitive mapping: proxies lowercase names
    data: Any
    # `data` is None both for no body (a DELETE) and for a JSON `null`; this tells them apart.
    has_body: bool = True


class TogglClient:
    """A client for one Toggl account over one transport (direct or Maton).

    `root_url` is the transport's root (`DIRECT_URL`, `MATON_URL`, or the
    simulator's); `auth` a `DirectAuth` or `MatonAuth`.

    Bookkeeping for the sync engine:
    * `quota[pool]`: the latest `QuotaSnapshot` per pool ("user", "workspace:<id>", ...);
      `on_quota` is called with each new one.
    * `requests_sent`: requests that reached the wire, retries included.
    * `budget`: when set, a request that would make `requests_sent` exceed it
      raises `BudgetExhausted` instead of being sent (retries are capped to fit).
    * `server_time`: the latest `Date` header, the server's clock for cursors.
    """

    def __init__(
        self,
        root_url: str,
        auth: Auth,
        *,
        timeout: Timeout = (5.0, 30.0),
        retry: RetryPolicy | None = None,
        min_interval: float = 1.0,
        user_agent: str = f"togglsync/{togglsync.__version__}",
        on_quota: Callable[[QuotaSnapshot], None] | None = None,
        session: requests.Session | None = None,
        clock: Clock = SYSTEM_CLOCK,
        wall_clock: Callable[[], datetime] | None = None,
    ):
        self.root_url = check_url(root_url)
        # When a quota snapshot was observed (default: the system's UTC time); a test whose
        # server runs on its own clock passes that clock.
        self.wall_clock = wall_clock
        self.auth = auth
        self.on_quota = on_quota
        self.quota: dict[str, QuotaSnapshot] = {}
        self._http = Chokepoint(
            self.root_url,
            auth,
            timeout=timeout,
            retry=retry or RetryPolicy(),
            min_interval=min_interval,
            user_agent=user_agent,
            session=session,
            clock=clock,
        )

    def __repr__(self) -> str:
        return f"TogglClient({self.root_url!r}, auth={self.auth!r})"

    def credential_fingerprint(self, salt: bytes) -> str:
        """A salted one-way digest of the credentials this client sends (`DirectAuth.fingerprint`,
        `MatonAuth.fingerprint`): whether they changed, told without keeping the secret."""
        if not isinstance(self.auth, (DirectAuth, MatonAuth)):
            raise TypeError(f"{type(self.auth).__name__} cannot tell a fingerprint of its credentials")
        return self.auth.fingerprint(salt)

    def carry_on(self, *, sent: int, server_time: datetime | None, quota: Mapping[str, QuotaSnapshot], pacer: Pacer,
                 budget: int | None) -> None:
        """Go on where the quiet sync's light transport stopped (`api.light.LightClient.whole`):
        its requests counted, its server clock, the quota it saw, its pacing, its budget."""
        self._http.carry_on(sent=sent, server_time=server_time, pacer=pacer)
        for pool, snapshot in quota.items():
            self.quota.setdefault(pool, snapshot)
        self.budget = budget

    def spend_retries(self, count: int) -> None:
        """The next request was tried `count` times more already (`Chokepoint.spend_retries`)."""
        self._http.spend_retries(count)

    def whole(self) -> TogglClient:
        """This client (`sync.remote.QuietToggl`: the light one hands over to a whole one)."""
        return self

    def __enter__(self) -> TogglClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @property
    def requests_sent(self) -> int:
        return self._http.requests_sent

    @property
    def budget(self) -> int | None:
        return self._http.budget

    @budget.setter
    def budget(self, value: int | None) -> None:
        self._http.budget = value

    @property
    def server_time(self) -> datetime | None:
        return self._http.server_time

    # --- the chokepoint ---------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        api: Api = "v9",
    ) -> Any:
        """Send one request to a native path (`/me`, `/workspaces/1/projects`) and return its JSON.

        Raises the typed errors of `togglsync.errors` for error statuses,
        `NetworkError` when no response came, `BudgetExhausted` before sending
        past the budget.
        """
        response = self._send(method, path, params=params, json=json, api=api)
        return self._decode(response, method, path)

    def raw(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> ApiResponse:
        """Any endpoint, for `togglsync api`: the path as Toggl's or Maton's docs write it.

        Accepts `/me`, `me`, `/api/v9/me`, `/reports/api/v3/...`, a leading
        `/toggl-track/` (Maton's docs) and a query string in the path.
        `headers` go with the request (never the credentials' own: `UsageError`).
        """
        api, native, query = normalise_path(path)
        merged = {**dict(query), **(params or {})}
        response = self._send(method, native, params=merged or None, json=json, api=api, headers=headers)
        data = self._decode(response, method, native)
        return _api_response(response, data)

    def raw_pages(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[ApiResponse]:
        """`raw()` through every page (`togglsync api --paginate`): one `ApiResponse` per page,
        each one request, its `data` that page's rows.

        * a Reports API search (`POST /reports/api/v3/...`): the cursor headers
          followed back into the body (`_report_responses`); `json` must be an object;
        * a `GET` list: `page=1,2,...` (from the `page` given, `per_page` as given or
          `LIST_PAGE`) until a short page (`_list_responses`); a body that is not a
          list (nor `{"data": [...]}`) is the only page, as it came.
        Anything else is a `UsageError`: nothing else comes in pages.
        """
        api, native, query = normalise_path(path)
        merged: dict[str, Any] = {**dict(query), **(params or {})}
        verb = method.upper()
        if api == "reports" and verb == "POST":
            body = {} if json is None else json
            if not isinstance(body, dict):
                raise UsageError("a Reports API search pages through its JSON body: give an object")
            for response, found in self._report_responses(native, body, params=merged or None, headers=headers):
                yield _api_response(response, found)
            return
        if verb != "GET":
            raise UsageError(f"only GET lists and Reports API searches (POST /reports/api/v3/...) come in pages, "
                             f"not {verb}")
        try:
            first = int(merged.pop("page", 1))
            per_page = int(merged.pop("per_page", LIST_PAGE))
        except (TypeError, ValueError):
            raise UsageError("page and per_page are numbers") from None
        for response, body, rows in self._list_responses(
            native, merged, per_page, first_page=first, api=api, headers=headers
        ):
            yield _api_response(response, body if rows is None else rows)

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        api: Api = "v9",
        repeatable: bool | None = None,
        stream: bool = False,
        headers: Mapping[str, str] | None = None,
        paced: bool = True,
    ) -> requests.Response:
        if api not in _PREFIX:
            raise ValueError(f"api must be 'v9' or 'reports', not {api!r}")
        if not path.startswith("/"):
            path = "/" + path
        url = self.root_url + _PREFIX[api] + path
        response = self._http.send(
            method, url, params=params, json=json, repeatable=repeatable, stream=stream, headers=headers, paced=paced
        )
        self._note_quota(response, path)
        return response

    def _decode(self, response: requests.Response, method: str, path: str) -> Any:
        return self._http.check(response, method=method.upper(), path=path, pool=quota_pool(path))

    def _note_quota(self, response: requests.Response, path: str) -> None:
        snapshot = quota_snapshot(response.headers, quota_pool(path), self.wall_clock() if self.wall_clock else None)
        if snapshot is None:
            return
        self.quota[snapshot.pool] = snapshot
        if self.on_quota is not None:
            self.on_quota(snapshot)

    def _get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=_drop_none(params) or None)

    # The typed methods below state the body shape Toggl documents for each
    # endpoint; like `request()` they do not check it.

    def _get_one(self, path: str, **params: Any) -> JSON:
        return cast(JSON, self._get(path, **params))

    def _get_all(self, path: str, **params: Any) -> list[JSON]:
        return cast(list[JSON], self._get(path, **params))

    def _send_one(self, method: str, path: str, body: Any = None) -> JSON:
        return cast(JSON, self.request(method, path, json=body))

    def _own_retry_ok(
        self, method: str, path: str, ok: tuple[int, ...], *, params: Mapping[str, Any] | None = None
    ) -> Any:
        """A stop or delete whose retry may meet the effect of its own first attempt.

        If an earlier attempt of *this call* may have been applied (a 5xx or a
        lost response before the retry), a status in `ok` on the retry (409
        "already stopped", 404 "not found") is our own success: return None (no
        body; the next pull brings the record). The same status on a first
        attempt is someone else's doing and is raised.
        """
        response = self._send(method, path, params=params)
        if response.status_code in ok and landed_earlier(response):
            return None
        return self._decode(response, method, path)

    # --- user ---------------------------------------------------------------------------

    def me(self, with_related_data: bool = False) -> JSON:
        """GET /me; `with_related_data` embeds clients, projects, tags, tasks, recent entries, workspaces."""
        return self._get_one("/me", with_related_data=flag(True) if with_related_data else None)

    def my_workspaces(self, since: int | datetime | None = None) -> list[JSON]:
        return self._get_all("/me/workspaces", since=_since(since))

    def my_organizations(self) -> list[JSON]:
        return self._get_all("/me/organizations")

    def organization(self, oid: int) -> JSON:
        return self._get_one(f"/organizations/{_id(oid)}")

    def workspace(self, wid: int) -> JSON:
        return self._get_one(f"/workspaces/{_id(wid)}")

    def workspace_users(self, wid: int) -> list[JSON]:
        return self._get_all(f"/workspaces/{_id(wid)}/users")

    # --- time entries -------------------------------------------------------------------

    def time_entries(
        self,
        since: int | datetime | None = None,
        before: date | datetime | str | None = None,
        start_date: date | datetime | str | None = None,
        end_date: date | datetime | str | None = None,
        meta: bool = False,
    ) -> list[JSON]:
        """GET /me/time_entries: modified `since` (deleted included), a date range, or the recent window."""
        if since is not None and before is not None:
            raise ValueError("'since' and 'before' can not be used together (Toggl answers 400)")
        if (start_date is None) != (end_date is None):
            raise ValueError("start_date and end_date go together")
        return self._get_all(
            "/me/time_entries",
            since=_since(since),
            before=None if before is None else entry_time(before, "before"),
            start_date=None if start_date is None else entry_time(start_date, "start_date"),
            end_date=None if end_date is None else entry_time(end_date, "end_date"),
            meta=flag(True) if meta else None,
        )

    def download_time_entries(
        self, sink: BinaryIO, *, start_date: date | datetime | str, end_date: date | datetime | str,
        paced: bool = True,
    ) -> datetime | None:
        """GET /me/time_entries for a date range, its body written to `sink` as it arrives;
        returns the server's clock when it answered (its `Date`; None if it sent none).

        For answers too big to hold in memory (a cold sync of a busy account):
        the caller parses the file with `togglsync.api.streaming.iter_json_array`
        after the request is over, so no database transaction waits on the network.
        Without `paced` it is sent at once (see `Chokepoint.send`): a sync downloads
        the entries on a second thread while it stores GET /me's answer.
        """
        params = {"start_date": entry_time(start_date, "start_date"), "end_date": entry_time(end_date, "end_date")}
        return self._download("/me/time_entries", params, sink, paced=paced)

    def download_me(self, sink: BinaryIO) -> None:
        """GET /me?with_related_data=true, its body written to `sink` as it arrives (as
        `download_time_entries`): the answer embeds ten days of entries, tens of megabytes for
        a busy account, that the caller may parse as a stream (`api.streaming.iter_json_object`)."""
        self._download("/me", {"with_related_data": flag(True)}, sink)

    def _download(self, path: str, params: Mapping[str, Any], sink: BinaryIO, *, paced: bool = True) -> datetime | None:
        import requests  # loaded by the request itself (`Chokepoint`, on first use)

        response = self._send("GET", path, params=params, stream=True, paced=paced)
        try:
            if not 200 <= response.status_code < 300:
                self._decode(response, "GET", path)  # raises the typed error
            try:
                for chunk in response.iter_content(chunk_size=1 << 16):
                    sink.write(chunk)
            except requests.RequestException as exc:
                raise NetworkError(
                    f"the connection to {urlsplit(self.root_url).hostname} broke while reading: {type(exc).__name__}",
                    maybe_applied=True,
                ) from None
        finally:
            response.close()
        return date_of(response)

    def current_time_entry(self) -> JSON | None:
        """The running entry, or None (the server answers `null`)."""
        return cast("JSON | None", self._get("/me/time_entries/current"))

    def time_entry(self, entry_id: int, meta: bool = False) -> JSON:
        return self._get_one(f"/me/time_entries/{_id(entry_id)}", meta=flag(True) if meta else None)

    def create_time_entry(self, wid: int, body: Mapping[str, Any]) -> JSON:
        """POST a new entry. Fills `created_with` and `workspace_id` when absent.

        Not retried on 5xx or a lost response (it may have landed): a
        `NetworkError(maybe_applied=True)` or `ServerError` means "pull and look
        before sending again".
        """
        payload = dict(body)
        payload.setdefault("created_with", CREATED_WITH)
        payload.setdefault("workspace_id", _id(wid))
        if payload["workspace_id"] != _id(wid):
            raise ValueError("body workspace_id must match the workspace in the path")
        return self._send_one("POST", f"/workspaces/{_id(wid)}/time_entries", payload)

    def update_time_entry(self, wid: int, entry_id: int, body: Mapping[str, Any]) -> JSON:
        """PUT the given fields (absolute values, so a retry is harmless)."""
        return self._send_one("PUT", f"/workspaces/{_id(wid)}/time_entries/{_id(entry_id)}", dict(body))

    def stop_time_entry(self, wid: int, entry_id: int) -> JSON | None:
        """PATCH .../stop. Returns the stopped entry, or None when a retry met our own earlier stop.

        A 409 "already stopped" on the first attempt means it was stopped
        elsewhere: that is raised as `Conflict` for the caller to reconcile.
        """
        path = f"/workspaces/{_id(wid)}/time_entries/{_id(entry_id)}/stop"
        return cast("JSON | None", self._own_retry_ok("PATCH", path, _STOPPED))

    def delete_time_entry(self, wid: int, entry_id: int) -> None:
        """DELETE; a 404 on a retry after our own first attempt went through counts as done."""
        self._own_retry_ok("DELETE", f"/workspaces/{_id(wid)}/time_entries/{_id(entry_id)}", _GONE)

    def bulk_patch_time_entries(
        self, wid: int, ids: Sequence[int], ops: Sequence[Mapping[str, Any]]
    ) -> JSON:
        """Apply JSON-Patch `ops` to up to 100 entries: `{"success": [ids], "failure": [{id, message}]}`.

        Applied partially, without rollback. More than 100 ids is a ValueError:
        the caller chunks, because it must record each chunk's outcome before
        the next (a 402 on chunk 3 must not lose what chunks 1-2 did).
        """
        return self._send_one("PATCH", f"/workspaces/{_id(wid)}/time_entries/{_id_list(ids)}", list(ops))

    # --- projects -----------------------------------------------------------------------

    def my_projects(
        self, since: int | datetime | None = None, include_archived: bool = True
    ) -> list[JSON]:
        """GET /me/projects; archived ones included by default (old entries still point at them)."""
        return self._get_all("/me/projects", since=_since(since), include_archived=flag(include_archived))

    def iter_projects(
        self,
        wid: int,
        *,
        active: bool | Literal["both"] = "both",
        since: int | datetime | None = None,
        per_page: int = 200,
    ) -> Iterator[JSON]:
        """Every project of a workspace, page by page (lazily: stop iterating, stop requesting).

        `active="both"` by default: a cache needs archived projects too, since
        old entries still reference them.
        """
        params = {"active": flag(active), "since": _since(since)}
        return self._pages(f"/workspaces/{_id(wid)}/projects", params, per_page)

    def project(self, wid: int, project_id: int) -> JSON:
        return self._get_one(f"/workspaces/{_id(wid)}/projects/{_id(project_id)}")

    def create_project(self, wid: int, body: Mapping[str, Any]) -> JSON:
        return self._send_one("POST", f"/workspaces/{_id(wid)}/projects", dict(body))

    def update_project(self, wid: int, project_id: int, body: Mapping[str, Any]) -> JSON:
        return self._send_one("PUT", f"/workspaces/{_id(wid)}/projects/{_id(project_id)}", dict(body))

    def delete_project(
        self, wid: int, project_id: int, te_deletion_mode: Literal["delete", "unassign"] | None = None
    ) -> None:
        """DELETE; `te_deletion_mode` says what happens to its entries (Toggl's `teDeletionMode`)."""
        params = {"teDeletionMode": te_deletion_mode} if te_deletion_mode else None
        path = f"/workspaces/{_id(wid)}/projects/{_id(project_id)}"
        self._own_retry_ok("DELETE", path, _GONE, params=params)

    def bulk_patch_projects(
        self, wid: int, ids: Sequence[int], ops: Sequence[Mapping[str, Any]]
    ) -> JSON:
        """Same contract as `bulk_patch_time_entries`, for projects."""
        return self._send_one("PATCH", f"/workspaces/{_id(wid)}/projects/{_id_list(ids)}", list(ops))

    # --- clients ------------------------------------------------------------------------

    def my_clients(self, since: int | datetime | None = None) -> list[JSON]:
        return self._get_all("/me/clients", since=_since(since))

    def clients(
        self,
        wid: int,
        status: Literal["active", "archived", "both"] | None = None,
        name: str | None = None,
    ) -> list[JSON]:
        """GET /workspaces/{wid}/clients (no `since` on this endpoint); `status=None` is the server's default."""
        return self._get_all(f"/workspaces/{_id(wid)}/clients", status=status, name=name)

    def client(self, wid: int, client_id: int) -> JSON:
        return self._get_one(f"/workspaces/{_id(wid)}/clients/{_id(client_id)}")

    def create_client(self, wid: int, body: Mapping[str, Any]) -> JSON:
        return self._send_one("POST", f"/workspaces/{_id(wid)}/clients", dict(body))

    def update_client(self, wid: int, client_id: int, body: Mapping[str, Any]) -> JSON:
        return self._send_one("PUT", f"/workspaces/{_id(wid)}/clients/{_id(client_id)}", dict(body))

    def delete_client(self, wid: int, client_id: int) -> None:
        self._own_retry_ok("DELETE", f"/workspaces/{_id(wid)}/clients/{_id(client_id)}", _GONE)

    def archive_client(self, wid: int, client_id: int) -> list[int]:
        """Archive a client (premium only); returns the ids of the projects archived with it."""
        return cast("list[int]", self.request("POST", f"/workspaces/{_id(wid)}/clients/{_id(client_id)}/archive"))

    def restore_client(
        self,
        wid: int,
        client_id: int,
        restore_all_projects: bool = False,
        projects: Sequence[int] | None = None,
    ) -> JSON:
        """Un-archive a client and all (or the listed) projects; by default only the client."""
        body: JSON = {"restore_all_projects": restore_all_projects}
        if projects is not None:
            body["projects"] = [_id(p) for p in projects]
        return self._send_one("POST", f"/workspaces/{_id(wid)}/clients/{_id(client_id)}/restore", body)

    # --- tags ---------------------------------------------------------------------------

    def my_tags(self, since: int | datetime | None = None) -> list[JSON]:
        return self._get_all("/me/tags", since=_since(since))

    def tags(self, wid: int) -> list[JSON]:
        """Every tag of a workspace. Paging is undocumented here, so the same guarded
        paging as projects applies: one request unless a full page comes back."""
        return list(self._pages(f"/workspaces/{_id(wid)}/tags", {}, 200))

    def create_tag(self, wid: int, body: Mapping[str, Any]) -> JSON:
        return self._send_one("POST", f"/workspaces/{_id(wid)}/tags", dict(body))

    def update_tag(self, wid: int, tag_id: int, body: Mapping[str, Any]) -> JSON:
        return self._send_one("PUT", f"/workspaces/{_id(wid)}/tags/{_id(tag_id)}", dict(body))

    def delete_tag(self, wid: int, tag_id: int) -> None:
        """DELETE; Toggl strips the tag from entries *without* changing their `at` (the cache must too)."""
        self._own_retry_ok("DELETE", f"/workspaces/{_id(wid)}/tags/{_id(tag_id)}", _GONE)

    # --- tasks --------------------------------------------------------------------------

    def my_tasks(
        self, since: int | datetime | None = None, include_not_active: bool = True
    ) -> list[JSON]:
        """GET /me/tasks; done tasks included by default (entries keep pointing at them)."""
        return self._get_all("/me/tasks", since=_since(since), include_not_active=flag(include_not_active))

    def iter_tasks(
        self, wid: int, *, since: int | datetime | None = None, per_page: int = 200
    ) -> Iterator[JSON]:
        """Every task of a workspace (GET /workspaces/{wid}/tasks, paged, body `{"data": [...]}`)."""
        return self._pages(f"/workspaces/{_id(wid)}/tasks", {"since": _since(since)}, per_page)

    # --- reports ------------------------------------------------------------------------

    def iter_report_time_entries(
        self,
        wid: int,
        start_date: date | datetime | str,
        end_date: date | datetime | str,
        page_size: int = REPORT_PAGE_SIZE,
        **filters: Any,
    ) -> Iterator[JSON]:
        """Detailed-report rows (`{..., "time_entries": [...]}`) for older history, page by page.

        Follows `X-Next-ID` / `X-Next-Row-Number` (/ `X-Next-Timestamp`) into
        `first_id` / `first_row_number` (/ `first_timestamp`) until they stop
        coming, whatever page size the server chose (`_report_responses`).
        """
        path = f"/workspace/{_id(wid)}/search/time_entries"
        body: JSON = {
            "start_date": report_date(start_date, "start_date"),
            "end_date": report_date(end_date, "end_date"),
            "page_size": page_size,
            **filters,
        }
        return self._report_pages(path, body)

    def report_page(self, wid: int, body: Mapping[str, Any]) -> ReportPage:
        """One page of the detailed search (POST .../search/time_entries): its rows and the
        cursor of the next page (`{}`: this was the last), read from the X-Next-* headers.

        The headers are followed exactly; the page size asked for is a wish (Toggl
        documents a default of 50 and no maximum). What would page forever (the cursor
        this page was asked with named as the next, an empty page with a cursor) is a
        `BadResponse`. `togglsync history` calls this one page at a time, storing each
        with its cursor.
        """
        path = f"/workspace/{_id(wid)}/search/time_entries"
        _, rows, following = self._report_page(path, dict(body))
        return ReportPage(rows, following)

    def _report_pages(self, path: str, body: JSON) -> Iterator[JSON]:
        for _, rows in self._report_responses(path, body):
            yield from rows

    def _report_page(
        self,
        path: str,
        body: JSON,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[requests.Response, list[JSON], dict[str, int]]:
        """One Reports API search page: (response, its rows, the next page's cursor). The
        search only reads, so it is retried like a GET. A next cursor equal to the one this
        page was asked with, or a cursor on an empty page, is `BadResponse` before the page
        is given out: a server that would make us loop costs one request."""
        response = self._send("POST", path, params=params, json=body, api="reports", repeatable=True, headers=headers)
        rows = self._decode(response, "POST", path)
        rows = [] if rows is None else rows
        if not isinstance(rows, list):
            raise BadResponse(response.status_code, "a report page is not a JSON array", method="POST", path=path)
        following = _next_report_cursor(response.headers)
        asked = {name: body[name] for name in following if name in body}
        if following and asked == following:
            raise BadResponse(response.status_code, f"the report repeats its paging cursor {_cursor_text(following)}"
                              " (stopped rather than loop)", method="POST", path=path)
        if following and not rows:
            raise BadResponse(response.status_code, f"an empty report page names a next page {_cursor_text(following)}"
                              " (stopped rather than loop)", method="POST", path=path)
        return response, rows, following

    def _report_responses(
        self,
        path: str,
        body: JSON,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[tuple[requests.Response, list[JSON]]]:
        """A Reports API search, page by page: (response, its rows).

        Each page's `X-Next-ID` / `X-Next-Row-Number` (/ `X-Next-Timestamp`) go
        back as `first_id` / `first_row_number` (/ `first_timestamp`); no headers
        = the last page (`_report_page` refuses what would loop on one page; a
        cursor seen on an earlier page is refused here, before that page is given out).
        """
        cursor: dict[str, int] = {}
        seen: set[tuple[tuple[str, int], ...]] = set()
        while True:
            response, rows, following = self._report_page(path, {**body, **cursor}, params=params, headers=headers)
            key = tuple(sorted(following.items()))
            if following and key in seen:
                raise BadResponse(response.status_code, f"the report repeats its paging cursor {_cursor_text(following)}"
                                  " (stopped rather than loop)", method="POST", path=path)
            yield response, rows
            if not following:
                return
            seen.add(key)
            cursor = following

    # --- paging -------------------------------------------------------------------------

    def _pages(self, path: str, params: Mapping[str, Any], per_page: int) -> Iterator[JSON]:
        for _, _, rows in self._list_responses(path, params, per_page):
            yield from rows or ()

    def _list_responses(
        self,
        path: str,
        params: Mapping[str, Any],
        per_page: int,
        *,
        first_page: int = 1,
        api: Api = "v9",
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[tuple[requests.Response, Any, list[JSON] | None]]:
        """GET `page=1,2,...` until a short page: (response, body, its new rows) per page;
        rows None when the body is no list (nor `{"data": [...]}`): that page is the only one.

        Guards: a page with nothing new ends it (a server that ignores `page`
        returns page 1 forever), and a page of exactly the server's default
        size when we asked for more is not "short" (it ignored `per_page`).
        """
        seen: set[Any] = set()
        page = first_page
        while True:
            query = _drop_none({**params, "page": page, "per_page": per_page})
            response = self._send("GET", path, params=query, api=api, headers=headers)
            body = self._decode(response, "GET", path)
            rows = _list_rows(body)
            if rows is None:
                yield response, body, None
                return
            fresh = [row for row in rows if _row_key(row) not in seen]
            yield response, body, fresh
            if not fresh:
                return
            seen.update(_row_key(row) for row in fresh)
            if len(rows) < per_page and len(rows) != SERVER_DEFAULT_PAGE:
                return
            page += 1


# --- helpers ------------------------------------------------------------------------------


def normalise_path(path: str) -> tuple[Api, str, list[tuple[str, str]]]:
    """`raw()`'s path forms -> (api, native path, query pairs)."""
    text = path.strip()
    text, _, query = text.partition("?")
    if not text.startswith("/"):
        text = "/" + text
    if text == "/toggl-track" or text.startswith("/toggl-track/"):
        text = text[len("/toggl-track") :] or "/"
    api: Api = "v9"
    for name, prefix in _PREFIX.items():
        if text == prefix or text.startswith(prefix + "/"):
            api, text = name, text[len(prefix) :] or "/"  # type: ignore[assignment]
            break
    return api, text, parse_qsl(query, keep_blank_values=True)


def _api_response(response: requests.Response, data: Any) -> ApiResponse:
    return ApiResponse(response.status_code, response.headers, data, has_body=bool(response.content.strip()))


def _list_rows(body: Any) -> list[Any] | None:
    """A list page's rows: the body itself, or its `data` (tasks); `null` is an empty page; None: not a list."""
    if body is None:
        return []
    if isinstance(body, list):
        return body
    if isinstance(body, dict) and "data" in body and (body["data"] is None or isinstance(body["data"], list)):
        return body["data"] or []
    return None


def _cursor_text(cursor: Mapping[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in cursor.items())


def _next_report_cursor(headers: Mapping[str, str]) -> dict[str, int]:
    cursor: dict[str, int] = {}
    for header, field in (
        ("X-Next-ID", "first_id"),
        ("X-Next-Row-Number", "first_row_number"),
        ("X-Next-Timestamp", "first_timestamp"),
    ):
        value = headers.get(header)
        if value and value.strip().lstrip("-").isdigit():
            cursor[field] = int(value)
    return cursor


def _row_key(row: Any) -> Any:
    if isinstance(row, dict) and "id" in row:
        return row["id"]
    return jsonlib.dumps(row, sort_keys=True, default=str)


def _since(value: int | datetime | None) -> int | None:
    return None if value is None else unix_seconds(value)


def _id(value: Any) -> int:
    """Ids go into paths: only integers (or digit strings), so nothing else can change the path."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise TypeError(f"an id must be an integer, not {value!r}")


def _id_list(ids: Iterable[int]) -> str:
    numbers = [_id(i) for i in ids]
    if not numbers:
        raise ValueError("no ids given")
    if len(numbers) > BULK_LIMIT:
        raise ValueError(f"at most {BULK_LIMIT} ids per bulk request (got {len(numbers)}); chunk them")
    return ",".join(str(n) for n in numbers)


def _drop_none(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}
