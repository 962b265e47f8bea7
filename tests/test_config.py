import json
import os
import stat

import pytest

from togglsync.config import (
    DIRECT_URL,
    MATON_URL,
    load_settings,
    read_config_file,
    update_config_file,
)
from togglsync.errors import ConfigError


def test_defaults(isolated_home):
    s = load_settings()
    assert s.home == isolated_home
    assert s.transport == "direct"
    assert s.root_url == DIRECT_URL
    assert s.db_target == str(isolated_home / "togglsync.db")
    assert s.pacing == 1.0


def test_precedence_option_over_env_over_file(isolated_home, monkeypatch):
    update_config_file(isolated_home / "config.json", {"api_url": "https://file.example", "pacing": 3})
    assert load_settings().api_url == "https://file.example"
    assert load_settings().sources["api_url"] == "file"
    monkeypatch.setenv("TOGGLSYNC_API_URL", "https://env.example/")
    s = load_settings()
    assert (s.api_url, s.sources["api_url"]) == ("https://env.example", "env")
    s = load_settings({"api_url": "https://option.example"})
    assert (s.api_url, s.sources["api_url"]) == ("https://option.example", "option")
    assert s.pacing == 3.0


def test_maton_key_alone_selects_gateway(monkeypatch):
    monkeypatch.setenv("MATON_API_KEY", "mk")
    s = load_settings()
    assert s.transport == "maton"
    assert s.root_url == MATON_URL
    assert s.credential() == "mk"


def test_missing_credential_says_how_to_fix():
    with pytest.raises(ConfigError, match="TOGGL_API_TOKEN"):
        load_settings().credential()
    with pytest.raises(ConfigError, match="MATON_API_KEY"):
        load_settings({"transport": "maton"}).credential()


def test_config_file_written_0600_and_secrets_redacted(isolated_home, monkeypatch):
    path = isolated_home / "config.json"
    update_config_file(path, {"api_token": "sekrit-token-123"})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    s = load_settings()
    assert s.api_token == "sekrit-token-123"
    shown = json.dumps(s.redacted())
    assert "sekrit-token-123" not in shown
    assert "sekrit-token-123" not in repr(s)
    update_config_file(path, {"api_token": None})
    assert "api_token" not in read_config_file(path)


@pytest.mark.parametrize(
    "content, message",
    [("{not json", "not valid JSON"), ("[1, 2]", "JSON object"), ('{"colour": 1}', "unknown setting")],
)
def test_malformed_config_file_is_a_clear_error(isolated_home, content, message):
    isolated_home.mkdir(parents=True)
    (isolated_home / "config.json").write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_world_readable_config_with_secret_warns(isolated_home, capsys):
    isolated_home.mkdir(parents=True)
    path = isolated_home / "config.json"
    path.write_text(json.dumps({"api_token": "sekrit-token-123"}))
    path.chmod(0o644)
    load_settings()
    err = capsys.readouterr().err
    assert "chmod 600" in err and "sekrit" not in err


@pytest.mark.parametrize("bad", [{"transport": "carrier-pigeon"}, {"pacing": "fast"}, {"pacing": -1}])
def test_bad_values_rejected(bad):
    with pytest.raises(ConfigError):
        load_settings(bad)
