"""The one ingest pipeline: list a source, skip what was read before, land the rest, summarise.

    listing = source.list()
    run = Run(...)                      # one warehouse transaction (see patchtrail.run)
    for obj in listing: unchanged | ignored | land(obj, source.read(obj))
    source.record(...)                  # the source's own rows, in the same transaction
    merge history, record the load, commit; summarise the fleet

Every source (local files, S3, CloudTrail Lake windows, what a flow spooled) goes through here,
so the rules are written once: what counts as "read before", what is recorded when an object
cannot be read, that a path that does not exist records nothing.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from patchtrail.constants import CHUNK_ITEMS
from patchtrail.ingest.readahead import read_ahead
from patchtrail.ingest.workers import WorkerPool, plan_groups, worker_count
from patchtrail.run import ObjectResult, Run, RunSummary
from patchtrail.sources.base import Listing, Source, SourceObject
from patchtrail.warehouse import apply_schema, connect, sql
from patchtrail.warehouse.land import recorded_objects

log = logging.getLogger("patchtrail")
_DIGITS = re.compile(r"(\d+)")


def ingest(source: Source, *, warehouse: Path | str, listing: Listing | None = None,
           on_object: Callable[[ObjectResult], None] | None = None,
           on_listed: Callable[[int, int], None] | None = None,
           now: datetime | None = None, chunk_items: int = CHUNK_ITEMS) -> RunSummary:
    """Land everything new in `source` into the warehouse, in one run.

    Args:
        listing: what `source.list()` returned, when the caller listed already (flows do).
        on_object: called after each object (progress bars, flow logs).
        on_listed: called once with (objects to consider, their bytes).
        now: the run's clock (capture times more than a day after it are rejected).
        chunk_items: items per committed chunk (see patchtrail.run).
    When no path or prefix named exists, nothing is recorded (the warehouse is not even opened):
    the summary has no objects and names them in `not_found`.
    """
    clock = time.perf_counter()
    listing = listing if listing is not None else source.list()
    listed = time.perf_counter() - clock
    if listing.not_found and not listing.objects and not listing.ignored:
        return RunSummary(load_id=0, source=source.name, warehouse=str(warehouse),
                          started_at=datetime.now(UTC), not_found=list(listing.not_found))
    if on_listed:
        on_listed(len(listing.objects), sum(o.size for o in listing.objects))
    con = connect(warehouse)
    try:
        apply_schema(con)
        seen = recorded_objects(con, source.name)
        run = Run(con, source=source.name, warehouse=str(warehouse), parameters=source.parameters,
                  on_object=on_object, on_chunk=getattr(source, "record", None), now=now,
                  chunk_items=chunk_items)
        run.summary.phases["list"] = listed
        run.summary.phases["open"] = time.perf_counter() - clock - listed
        with run:
            for obj in listing.ignored:
                run.ignore(obj, record=obj.digest is not None and (obj.uri, obj.digest) not in seen)
            todo, listed = [], set()
            for obj in listing.objects:
                if obj.uri in listed:  # the same file reached twice (a link to a file inside the tree)
                    continue
                listed.add(obj.uri)
                if obj.digest and (obj.uri, obj.digest) in seen:
                    run.unchanged(obj)
                else:
                    todo.append(obj)
            _land_all(run, source, landing_order(todo))
        run.summary.not_found = list(listing.not_found)
        with run.timed("summary"):
            summarise_fleet(con, run.summary)
        log.info("phases: %s", json.dumps({k: round(v, 3) for k, v in run.summary.phases.items()}))
        return run.summary
    finally:
        con.close()


def landing_order(objects: list[SourceObject]) -> list[SourceObject]:
    """Objects in the order their names count in: numbers as numbers, so `2026/1/2` comes
    before `2026/1/10` (AWS Config keys do not zero-pad month and day). A bulk load of
    delivery files then lands the days in capture order, and each chunk's history extends the
    one before it instead of recomputing the instances from a day long past."""
    return sorted(objects, key=lambda obj: _natural_key(obj.uri))


def _natural_key(text: str) -> list[str | int]:
    # split keeps the digit runs at odd positions, so two keys compare str to str, int to int
    return [int(part) if i % 2 else part for i, part in enumerate(_DIGITS.split(text))]


def _land_all(run: Run, source: Source, todo: list[SourceObject]) -> None:
    """Read and land every object: in worker processes when the source allows it and the work
    is worth their start-up (patchtrail.ingest.workers), else in threads or in this process."""
    workers = worker_count(source, todo)
    if workers:
        with WorkerPool(workers) as pool:
            for group in _timed_groups(run, pool.groups(source, plan_groups(todo), run.now)):
                for obj in run.land_group(group, payload=lambda obj: _payload(source, obj)):
                    run.land(obj, _reader(source)(obj), payload=lambda obj=obj: _payload(source, obj))
                run.checkpoint()
        return
    for obj, items in read_ahead(todo, _reader(source), workers=source.concurrency):
        run.land(obj, items, payload=lambda obj=obj: _payload(source, obj))
        run.checkpoint()


def _timed_groups(run: Run, groups):
    """The worker pool's groups, the wait for each counted as the run's `read` time."""
    iterator = iter(groups)
    while True:
        with run.timed("read"):
            group = next(iterator, None)
        if group is None:
            return
        yield group


def new_objects(source: Source, listing: Listing, warehouse: Path | str) -> list[SourceObject]:
    """The listed objects the warehouse has not read with the same digest (and that can be read)."""
    con = connect(warehouse)
    try:
        apply_schema(con)
        seen = recorded_objects(con, source.name)
    finally:
        con.close()
    return [o for o in listing.objects if not o.error and not (o.digest and (o.uri, o.digest) in seen)]


def fleet_summary(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The one-row marts.fleet_summary as a dict."""
    rows = sql.rows(con, "summary/fleet")
    return rows[0] if rows else {}


def summarise_fleet(con: duckdb.DuckDBPyConnection, summary: RunSummary, *, top: int = 10) -> None:
    """Fill a run summary's fleet figures and its `top` least compliant accounts: the two
    queries at once, each on a cursor of its own (both read marts.account_summary; a run that
    lands nothing spends most of its time here)."""
    with con.cursor() as other, ThreadPoolExecutor(max_workers=1) as pool:
        top_accounts = pool.submit(sql.rows, other, "summary/top_accounts", top=top)
        summary.fleet = fleet_summary(con)
        summary.top_accounts = top_accounts.result()


def _reader(source: Source):
    """`source.read`, lazily: whatever reading raises, even on the first call, is raised while
    the run iterates the items, where it rejects the object (never the run)."""
    def read(obj: SourceObject):
        if obj.error:  # rejected by the run without being read
            return
        yield from source.read(obj)
    return read


def _payload(source: Source, obj: SourceObject) -> bytes | None:
    """The first bytes of a rejected object, kept with its reason (when the source can say)."""
    head = getattr(source, "head", None)
    return head(obj) if head else None
