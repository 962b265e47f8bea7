"""`togglsync schedule`: the cron line, the systemd units, and a failing systemctl reported in one line."""

from __future__ import annotations

import os
import stat

import pytest

from togglsync.errors import UsageError
from togglsync.schedule import cron_line, install_systemd, parse_interval, systemd_units


def test_intervals():
    assert [parse_interval(t) for t in ("15m", "1h", " 90m ", "2h")] == [15, 60, 90, 120]
    for bad in ("", "15", "0m", "1d", "-5m"):
        with pytest.raises(UsageError):
            parse_interval(bad)


def test_cron_line_runs_a_quiet_sync_at_the_interval():
    line = cron_line(15)
    assert line.startswith("*/15 * * * * ") and "sync --quiet" in line and line.endswith("# togglsync scheduled sync")
    assert cron_line(120).startswith("0 */2 * * * ")
    with pytest.raises(UsageError):
        cron_line(90)


def test_a_failing_systemctl_is_one_line_naming_what_it_said(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "systemctl"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'first line' >&2\necho 'Failed to connect to bus: No medium found' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    with pytest.raises(UsageError) as caught:
        install_systemd(systemd_units(15))
    assert str(caught.value) == "systemctl --user daemon-reload failed: Failed to connect to bus: No medium found"
    assert (tmp_path / "config" / "systemd" / "user" / "togglsync-sync.timer").read_text().count("OnUnitActiveSec=15min") == 1
