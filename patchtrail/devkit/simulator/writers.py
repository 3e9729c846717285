"""Write simulated CIs as AWS Config delivery history files and as Lake `eventJson` NDJSON."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson

from patchtrail.devkit.simulator.catalog import DAY_MS
from patchtrail.devkit.simulator.items import SimEvent, lake_event, utc

PERIOD_MS = DAY_MS // 4  # Config delivers one history file per resource type every six hours
GZIP_LEVEL = 6


def write_gzip(path: Path, data: bytes) -> int:
    """Write `data` gzip-compressed with mtime 0 and no file name (deterministic bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
    path.write_bytes(body)
    return len(body)


class ConfigDeliveryWriter:
    """Buffers one six-hour period of CIs and writes one history file per account, region, type.

    Events must arrive in capture-time order; only the current period is held in memory."""

    def __init__(self, root: Path, *, org_id: str | None = None) -> None:
        self.root = root / "config" / org_id if org_id else root / "config"
        self.period: int | None = None
        self.buffers: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        self.files = 0
        self.bytes = 0

    def add(self, event: SimEvent) -> None:
        ci = event.ci
        period = ci["configurationStateId"] // PERIOD_MS * PERIOD_MS
        if self.period is not None and period != self.period:
            self.flush()
        self.period = period
        key = (ci["awsAccountId"], ci["awsRegion"], ci["resourceType"])
        self.buffers.setdefault(key, []).append(ci)

    def write_writability_checks(self, account_ids: tuple[str, ...]) -> None:
        """The empty `ConfigWritabilityCheckFile` Config puts under each account's prefix."""
        for account_id in account_ids:
            path = self.root / "AWSLogs" / account_id / "Config" / "ConfigWritabilityCheckFile"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"")
            self.files += 1

    def flush(self) -> None:
        """Write the buffered period's files."""
        if self.period is None:
            return
        start, end = utc(self.period), utc(self.period + PERIOD_MS)
        for (account_id, region, resource_type), items in sorted(self.buffers.items()):
            name = (f"{account_id}_Config_{region}_ConfigHistory_{resource_type}_"
                    f"{start:%Y%m%dT%H%M%SZ}_{end:%Y%m%dT%H%M%SZ}_1.json.gz")
            path = (self.root / "AWSLogs" / account_id / "Config" / region /
                    str(start.year) / str(start.month) / str(start.day) / "ConfigHistory" / name)
            body = orjson.dumps({"fileVersion": "1.0", "configurationItems": items})
            self.bytes += write_gzip(path, body)
            self.files += 1
        self.buffers = {}

    def close(self) -> None:
        self.flush()
        self.period = None


class LakeEventsWriter:
    """`lake-events/events.ndjson`: one Lake event (`SELECT eventJson` shape) per line."""

    def __init__(self, root: Path) -> None:
        self.path = root / "lake-events" / "events.ndjson"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = self.path.open("wb")
        self.files = 1
        self.bytes = 0

    def add(self, event: SimEvent) -> None:
        line = orjson.dumps(lake_event(event)) + b"\n"
        self.handle.write(line)
        self.bytes += len(line)

    def close(self) -> None:
        self.handle.close()
