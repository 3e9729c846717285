"""The `patchtrail` command line: a thin shell over the library (parse, call, print)."""

from __future__ import annotations

import functools
import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from patchtrail import console
from patchtrail.errors import PatchtrailError
from patchtrail.settings import DEFAULT_DEMO_DIR, DEFAULT_WAREHOUSE

app = typer.Typer(
    name="patchtrail", no_args_is_help=True, add_completion=False, rich_markup_mode=None,
    help="History of AWS Systems Manager patch compliance, kept in a DuckDB warehouse.",
)
ingest_app = typer.Typer(no_args_is_help=True, help="Land configuration items from a source.")
app.add_typer(ingest_app, name="ingest")

Warehouse = Annotated[Path, typer.Option(
    "--warehouse", "-w", envvar="PATCHTRAIL_WAREHOUSE",
    help="DuckDB warehouse file (created if missing).")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or warnings.")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log each step.")]


def _cli_errors(func):
    """Known errors become one line, a hint and exit code 1; unknown ones keep their traceback."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except PatchtrailError as exc:
            console.stderr.print(f"[red]Error:[/red] {exc}", highlight=False)
            if exc.hint:
                console.stderr.print(f"Hint: {exc.hint}", highlight=False)
            raise typer.Exit(1) from None
    return wrapper


@app.command()
@_cli_errors
def simulate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the files into.")],
    accounts: Annotated[int, typer.Option(min=1, max=50, help="AWS accounts.")] = 3,
    regions: Annotated[int, typer.Option(min=1, max=8, help="Regions per account.")] = 2,
    instances: Annotated[int, typer.Option(min=1, max=5000, help="Instances per account and region.")] = 12,
    days: Annotated[int, typer.Option(min=1, max=1100, help="Days of daily scans.")] = 120,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same files.")] = 7,
    start: Annotated[str, typer.Option(help="First simulated day (YYYY-MM-DD).")] = "2026-01-01",
    org_id: Annotated[str | None, typer.Option(help="Prefix Config keys with an organisation id.")] = None,
) -> None:
    """Write a synthetic fleet's patch compliance as AWS would deliver it.

    Example: patchtrail simulate --out demo-data --accounts 3 --days 120
    """
    from patchtrail.simulator import simulate_to_dir

    t0 = time.monotonic()
    result = simulate_to_dir(out, accounts=accounts, regions=regions, instances=instances, days=days,
                             seed=seed, start=_date(start), org_id=org_id)
    for key, value in result.as_dict().items():
        console.stdout.print(f"{key:<28} {value}", highlight=False)
    console.stderr.print(f"simulated in {time.monotonic() - t0:.1f} s -> {out}")


@ingest_app.command("files")
@_cli_errors
def ingest_files(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (walked).")],
    warehouse: Warehouse = DEFAULT_WAREHOUSE,
    strict: Annotated[bool, typer.Option(help="Exit 2 when anything was rejected.")] = False,
    dry_run: Annotated[bool, typer.Option(help="List what would be read; write nothing.")] = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Land AWS Config delivery files, Lake exports and Lake event NDJSON from disk.

    Files already landed (same path and SHA-256) are skipped.
    Example: patchtrail ingest files demo-data/ --warehouse patchtrail.duckdb
    """
    from patchtrail import ingest

    console.setup_logging(verbose=verbose, quiet=quiet)
    if dry_run:
        _print_listing(paths, warehouse)
        return
    with console.object_progress("landing", quiet=quiet) as (on_listed, on_object):
        summary = ingest.ingest_files(paths, warehouse=warehouse, on_listed=on_listed,
                                      on_object=on_object)
    console.print_run_summary(summary)
    if strict and summary.rejected_anything:
        raise typer.Exit(2)


@app.command()
@_cli_errors
def query(
    name: Annotated[str, typer.Argument(help="A seed query's file name, e.g. "
                                             "ssm-patch-compliance-distinct-ec2-instance-latest.")],
    instance: Annotated[str | None, typer.Option("--instance", help="Instance id (i-… or mi-…).")] = None,
    start: Annotated[str | None, typer.Option(help="Exclusive lower bound on eventTime (UTC).")] = None,
    end: Annotated[str | None, typer.Option(help="Exclusive upper bound on eventTime (UTC).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many rows.")] = None,
    warehouse: Warehouse = DEFAULT_WAREHOUSE,
) -> None:
    """Run one of the five seed queries of the AWS walkthrough on the warehouse.

    Example: patchtrail query ssm-patch-compliance-selected-ec2-instance --instance i-0123456789abcdef0
    """
    from patchtrail.queries import run_seed_query

    if fmt not in ("table", "csv", "json"):
        raise typer.BadParameter("choose table, csv or json", param_hint="--format")
    con = _open_existing(warehouse)
    try:
        columns, rows = run_seed_query(con, name, instance_id=instance, start=start, end=end, limit=limit)
    finally:
        con.close()
    console.print_rows(columns, rows, fmt=fmt)


@app.command()
@_cli_errors
def sql(
    statement: Annotated[str, typer.Argument(help="One SQL query (read-only).")],
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    warehouse: Warehouse = DEFAULT_WAREHOUSE,
) -> None:
    """Run your own SQL on the warehouse, opened read-only (nothing can be changed).

    Example: patchtrail sql "select * from marts.instance_compliance_as_of('2026-03-31')"
    """
    import duckdb

    from patchtrail.errors import InvalidInput

    if fmt not in ("table", "csv", "json"):
        raise typer.BadParameter("choose table, csv or json", param_hint="--format")
    con = _open_existing(warehouse)
    try:
        cursor = con.execute(statement)
        if cursor.description is None:
            raise InvalidInput("the statement returned no rows to show")
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    except duckdb.Error as exc:
        raise InvalidInput(f"{type(exc).__name__}: {exc}") from None
    finally:
        con.close()
    console.print_rows(columns, rows, fmt=fmt)


@app.command()
@_cli_errors
def status(warehouse: Warehouse = DEFAULT_WAREHOUSE) -> None:
    """Show what the warehouse holds: loads, items, history versions, the fleet now.

    Example: patchtrail status --warehouse patchtrail.duckdb
    """
    from patchtrail.ingest import fleet_summary
    from patchtrail.warehouse.status import warehouse_status

    con = _open_existing(warehouse)
    try:
        facts = warehouse_status(con)
        fleet = fleet_summary(con)
    finally:
        con.close()
    console.stdout.print(f"warehouse {warehouse} ({warehouse.stat().st_size / 1e6:.1f} MB)")
    for key, value in facts.items():
        console.stdout.print(f"  {key:<30} {value}", highlight=False)
    console.print_fleet(fleet)


@app.command()
@_cli_errors
def demo(
    data: Annotated[Path, typer.Option("--data", help="Folder for the simulated files.")] = DEFAULT_DEMO_DIR,
    warehouse: Warehouse = DEFAULT_WAREHOUSE,
    accounts: Annotated[int, typer.Option(min=1, max=50)] = 3,
    regions: Annotated[int, typer.Option(min=1, max=8)] = 2,
    instances: Annotated[int, typer.Option(min=1, max=5000)] = 12,
    days: Annotated[int, typer.Option(min=1, max=1100)] = 120,
    seed: int = 7,
    quiet: Quiet = False,
) -> None:
    """Simulate a fleet, ingest all its files, build history, and print a summary.

    Example: patchtrail demo   (then: patchtrail query ssm-patch-compliance-distinct-ec2-instance-latest)
    """
    from patchtrail import ingest
    from patchtrail.simulator import simulate_to_dir

    console.setup_logging(quiet=quiet)
    t0 = time.monotonic()
    console.stderr.print(f"[bold]1/3 simulate[/bold] {accounts} accounts x {regions} regions x "
                         f"{instances} instances, {days} days -> {data}")
    sim = simulate_to_dir(data, accounts=accounts, regions=regions, instances=instances, days=days,
                          seed=seed)
    console.stderr.print(f"    {sim.patch_items} PatchCompliance items "
                         f"in three formats ({time.monotonic() - t0:.1f} s)")
    console.stderr.print(f"[bold]2/3 ingest + build history[/bold] -> {warehouse}")
    with console.object_progress("landing", quiet=quiet) as (on_listed, on_object):
        summary = ingest.ingest_files([data], warehouse=warehouse, on_listed=on_listed,
                                      on_object=on_object)
    console.stderr.print("[bold]3/3 summary[/bold]")
    console.print_run_summary(summary)
    console.stdout.print(f"demo finished in {time.monotonic() - t0:.1f} s. Try:\n"  # noqa: S608 (text shown to the user)
                         f"  patchtrail status --warehouse {warehouse}\n"
                         f"  patchtrail query ssm-patch-compliance-distinct-ec2-instance-latest "
                         f"--warehouse {warehouse} --limit 10\n"
                         f"  patchtrail sql \"select * from marts.instance_compliance_as_of('2026-03-31')\" "
                         f"--warehouse {warehouse}", highlight=False)


def _open_existing(warehouse: Path):
    from patchtrail.errors import InvalidInput
    from patchtrail.warehouse import connect

    if not warehouse.exists():
        raise InvalidInput(f"{warehouse}: no warehouse here (run `patchtrail demo` or "
                           "`patchtrail ingest files` first, or pass --warehouse)")
    return connect(warehouse, read_only=True)


def _print_listing(paths: list[Path], warehouse: Path) -> None:
    from patchtrail.sources import files
    from patchtrail.warehouse.land import recorded_objects

    listing = files.list_objects(paths)
    seen: set[tuple[str, str]] = set()
    if warehouse.exists():
        con = _open_existing(warehouse)
        try:
            seen = recorded_objects(con, files.SOURCE)
        finally:
            con.close()
    for obj in listing.objects:
        state = "error: " + obj.error if obj.error else (
            "unchanged" if (obj.uri, obj.sha256) in seen else "new")
        console.stdout.print(f"{obj.format:<16} {state:<10} {obj.uri}", highlight=False)
    console.stdout.print(f"{len(listing.objects)} objects, {len(listing.ignored)} unrelated files ignored")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not YYYY-MM-DD", param_hint="--start") from None


if __name__ == "__main__":
    app()
