"""Fixtures for the Lake tests: the standard events, a shared emulator and client, moto S3."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # lakekit, whatever pytest's import mode

from lakekit import standard_events  # noqa: E402

from patchtrail.devkit.lake_emulator.emulator import LakeEmulator


@pytest.fixture(scope="session")
def events() -> list[dict[str, Any]]:
    return standard_events()


@pytest.fixture(scope="session")
def lake(events: list[dict[str, Any]]) -> Iterator[LakeEmulator]:
    """A shared emulator over the standard events; tests that arm faults start their own."""
    with LakeEmulator(events) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def client(lake: LakeEmulator) -> Any:
    return lake.client(retries={"total_max_attempts": 1})


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
