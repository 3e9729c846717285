"""The `patchtrail` command line: a thin shell over the library (parse, call, print)."""

from __future__ import annotations

import functools
import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from patchtrail import console
from patchtrail.config import settings
from patchtrail.errors import PatchtrailError

app = typer.Typer(
    name="patchtrail", no_args_is_help=True, add_completion=False, rich_markup_mode=None,
    help="History of AWS Systems Manager patch compliance, kept in a DuckDB warehouse.",
)
ingest_app = typer.Typer(no_args_is_help=True, help="Land configuration items from a source.")
app.add_typer(ingest_app, name="ingest")
publish_app = typer.Typer(no_args_is_help=True, help="Publish the warehouse for readers and BI tools.")
app.add_typer(publish_app, name="publish")

def _from_settings(name: str):
    """An option callback: when the option is not given, use the setting (toml/env/default)."""
    return lambda value: getattr(settings(), name) if value is None else value


Warehouse = Annotated[Path | None, typer.Option(
    "--warehouse", "-w", callback=_from_settings("warehouse"), show_default=False,
    help="DuckDB warehouse file, created if missing [default: patchtrail.duckdb, or "
         "PATCHTRAIL_WAREHOUSE / patchtrail.toml].")]
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
    warehouse: Warehouse = None,
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
    _after_run(warehouse)
    if strict and summary.rejected_anything:
        raise typer.Exit(2)


@ingest_app.command("lake")
@_cli_errors
def ingest_lake(
    event_data_store: Annotated[list[str], typer.Option(
        "--event-data-store", "-s", help="Event data store id or ARN (repeat for several).")],
    start: Annotated[str | None, typer.Option(help="eventTime from (UTC). Default: each store's "
                                              "watermark minus --overlap; required the first time.")] = None,
    end: Annotated[str | None, typer.Option(help="eventTime up to, exclusive (UTC). Default: now.")] = None,
    window: Annotated[str | None, typer.Option(callback=_from_settings("lake_window"),
                                               help="eventTime span of one query (s, m, h, d) "
                                                    "[default: 1d].")] = None,
    overlap: Annotated[str | None, typer.Option(callback=_from_settings("lake_overlap"),
                                                help="Re-read this much before the watermark "
                                                     "[default: 6h].")] = None,
    endpoint_url: Annotated[str | None, typer.Option(callback=_from_settings("lake_endpoint_url"),
                                                     help="CloudTrail endpoint (e.g. a local one).")] = None,
    region: Annotated[str | None, typer.Option(callback=_from_settings("aws_region"),
                                               help="AWS region [default: the SDK's].")] = None,
    role_arn: Annotated[list[str] | None, typer.Option(
        help="Role to assume: once for all stores, or once per --event-data-store, in order.")] = None,
    max_concurrency: Annotated[int | None, typer.Option(
        min=1, max=9, callback=_from_settings("lake_max_concurrency"),
        help="Queries at once; Lake allows 10 [default: 4].")] = None,
    deliver_to: Annotated[str | None, typer.Option(
        help="s3://bucket/prefix: Lake saves results there and they are read from there.")] = None,
    s3_endpoint_url: Annotated[str | None, typer.Option(callback=_from_settings("s3_endpoint_url"),
                                                        help="S3 endpoint for --deliver-to.")] = None,
    timeout: Annotated[float | None, typer.Option(callback=_from_settings("lake_timeout_seconds"),
                                                  help="Cancel running queries after this many seconds.")] = None,
    poll: Annotated[float, typer.Option(help="First DescribeQuery wait, seconds (doubles to 15).")] = 1.0,
    warehouse: Warehouse = None,
    strict: Annotated[bool, typer.Option(help="Exit 2 when anything was rejected.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Show the windows and the SQL; send nothing.")] = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Land PatchCompliance items from CloudTrail Lake event data stores (one query per window).

    Example: patchtrail ingest lake -s 0a1b2c3d-4e5f-6789-abcd-ef0123456789 --start 2026-03-01
    """
    from datetime import UTC, datetime

    from patchtrail import ingest_lake as lake_ingest
    from patchtrail import validate
    from patchtrail.sources.lake import LakeSettings, Store

    console.setup_logging(verbose=verbose, quiet=quiet)
    roles = role_arn or []
    if len(roles) not in (0, 1, len(event_data_store)):
        raise typer.BadParameter("give one --role-arn, or one per --event-data-store", param_hint="--role-arn")
    stores = [Store(s, roles[0] if len(roles) == 1 else (roles[i] if roles else None))
              for i, s in enumerate(event_data_store)]
    span, back = validate.duration(window, parameter="--window"), validate.duration(overlap, parameter="--overlap")
    lake_settings = LakeSettings(max_concurrency=max_concurrency, deliver_to=deliver_to, timeout=timeout,
                                 poll_initial=poll, price_per_gb=settings().lake_price_per_gb)
    if dry_run:
        _print_lake_plan(stores, start=start, end=end, window=span, overlap=back, warehouse=warehouse)
        return
    with console.object_progress("querying", quiet=quiet) as (on_listed, on_object):
        summary = lake_ingest.ingest_lake(
            stores, warehouse=warehouse, start=start, end=end, window=span, overlap=back,
            endpoint_url=endpoint_url, region=region, s3_endpoint_url=s3_endpoint_url, settings=lake_settings,
            on_listed=on_listed, on_object=on_object, now=datetime.now(UTC))
    console.print_run_summary(summary)
    _after_run(warehouse)
    if strict and summary.rejected_anything:
        raise typer.Exit(2)


@app.command("lake-emulator")
@_cli_errors
def lake_emulator(
    events: Annotated[Path, typer.Option(help="NDJSON of CloudTrail Lake events (e.g. from simulate).")],
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1 (0: any free one).")] = 0,
    store_id: Annotated[str | None, typer.Option(help="Event data store id to serve.")] = None,
) -> None:
    """Serve a local CloudTrail Lake endpoint (StartQuery, DescribeQuery, GetQueryResults, ...).

    Example: patchtrail lake-emulator --events demo-data/lake-events/events.ndjson --port 4599
    """
    from patchtrail.lake.emulator import serve

    options = {"store_id": store_id} if store_id else {}
    serve(events, port, **options)


@publish_app.command("duckdb")
@_cli_errors
def publish_duckdb(
    out: Annotated[Path | None, typer.Option(
        "--out", callback=_from_settings("published_copy"), show_default=False,
        help="Where the read-only copy goes [default: published/patchtrail.duckdb].")] = None,
    warehouse: Warehouse = None,
) -> None:
    """Replace the read-only copy of the warehouse atomically (readers see old or new, never partial).

    Example: patchtrail publish duckdb --out /srv/bi/patchtrail.duckdb
    """
    from patchtrail.publish.copy import publish_copy

    _require(warehouse)
    copy = publish_copy(warehouse, out)
    console.stdout.print(f"published {copy.path} ({copy.size_bytes / 1e6:.1f} MB, up to load "
                         f"{copy.last_load_id}); open it with read_only=True", highlight=False)


@publish_app.command("parquet")
@_cli_errors
def publish_parquet(
    out: Annotated[str, typer.Option("--out", help="Folder or s3://bucket/prefix for the Parquet lake.")],
    s3_endpoint_url: Annotated[str | None, typer.Option(callback=_from_settings("s3_endpoint_url"),
                                                        help="S3 endpoint (e.g. moto).")] = None,
    region: Annotated[str | None, typer.Option(callback=_from_settings("aws_region"),
                                               help="AWS region.")] = None,
    warehouse: Warehouse = None,
) -> None:
    """Export history and daily snapshots as Hive-partitioned Parquet (only changed partitions).

    Example: patchtrail publish parquet --out s3://analytics-bucket/patchtrail
    """
    from patchtrail.publish.parquet import publish_parquet as publish

    _require(warehouse)
    lake = publish(warehouse, out, s3_endpoint_url=s3_endpoint_url, region=region)
    console.stdout.print(f"{lake.root}: {len(lake.written)} partitions written, {lake.unchanged} "
                         f"unchanged, {len(lake.deleted)} deleted; rows {lake.rows}", highlight=False)


@publish_app.command("postgres")
@_cli_errors
def publish_postgres(
    dsn: Annotated[str, typer.Option(envvar="PATCHTRAIL_POSTGRES_DSN", show_envvar=True,
                                     help="libpq connection string (better: the environment "
                                          "variable, or a ~/.pgpass entry, not the command line).")],
    schema: Annotated[str, typer.Option(help="Target schema, replaced atomically.")] = "patchtrail",
    warehouse: Warehouse = None,
) -> None:
    """Load the marts into a PostgreSQL schema; readers see the old marts or the new, never a mix.

    Example: PATCHTRAIL_POSTGRES_DSN=postgresql://bi@db/patch patchtrail publish postgres
    """
    from patchtrail.errors import PatchtrailError

    _require(warehouse)
    try:
        import psycopg  # noqa: F401

        from patchtrail.publish.postgres import publish_postgres as publish
    except ImportError:
        raise PatchtrailError("psycopg is not installed: pip install 'patchtrail[postgres]'") from None
    result = publish(warehouse, dsn, schema=schema)
    console.stdout.print(f"published schema {result.schema}: {result.rows}", highlight=False)


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
    warehouse: Warehouse = None,
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
def export(
    name: Annotated[str, typer.Argument(help="A seed query name or a table such as "
                                             "marts.current_patch_state.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write: .csv or .xlsx.")],
    instance: Annotated[str | None, typer.Option("--instance", help="For the selected-instance queries.")] = None,
    start: Annotated[str | None, typer.Option(help="For the time-range queries (UTC).")] = None,
    end: Annotated[str | None, typer.Option(help="For the time-range queries (UTC).")] = None,
    warehouse: Warehouse = None,
) -> None:
    """Export a mart or a seed query to CSV or Excel (.xlsx).

    Example: patchtrail export marts.current_patch_state --out patches.xlsx
    """
    from patchtrail.publish.exports import object_rows, write_rows
    from patchtrail.queries import SEED_QUERIES, run_seed_query

    con = _open_existing(warehouse)
    try:
        if name.removesuffix(".sql") in SEED_QUERIES:
            columns, rows = run_seed_query(con, name, instance_id=instance, start=start, end=end)
        else:
            columns, rows = object_rows(con, name)
    finally:
        con.close()
    write_rows(columns, rows, out)
    console.stdout.print(f"{out}: {len(rows)} rows", highlight=False)


@app.command()
@_cli_errors
def sql(
    statement: Annotated[str, typer.Argument(help="One SQL query (read-only).")],
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    warehouse: Warehouse = None,
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
def status(warehouse: Warehouse = None) -> None:
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
    data: Annotated[Path | None, typer.Option(
        "--data", callback=_from_settings("demo_dir"), show_default=False,
        help="Folder for the simulated files [default: demo-data, or PATCHTRAIL_DEMO_DIR].")] = None,
    warehouse: Warehouse = None,
    accounts: Annotated[int, typer.Option(min=1, max=50)] = 3,
    regions: Annotated[int, typer.Option(min=1, max=8)] = 2,
    instances: Annotated[int, typer.Option(min=1, max=5000)] = 12,
    days: Annotated[int, typer.Option(min=1, max=1100)] = 120,
    seed: int = 7,
    source: Annotated[str, typer.Option(help="How to land it: files (from disk) or lake "
                                             "(through the local CloudTrail Lake endpoint).")] = "files",
    quiet: Quiet = False,
) -> None:
    """Simulate a fleet, ingest it, build history, and print a summary.

    Example: patchtrail demo   (then: patchtrail query ssm-patch-compliance-distinct-ec2-instance-latest)
    """
    from patchtrail import demo as demos

    if source not in demos.SOURCES:
        raise typer.BadParameter(f"choose one of {', '.join(demos.SOURCES)}", param_hint="--source")
    console.setup_logging(quiet=quiet)
    t0 = time.monotonic()
    console.stderr.print(f"[bold]1/3 simulate[/bold] {accounts} accounts x {regions} regions x "
                         f"{instances} instances, {days} days -> {data}")
    sim = demos.simulate(data, accounts=accounts, regions=regions, instances=instances, days=days,
                         seed=seed)
    console.stderr.print(f"    {sim.patch_items} PatchCompliance items "
                         f"in three formats ({time.monotonic() - t0:.1f} s)")
    console.stderr.print(f"[bold]2/3 ingest ({source}) + build history[/bold] -> {warehouse}")
    with console.object_progress("landing", quiet=quiet) as (on_listed, on_object):
        summary = demos.ingest(source, data, warehouse=warehouse, days=days, on_listed=on_listed,
                               on_object=on_object)
    console.stderr.print("[bold]3/3 summary[/bold]")
    console.print_run_summary(summary)
    _after_run(warehouse)
    console.stdout.print(f"demo finished in {time.monotonic() - t0:.1f} s. Try:\n"  # noqa: S608 (text shown to the user)
                         f"  patchtrail status --warehouse {warehouse}\n"
                         f"  patchtrail query ssm-patch-compliance-distinct-ec2-instance-latest "
                         f"--warehouse {warehouse} --limit 10\n"
                         f"  patchtrail sql \"select * from marts.instance_compliance_as_of('2026-03-31')\" "
                         f"--warehouse {warehouse}", highlight=False)


def _require(warehouse: Path) -> None:
    from patchtrail.errors import InvalidInput

    if not warehouse.exists():
        raise InvalidInput(f"{warehouse}: no warehouse here (run `patchtrail demo` or "
                           "`patchtrail ingest files` first, or pass --warehouse)")


def _open_existing(warehouse: Path):
    from patchtrail.warehouse import connect

    _require(warehouse)
    return connect(warehouse, read_only=True)


def _after_run(warehouse: Path) -> None:
    """Refresh the published read-only copy, when the settings ask for it."""
    cfg = settings()
    if cfg.publish_after_run:
        from patchtrail.publish.copy import publish_copy

        copy = publish_copy(warehouse, cfg.published_copy)
        console.stderr.print(f"published read-only copy: {copy.path}", highlight=False)


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


def _print_lake_plan(stores, *, start, end, window, overlap, warehouse: Path) -> None:
    from datetime import UTC, datetime

    from patchtrail.ingest_lake import plan_windows
    from patchtrail.lake import queries
    from patchtrail.sources.lake import EXTRACT_QUERY, Store
    from patchtrail.validate import event_data_store_id
    from patchtrail.warehouse import apply_schema, connect

    stores = [Store(event_data_store_id(s.id), s.role_arn) for s in stores]
    con = _open_existing(warehouse) if warehouse.exists() else connect(":memory:")
    try:
        if not warehouse.exists():
            apply_schema(con)
        plan = plan_windows(con, stores, start=start, end=end, window=window, overlap=overlap,
                            now=datetime.now(UTC))
    finally:
        con.close()
    for w in plan.windows:
        console.stdout.print(str(w), highlight=False)
    console.stdout.print(f"{len(plan.windows)} queries; the first one:", highlight=False)
    if plan.windows:
        first = plan.windows[0]
        console.stdout.print(queries.render(EXTRACT_QUERY, event_data_store=first.store.id,
                                            start=first.start, end=first.end), highlight=False)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not YYYY-MM-DD", param_hint="--start") from None


if __name__ == "__main__":
    app()
