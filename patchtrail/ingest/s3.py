"""Ingest from S3: an organisation's Config delivery files and Lake exports under one prefix.

One run: list (narrowed by account, region and date), skip objects already read with the same
ETag, fetch and parse the rest concurrently, and land them from one thread (the DuckDB
connection is single-threaded), through the one pipeline. The `ingest-s3` flow lists, spools
the new objects per account and region in retryable tasks, then lands what was spooled.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

from patchtrail.aws import AwsEndpoints
from patchtrail.ingest.pipeline import ingest, new_objects
from patchtrail.run import ObjectResult, RunSummary
from patchtrail.sources import s3
from patchtrail.sources.sign_file import PublicKeys

__all__ = ["by_account_region", "ingest_s3", "land_spooled", "list_s3", "new_s3_objects", "run_parameters"]


def ingest_s3(uri: str, *, warehouse: Path | str, endpoints: AwsEndpoints | None = None,
              since: date | None = None,
              accounts: Iterable[str] | None = None, regions: Iterable[str] | None = None,
              max_workers: int = 8, keys: PublicKeys | None = None,
              on_object: Callable[[ObjectResult], None] | None = None,
              on_listed: Callable[[int, int], None] | None = None,
              client: Any = None) -> RunSummary:
    """Land AWS Config delivery files and CloudTrail Lake exports from S3 into the warehouse.

    Args:
        uri: `s3://bucket[/prefix]`: the folder holding `AWSLogs/` (or `<org-id>/AWSLogs/`), or
            a folder inside it such as `.../AWSLogs/<acct>/Config/<region>`.
        warehouse: the DuckDB file (created if missing).
        endpoints: the S3 client's region and endpoint (`s3_endpoint_url`: moto, MinIO ...).
        since: only date folders from this day on (Config delivery day, Lake query day).
        accounts, regions: only these account ids / Config regions (Lake exports span regions).
        max_workers: concurrent listings (per account, per region) and downloads.
        keys: verify Lake exports' RSA signatures with these keys too (the SHA-256 of every
            result file always is).
        on_object: called after each object (for progress bars); on_listed: once with
            (objects found, their bytes).
        client: an S3 client to use instead of building one.
    Objects already recorded with the same URI and ETag are skipped (for an export: the same
    member ETags). Raises PatchtrailError when the bucket cannot be listed.
    """
    endpoints = endpoints or AwsEndpoints()
    client = client or s3.make_client(endpoints, max_workers=max_workers)
    listing = list_s3(uri, client=client, since=since, accounts=accounts, regions=regions,
                      max_workers=max_workers)
    parameters = run_parameters(uri, endpoints=endpoints, since=since, accounts=accounts,
                                regions=regions, max_workers=max_workers, verify_signature=keys is not None)
    source = s3.S3Source(listing, lambda obj: s3.fetch_object(client, obj), concurrency=max_workers,
                         keys=keys, parameters=parameters)
    return ingest(source, warehouse=warehouse, on_object=on_object, on_listed=on_listed)


def run_parameters(uri: str, *, endpoints: AwsEndpoints, since: date | str | None,
                   accounts: Iterable[str] | None, regions: Iterable[str] | None, max_workers: int,
                   verify_signature: bool) -> dict[str, Any]:
    """What a run was asked to read, as `landing.loads` records it (`endpoint_url`: the S3 one)."""
    return {"uri": uri, "endpoint_url": endpoints.s3_endpoint_url, "since": since,
            "accounts": sorted(accounts) if accounts else None,
            "regions": sorted(regions) if regions else None, "max_workers": max_workers,
            "verify_signature": verify_signature}


def list_s3(uri: str, *, client: Any, since: date | None = None, accounts: Iterable[str] | None = None,
            regions: Iterable[str] | None = None, max_workers: int = 8) -> s3.Listing:
    """The Config delivery objects and Lake exports under `uri` (see `s3.list_objects`)."""
    bucket, prefix = s3.parse_uri(uri)
    return s3.list_objects(client, bucket, prefix, since=since, accounts=sorted(accounts) if accounts else None,
                           regions=sorted(regions) if regions else None, max_workers=max_workers)


def new_s3_objects(listing: s3.Listing, warehouse: Path | str) -> list[s3.S3Object]:
    """The listed objects the warehouse has not read with the same ETag (and that can be read)."""
    source = s3.S3Source(listing, fetch=_not_fetched)
    return [o.ref for o in new_objects(source, source.list(), warehouse)]


def land_spooled(listing: s3.Listing, spooled: list[s3.SpooledObject], *, warehouse: Path | str,
                 parameters: dict[str, Any], keys: PublicKeys | None = None,
                 on_object: Callable[[ObjectResult], None] | None = None) -> RunSummary:
    """Land what a flow's fetch tasks spooled, in one run; listed objects that were not spooled
    are rejected (recorded without their ETag, so the next run reads them)."""
    by_uri = {one.obj.uri: one for one in spooled}

    def fetch(obj: s3.S3Object) -> s3.Fetched:
        one = by_uri.get(obj.uri) or s3.SpooledObject.failed(obj, f"{obj.uri}: not fetched by this run")
        return one.open()

    source = s3.S3Source(listing, fetch, concurrency=1, keys=keys, parameters=parameters)
    return ingest(source, warehouse=warehouse, on_object=on_object)


def by_account_region(summary: RunSummary) -> list[dict[str, Any]]:
    """What a run read per account and Config region (region None: Lake exports, all regions).

    One dict per (account_id, aws_region): objects seen, read, unchanged, rejected and ignored,
    items read / landed / duplicate / skipped / rejected, and bytes of the objects read.
    """
    rows: dict[tuple[str | None, str | None], dict[str, Any]] = defaultdict(_empty_row)
    for result in summary.objects:
        if result.status == "ignored":
            continue
        row = rows[s3.key_parts(result.uri)]
        row["objects"] += 1
        row["objects_read"] += result.status != "unchanged"
        row["objects_unchanged"] += result.status == "unchanged"
        row["objects_rejected"] += result.status == "rejected"
        row["bytes_read"] += result.size if result.status != "unchanged" else 0
        for name in ("read", "landed", "duplicate", "skipped", "rejected"):
            row[f"items_{name}"] += getattr(result, name)
    for note in summary.ignored:
        uri = note.split(": ", 1)[0]
        account, region = s3.key_parts(uri)
        if account and not uri.endswith("/"):  # an object, not a prefix that was skipped
            rows[(account, region)]["objects_ignored"] += 1
    return [{"account_id": account, "aws_region": region, **rows[(account, region)]}
            for account, region in sorted(rows, key=lambda k: (k[0] or "", k[1] or ""))]


def _not_fetched(obj: s3.S3Object) -> s3.Fetched:
    raise AssertionError(f"{obj.uri}: listing only")


def _empty_row() -> dict[str, int]:
    return {"objects": 0, "objects_read": 0, "objects_unchanged": 0, "objects_rejected": 0,
            "objects_ignored": 0, "items_read": 0, "items_landed": 0, "items_duplicate": 0,
            "items_skipped": 0, "items_rejected": 0, "bytes_read": 0}
