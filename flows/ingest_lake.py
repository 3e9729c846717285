"""Prefect flow `ingest-lake`: query CloudTrail Lake event data stores, land, publish a summary."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger, task

from flows.retry import writer_task_options
from flows.summary import log_object, publish_read_only_copy, publish_run_summary
from flows.writer import single_writer
from patchtrail import validate
from patchtrail.config import settings
from patchtrail.ingest_lake import ingest_lake
from patchtrail.run import RunSummary
from patchtrail.sources.lake import LakeSettings, Store


@task(name="query-and-land-lake", **writer_task_options())
def query_and_land(stores: list[dict], warehouse: str, start: str | None, end: str | None,
                   window: str, overlap: str, endpoint_url: str | None, region: str | None,
                   max_concurrency: int, deliver_to: str | None, timeout: float | None) -> RunSummary:
    """Run the windows' queries and land their rows in one warehouse transaction."""
    with single_writer():
        return ingest_lake(
            [Store(s["id"], s.get("role_arn")) for s in stores], warehouse=warehouse, start=start,
            end=end, window=validate.duration(window, parameter="window"),
            overlap=validate.duration(overlap, parameter="overlap"), endpoint_url=endpoint_url,
            region=region, now=datetime.now(UTC),
            settings=LakeSettings(max_concurrency=max_concurrency, deliver_to=deliver_to, timeout=timeout,
                                  price_per_gb=settings().lake_price_per_gb),
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
        timeout: seconds before running queries are cancelled and the run fails.
    Parameters left out take their value from patchtrail's settings (patchtrail.toml, PATCHTRAIL_*).
    """
    cfg = settings()
    warehouse = warehouse or str(cfg.warehouse)
    summary = query_and_land(
        stores, warehouse, start, end, window or cfg.lake_window,
        overlap or cfg.lake_overlap, endpoint_url or cfg.lake_endpoint_url, region or cfg.aws_region,
        max_concurrency or cfg.lake_max_concurrency, deliver_to, timeout)
    publish_run_summary(summary, key="ingest-lake-summary")
    publish_read_only_copy(warehouse)
    if strict and summary.rejected_anything:
        raise RuntimeError(f"load {summary.load_id}: windows or records were rejected (strict mode)")
    return summary.as_dict()
