"""CLI commands that read the warehouse: query, sql, report, export, status."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patchtrail import console
from patchtrail.cli.common import (
    Warehouse,
    app,
    cli_errors,
    open_existing,
    require_warehouse,
)


@app.command()
@cli_errors
def query(
    name: Annotated[str, typer.Argument(help="A seed query's file name, e.g. "
                                             "ssm-patch-compliance-distinct-ec2-instance-latest.")],
    instance: Annotated[str | None, typer.Option("--instance", help="Instance id (i-… or mi-…).")] = None,
    start: Annotated[str | None, typer.Option(help="Exclusive lower bound on eventTime (UTC).")] = None,
    end: Annotated[str | None, typer.Option(help="Exclusive upper bound on eventTime (UTC).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many rows.")] = None,
    warehouse: Warehouse = None,
) -> None:
    """Run one of the five seed queries of the AWS walkthrough on the warehouse.

    Example: patchtrail query ssm-patch-compliance-selected-ec2-instance --instance i-0123456789abcdef0
    """
    from patchtrail.queries import run_seed_query

    if fmt not in ("table", "csv", "json"):
        raise typer.BadParameter("choose table, csv or json", param_hint="--format")
    con = open_existing(warehouse)
    try:
        columns, rows = run_seed_query(con, name, instance_id=instance, start=start, end=end, limit=limit)
    finally:
        con.close()
    console.print_rows(columns, rows, fmt=fmt)



@app.command()
@cli_errors
def report(
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")] = Path("report.html"),
    as_of: Annotated[str | None, typer.Option(help="Valid time (UTC) [default: the latest item].")] = None,
    policy: Annotated[str, typer.Option(help="SLA policy: a preset (pci-dss-4.0, fedramp, internal) "
                                             "or a loaded policy.")] = "internal",
    stale_days: Annotated[int, typer.Option(min=1, help="Flag instances without a change for "
                                                        "this many days.")] = 31,
    warehouse: Warehouse = None,
) -> None:
    """Write a self-contained HTML compliance report (chart, tables, SLA breaches, staleness).

    Example: patchtrail report --out report.html --as-of 2026-03-31 --policy fedramp
    """
    from patchtrail.publish.report import write_report

    con = open_existing(warehouse)
    con.close()
    result = write_report(warehouse, out, as_of=as_of, policy=policy, max_age_days=stale_days)
    console.stdout.print(f"report written: {result.path.resolve()} (as of {result.as_of:%Y-%m-%d %H:%M} UTC)",
                         highlight=False)



@app.command()
@cli_errors
def export(
    name: Annotated[str, typer.Argument(help="A seed query name or a table such as "
                                             "marts.current_patch_state.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write: .csv or .xlsx.")],
    instance: Annotated[str | None, typer.Option("--instance", help="For the selected-instance queries.")] = None,
    start: Annotated[str | None, typer.Option(help="For the time-range queries (UTC).")] = None,
    end: Annotated[str | None, typer.Option(help="For the time-range queries (UTC).")] = None,
    warehouse: Warehouse = None,
) -> None:
    """Export a mart or a seed query to CSV or Excel (.xlsx), replacing the file atomically.

    CSV text cells that a spreadsheet would run as a formula (=, +, -, @, tab, CR, ') get one
    leading ' (remove it to get the value back).
    Example: patchtrail export marts.current_patch_state --out patches.xlsx
    """
    from patchtrail.publish.exports import export as export_file

    require_warehouse(warehouse)
    result = export_file(warehouse, name, out, instance_id=instance, start=start, end=end)
    console.stdout.print(f"{out}: {result.rows} rows", highlight=False)



@app.command()
@cli_errors
def sql(
    statement: Annotated[str, typer.Argument(help="One SQL query (read-only).")],
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    warehouse: Warehouse = None,
) -> None:
    """Run one SQL query of yours on the warehouse: it can read the warehouse and nothing else.

    The connection is read-only and locked (no other file, no network, no extension, no SET).

    Example: patchtrail sql "select * from marts.instance_compliance_as_of('2026-03-31')"
    """
    from patchtrail.warehouse.readonly import analyst_statement, run_analyst_query

    if fmt not in ("table", "csv", "json"):
        raise typer.BadParameter("choose table, csv or json", param_hint="--format")
    checked = analyst_statement(statement)  # one query, or nothing runs
    con = open_existing(warehouse)
    try:
        columns, rows = run_analyst_query(con, checked)
    finally:
        con.close()
    console.print_rows(columns, rows, fmt=fmt)



@app.command()
@cli_errors
def status(warehouse: Warehouse = None) -> None:
    """Show what the warehouse holds: loads, items, history versions, the fleet now.

    Example: patchtrail status --warehouse patchtrail.duckdb
    """
    from patchtrail.ingest import fleet_summary
    from patchtrail.warehouse.status import warehouse_status

    con = open_existing(warehouse)
    try:
        facts = warehouse_status(con)
        fleet = fleet_summary(con)
    finally:
        con.close()
    console.stdout.print(f"warehouse {warehouse} ({warehouse.stat().st_size / 1e6:.1f} MB)")
    for key, value in facts.items():
        console.stdout.print(f"  {key:<30} {value}", highlight=False)
    console.print_fleet(fleet)

