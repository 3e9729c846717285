"""The demo: simulate a fleet, then land it through one of the real source paths.

- files: the simulator's folder, read from disk (all three formats, deduplicated);
- lake: the simulated events served by the local CloudTrail Lake endpoint, read with the real
  CloudTrail API (StartQuery, DescribeQuery, GetQueryResults) one week-window at a time;
- s3: the simulator's files uploaded to a local S3 (moto) in AWS's key layouts, read from there.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from patchtrail.constants import DEMO_FLEET
from patchtrail.errors import PatchtrailError

if TYPE_CHECKING:  # imported when used: `patchtrail --help` need not load the simulator
    from patchtrail.devkit.simulator import SimulationSummary
    from patchtrail.run import ObjectResult, RunSummary

SOURCES = ("files", "lake", "s3")
DEMO_START = date(2026, 1, 1)
#: The demo fleet `patchtrail demo` simulates by default (docs/analytics.md's queries run on it).
DEFAULTS = DEMO_FLEET


def simulate(data: Path, *, accounts: int, regions: int, instances: int, days: int,
             seed: int) -> SimulationSummary:
    from patchtrail.devkit.simulator import simulate_to_dir

    return simulate_to_dir(data, accounts=accounts, regions=regions, instances=instances, days=days,
                           seed=seed, start=DEMO_START)


def ingest(source: str, data: Path, *, warehouse: Path, days: int,
           on_listed: Callable[[int, int], None] | None = None,
           on_object: Callable[[ObjectResult], None] | None = None) -> RunSummary:
    """Land the simulated fleet in `data` into `warehouse` through `source`."""
    if source == "files":
        from patchtrail.ingest import ingest_files

        return ingest_files([data], warehouse=warehouse, on_listed=on_listed, on_object=on_object)
    if source == "lake":
        return _through_lake(data, warehouse=warehouse, days=days, on_listed=on_listed,
                             on_object=on_object)
    if source == "s3":
        return _through_s3(data, warehouse=warehouse, on_listed=on_listed, on_object=on_object)
    raise ValueError(f"unknown demo source {source!r}; choose one of {SOURCES}")


def _through_lake(data: Path, *, warehouse: Path, days: int, on_listed, on_object) -> RunSummary:
    from patchtrail.aws import AwsEndpoints
    from patchtrail.devkit.lake_emulator.emulator import LakeEmulator
    from patchtrail.ingest.lake import LakeRange, ingest_lake
    from patchtrail.sources.lake import LakeSettings, Store

    # The local endpoint ignores signatures, but boto3 wants some credentials to sign with.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    with LakeEmulator(data / "lake-events" / "events.ndjson") as lake:
        return ingest_lake(
            [Store(lake.store_id)], warehouse=warehouse,
            time_range=LakeRange(DEMO_START.isoformat(),
                                 (DEMO_START + timedelta(days=days + 1)).isoformat(), window=timedelta(days=7)),
            endpoints=AwsEndpoints(region="us-east-1", lake_endpoint_url=lake.endpoint_url),
            settings=LakeSettings(poll_initial=0.05, poll_max=0.5),
            on_listed=on_listed, on_object=on_object)


def publish(warehouse: Path, data: Path) -> dict[str, str]:
    """The demo's publications: a Parquet lake beside the data and an HTML report."""
    from patchtrail.publish.parquet import publish_parquet
    from patchtrail.publish.report import write_report

    lake = data.parent / "lake"
    publish_parquet(warehouse, str(lake))
    report = write_report(warehouse, data.parent / "report.html")
    return {"parquet lake": str(lake), "html report": str(report.path.resolve())}


def _through_s3(data: Path, *, warehouse: Path, on_listed, on_object) -> RunSummary:
    """Upload the simulated files to a local S3 (moto) in the real key layouts, ingest from there."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        error = PatchtrailError("demo --source s3 runs a local S3 (moto), which is not installed")
        error.hint = "pip install -e '.[demo]' (the README's first command installs it)"
        raise error from None
    import logging

    from patchtrail.aws import AwsEndpoints
    from patchtrail.devkit.s3_upload import upload_tree
    from patchtrail.ingest.s3 import ingest_s3
    from patchtrail.sources import s3
    from patchtrail.sources.sign_file import PublicKeys

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log lines in the demo output
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        client = s3.make_client(AwsEndpoints(region="us-east-1", s3_endpoint_url=f"http://{host}:{port}"))
        upload_tree(data, "patchtrail-demo", "", client, create_bucket=True)
        return ingest_s3("s3://patchtrail-demo", warehouse=warehouse, client=client,
                         keys=PublicKeys.from_file(data / "lake-export" / "public_key.der"),
                         on_listed=on_listed, on_object=on_object)
    finally:
        server.stop()


__all__ = ["DEFAULTS", "SOURCES", "ingest", "publish", "simulate"]
