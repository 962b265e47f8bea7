"""Every test runs with its own togglsync home and no credentials from the developer's shell."""

from __future__ import annotations

import pytest

_ENV_VARS = (
    "TOGGL_API_TOKEN",
    "MATON_API_KEY",
    "MATON_CONNECTION",
    "TOGGLSYNC_HOME",
    "TOGGLSYNC_DB",
    "TOGGLSYNC_API_URL",
    "TOGGLSYNC_MATON_CTRL_URL",
    "TOGGLSYNC_TRANSPORT",
    "TOGGLSYNC_PACING",
)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    for name in _ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "togglsync-home"
    monkeypatch.setenv("TOGGLSYNC_HOME", str(home))
    return home
