"""The API client's pure pieces: URL checks, auth headers, parameters, paths, pacing, retry values."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import requests

from togglsync.api import DirectAuth, MatonAuth, Pacer, RetryPolicy, TogglClient, check_url
from togglsync.api.client import normalise_path
from togglsync.api.params import entry_time, report_date, unix_seconds
from togglsync.api.responses import quota_pool
from togglsync.api.retrying import retry_after_seconds
from togglsync.errors import ConfigError

TOKEN = "tok-0123456789abcdef"


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://api.track.toggl.com", "https://api.track.toggl.com"),
        ("https://api.track.toggl.com/", "https://api.track.toggl.com"),
        ("https://api.track.toggl.com/api/v9", "https://api.track.toggl.com"),
        ("https://api.track.toggl.com/api/v9/", "https://api.track.toggl.com"),
        ("https://gateway.maton.ai/toggl-track", "https://gateway.maton.ai/toggl-track"),
        ("https://gateway.maton.ai/toggl-track/api/v9", "https://gateway.maton.ai/toggl-track"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.9.9.9:1/x", "http://127.9.9.9:1/x"),
        ("http://localhost:5000/api/v9", "http://localhost:5000"),
        ("http://[::1]:5000", "http://[::1]:5000"),
    ],
)
def test_check_url_accepts_and_normalises(url, expected):
    assert check_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://api.track.toggl.com",
        "http://10.0.0.1:8080",
        "http://localhost.example.com",
        "ftp://api.track.toggl.com",
        "api.track.toggl.com",
        "",
        "https://user:secret@api.track.toggl.com",
        "https://api.track.toggl.com?x=1",
    ],
)
def test_check_url_refuses(url):
    with pytest.raises(ConfigError) as caught:
        check_url(url)
    message = str(caught.value)
    assert "\n" not in message
    assert "secret" not in message


def test_plain_http_refused_with_a_one_line_reason():
    with pytest.raises(ConfigError, match=r"refusing plain http:// to api\.track\.toggl\.com"):
        TogglClient("http://api.track.toggl.com", DirectAuth(TOKEN))


def _prepared(auth) -> requests.PreparedRequest:
    return auth(requests.Request("GET", "https://example.test/").prepare())


def test_direct_auth_header_and_repr():
    headers = _prepared(DirectAuth(TOKEN)).headers
    assert headers["Authorization"] == "Basic " + base64.b64encode(f"{TOKEN}:api_token".encode()).decode()
    assert TOKEN not in repr(DirectAuth(TOKEN))


def test_direct_auth_with_password():
    auth = DirectAuth.with_password("me@example.com", "hunter2-pw")
    expected = "Basic " + base64.b64encode(b"me@example.com:hunter2-pw").decode()
    assert _prepared(auth).headers["Authorization"] == expected
    assert "hunter2-pw" not in repr(auth)


def test_maton_auth_header_connection_and_repr():
    plain = _prepared(MatonAuth("maton-key-xyz")).headers
    assert plain["Authorization"] == "Bearer maton-key-xyz"
    assert "Maton-Connection" not in plain
    picked = _prepared(MatonAuth("maton-key-xyz", connection="c-1")).headers
    assert picked["Maton-Connection"] == "c-1"
    assert "maton-key-xyz" not in repr(MatonAuth("maton-key-xyz", connection="c-1"))


@pytest.mark.parametrize("make", [lambda: DirectAuth(""), lambda: MatonAuth("  ")])
def test_empty_credentials_are_a_config_error(make):
    with pytest.raises(ConfigError):
        make()


def test_client_repr_hides_the_token():
    client = TogglClient("https://api.track.toggl.com", DirectAuth(TOKEN))
    assert TOKEN not in repr(client) and "api.track.toggl.com" in repr(client)


@pytest.mark.parametrize(
    "path, expected",
    [
        ("/me", ("v9", "/me", [])),
        ("me", ("v9", "/me", [])),
        ("/api/v9/me", ("v9", "/me", [])),
        ("/toggl-track/api/v9/me", ("v9", "/me", [])),
        ("/toggl-track/me", ("v9", "/me", [])),
        ("toggl-track/api/v9/me/time_entries?since=5", ("v9", "/me/time_entries", [("since", "5")])),
        ("/reports/api/v3/workspace/1/search/time_entries", ("reports", "/workspace/1/search/time_entries", [])),
        (
            "/toggl-track/reports/api/v3/workspace/1/search/time_entries",
            ("reports", "/workspace/1/search/time_entries", []),
        ),
    ],
)
def test_raw_path_forms(path, expected):
    assert normalise_path(path) == expected


@pytest.mark.parametrize(
    "path, pool",
    [
        ("/me", "user"),
        ("/me/time_entries/current", "user"),
        ("/workspaces/42/projects", "workspace:42"),
        ("/workspace/42/search/time_entries", "workspace:42"),
        ("/organizations/7/users", "organization:7"),
        ("/workspaces", "other"),
    ],
)
def test_quota_pool_of_a_path(path, pool):
    assert quota_pool(path) == pool


def test_parameter_formats():
    moment = datetime(2024, 12, 16, 3, 55, 24, 500, tzinfo=timezone(timedelta(hours=2)))
    assert unix_seconds(1700000000) == 1700000000
    assert unix_seconds(moment) == int(moment.timestamp())
    assert entry_time(moment, "start_date") == "2024-12-16T01:55:24Z"
    assert entry_time(date(2024, 12, 16), "start_date") == "2024-12-16"
    assert report_date(datetime(2024, 12, 16, 23, 30, tzinfo=timezone(timedelta(hours=-2))), "d") == "2024-12-17"
    with pytest.raises(ValueError, match="timezone-aware"):
        unix_seconds(datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        entry_time(datetime(2024, 1, 1), "before")


def test_argument_mistakes_are_caught_before_sending():
    # An unroutable root: if anything were sent, the test would fail with NetworkError instead.
    client = TogglClient("http://127.0.0.1:9", DirectAuth(TOKEN), min_interval=0, retry=RetryPolicy.off())
    with pytest.raises(ValueError, match="since"):
        client.time_entries(since=1, before=date(2024, 1, 1))
    with pytest.raises(ValueError, match="together"):
        client.time_entries(start_date=date(2024, 1, 1))
    with pytest.raises(ValueError, match="at most 100"):
        client.bulk_patch_time_entries(1, list(range(1, 102)), [])
    with pytest.raises(ValueError):
        client.bulk_patch_time_entries(1, [], [])
    with pytest.raises(TypeError):
        client.time_entry("1/../../me")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="workspace_id"):
        client.create_time_entry(1, {"workspace_id": 2, "start": "2024-01-01T00:00:00Z"})
    assert client.requests_sent == 0


def test_pacer_spaces_starts_without_real_sleeping():
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(1.0, clock=lambda: now[0], sleep=sleep)
    assert pacer.wait() == 0.0  # the first request goes at once
    now[0] += 0.25
    assert pacer.wait() == pytest.approx(0.75)
    now[0] += 5
    assert pacer.wait() == 0.0  # enough time passed on its own
    assert slept == [pytest.approx(0.75)]
    assert Pacer(0).wait() == 0.0 and Pacer(0).wait() == 0.0


def test_a_request_sent_beside_another_does_not_wait_but_the_next_paced_one_waits_after_it():
    now = [100.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    pacer = Pacer(1.0, clock=lambda: now[0], sleep=sleep)
    assert pacer.wait() == 0.0
    now[0] += 0.25
    pacer.note_start()  # sent at once, beside the first
    assert pacer.wait() == pytest.approx(1.0)  # a second after the one sent beside


def test_two_threads_pacing_at_once_take_turns():
    import threading

    lock = threading.Lock()
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        with lock:
            waits.append(seconds)

    pacer = Pacer(1.0, clock=lambda: now[0], sleep=sleep)
    threads = [threading.Thread(target=pacer.wait) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not any(thread.is_alive() for thread in threads)
    # Each reserved its own slot: 0, 1, 2 and 3 seconds from now, none the same.
    assert sorted(waits) == [1.0, 2.0, 3.0]


def test_retry_policy_values():
    default = RetryPolicy()
    retry = default.to_urllib3()
    assert retry.total == 3 and not retry.raise_on_status
    assert set(retry.allowed_methods) == {"GET", "PUT", "DELETE", "PATCH"}
    assert set(retry.status_forcelist) == {429, 500, 502, 503, 504}
    assert retry.respect_retry_after_header and retry.backoff_jitter > 0
    assert RetryPolicy.off().to_urllib3().total == 0
    assert default.to_urllib3(retries=1).total == 1  # a budget can only lower it
    assert RetryPolicy.immediate().delay(3) == 0.0
    assert 1.0 <= default.delay(1) <= 1.5 and 2.0 <= default.delay(2) <= 2.5
    assert default.delay(1, retry_after=7) == 7
    assert default.waits_too_long(3600) and not default.waits_too_long(5)


def test_retry_after_forms():
    assert retry_after_seconds({"Retry-After": "3"}) == 3
    assert retry_after_seconds({}) is None
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    http_date = (datetime.now(UTC) + timedelta(seconds=120)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 100 < retry_after_seconds({"Retry-After": http_date}) <= 120
