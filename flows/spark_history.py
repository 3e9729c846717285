"""Prefect flow `spark-history`: export the landed items, then build history and the Parquet lake
on Spark through spark-submit, on a configurable master (local[*] by default)."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from patchtrail.aws import AwsEndpoints
from patchtrail.publish.landing import export_landing
from patchtrail.settings import settings
from patchtrail.spark.submit import submit


@task(name="export-landing", cache_policy=NO_CACHE)
def export_items(warehouse: str, export_dir: str, policy: str) -> dict:
    """Write landing.configuration_items, the waivers and the SLA policy as the job's input."""
    result = export_landing(warehouse, export_dir, policy=policy,
                            endpoints=AwsEndpoints.from_settings())
    return {"root": result.root, "rows": result.rows}


@task(name="spark-build", cache_policy=NO_CACHE)
def spark_build(export_dir: str, lake_root: str, master: str, conf: dict[str, str], work: str) -> dict:
    """spark-submit the packaged job; its JSON summary (rows per dataset, files written, seconds)."""
    return submit(["--export", export_dir, "--out", lake_root], master=master, work=Path(work), conf=conf)


@flow(name="spark-history", log_prints=True)
def spark_history_flow(warehouse: str | None = None, export_dir: str = "spark-export",
                       lake_root: str = "lake-spark", master: str = "local[*]", policy: str = "internal",
                       export: bool = True, conf: dict[str, str] | None = None) -> dict:
    """Export the warehouse's items (unless `export` is false: the folder is fed otherwise), then
    build history, marts and the lake with Spark.

    Args:
        master: the Spark master spark-submit is given: local[*], yarn, spark://host:7077, k8s://...
        conf: extra `--conf key=value` settings for spark-submit (executors, memory, S3A).
    """
    warehouse = warehouse or str(settings().warehouse)
    result: dict = {}
    if export:
        result["export"] = export_items(warehouse, export_dir, policy)
    work = str(Path(export_dir.removeprefix("file://")).parent / ".patchtrail-spark") \
        if "://" not in export_dir else ".patchtrail-spark"
    result["spark"] = spark_build(export_dir, lake_root, master, conf or {}, work)
    rows = result["spark"].get("rows", {})
    create_markdown_artifact(key="spark-history-summary", markdown="\n".join([
        f"# Spark history build on `{master}`",
        f"Lake `{lake_root}`: {result['spark'].get('written')} files written, "
        f"{result['spark'].get('unchanged')} partitions unchanged, {result['spark'].get('seconds')} s.",
        "", "| dataset | rows |", "|---|---:|", *[f"| {k} | {v} |" for k, v in sorted(rows.items())]]))
    return result
