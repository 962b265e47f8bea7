"""The practice server's admin endpoints (`/_sim/...`): what `togglsync simulator ctl` calls.

They let a person rehearse from the shell what tests do through the Python
API: inject faults (an error status, a hang, a lost answer), switch the 429
rate limit and added latency, make a change "on another device" through
Toggl's own rules, and save the account. They are not part of Toggl's API:
no quota, no faults, no rate limit apply to them, and the request log (what
the client sent) does not list them.

    GET    /_sim               who is simulated, counts, the current switches
    GET    /_sim/faults        the faults waiting
    POST   /_sim/faults        add one: {"status", "method", "path", "count", "apply",
                               "drop_response", "latency", "body"} (faults.FaultPlan.add)
    DELETE /_sim/faults        drop them all
    PUT    /_sim/settings      {"rate_limit": requests per second or null, "latency": seconds}
    POST   /_sim/toggl         {"method", "path", "body"}: a Toggl v9 request made elsewhere,
                               as the seeded user; answers {"status", "body"}
    POST   /_sim/save          write the state file now (only with --state)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.routing import Map, Rule

from .model import SimError

if TYPE_CHECKING:
    from .app import SimApp

_FAULT_FIELDS = {"status", "method", "path", "count", "apply", "drop_response", "latency", "body"}


def summary(app: SimApp, body: Any) -> Any:
    state = app.state
    with state.lock:
        user = state.users.get(app.acting_user_id) if app.acting_user_id is not None else None
        return {
            "user_id": app.acting_user_id,
            "email": user.email if user else None,
            "workspace_ids": state.workspace_ids_of(app.acting_user_id) if app.acting_user_id is not None else [],
            "time_entries": sum(1 for e in state.entries.values() if not e.deleted),
            "projects": sum(1 for p in state.projects.values() if p.server_deleted_at is None),
            "clients": sum(1 for c in state.clients.values() if c.server_deleted_at is None),
            "tags": sum(1 for t in state.tags.values() if t.server_deleted_at is None),
            **settings_of(app),
            "faults": len(app.faults.pending),
            "requests": len(app.log.records),
        }


def settings_of(app: SimApp) -> dict[str, Any]:
    return {"rate_limit": app.rate_limit, "latency": app.latency}


def list_faults(app: SimApp, body: Any) -> Any:
    return [
        {
            "status": r.status, "method": r.method, "path": r.path, "count": r.count, "used": r.hits,
            "apply": r.apply, "drop_response": r.drop_response, "latency": r.latency,
        }
        for r in app.faults.pending
    ]


def add_fault(app: SimApp, body: Any) -> Any:
    spec = _object(body)
    unknown = set(spec) - _FAULT_FIELDS
    if unknown:
        raise SimError(400, f"unknown fault fields: {', '.join(sorted(unknown))}")
    try:
        app.faults.add(**spec)
    except (TypeError, ValueError) as error:
        raise SimError(400, str(error)) from None
    return list_faults(app, None)


def clear_faults(app: SimApp, body: Any) -> Any:
    app.faults.clear()
    return []


def change_settings(app: SimApp, body: Any) -> Any:
    spec = _object(body)
    unknown = set(spec) - {"rate_limit", "latency"}
    if unknown:
        raise SimError(400, f"unknown settings: {', '.join(sorted(unknown))}")
    if "rate_limit" in spec:
        rate = spec["rate_limit"]
        if rate is not None and (not isinstance(rate, (int, float)) or isinstance(rate, bool) or rate <= 0):
            raise SimError(400, "rate_limit must be a positive number of requests per second, or null")
        app.set_rate_limit(float(rate) if rate else None)
    if "latency" in spec:
        latency = spec["latency"]
        if not isinstance(latency, (int, float)) or isinstance(latency, bool) or not 0 <= latency <= 600:
            raise SimError(400, "latency must be a number of seconds from 0 to 600")
        app.latency = float(latency)
    return settings_of(app)


def remote_change(app: SimApp, body: Any) -> Any:
    spec = _object(body)
    method, path = spec.get("method"), spec.get("path")
    if not isinstance(method, str) or not isinstance(path, str) or not path.startswith("/"):
        raise SimError(400, 'give {"method": "PUT", "path": "/workspaces/...", "body": {...}}')
    if app.acting_user_id is None:
        raise SimError(409, "this simulator has no seeded user to act as")
    status, answer = app.act_as_user(method.upper(), path, spec.get("body"))
    return {"status": status, "body": answer}


def save(app: SimApp, body: Any) -> Any:
    if app.save_state is None:
        raise SimError(409, "this simulator has no state file: start it with --state FILE")
    return {"saved": str(app.save_state())}


def _object(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise SimError(400, "the body must be a JSON object")
    return body


ADMIN = Map(
    [
        Rule("/", methods=["GET"], endpoint=summary),
        Rule("/faults", methods=["GET"], endpoint=list_faults),
        Rule("/faults", methods=["POST"], endpoint=add_fault),
        Rule("/faults", methods=["DELETE"], endpoint=clear_faults),
        Rule("/settings", methods=["PUT"], endpoint=change_settings),
        Rule("/toggl", methods=["POST"], endpoint=remote_change),
        Rule("/save", methods=["POST"], endpoint=save),
    ],
    strict_slashes=False,
)
