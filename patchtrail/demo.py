"""The demo: simulate a fleet, then land it through one of the real source paths.

- files: the simulator's folder, read from disk (all three formats, deduplicated);
- lake: the simulated events served by the local CloudTrail Lake endpoint, read with the real
  CloudTrail API (StartQuery, DescribeQuery, GetQueryResults) one week-window at a time.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from patchtrail.run import ObjectResult, RunSummary
from patchtrail.simulator import SimulationSummary, simulate_to_dir
from patchtrail.simulator.items import PATCH_TYPE

SOURCES = ("files", "lake")
DEMO_START = date(2026, 1, 1)


def simulate(data: Path, *, accounts: int, regions: int, instances: int, days: int,
             seed: int) -> SimulationSummary:
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
    raise ValueError(f"unknown demo source {source!r}; choose one of {SOURCES}")


def _through_lake(data: Path, *, warehouse: Path, days: int, on_listed, on_object) -> RunSummary:
    from patchtrail.ingest_lake import ingest_lake
    from patchtrail.lake.emulator import LakeEmulator
    from patchtrail.sources.lake import LakeSettings, Store

    # The local endpoint ignores signatures, but boto3 wants some credentials to sign with.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    with LakeEmulator(data / "lake-events" / "events.ndjson") as lake:
        return ingest_lake(
            [Store(lake.store_id)], warehouse=warehouse, start=DEMO_START.isoformat(),
            end=(DEMO_START + timedelta(days=days + 1)).isoformat(), window=timedelta(days=7),
            endpoint_url=lake.endpoint_url, region="us-east-1",
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


__all__ = ["PATCH_TYPE", "SOURCES", "ingest", "publish", "simulate"]
