"""CLI commands that bring data in: simulate, ingest files|lake, lake-emulator, demo."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from patchtrail import console
from patchtrail.cli.common import (
    Format,
    Quiet,
    TextFormat,
    Verbose,
    Warehouse,
    app,
    cli_errors,
    finish_run,
    from_settings,
    ingest_app,
    open_existing,
    parse_date,
    parse_time,
)
from patchtrail.constants import DEMO_FLEET as DEMO
from patchtrail.settings import settings

STRICT_HELP = "Exit 4 when anything was rejected (what could be read is still landed)."

PublicKey = Annotated[str | None, typer.Option(
    "--public-key", metavar="FILE|aws",
    help="Also verify Lake exports' RSA signatures (their SHA-256 hashes are always checked): "
         "`aws` looks the signing key up by fingerprint in CloudTrail's ListPublicKeys; a file is "
         "`aws cloudtrail list-public-keys` output (JSON), or one DER/PEM key trusted as the "
         "signing key.")]


@app.command()
@cli_errors
def simulate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the files into.")],
    accounts: Annotated[int, typer.Option(min=1, max=50, help="AWS accounts.")] = 3,
    regions: Annotated[int, typer.Option(min=1, max=8, help="Regions per account.")] = 2,
    instances: Annotated[int, typer.Option(min=1, max=5000, help="Instances per account and region.")] = 12,
    days: Annotated[int, typer.Option(min=1, max=1100, help="Days of daily scans.")] = 120,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same files.")] = 7,
    start: Annotated[str, typer.Option(help="First simulated day (YYYY-MM-DD).")] = "2026-01-01",
    org_id: Annotated[str | None, typer.Option(help="Prefix Config keys with an organisation id.")] = None,
    fmt: Format = TextFormat.table,
) -> None:
    """Write a synthetic fleet's patch compliance as AWS would deliver it.

    Example: patchtrail simulate --out demo-data --accounts 3 --days 120
    """
    from patchtrail.devkit.simulator import simulate_to_dir

    t0 = time.monotonic()
    result = simulate_to_dir(out, accounts=accounts, regions=regions, instances=instances, days=days,
                             seed=seed, start=parse_date(start, "--start"), org_id=org_id)
    console.print_record(result.as_dict(), fmt=fmt, title=f"simulated fleet in {out}")
    console.stderr.print(f"simulated in {time.monotonic() - t0:.1f} s -> {out}")



@ingest_app.command("files")
@cli_errors
def ingest_files(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (walked).")],
    warehouse: Warehouse = None,
    follow_symlinks: Annotated[bool, typer.Option(
        help="Also follow symbolic links that leave the folders given (by default they are "
             "noted and not read).")] = False,
    public_key: PublicKey = None,
    strict: Annotated[bool, typer.Option(help=STRICT_HELP)] = False,
    dry_run: Annotated[bool, typer.Option(help="List what would be read; write nothing.")] = False,
    fmt: Format = TextFormat.table,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Land AWS Config delivery files, Lake exports and Lake event NDJSON from disk.

    Files already landed (same path and SHA-256) are skipped. Exit code 3 when nothing was
    found under the paths or nothing found was readable.
    Example: patchtrail ingest files demo-data/ --warehouse patchtrail.duckdb
    """
    from patchtrail.ingest.files import ingest_files as land_files
    from patchtrail.sources.files import FileSource

    console.setup_logging(verbose=verbose, quiet=quiet)
    if dry_run:
        _print_listing(FileSource(paths, follow_symlinks=follow_symlinks), warehouse)
        return
    keys = _public_keys(public_key)
    with console.object_progress("landing", quiet=quiet) as (on_listed, on_object):
        summary = land_files(paths, warehouse=warehouse, follow_symlinks=follow_symlinks, keys=keys,
                             on_listed=on_listed, on_object=on_object)
    finish_run(summary, warehouse, strict=strict, fmt=fmt,
               asked="under " + ", ".join(str(p) for p in paths))



@ingest_app.command("lake")
@cli_errors
def ingest_lake(
    event_data_store: Annotated[list[str], typer.Option(
        "--event-data-store", "-s", help="Event data store id or ARN (repeat for several).")],
    start: Annotated[str | None, typer.Option(help="eventTime from (UTC). Default: each store's "
                                              "watermark minus --overlap; required the first time.")] = None,
    end: Annotated[str | None, typer.Option(help="eventTime up to, exclusive (UTC). Default: now.")] = None,
    window: Annotated[str | None, typer.Option(callback=from_settings("lake_window"),
                                               help="eventTime span of one query (s, m, h, d) "
                                                    "[default: 1d].")] = None,
    overlap: Annotated[str | None, typer.Option(callback=from_settings("lake_overlap"),
                                                help="Re-read this much before the watermark "
                                                     "[default: 6h].")] = None,
    endpoint_url: Annotated[str | None, typer.Option(callback=from_settings("lake_endpoint_url"),
                                                     help="CloudTrail endpoint (e.g. a local one).")] = None,
    region: Annotated[str | None, typer.Option(callback=from_settings("aws_region"),
                                               help="AWS region [default: the SDK's].")] = None,
    role_arn: Annotated[list[str] | None, typer.Option(
        help="Role to assume: once for all stores, or once per --event-data-store, in order.")] = None,
    max_concurrency: Annotated[int | None, typer.Option(
        min=1, max=9, callback=from_settings("lake_max_concurrency"),
        help="Queries at once; Lake allows 10 [default: 4].")] = None,
    deliver_to: Annotated[str | None, typer.Option(
        help="s3://bucket/prefix: Lake saves results there and they are read from there.")] = None,
    s3_endpoint_url: Annotated[str | None, typer.Option(callback=from_settings("s3_endpoint_url"),
                                                        help="S3 endpoint for --deliver-to.")] = None,
    public_key: PublicKey = None,
    timeout: Annotated[float | None, typer.Option(callback=from_settings("lake_timeout_seconds"),
                                                  help="Cancel running queries after this many seconds.")] = None,
    poll: Annotated[float, typer.Option(help="First DescribeQuery wait, seconds (doubles to 15).")] = 1.0,
    warehouse: Warehouse = None,
    strict: Annotated[bool, typer.Option(help=STRICT_HELP)] = False,
    dry_run: Annotated[bool, typer.Option(help="Show the windows and the SQL; send nothing.")] = False,
    fmt: Format = TextFormat.table,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Land PatchCompliance items from CloudTrail Lake event data stores (one query per window).

    Exit code 3 when there was no window to query or every window failed.

    Example: patchtrail ingest lake -s 0a1b2c3d-4e5f-6789-abcd-ef0123456789 --start 2026-03-01
    """
    from datetime import UTC, datetime

    from patchtrail import validate
    from patchtrail.aws import AwsEndpoints
    from patchtrail.ingest import lake as lake_ingest
    from patchtrail.sources.lake import LakeSettings, Store

    console.setup_logging(verbose=verbose, quiet=quiet)
    roles = role_arn or []
    if len(roles) not in (0, 1, len(event_data_store)):
        raise typer.BadParameter("give one --role-arn, or one per --event-data-store", param_hint="--role-arn")
    stores = [Store(s, roles[0] if len(roles) == 1 else (roles[i] if roles else None))
              for i, s in enumerate(event_data_store)]
    time_range = lake_ingest.LakeRange(parse_time(start, "--start"), parse_time(end, "--end"),
                                       window=validate.duration(window, parameter="--window"),
                                       overlap=validate.duration(overlap, parameter="--overlap"))
    endpoints = AwsEndpoints(region=region, lake_endpoint_url=endpoint_url, s3_endpoint_url=s3_endpoint_url)
    lake_settings = LakeSettings(max_concurrency=max_concurrency, deliver_to=deliver_to, timeout=timeout,
                                 poll_initial=poll, price_per_gb=settings().lake_price_per_gb,
                                 max_attempts=settings().aws_max_attempts)
    if dry_run:
        _print_lake_plan(stores, time_range, warehouse=warehouse)
        return
    with console.object_progress("querying", quiet=quiet) as (on_listed, on_object):
        summary = lake_ingest.ingest_lake(
            stores, warehouse=warehouse, time_range=time_range, endpoints=endpoints, settings=lake_settings,
            keys=_public_keys(public_key, endpoints),
            on_listed=on_listed, on_object=on_object, now=datetime.now(UTC))
    finish_run(summary, warehouse, strict=strict, fmt=fmt,
               asked="in " + ", ".join(s.id for s in stores))



@ingest_app.command("s3")
@cli_errors
def ingest_s3(
    uri: Annotated[str, typer.Argument(help="s3://bucket[/prefix] holding AWSLogs/ (or <org-id>/AWSLogs/).")],
    since: Annotated[str | None, typer.Option(help="Only date folders from this day on (YYYY-MM-DD).")] = None,
    account: Annotated[list[str] | None, typer.Option(help="Only this account (repeat for several).")] = None,
    config_region: Annotated[list[str] | None, typer.Option(
        help="Only this AWS Config region (repeat); Lake exports span regions.")] = None,
    max_workers: Annotated[int, typer.Option(min=1, max=64, help="Concurrent listings and downloads.")] = 8,
    public_key: PublicKey = None,
    endpoint_url: Annotated[str | None, typer.Option(callback=from_settings("s3_endpoint_url"),
                                                     help="S3 endpoint (e.g. moto, MinIO).")] = None,
    region: Annotated[str | None, typer.Option(callback=from_settings("aws_region"),
                                               help="The S3 client's region.")] = None,
    warehouse: Warehouse = None,
    strict: Annotated[bool, typer.Option(help=STRICT_HELP)] = False,
    fmt: Format = TextFormat.table,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Land AWS Config delivery files and CloudTrail Lake exports from an S3 prefix tree.

    Only new or changed objects (by key and ETag) are read. Exit code 3 when nothing was found
    under the prefix or nothing found was readable.
    Example: patchtrail ingest s3 s3://org-config-bucket/o-a1b2c3d4e5 --since 2026-03-01
    """
    from patchtrail.aws import AwsEndpoints
    from patchtrail.ingest import s3 as s3_ingest

    console.setup_logging(verbose=verbose, quiet=quiet)
    endpoints = AwsEndpoints.from_settings(region=region, s3_endpoint_url=endpoint_url)
    keys = _public_keys(public_key, endpoints)
    with console.object_progress("landing", quiet=quiet) as (on_listed, on_object):
        summary = s3_ingest.ingest_s3(
            uri, warehouse=warehouse, endpoints=endpoints,
            since=parse_date(since, "--since") if since else None, accounts=account, regions=config_region,
            max_workers=max_workers, keys=keys, on_listed=on_listed, on_object=on_object)
    if fmt == "table":
        console.print_table(s3_ingest.by_account_region(summary), title="read per account and region")
    finish_run(summary, warehouse, strict=strict, fmt=fmt, asked=f"under {uri}")


@app.command("lake-emulator")
@cli_errors
def lake_emulator(
    events: Annotated[Path, typer.Option(help="NDJSON of CloudTrail Lake events (e.g. from simulate).")],
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1 (0: any free one).")] = 0,
    store_id: Annotated[str | None, typer.Option(help="Event data store id to serve.")] = None,
) -> None:
    """Serve a local CloudTrail Lake endpoint (StartQuery, DescribeQuery, GetQueryResults, ...).

    Example: patchtrail lake-emulator --events demo-data/lake-events/events.ndjson --port 4599
    """
    from patchtrail.devkit.lake_emulator.emulator import serve

    options = {"store_id": store_id} if store_id else {}
    serve(events, port, **options)



@app.command()
@cli_errors
def demo(
    data: Annotated[Path | None, typer.Option(
        "--data", callback=from_settings("demo_dir"), show_default=False,
        help="Folder for the simulated files [default: demo-data, or PATCHTRAIL_DEMO_DIR].")] = None,
    warehouse: Warehouse = None,
    accounts: Annotated[int, typer.Option(min=1, max=50)] = DEMO["accounts"],
    regions: Annotated[int, typer.Option(min=1, max=8)] = DEMO["regions"],
    instances: Annotated[int, typer.Option(min=1, max=5000)] = DEMO["instances"],
    days: Annotated[int, typer.Option(min=1, max=1100)] = DEMO["days"],
    seed: int = DEMO["seed"],
    source: Annotated[str, typer.Option(help="How to land it: files (from disk), lake (through "
                                             "the local CloudTrail Lake endpoint) or s3 (through a "
                                             "local S3).")] = "files",
    quiet: Quiet = False,
) -> None:
    """Simulate a fleet, ingest it, build history, and print a summary.

    Example: patchtrail demo   (then: patchtrail query ssm-patch-compliance-distinct-ec2-instance-latest)
    """
    from patchtrail.devkit import demo as demos

    if source not in demos.SOURCES:
        raise typer.BadParameter(f"choose one of {', '.join(demos.SOURCES)}", param_hint="--source")
    console.setup_logging(quiet=quiet)
    t0 = time.monotonic()
    console.step("1/3 simulate", f"{accounts} accounts x {regions} regions x {instances} "
                                 f"instances, {days} days -> {data}")
    sim = demos.simulate(data, accounts=accounts, regions=regions, instances=instances, days=days,
                         seed=seed)
    console.stderr.print(f"    {sim.patch_items} PatchCompliance items "
                         f"in three formats ({time.monotonic() - t0:.1f} s)")
    console.step(f"2/3 ingest ({source}) + build history", f"-> {warehouse}")
    with console.object_progress("landing", quiet=quiet) as (on_listed, on_object):
        summary = demos.ingest(source, data, warehouse=warehouse, days=days, on_listed=on_listed,
                               on_object=on_object)
    console.step("3/3 summary and publication")
    finish_run(summary, warehouse, asked=f"under {data}")
    published = demos.publish(warehouse, data)
    for label, path in published.items():
        console.stdout.print(f"{label:<18} {path}", highlight=False)
    console.stdout.print(f"demo finished in {time.monotonic() - t0:.1f} s. Try:\n"  # noqa: S608 (text shown to the user)
                         f"  patchtrail status --warehouse {warehouse}\n"
                         f"  patchtrail query ssm-patch-compliance-distinct-ec2-instance-latest "
                         f"--warehouse {warehouse} --limit 10\n"
                         f"  patchtrail sql \"select * from marts.instance_compliance_as_of('2026-03-31')\" "
                         f"--warehouse {warehouse}", highlight=False)



def _print_listing(source, warehouse: Path) -> None:
    from patchtrail.warehouse.land import recorded_objects

    listing = source.list()
    seen: set[tuple[str, str]] = set()
    if warehouse.exists():
        con = open_existing(warehouse)
        try:
            seen = recorded_objects(con, source.name)
        finally:
            con.close()
    for obj in listing.objects:
        state = "error: " + obj.error if obj.error else (
            "unchanged" if (obj.uri, obj.digest) in seen else "new")
        console.stdout.print(f"{obj.format:<16} {state:<10} {obj.uri}", highlight=False, markup=False)
    for obj in listing.ignored:
        console.stdout.print(f"{'ignored':<16} {obj.uri}: {obj.error}", highlight=False, markup=False)
    for path in listing.not_found:
        console.stdout.print(f"{'not found':<16} {path}", highlight=False, markup=False)
    console.stdout.print(f"{len(listing.objects)} objects, {len(listing.ignored)} files ignored, "
                         f"{len(listing.not_found)} paths not found", highlight=False)


def _public_keys(value: str | None, endpoints=None):
    """The keys --public-key names: `aws` (CloudTrail ListPublicKeys at `endpoints`, default
    the settings'), or a file."""
    if value is None:
        return None
    from patchtrail.sources.sign_file import PublicKeys

    if value == "aws":
        from patchtrail.aws import AwsEndpoints
        from patchtrail.sources.lake import make_client

        return PublicKeys.from_cloudtrail(make_client(endpoints or AwsEndpoints.from_settings(),
                                                      max_attempts=settings().aws_max_attempts))
    return PublicKeys.from_file(value)


def _print_lake_plan(stores, time_range, *, warehouse: Path) -> None:
    from datetime import UTC, datetime

    from patchtrail.ingest.lake import plan_windows
    from patchtrail.sources import lake_queries
    from patchtrail.sources.lake import EXTRACT_QUERY, Store
    from patchtrail.validate import event_data_store_id
    from patchtrail.warehouse import apply_schema, connect

    stores = [Store(event_data_store_id(s.id), s.role_arn) for s in stores]
    con = open_existing(warehouse) if warehouse.exists() else connect(":memory:")
    try:
        if not warehouse.exists():
            apply_schema(con)
        plan = plan_windows(con, stores, time_range, now=datetime.now(UTC))
    finally:
        con.close()
    for w in plan.windows:
        console.stdout.print(str(w), highlight=False)
    console.stdout.print(f"{len(plan.windows)} queries; the first one:", highlight=False)
    if plan.windows:
        first = plan.windows[0]
        console.stdout.print(lake_queries.render(EXTRACT_QUERY, event_data_store=first.store.id,
                                                 start=first.start, end=first.end),
                             highlight=False)

