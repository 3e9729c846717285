"""Ingest from CloudTrail Lake: one object per store and time window, landed through the pipeline.

Incremental: each event data store has a watermark in the warehouse; a run without --start
begins at the watermark minus an overlap (late-arriving events), and dedup by ci_id makes the
overlap harmless. The watermark moves in the run's transaction, only across the unbroken run of
windows that landed, so a window rejected (failed, cancelled) or a run killed mid-window is
queried again next time and nothing is skipped.

Two ways to read the windows, with the same warehouse as the result:
- `ingest_lake` (the CLI): windows are queried concurrently and land as they finish;
- the `ingest-lake` flow: one retryable task per window queries it and spools its rows on local
  disk (`spool_window`), then `land_spooled` lands them all in one run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from patchtrail import spool, validate
from patchtrail.aws import AwsEndpoints
from patchtrail.errors import InvalidInput, TransientError
from patchtrail.ingest.pipeline import ingest
from patchtrail.run import ObjectResult, RunSummary
from patchtrail.sources import s3
from patchtrail.sources.base import Listing, ObjectUnreadable, SourceObject
from patchtrail.sources.formats import LAKE_RESULT_FILE, SIGN_FILE
from patchtrail.sources.lake import (
    SOURCE,
    LakeRunner,
    LakeSettings,
    QueryOutcome,
    Store,
    Window,
    failure,
    make_client,
    query_stats,
    window_uri,
    windows,
)
from patchtrail.sources.sign_file import PublicKeys
from patchtrail.transforms.raw import RawItem
from patchtrail.transient import is_transient
from patchtrail.warehouse import apply_schema, connect
from patchtrail.warehouse.lake_state import move_watermark, record_query, watermark

log = logging.getLogger("patchtrail")


@dataclass(frozen=True)
class LakeRange:
    """The eventTime a run asks for, and how it is cut into queries.

    Args:
        start, end: eventTime range, ISO-8601 UTC (or datetimes); without start, each store
            resumes at its watermark minus `overlap`; without end, up to now.
        window: the eventTime span of one query.
    """

    start: str | datetime | None = None
    end: str | datetime | None = None
    window: timedelta = timedelta(days=1)
    overlap: timedelta = timedelta(hours=6)


@dataclass(frozen=True)
class LakePlan:
    """The windows a run will query, per store."""

    windows: list[Window]
    ranges: dict[str, tuple[datetime, datetime]]   # store id -> [start, end) asked for
    time_range: LakeRange = LakeRange()             # what the run asked for


def plan_windows(con, stores: list[Store], time_range: LakeRange, *, now: datetime) -> LakePlan:
    """Work out each store's range (explicit, or from its watermark) and cut it into windows."""
    start, end, window, overlap = time_range.start, time_range.end, time_range.window, time_range.overlap
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
    return LakePlan(planned, ranges, time_range)


def plan_lake(stores: list[Store], time_range: LakeRange, *, warehouse: Path | str,
              now: datetime) -> LakePlan:
    """`plan_windows` on the warehouse file (opened briefly)."""
    con = connect(warehouse)
    try:
        apply_schema(con)
        return plan_windows(con, checked(stores), time_range, now=now)
    finally:
        con.close()


@dataclass
class WindowRead:
    """What reading one window did: its queries (as they ended) and the rows read from each."""

    outcomes: list[QueryOutcome] = field(default_factory=list)
    rows: dict[int, int] = field(default_factory=dict)   # index in outcomes -> rows read


class LakeSource:
    """CloudTrail Lake windows as a pipeline source.

    Args:
        plan: the windows to read.
        read_window: reads one window's rows, noting its queries in the WindowRead it is given
            (live: `QueryWindows`; a flow: what a task spooled).
        settings: price per GB (for costs) and concurrency.
    """

    name = SOURCE

    def __init__(self, plan: LakePlan, read_window: Callable[[Window, WindowRead], Iterator[RawItem]], *,
                 settings: LakeSettings, stores: list[Store], concurrency: int | None = None) -> None:
        self.plan = plan
        self.settings = settings
        self.concurrency = concurrency or max(1, min(settings.max_concurrency, 9))
        self._read_window = read_window
        self._reads: dict[str, WindowRead] = {}
        self._landed: list[Window] = []    # across the run's chunks
        self.parameters: dict[str, Any] = {
            "stores": [s.id for s in stores],
            "ranges": {k: [v[0], v[1]] for k, v in plan.ranges.items()},
            "window": str(plan.time_range.window), "overlap": str(plan.time_range.overlap),
            "deliver_to": settings.deliver_to}

    def list(self) -> Listing:
        return Listing(objects=[SourceObject(window_uri(w), "lake_window", ref=w) for w in self.plan.windows])

    def read(self, obj: SourceObject) -> Iterator[RawItem]:
        done = self._reads[obj.uri] = WindowRead()
        return self._read_window(obj.ref, done)

    def record(self, con: Any, summary: RunSummary, results: list[ObjectResult]) -> None:
        """Every query of the chunk's windows to landing.lake_queries; each store's watermark
        moved across the unbroken run of windows that landed (in this chunk or an earlier one
        of the run)."""
        landed = self._landed
        for result in results:
            done = self._reads.get(result.uri)
            if done is None:
                continue
            window = next(w for w in self.plan.windows if window_uri(w) == result.uri)
            if result.status == "landed":
                landed.append(window)
            last = len(done.outcomes) - 1
            for index, outcome in enumerate(done.outcomes):
                error = result.error if result.status == "rejected" and index == last else None
                stats = query_stats(outcome, rows_read=done.rows.get(index, 0),
                                    price_per_gb=self.settings.price_per_gb, error=error)
                record_query(con, stats, load_id=summary.load_id)
                summary.queries.append(stats)
        for store_id, (lower, _) in self.plan.ranges.items():
            covered = _covered_until(lower, [w for w in landed if w.store.id == store_id])
            if covered > lower:
                move_watermark(con, store_id, covered, load_id=summary.load_id)


class QueryWindows:
    """Reads a window live: its queries (split when they fail), then their rows (paged, or
    read back from S3 when Lake delivered them)."""

    def __init__(self, runner: LakeRunner, *, settings: LakeSettings, endpoints: AwsEndpoints,
                 keys: PublicKeys | None = None) -> None:
        self.runner = runner
        self.settings = settings
        self.endpoints = endpoints
        self.keys = keys

    def __call__(self, window: Window, done: WindowRead) -> Iterator[RawItem]:
        for outcome in self.runner.outcomes(window):
            done.outcomes.append(outcome)
            if outcome.split:
                continue
            if not outcome.ok:
                raise failure(outcome)
            index = len(done.outcomes) - 1
            done.rows[index] = 0
            for raw in self.rows(outcome):
                done.rows[index] += 1
                yield raw

    def rows(self, outcome: QueryOutcome) -> Iterator[RawItem]:
        """A finished query's rows: from the export Lake saved to S3, else paged."""
        if self.settings.deliver_to:
            return delivered_rows(outcome, endpoints=self.endpoints, keys=self.keys)
        return self.runner.rows(outcome)


def ingest_lake(stores: list[Store], *, warehouse: Path | str, time_range: LakeRange | None = None,
                endpoints: AwsEndpoints | None = None, settings: LakeSettings | None = None,
                keys: PublicKeys | None = None,
                on_object: Callable[[ObjectResult], None] | None = None,
                on_listed: Callable[[int, int], None] | None = None,
                now: datetime | None = None) -> RunSummary:
    """Land the PatchCompliance items of CloudTrail Lake event data stores into the warehouse.

    Args:
        stores: event data stores (id or ARN) with an optional role to assume for each.
        time_range: the eventTime range and the span of one query (default: each store from
            its watermark minus 6 hours up to now, a day a query).
        endpoints: region and endpoint overrides of the CloudTrail, STS and S3 clients.
        settings: concurrency, polling, the run's timeout, price per GB, S3 delivery.
        keys: with delivery to S3, verify the exports' RSA signatures with these keys.
    Windows are queried concurrently and land as they finish, all in one run (one transaction).
    A window whose queries fail, or are cancelled at the timeout, is rejected (and queried
    again next run); the others land.
    """
    settings = settings or LakeSettings()
    endpoints = endpoints or AwsEndpoints()
    stores = checked(stores)
    now = now or datetime.now(UTC)
    plan = plan_lake(stores, time_range or LakeRange(), warehouse=warehouse, now=now)
    clients = {s.id: make_client(endpoints, role_arn=s.role_arn, max_attempts=settings.max_attempts)
               for s in stores}
    runner = LakeRunner(clients, settings)
    reader = QueryWindows(runner, settings=settings, endpoints=endpoints, keys=keys)
    source = LakeSource(plan, reader, settings=settings, stores=stores)
    runner.start_clock()
    try:
        return ingest(source, warehouse=warehouse, on_object=on_object, on_listed=on_listed, now=now)
    except BaseException:
        runner.cancel()
        raise
    finally:
        runner.stop_clock()


# The flow's way: plan, then one retryable task per window that spools its rows, then land.

@dataclass
class SpooledWindow:
    """A window as its task left it: its queries, and its rows kept in `path` (None: not read,
    `error` says why)."""

    window: Window
    outcomes: list[QueryOutcome] = field(default_factory=list)
    rows: dict[int, int] = field(default_factory=dict)
    path: Path | None = None
    error: str | None = None


def spool_window(window: Window, directory: Path, *, endpoints: AwsEndpoints | None = None,
                 settings: LakeSettings, keys: PublicKeys | None = None) -> SpooledWindow:
    """Query one window (splitting it if it fails) and keep its rows under `directory`.

    Raises TransientError when a query could not run or its rows could not be read for a
    reason that may pass (throttling, 5xx, connection trouble): retrying the window can help.
    A window whose query FAILED or TIMED_OUT for good, or that outlived `settings.timeout`
    (cancelled), comes back with `error` set: it is recorded as rejected and queried next run.
    """
    endpoints = endpoints or AwsEndpoints()
    client = make_client(endpoints, role_arn=window.store.role_arn, max_attempts=settings.max_attempts)
    runner = LakeRunner({window.store.id: client}, settings)
    reader = QueryWindows(runner, settings=settings, endpoints=endpoints, keys=keys)
    done = WindowRead()
    path = directory / f"{window_uri(window).removeprefix('lake://').replace('/', '_')}.jsonl.gz"
    runner.start_clock()
    try:
        spool.write_items(path, reader(window, done))
    except ObjectUnreadable as exc:
        transient = [o for o in done.outcomes if o.transient and not o.split]
        if transient or is_transient(exc.__cause__):
            raise TransientError(str(exc)) from exc
        return SpooledWindow(window, done.outcomes, done.rows, error=str(exc))
    finally:
        runner.stop_clock()
    return SpooledWindow(window, done.outcomes, done.rows, path=path)


def not_spooled(window: Window, error: str) -> SpooledWindow:
    """A window whose task gave up (its retries spent): recorded as rejected, queried next run."""
    return SpooledWindow(window, [QueryOutcome(window, None, "NOT_STARTED", error=error)], error=error)


def land_spooled(spooled: list[SpooledWindow], plan: LakePlan, *, stores: list[Store],
                 warehouse: Path | str, settings: LakeSettings,
                 on_object: Callable[[ObjectResult], None] | None = None) -> RunSummary:
    """Land spooled windows (in window order) in one run; see `LakeSource.record`."""
    by_uri = {window_uri(s.window): s for s in spooled}

    def read_window(window: Window, done: WindowRead) -> Iterator[RawItem]:
        one = by_uri.get(window_uri(window)) or not_spooled(window, "not queried by this run")
        done.outcomes.extend(one.outcomes)
        done.rows.update(one.rows)
        if one.path is None:
            raise ObjectUnreadable(one.error or f"Lake window {window}: not queried")
        return spool.read_items(one.path)

    source = LakeSource(plan, read_window, settings=settings, stores=checked(stores), concurrency=1)
    return ingest(source, warehouse=warehouse, on_object=on_object)


def checked(stores: list[Store]) -> list[Store]:
    return [Store(validate.event_data_store_id(s.id), s.role_arn) for s in stores]


def delivered_rows(outcome: QueryOutcome, *, endpoints: AwsEndpoints,
                   keys: PublicKeys | None = None) -> Iterator[RawItem]:
    """Read the export Lake saved to S3 for `outcome`, verified against its result_sign.json,
    with the S3 source's reader."""
    bucket, _, prefix = (outcome.delivery_uri or "").removeprefix("s3://").partition("/")
    client = s3.make_client(endpoints)
    members = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            name = key.rsplit("/", 1)[-1]
            if f"/{outcome.query_id}/" in key and (name == SIGN_FILE or LAKE_RESULT_FILE.match(name)):
                members.append(s3.Member(name, key, obj.get("ETag", "").strip('"'), int(obj.get("Size", 0))))
    if not members:
        raise ObjectUnreadable(f"Lake query {outcome.query_id}: no result files under "
                               f"{outcome.delivery_uri}; it will be read again next run")
    export_prefix = members[0].key.rsplit("/", 1)[0] + "/"
    fetched = s3.fetch_object(client, s3.export_object(bucket, export_prefix, members))
    try:
        for raw in s3.read_object(fetched, keys=keys):
            raw.source = SOURCE
            yield raw
    finally:
        fetched.close()


def _covered_until(lower: datetime, landed: list[Window]) -> datetime:
    """The end of the unbroken run of landed windows that starts at `lower`."""
    covered = lower
    for w in sorted(landed, key=lambda w: w.start):
        if w.start > covered:
            break
        covered = max(covered, w.end)
    return covered
