"""Readers for the three file formats, shared by every source (local disk now, S3 later).

- AWS Config delivery files (`ConfigHistory` / `ConfigSnapshot` `.json.gz`, aws-formats §5.1);
- CloudTrail Lake results saved to S3 (`result_N.csv.gz` + `result_sign.json`, §4);
- NDJSON of CloudTrail Lake events (one `eventJson` per line, §1.3).

Each reader takes a binary stream and yields `RawItem`s. A record-level problem becomes a
`RawItem` with `error` set; a problem with the whole object raises `ObjectError`.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from typing import IO, Any

import orjson

from patchtrail.errors import PatchtrailError
from patchtrail.settings import LAKE_EXTRACT_COLUMNS
from transforms.flatten import RawItem

GZIP_MAGIC = b"\x1f\x8b"
LAKE_RESULT_FILE = re.compile(r"^result_(\d+)\.csv\.gz$")
SIGN_FILE = "result_sign.json"
_HEADER_SEARCH_ROWS = 50


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
        return gzip.GzipFile(fileobj=buffered)  # type: ignore[return-value]
    return buffered


def read_config_delivery(stream: IO[bytes], *, source: str, ref: str) -> Iterator[RawItem]:
    """Yield each entry of `configurationItems` in an AWS Config history or snapshot file."""
    data = _read_all(stream, ref)
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ObjectError(f"{ref}: not JSON ({exc})") from None
    items = body.get("configurationItems") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise ObjectError(f"{ref}: no configurationItems list (not an AWS Config delivery file)")
    for index, item in enumerate(items):
        if isinstance(item, dict):
            yield RawItem(item, source, ref, f"item {index}")
        else:
            yield RawItem(orjson.dumps(item).decode(), source, ref, f"item {index}",
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


def _read_all(stream: IO[bytes], ref: str) -> bytes:
    try:
        return decompressed(stream).read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise ObjectError(f"{ref}: corrupt or truncated gzip data ({exc or type(exc).__name__})") from None


def _text_lines(stream: IO[bytes], ref: str) -> Iterator[str]:
    """Decode a (possibly gzipped) stream line by line; gzip damage is an ObjectError."""
    raw = decompressed(stream)
    text = io.TextIOWrapper(raw, encoding="utf-8", newline="")  # csv needs newline=""
    try:
        yield from text
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise ObjectError(f"{ref}: corrupt or truncated gzip data ({exc or type(exc).__name__})") from None
    except UnicodeDecodeError as exc:
        raise ObjectError(f"{ref}: not UTF-8 text ({exc})") from None
