"""Shared fixtures: warehouses, raw-item loading, and Prefect/AWS settings for a sealed test run."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
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

from patchtrail.ingest import Run  # noqa: E402
from patchtrail.warehouse import apply_schema, connect  # noqa: E402
from transforms.flatten import RawItem  # noqa: E402


@pytest.fixture
def con():
    """A fresh in-memory warehouse with the full schema."""
    connection = connect(":memory:")
    apply_schema(connection)
    yield connection
    connection.close()


def load_payloads(connection, payloads: Iterable[dict], *, uri: str = "test://batch") -> None:
    """Land raw payloads as one object in one run (the same path files take after reading)."""
    items = [RawItem(p, "file", uri, f"item {i}") for i, p in enumerate(payloads)]
    with Run(connection, source="file", warehouse=":memory:", parameters={}) as run:
        run.land_object(uri=uri, fmt="test", items=items)


@pytest.fixture
def load(con):
    return lambda payloads, **kw: load_payloads(con, payloads, **kw)
