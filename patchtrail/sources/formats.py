"""Readers for the three file formats, shared by every source (local disk and S3).

- AWS Config delivery files (`ConfigHistory` / `ConfigSnapshot` `.json.gz`, aws-formats §5.1);
- CloudTrail Lake results saved to S3 (`result_N.csv.gz` + `result_sign.json`, §4);
- NDJSON of CloudTrail Lake events (one `eventJson` per line, §1.3).

Each reader takes a binary stream and yields `RawItem`s. A record-level problem becomes a
`RawItem` with `error` set; a problem with the whole object raises `ObjectError`.

Bounded memory and linear time, whatever the input:
- one record (a configuration item, an NDJSON line, a CSV line) may be at most
  MAX_RECORD_BYTES; a larger one is rejected with its size without being parsed (an NDJSON line
  or CSV line alone; inside a large Config file, which cannot be resynchronised, the file);
- a Config file up to WHOLE_JSON_BYTES (decompressed) is parsed whole with orjson, a larger one
  one configuration item at a time with ijson, in large buffers (ijson's cost grows with the
  square of the buffers a token spans).
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

from patchtrail.constants import LAKE_EXTRACT_COLUMNS
from patchtrail.sources.base import ObjectError, ObjectUnreadable  # noqa: F401 (re-exported)
from patchtrail.transforms.raw import RawItem

GZIP_MAGIC = b"\x1f\x8b"
LAKE_RESULT_FILE = re.compile(r"^result_(\d+)\.csv\.gz$")
SIGN_FILE = "result_sign.json"
#: Largest record read: a configuration item, an NDJSON line, a CSV line (bytes, decompressed).
#: A real PatchCompliance item of 700 patches is about 260 KB.
MAX_RECORD_BYTES = 16 << 20
#: Largest result_sign.json read (a real one is about 1 KB).
MAX_SIGN_FILE_BYTES = 1 << 20
#: Config files up to this size (decompressed) are parsed whole with orjson (fast); larger ones
#: are parsed incrementally with ijson, one configuration item at a time (bounded memory).
WHOLE_JSON_BYTES = 16 << 20
#: ijson's read buffer: large, so that one long string spans few buffers.
IJSON_BUFFER = 4 << 20
_HEADER_SEARCH_ROWS = 50
_GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)
#: Lake export column sets read (case-insensitive), besides the extraction query's.
_EVENT_JSON = "eventjson"
_EVENT_DATA = "eventdata"
_TRINO_STRUCT = re.compile(r"^\{[A-Za-z_][A-Za-z0-9_]*=")
#: The extraction columns without which a row is not an item (eventId/eventTime are optional).
_EXTRACT_NAMES = {c.lower(): c for c in LAKE_EXTRACT_COLUMNS}
_EXTRACT_REQUIRED = frozenset(_EXTRACT_NAMES) - {"eventid", "eventtime"}
csv.field_size_limit(MAX_RECORD_BYTES)  # a 700-patch item is a 260 KB cell; the default is 128 KB


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


def not_read_reason(name: str) -> str:
    """Why a file met while walking, of no format patchtrail reads, is not read."""
    base = name.rsplit("/", 1)[-1]
    if "/OversizedChangeNotification/" in name:
        return ("OversizedChangeNotification: a change notification too large for SNS, not a "
                "delivery file; not read (the item is delivered in the period's ConfigHistory file)")
    if base == "ConfigWritabilityCheckFile":
        return "ConfigWritabilityCheckFile (AWS Config's access check)"
    return "not a file patchtrail reads (.json.gz, .json, .ndjson[.gz], result_N.csv.gz)"


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
        body = _loads_whole(head, ref)
        if body is not None:
            del head
            yield from _config_items(body, source=source, ref=ref)
            return
        raw = io.BytesIO(head)  # nested past orjson's limit: item by item, the deep one rejected
        head = b""
    yield from _config_items_streaming(_Prefixed(head, raw), source=source, ref=ref)


def _loads_whole(data: bytes, ref: str) -> Any:
    """The parsed document, or None when only its nesting depth defeats orjson."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc) or "recursion" in str(exc).lower():
            return None
        raise ObjectError(f"{ref}: not JSON ({exc})") from None


def _config_items(body: Any, *, source: str, ref: str) -> Iterator[RawItem]:
    """The items of a delivery file (`configurationItems`), or the one item of a Config rule's
    invoking event or an SNS change notification (`configurationItem`, maybe under `Message`)."""
    items = body.get("configurationItems") if isinstance(body, dict) else None
    if isinstance(items, list):
        for index, item in enumerate(items):
            yield _config_item(item, index, source=source, ref=ref)
        return
    message = body.get("Message") if isinstance(body, dict) else None
    for holder in (body, message):
        if isinstance(holder, dict) and isinstance(holder.get("configurationItem"), dict):
            yield _config_item(holder["configurationItem"], 0, source=source, ref=ref)
            return
    for holder in (body, message):
        if isinstance(holder, dict) and holder.get("messageType"):
            where = f"s3://{holder['s3Bucket']}/{holder['s3ObjectKey']}" if holder.get("s3ObjectKey") else ""
            raise ObjectError(f"{ref}: an AWS Config notification ({holder['messageType']}), not a "
                              f"delivery file{'; it names ' + where + ', read that instead' if where else ''}")
    raise ObjectError(f"{ref}: no configurationItems list (not an AWS Config delivery file)")


def _config_items_streaming(stream: IO[bytes], *, source: str, ref: str) -> Iterator[RawItem]:
    """`configurationItems` one at a time; the file is never held whole (aws-formats §5.1).

    A configuration item larger than MAX_RECORD_BYTES rejects the file: ijson cannot skip it
    without building it, and cannot resume after it."""
    import ijson

    counted = _Counted(stream)
    index = -1
    try:
        for index, item in enumerate(ijson.items(counted, "configurationItems.item", use_float=True,
                                                 buf_size=IJSON_BUFFER)):
            counted.mark()
            yield _config_item(item, index, source=source, ref=ref)
    except _RecordTooLarge as exc:
        raise ObjectError(f"{ref}: item {index + 1} is larger than {MAX_RECORD_BYTES} bytes "
                          f"(read {exc.size} bytes without reaching its end); the file was not "
                          "read") from None
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
    return RawItem(_text(item), source, ref, f"item {index}",
                   error="configuration item is not a JSON object")


def read_lake_events(stream: IO[bytes], *, source: str, ref: str) -> Iterator[RawItem]:
    """Yield one CloudTrail Lake event per non-empty line of an NDJSON stream."""
    for number, line in _lines(stream, ref):
        where = f"line {number}"
        if isinstance(line, _Oversized):
            yield RawItem(line.head, source, ref, where, error=line.reason)
            continue
        line = line.strip()
        if not line:
            continue
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield RawItem(_decoded(line), source, ref, where, error=f"invalid JSON ({exc})")
            continue
        if isinstance(event, dict):
            yield RawItem(event, source, ref, where)
        else:
            yield RawItem(_decoded(line), source, ref, where, error="event is not a JSON object")


def read_lake_result_csv(stream: IO[bytes], *, source: str, ref: str) -> Iterator[RawItem]:
    """Yield the rows of a saved CloudTrail Lake result (comment line, header, CRLF rows).

    Three column sets are read (names case-insensitive, other columns ignored): the JSON-safe
    extraction query's (aws-formats §6.4), an `eventJson` column holding each event as JSON, or
    an `eventData` column holding the event's data as JSON. `SELECT *` saves `eventData` as a
    Trino-rendered struct (`{key=value, ...}`), which is not JSON: such an export is rejected.
    """
    oversized: list[tuple[int, _Oversized]] = []
    physical = _csv_lines(stream, ref, oversized)
    reader = csv.reader(physical)
    header = _find_header(reader, ref)
    columns = [c.strip().lower() for c in header]
    shape = _export_shape(columns, ref)
    if len(set(columns)) != len(columns):
        raise ObjectError(f"{ref}: CSV header names a column twice ({','.join(header)[:200]!r})")
    width = len(header)
    try:
        for row in reader:
            while oversized:
                number, line = oversized.pop(0)
                yield RawItem(line.head, source, ref, f"line {number}", error=line.reason)
            if not row:
                continue
            where = f"line {reader.line_num}"
            if len(row) != width:
                yield RawItem(",".join(row), source, ref, where,
                              error=f"{len(row)} fields, expected {width}")
                continue
            cells = dict(zip(columns, row, strict=True))
            yield _export_row(shape, header, row, cells, source=source, ref=ref, where=where)
    except csv.Error as exc:
        raise ObjectError(f"{ref}: malformed CSV at line {reader.line_num} ({exc})") from None
    for number, line in oversized:
        yield RawItem(line.head, source, ref, f"line {number}", error=line.reason)


def _shape_of(columns: list[str]) -> str | None:
    if _EXTRACT_REQUIRED <= set(columns):
        return "extraction"
    if _EVENT_JSON in columns:
        return "event_json"
    if _EVENT_DATA in columns:
        return "event_data"
    return None


def _export_shape(columns: list[str], ref: str) -> str:
    shape = _shape_of(columns)
    if shape:
        return shape
    raise ObjectError(
        f"{ref}: unexpected CSV header {','.join(columns)[:200]!r}: expected the columns of "
        f"{','.join(LAKE_EXTRACT_COLUMNS)!r} (the JSON-safe extraction query of sql/lake/), or an "
        "eventJson or eventData column holding JSON")


def _export_row(shape: str, header: list[str], row: list[str], cells: dict[str, str], *,
                source: str, ref: str, where: str) -> RawItem:
    if shape == "extraction":
        record: dict[str, Any] = {name: cells[key] for key, name in _EXTRACT_NAMES.items()
                                  if cells.get(key, "") != ""}
        return RawItem(record, source, ref, where)
    column = _EVENT_JSON if shape == "event_json" else _EVENT_DATA
    text = cells[column]
    if _TRINO_STRUCT.match(text):
        raise ObjectError(
            f"{ref}: the {header[list(cells).index(column)]} column is rendered as a Trino struct "
            "({key=value, ...}), not JSON: this is what SELECT * saves, and it cannot be read back "
            "reliably. Save the results of sql/lake/extract_patch_compliance.sql (or SELECT "
            "eventJson) instead.")
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return RawItem(",".join(row), source, ref, where, error=f"{column} is not JSON ({exc})")
    if not isinstance(value, dict):
        return RawItem(",".join(row), source, ref, where, error=f"{column} is not a JSON object")
    if shape == "event_data":
        value = {"eventData": value, "eventID": cells.get("eventid") or None,
                 "eventTime": cells.get("eventtime") or None}
    return RawItem(value, source, ref, where)


def _find_header(reader: Any, ref: str) -> list[str]:
    """The header row: the first row naming a known column set. The comment line before it may
    span several lines (the query statement is written as typed)."""
    first_row: list[str] | None = None
    try:
        for _ in range(_HEADER_SEARCH_ROWS):
            row = next(reader, None)
            if row is None:
                break
            if not row or row[0].startswith("#"):
                continue
            if _shape_of([c.strip().lower() for c in row]):
                return row
            first_row = first_row or row
    except csv.Error as exc:
        raise ObjectError(f"{ref}: malformed CSV header ({exc})") from None
    return first_row or []


def _read_upto(stream: IO[bytes], size: int, ref: str) -> bytes:
    """Up to `size` bytes (all with -1); gzip damage is an ObjectError."""
    try:
        return stream.read(size)
    except _GZIP_ERRORS as exc:
        raise ObjectError(f"{ref}: corrupt or truncated gzip data ({exc or type(exc).__name__})") from None


class _Oversized:
    """A line longer than MAX_RECORD_BYTES, skipped without being held: its start and size."""

    def __init__(self, head: bytes, size: int) -> None:
        self.head = _decoded(head[:1024])
        self.reason = (f"record of at least {size} bytes is larger than the limit of "
                       f"{MAX_RECORD_BYTES} bytes; not parsed")


def _lines(stream: IO[bytes], ref: str) -> Iterator[tuple[int, bytes | _Oversized]]:
    """(line number, bytes) of a (possibly gzipped) stream; a line over MAX_RECORD_BYTES comes
    as `_Oversized` after being read through in chunks. Gzip damage is an ObjectError."""
    raw = decompressed(stream)
    number = 0
    try:
        while True:
            line = raw.readline(MAX_RECORD_BYTES + 1)
            if not line:
                return
            number += 1
            if len(line) > MAX_RECORD_BYTES and not line.endswith(b"\n"):
                size = len(line)
                while chunk := raw.readline(1 << 20):
                    size += len(chunk)
                    if chunk.endswith(b"\n"):
                        break
                yield number, _Oversized(line, size)
                continue
            yield number, line
    except _GZIP_ERRORS as exc:
        raise ObjectError(f"{ref}: corrupt or truncated gzip data ({exc or type(exc).__name__})") from None


def _csv_lines(stream: IO[bytes], ref: str, oversized: list[tuple[int, _Oversized]]) -> Iterator[str]:
    """Text lines for the csv module; lines that are too long or not UTF-8 are replaced by an
    empty line (so line numbers hold) and reported through `oversized`."""
    for number, line in _lines(stream, ref):
        if isinstance(line, _Oversized):
            oversized.append((number, line))
            yield "\r\n"
            continue
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = _Oversized(line, len(line))
            bad.reason = f"not UTF-8 text ({exc})"
            oversized.append((number, bad))
            yield "\r\n"


def _decoded(data: bytes) -> str:
    return data.decode("utf-8", "backslashreplace")


def _text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except (orjson.JSONEncodeError, TypeError):
        return repr(value)[:1 << 20]


class _RecordTooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


class _Counted(io.RawIOBase):
    """A stream that refuses to deliver more than MAX_RECORD_BYTES past the last `mark()`."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._since_mark = 0

    def readable(self) -> bool:
        return True

    def mark(self) -> None:
        self._since_mark = 0

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        self._since_mark += n
        if self._since_mark > MAX_RECORD_BYTES + IJSON_BUFFER:
            raise _RecordTooLarge(self._since_mark)
        buffer[:n] = data
        return n

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = IJSON_BUFFER
        buffer = bytearray(size)
        n = self.readinto(buffer)
        return bytes(buffer[:n])


class _Prefixed(io.RawIOBase):
    """A stream whose first bytes were already read: serves `head`, then the rest of `tail`."""

    def __init__(self, head: bytes, tail: IO[bytes]) -> None:
        self._head: memoryview | None = memoryview(head) if head else None
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
