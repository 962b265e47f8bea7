"""MatonControl: Maton's connection API over real HTTP against the simulator."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
import requests

from togglsync.api import MatonAuth, MatonControl, RetryPolicy, TogglClient
from togglsync.errors import AuthError, NotFound, ServerError
from togglsync.simulator import Simulator


@pytest.fixture(scope="module")
def sim():
    with Simulator(entries=5, seed=6, quotas=False) as simulator:
        yield simulator


@pytest.fixture
def raises(sim):
    """`pytest.raises` that also checks the error fits one line and tells no secret."""
    secrets = (sim.seed.api_token, sim.seed.maton_api_key, sim.seed.password)

    @contextmanager
    def check(error_class):
        with pytest.raises(error_class) as caught:
            yield caught
        for text in (str(caught.value), repr(caught.value)):
            assert "\n" not in text and not any(secret in text for secret in secrets)

    return check


@pytest.fixture
def ctrl(sim):
    sim.log.clear()
    sim.faults.clear()
    with MatonControl(sim.ctrl_url, sim.seed.maton_api_key, retry=RetryPolicy.immediate()) as control:
        yield control


def test_list_connections(ctrl, sim):
    connections = ctrl.list_connections()
    assert [c["connection_id"] for c in connections] == [sim.seed.connection_id]
    assert connections[0]["status"] == "ACTIVE"
    assert sim.log.records[-1].query == {"app": "toggl-track"}
    ctrl.list_connections(status="ACTIVE")
    assert sim.log.records[-1].query == {"app": "toggl-track", "status": "ACTIVE"}


def test_connection_lifecycle(ctrl, sim, raises):
    created = ctrl.create_connection()
    assert created["status"] != "ACTIVE" and created["url"]
    assert sim.log.records[-1].json == {"app": "toggl-track"}
    # What the user's browser does to finish OAuth.
    assert requests.get(created["url"], timeout=5).status_code == 200
    fetched = ctrl.get_connection(created["connection_id"])
    assert fetched["status"] == "ACTIVE"

    # The new connection can be picked explicitly on the gateway.
    gateway = TogglClient(
        sim.gateway_url,
        MatonAuth(sim.seed.maton_api_key, connection=created["connection_id"]),
        min_interval=0,
        retry=RetryPolicy.immediate(),
    )
    assert gateway.me()["id"]

    assert ctrl.delete_connection(created["connection_id"]) is None
    with raises(NotFound):
        ctrl.get_connection(created["connection_id"])


def test_errors_map_like_the_client(sim, ctrl, raises):
    wrong = MatonControl(sim.ctrl_url, "maton_wrong_key", retry=RetryPolicy.off())
    with raises(AuthError) as caught:
        wrong.list_connections()
    assert caught.value.status == 401 and "maton_wrong_key" not in repr(wrong)

    sim.faults.add(status=503, method="GET", path="/connections", count=2)
    assert ctrl.list_connections()  # retried like any GET
    sim.faults.add(status=500, method="POST", path="/connections", count=2)
    with raises(ServerError):
        ctrl.create_connection()  # not retried: it may have been created
    assert sim.log.count("POST") == 1


def test_connection_ids_cannot_change_the_path(ctrl, sim, raises):
    with raises(NotFound):
        ctrl.get_connection("../connections")
    # Sent as one encoded segment (the server decodes it for its log): not the list endpoint.
    assert sim.log.records[-1].status == 404
    with pytest.raises(ValueError):
        ctrl.get_connection("")
