"""A Lake run plans a bounded number of windows (queries): a larger plan is refused, up front."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from patchtrail.errors import InvalidInput
from patchtrail.settings import settings
from patchtrail.sources.lake import Store, windows

STORE = Store("0a1b2c3d-4e5f-4789-abcd-ef0123456789")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_one_second_windows_since_2000_are_refused_at_once_with_the_cap_and_the_count():
    started = time.monotonic()
    with pytest.raises(InvalidInput) as caught:
        windows(STORE, at("2000-01-01"), at("2026-03-01"), timedelta(seconds=1))
    assert time.monotonic() - started < 1  # counted, not built
    message = str(caught.value)
    assert "needs 825,638,400 Lake queries" in message and "lake_max_windows = 2,000" in message
    assert "--window" in message and "PATCHTRAIL_LAKE_MAX_WINDOWS" in message and STORE.id in message
    assert "\n" not in message


def test_the_cap_is_inclusive_and_can_be_given():
    start = at("2026-01-01")
    assert len(windows(STORE, start, start + timedelta(days=2000), timedelta(days=1))) == 2000
    with pytest.raises(InvalidInput, match="needs 2,001 Lake queries"):
        windows(STORE, start, start + timedelta(days=2000, hours=1), timedelta(days=1))
    assert len(windows(STORE, start, start + timedelta(hours=10), timedelta(hours=1), max_windows=10)) == 10
    with pytest.raises(InvalidInput, match="more than lake_max_windows = 9"):
        windows(STORE, start, start + timedelta(hours=10), timedelta(hours=1), max_windows=9)
    with pytest.raises(InvalidInput, match="must be positive"):
        windows(STORE, start, start + timedelta(hours=1), timedelta(0))


def test_the_setting_changes_the_cap(monkeypatch):
    monkeypatch.setenv("PATCHTRAIL_LAKE_MAX_WINDOWS", "5")
    settings.cache_clear()
    try:
        start = at("2026-01-01")
        with pytest.raises(InvalidInput, match="lake_max_windows = 5;"):
            windows(STORE, start, start + timedelta(days=6), timedelta(days=1))
    finally:
        monkeypatch.delenv("PATCHTRAIL_LAKE_MAX_WINDOWS")
        settings.cache_clear()


def test_cli_dry_run_of_a_year_of_hourly_windows_is_refused_in_one_line(tmp_path):
    env = dict(os.environ, COLUMNS="400")
    env.pop("PATCHTRAIL_LAKE_MAX_WINDOWS", None)
    done = subprocess.run([sys.executable, "-m", "patchtrail.cli", "ingest", "lake", "-s", STORE.id,
                           "--window", "1h", "--start", "2025-01-01", "--end", "2026-01-01", "--dry-run"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout[-500:]
    assert "needs 8,760 Lake queries" in done.stderr and "lake_max_windows = 2,000" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and done.stdout == ""
