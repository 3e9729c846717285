"""Ingest from S3: list an organisation's Config delivery files and Lake exports, land new ones.

One run, as `ingest.ingest_files`: list (narrowed by account, region and date), skip objects
already read with the same ETag, fetch the rest concurrently, and land them from one thread
(the DuckDB connection is single-threaded) through the same readers and `Run` as local files.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from patchtrail.errors import InvalidInput
from patchtrail.ingest import summarise_fleet
from patchtrail.run import ObjectResult, Run, RunSummary
from patchtrail.sources import s3
from patchtrail.warehouse import apply_schema, connect
from patchtrail.warehouse.land import record_object, recorded_objects

__all__ = ["by_account_region", "ingest_s3", "land_listing", "list_s3", "new_objects", "run_parameters"]


def ingest_s3(uri: str, *, warehouse: Path | str, endpoint_url: str | None = None,
              region: str | None = None, since: date | None = None,
              accounts: Iterable[str] | None = None, regions: Iterable[str] | None = None,
              max_workers: int = 8, public_key: bytes | Path | str | None = None,
              on_object: Callable[[ObjectResult], None] | None = None,
              on_listed: Callable[[int, int], None] | None = None,
              client: Any = None) -> RunSummary:
    """Land AWS Config delivery files and CloudTrail Lake exports from S3 into the warehouse.

    Args:
        uri: `s3://bucket[/prefix]`: the folder holding `AWSLogs/` (or `<org-id>/AWSLogs/`), or
            a folder inside it such as `.../AWSLogs/<acct>/Config/<region>`.
        warehouse: the DuckDB file (created if missing).
        endpoint_url: a non-AWS endpoint (moto, MinIO ...); region: the client's region.
        since: only date folders from this day on (Config delivery day, Lake query day).
        accounts, regions: only these account ids / Config regions (Lake exports span regions).
        max_workers: concurrent listings (per account, per region) and downloads.
        public_key: DER (PKCS#1) public key, or a path to one: Lake exports' RSA signatures are
            then verified too (the SHA-256 of every result file always is).
        on_object: called after each object (for progress bars); on_listed: once with
            (objects found, their bytes).
        client: an S3 client to use instead of building one.
    Objects already recorded with the same URI and ETag are skipped (for an export: the same
    member ETags). Raises PatchtrailError when the bucket cannot be listed.
    """
    key = public_key_bytes(public_key)
    client = client or s3.make_client(endpoint_url=endpoint_url, region=region, max_workers=max_workers)
    listing = list_s3(uri, client=client, since=since, accounts=accounts, regions=regions,
                      max_workers=max_workers)
    if on_listed:
        on_listed(len(listing.objects), sum(o.size for o in listing.objects))
    parameters = run_parameters(uri, endpoint_url=endpoint_url, since=since, accounts=accounts,
                                regions=regions, max_workers=max_workers, verify_signature=key is not None)
    return land_listing(listing, lambda todo: s3.fetch_objects(client, todo, max_workers=max_workers),
                        warehouse=warehouse, parameters=parameters, public_key=key, on_object=on_object)


def run_parameters(uri: str, *, endpoint_url: str | None, since: date | str | None,
                   accounts: Iterable[str] | None, regions: Iterable[str] | None, max_workers: int,
                   verify_signature: bool) -> dict[str, Any]:
    """What a run was asked to read, as `landing.loads` records it."""
    return {"uri": uri, "endpoint_url": endpoint_url, "since": since,
            "accounts": sorted(accounts) if accounts else None,
            "regions": sorted(regions) if regions else None, "max_workers": max_workers,
            "verify_signature": verify_signature}


def list_s3(uri: str, *, client: Any, since: date | None = None, accounts: Iterable[str] | None = None,
            regions: Iterable[str] | None = None, max_workers: int = 8) -> s3.Listing:
    """The Config delivery objects and Lake exports under `uri` (see `s3.list_objects`)."""
    bucket, prefix = s3.parse_uri(uri)
    return s3.list_objects(client, bucket, prefix, since=since, accounts=sorted(accounts) if accounts else None,
                           regions=sorted(regions) if regions else None, max_workers=max_workers)


def new_objects(listing: s3.Listing, warehouse: Path | str) -> list[s3.S3Object]:
    """The listed objects the warehouse has not read with the same ETag (and that can be read)."""
    con = connect(warehouse)
    try:
        apply_schema(con)
        seen = recorded_objects(con, s3.SOURCE)
    finally:
        con.close()
    return [o for o in listing.objects if (o.uri, o.etag) not in seen and not o.error]


def land_listing(listing: s3.Listing, fetch: Callable[[list[s3.S3Object]], Iterable[s3.Fetched]], *,
                 warehouse: Path | str, parameters: dict[str, Any], public_key: bytes | None = None,
                 on_object: Callable[[ObjectResult], None] | None = None) -> RunSummary:
    """Land a listing in one run (one transaction): objects already read are skipped, the rest
    come from `fetch(objects)` (in their order) and are read and landed one by one."""
    con = connect(warehouse)
    try:
        apply_schema(con)
        seen = recorded_objects(con, s3.SOURCE)
        run = Run(con, source=s3.SOURCE, warehouse=str(warehouse), parameters=parameters,
                  on_object=on_object)
        with run:
            _record_unsupported(run, listing.unsupported, seen)
            todo = []
            for obj in listing.objects:
                if (obj.uri, obj.etag) in seen:
                    run.unchanged(obj.uri, obj.format, obj.size)
                elif obj.error:  # recorded with its ETags: read again once the export changes
                    run.land_object(uri=obj.uri, fmt=obj.format, items=s3.failing(f"{obj.uri}: {obj.error}"),
                                    etag=obj.etag, size=obj.size)
                else:
                    todo.append(obj)
            for fetched in fetch(todo):
                with fetched:
                    obj = fetched.obj
                    run.land_object(uri=obj.uri, fmt=obj.format, etag=fetched.etag, size=obj.size,
                                    items=s3.read_object(fetched, public_key=public_key),
                                    payload=fetched.head,
                                    stream=True if fetched.large and not fetched.error else None)
        run.summary.ignored = listing.ignored + [f"{o.uri}: {s3.UNSUPPORTED_NOTE}"
                                                 for o in listing.unsupported]
        summarise_fleet(con, run.summary)
        return run.summary
    finally:
        con.close()


def by_account_region(summary: RunSummary) -> list[dict[str, Any]]:
    """What a run read per account and Config region (region None: Lake exports, all regions).

    One dict per (account_id, aws_region): objects seen, read, unchanged, rejected and ignored,
    items read / landed / duplicate / skipped / rejected, and bytes of the objects read.
    """
    rows: dict[tuple[str | None, str | None], dict[str, Any]] = defaultdict(_empty_row)
    for result in summary.objects:
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


def _record_unsupported(run: Run, objects: list[s3.S3Object], seen: set[tuple[str, str]]) -> None:
    """Record OversizedChangeNotification objects once each (status ignored, with the reason)."""
    for obj in objects:
        if (obj.uri, obj.etag) in seen:
            continue
        record_object(run.con, load_id=run.summary.load_id, source=s3.SOURCE, uri=obj.uri, sha256=None,
                      etag=obj.etag, size=obj.size, fmt="unsupported", status="ignored", counts={},
                      error=s3.UNSUPPORTED_NOTE, recorded_at=datetime.now(UTC))


def public_key_bytes(public_key: bytes | Path | str | None) -> bytes | None:
    if not isinstance(public_key, (str, Path)):
        return public_key
    try:
        return Path(public_key).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{public_key}: cannot read the public key ({exc.strerror or exc}); "
                           "expected a DER (PKCS#1) file as ListPublicKeys returns it") from None


def _empty_row() -> dict[str, int]:
    return {"objects": 0, "objects_read": 0, "objects_unchanged": 0, "objects_rejected": 0,
            "objects_ignored": 0, "items_read": 0, "items_landed": 0, "items_duplicate": 0,
            "items_skipped": 0, "items_rejected": 0, "bytes_read": 0}
