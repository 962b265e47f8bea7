"""Toggl API v9 and Reports v3 route handlers: HTTP parameters in, SimState call, JSON out.

Each handler takes the Call plus the URL's parts and returns the JSON body
(EMPTY for no body, a Reply for extra headers). The rules are in SimState.
"""

from __future__ import annotations

from typing import Any

from werkzeug.routing import Map, Rule

from .calls import EMPTY, Call, Reply

# -- /me ------------------------------------------------------------------


def me(call: Call) -> Any:
    return call.state.me(call.user_id, with_related_data=call.flag("with_related_data"))


def my_workspaces(call: Call) -> Any:
    return call.state.my_workspaces(call.user_id, since=call.arg("since"))


def my_organizations(call: Call) -> Any:
    return call.state.my_organizations(call.user_id)


def my_projects(call: Call) -> Any:
    return call.state.my_projects(
        call.user_id, since=call.arg("since"), include_archived=call.flag("include_archived")
    )


def my_clients(call: Call) -> Any:
    return call.state.my_clients(call.user_id, since=call.arg("since"))


def my_tags(call: Call) -> Any:
    return call.state.my_tags(call.user_id, since=call.arg("since"))


def my_tasks(call: Call) -> Any:
    return call.state.my_tasks(call.user_id, since=call.arg("since"))


def my_time_entries(call: Call) -> Any:
    return call.state.list_time_entries(
        call.user_id,
        since=call.arg("since"),
        before=call.arg("before"),
        start_date=call.arg("start_date"),
        end_date=call.arg("end_date"),
        meta=call.flag("meta"),
    )


def current_time_entry(call: Call) -> Any:
    return call.state.current_time_entry(call.user_id)  # JSON null when nothing runs


def my_time_entry(call: Call, entry_id: int) -> Any:
    return call.state.get_time_entry(call.user_id, entry_id, meta=call.flag("meta"))


# -- workspaces and organizations -------------------------------------------


def workspace(call: Call, wid: int) -> Any:
    return call.state.get_workspace(call.user_id, wid)


def workspace_users(call: Call, wid: int) -> Any:
    return call.state.workspace_users(call.user_id, wid)


def organization(call: Call, oid: int) -> Any:
    return call.state.get_organization(call.user_id, oid)


# -- time entries ---------------------------------------------------------


def create_time_entry(call: Call, wid: int) -> Any:
    return call.state.create_time_entry(call.user_id, wid, call.body, meta=call.flag("meta"))


def update_time_entry(call: Call, wid: int, entry_id: int) -> Any:
    return call.state.update_time_entry(call.user_id, wid, entry_id, call.body, meta=call.flag("meta"))


def stop_time_entry(call: Call, wid: int, entry_id: int) -> Any:
    return call.state.stop_time_entry(call.user_id, wid, entry_id)


def delete_time_entry(call: Call, wid: int, entry_id: int) -> Any:
    call.state.delete_time_entry(call.user_id, wid, entry_id)
    return EMPTY


def bulk_patch_time_entries(call: Call, wid: int, ids: str) -> Any:
    return call.state.bulk_patch_time_entries(call.user_id, wid, ids, call.body)


# -- projects -------------------------------------------------------------


def list_projects(call: Call, wid: int) -> Any:
    return call.state.list_projects(
        call.user_id,
        wid,
        active=call.arg("active"),
        since=call.arg("since"),
        name=call.arg("name"),
        page=call.arg("page") or 1,
        per_page=call.arg("per_page") or 151,
    )


def create_project(call: Call, wid: int) -> Any:
    return call.state.create_project(call.user_id, wid, call.body)


def get_project(call: Call, wid: int, project_id: int) -> Any:
    return call.state.get_project(call.user_id, wid, project_id)


def update_project(call: Call, wid: int, project_id: int) -> Any:
    return call.state.update_project(call.user_id, wid, project_id, call.body)


def delete_project(call: Call, wid: int, project_id: int) -> Any:
    call.state.delete_project(call.user_id, wid, project_id, te_deletion_mode=call.arg("teDeletionMode"))
    return EMPTY


def bulk_patch_projects(call: Call, wid: int, ids: str) -> Any:
    return call.state.bulk_patch_projects(call.user_id, wid, ids, call.body)


# -- clients --------------------------------------------------------------


def list_clients(call: Call, wid: int) -> Any:
    return call.state.list_clients(call.user_id, wid, status=call.arg("status"), name=call.arg("name"))


def create_client(call: Call, wid: int) -> Any:
    return call.state.create_client(call.user_id, wid, call.body)


def get_client(call: Call, wid: int, client_id: int) -> Any:
    return call.state.get_client(call.user_id, wid, client_id)


def update_client(call: Call, wid: int, client_id: int) -> Any:
    return call.state.update_client(call.user_id, wid, client_id, call.body)


def delete_client(call: Call, wid: int, client_id: int) -> Any:
    call.state.delete_client(call.user_id, wid, client_id)
    return EMPTY


def archive_client(call: Call, wid: int, client_id: int) -> Any:
    return call.state.archive_client(call.user_id, wid, client_id)


def restore_client(call: Call, wid: int, client_id: int) -> Any:
    return call.state.restore_client(call.user_id, wid, client_id, call.body)


# -- tags -----------------------------------------------------------------


def list_tags(call: Call, wid: int) -> Any:
    return call.state.list_tags(call.user_id, wid, page=call.arg("page"), per_page=call.arg("per_page"))


def create_tag(call: Call, wid: int) -> Any:
    return call.state.create_tag(call.user_id, wid, call.body)


def update_tag(call: Call, wid: int, tag_id: int) -> Any:
    return call.state.update_tag(call.user_id, wid, tag_id, call.body)


def delete_tag(call: Call, wid: int, tag_id: int) -> Any:
    call.state.delete_tag(call.user_id, wid, tag_id)
    return EMPTY


# -- reports v3 -----------------------------------------------------------


def search_time_entries(call: Call, wid: int) -> Any:
    rows, paging = call.state.search_time_entries(call.user_id, wid, call.body)
    return Reply(rows, headers=paging)


def export_time_entries_csv(call: Call, wid: int) -> Any:
    text = call.state.export_time_entries_csv(call.user_id, wid, call.body)
    return Reply(text, content_type="text/csv; charset=utf-8")


def _rules(*specs: tuple[str, str, Any]) -> Map:
    return Map(
        [Rule(path, methods=[method], endpoint=handler) for method, path, handler in specs],
        strict_slashes=False,
    )


_WS = "/workspaces/<int:wid>"

V9 = _rules(
    ("GET", "/me", me),
    ("GET", "/me/workspaces", my_workspaces),
    ("GET", "/me/organizations", my_organizations),
    ("GET", "/me/projects", my_projects),
    ("GET", "/me/clients", my_clients),
    ("GET", "/me/tags", my_tags),
    ("GET", "/me/tasks", my_tasks),
    ("GET", "/me/time_entries", my_time_entries),
    ("GET", "/me/time_entries/current", current_time_entry),
    ("GET", "/me/time_entries/<int:entry_id>", my_time_entry),
    ("GET", "/organizations/<int:oid>", organization),
    ("GET", _WS, workspace),
    ("GET", f"{_WS}/users", workspace_users),
    ("POST", f"{_WS}/time_entries", create_time_entry),
    ("PUT", f"{_WS}/time_entries/<int:entry_id>", update_time_entry),
    ("DELETE", f"{_WS}/time_entries/<int:entry_id>", delete_time_entry),
    ("PATCH", f"{_WS}/time_entries/<int:entry_id>/stop", stop_time_entry),
    ("PATCH", f"{_WS}/time_entries/<ids>", bulk_patch_time_entries),
    ("GET", f"{_WS}/projects", list_projects),
    ("POST", f"{_WS}/projects", create_project),
    ("GET", f"{_WS}/projects/<int:project_id>", get_project),
    ("PUT", f"{_WS}/projects/<int:project_id>", update_project),
    ("DELETE", f"{_WS}/projects/<int:project_id>", delete_project),
    ("PATCH", f"{_WS}/projects/<ids>", bulk_patch_projects),
    ("GET", f"{_WS}/clients", list_clients),
    ("POST", f"{_WS}/clients", create_client),
    ("GET", f"{_WS}/clients/<int:client_id>", get_client),
    ("PUT", f"{_WS}/clients/<int:client_id>", update_client),
    ("DELETE", f"{_WS}/clients/<int:client_id>", delete_client),
    ("POST", f"{_WS}/clients/<int:client_id>/archive", archive_client),
    ("POST", f"{_WS}/clients/<int:client_id>/restore", restore_client),
    ("GET", f"{_WS}/tags", list_tags),
    ("POST", f"{_WS}/tags", create_tag),
    ("PUT", f"{_WS}/tags/<int:tag_id>", update_tag),
    ("DELETE", f"{_WS}/tags/<int:tag_id>", delete_tag),
)

REPORTS = _rules(
    ("POST", "/workspace/<int:wid>/search/time_entries", search_time_entries),
    ("POST", "/workspace/<int:wid>/search/time_entries.csv", export_time_entries_csv),
)
