"""Prefect flows `rebuild-and-publish` and `backfill`: maintenance runs beside the scheduled ingests."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from patchtrail.flows.ingest_files import ingest_files_flow
from patchtrail.flows.ingest_lake import ingest_lake_flow
from patchtrail.flows.ingest_s3 import ingest_s3_flow
from patchtrail.flows.retry import retry_options
from patchtrail.flows.summary import publish_read_only_copy
from patchtrail.flows.writer import single_writer
from prefect import flow, task
from prefect.artifacts import create_link_artifact

from patchtrail.analytics.rebuild import rebuild
from patchtrail.aws import AwsEndpoints
from patchtrail.publish.parquet import publish_parquet
from patchtrail.publish.report import write_report
from patchtrail.settings import settings

BACKFILL_SOURCES = ("files", "lake", "s3")


@task(name="rebuild-warehouse", **retry_options())
def rebuild_warehouse(warehouse: str) -> dict:
    """Recompute staging, history and marts from landing (all or nothing)."""
    with single_writer():
        return asdict(rebuild(warehouse))


@task(name="publish-parquet-lake")
def publish_lake(warehouse: str, root: str, policy: str) -> dict:
    """Write the changed partitions of the Parquet lake; the SLA datasets answer `policy`."""
    lake = publish_parquet(warehouse, root, policy=policy, endpoints=AwsEndpoints.from_settings())
    return {"root": lake.root, "written": len(lake.written), "unchanged": lake.unchanged,
            "sla_policy": lake.sla.policy.name if lake.sla else None}


@task(name="write-report")
def report(warehouse: str, out: str, policy: str) -> str:
    path = str(write_report(warehouse, out, policy=policy).path.resolve())
    create_link_artifact(key="patchtrail-report", link=Path(path).as_uri(),
                         description="The HTML compliance report of this run")
    return path


@flow(name="rebuild-and-publish", log_prints=True)
def rebuild_and_publish_flow(warehouse: str | None = None, rebuild_history: bool = True,
                             parquet_root: str | None = "lake", report_path: str | None = "report.html",
                             policy: str = "internal") -> dict:
    """Optionally rebuild history from landing, then publish: read-only copy, Parquet lake, report.

    Args:
        parquet_root: folder or s3://bucket/prefix for the Parquet lake (None: skip).
        report_path: where the HTML report goes (None: skip).
    """
    warehouse = warehouse or str(settings().warehouse)
    result: dict = {}
    if rebuild_history:
        result["rebuild"] = rebuild_warehouse(warehouse)
    result["published_copy"] = publish_read_only_copy(warehouse)
    if parquet_root:
        result["parquet"] = publish_lake(warehouse, parquet_root, policy)
    if report_path:
        result["report"] = report(warehouse, report_path, policy)
    return result


@flow(name="backfill", log_prints=True)
def backfill_flow(source: str, start: str | None = None, end: str | None = None,
                  accounts: list[str] | None = None, paths: list[str] | None = None,
                  stores: list[dict] | None = None, uri: str | None = None,
                  warehouse: str | None = None) -> dict:
    """Load a past range once, through the same flows as the scheduled runs.

    Args:
        source: files (give `paths`), lake (give `stores`, `start`, `end`) or s3 (give `uri`;
            `start` becomes `since`, `accounts` narrows the accounts).
    Re-running a backfill is safe: what was landed before is recognised and skipped.
    """
    if source not in BACKFILL_SOURCES:
        raise ValueError(f"source {source!r}: choose one of {BACKFILL_SOURCES}")
    if source == "files":
        return ingest_files_flow(paths or [], warehouse=warehouse)
    if source == "lake":
        return ingest_lake_flow(stores or [], warehouse=warehouse, start=start, end=end)
    return ingest_s3_flow(uri or "", warehouse=warehouse, since=start[:10] if start else None,
                          accounts=accounts)
