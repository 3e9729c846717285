"""S3 as a source: fetch listed objects (see s3_listing), then read them.

Listing is narrowed rather than walking the bucket: accounts are discovered under `AWSLogs/` and
regions under `Config/` with a delimiter, and with `since` only the date folders from that day on
are listed (`StartAfter` where keys sort by date). Objects are fetched by a bounded pool of
threads into spooled temporary files (in memory up to SPOOL_MEMORY_BYTES, on disk beyond), so one
thread can land them while the next ones download. The bytes are read with the same readers as
local files (`formats`). Key layouts: aws-formats §4.1 and §5.1.

    [<org-id>/]AWSLogs/<acct>/Config/<region>/<Y>/<M>/<D>/ConfigHistory|ConfigSnapshot/<name>.json.gz
    [<org-id>/]AWSLogs/<acct>/Config/<region>/<Y>/<M>/<D>/OversizedChangeNotification/...  (not read)
    <prefix>/AWSLogs/<acct>/CloudTrail-Lake/Query/<yyyy>/<mm>/<dd>/<query-id>/result_N.csv.gz + result_sign.json
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import SpooledTemporaryFile
from typing import IO, Any

from patchtrail.aws import AwsEndpoints
from patchtrail.errors import TransientError
from patchtrail.sources import base, formats
from patchtrail.sources.base import ObjectUnreadable, SourceObject
from patchtrail.sources.formats import SIGN_FILE
from patchtrail.sources.s3_listing import (  # noqa: F401 (the listing half, re-exported)
    Listing,
    Member,
    S3Object,
    _result_number,
    export_object,
    key_parts,
    list_objects,
    parse_uri,
)
from patchtrail.sources.sign_file import PublicKeys, verify_sign_file
from patchtrail.transforms.raw import RawItem
from patchtrail.transient import is_transient

SOURCE = "s3"
#: Fetched objects up to this size stay in memory; larger ones spill to a temporary file.
SPOOL_MEMORY_BYTES = 4 << 20
#: Bytes of a rejected object kept as its payload in landing.rejected_records.
HEAD_BYTES = 1 << 20
UNSUPPORTED_NOTE = ("OversizedChangeNotification: a change notification too large for SNS, not a "
                    "delivery file; not read (the item is delivered in the period's ConfigHistory file)")
_CHUNK = 1 << 20

log = logging.getLogger("patchtrail")


@dataclass
class Fetched:
    """A fetched object: its bytes in spooled files, or why it could not be fetched.

    `etag` is what to record: the ETag actually read (None when fetching failed, so the next
    run tries again)."""

    obj: S3Object
    etag: str | None = None
    bodies: dict[str, IO[bytes]] = field(default_factory=dict)
    sha256: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    transient: bool = False     # the fetch failed for a reason that may pass (throttling, 5xx)

    def head(self) -> bytes | None:
        """The first bytes of the object (of an export: its sign file), kept if it is rejected."""
        name = SIGN_FILE if self.obj.format == "lake_export" else ""
        body = self.bodies.get(name)
        if body is None:
            return None
        body.seek(0)
        return body.read(HEAD_BYTES)

    def close(self) -> None:
        for body in self.bodies.values():
            body.close()
        self.bodies.clear()

    def __enter__(self) -> Fetched:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_client(endpoints: AwsEndpoints | None = None, *, max_workers: int = 8,
                max_attempts: int | None = None) -> Any:
    """An S3 client at `endpoints` with standard retries and a connection pool sized for
    `max_workers` (path-style addressing when the endpoint is overridden).

    Credentials come from the usual boto3 chain (environment, profile, instance role); they are
    never logged."""
    endpoints = endpoints or AwsEndpoints()
    return endpoints.client("s3", max_attempts=max_attempts,
                            max_pool_connections=max(10, max_workers * 2),
                            s3={"addressing_style": "path"} if endpoints.s3_endpoint_url else None)


def fetch_object(client: Any, obj: S3Object, directory: Path | None = None) -> Fetched:
    """Download one object (every member of an export) into spooled files, or into files under
    `directory` when given; never raises for S3 or transfer errors: they come back as
    `Fetched.error`, naming the object."""
    fetched = Fetched(obj)
    try:
        if obj.format == "lake_export":
            for member in obj.members:
                # If-Match: the export is read exactly as listed, or not at all this run
                _download(client, obj.bucket, member.key, fetched, name=member.name,
                          if_match=member.etag, directory=directory)
            fetched.etag = obj.etag
        else:
            fetched.etag = _download(client, obj.bucket, obj.key, fetched, name="", directory=directory)
    except _FetchError as exc:
        fetched.close()
        fetched.error, fetched.etag, fetched.transient = str(exc), None, exc.transient
    return fetched


@dataclass
class SpooledObject:
    """A fetched object kept in files on local disk (between a flow's fetch and land tasks)."""

    obj: S3Object
    etag: str | None
    paths: dict[str, str]
    sha256: dict[str, str]
    error: str | None = None

    @classmethod
    def failed(cls, obj: S3Object, error: str) -> SpooledObject:
        """An object not fetched: rejected when landed, recorded without its ETag."""
        return cls(obj, None, {}, {}, error)

    def open(self) -> Fetched:
        """The object as `fetch_object` returns it, read from its files."""
        bodies = {name: open(path, "rb") for name, path in self.paths.items()}  # noqa: SIM115
        return Fetched(self.obj, self.etag, bodies, dict(self.sha256), self.error)


def spool_objects(client: Any, objects: Iterable[S3Object], directory: Path, *,
                  max_workers: int = 8) -> list[SpooledObject]:
    """Fetch objects concurrently into files under `directory`, for landing later.

    Raises TransientError (naming the objects) when any failed for a reason that may pass, so
    the caller can retry the whole group; permanent failures come back as `error`."""
    objects = list(objects)
    with ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="s3-spool") as pool:
        fetched = list(pool.map(lambda obj: fetch_object(client, obj, directory), objects))
    spooled = []
    for one in fetched:
        spooled.append(SpooledObject(one.obj, one.etag, {n: b.name for n, b in one.bodies.items()},
                                     dict(one.sha256), one.error))
        one.close()
    failed = [one.error for one in fetched if one.transient]
    if failed:
        raise TransientError(f"{len(failed)} object(s) could not be fetched for now: " + "; ".join(failed[:3]))
    return spooled


def read_object(fetched: Fetched, *, keys: PublicKeys | None = None) -> Iterator[RawItem]:
    """Yield the raw items of a fetched object; `ObjectError` if the object as a whole is bad,
    `ObjectUnreadable` if it could not be fetched (it is read again next run).

    Args:
        keys: when given, a Lake export's RSA signature is verified too (its hashes always are).
    """
    obj = fetched.obj
    if fetched.error:
        raise ObjectUnreadable(fetched.error)
    if obj.error:
        raise base.ObjectError(f"{obj.uri}: {obj.error}")
    if obj.format == "config_delivery":
        body = fetched.bodies[""]
        body.seek(0)
        yield from formats.read_config_delivery(body, source=SOURCE, ref=obj.uri)
        return
    sign = fetched.bodies[SIGN_FILE]
    sign.seek(0)
    results = {n: h for n, h in fetched.sha256.items() if n != SIGN_FILE}
    verify_sign_file(sign.read(formats.MAX_SIGN_FILE_BYTES + 1), results, ref=obj.uri, keys=keys)
    for name in sorted(results, key=_result_number):
        body = fetched.bodies[name]
        body.seek(0)
        yield from formats.read_lake_result_csv(body, source=SOURCE, ref=f"{obj.uri}{name}")


class S3Source:
    """An S3 prefix tree of Config delivery files and Lake exports, as a pipeline source.

    Args:
        listing: what `list_objects` found (listing is done before, so flows can split it).
        fetch: downloads one S3Object (`fetch_object` with a client, or a flow's spooled copy).
        concurrency: objects fetched and parsed at once.
        keys: verify Lake exports' RSA signatures with these keys too.
        parameters: what the run was asked to read (`landing.loads.parameters`).
    """

    name = SOURCE

    def __init__(self, listing: Listing, fetch: Callable[[S3Object], Fetched], *,
                 concurrency: int = 8, keys: PublicKeys | None = None,
                 parameters: dict[str, Any] | None = None) -> None:
        self._listing = listing
        self._fetch = fetch
        self.concurrency = max(1, concurrency)
        self.keys = keys
        self.parameters = parameters or {}
        self._heads: dict[str, bytes | None] = {}

    def list(self) -> base.Listing:
        """The listing as source objects: delivery files and exports to read; oversized-change
        notifications ignored (recorded once, by ETag); other keys noted."""
        out = base.Listing()
        out.objects = [SourceObject(o.uri, o.format, size=o.size, digest=o.etag, error=o.error, ref=o)
                       for o in self._listing.objects]
        out.ignored = [SourceObject(o.uri, "unsupported", size=o.size, digest=o.etag,
                                    error=UNSUPPORTED_NOTE, ref=o) for o in self._listing.unsupported]
        for note in self._listing.ignored:
            uri, _, why = note.partition(": ")
            out.ignored.append(SourceObject(uri, "unknown", error=why))
        return out

    def read(self, obj: SourceObject) -> Iterator[RawItem]:
        fetched = self._fetch(obj.ref)
        try:
            yield from read_object(fetched, keys=self.keys)
        except BaseException:
            self._heads[obj.uri] = fetched.head()
            raise
        finally:
            fetched.close()

    def head(self, obj: SourceObject) -> bytes | None:
        """The first bytes of a rejected object (of an export: its sign file)."""
        return self._heads.pop(obj.uri, None)


class _FetchError(Exception):
    """A failure to fetch: the message names the object."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


def _download(client: Any, bucket: str, key: str, fetched: Fetched, *, name: str,
              if_match: str | None = None, directory: Path | None = None) -> str:
    """Stream one object into a spooled file, or a file under `directory` (hashing it); return
    the ETag read."""
    from botocore.exceptions import BotoCoreError, ClientError

    uri = f"s3://{bucket}/{key}"
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if if_match:
        kwargs["IfMatch"] = f'"{if_match}"'
    if directory is None:
        spool: IO[bytes] = SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)  # noqa: SIM115 - kept open
    else:
        spool = open(directory / hashlib.sha256(uri.encode()).hexdigest(), "w+b")  # noqa: SIM115
    fetched.bodies[name] = spool
    digest = hashlib.sha256()
    try:
        response = client.get_object(**kwargs)
        body = response["Body"]
        try:
            for chunk in body.iter_chunks(_CHUNK):
                spool.write(chunk)
                digest.update(chunk)
        finally:
            body.close()
    except ClientError as exc:
        raise _FetchError(f"{uri}: {_get_error(exc)}", transient=is_transient(exc)) from None
    except BotoCoreError as exc:
        raise _FetchError(f"{uri}: transfer failed ({type(exc).__name__}: {exc}); "
                          "it will be read again next run", transient=is_transient(exc)) from None
    except OSError as exc:
        raise _FetchError(f"{uri}: could not spool to a temporary file ({exc})") from None
    fetched.sha256[name] = digest.hexdigest()
    return str(response.get("ETag", "")).strip('"')


def _get_error(exc: Any) -> str:
    error = exc.response.get("Error", {})
    code = error.get("Code", "")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in ("NoSuchKey", "404") or status == 404:
        return "deleted after it was listed (NoSuchKey)"
    if code in ("AccessDenied", "403") or status == 403:
        return ("access denied (s3:GetObject; an SSE-KMS object also needs kms:Decrypt on its key); "
                "it will be read again next run")
    if code in ("PreconditionFailed", "412") or status == 412:
        return "changed while being read (ETag differs from the listing); it will be read next run"
    if code == "InvalidObjectState":
        return "archived (Glacier or Deep Archive): restore it first"
    return f"{code or status}: {error.get('Message', exc)}; it will be read again next run"
