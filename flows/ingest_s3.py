"""Prefect flow `ingest-s3`: land AWS Config delivery files and Lake exports from an S3 prefix tree."""

from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact

from flows.retry import writer_task_options
from flows.summary import log_object, publish_read_only_copy, publish_run_summary
from flows.writer import single_writer
from patchtrail.config import settings
from patchtrail.ingest_s3 import by_account_region, ingest_s3
from patchtrail.run import RunSummary


@task(name="land-s3-objects", **writer_task_options())
def land_s3_objects(uri: str, warehouse: str, since: str | None, accounts: list[str] | None,
                    regions: list[str] | None, max_workers: int, endpoint_url: str | None,
                    region: str | None, public_key: str | None) -> RunSummary:
    """List new or changed objects (per account and region, concurrently), fetch, land, merge."""
    with single_writer():
        return ingest_s3(uri, warehouse=warehouse, since=date.fromisoformat(since) if since else None,
                         accounts=accounts, regions=regions, max_workers=max_workers,
                         endpoint_url=endpoint_url, region=region, public_key=public_key,
                         on_object=log_object(get_run_logger()))


@flow(name="ingest-s3", log_prints=True)
def ingest_s3_flow(uri: str, warehouse: str | None = None, since: str | None = None,
                   accounts: list[str] | None = None, regions: list[str] | None = None,
                   max_workers: int = 8, endpoint_url: str | None = None, region: str | None = None,
                   public_key: str | None = None, strict: bool = False) -> dict:
    """Land an organisation's AWS Config bucket (both layouts) incrementally.

    Args:
        uri: s3://bucket[/prefix] holding AWSLogs/ or <org-id>/AWSLogs/.
        since: only date folders from this day on (YYYY-MM-DD).
        accounts, regions: narrow the fan-out; max_workers bounds listings and downloads.
        public_key: path of a DER public key to verify Lake exports' RSA signatures too.
    """
    cfg = settings()
    warehouse = warehouse or str(cfg.warehouse)
    summary = land_s3_objects(uri, warehouse, since, accounts, regions, max_workers,
                              endpoint_url or cfg.s3_endpoint_url, region or cfg.aws_region, public_key)
    publish_run_summary(summary, key="ingest-s3-summary")
    rows = by_account_region(summary)
    create_table_artifact(rows or [{"account_id": "(nothing listed)"}], key="ingest-s3-by-account-region",
                          description="What was read per account and region")
    publish_read_only_copy(warehouse)
    if strict and summary.rejected_anything:
        raise RuntimeError(f"load {summary.load_id}: objects or records were rejected (strict mode)")
    return summary.as_dict()
