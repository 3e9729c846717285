"""Prefect flow `ingest-files`: land local AWS Config / CloudTrail Lake files, publish a summary."""

from __future__ import annotations

from pathlib import Path

from patchtrail.flows.retry import retry_options
from patchtrail.flows.summary import finish_flow, log_object, publish_run_summary
from patchtrail.flows.writer import single_writer
from prefect import flow, get_run_logger, task

from patchtrail.ingest.files import ingest_files
from patchtrail.run import RunSummary
from patchtrail.settings import settings


@task(name="land-files", **retry_options())
def land_files(paths: list[str], warehouse: str) -> RunSummary:
    """List, land and merge the files in one warehouse transaction (all or nothing)."""
    with single_writer():
        return ingest_files(paths, warehouse=warehouse, on_object=log_object(get_run_logger()))


@flow(name="ingest-files", log_prints=True)
def ingest_files_flow(paths: list[str], warehouse: str | None = None,
                      strict: bool = False) -> dict:
    """Land local files (Config delivery, Lake exports, Lake event NDJSON) into the warehouse.

    Args:
        paths: files or folders to read; folders are walked.
        warehouse: the DuckDB warehouse file (default: the `warehouse` setting).
        strict: fail the run when anything was rejected (it is still landed and recorded).
    """
    warehouse = warehouse or str(settings().warehouse)
    summary = land_files([str(Path(p)) for p in paths], warehouse)
    publish_run_summary(summary, key="ingest-files-summary")
    return finish_flow(summary, warehouse, strict=strict, asked="under " + ", ".join(paths))


if __name__ == "__main__":
    ingest_files_flow(["demo-data"])
