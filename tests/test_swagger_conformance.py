"""The simulator's responses against Toggl's own swagger 2.0 spec (../shared/toggl-v9-swagger.json).

For each endpoint togglsync uses: every property the simulator returns that the
swagger model declares must have a compatible JSON type (null always allowed:
Toggl sends nulls the spec does not mention), fields we rely on must be there,
and fields the model does not declare must be on a short list of known gaps
(toggl-api.md, "Known gaps in the swagger file"), which catches typos.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SWAGGER_FILE = Path(__file__).resolve().parents[2] / "shared" / "toggl-v9-swagger.json"
if not SWAGGER_FILE.exists():
    pytest.skip(f"swagger spec not found at {SWAGGER_FILE}", allow_module_level=True)

SWAGGER = json.loads(SWAGGER_FILE.read_text(encoding="utf-8"))
DEFINITIONS = SWAGGER["definitions"]

# Fields the client relies on, per swagger model.
ESSENTIAL = {
    "models.TimeEntry": {
        "id", "workspace_id", "project_id", "task_id", "billable", "start", "stop", "duration",
        "description", "tags", "tag_ids", "duronly", "at", "user_id", "wid", "uid", "pid", "tid",
    },
    "models.Project": {"id", "workspace_id", "client_id", "name", "active", "is_private", "color", "billable", "at", "created_at", "status", "wid", "cid"},
    "models.Client": {"id", "wid", "name", "archived", "at", "notes", "creator_id"},
    "models.Tag": {"id", "workspace_id", "name", "at", "creator_id"},
    "workspace.Workspace": {"id", "organization_id", "name", "premium", "at"},
    "workspace.WithActiveProjectCount": {"id", "organization_id", "name", "premium", "at", "max_data_retention_days"},
    "models.Workspace": {"id", "organization_id", "name", "premium", "at"},
    "related.UserWithRelated": {"id", "email", "fullname", "timezone", "default_workspace_id", "beginning_of_week", "at"},
    "models.SimpleWorkspaceUser": {"id", "email", "fullname", "role", "is_active"},
}
# Records with a deletion marker the spec forgets (toggl-api.md, known gaps).
WITH_DELETION_MARKER = {"models.TimeEntry", "models.Project", "models.Client", "models.Tag"}

# Undeclared fields we send on purpose, per model.
KNOWN_EXTRAS = {
    "models.TimeEntry": {"server_deleted_at"},
    "models.Project": {"server_deleted_at"},
    "models.Client": {"server_deleted_at"},
    "models.Tag": {"server_deleted_at"},
    # The spec's models lag behind the real responses here.
    "workspace.Workspace": {"server_deleted_at", "max_data_retention_days", "csv_upload", "subscription", "te_constraints", "permissions"},
    "workspace.WithActiveProjectCount": {"server_deleted_at"},
    "models.Workspace": {"server_deleted_at"},
    "related.UserWithRelated": {"toggl_accounts_id"},
    "models.SimpleWorkspaceUser": {"user_id", "workspace_id", "at"},
}


def resolve(schema: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Follow a $ref to its definition: (schema, model name or None)."""
    ref = schema.get("$ref")
    if not ref:
        return schema, None
    name = ref.rsplit("/", 1)[-1]
    return DEFINITIONS[name], name


def _type_ok(value: Any, expected: str) -> bool:
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected == "string":
        return isinstance(value, str)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "array":
        return isinstance(value, list)
    if expected == "object":
        return isinstance(value, dict)
    return True


class Conformance:
    """Walks a response against a schema, collecting type problems and fields per model."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.seen: dict[str, list[dict[str, Any]]] = {}

    def check(self, value: Any, schema: dict[str, Any], where: str = "$", model: str | None = None) -> None:
        schema, named = resolve(schema)
        model = named or model
        if value is None:
            return  # Toggl sends null for absent values everywhere
        expected = schema.get("type") or ("object" if "properties" in schema else None)
        if expected and not _type_ok(value, expected):
            self.problems.append(f"{where}: expected {expected}, got {type(value).__name__} {value!r:.60}")
            return
        if expected == "array":
            for index, item in enumerate(value):
                self.check(item, schema.get("items", {}), f"{where}[{index}]", None)
        elif expected == "object":
            properties = schema.get("properties", {})
            if named and properties:
                self.seen.setdefault(named, []).append(value)
            for key, item in value.items():
                if key in properties:
                    self.check(item, properties[key], f"{where}.{key}", None)
                elif isinstance(schema.get("additionalProperties"), dict):
                    self.check(item, schema["additionalProperties"], f"{where}.{key}", None)

    def field_problems(self) -> list[str]:
        found = []
        for model, objects in self.seen.items():
            declared = set(DEFINITIONS[model].get("properties", {}))
            for obj in objects:
                missing = ESSENTIAL.get(model, set()) - set(obj)
                if missing:
                    found.append(f"{model} lacks {sorted(missing)}")
                if model in WITH_DELETION_MARKER and "server_deleted_at" not in obj:
                    found.append(f"{model} lacks server_deleted_at")
                extras = set(obj) - declared - KNOWN_EXTRAS.get(model, set())
                if extras:
                    found.append(f"{model} has undeclared fields {sorted(extras)}")
        return sorted(set(found))


def response_schema(method: str, path: str) -> dict[str, Any]:
    return SWAGGER["paths"][path][method.lower()]["responses"]["200"]["schema"]


@pytest.fixture(scope="module")
def env():
    from togglsync.simulator import Simulator

    with Simulator(entries=80, seed=9, quotas=False, plan="premium") as simulator:
        from requests import Session

        session = Session()
        session.auth = (simulator.seed.api_token, "api_token")
        yield simulator, session


def _get(env, path, **params):
    simulator, session = env
    response = session.get(simulator.url + "/api/v9" + path, params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def _post(env, path, body):
    simulator, session = env
    response = session.post(simulator.url + "/api/v9" + path, json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


READS = [
    ("/me", "/me", {}),
    ("/me", "/me", {"with_related_data": "true"}),
    ("/me/workspaces", "/me/workspaces", {}),
    ("/me/time_entries", "/me/time_entries", {}),
    ("/me/time_entries", "/me/time_entries", {"meta": "true"}),
    ("/me/time_entries", "/me/time_entries", {"since": "SINCE"}),
    ("/me/time_entries/current", "/me/time_entries/current", {}),
    ("/me/projects", "/me/projects", {"include_archived": "true"}),
    ("/me/clients", "/me/clients", {}),
    ("/me/tags", "/me/tags", {}),
    ("/workspaces/{workspace_id}", "/workspaces/{wid}", {}),
    ("/workspaces/{workspace_id}/users", "/workspaces/{wid}/users", {}),
    ("/workspaces/{workspace_id}/projects", "/workspaces/{wid}/projects", {}),
    ("/workspaces/{workspace_id}/clients", "/workspaces/{wid}/clients", {"status": "both"}),
    ("/workspaces/{workspace_id}/tags", "/workspaces/{wid}/tags", {}),
]


@pytest.mark.parametrize("spec_path, path, params", READS, ids=[f"GET {r[1]} {r[2]}" for r in READS])
def test_reads_match_the_spec(env, spec_path, path, params):
    simulator = env[0]
    if params.get("since") == "SINCE":
        # A deleted entry in the window, so the deletion marker is exercised too.
        victim = simulator.state.list_time_entries(simulator.seed.user_id)[-1]["id"]
        simulator.state.delete_time_entry(simulator.seed.user_id, simulator.seed.workspace_id, victim)
        params = {"since": str(int(simulator.clock.now().timestamp()) - 86400)}
    body = _get(env, path.format(wid=simulator.seed.workspace_id), **params)
    assert body not in (None, [])
    checker = Conformance()
    checker.check(body, response_schema("GET", spec_path))
    assert checker.problems == []
    assert checker.field_problems() == []
    assert checker.seen, "nothing was checked against a model"


def test_writes_match_the_spec(env):
    simulator = env[0]
    wid = simulator.seed.workspace_id
    entry = _post(
        env,
        f"/workspaces/{wid}/time_entries",
        {"created_with": "conformance", "workspace_id": wid, "start": "2025-01-01T10:00:00Z", "duration": 60, "tags": ["spec"]},
    )
    running = _post(env, f"/workspaces/{wid}/time_entries", {"created_with": "conformance", "workspace_id": wid, "start": "2025-01-01T11:00:00Z", "duration": -1})
    project = _post(env, f"/workspaces/{wid}/projects", {"name": "Spec project", "color": "#123456"})
    client = _post(env, f"/workspaces/{wid}/clients", {"name": "Spec client"})
    tag = _post(env, f"/workspaces/{wid}/tags", {"name": "spec tag"})

    checker = Conformance()
    for body in (entry, running):
        checker.check(body, response_schema("POST", "/workspaces/{workspace_id}/time_entries"))
    checker.check(project, response_schema("POST", "/workspaces/{workspace_id}/projects"))
    checker.check(client, response_schema("POST", "/workspaces/{workspace_id}/clients"))
    # The spec declares an array of tags for POST; the API answers with the one tag it made.
    tag_schema = response_schema("POST", "/workspaces/{workspace_id}/tags")
    checker.check(tag, tag_schema.get("items", tag_schema) if isinstance(tag, dict) else tag_schema)
    assert checker.problems == []
    assert checker.field_problems() == []
    assert set(checker.seen) == {"models.TimeEntry", "models.Project", "models.Client", "models.Tag"}


def test_checker_catches_mismatches():
    checker = Conformance()
    schema = {"$ref": "#/definitions/models.TimeEntry"}
    checker.check({"id": "1", "duration": 1.5, "tags": "a", "billable": None, "bogus": 1}, schema)
    assert len(checker.problems) == 3
    assert any("bogus" in p for p in checker.field_problems())
    assert any("lacks" in p for p in checker.field_problems())
