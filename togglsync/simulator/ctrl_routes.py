"""Maton's ctrl API (`/connections`) and the OAuth page a browser opens to finish a connection."""

from __future__ import annotations

import html
from typing import Any

from werkzeug.routing import Map, Rule

from .calls import Call, Reply
from .model import SimError


def list_connections(call: Call) -> Any:
    found = call.state.list_connections(
        _key(call), app=call.arg("app"), status=call.arg("status"), base_url=call.base_url
    )
    return {"connections": found}


def create_connection(call: Call) -> Any:
    app = call.body.get("app") if isinstance(call.body, dict) else None
    return {"connection": call.state.create_connection(_key(call), app, base_url=call.base_url)}


def get_connection(call: Call, connection_id: str) -> Any:
    return {"connection": call.state.get_connection(_key(call), connection_id, base_url=call.base_url)}


def delete_connection(call: Call, connection_id: str) -> Any:
    call.state.delete_connection(_key(call), connection_id)
    return {}


def complete_oauth(call: Call, connection_id: str) -> Any:
    """GET /connect/<id>: what the user's browser does; no Maton key, the link is the secret."""
    record = call.state.complete_connection(connection_id)
    page = (
        "<!doctype html><title>Connected</title>"
        f"<p>Toggl Track connection {html.escape(record.connection_id)} is now ACTIVE. "
        "You can close this window.</p>"
    )
    return Reply(page, content_type="text/html; charset=utf-8")


def _key(call: Call) -> str:
    if call.maton_key is None:
        raise SimError(401, "Missing or invalid Maton API key")
    return call.maton_key


# Endpoints that need no Maton key.
PUBLIC = {complete_oauth}

CTRL = Map(
    [
        Rule("/connections", methods=["GET"], endpoint=list_connections),
        Rule("/connections", methods=["POST"], endpoint=create_connection),
        Rule("/connections/<connection_id>", methods=["GET"], endpoint=get_connection),
        Rule("/connections/<connection_id>", methods=["DELETE"], endpoint=delete_connection),
        Rule("/connect/<connection_id>", methods=["GET"], endpoint=complete_oauth),
    ],
    strict_slashes=False,
)
