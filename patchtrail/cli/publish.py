"""CLI commands that publish the warehouse: publish duckdb|parquet|postgres."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from patchtrail import console
from patchtrail.cli.analytics import PolicyOption
from patchtrail.cli.common import (
    Format,
    TextFormat,
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
    fmt: Format = TextFormat.table,
    warehouse: Warehouse = None,
) -> None:
    """Replace the read-only copy of the warehouse atomically (readers see old or new, never partial).

    Example: patchtrail publish duckdb --out /srv/bi/patchtrail.duckdb
    """
    from patchtrail.publish.copy import publish_copy

    require_warehouse(warehouse)
    copy = publish_copy(warehouse, out)
    console.print_record({"published": str(copy.path), "size_mb": round(copy.size_bytes / 1e6, 1),
                          "last_load_id": copy.last_load_id}, fmt=fmt,
                         title="read-only copy (open it with read_only=True)")


@publish_app.command("parquet")
@cli_errors
def publish_parquet(
    out: Annotated[str, typer.Option("--out", help="Folder or s3://bucket/prefix for the Parquet lake.")],
    s3_endpoint_url: Annotated[str | None, typer.Option(callback=from_settings("s3_endpoint_url"),
                                                        help="S3 endpoint (e.g. moto).")] = None,
    region: Annotated[str | None, typer.Option(callback=from_settings("aws_region"),
                                               help="AWS region.")] = None,
    policy: PolicyOption = "internal",
    fmt: Format = TextFormat.table,
    warehouse: Warehouse = None,
) -> None:
    """Export history, marts and SLA status as Hive-partitioned Parquet (only changed partitions).

    The SLA datasets are judged under --policy at the warehouse's latest capture time.

    Example: patchtrail publish parquet --out s3://analytics-bucket/patchtrail --policy pci-dss-4.0
    """
    from patchtrail.aws import AwsEndpoints
    from patchtrail.publish.parquet import publish_parquet as publish

    require_warehouse(warehouse)
    lake = publish(warehouse, out, policy=policy,
                   endpoints=AwsEndpoints(region=region, s3_endpoint_url=s3_endpoint_url))
    _print_publication(f"Parquet lake {lake.root}: {len(lake.written)} partitions written, "
                       f"{lake.unchanged} unchanged, {len(lake.deleted)} deleted",
                       lake.rows, lake.sla, fmt=fmt,
                       extra={"root": str(lake.root), "partitions_written": len(lake.written),
                              "partitions_unchanged": lake.unchanged,
                              "partitions_deleted": len(lake.deleted)})


@publish_app.command("postgres")
@cli_errors
def publish_postgres(
    dsn: Annotated[str, typer.Option(envvar="PATCHTRAIL_POSTGRES_DSN", show_envvar=True,
                                     help="libpq connection string (better: the environment "
                                          "variable, or a ~/.pgpass entry, not the command line).")],
    schema: Annotated[str, typer.Option(help="Target schema, replaced atomically.")] = "patchtrail",
    policy: PolicyOption = "internal",
    fmt: Format = TextFormat.table,
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
        raise PatchtrailError("psycopg is not installed: pip install -e '.[postgres]' (or "
                              "pip install 'patchtrail[postgres]')") from None
    try:
        result = publish(warehouse, dsn, schema=schema, policy=policy)
    except psycopg.OperationalError as exc:
        error = PatchtrailError(f"PostgreSQL at {_where(dsn)} is not reachable: "
                                f"{str(exc).strip().splitlines()[-1]}")
        error.hint = ("check the server is running and PATCHTRAIL_POSTGRES_DSN (host, port, "
                      "dbname, user; the password in ~/.pgpass or PGPASSWORD)")
        raise error from None
    _print_publication(f"PostgreSQL schema {result.schema}", result.rows, result.sla, fmt=fmt,
                       extra={"schema": result.schema})


def _print_publication(title: str, rows: dict[str, int], sla: SlaParameters | None, *, fmt: str,
                       extra: dict) -> None:
    """What was published: rows per table as a table (or one CSV/JSON record), and the SLA basis."""
    basis = {}
    if sla is not None:
        basis = {"sla_policy": sla.policy.name, "sla_thresholds_sha256": sla.thresholds_sha256,
                 "sla_as_of": sla.as_of.astimezone(UTC)}
    if fmt != "table":
        console.print_record({**extra, **{f"rows_{k}": v for k, v in rows.items()}, **basis},
                             fmt=fmt)
        return
    console.print_rows(["table", "rows"], sorted(rows.items()), fmt="table", title=title,
                       noun="table")
    if sla is not None:
        console.stdout.print(f"SLA rows under policy {sla.policy.name} (thresholds sha256 "
                             f"{sla.thresholds_sha256[:12]}) as of "
                             f"{basis['sla_as_of']:%Y-%m-%d %H:%M:%S} UTC (the data-as-of time)")


def _where(dsn: str) -> str:
    """host:port/dbname of a DSN, never its password."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        parts = conninfo_to_dict(dsn)
    except Exception:  # a DSN psycopg cannot parse: say nothing of it
        return "the given DSN"
    host = parts.get("host") or "localhost"
    return f"{host}:{parts.get('port') or 5432}/{parts.get('dbname') or ''}".rstrip("/")

