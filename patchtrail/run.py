"""A run: objects in, one warehouse transaction out (land, merge history, record the load).

A crash or error mid-run rolls everything back (the warehouse stays as it was) and is then
recorded in landing.loads with status 'failed'. Bad records and bad objects do not fail the
run: they land in landing.rejected_records and the run goes on.

Objects are landed in one of two ways, with the same result:
- small objects (most AWS Config files are a few KB) are read whole, then landed together in
  batches of BATCH_ITEMS items, so thousands of files cost a handful of warehouse statements;
- large objects stream a batch at a time (memory stays bounded), and if one turns out bad
  part-way, what it landed is undone: an object is landed whole or rejected whole.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import duckdb
import orjson

from patchtrail.errors import PatchtrailError
from patchtrail.settings import BATCH_ITEMS, SMALL_OBJECT_BYTES
from patchtrail.sources.formats import ObjectError
from patchtrail.warehouse.history import merge_history
from patchtrail.warehouse.land import (
    event_ids,
    fill_event_ids,
    land_batch,
    record_load,
    record_object,
    record_rejected,
    start_object,
    start_run,
    undo_object,
)
from transforms.flatten import Flattened, RawItem, flatten

log = logging.getLogger("patchtrail")
#: Rejected records logged one by one per batch; the rest are only counted.
LOGGED_REJECTS = 5


@dataclass
class ObjectResult:
    """What happened to one object (file, export folder, S3 object, Lake window)."""

    uri: str
    format: str
    status: str                       # landed | rejected | unchanged
    read: int = 0
    landed: int = 0
    duplicate: int = 0
    skipped: int = 0
    rejected: int = 0
    size: int = 0
    error: str | None = None
    skipped_types: dict[str, int] = field(default_factory=dict)


@dataclass
class RunSummary:
    """The outcome of a run, as the CLI prints it and the flow publishes it."""

    load_id: int
    source: str
    warehouse: str
    started_at: datetime
    seconds: float = 0.0
    objects: list[ObjectResult] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    instances_affected: int = 0
    fleet: dict[str, Any] = field(default_factory=dict)
    top_accounts: list[dict[str, Any]] = field(default_factory=list)  # least compliant accounts
    queries: list[dict[str, Any]] = field(default_factory=list)   # CloudTrail Lake queries run

    def totals(self) -> dict[str, int]:
        objects = self.objects
        return {
            "objects_seen": len(objects),
            "objects_read": sum(o.status != "unchanged" for o in objects),
            "objects_unchanged": sum(o.status == "unchanged" for o in objects),
            "objects_rejected": sum(o.status == "rejected" for o in objects),
            "items_read": sum(o.read for o in objects),
            "items_landed": sum(o.landed for o in objects),
            "items_duplicate": sum(o.duplicate for o in objects),
            "items_skipped": sum(o.skipped for o in objects),
            "items_rejected": sum(o.rejected for o in objects),
        }

    @property
    def rejected_anything(self) -> bool:
        totals = self.totals()
        return bool(totals["objects_rejected"] or totals["items_rejected"])

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["totals"] = self.totals()
        return data


@dataclass
class _Pending:
    """A small object read whole, waiting to be landed with others."""

    result: ObjectResult
    sha256: str | None
    etag: str | None
    raws: list[RawItem]


class Run:
    """One run over a warehouse connection: `with Run(...) as run: run.land_object(...)`."""

    def __init__(self, con: duckdb.DuckDBPyConnection, *, source: str, warehouse: str,
                 parameters: dict[str, Any],
                 on_object: Callable[[ObjectResult], None] | None = None) -> None:
        self.con = con
        self.source = source
        self.parameters = parameters
        self.on_object = on_object
        self._clock = time.monotonic()
        self._pending: list[_Pending] = []
        self._pending_items = 0
        self.summary = RunSummary(load_id=0, source=source, warehouse=warehouse,
                                  started_at=datetime.now(UTC))

    def __enter__(self) -> Run:
        self.con.execute("begin transaction")
        self.summary.load_id = start_run(self.con)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self._fail(exc)
            return
        try:
            self.flush()
            self.summary.instances_affected = merge_history(self.con)
            self._record_load("succeeded", None)
            self.con.execute("commit")
        except BaseException as failure:
            self._fail(failure)
            raise
        self.summary.seconds = time.monotonic() - self._clock

    def unchanged(self, uri: str, fmt: str, size: int = 0) -> None:
        """Note an object skipped because the same content was read before."""
        self._done(ObjectResult(uri=uri, format=fmt, status="unchanged", size=size), None, None)

    def land_object(self, *, uri: str, fmt: str, items: Iterable[RawItem], sha256: str | None = None,
                    etag: str | None = None, size: int = 0,
                    payload: Callable[[], bytes | None] = lambda: None,
                    stream: bool | None = None) -> None:
        """Land one object's items (whole, or not at all); the result reaches `on_object`.

        Args:
            uri: the object's path, S3 URI or Lake query id (recorded in landing.source_objects).
            items: its raw items, read lazily; an `ObjectError` while reading rejects the object.
            size: bytes; objects up to SMALL_OBJECT_BYTES are landed together with others.
            payload: returns the object's bytes (or their start) if it has to be rejected whole.
            stream: force (True) or forbid (False) streaming; by default it follows `size`. A
                source that knows an object is large once decompressed says so here.
        """
        result = ObjectResult(uri=uri, format=fmt, status="landed", size=size)
        small = (0 < size <= SMALL_OBJECT_BYTES) if stream is None else not stream
        if small:
            try:
                raws = list(items)
            except (ObjectError, OSError) as exc:
                self._reject(result, exc, payload, sha256, etag)
                return
            self._pending.append(_Pending(result, sha256, etag, raws))
            self._pending_items += len(raws)
            if self._pending_items >= BATCH_ITEMS:
                self.flush()
            return
        self.flush()
        self._stream(result, items, payload, sha256, etag)

    def reject_object(self, *, uri: str, fmt: str, message: str, etag: str | None = None) -> None:
        """Record an object that could not be read at all (e.g. a Lake query that failed)."""
        result = ObjectResult(uri=uri, format=fmt, status="rejected")
        self._reject(result, ObjectError(message), lambda: None, None, etag)

    def flush(self) -> None:
        """Land the small objects read so far, in one batch, and record each of them."""
        if not self._pending:
            return
        pending, self._pending, self._pending_items = self._pending, [], 0
        flat = flatten(raw for p in pending for raw in p.raws)
        counts = land_batch(self.con, flat, load_id=self.summary.load_id, ingested_at=datetime.now(UTC))
        fill_event_ids(self.con, event_ids(flat))
        _log_rejects(flat)
        rejected = Counter(flat.rejected["source_ref"])
        for p in pending:
            refs = {raw.source_ref for raw in p.raws}
            skipped = Counter({t: n for (ref, t), n in flat.skipped_by_ref.items() if ref in refs})
            p.result.read = len(p.raws)
            p.result.landed = sum(counts.landed_by_ref.get(ref, 0) for ref in refs)
            p.result.rejected = sum(rejected[ref] for ref in refs)
            p.result.skipped, p.result.skipped_types = sum(skipped.values()), dict(skipped)
            p.result.duplicate = p.result.read - p.result.landed - p.result.rejected - p.result.skipped
            self._done(p.result, p.sha256, p.etag)

    def _stream(self, result: ObjectResult, items: Iterable[RawItem],
                payload: Callable[[], bytes | None], sha256: str | None, etag: str | None) -> None:
        skipped: Counter[str] = Counter()
        refs: set[str] = set()
        events = []
        start_object(self.con)
        try:
            for batch in _batches(iter(items), BATCH_ITEMS):
                refs.update(raw.source_ref for raw in batch)
                flat = flatten(batch)
                counts = land_batch(self.con, flat, load_id=self.summary.load_id,
                                    ingested_at=datetime.now(UTC))
                _log_rejects(flat)
                result.read += len(batch)
                result.landed += counts.landed
                result.rejected += counts.rejected
                skipped.update(flat.skipped)
                events.append(event_ids(flat))
        except (ObjectError, OSError) as exc:
            undo_object(self.con, load_id=self.summary.load_id, source_refs=refs)
            self._reject(ObjectResult(uri=result.uri, format=result.format, status="rejected",
                                      size=result.size), exc, payload, sha256, etag)
            return
        for table in events:
            fill_event_ids(self.con, table)
        result.skipped, result.skipped_types = sum(skipped.values()), dict(skipped)
        result.duplicate = result.read - result.landed - result.rejected - result.skipped
        self._done(result, sha256, etag)

    def _reject(self, result: ObjectResult, exc: Exception, payload: Callable[[], bytes | None],
                sha256: str | None, etag: str | None) -> None:
        message = str(exc) if isinstance(exc, ObjectError) else f"{result.uri}: unreadable ({exc})"
        log.error("rejected %s", message)
        result.status, result.error = "rejected", message
        record_rejected(self.con, load_id=self.summary.load_id, source=self.source,
                        source_ref=result.uri, record_ref=None, reason=message,
                        payload=_safe(payload), rejected_at=datetime.now(UTC))
        self._done(result, sha256, etag)

    def _done(self, result: ObjectResult, sha256: str | None, etag: str | None) -> None:
        if result.status != "unchanged":
            record_object(self.con, load_id=self.summary.load_id, source=self.source, uri=result.uri,
                          sha256=sha256, etag=etag, size=result.size, fmt=result.format,
                          status=result.status, counts=asdict(result), error=result.error,
                          recorded_at=datetime.now(UTC))
        self.summary.objects.append(result)
        if self.on_object:
            self.on_object(result)

    def _record_load(self, status: str, error: str | None) -> None:
        values: dict[str, Any] = {
            "load_id": self.summary.load_id, "source": self.source,
            "parameters": orjson.dumps(self.parameters, default=str).decode(),
            "started_at": self.summary.started_at, "finished_at": datetime.now(UTC),
            "status": status, "instances_affected": self.summary.instances_affected, "error": error,
        }
        values.update(self.summary.totals())
        record_load(self.con, values)

    def _fail(self, exc: BaseException | None) -> None:
        """Roll the run back, then record the failed load on its own."""
        try:
            self.con.execute("rollback")
        except duckdb.Error:
            pass
        try:
            self.con.execute("begin transaction")
            self._record_load("failed", f"{type(exc).__name__}: {exc}")
            self.con.execute("commit")
        except duckdb.Error:
            log.exception("could not record the failed load %s", self.summary.load_id)


def _log_rejects(flat: Flattened) -> None:
    for row in flat.rejected.head(LOGGED_REJECTS).itertuples():
        log.warning("rejected %s %s: %s", row.source_ref, row.record_ref, row.reason)
    if len(flat.rejected) > LOGGED_REJECTS:
        log.warning("... %d more records rejected (see landing.rejected_records)",
                    len(flat.rejected) - LOGGED_REJECTS)


def _safe(payload: Callable[[], bytes | None]) -> bytes | None:
    try:
        return payload()
    except (OSError, PatchtrailError):
        return None


def _batches(items: Iterator[RawItem], size: int) -> Iterator[list[RawItem]]:
    while batch := list(islice(items, size)):
        yield batch
