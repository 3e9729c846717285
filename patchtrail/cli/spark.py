"""CLI commands for the Spark history build: spark export|build|package."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from patchtrail import console
from patchtrail.cli.analytics import PolicyOption
from patchtrail.cli.common import Warehouse, cli_errors, from_settings, require_warehouse

spark_app = typer.Typer(no_args_is_help=True,
                        help="Build history and the Parquet lake on Apache Spark (docs/spark.md).")


@spark_app.command("export")
@cli_errors
def spark_export(
    out: Annotated[str, typer.Option("--out", help="Folder or s3://bucket/prefix for the job's input.")],
    policy: PolicyOption = "internal",
    s3_endpoint_url: Annotated[str | None, typer.Option(callback=from_settings("s3_endpoint_url"),
                                                        help="S3 endpoint (e.g. moto).")] = None,
    warehouse: Warehouse = None,
) -> None:
    """Export landed items, waivers and the SLA policy as the Spark job's input (Parquet + JSON).

    Example: patchtrail spark export --out s3://analytics-bucket/patchtrail-export --policy fedramp
    """
    from patchtrail.aws import AwsEndpoints
    from patchtrail.publish.landing import export_landing

    require_warehouse(warehouse)
    result = export_landing(warehouse, out, policy=policy,
                            endpoints=AwsEndpoints.from_settings(s3_endpoint_url=s3_endpoint_url))
    console.stdout.print(f"{result.root}: {result.rows} ({len(result.files)} files)", highlight=False)


@spark_app.command("build")
@cli_errors
def spark_build(
    out: Annotated[str, typer.Option("--out", help="The lake: a folder or any Hadoop URI (s3a://...).")],
    export: Annotated[str | None, typer.Option(help="A `patchtrail spark export` folder.")] = None,
    items: Annotated[list[str] | None, typer.Option(help="Parquet of landing.configuration_items.")] = None,
    config_files: Annotated[list[str] | None, typer.Option(help="Config delivery files or folders.")] = None,
    lake_events: Annotated[list[str] | None, typer.Option(help="Lake event NDJSON files or folders.")] = None,
    lake_exports: Annotated[list[str] | None, typer.Option(help="Saved Lake results or folders.")] = None,
    policy: PolicyOption = "internal",
    master: Annotated[str, typer.Option(help="Spark master: local[*], yarn, spark://host:7077, k8s://...")] = "local[*]",
    submit: Annotated[bool, typer.Option("--submit/--in-process",
                                         help="Run through spark-submit (any master) or in this process.")] = False,
) -> None:
    """Build history, marts and the Parquet lake with Spark from landed items or AWS's own files.

    The SLA datasets use the export's policy, else --policy (a preset or a .toml/.yaml file).

    Example: patchtrail spark build --export spark-export --out lake --master 'local[*]'
    """
    job_args = ["--out", out]
    if export:
        job_args += ["--export", export]
    for flag, values in (("--items", items), ("--config-files", config_files),
                         ("--lake-events", lake_events), ("--lake-exports", lake_exports)):
        for value in values or []:
            job_args += [flag, value]
    with tempfile.TemporaryDirectory(prefix="patchtrail-spark-") as work:
        if not export or "://" in export or not (Path(export) / "sla_policy.json").exists():
            policy_file = Path(work) / "sla_policy.json"
            policy_file.write_text(json.dumps(_policy_json(policy)))
            job_args += ["--sla-policy", str(policy_file)]
        if submit:
            from patchtrail.spark.submit import submit as run_submit

            summary = run_submit(job_args, master=master, work=Path(work))
            console.stdout.print(json.dumps(summary, sort_keys=True), highlight=False)
        else:
            from patchtrail.spark.job import main

            main([*job_args, "--master", master])


@spark_app.command("package")
@cli_errors
def spark_package(
    out: Annotated[Path, typer.Option("--out", help="Where the zip and the entry script go.")] = Path("dist"),
) -> None:
    """Write the job for spark-submit on a cluster: patchtrail_spark.zip and patchtrail_spark_job.py.

    Example: patchtrail spark package --out dist && spark-submit --py-files dist/patchtrail_spark.zip dist/patchtrail_spark_job.py --help
    """
    from patchtrail.spark.submit import package_job

    package = package_job(out)
    console.stdout.print(" ".join(package.command("yarn", ["--export", "s3a://bucket/export",
                                                           "--out", "s3a://bucket/lake"])), highlight=False)


def _policy_json(policy: str) -> dict:
    """The policy as the job takes it, resolved as every other command resolves it."""
    from patchtrail.analytics.policy import resolve_policy
    from patchtrail.publish.sla import thresholds_sha256
    from patchtrail.warehouse import apply_schema, connect

    con = connect(":memory:")
    try:
        apply_schema(con)
        chosen = resolve_policy(con, policy)
    finally:
        con.close()
    return {"policy_name": chosen.name, "max_days": chosen.max_days, "severity_source": chosen.severity_source,
            "policy_thresholds_sha256": thresholds_sha256(chosen)}


def register(app: typer.Typer) -> None:
    """Add the `spark` command group to the `patchtrail` app."""
    app.add_typer(spark_app, name="spark")
