"""Readers for the three file formats, shared by every source (local disk and S3).

- AWS Config delivery files (`ConfigHistory` / `ConfigSnapshot` `.json.gz`, aws-formats §5.1);
- CloudTrail Lake results saved to S3 (`result_N.csv.gz` + `result_sign.json`, §4);
- NDJSON of CloudTrail Lake events (one `eventJson` per line, §1.3).

Each reader takes a binary stream and yields `RawItem`s. A record-level problem becomes a
`RawItem` with `error` set; a problem with the whole object raises `ObjectError`.
Readers stream: memory stays bounded whatever the object's size (a Config file larger than
WHOLE_JSON_BYTES once decompressed is parsed one configuration item at a time, with ijson).
`verify_sign_file` checks a Lake export against its `result_sign.json` (hashes, optionally the
RSA signature).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import logging
import re
import zlib
from collections.abc import Iterator, Mapping
from typing import IO, Any

import orjson

from patchtrail.errors import PatchtrailError
from patchtrail.settings import LAKE_EXTRACT_COLUMNS
from transforms.flatten import RawItem

GZIP_MAGIC = b"\x1f\x8b"
LAKE_RESULT_FILE = re.compile(r"^result_(\d+)\.csv\.gz$")
SIGN_FILE = "result_sign.json"
_HEADER_SEARCH_ROWS = 50
#: Config files up to this size (decompressed) are parsed whole with orjson (fast); larger ones
#: are parsed incrementally with ijson, one configuration item at a time (bounded memory).
WHOLE_JSON_BYTES = 16 << 20
_GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)

log = logging.getLogger("patchtrail")


class ObjectError(PatchtrailError):
    """A whole file or object cannot be read (not gzip, not JSON, wrong header, bad signature)."""


def format_of(name: str) -> str | None:
    """The format a file name implies: config_delivery, lake_events, lake_result, lake_sign, or None."""
    base = name.rsplit("/", 1)[-1]
    if base == SIGN_FILE:
        return "lake_sign"
    if LAKE_RESULT_FILE.match(base):
        return "lake_result"
    if base.endswith((".ndjson", ".ndjson.gz", ".jsonl", ".jsonl.gz")):
        return "lake_events"
    if "/OversizedChangeNotification/" in name or base == "ConfigWritabilityCheckFile":
        return None
    if base.endswith((".json.gz", ".json")):
        return "config_delivery"
    return None


def decompressed(stream: IO[bytes]) -> IO[bytes]:
    """The stream itself, or a gunzipping reader when it starts with the gzip magic bytes."""
    buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream)  # type: ignore[arg-type]
    if buffered.peek(2)[:2] == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[return-value]
    return buffered


def read_config_delivery(stream: IO[bytes], *, source: str, ref: str,
                         whole_json_bytes: int = WHOLE_JSON_BYTES) -> Iterator[RawItem]:
    """Yield each entry of `configurationItems` in an AWS Config history or snapshot file.

    Args:
        stream: the file's bytes, gzip-compressed or not.
        whole_json_bytes: decompressed size up to which the file is parsed in one go; a larger
            file is parsed incrementally (ijson), so its size does not bound memory.
    """
    raw = decompressed(stream)
    head = _read_upto(raw, whole_json_bytes + 1, ref)
    if len(head) <= whole_json_bytes:
        yield from _config_items_whole(head, source=source, ref=ref)
    else:
        yield from _config_items_streaming(_Prefixed(head, raw), source=source, ref=ref)


def _config_items_whole(data: bytes, *, source: str, ref: str) -> Iterator[RawItem]:
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ObjectError(f"{ref}: not JSON ({exc})") from None
    del data
    items = body.get("configurationItems") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise ObjectError(f"{ref}: no configurationItems list (not an AWS Config delivery file)")
    for index, item in enumerate(items):
        yield _config_item(item, index, source=source, ref=ref)


def _config_items_streaming(stream: _Prefixed, *, source: str, ref: str) -> Iterator[RawItem]:
    """`configurationItems` one at a time; the file is never held whole (aws-formats §5.1)."""
    try:
        import ijson
    except ImportError:  # pragma: no cover - ijson is a dependency; keep working without it
        log.warning("%s: ijson is not installed; reading a large file whole", ref)
        yield from _config_items_whole(_read_upto(stream, -1, ref), source=source, ref=ref)
        return
    index = -1
    try:
        for index, item in enumerate(ijson.items(stream, "configurationItems.item", use_float=True)):
            yield _config_item(item, index, source=source, ref=ref)
    except ijson.JSONError as exc:
        raise ObjectError(f"{ref}: not JSON ({exc})") from None
    except _GZIP_ERRORS as exc:
        raise ObjectError(f"{ref}: corrupt or truncated gzip data ({exc or type(exc).__name__})") from None
    except UnicodeDecodeError as exc:
        raise ObjectError(f"{ref}: not UTF-8 text ({exc})") from None
    if index < 0:  # a file this large with no items is not a Config delivery file
        raise ObjectError(f"{ref}: no configurationItems list (not an AWS Config delivery file)")


def _config_item(item: Any, index: int, *, source: str, ref: str) -> RawItem:
    if isinstance(item, dict):
        return RawItem(item, source, ref, f"item {index}")
    return RawItem(orjson.dumps(item).decode(), source, ref, f"item {index}",
                   error="configuration item is not a JSON object")


def read_lake_events(stream: IO[bytes], *, source: str, ref: str) -> Iterator[RawItem]:
    """Yield one CloudTrail Lake event per non-empty line of an NDJSON stream."""
    text = _text_lines(stream, ref)
    for number, line in enumerate(text, start=1):
        line = line.strip()
        if not line:
            continue
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield RawItem(line, source, ref, f"line {number}", error=f"invalid JSON ({exc})")
            continue
        if isinstance(event, dict):
            yield RawItem(event, source, ref, f"line {number}")
        else:
            yield RawItem(line, source, ref, f"line {number}", error="event is not a JSON object")


def read_lake_result_csv(stream: IO[bytes], *, source: str, ref: str) -> Iterator[RawItem]:
    """Yield the rows of a saved CloudTrail Lake result (comment line, header, CRLF rows).

    The header must name exactly the extraction columns (aws-formats §6.4), in any order.
    """
    reader = csv.reader(_text_lines(stream, ref))
    header = _find_header(reader, ref)
    width = len(header)
    try:
        for row in reader:
            if not row:
                continue
            where = f"line {reader.line_num}"
            if len(row) != width:
                yield RawItem(",".join(row), source, ref, where,
                              error=f"{len(row)} fields, expected {width}")
                continue
            record: dict[str, Any] = {k: v for k, v in zip(header, row, strict=True) if v != ""}
            yield RawItem(record, source, ref, where)
    except csv.Error as exc:
        raise ObjectError(f"{ref}: malformed CSV at line {reader.line_num} ({exc})") from None


def verify_sign_file(sign: bytes, hashes: Mapping[str, str], *, ref: str,
                     public_key: bytes | None = None) -> dict[str, Any]:
    """Check a Lake export's result files against its `result_sign.json` (aws-formats §4.4).

    Any problem rejects the whole export (`ObjectError` naming the file): a result file listed
    in the sign file but missing, present but not listed, or whose SHA-256 differs; with
    `public_key`, also a fingerprint or RSA signature (SHA256withRSA, PKCS#1 v1.5) that does not
    verify.

    Args:
        sign: the bytes of `result_sign.json`.
        hashes: result file name -> hex SHA-256 of the bytes actually read.
        ref: the export (folder or `s3://bucket/.../<query-id>/`); messages name ref/file.
        public_key: DER public key (PKCS#1, as ListPublicKeys returns it), or None.
    Returns the parsed sign file.
    """
    sign_ref = _member(ref, SIGN_FILE)
    try:
        body = orjson.loads(sign)
        listed = {f["fileName"]: f["fileHashValue"].lower() for f in body["files"]}
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ObjectError(f"{sign_ref}: unreadable sign file ({type(exc).__name__}: {exc})") from None
    algorithm = str(body.get("hashAlgorithm", "SHA-256")).upper()
    if algorithm != "SHA-256":
        raise ObjectError(f"{sign_ref}: hashAlgorithm {algorithm!r} is not SHA-256")
    for name in sorted(set(listed) - set(hashes)):
        raise ObjectError(f"{_member(ref, name)}: listed in {SIGN_FILE} but missing; export rejected")
    for name in sorted(set(hashes) - set(listed)):
        raise ObjectError(f"{_member(ref, name)}: not listed in {SIGN_FILE}; export rejected")
    for name in sorted(hashes):
        if hashes[name].lower() != listed[name]:
            raise ObjectError(
                f"{_member(ref, name)}: SHA-256 {hashes[name]} does not match {listed[name]} in "
                f"{SIGN_FILE}; export rejected (tampered or incomplete)")
    if public_key is not None:
        _verify_signature(body, public_key, sign_ref=sign_ref)
    return body


def _verify_signature(body: dict[str, Any], public_key: bytes, *, sign_ref: str) -> None:
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    algorithm = str(body.get("signatureAlgorithm", ""))
    if algorithm != "SHA256withRSA":
        raise ObjectError(f"{sign_ref}: signatureAlgorithm {algorithm!r} is not SHA256withRSA")
    fingerprint = hashlib.md5(public_key, usedforsecurity=False).hexdigest()
    expected = str(body.get("publicKeyFingerprint", "")).lower()
    if fingerprint != expected:
        raise ObjectError(f"{sign_ref}: signed with the key of fingerprint {expected!r}, but the "
                          f"public key given has fingerprint {fingerprint!r}; export rejected")
    try:
        key = serialization.load_der_public_key(public_key)
        signature = bytes.fromhex(str(body.get("hashSignature", "")))
        data = " ".join(str(f["fileHashValue"]) for f in body["files"]).encode()
        key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr, call-arg]
    except (ValueError, UnsupportedAlgorithm, TypeError) as exc:
        raise ObjectError(f"{sign_ref}: cannot check the signature ({exc})") from None
    except InvalidSignature:
        raise ObjectError(f"{sign_ref}: the RSA signature (SHA256withRSA) does not verify; "
                          "export rejected") from None


def _member(ref: str, name: str) -> str:
    return f"{ref.rstrip('/')}/{name}"


def _find_header(reader: Any, ref: str) -> list[str]:
    expected = set(LAKE_EXTRACT_COLUMNS)
    first_data_row: list[str] | None = None
    try:
        for _ in range(_HEADER_SEARCH_ROWS):
            row = next(reader, None)
            if row is None:
                break
            if not row or row[0].startswith("#"):
                continue
            if set(row) == expected and len(row) == len(expected):
                return row
            first_data_row = first_data_row or row
    except csv.Error as exc:
        raise ObjectError(f"{ref}: malformed CSV header ({exc})") from None
    got = ",".join(first_data_row)[:200] if first_data_row else "nothing"
    raise ObjectError(
        f"{ref}: unexpected CSV header: got {got!r}, expected {','.join(LAKE_EXTRACT_COLUMNS)!r} "
        "(the JSON-safe extraction query of sql/lake/)"
    )


def _read_upto(stream: IO[bytes], size: int, ref: str) -> bytes:
    """Up to `size` bytes (all with -1); gzip damage is an ObjectError."""
    try:
        return stream.read(size)
    except _GZIP_ERRORS as exc:
        raise ObjectError(f"{ref}: corrupt or truncated gzip data ({exc or type(exc).__name__})") from None


class _Prefixed(io.RawIOBase):
    """A stream whose first bytes were already read: serves `head`, then the rest of `tail`."""

    def __init__(self, head: bytes, tail: IO[bytes]) -> None:
        self._head: memoryview | None = memoryview(head)
        self._tail = tail

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head is not None:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:] if n < len(self._head) else None  # drop the head once served
            return n
        data = self._tail.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _text_lines(stream: IO[bytes], ref: str) -> Iterator[str]:
    """Decode a (possibly gzipped) stream line by line; gzip damage is an ObjectError."""
    raw = decompressed(stream)
    text = io.TextIOWrapper(raw, encoding="utf-8", newline="")  # csv needs newline=""
    try:
        yield from text
    except _GZIP_ERRORS as exc:
        raise ObjectError(f"{ref}: corrupt or truncated gzip data ({exc or type(exc).__name__})") from None
    except UnicodeDecodeError as exc:
        raise ObjectError(f"{ref}: not UTF-8 text ({exc})") from None
