"""Rebuild staging, history and the derived marts from landing, in one transaction.

Landing is immutable and holds every item's configuration JSON, so everything after it can be
recomputed (patchtrail.warehouse.restage): each landed item is flattened again by today's
transforms, and the history is recomputed from scratch. Of an item that arrived with conflicting
contents, the variant with the smallest content_sha256 is used (landing.item_conflicts).
A landed item that today's rules refuse (landed by an older patchtrail, e.g. a capture time
before 2014 or a Content that is not a patch map) is left out of staging and history and recorded
in landing.rejected_records (source 'rebuild', record_ref 'ci_id:<ci_id>'); the rebuild goes on.
Registers (marts.sla_policies, marts.waivers) are inputs, not derived, and are kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import orjson

from patchtrail.constants import BATCH_ITEMS
from patchtrail.errors import PatchtrailError
from patchtrail.warehouse import apply_schema, connect, scalar, sql
from patchtrail.warehouse.history import mark_all_affected, merge_history
from patchtrail.warehouse.land import current_load_id, record_load, record_rejected
from patchtrail.warehouse.restage import restage

#: The tables derived from landing, emptied and rebuilt (fixed names, in dependency order).
DERIVED_TABLES = ("marts.patch_lists_by_item", "history.patch_state", "history.instance_compliance",
                  "staging.patch_observations", "staging.instance_snapshots")


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
    refused: int = 0            # landed items today's rules refuse: left out, recorded


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
    load_id = current_load_id(con)
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


def _rebuild(con: duckdb.DuckDBPyConnection, load_id: int,
             on_progress: Callable[[int, int], None] | None, batch_size: int) -> RebuildSummary:
    total = int(scalar(con, "select count(*) from landing.configuration_items"))
    for table in DERIVED_TABLES:
        con.execute(f"delete from {table}")  # noqa: S608 (fixed names)
    done = refused = 0
    for rows in _landed_batches(con, batch_size):
        refused += _restage(con, rows, load_id)
        done += len(rows)
        if on_progress:
            on_progress(done, total)
    con.execute("create or replace temp table affected_instances "
                "(account_id varchar, aws_region varchar, instance_id varchar)")
    mark_all_affected(con)
    instances = merge_history(con, from_load=0)
    counts = sql.query(con, "history/rebuild_counts").fetchall()[0]
    return RebuildSummary(load_id=load_id, items=done, patch_observations=int(counts[0]),
                          instances=instances, instance_versions=int(counts[1]),
                          patch_versions=int(counts[2]), seconds=0.0, refused=refused)


def _landed_batches(con: duckdb.DuckDBPyConnection, size: int) -> Iterator[list[tuple]]:
    """The variant in use of every landed item (sql/warehouse/landing/rebuild_items.sql) a batch
    at a time, streamed on a second cursor (the first one is writing), so memory stays bounded by
    the batch whatever the size of landing."""
    reader = con.cursor()
    try:
        batches = sql.query(reader, "landing/rebuild_items").to_arrow_reader(size)
        for batch in batches:
            columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            yield list(zip(*columns, strict=True))
    finally:
        reader.close()


def _restage(con: duckdb.DuckDBPyConnection, rows: list[tuple], load_id: int) -> int:
    """Stage landed rows again; those today's rules refuse are recorded. Returns how many."""
    try:
        result = restage(con, rows)
    except ValueError as exc:
        raise RebuildError(str(exc)) from None
    for ci_id, source_ref, record_ref, reason in result.refused:
        record_rejected(con, load_id=load_id, source="rebuild", source_ref=source_ref,
                        record_ref=f"ci_id:{ci_id}",
                        reason=f"landed item refused by today's rules and left out of history "
                               f"({record_ref}): {reason}", payload=None, rejected_at=datetime.now(UTC))
    return len(result.refused)


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
