"""S3 listing for the S3 source: find Config delivery files and Lake exports under a prefix.

Listing is narrowed rather than walking the bucket: accounts are discovered under `AWSLogs/` and
regions under `Config/` with a delimiter, and with `since` only the date folders from that day on
are listed (`StartAfter` where keys sort by date). Key layouts: aws-formats §4.1 and §5.1.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from patchtrail.errors import InvalidInput, PatchtrailError, TransientError
from patchtrail.sources.formats import LAKE_RESULT_FILE, SIGN_FILE

_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.\-_]{1,254})(?:/(?P<prefix>.*))?$")
_CONFIG_KEY = re.compile(
    r"^(?:.*/)?AWSLogs/(?P<account>\d+)/Config/(?P<region>[a-z0-9-]+)/"
    r"(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<kind>[^/]+)/(?P<rest>.+)$")
_LAKE_KEY = re.compile(
    r"^(?P<export>(?:.*/)?AWSLogs/(?P<account>\d+)/CloudTrail-Lake/Query/"
    r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/[^/]+/)(?P<name>[^/]+)$")
_ACCOUNT_REGION = re.compile(r"(?:^|/)AWSLogs/(?P<account>\d+)/(?:Config/(?P<region>[a-z0-9-]+)/)?")
_ACCOUNT_DIR = re.compile(r"^\d+$")
_NUMBER = re.compile(r"^\d{1,2}$")

log = logging.getLogger("patchtrail")


@dataclass(frozen=True)
class Member:
    """One file of a Lake export: `result_sign.json` or `result_N.csv.gz`."""

    name: str
    key: str
    etag: str
    size: int


@dataclass(frozen=True)
class S3Object:
    """One unit of reading: a Config delivery object, or a whole Lake export prefix.

    Args:
        uri: `s3://bucket/key`, or `s3://bucket/.../<query-id>/` for an export.
        format: config_delivery | lake_export | unsupported.
        key: the object key, or the export prefix (ending in `/`).
        etag: the listed ETag; for an export, a SHA-256 of its members' names and ETags.
        account_id, aws_region: from the key (no region for an export: it spans regions).
        members: an export's files, sign file included.
        error: set when the object cannot be read at all (an export without its sign file).
    """

    uri: str
    format: str
    bucket: str
    key: str
    etag: str
    size: int
    account_id: str | None = None
    aws_region: str | None = None
    members: tuple[Member, ...] = ()
    error: str | None = None


@dataclass
class Listing:
    """What `list_objects` found; `prefixes_listed` shows how narrow the listing was."""

    objects: list[S3Object]
    unsupported: list[S3Object]
    ignored: list[str]
    prefixes_listed: list[str] = field(default_factory=list)
    requests: int = 0


def parse_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/prefix` -> (bucket, prefix without leading or trailing slashes)."""
    match = _URI.match(uri.strip())
    if not match:
        raise InvalidInput.mismatch("S3 URI", uri, "s3://bucket[/prefix]")
    return match["bucket"], (match["prefix"] or "").strip("/")


def list_objects(client: Any, bucket: str, prefix: str = "", *, since: date | None = None,
                 accounts: Iterable[str] | None = None, regions: Iterable[str] | None = None,
                 max_workers: int = 8) -> Listing:
    """List the Config delivery objects and Lake exports under `s3://bucket/prefix`.

    Args:
        prefix: a folder holding `AWSLogs/` or `<org-id>/AWSLogs/` (found one level down), or
            any folder inside `AWSLogs/` (`AWSLogs/<acct>/Config/<region>` narrows to it).
        since: only date folders from this day on (Config delivery day; Lake query day).
        accounts, regions: only these account ids / Config regions (exports span regions).
        max_workers: accounts and regions listed concurrently.
    Raises PatchtrailError (with a hint) when the bucket is missing or nothing may be listed; a
    prefix that may not be listed while others may is skipped, with a note in `ignored`.
    """
    lister = _Lister(client, bucket)
    wanted_accounts = set(accounts) if accounts else None
    wanted_regions = set(regions) if regions else None
    keys: list[tuple[str, str, int]] = []
    region_prefixes: list[str] = []
    with ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="s3-list") as pool:
        for root, tail in lister.roots(prefix):
            if _too_deep(tail):  # inside one account's service: list it whole, keys filtered below
                keys.extend(lister.list(f"{prefix}/").keys)
                continue
            account_ids = [tail[0]] if tail else lister.subfolders(root, _ACCOUNT_DIR)
            account_ids = [a for a in account_ids if wanted_accounts is None or a in wanted_accounts]
            for found, regional in pool.map(
                    lambda acct, root=root, tail=tail: _list_account(
                        lister, f"{root}{acct}/", tail[1:], since, wanted_regions),
                    account_ids):
                keys.extend(found)
                region_prefixes.extend(regional)
        for found in pool.map(lambda region: _list_region(lister, region, since), region_prefixes):
            keys.extend(found)
    lister.check_denied()
    listing = _classify(bucket, keys, since=since, regions=wanted_regions)
    listing.prefixes_listed, listing.requests = sorted(lister.prefixes), lister.requests
    listing.ignored.extend(f"s3://{bucket}/{p}: not allowed to list (s3:ListBucket); skipped"
                           for p, _ in sorted(lister.denied, key=lambda d: d[0]))
    if not lister.found_root:
        log.warning("s3://%s/%s: no AWSLogs/ folder found (expected [<org-id>/]AWSLogs/<account>/...)",
                    bucket, prefix)
    return listing


def key_parts(uri: str) -> tuple[str | None, str | None]:
    """(account id, Config region) of a listed URI; region None for a Lake export."""
    match = _ACCOUNT_REGION.search(uri)
    return (match["account"], match["region"]) if match else (None, None)


@dataclass
class _Page:
    keys: list[tuple[str, str, int]]
    folders: list[str]


class _Lister:
    """ListObjectsV2 with paging and request counting. A prefix the caller may not list is noted
    and skipped (least-privilege policies); only when nothing at all could be listed is that an
    error. Other errors (no such bucket, no credentials) raise PatchtrailErrors at once."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket
        self.requests = 0
        self.listed = 0
        self.prefixes: list[str] = []
        self.denied: list[tuple[str, PatchtrailError]] = []
        self.found_root = False
        self._lock = threading.Lock()

    def list(self, prefix: str, *, delimiter: bool = False, start_after: str | None = None,
             note_denied: bool = True) -> _Page:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        if delimiter:
            kwargs["Delimiter"] = "/"
        if start_after:
            kwargs["StartAfter"] = start_after
        page = _Page([], [])
        with self._lock:
            self.prefixes.append(prefix + (" /" if delimiter else ""))
        try:
            for response in self.client.get_paginator("list_objects_v2").paginate(**kwargs):
                with self._lock:
                    self.requests += 1
                page.keys.extend((o["Key"], o.get("ETag", "").strip('"'), int(o.get("Size", 0)))
                                 for o in response.get("Contents", ()))
                page.folders.extend(p["Prefix"] for p in response.get("CommonPrefixes", ()))
        except Exception as exc:  # noqa: BLE001 - turned into a PatchtrailError below
            error = _listing_error(exc, self.bucket, prefix)
            if not isinstance(error, _ListingDenied):
                raise error from exc
            if note_denied:
                log.warning("%s; skipped", error)
                with self._lock:
                    self.denied.append((prefix, error))
            return _Page([], [])
        with self._lock:
            self.listed += 1
        return page

    def subfolders(self, prefix: str, pattern: re.Pattern[str], *, start_after: str | None = None,
                   note_denied: bool = True) -> list[str]:
        """Names of the folders right under `prefix` that match `pattern`."""
        page = self.list(prefix, delimiter=True, start_after=start_after, note_denied=note_denied)
        names = [f[len(prefix):].rstrip("/") for f in page.folders]
        return [n for n in names if pattern.match(n)]

    def roots(self, prefix: str) -> list[tuple[str, list[str]]]:
        """The `.../AWSLogs/` folders to walk, each with the path segments fixed below it."""
        parts = prefix.split("/") if prefix else []
        if "AWSLogs" in parts:
            at = parts.index("AWSLogs")
            self.found_root = True
            return [("/".join(parts[:at + 1]) + "/", [p for p in parts[at + 1:] if p])]
        base = f"{prefix}/" if prefix else ""
        found = []
        for folder in self.list(base, delimiter=True).folders:
            name = folder[len(base):].rstrip("/")
            if name == "AWSLogs":
                found.append((folder, []))
            # [<org-id>/]AWSLogs/, one level down; folders we may not list are none of ours
            elif self.subfolders(folder, re.compile(r"^AWSLogs$"), note_denied=False):
                found.append((f"{folder}AWSLogs/", []))
        self.found_root = bool(found)
        return found

    def check_denied(self) -> None:
        """Raise the first denial when nothing at all could be listed."""
        if self.denied and not self.listed:
            raise self.denied[0][1]


def _too_deep(tail: list[str]) -> bool:
    """True when the URI points below `<acct>/Config/<region>/` or `<acct>/CloudTrail-Lake/`."""
    if len(tail) < 2:
        return False
    service = tail[1]
    return (service not in ("Config", "CloudTrail-Lake") or len(tail) > 3
            or (service == "CloudTrail-Lake" and len(tail) > 2))


def _list_account(lister: _Lister, account_prefix: str, tail: list[str], since: date | None,
                  regions: set[str] | None) -> tuple[list[tuple[str, str, int]], list[str]]:
    """One account's Lake exports (from `since` on), and its Config region folders to list."""
    keys: list[tuple[str, str, int]] = []
    if not tail or tail[0] == "CloudTrail-Lake":
        query = f"{account_prefix}CloudTrail-Lake/Query/"
        start = f"{query}{since:%Y/%m/%d}" if since else None  # yyyy/mm/dd: keys sort by date
        keys.extend(lister.list(query, start_after=start).keys)
    region_names: list[str] = []
    config = f"{account_prefix}Config/"
    if not tail or tail[0] == "Config":
        if len(tail) > 1:
            region_names = [tail[1]]
        else:
            page = lister.list(config, delimiter=True)
            keys.extend(page.keys)  # ConfigWritabilityCheckFile
            region_names = [f[len(config):].rstrip("/") for f in page.folders]
    return keys, [f"{config}{r}/" for r in region_names if regions is None or r in regions]


def _list_region(lister: _Lister, region_prefix: str, since: date | None) -> list[tuple[str, str, int]]:
    """Every object of one region's date folders from `since` on (month/day are not padded)."""
    if since is None:
        return lister.list(region_prefix).keys
    keys: list[tuple[str, str, int]] = []
    year_pattern = re.compile(r"^\d{4}$")
    for year in lister.subfolders(region_prefix, year_pattern, start_after=f"{region_prefix}{since.year}"):
        year_prefix = f"{region_prefix}{year}/"
        if int(year) > since.year:
            keys.extend(lister.list(year_prefix).keys)
            continue
        for month in lister.subfolders(year_prefix, _NUMBER):
            if int(month) < since.month:
                continue
            month_prefix = f"{year_prefix}{month}/"
            if int(month) > since.month:
                keys.extend(lister.list(month_prefix).keys)
                continue
            for day in lister.subfolders(month_prefix, _NUMBER):
                if int(day) >= since.day:
                    keys.extend(lister.list(f"{month_prefix}{day}/").keys)
    return keys


def _classify(bucket: str, keys: list[tuple[str, str, int]], *, since: date | None,
              regions: set[str] | None) -> Listing:
    config: list[S3Object] = []
    unsupported: list[S3Object] = []
    ignored: list[str] = []
    exports: dict[str, list[Member]] = {}
    for key, etag, size in sorted(set(keys)):
        uri = f"s3://{bucket}/{key}"
        if match := _CONFIG_KEY.match(key):
            if not _on_or_after(match, since) or (regions and match["region"] not in regions):
                continue
            kind = match["kind"]
            obj = S3Object(uri, "config_delivery", bucket, key, etag, size,
                           account_id=match["account"], aws_region=match["region"])
            if kind in ("ConfigHistory", "ConfigSnapshot") and key.endswith((".json.gz", ".json")):
                config.append(obj)
            elif kind == "OversizedChangeNotification":
                unsupported.append(S3Object(uri, "unsupported", bucket, key, etag, size,
                                            account_id=obj.account_id, aws_region=obj.aws_region))
            else:
                ignored.append(f"{uri}: not a Config delivery file")
        elif match := _LAKE_KEY.match(key):
            if not _on_or_after(match, since):
                continue
            name = match["name"]
            if name == SIGN_FILE or LAKE_RESULT_FILE.match(name):
                exports.setdefault(match["export"], []).append(Member(name, key, etag, size))
            else:
                ignored.append(f"{uri}: not a Lake result file")
        elif key.endswith("/ConfigWritabilityCheckFile"):
            ignored.append(f"{uri}: ConfigWritabilityCheckFile (AWS Config's access check)")
        else:
            ignored.append(f"{uri}: not in a Config delivery or Lake export layout")
    objects = config + [export_object(bucket, prefix, members) for prefix, members in sorted(exports.items())]
    return Listing(objects, unsupported, ignored)


def export_object(bucket: str, prefix: str, members: list[Member]) -> S3Object:
    """One Lake export (the files under one query's prefix) as an object to read."""
    members.sort(key=lambda m: (m.name != SIGN_FILE, _result_number(m.name)))
    digest = hashlib.sha256("\n".join(f"{m.name}:{m.etag}" for m in members).encode()).hexdigest()
    account, _ = key_parts(prefix)
    error = None
    if not any(m.name == SIGN_FILE for m in members):
        error = f"Lake result files without {SIGN_FILE}; export cannot be verified"
    return S3Object(f"s3://{bucket}/{prefix}", "lake_export", bucket, prefix, digest,
                    sum(m.size for m in members), account_id=account,
                    members=tuple(members), error=error)


def _on_or_after(match: re.Match[str], since: date | None) -> bool:
    if since is None:
        return True
    try:
        return date(int(match["y"]), int(match["m"]), int(match["d"])) >= since
    except ValueError:  # not a real date: keep it, the reader decides
        return True


def _result_number(name: str) -> int:
    match = LAKE_RESULT_FILE.match(name)
    return int(match[1]) if match else 0


class _ListingDenied(PatchtrailError):
    """Listing a prefix was refused (403)."""


def _listing_error(exc: Exception, bucket: str, prefix: str) -> PatchtrailError:
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    where = f"s3://{bucket}/{prefix}"
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "NoSuchBucket":
            error = PatchtrailError(f"s3://{bucket}: no such bucket")
            error.hint = "Check the bucket name, and --endpoint-url / --region if not on AWS."
            return error
        if code in ("AccessDenied", "AllAccessDisabled") or status == 403:
            error = _ListingDenied(f"{where}: access denied listing objects ({code or status})")
            error.hint = ("Grant s3:ListBucket on the bucket for this prefix (see docs/s3.md), "
                          "or narrow the URI or --accounts/--regions to what you may list.")
            return error
        if (status and status >= 500) or code in ("SlowDown", "Throttling", "RequestTimeout"):
            return TransientError(f"{where}: listing failed ({code or status}); retrying later can help")
        return PatchtrailError(f"{where}: listing failed ({code}: {exc})")
    if isinstance(exc, NoCredentialsError):
        error = PatchtrailError(f"{where}: no AWS credentials found")
        error.hint = "Set AWS_PROFILE, or run where an instance/role provides credentials."
        return error
    if isinstance(exc, EndpointConnectionError):
        return TransientError(f"{where}: cannot reach the S3 endpoint ({exc})")
    return TransientError(f"{where}: listing failed ({type(exc).__name__}: {exc})")
