"""Ingest entry points: list a source's objects, skip what was read before, land the rest.

Each entry point is one run (see `patchtrail.run.Run`): all or nothing on the warehouse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import duckdb

from patchtrail.run import ObjectResult, Run, RunSummary
from patchtrail.settings import SMALL_OBJECT_BYTES
from patchtrail.sources import files
from patchtrail.warehouse import apply_schema, connect
from patchtrail.warehouse.land import recorded_objects

__all__ = ["ObjectResult", "Run", "RunSummary", "fleet_summary", "ingest_files", "summarise_fleet"]


def ingest_files(paths: Iterable[Path | str], *, warehouse: Path | str,
                 on_object: Callable[[ObjectResult], None] | None = None,
                 on_listed: Callable[[int, int], None] | None = None) -> RunSummary:
    """Land AWS Config / CloudTrail Lake files from local disk into the warehouse.

    Args:
        paths: files or folders; folders are walked and formats detected by name.
        warehouse: the DuckDB file (created if missing).
        on_object: called after each object (for progress bars).
        on_listed: called once with (objects found, bytes to read).
    Files already recorded with the same path and SHA-256 are skipped.
    """
    paths = list(paths)
    con = connect(warehouse)
    try:
        apply_schema(con)
        listing = files.list_objects(paths)
        seen = recorded_objects(con, files.SOURCE)
        if on_listed:
            on_listed(len(listing.objects), sum(o.size for o in listing.objects))
        run = Run(con, source=files.SOURCE, warehouse=str(warehouse),
                  parameters={"paths": [str(p) for p in paths]}, on_object=on_object)
        with run:
            for obj in listing.objects:
                if obj.sha256 and (obj.uri, obj.sha256) in seen:
                    run.unchanged(obj.uri, obj.format, obj.size)
                    continue
                run.land_object(uri=obj.uri, fmt=obj.format, items=files.read_object(obj),
                                sha256=obj.sha256, size=obj.size,
                                payload=lambda obj=obj: _head(obj),
                                stream=files.looks_large(obj, SMALL_OBJECT_BYTES) or None)
        run.summary.ignored = listing.ignored
        summarise_fleet(con, run.summary)
        return run.summary
    finally:
        con.close()


def fleet_summary(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The one-row marts.fleet_summary as a dict."""
    rows = _dicts(con.execute("select * from marts.fleet_summary"))
    return rows[0] if rows else {}


def summarise_fleet(con: duckdb.DuckDBPyConnection, summary: RunSummary, *, top: int = 10) -> None:
    """Fill a run summary's fleet figures and its `top` least compliant accounts."""
    summary.fleet = fleet_summary(con)
    summary.top_accounts = _dicts(con.execute(
        "select * from marts.account_summary where non_compliant > 0 "
        "order by compliance_pct, missing_critical_patches desc, missing_high_patches desc, "
        "account_id limit ?", [top]))


def _dicts(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _head(obj: files.SourceObject) -> bytes | None:
    """The first bytes of a rejected local file, kept as its payload."""
    path = Path(obj.uri)
    if not path.is_file():
        return None
    try:
        with path.open("rb") as fh:
            return fh.read(1 << 20)
    except OSError:
        return None
