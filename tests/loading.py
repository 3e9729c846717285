"""Land raw payloads in a warehouse the way the sources do, for tests."""

from __future__ import annotations

from collections.abc import Iterable

from patchtrail.transforms.raw import RawItem

from patchtrail.run import Run
from patchtrail.sources.base import SourceObject


def load_payloads(connection, payloads: Iterable[dict], *, uri: str = "test://batch") -> None:
    """Land raw payloads as one object in one run (the same path files take after reading)."""
    items = [RawItem(p, "file", uri, f"item {i}") for i, p in enumerate(payloads)]
    with Run(connection, source="file", warehouse=":memory:", parameters={}) as run:
        run.land(SourceObject(uri, "test"), items)
