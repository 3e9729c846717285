"""CLI commands that publish the warehouse: publish duckdb|parquet|postgres."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from patchtrail import console
from patchtrail.cli.analytics import PolicyOption
from patchtrail.cli.common import (
    Warehouse,
    cli_errors,
    from_settings,
    publish_app,
    require_warehouse,
)

if TYPE_CHECKING:
    from patchtrail.publish.sla import SlaParameters


@publish_app.command("duckdb")
@cli_errors
def publish_duckdb(
    out: Annotated[Path | None, typer.Option(
        "--out", callback=from_settings("published_copy"), show_default=False,
        help="Where the read-only copy goes [default: <warehouse dir>/published/<warehouse stem>.duckdb].")] = None,
    warehouse: Warehouse = None,
) -> None:
    """Replace the read-only copy of the warehouse atomically (readers see old or new, never partial).

    Example: patchtrail publish duckdb --out /srv/bi/patchtrail.duckdb
    """
    from patchtrail.publish.copy import publish_copy

    require_warehouse(warehouse)
    copy = publish_copy(warehouse, out)
    console.stdout.print(f"published {copy.path} ({copy.size_bytes / 1e6:.1f} MB, up to load "
                         f"{copy.last_load_id}); open it with read_only=True", highlight=False)


@publish_app.command("parquet")
@cli_errors
def publish_parquet(
    out: Annotated[str, typer.Option("--out", help="Folder or s3://bucket/prefix for the Parquet lake.")],
    s3_endpoint_url: Annotated[str | None, typer.Option(callback=from_settings("s3_endpoint_url"),
                                                        help="S3 endpoint (e.g. moto).")] = None,
    region: Annotated[str | None, typer.Option(callback=from_settings("aws_region"),
                                               help="AWS region.")] = None,
    policy: PolicyOption = "internal",
    warehouse: Warehouse = None,
) -> None:
    """Export history, marts and SLA status as Hive-partitioned Parquet (only changed partitions).

    The SLA datasets are judged under --policy at the warehouse's latest capture time.

    Example: patchtrail publish parquet --out s3://analytics-bucket/patchtrail --policy pci-dss-4.0
    """
    from patchtrail.publish.parquet import publish_parquet as publish

    require_warehouse(warehouse)
    lake = publish(warehouse, out, policy=policy, s3_endpoint_url=s3_endpoint_url, region=region)
    console.stdout.print(f"{lake.root}: {len(lake.written)} partitions written, {lake.unchanged} "
                         f"unchanged, {len(lake.deleted)} deleted; rows {lake.rows}", highlight=False)
    _print_sla(lake.sla)


@publish_app.command("postgres")
@cli_errors
def publish_postgres(
    dsn: Annotated[str, typer.Option(envvar="PATCHTRAIL_POSTGRES_DSN", show_envvar=True,
                                     help="libpq connection string (better: the environment "
                                          "variable, or a ~/.pgpass entry, not the command line).")],
    schema: Annotated[str, typer.Option(help="Target schema, replaced atomically.")] = "patchtrail",
    policy: PolicyOption = "internal",
    warehouse: Warehouse = None,
) -> None:
    """Load the marts into a PostgreSQL schema; readers see the old marts or the new, never a mix.

    sla_status and sla_breaches are judged under --policy at the warehouse's latest capture time.

    Example: PATCHTRAIL_POSTGRES_DSN=postgresql://bi@db/patch patchtrail publish postgres --policy fedramp
    """
    from patchtrail.errors import PatchtrailError

    require_warehouse(warehouse)
    try:
        import psycopg  # noqa: F401

        from patchtrail.publish.postgres import publish_postgres as publish
    except ImportError:
        raise PatchtrailError("psycopg is not installed: pip install 'patchtrail[postgres]'") from None
    result = publish(warehouse, dsn, schema=schema, policy=policy)
    console.stdout.print(f"published schema {result.schema}: {result.rows}", highlight=False)
    _print_sla(result.sla)


def _print_sla(sla: SlaParameters | None) -> None:
    if sla is not None:
        as_of = sla.as_of.astimezone(UTC)
        console.stdout.print(f"SLA rows under policy {sla.policy.name} (thresholds sha256 "
                             f"{sla.thresholds_sha256[:12]}) as of {as_of:%Y-%m-%d %H:%M:%S} UTC",
                             highlight=False)

