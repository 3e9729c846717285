"""Prefect flow `ingest-lake`: query CloudTrail Lake event data stores, land, publish a summary.

Task graph: `plan-lake-windows` (watermarks -> windows), one `query-lake-window` task per store
and window (retried alone on throttling, 5xx or connection trouble; its rows are spooled on local
disk), then `land-lake-results` (one warehouse transaction; a retry reuses the spooled rows rather
than paying for the scans again). The warehouse is written only by the plan and land tasks, under
the global writer limit; queries run without holding it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from patchtrail.flows.fanout import fan_out
from patchtrail.flows.retry import retry_options
from patchtrail.flows.summary import finish_flow, log_object, publish_run_summary
from patchtrail.flows.writer import single_writer
from prefect import flow, get_run_logger, runtime, task

from patchtrail import spool, validate
from patchtrail.aws import AwsEndpoints
from patchtrail.ingest.lake import (
    LakePlan,
    LakeRange,
    SpooledWindow,
    land_spooled,
    not_spooled,
    plan_lake,
    spool_window,
)
from patchtrail.run import RunSummary
from patchtrail.settings import settings
from patchtrail.sources.lake import LakeSettings, Store, Window, make_client


@task(name="plan-lake-windows", **retry_options())
def plan_lake_windows(stores: list[Store], warehouse: str, start: str | None, end: str | None,
                      window: str, overlap: str, endpoints: AwsEndpoints) -> LakePlan:
    """Each store's range (from --start or its watermark) cut into windows; checks credentials
    and assumes each store's role once, so a wrong role fails the run before any query."""
    for store in stores:
        make_client(endpoints, role_arn=store.role_arn, max_attempts=1)
    time_range = LakeRange(start, end, window=validate.duration(window, parameter="window"),
                           overlap=validate.duration(overlap, parameter="overlap"))
    with single_writer():
        return plan_lake(stores, time_range, warehouse=warehouse, now=datetime.now(UTC))


@task(name="query-lake-window", task_run_name="query {window}", **retry_options())
def query_window(window: Window, directory: str, endpoints: AwsEndpoints,
                 lake: LakeSettings) -> SpooledWindow:
    """Run one window's query (split if it fails) and spool its rows under `directory`."""
    return spool_window(window, Path(directory), endpoints=endpoints, settings=lake)


@task(name="land-lake-results", **retry_options())
def land_results(spooled: list[SpooledWindow], plan: LakePlan, stores: list[Store], warehouse: str,
                 lake: LakeSettings) -> RunSummary:
    """Land every spooled window and record every query in one transaction; move watermarks."""
    with single_writer():
        return land_spooled(spooled, plan, stores=stores, warehouse=warehouse, settings=lake,
                            on_object=log_object(get_run_logger()))


@flow(name="ingest-lake", log_prints=True)
def ingest_lake_flow(stores: list[dict], warehouse: str | None = None, start: str | None = None,
                     end: str | None = None, window: str | None = None, overlap: str | None = None,
                     endpoint_url: str | None = None, region: str | None = None,
                     max_concurrency: int | None = None, deliver_to: str | None = None,
                     timeout: float | None = 3000, strict: bool = False) -> dict:
    """Land CloudTrail Lake PatchCompliance items; each store resumes from its watermark.

    Args:
        stores: [{"id": "<event data store id or ARN>", "role_arn": "<optional role>"}, ...].
        start, end: eventTime range (ISO-8601 UTC); start is needed only for a store's first run.
        window, overlap: query span and re-read margin, e.g. "1d", "6h".
        max_concurrency: windows queried at once (CloudTrail Lake runs at most 10 queries).
        timeout: seconds one window's queries may run before they are cancelled; that window is
            then recorded as CANCELLED (not retried in this run) and queried again next run.
    Parameters left out take their value from patchtrail's settings (patchtrail.toml, PATCHTRAIL_*).
    A window that still fails after its retries is recorded as rejected (with the error) and
    holds its store's watermark, so the next run queries it again; the other windows land.
    """
    cfg = settings()
    warehouse = warehouse or str(cfg.warehouse)
    endpoints = AwsEndpoints.from_settings(region=region, lake_endpoint_url=endpoint_url)
    checked = [Store(validate.event_data_store_id(s["id"]), s.get("role_arn")) for s in stores]
    lake = LakeSettings(max_concurrency=max_concurrency or cfg.lake_max_concurrency, deliver_to=deliver_to,
                        timeout=timeout, price_per_gb=cfg.lake_price_per_gb,
                        max_attempts=cfg.aws_max_attempts)
    plan = plan_lake_windows(checked, warehouse, start, end, window or cfg.lake_window,
                             overlap or cfg.lake_overlap, endpoints)
    with spool.spooled(warehouse, str(runtime.flow_run.id or "local")) as directory:
        spooled = fan_out(query_window, [
            {"window": w, "directory": str(directory), "endpoints": endpoints, "lake": lake}
            for w in plan.windows],
            limit=lake.max_concurrency,
            on_failure=lambda piece, exc: not_spooled(piece["window"], f"gave up: {exc}"))
        summary = land_results(spooled, plan, checked, warehouse, lake)
    publish_run_summary(summary, key="ingest-lake-summary")
    return finish_flow(summary, warehouse, strict=strict, asked="in " + ", ".join(s.id for s in checked))
