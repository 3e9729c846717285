"""One writer at a time: DuckDB allows one writing process per warehouse file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prefect.concurrency.sync import concurrency

#: Global concurrency limit shared by every flow that writes the warehouse. Create it once:
#: `prefect gcl create patchtrail-warehouse-writer --limit 1` (without it, runs are not
#: serialised by Prefect, and a second writer fails fast with WarehouseBusy instead).
WRITER_LIMIT = "patchtrail-warehouse-writer"


@contextmanager
def single_writer(timeout_seconds: float = 3600) -> Iterator[None]:
    with concurrency(WRITER_LIMIT, occupy=1, timeout_seconds=timeout_seconds, strict=False):
        yield
