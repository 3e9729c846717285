"""Shared fixtures: warehouses, raw-item loading, and Prefect/AWS settings for a sealed test run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Offline, deterministic settings before anything imports prefect or boto3.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

sys.path.insert(0, str(Path(__file__).parent))

from loading import load_payloads  # noqa: E402

from patchtrail.warehouse import apply_schema, connect  # noqa: E402


@pytest.fixture(autouse=True)
def _consoles_follow_sys_streams():
    """A test must leave the CLI's consoles writing to whatever sys.stdout/sys.stderr are (as
    CliRunner swaps them): a console pinned to one test's stream sends a later test's messages
    past its CliRunner (a CI failure: `console.stderr.file = original` pinned pytest's capture)."""
    yield
    console = sys.modules.get("patchtrail.console")
    if console is not None:
        pinned = [name for name in ("stdout", "stderr") if getattr(console, name)._file is not None]
        assert not pinned, f"the test left patchtrail.console.{pinned[0]} pinned to one file"


@pytest.fixture
def con():
    """A fresh in-memory warehouse with the full schema."""
    connection = connect(":memory:")
    apply_schema(connection)
    yield connection
    connection.close()


@pytest.fixture
def load(con):
    return lambda payloads, **kw: load_payloads(con, payloads, **kw)


@pytest.fixture(scope="session")
def prefect_server():
    """A real temporary Prefect server (SQLite) for the whole test session; yields its API URL.

    `tests/run.sh` starts one with `prefect server start` and names it in
    PATCHTRAIL_TEST_PREFECT_API_URL; a plain `pytest` starts Prefect's test harness instead.
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    api_url = os.environ.get("PATCHTRAIL_TEST_PREFECT_API_URL")
    if api_url:
        with temporary_settings({PREFECT_API_URL: api_url}):
            yield api_url
        return
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield PREFECT_API_URL.value()


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium; installed with apt-get when missing and we are root (as in CI)."""
    found = shutil.which("chromium")
    if not found and os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], env=env, capture_output=True,
                       timeout=900)
        found = shutil.which("chromium")
    if not found:
        pytest.fail("headless Chromium is needed for the report test: apt-get install chromium")
    return found

