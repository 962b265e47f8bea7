"""Maton: API keys and their Toggl connections (the managed-OAuth gateway's ctrl API)."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any

from . import shapes
from .model import Connection, MatonKey, SimError
from .store import Store, locked

APP = "toggl-track"


class MatonRules(Store):
    # -- back door --------------------------------------------------------

    @locked
    def add_maton_key(self, key: str, *, oauth_user_id: int) -> MatonKey:
        record = MatonKey(key=key, oauth_user_id=oauth_user_id)
        self.maton_keys[key] = record
        return record

    @locked
    def add_connection(
        self,
        maton_key: str,
        *,
        connection_id: str | None = None,
        status: str = "ACTIVE",
        user_id: int | None = None,
        created_at: datetime | None = None,
    ) -> Connection:
        created = created_at or self.clock.now()
        record = Connection(
            connection_id=connection_id or str(uuid.uuid4()),
            maton_key=maton_key,
            status=status,
            creation_time=created,
            last_updated_time=created,
            session_token=secrets.token_hex(8),
            user_id=user_id if status == "ACTIVE" else None,
        )
        if record.status == "ACTIVE" and record.user_id is None:
            record.user_id = self.maton_keys[maton_key].oauth_user_id
        self.connections[record.connection_id] = record
        return record

    # -- the gateway --------------------------------------------------------

    @locked
    def is_maton_key(self, key: str) -> bool:
        return key in self.maton_keys

    @locked
    def gateway_user(self, maton_key: str, connection_id: str | None) -> tuple[int, str]:
        """(Toggl user id, connection id) behind a gateway request, or the gateway's 400."""
        if connection_id:
            record = self.connections.get(connection_id)
            if record is None or record.maton_key != maton_key:
                raise SimError(400, f"Connection {connection_id} not found")
            if record.status != "ACTIVE" or record.user_id is None:
                raise SimError(400, f"Connection {connection_id} is not active ({record.status})")
            return record.user_id, record.connection_id
        active = [
            c
            for c in self.connections.values()
            if c.maton_key == maton_key and c.app == APP and c.status == "ACTIVE" and c.user_id is not None
        ]
        if not active:
            raise SimError(400, f"No active {APP} connection found for this API key; create one first")
        oldest = min(active, key=lambda c: c.creation_time)
        return oldest.user_id, oldest.connection_id  # type: ignore[return-value]

    # -- the ctrl API -------------------------------------------------------

    @locked
    def list_connections(
        self, maton_key: str, *, app: str | None = None, status: str | None = None, base_url: str
    ) -> list[dict[str, Any]]:
        found = [
            c
            for c in self.connections.values()
            if c.maton_key == maton_key and (app is None or c.app == app) and (status is None or c.status == status)
        ]
        found.sort(key=lambda c: c.creation_time)
        return [shapes.connection(c, base_url=base_url) for c in found]

    @locked
    def create_connection(self, maton_key: str, app: Any, *, base_url: str) -> dict[str, Any]:
        if app != APP:
            raise SimError(400, f"Unsupported app {app!r}: the simulator only serves {APP!r}")
        record = self.add_connection(maton_key, status="PENDING")
        return shapes.connection(record, base_url=base_url)

    @locked
    def get_connection(self, maton_key: str, connection_id: str, *, base_url: str) -> dict[str, Any]:
        return shapes.connection(self._own_connection(maton_key, connection_id), base_url=base_url)

    @locked
    def delete_connection(self, maton_key: str, connection_id: str) -> None:
        del self.connections[self._own_connection(maton_key, connection_id).connection_id]

    @locked
    def complete_connection(self, connection_id: str) -> Connection:
        """The browser finished OAuth: the connection becomes ACTIVE for the key's Toggl user."""
        record = self.connections.get(connection_id)
        if record is None:
            raise SimError(404, f"Connection {connection_id} not found")
        record.status = "ACTIVE"
        record.user_id = self.maton_keys[record.maton_key].oauth_user_id
        record.last_updated_time = self.clock.now()
        return record

    def _own_connection(self, maton_key: str, connection_id: str) -> Connection:
        record = self.connections.get(connection_id)
        if record is None or record.maton_key != maton_key:
            raise SimError(404, f"Connection {connection_id} not found")
        return record
