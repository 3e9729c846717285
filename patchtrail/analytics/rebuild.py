"""Rebuild staging, history and the derived marts from landing, in one transaction.

Landing is immutable and holds every item's raw configuration JSON, so everything after it can be
recomputed: each landed row is turned back into a CloudTrail Lake extraction row (the `lake_row`
dialect: eventId, eventTime, accountId, awsRegion, resourceId, ciStatus, ciCaptureTime, ciStateId,
configurationJson), flattened again by transforms.flatten, and the history is recomputed from
scratch. Registers (marts.sla_policies, marts.waivers) are inputs, not derived, and are kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from patchtrail.errors import PatchtrailError
from patchtrail.settings import BATCH_ITEMS
from patchtrail.warehouse import apply_schema, connect, scalar
from patchtrail.warehouse.history import mark_all_affected, merge_history
from patchtrail.warehouse.land import record_load
from transforms.flatten import RawItem, flatten

#: The tables derived from landing, emptied and rebuilt (fixed names, in dependency order).
DERIVED_TABLES = ("marts.patch_lists_by_item", "history.patch_state", "history.instance_compliance",
                  "staging.patch_observations", "staging.instance_snapshots")
#: Landed rows in storage order (ingestion order, roughly capture order): streamed, not sorted,
#: so memory stays bounded by the batch whatever the size of landing.
_LANDED = """
    select ci_id, event_id, event_time, account_id, aws_region, resource_type, resource_id,
        item_status, captured_at, state_id, configuration_json, source, source_ref, record_ref
    from landing.configuration_items
"""


class RebuildError(PatchtrailError):
    """A landed item no longer flattens to the same item; nothing was changed."""

    hint = "The warehouse is unchanged. Report the item ids above: transforms/flatten.py changed meaning."


@dataclass
class RebuildSummary:
    """What a rebuild recomputed."""

    load_id: int
    items: int
    patch_observations: int
    instances: int
    instance_versions: int
    patch_versions: int
    seconds: float


def rebuild(warehouse: Path | str, *, on_progress: Callable[[int, int], None] | None = None,
            batch_size: int = BATCH_ITEMS) -> RebuildSummary:
    """Recompute staging, history and marts.patch_lists_by_item from landing, all or nothing.

    Args:
        warehouse: the DuckDB file.
        on_progress: called with (items done, items in all) after each batch.
        batch_size: items flattened at a time (memory stays bounded by it).
    Raises:
        RebuildError: a landed item did not flatten back to itself; the warehouse is unchanged.
    The run is recorded in landing.loads with source 'rebuild'.
    """
    con = connect(warehouse)
    try:
        apply_schema(con)
        return rebuild_connection(con, on_progress=on_progress, batch_size=batch_size)
    finally:
        con.close()


def rebuild_connection(con: duckdb.DuckDBPyConnection, *,
                       on_progress: Callable[[int, int], None] | None = None,
                       batch_size: int = BATCH_ITEMS) -> RebuildSummary:
    """As `rebuild`, on an open connection (with the schema applied) outside any transaction."""
    t0 = time.monotonic()
    started = datetime.now(UTC)
    load_id = int(scalar(con, "select coalesce(max(load_id), 0) + 1 from landing.loads"))
    con.execute("begin transaction")
    try:
        summary = _rebuild(con, load_id, on_progress, batch_size)
        summary.seconds = time.monotonic() - t0
        _record(con, load_id, started, summary, status="succeeded", error=None)
        con.execute("commit")
    except BaseException as exc:
        con.execute("rollback")
        _record_failure(con, load_id, started, exc)
        raise
    return summary


def landed_as_lake_rows(rows: list[tuple]) -> list[RawItem]:
    """Landed rows (as selected by _LANDED) as raw items of the `lake_row` dialect."""
    items = []
    for (_, event_id, event_time, account, region, rtype, resource_id, status, captured, state_id,
         configuration, source, source_ref, record_ref) in rows:
        payload: dict[str, Any] = {
            "eventId": event_id, "eventTime": event_time, "accountId": account, "awsRegion": region,
            "resourceType": rtype, "resourceId": resource_id, "ciStatus": status,
            "ciCaptureTime": captured, "ciStateId": state_id, "configurationJson": configuration,
        }
        items.append(RawItem({k: v for k, v in payload.items() if v is not None}, source,
                             source_ref, record_ref))
    return items


def _rebuild(con: duckdb.DuckDBPyConnection, load_id: int,
             on_progress: Callable[[int, int], None] | None, batch_size: int) -> RebuildSummary:
    total = int(scalar(con, "select count(*) from landing.configuration_items"))
    for table in DERIVED_TABLES:
        con.execute(f"delete from {table}")  # noqa: S608 (fixed names)
    done = 0
    for rows in _landed_batches(con, batch_size):
        _restage(con, rows)
        done += len(rows)
        if on_progress:
            on_progress(done, total)
    con.execute("create or replace temp table affected_instances "
                "(account_id varchar, aws_region varchar, instance_id varchar)")
    mark_all_affected(con)
    instances = merge_history(con, from_load=0)
    counts = con.execute("""
        select (select count(*) from staging.patch_observations),
               (select count(*) from history.instance_compliance),
               (select count(*) from history.patch_state)
    """).fetchall()[0]
    return RebuildSummary(load_id=load_id, items=done, patch_observations=int(counts[0]),
                          instances=instances, instance_versions=int(counts[1]),
                          patch_versions=int(counts[2]), seconds=0.0)


def _landed_batches(con: duckdb.DuckDBPyConnection, size: int) -> Iterator[list[tuple]]:
    """Landed rows a batch at a time, streamed on a second cursor (the first one is writing)."""
    reader = con.cursor()
    try:
        batches = reader.sql(_LANDED).to_arrow_reader(size)
        for batch in batches:
            columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            yield list(zip(*columns, strict=True))
    finally:
        reader.close()


def _restage(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    flat = flatten(landed_as_lake_rows(rows))
    expected = [row[0] for row in rows]
    got = flat.items["ci_id"].tolist() if not flat.items.empty else []
    if len(flat.rejected) or got != expected:
        bad = sorted(set(expected) - set(got))
        reasons = flat.rejected["reason"].head(3).tolist()
        raise RebuildError(f"{len(bad)} landed items did not flatten back to themselves "
                           f"(first: {bad[:3]}; reasons: {reasons})")
    con.register("rebuild_instances", pa.Table.from_pandas(flat.instances, preserve_index=False))
    con.register("rebuild_patches", pa.Table.from_pandas(flat.patches, preserve_index=False))
    try:
        con.execute("insert into staging.instance_snapshots select * from rebuild_instances")
        con.execute("""
            insert into staging.patch_observations
            select * from rebuild_patches
            qualify row_number() over (partition by ci_id, patch_id) = 1
        """)
    finally:
        con.unregister("rebuild_instances")
        con.unregister("rebuild_patches")


def _record(con: duckdb.DuckDBPyConnection, load_id: int, started: datetime, summary: RebuildSummary,
            *, status: str, error: str | None) -> None:
    record_load(con, {
        "load_id": load_id, "source": "rebuild",
        "parameters": orjson.dumps({"rebuild": True}).decode(), "started_at": started,
        "finished_at": datetime.now(UTC), "status": status, "items_read": summary.items,
        "instances_affected": summary.instances, "error": error,
    })


def _record_failure(con: duckdb.DuckDBPyConnection, load_id: int, started: datetime,
                    exc: BaseException) -> None:
    try:
        con.execute("begin transaction")
        record_load(con, {
            "load_id": load_id, "source": "rebuild", "parameters": '{"rebuild": true}',
            "started_at": started, "finished_at": datetime.now(UTC), "status": "failed",
            "error": f"{type(exc).__name__}: {exc}",
        })
        con.execute("commit")
    except duckdb.Error:
        pass
