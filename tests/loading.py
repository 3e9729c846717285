"""Land raw payloads in a warehouse the way the sources do, for tests."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from patchtrail.transforms.raw import RawItem

from patchtrail.devkit.simulator import simulate_to_dir
from patchtrail.ingest import ingest_files
from patchtrail.run import Run
from patchtrail.sources.base import SourceObject


def load_payloads(connection, payloads: Iterable[dict], *, uri: str = "test://batch") -> None:
    """Land raw payloads as one object in one run (the same path files take after reading)."""
    items = [RawItem(p, "file", uri, f"item {i}") for i, p in enumerate(payloads)]
    with Run(connection, source="file", warehouse=":memory:", parameters={}) as run:
        run.land(SourceObject(uri, "test"), items)


def simulated_warehouse(root: Path) -> Path:
    """A small real warehouse under `root`: a simulated fleet landed from its Config files, then
    again from everything (the Lake copies: duplicates that fill event ids)."""
    simulate_to_dir(root / "data", accounts=1, regions=2, instances=3, days=25, seed=5)
    warehouse = root / "w.duckdb"
    ingest_files([root / "data" / "config"], warehouse=warehouse)
    ingest_files([root / "data"], warehouse=warehouse)
    return warehouse
