"""Ingest from CloudTrail Lake: one extraction query per window and store, landed in one run.

Incremental: each event data store has a watermark in the warehouse; a run without --start
begins at the watermark minus an overlap (late-arriving events), and dedup by ci_id makes the
overlap harmless. The watermark moves in the run's transaction, only across windows that all
landed, so a run killed mid-window re-reads that window next time and skips nothing.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
from botocore.config import Config

from patchtrail import spool, validate
from patchtrail.errors import InvalidInput, TransientError
from patchtrail.ingest import summarise_fleet
from patchtrail.run import ObjectResult, Run, RunSummary
from patchtrail.sources import files
from patchtrail.sources.formats import ObjectError
from patchtrail.sources.lake import (
    SOURCE,
    LakeRunner,
    LakeSettings,
    QueryOutcome,
    QueryTimeout,
    Store,
    Window,
    make_client,
    windows,
)
from patchtrail.transient import is_transient
from patchtrail.warehouse import apply_schema, connect
from patchtrail.warehouse.lake_state import move_watermark, record_query, watermark
from transforms.flatten import RawItem

log = logging.getLogger("patchtrail")


@dataclass(frozen=True)
class LakePlan:
    """The windows a run will query, per store."""

    windows: list[Window]
    ranges: dict[str, tuple[datetime, datetime]]   # store id -> [start, end) asked for
    window: timedelta = timedelta(days=1)
    overlap: timedelta = timedelta(hours=6)


#: How to read a finished query's rows.
RowSource = Callable[[QueryOutcome], Iterable[RawItem]]


def plan_windows(con, stores: list[Store], *, start: str | datetime | None, end: str | datetime | None,
                 window: timedelta, overlap: timedelta, now: datetime) -> LakePlan:
    """Work out each store's range (explicit, or from its watermark) and cut it into windows."""
    if window <= timedelta(0):
        raise InvalidInput(f"window {window} must be positive")
    upper = validate.utc_timestamp(end, parameter="end") if end is not None else now.replace(second=0, microsecond=0)
    planned: list[Window] = []
    ranges: dict[str, tuple[datetime, datetime]] = {}
    for store in stores:
        if start is not None:
            lower = validate.utc_timestamp(start, parameter="start")
        else:
            mark = watermark(con, store.id)
            if mark is None:
                raise InvalidInput(f"event data store {store.id} has never been read: give --start "
                                   "for the first run (a Lake query is billed by the bytes it scans)")
            lower = mark - overlap
        if lower >= upper:
            continue
        ranges[store.id] = (lower, upper)
        planned += windows(store, lower, upper, window)
    return LakePlan(planned, ranges, window, overlap)


def ingest_lake(stores: list[Store], *, warehouse: Path | str, start: str | datetime | None = None,
                end: str | datetime | None = None, window: timedelta = timedelta(days=1),
                overlap: timedelta = timedelta(hours=6), endpoint_url: str | None = None,
                region: str | None = None, sts_endpoint_url: str | None = None,
                s3_endpoint_url: str | None = None, settings: LakeSettings | None = None,
                on_object: Callable[[ObjectResult], None] | None = None,
                on_listed: Callable[[int, int], None] | None = None,
                now: datetime | None = None) -> RunSummary:
    """Land the PatchCompliance items of CloudTrail Lake event data stores into the warehouse.

    Args:
        stores: event data stores (id or ARN) with an optional role to assume for each.
        start, end: eventTime range, ISO-8601 UTC; without start, each store resumes at its
            watermark minus `overlap`; without end, up to now.
        window: the eventTime span of one query.
        settings: concurrency, polling, timeouts, price per GB, S3 delivery.
    Queries run concurrently and their rows land as they arrive, all in one transaction. (The
    `ingest-lake` flow runs each window as its own retryable task instead: `stage_window`.)
    """
    settings = settings or LakeSettings()
    stores = _checked(stores)
    con = connect(warehouse)
    try:
        apply_schema(con)
        plan = plan_windows(con, stores, start=start, end=end, window=window, overlap=overlap,
                            now=now or datetime.now(UTC))
        if on_listed:
            on_listed(len(plan.windows), 0)
        clients = {s.id: make_client(endpoint_url=endpoint_url, region=region, role_arn=s.role_arn,
                                     sts_endpoint_url=sts_endpoint_url, max_attempts=settings.max_attempts)
                   for s in stores}
        runner = LakeRunner(clients, settings)

        def rows(outcome: QueryOutcome) -> Iterable[RawItem]:
            return _rows(runner, outcome, settings, s3_endpoint_url=s3_endpoint_url, region=region)

        return land_outcomes(con, plan, ((o, rows) for o in runner.run(plan.windows)), stores=stores,
                             warehouse=warehouse, settings=settings, on_object=on_object)
    finally:
        con.close()


def land_outcomes(con, plan: LakePlan, outcomes: Iterable[tuple[QueryOutcome, RowSource]], *,
                  stores: list[Store], warehouse: Path | str, settings: LakeSettings,
                  on_object: Callable[[ObjectResult], None] | None = None) -> RunSummary:
    """Land finished queries' rows and record every query, in one run (one transaction); then
    move each store's watermark across the unbroken run of windows that landed."""
    run = Run(con, source=SOURCE, warehouse=str(warehouse), on_object=on_object, parameters={
        "stores": [s.id for s in stores], "ranges": {k: [v[0], v[1]] for k, v in plan.ranges.items()},
        "window": str(plan.window), "overlap": str(plan.overlap), "deliver_to": settings.deliver_to})
    landed: list[Window] = []
    with run:
        for outcome, rows in outcomes:
            result = (ObjectResult(uri="", format="lake_query", status="split") if outcome.split
                      else _land(run, outcome, rows))
            if result.status == "landed":
                landed.append(outcome.window)
            stats = {**outcome.statistics, "query_id": outcome.query_id,
                     "event_data_store": outcome.window.store.id,
                     "window_start": outcome.window.start, "window_end": outcome.window.end,
                     "status": outcome.status, "error": outcome.error or result.error,
                     "rows_read": result.read, "delivery_s3_uri": outcome.delivery_uri,
                     "delivery_status": outcome.delivery_status,
                     "estimated_cost_usd": (outcome.statistics.get("bytes_scanned") or 0) / 1e9
                     * settings.price_per_gb}
            record_query(con, stats, load_id=run.summary.load_id)
            run.summary.queries.append(stats)
        for store_id, (lower, _) in plan.ranges.items():
            covered = _covered_until(lower, [w for w in landed if w.store.id == store_id])
            if covered > lower:
                move_watermark(con, store_id, covered, load_id=run.summary.load_id)
    summarise_fleet(con, run.summary)
    return run.summary


# The flow's way: plan, then one retryable task per window that stages its rows, then land.

def plan_lake(stores: list[Store], *, warehouse: Path | str, start: str | datetime | None,
              end: str | datetime | None, window: timedelta, overlap: timedelta,
              now: datetime) -> LakePlan:
    """`plan_windows` on the warehouse file (opened briefly)."""
    con = connect(warehouse)
    try:
        apply_schema(con)
        return plan_windows(con, _checked(stores), start=start, end=end, window=window,
                            overlap=overlap, now=now)
    finally:
        con.close()


@dataclass
class StagedQuery:
    """A finished query of a window, with its rows kept in `path` (None: nothing to land)."""

    outcome: QueryOutcome
    path: Path | None = None


def stage_window(window: Window, directory: Path, *, endpoint_url: str | None = None,
                 region: str | None = None, sts_endpoint_url: str | None = None,
                 s3_endpoint_url: str | None = None, settings: LakeSettings) -> list[StagedQuery]:
    """Query one window (splitting it if it fails) and keep the rows under `directory`.

    Raises TransientError when a query could not run or its rows could not be read for a
    reason that may pass (throttling, 5xx, connection trouble): retrying the window can help.
    A query that FAILED or TIMED_OUT for good, or that outlived `settings.timeout` (cancelled),
    is returned, to be recorded as rejected; the next run queries the window again.
    """
    client = make_client(endpoint_url=endpoint_url, region=region, role_arn=window.store.role_arn,
                         sts_endpoint_url=sts_endpoint_url, max_attempts=settings.max_attempts)
    runner = LakeRunner({window.store.id: client}, settings)
    staged: list[StagedQuery] = []
    try:
        for outcome in runner.run([window]):
            staged.append(_stage(runner, outcome, directory, s3_endpoint_url=s3_endpoint_url,
                                 region=region, settings=settings))
    except QueryTimeout as exc:  # not retried now: the next run queries the window again
        staged.append(StagedQuery(QueryOutcome(window, None, "CANCELLED", error=str(exc))))
    return staged


def _stage(runner: LakeRunner, outcome: QueryOutcome, directory: Path, *, s3_endpoint_url: str | None,
           region: str | None, settings: LakeSettings) -> StagedQuery:
    if outcome.transient and not outcome.split:
        raise TransientError(f"Lake query for {outcome.window}: {outcome.status}: {outcome.error}")
    if not outcome.ok or outcome.split:
        return StagedQuery(outcome)
    path = directory / f"{outcome.query_id}.jsonl.gz"
    try:
        spool.write_items(path, _rows(runner, outcome, settings, s3_endpoint_url=s3_endpoint_url,
                                      region=region))
    except ObjectError as exc:
        if is_transient(exc.__cause__):
            raise TransientError(str(exc)) from exc
        outcome.error = str(exc)
        return StagedQuery(outcome)
    return StagedQuery(outcome, path)


def unstaged(window: Window, error: str) -> StagedQuery:
    """A window whose task gave up (its retries spent): recorded as a query that did not run."""
    return StagedQuery(QueryOutcome(window, None, "NOT_STARTED", error=error))


def land_staged(staged: list[StagedQuery], plan: LakePlan, *, stores: list[Store],
                warehouse: Path | str, settings: LakeSettings,
                on_object: Callable[[ObjectResult], None] | None = None) -> RunSummary:
    """Land staged queries (in window order) in one transaction; see `land_outcomes`."""
    con = connect(warehouse)
    try:
        apply_schema(con)
        ordered = sorted(staged, key=lambda s: (s.outcome.window.store.id, s.outcome.window.start))
        # a staged query without a path is not ok: it is rejected, its rows are never read
        return land_outcomes(con, plan, ((s.outcome, lambda _, p=s.path: spool.read_items(p))
                                         for s in ordered),
                             stores=_checked(stores), warehouse=warehouse, settings=settings,
                             on_object=on_object)
    finally:
        con.close()


def _checked(stores: list[Store]) -> list[Store]:
    return [Store(validate.event_data_store_id(s.id), s.role_arn) for s in stores]


def _land(run: Run, outcome: QueryOutcome, rows: RowSource) -> ObjectResult:
    uri = f"lake://{outcome.window.store.id}/{outcome.query_id or 'not-started'}"
    if not outcome.ok:
        run.reject_object(uri=uri, fmt="lake_query", etag=outcome.query_id,
                          message=f"Lake query {outcome.query_id or '(not started)'} for {outcome.window}: "
                                  f"{outcome.status}: {outcome.error}")
        return run.summary.objects[-1]
    run.land_object(uri=uri, fmt="lake_query", items=rows(outcome), etag=outcome.query_id, size=0)
    return run.summary.objects[-1]


def _rows(runner: LakeRunner, outcome: QueryOutcome, settings: LakeSettings, *,
          s3_endpoint_url: str | None, region: str | None) -> Iterator[RawItem]:
    """A finished query's rows: from the files Lake saved to S3 (delivery mode), else paged
    from GetQueryResults."""
    if settings.deliver_to:
        return _delivered_rows(outcome, s3_endpoint_url=s3_endpoint_url, region=region)
    return runner.rows(outcome)


def _covered_until(lower: datetime, landed: list[Window]) -> datetime:
    """The end of the unbroken run of landed windows that starts at `lower`."""
    covered = lower
    for w in sorted(landed, key=lambda w: w.start):
        if w.start > covered:
            break
        covered = max(covered, w.end)
    return covered


def _delivered_rows(outcome: QueryOutcome, *, s3_endpoint_url: str | None,
                    region: str | None) -> Iterator[RawItem]:
    """Read the result files Lake saved to S3, verified against result_sign.json."""
    bucket, _, prefix = (outcome.delivery_uri or "").removeprefix("s3://").partition("/")
    s3 = boto3.client("s3", endpoint_url=s3_endpoint_url, region_name=region,
                      config=Config(retries={"mode": "standard"}))
    with tempfile.TemporaryDirectory(prefix="patchtrail-lake-") as tmp:
        keys = [obj["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
                    Bucket=bucket, Prefix=prefix) for obj in page.get("Contents", [])
                if f"/{outcome.query_id}/" in obj["Key"]]
        if not keys:
            raise ObjectError(f"Lake query {outcome.query_id}: no result files under {outcome.delivery_uri}")
        for key in keys:
            target = Path(tmp) / key.rsplit("/", 1)[-1]
            s3.download_file(bucket, key, str(target))
        listing = files.list_objects([tmp])
        by_name = {key.rsplit("/", 1)[-1]: f"s3://{bucket}/{key}" for key in keys}
        for obj in listing.objects:
            for raw in files.read_object(obj):
                raw.source = SOURCE
                raw.source_ref = by_name.get(Path(raw.source_ref).name, raw.source_ref)
                yield raw
