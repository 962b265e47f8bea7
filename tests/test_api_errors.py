"""What the client does when things go wrong: error mapping, retries, lost responses, messages.

Real HTTP against the simulator; failures come from its fault plan or its own
rules. Every error raised here is also checked for leaked credentials.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest
import requests

from togglsync.api import DirectAuth, MatonAuth, MatonControl, RetryPolicy, TogglClient
from togglsync.api.responses import decode_json
from togglsync.errors import (
    ApiError,
    ConfigError,
    AuthError,
    BadRequest,
    BadResponse,
    Conflict,
    NetworkError,
    NoMatonConnection,
    NotFound,
    PremiumRequired,
    QuotaExceeded,
    RateLimited,
    ServerError,
    TogglSyncError,
)
from togglsync.simulator import Simulator


@pytest.fixture(scope="module")
def sim():
    with Simulator(entries=30, plan="free", seed=3, quotas=False) as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def clean(sim):
    sim.faults.clear()
    sim.log.clear()
    yield
    sim.faults.clear()


@pytest.fixture
def secrets(sim) -> tuple[str, ...]:
    return (sim.seed.api_token, sim.seed.maton_api_key, sim.seed.password)


def make_client(root: str, auth, **options) -> TogglClient:
    options.setdefault("min_interval", 0)
    options.setdefault("retry", RetryPolicy.immediate())
    return TogglClient(root, auth, **options)


@pytest.fixture
def api(sim):
    with make_client(sim.url, DirectAuth(sim.seed.api_token)) as client:
        yield client


@pytest.fixture
def wid(sim) -> int:
    return sim.seed.workspace_id


@pytest.fixture
def expect(secrets):
    """Call, expect a typed error, and check it tells no secrets and fits on one line."""

    def check(error_class: type[TogglSyncError], call, *args, **kwargs) -> TogglSyncError:
        with pytest.raises(error_class) as caught:
            call(*args, **kwargs)
        error = caught.value
        for text in (str(error), repr(error)):
            assert "\n" not in text
            for secret in secrets:
                assert secret not in text
        return error

    return check


def entry_body(**extra) -> dict:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    return {"start": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "duration": 60, **extra}


class NoAuth(requests.auth.AuthBase):
    """Sends no Authorization header at all (a misconfigured caller)."""

    def __call__(self, request):
        return request


# --- status -> error class --------------------------------------------------------------------


def test_missing_credentials_401(sim, expect):
    error = expect(AuthError, make_client(sim.url, NoAuth()).me)
    assert error.status == 401 and "credentials missing" in str(error)


def test_wrong_token_403(sim, expect):
    error = expect(AuthError, make_client(sim.url, DirectAuth("not-the-token")).me)
    assert error.status == 403


def test_wrong_maton_key_401(sim, expect):
    error = expect(AuthError, make_client(sim.gateway_url, MatonAuth("maton_wrong")).me)
    assert error.status == 401 and "Maton" in error.message


def test_unknown_maton_connection_400(sim, expect):
    client = make_client(sim.gateway_url, MatonAuth(sim.seed.maton_api_key, connection="no-such-connection"))
    # The gateway's 400 about its connection is an authentication failure, not a refused request
    # (a BadRequest would be read as a stale cursor and retried as a re-sync).
    error = expect(NoMatonConnection, client.me)
    assert error.status == 400 and isinstance(error, AuthError) and "no-such-connection" in str(error)


def test_not_found_404(api, expect):
    error = expect(NotFound, api.time_entry, 1)
    assert error.status == 404 and error.method == "GET" and error.path == "/me/time_entries/1"


def test_conflict_409(api, wid, expect):
    entry = api.create_time_entry(wid, entry_body())
    assert expect(Conflict, api.stop_time_entry, wid, entry["id"]).status == 409


def test_bad_request_400(api, wid, expect):
    error = expect(BadRequest, api.create_time_entry, wid, {"description": "no start"})
    assert error.status == 400 and error.message


def test_gone_410_and_unprocessable_422(api, sim, expect):
    sim.faults.add(status=410, path="/me")
    assert expect(NotFound, api.me).status == 410
    sim.faults.add(status=422, path="/me")
    assert expect(BadRequest, api.me).status == 422


def test_other_4xx_is_a_plain_api_error(api, sim, expect):
    sim.faults.add(status=418, path="/me")
    error = expect(ApiError, api.me)
    assert type(error) is ApiError and error.status == 418


def test_quota_402_user_pool():
    with Simulator(entries=5, seed=4, quotas=True, user_quota=2) as quota_sim:
        client = make_client(quota_sim.url, DirectAuth(quota_sim.seed.api_token))
        client.me()
        client.me()
        with pytest.raises(QuotaExceeded) as caught:
            client.me()
        quota = caught.value.quota
        assert (quota.pool, quota.remaining) == ("user", 0)
        assert 3000 < quota.resets_in <= 3600
        assert client.quota["user"].remaining == 0
        assert quota_sim.log.count() == 3  # a 402 is never retried
        assert "per-user /me quota" in str(caught.value)


def test_quota_402_workspace_pool():
    with Simulator(entries=5, seed=5, quotas=True, org_quota=1) as quota_sim:
        wid = quota_sim.seed.workspace_id
        client = make_client(quota_sim.url, DirectAuth(quota_sim.seed.api_token))
        client.workspace(wid)
        with pytest.raises(QuotaExceeded) as caught:
            client.workspace_users(wid)
        assert caught.value.quota.pool == f"workspace:{wid}"
        assert caught.value.quota.resets_in > 0
        assert client.me()  # the user pool is separate


def test_premium_402_is_not_quota(api, sim, wid, expect):
    error = expect(PremiumRequired, api.archive_client, wid, sim.seed.client_ids[0])
    assert error.status == 402 and "Premium" in error.message
    # A 402 whose headers say quota is left is also a premium refusal.
    quota_left = {"X-Toggl-Quota-Remaining": "12", "X-Toggl-Quota-Resets-In": "60"}
    sim.faults.add(status=402, path="/me", headers=quota_left)
    expect(PremiumRequired, api.me)


# --- retries ----------------------------------------------------------------------------------


def test_429_retried_then_success(api, sim):
    sim.faults.add(status=429, path="/me", count=2)
    assert api.me()
    assert [r.status for r in sim.log.records] == [429, 429, 200]


def test_429_exhausted_is_rate_limited(api, sim, expect):
    sim.faults.add(status=429, path="/me", count=10, headers={"Retry-After": "7"})
    error = expect(RateLimited, api.me)
    assert error.retry_after == 7
    assert sim.log.count() == 4  # the first try and three retries


def test_429_with_a_long_retry_after_is_not_retried(sim, expect):
    patient = RetryPolicy(retries=3, backoff=0, jitter=0, max_retry_after=60)
    client = make_client(sim.url, DirectAuth(sim.seed.api_token), retry=patient)
    sim.faults.add(status=429, path="/me", count=10, headers={"Retry-After": "3600"})
    assert expect(RateLimited, client.me).retry_after == 3600
    assert sim.log.count() == 1


def test_retry_after_is_honoured(sim, clock):
    patient = RetryPolicy(retries=1, backoff=0, jitter=0)
    client = make_client(sim.url, DirectAuth(sim.seed.api_token), retry=patient, clock=clock)
    sim.faults.add(status=429, path="/me", headers={"Retry-After": "1"})
    assert client.me()
    assert clock.slept == [1.0]


def test_post_429_resend_waits_for_retry_after(sim, wid, clock):
    patient = RetryPolicy(retries=2, backoff=0, jitter=0)
    client = make_client(sim.url, DirectAuth(sim.seed.api_token), retry=patient, clock=clock)
    sim.faults.add(status=429, method="POST", path="/workspaces/*/time_entries", headers={"Retry-After": "2"})
    client.create_time_entry(wid, entry_body())
    assert clock.slept == [2.0]
    assert [r.status for r in sim.log.records] == [429, 200]


def test_backoff_doubles_from_the_first_retry(sim, clock):
    client = make_client(sim.url, DirectAuth(sim.seed.api_token), retry=RetryPolicy(jitter=0), clock=clock)
    sim.faults.add(status=503, method="GET", path="/me", count=3)
    assert client.me()
    assert clock.slept == [1.0, 2.0, 4.0]


def test_5xx_retried_on_get(api, sim):
    sim.faults.add(status=502, method="GET", path="/me/time_entries", count=2)
    assert isinstance(api.time_entries(), list)
    assert [r.status for r in sim.log.records] == [502, 502, 200]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_exhausted_is_server_error(api, sim, expect, status):
    sim.faults.add(status=status, method="GET", path="/me", count=10)
    assert expect(ServerError, api.me).status == status
    assert sim.log.count() == 4


def test_5xx_not_retried_on_post(api, sim, wid, expect):
    sim.faults.add(status=500, method="POST", path="/workspaces/*/time_entries", count=5)
    expect(ServerError, api.create_time_entry, wid, entry_body())
    assert sim.log.count("POST") == 1  # a create may have landed: the sync engine looks first


def test_5xx_retried_on_put_patch_delete(api, sim, wid):
    entry = api.create_time_entry(wid, entry_body())
    sim.log.clear()
    sim.faults.add(status=503, method="PUT", path="/workspaces/*/time_entries/*")
    api.update_time_entry(wid, entry["id"], {"description": "x"})
    sim.faults.add(status=503, method="PATCH", path="/workspaces/*/time_entries/*")
    api.bulk_patch_time_entries(wid, [entry["id"]], [{"op": "replace", "path": "/description", "value": "y"}])
    sim.faults.add(status=503, method="DELETE", path="/workspaces/*/time_entries/*")
    api.delete_time_entry(wid, entry["id"])
    assert [r.status for r in sim.log.records] == [503, 200] * 3


def test_post_429_is_resent(api, sim, wid):
    sim.faults.add(status=429, method="POST", path="/workspaces/*/time_entries", count=2)
    created = api.create_time_entry(wid, entry_body(description="resent after 429"))
    assert [r.status for r in sim.log.records] == [429, 429, 200]
    matching = [e for e in sim.state.all_time_entries() if e["description"] == "resent after 429"]
    assert [e["id"] for e in matching] == [created["id"]]  # exactly one landed


def test_post_429_resend_is_bounded(api, sim, wid, expect):
    sim.faults.add(status=429, method="POST", path="/workspaces/*/time_entries", count=10)
    expect(RateLimited, api.create_time_entry, wid, entry_body())
    assert sim.log.count("POST") == 4


def test_report_search_post_is_retried_like_a_read(api, sim, wid):
    sim.faults.add(status=503, method="POST", path="/workspace/*/search/time_entries")
    rows = list(api.iter_report_time_entries(wid, "2020-01-01", "2040-01-01"))
    assert rows and [r.status for r in sim.log.records][:2] == [503, 200]


def test_retries_off(sim, expect):
    client = make_client(sim.url, DirectAuth(sim.seed.api_token), retry=RetryPolicy.off())
    sim.faults.add(status=503, path="/me", count=2)
    expect(ServerError, client.me)
    assert sim.log.count() == 1


# --- no response ---------------------------------------------------------------------------------


def test_dropped_response_on_post_may_have_been_applied(api, sim, wid, expect):
    sim.faults.add(method="POST", path="/workspaces/*/time_entries", drop_response=True)
    error = expect(NetworkError, api.create_time_entry, wid, entry_body(description="lost answer"))
    assert error.maybe_applied is True
    assert "127.0.0.1" in str(error)
    assert sim.log.count("POST") == 1 and sim.log.records[-1].dropped
    assert any(e["description"] == "lost answer" for e in sim.state.all_time_entries())


def test_dropped_response_on_get_is_retried(api, sim):
    sim.faults.add(method="GET", path="/me", drop_response=True)
    assert api.me()
    assert sim.log.count() == 2


def test_closed_port_was_not_applied(sim, expect):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free, and nobody listens once closed
    client = make_client(f"http://127.0.0.1:{port}", DirectAuth(sim.seed.api_token))
    error = expect(NetworkError, client.me)
    assert error.maybe_applied is False
    assert f"127.0.0.1:{port}" in str(error) and "refused" in str(error)
    assert client.requests_sent == 0


@pytest.fixture
def slow_sim(make_sim):
    """A simulator of the test's own, for requests the client gives up on.

    The server still serves such a request after the client's timeout, on a
    thread of its own: its record and its effect land in this simulator's log
    and state, which no other test reads.
    """
    return make_sim(entries=5, plan="free", seed=3, quotas=False)


def test_read_timeout_on_post_may_have_been_applied(slow_sim, expect):
    client = make_client(slow_sim.url, DirectAuth(slow_sim.seed.api_token), timeout=(2.0, 0.2))
    slow_sim.faults.add(method="POST", path="/workspaces/*/time_entries", latency=0.5)
    error = expect(NetworkError, client.create_time_entry, slow_sim.seed.workspace_id, entry_body())
    assert error.maybe_applied is True
    assert "no response from" in str(error) and "0.2 s" in str(error)
    assert client.requests_sent == 1  # a POST is not repeated after a read timeout


def test_read_timeout_on_get_is_retried(slow_sim):
    client = make_client(slow_sim.url, DirectAuth(slow_sim.seed.api_token), timeout=(2.0, 0.2))
    slow_sim.faults.add(method="GET", path="/me", latency=0.5)
    assert client.me()
    assert client.requests_sent == 2


# --- messages ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, headers, expected",
    [
        ("Time entry not found", None, "Time entry not found"),
        ("plain words from an old endpoint", {"Content-Type": "text/plain"}, "plain words from an old endpoint"),
        ({"message": "bad field"}, None, "bad field"),
        ({"error": "nope"}, None, "nope"),
        ({"error": {"message": "nested"}}, None, "nested"),
        ({"code": 7, "why": ["a"]}, None, '{"code":7,"why":["a"]}'),
        (["one", "two"], None, '["one","two"]'),
    ],
)
def test_server_message_shapes(api, sim, expect, body, headers, expected):
    sim.faults.add(status=400, path="/me", body=body, headers=headers)
    assert expect(BadRequest, api.me).message == expected


def test_html_error_page_is_summarised(api, sim, expect):
    page = (
        "<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>body{}</style></head>"
        "<body><h1>Bad Gateway</h1>" + "<p>filler</p>" * 2000 + "</body></html>"
    )
    sim.faults.add(status=502, path="/me", count=10, body=page, headers={"Content-Type": "text/html"})
    error = expect(ServerError, api.me)
    assert error.message == "502 Bad Gateway"


def test_long_message_is_truncated(api, sim, expect):
    sim.faults.add(status=400, path="/me", body="x" * 5000)
    error = expect(BadRequest, api.me)
    assert len(error.message) <= 300 and error.message.endswith("…")


def test_empty_error_body_uses_the_reason(sim, expect):
    error = expect(AuthError, make_client(sim.url, DirectAuth("wrong")).me)
    assert error.message == "Forbidden"  # Toggl's 403 has no body: the status phrase, never an empty tail


def test_invalid_json_on_success_is_bad_response(sim, secrets):
    # The fault plan always answers JSON, so take a real non-JSON 200: the HTML
    # page a browser sees when it finishes a Maton connection.
    connection = MatonControl(sim.ctrl_url, sim.seed.maton_api_key, retry=RetryPolicy.off()).create_connection()
    page = requests.get(connection["url"], timeout=5)
    assert page.status_code == 200
    with pytest.raises(BadResponse) as caught:
        decode_json(page, "GET", "/connect")
    assert "expected JSON, got text/html" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_secret_echoed_by_a_gateway_is_scrubbed(api, sim, expect, secrets):
    sim.faults.add(status=400, path="/me", body=f"bad header Basic {sim.seed.api_token}")
    error = expect(BadRequest, api.me)
    assert "***" in error.message


@pytest.mark.parametrize(
    "make",
    [
        lambda: MatonAuth("maton_half\nkey"),
        lambda: MatonAuth("maton_key", connection="conn\r\nX-Evil: 1"),
        lambda: DirectAuth("tok en"),
    ],
)
def test_unsendable_credentials_are_refused_without_quoting_them(make):
    # http.client would quote the header value (the key) in its error message.
    with pytest.raises(ConfigError) as caught:
        make()
    assert "maton_half" not in str(caught.value) and "tok en" not in str(caught.value)



@pytest.mark.parametrize("value", ["soon", "0.0"])
def test_a_retry_after_urllib3_cannot_read_is_tolerated(sim, value):
    patient = RetryPolicy(retries=1, backoff=0, jitter=0)  # respects Retry-After
    client = make_client(sim.url, DirectAuth(sim.seed.api_token), retry=patient)
    sim.faults.add(status=503, method="GET", path="/me", headers={"Retry-After": value})
    assert client.me()
    assert [r.status for r in sim.log.records] == [503, 200]
