"""Fleet simulator: AWS::SSM::PatchCompliance history as Config files, Lake exports and Lake events.

    from patchtrail.devkit.simulator import simulate_to_dir
    summary = simulate_to_dir(Path("demo-data"), accounts=2, days=30)

Everything is derived from `seed` (never the clock): two runs with the same arguments write
byte-identical files."""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

from patchtrail.devkit.simulator.fleet import Fleet, plan_fleet
from patchtrail.devkit.simulator.items import PATCH_TYPE, SimEvent, sim_event
from patchtrail.devkit.simulator.lake_export import LakeExportWriter
from patchtrail.devkit.simulator.resources import resource_items
from patchtrail.devkit.simulator.synthetic import synthetic_items
from patchtrail.devkit.simulator.timeline import patch_items
from patchtrail.devkit.simulator.writers import ConfigDeliveryWriter, LakeEventsWriter

__all__ = ["SimEvent", "SimulationSummary", "iter_events", "simulate_to_dir", "synthetic_items"]

DEFAULT_START = date(2026, 1, 1)
PROGRESS_EVERY = 500


@dataclass(frozen=True)
class SimulationSummary:
    """What `simulate_to_dir` wrote. Formats are `config`, `lake_export` and `lake_events`."""

    items_by_type: dict[str, int]
    patch_items: int
    instances: int
    windows_instances: int
    linux_instances: int
    hybrid_instances: int
    joined_instances: int
    deleted_instances: int
    files_by_format: dict[str, int]
    bytes_by_format: dict[str, int]

    @property
    def total_bytes(self) -> int:
        return sum(self.bytes_by_format.values())

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready), with `total_bytes` added."""
        return {**asdict(self), "total_bytes": self.total_bytes}


def iter_events(*, accounts: int = 3, regions: int = 2, instances: int = 12, days: int = 120,
                seed: int = 7, start: date = DEFAULT_START,
                org_id: str | None = None) -> Iterator[SimEvent]:
    """Yield every simulated CI, all resource types, in capture-time order.

    Args:
        accounts: number of AWS accounts (12-digit ids drawn from the seed).
        regions: regions per account, taken in order from a fixed list.
        instances: managed instances per (account, region) at `start`; a few more join later.
        days: simulated days from `start` (UTC); every capture falls inside them.
        seed: drives everything; the same arguments yield the same events.
        start: first simulated day.
        org_id: AWS Organizations id (`o-...`), only used in Config file keys."""
    fleet = plan_fleet(accounts=accounts, regions=regions, instances=instances, days=days,
                       seed=seed, start=start, org_id=org_id)
    return _fleet_events(fleet)


def simulate_to_dir(out: Path, *, accounts: int = 3, regions: int = 2, instances: int = 12,
                    days: int = 120, seed: int = 7, start: date = DEFAULT_START,
                    org_id: str | None = None, lake_rows_per_file: int = 5000,
                    progress: Callable[[int], None] | None = None) -> SimulationSummary:
    """Write the simulated history under `out` in three formats and return what was written.

    `out/config/` holds AWS Config delivery history files, `out/lake-export/` a CloudTrail Lake
    query result as delivered to S3 (PatchCompliance only), `out/lake-events/events.ndjson` the
    Lake events (`SELECT eventJson`). Existing files with the same names are overwritten.

    Args:
        out: output directory (created if missing).
        accounts, regions, instances, days, seed, start, org_id: as for `iter_events`.
        lake_rows_per_file: rows per `result_<n>.csv.gz` file.
        progress: called with the number of events written so far, every 500 events and at
            the end."""
    fleet = plan_fleet(accounts=accounts, regions=regions, instances=instances, days=days,
                       seed=seed, start=start, org_id=org_id)
    out = Path(out)
    config = ConfigDeliveryWriter(out, org_id=org_id)
    config.write_writability_checks(fleet.account_ids)
    export = LakeExportWriter(out, seed=seed, account_id=fleet.account_ids[0],
                              region=fleet.regions[0], start_ms=fleet.start_ms,
                              end_ms=fleet.end_ms, rows_per_file=lake_rows_per_file)
    lake_events = LakeEventsWriter(out)
    by_type: Counter[str] = Counter()
    patch_resources: set[str] = set()
    deleted: set[str] = set()
    count = 0
    try:
        for event in _fleet_events(fleet):
            config.add(event)
            export.add(event)
            lake_events.add(event)
            ci = event.ci
            by_type[ci["resourceType"]] += 1
            if ci["resourceType"] == PATCH_TYPE:
                key = f"{ci['awsAccountId']}/{ci['awsRegion']}/{ci['resourceId']}"
                patch_resources.add(key)
                if ci["configurationItemStatus"] == "ResourceDeleted":
                    deleted.add(key)
            count += 1
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress(count)
    finally:
        config.close()
        lake_events.close()
    export.close()
    if progress is not None:
        progress(count)
    return _summary(fleet, by_type, len(patch_resources), len(deleted),
                    files={"config": config.files, "lake_export": export.files,
                           "lake_events": lake_events.files},
                    sizes={"config": config.bytes, "lake_export": export.bytes,
                           "lake_events": lake_events.bytes})


def _fleet_events(fleet: Fleet) -> Iterator[SimEvent]:
    streams = []
    for instance in fleet.instances:
        streams.append(patch_items(instance, fleet))
        streams.append(resource_items(instance, fleet))
    merged = heapq.merge(*streams, key=lambda ci: (ci["configurationStateId"], ci["resourceType"],
                                                   ci["resourceId"]))
    for ci in merged:
        yield sim_event(ci, seed=fleet.seed)


def _summary(fleet: Fleet, by_type: Counter[str], patch_instances: int, deleted: int, *,
             files: dict[str, int], sizes: dict[str, int]) -> SimulationSummary:
    platforms = Counter(instance.platform for instance in fleet.instances)
    return SimulationSummary(
        items_by_type=dict(sorted(by_type.items())),
        patch_items=by_type[PATCH_TYPE],
        instances=patch_instances,
        windows_instances=platforms["Windows"],
        linux_instances=platforms["Linux"],
        hybrid_instances=sum(instance.hybrid for instance in fleet.instances),
        joined_instances=sum(instance.join_ms is not None for instance in fleet.instances),
        deleted_instances=deleted,
        files_by_format=files,
        bytes_by_format=sizes,
    )
