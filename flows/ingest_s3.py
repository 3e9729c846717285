"""Prefect flow `ingest-s3`: land AWS Config delivery files and Lake exports from an S3 prefix tree.

Task graph: `list-s3` (narrowed listing; which objects are new), one `fetch-s3-objects` task per
account and region (retried alone on throttling, 5xx or connection trouble; the objects are
spooled on local disk), then `land-s3-objects` (one warehouse transaction). Only the landing task
holds the global writer limit.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

from patchtrail.flows.fanout import fan_out
from patchtrail.flows.retry import retry_options
from patchtrail.flows.summary import finish_flow, log_object, publish_run_summary
from patchtrail.flows.writer import single_writer
from prefect import flow, get_run_logger, runtime, task
from prefect.artifacts import create_table_artifact

from patchtrail import spool
from patchtrail.aws import AwsEndpoints
from patchtrail.ingest.s3 import (
    by_account_region,
    land_spooled,
    list_s3,
    new_s3_objects,
    run_parameters,
)
from patchtrail.run import RunSummary
from patchtrail.settings import settings
from patchtrail.sources import s3
from patchtrail.sources.sign_file import PublicKeys


def _client(endpoints: AwsEndpoints, max_workers: int):
    return s3.make_client(endpoints, max_workers=max_workers, max_attempts=settings().aws_max_attempts)


@task(name="list-s3", **retry_options())
def list_bucket(uri: str, warehouse: str, since: str | None, accounts: list[str] | None,
                regions: list[str] | None, max_workers: int,
                endpoints: AwsEndpoints) -> tuple[s3.Listing, list[s3.S3Object]]:
    """The listing (per account and region, concurrently) and which of its objects are new."""
    listing = list_s3(uri, client=_client(endpoints, max_workers),
                      since=date.fromisoformat(since) if since else None, accounts=accounts,
                      regions=regions, max_workers=max_workers)
    with single_writer():
        return listing, new_s3_objects(listing, warehouse)


@task(name="fetch-s3-objects", task_run_name="fetch {account_id}/{aws_region}", **retry_options())
def fetch_group(account_id: str, aws_region: str, objects: list[s3.S3Object], directory: str,
                max_workers: int, endpoints: AwsEndpoints) -> list[s3.SpooledObject]:
    """Download one account and region's new objects into `directory`."""
    return s3.spool_objects(_client(endpoints, max_workers), objects, Path(directory),
                            max_workers=max_workers)


@task(name="land-s3-objects", **retry_options())
def land_objects(listing: s3.Listing, spooled: list[s3.SpooledObject], warehouse: str,
                 parameters: dict, public_key: str | None) -> RunSummary:
    """Land the spooled objects (skipping what was read before) in one transaction."""
    with single_writer():
        return land_spooled(listing, spooled, warehouse=warehouse, parameters=parameters,
                            keys=PublicKeys.from_file(public_key) if public_key else None,
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
        accounts, regions: narrow the fan-out; max_workers bounds listings and downloads (per
            fetch task; up to 4 account/region fetch tasks run at once).
        public_key: a file of public keys (`aws cloudtrail list-public-keys` JSON, or one DER/PEM
            key) to verify Lake exports' RSA signatures too.
    An account and region whose objects still cannot be fetched after the retries has them
    recorded as rejected (without their ETag, so the next run reads them again); the rest land.
    """
    cfg = settings()
    warehouse = warehouse or str(cfg.warehouse)
    endpoints = AwsEndpoints.from_settings(region=region, s3_endpoint_url=endpoint_url)
    listing, new = list_bucket(uri, warehouse, since, accounts, regions, max_workers, endpoints)
    groups: dict[tuple[str, str], list[s3.S3Object]] = defaultdict(list)
    for obj in new:
        groups[(obj.account_id or "-", obj.aws_region or "all-regions")].append(obj)
    with spool.spooled(warehouse, str(runtime.flow_run.id or "local")) as directory:
        spooled = fan_out(fetch_group, [
            {"account_id": account, "aws_region": aws_region, "objects": objects,
             "directory": str(directory), "max_workers": max_workers, "endpoints": endpoints}
            for (account, aws_region), objects in sorted(groups.items())],
            limit=FETCH_TASKS_AT_ONCE,
            on_failure=lambda piece, exc: [s3.SpooledObject.failed(o, f"{o.uri}: gave up: {exc}")
                                           for o in piece["objects"]])
        parameters = run_parameters(uri, endpoints=endpoints, since=since, accounts=accounts,
                                    regions=regions, max_workers=max_workers,
                                    verify_signature=public_key is not None)
        summary = land_objects(listing, [one for group in spooled for one in group], warehouse,
                               parameters, public_key)
    publish_run_summary(summary, key="ingest-s3-summary")
    rows = by_account_region(summary)
    create_table_artifact(rows or [{"account_id": "(nothing listed)"}], key="ingest-s3-by-account-region",
                          description="What was read per account and region")
    return finish_flow(summary, warehouse, strict=strict, asked=f"under {uri}")


#: Account/region fetch tasks at once (each downloads with up to `max_workers` threads).
FETCH_TASKS_AT_ONCE = 4
