"""CLI commands that read the warehouse: query, sql, report, export, status."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patchtrail import console
from patchtrail.cli.common import (
    DataFormat,
    Format,
    Limit,
    QueryFormat,
    ShowAll,
    TextFormat,
    Warehouse,
    app,
    cli_errors,
    open_existing,
    parse_time,
    require_warehouse,
    row_limit,
)
from patchtrail.exit_codes import ExitCode

Out = Annotated[Path | None, typer.Option(
    "--out", "-o", help="Write the result to this file instead of stdout (needed for parquet).")]


@app.command()
@cli_errors
def query(
    name: Annotated[str, typer.Argument(help="A seed query's file name, e.g. "
                                             "ssm-patch-compliance-distinct-ec2-instance-latest.")],
    instance: Annotated[str | None, typer.Option("--instance", help="Instance id (i-… or mi-…).")] = None,
    start: Annotated[str | None, typer.Option(help="Exclusive lower bound on eventTime (UTC; "
                                                   "2026-03-01, ...Z, +02:00, 7d, yesterday).")] = None,
    end: Annotated[str | None, typer.Option(help="Exclusive upper bound on eventTime (UTC).")] = None,
    fmt: DataFormat = QueryFormat.table,
    out: Out = None,
    limit: Limit = None,
    show_all: ShowAll = False,
    warehouse: Warehouse = None,
) -> None:
    """Run one of the five seed queries of the AWS walkthrough on the warehouse.

    CSV, JSON and Parquet are written by DuckDB, streamed; the table shows 100 rows unless
    --limit or --all says otherwise.
    Example: patchtrail query ssm-patch-compliance-selected-ec2-instance --instance i-0123456789abcdef0
    Example: patchtrail query ssm-patch-compliance-all-ec2-instances --format parquet --out all.parquet
    """
    import duckdb

    from patchtrail.errors import InvalidInput
    from patchtrail.output import reader_for, write_relation
    from patchtrail.queries import seed_query_statement

    text, params = seed_query_statement(name, instance_id=instance, start=parse_time(start, "--start"),
                                        end=parse_time(end, "--end"))
    require_warehouse(warehouse)
    with reader_for(warehouse, fmt, out) as (con, scratch):
        try:
            write_relation(con.sql(text, params=params), fmt=fmt, console=console.stdout, out=out,
                           limit=row_limit(fmt, limit, show_all), scratch=scratch)
        except duckdb.Error as exc:
            raise InvalidInput(f"{type(exc).__name__}: {exc}") from None
    _wrote(out, fmt)



@app.command()
@cli_errors
def report(
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")] = Path("report.html"),
    as_of: Annotated[str | None, typer.Option(help="Valid time (2026-03-31, ...Z, +02:00, 7d, "
                                                   "yesterday) [default: the data-as-of time, "
                                                   "the latest capture time].")] = None,
    policy: Annotated[str, typer.Option(help="SLA policy: a preset (pci-dss-4.0, fedramp, internal), "
                                             "a loaded policy, or a .toml/.yaml file.")] = "internal",
    period: Annotated[str, typer.Option(help="Compare with this long before --as-of, and report "
                                             "the patches remediated since (e.g. 7d, 30d).")] = "30d",
    target: Annotated[float, typer.Option(min=0, max=100, help="Compliance target (%) drawn on "
                                                               "the chart.")] = 95.0,
    stale_days: Annotated[int, typer.Option(min=1, help="Flag instances without a change for "
                                                        "this many days.")] = 31,
    warehouse: Warehouse = None,
) -> None:
    """Write a self-contained HTML compliance report: trends, change, SLA, waivers, remediation.

    One file, no scripts, nothing fetched; prints on A4.
    Example: patchtrail report --out report.html --as-of 2026-03-31 --policy fedramp --period 30d
    """
    from patchtrail import validate
    from patchtrail.publish.report import write_report

    span = validate.duration(period, parameter="--period")
    con = open_existing(warehouse)
    con.close()
    result = write_report(warehouse, out, as_of=parse_time(as_of, "--as-of"), policy=policy,
                          max_age_days=stale_days, period=span, target_pct=target)
    console.stdout.print(f"report written: {result.path.resolve()} "
                         f"(as of {result.as_of:%Y-%m-%d %H:%M} UTC)")



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
    fmt: DataFormat = QueryFormat.table,
    out: Out = None,
    limit: Limit = None,
    show_all: ShowAll = False,
    warehouse: Warehouse = None,
) -> None:
    """Run one SQL query of yours on the warehouse: it can read the warehouse and nothing else.

    The connection is read-only and locked (no other file, no network, no extension, no SET).

    CSV, JSON (one object per line) and Parquet are written by DuckDB, streamed; the table shows
    100 rows and says how many were left out, unless --limit or --all says otherwise.
    Example: patchtrail sql "select * from marts.instance_compliance_as_of('2026-03-31')"
    Example: patchtrail sql "select * from history.patch_state" --format parquet --out patches.parquet
    """
    from patchtrail.output import reader_for, write_relation
    from patchtrail.warehouse.readonly import analyst_statement, refused

    checked = analyst_statement(statement)  # one query, or nothing runs
    require_warehouse(warehouse)
    with reader_for(warehouse, fmt, out) as (con, scratch):
        with refused():
            write_relation(con.sql(checked.query), fmt=fmt, console=console.stdout, out=out,
                           limit=row_limit(fmt, limit, show_all), scratch=scratch)
    _wrote(out, fmt)



@app.command()
@cli_errors
def status(
    fmt: Format = TextFormat.table,
    fail_on_stale: Annotated[str | None, typer.Option(
        "--fail-on-stale", metavar="AGE",
        help="Exit 5 when the data-as-of time is older than AGE (e.g. 26h, 2d): a freshness "
             "check for cron or a flow.")] = None,
    warehouse: Warehouse = None,
) -> None:
    """Show what the warehouse holds: loads, items, history versions, the fleet now.

    "Now" is the data-as-of time: the latest capture time of any landed item. The fleet figures
    are marts.fleet_summary's (missing = marts.is_non_compliant), as the report counts them.
    Example: patchtrail status --warehouse patchtrail.duckdb
    Example: patchtrail status --fail-on-stale 26h --format json   (exit 5 when the data is older)
    """
    import re
    from datetime import UTC, datetime

    from patchtrail import validate
    from patchtrail.as_of import data_as_of
    from patchtrail.ingest import fleet_summary
    from patchtrail.warehouse.status import warehouse_status

    max_age = validate.duration(fail_on_stale, parameter="--fail-on-stale") if fail_on_stale else None
    con = open_existing(warehouse)
    try:
        facts = warehouse_status(con)
        fleet = fleet_summary(con)
        as_of = data_as_of(con)
        has_items = bool(facts.get("configuration items"))
    finally:
        con.close()
    age = datetime.now(UTC) - as_of
    record = {"warehouse": str(warehouse), "size_mb": round(warehouse.stat().st_size / 1e6, 1),
              "data_as_of": as_of if has_items else None,
              "data_age_hours": round(age.total_seconds() / 3600, 1) if has_items else None,
              **{re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_"): value
                 for key, value in facts.items()},
              **fleet}
    if fmt != "table":
        console.print_record(record, fmt=fmt)
    else:
        console.stdout.print(f"warehouse {warehouse} ({record['size_mb']} MB)")
        for key, value in facts.items():
            console.stdout.print(f"  {key:<30} {value}")
        shown = f"{as_of:%Y-%m-%d %H:%M:%S} UTC" if has_items else "- (nothing landed)"
        console.stdout.print(f"  {'data as of':<30} {shown}")
        console.print_fleet(fleet, title="fleet now (as of the data-as-of time)")
    if max_age is not None and (not has_items or age > max_age):
        console.warn(f"the data is older than {fail_on_stale}: data as of "
                     + (f"{as_of:%Y-%m-%d %H:%M:%S} UTC" if has_items else "never (nothing landed)"))
        raise typer.Exit(ExitCode.CHECK_FAILED)


def _wrote(out: Path | None, fmt: str) -> None:
    if out is not None:
        console.stderr.print(f"wrote {out} ({fmt}, {out.stat().st_size / 1e6:.1f} MB)")
