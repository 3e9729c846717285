"""Fixtures for the S3 source tests: one moto S3 server over loopback HTTP, a bucket per test."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # s3kit, whatever pytest's import mode

from s3kit import ORG_ID  # noqa: E402

from patchtrail.aws import AwsEndpoints  # noqa: E402
from patchtrail.devkit.simulator import simulate_to_dir  # noqa: E402
from patchtrail.sources import s3  # noqa: E402


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's S3 on 127.0.0.1 (real HTTP, real boto3), for the whole session."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def client(moto_endpoint: str) -> Any:
    """A client of its own per test (tests hook events on it)."""
    return s3.make_client(AwsEndpoints(region="us-east-1", s3_endpoint_url=moto_endpoint))


@pytest.fixture
def bucket(client: Any, request: pytest.FixtureRequest) -> str:
    """A new, empty bucket named after the test."""
    name = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")[:50]
    name = f"t-{name}-{abs(hash(request.node.nodeid)) % 10**6}"
    client.create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulated organisation (org-id prefix, 2 accounts x 2 regions, 30 days)."""
    out = tmp_path_factory.mktemp("fleet")
    simulate_to_dir(out, accounts=2, regions=2, instances=3, days=30, seed=11, org_id=ORG_ID,
                    lake_rows_per_file=40)
    return out


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return tmp_path / "s3.duckdb"
