"""A run: objects in, one warehouse transaction out (land, merge history, record the load).

A crash or a warehouse error mid-run rolls everything back (the warehouse stays as it was) and
is then recorded in landing.loads with status 'failed'. Nothing an object holds can fail a run:
a bad record lands in landing.rejected_records, and an object that cannot be read (or whose
reader breaks, for whatever reason) is rejected whole, named, and the run goes on.

Objects are landed in one of two ways, with the same result, decided by reading (not by file
size, which says little once data is compressed):
- small objects (fewer than BATCH_ITEMS items: most AWS Config files hold a few) are read whole,
  then landed together in batches, so thousands of files cost a handful of warehouse statements;
- larger objects stream a batch at a time (memory stays bounded), and if one turns out bad
  part-way, what it landed is undone: an object is landed whole or rejected whole.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import chain, islice
from typing import Any

import duckdb
import orjson

from patchtrail.settings import BATCH_ITEMS
from patchtrail.sources.base import ObjectError, ObjectUnreadable, SourceObject
from patchtrail.warehouse.history import merge_history
from patchtrail.warehouse.land import (
    LandCounts,
    event_ids,
    fill_event_ids,
    land_batch,
    record_load,
    record_object,
    record_rejected,
    resolve_conflicts,
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
    """What happened to one object (file, export folder, S3 object, Lake window).

    `read = landed + duplicate + skipped + rejected` always holds for its items."""

    uri: str
    format: str
    status: str                       # landed | rejected | unchanged | ignored
    read: int = 0
    landed: int = 0
    duplicate: int = 0
    skipped: int = 0
    rejected: int = 0
    size: int = 0
    error: str | None = None
    skipped_types: dict[str, int] = field(default_factory=dict)
    retry: bool = False               # could not be read this time: read again next run


@dataclass
class RunSummary:
    """The outcome of a run, as the CLI prints it and the flow publishes it."""

    load_id: int
    source: str
    warehouse: str
    started_at: datetime
    seconds: float = 0.0
    objects: list[ObjectResult] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)      # "<uri>: <why>" of what was not read
    not_found: list[str] = field(default_factory=list)    # paths or prefixes named that do not exist
    instances_affected: int = 0
    fleet: dict[str, Any] = field(default_factory=dict)
    top_accounts: list[dict[str, Any]] = field(default_factory=list)  # least compliant accounts
    queries: list[dict[str, Any]] = field(default_factory=list)   # CloudTrail Lake queries run
    conflicts: int = 0          # variants landed under a known identity with other content

    def totals(self) -> dict[str, int]:
        objects = [o for o in self.objects if o.status != "ignored"]
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


class ReadFailed(Exception):
    """Reading an object's items raised `error` (wrapped so it is never mistaken for a
    warehouse failure, which must fail the run)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class _Pending:
    """A small object read whole, waiting to be landed with others."""

    obj: SourceObject
    result: ObjectResult
    raws: list[RawItem]


class Run:
    """One run over a warehouse connection: `with Run(...) as run: run.land(obj, items)`."""

    def __init__(self, con: duckdb.DuckDBPyConnection, *, source: str, warehouse: str,
                 parameters: dict[str, Any],
                 on_object: Callable[[ObjectResult], None] | None = None,
                 now: datetime | None = None) -> None:
        self.con = con
        self.source = source
        self.parameters = parameters
        self.on_object = on_object
        self.now = now or datetime.now(UTC)
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
            resolve_conflicts(self.con, load_id=self.summary.load_id)
            self.summary.instances_affected = merge_history(self.con)
            self._record_load("succeeded", None)
            self.con.execute("commit")
        except BaseException as failure:
            self._fail(failure)
            raise
        self.summary.seconds = time.monotonic() - self._clock

    def unchanged(self, obj: SourceObject) -> None:
        """Note an object skipped because the same content was read before."""
        self._done(obj, ObjectResult(uri=obj.uri, format=obj.format, status="unchanged", size=obj.size))

    def ignore(self, obj: SourceObject, *, record: bool) -> None:
        """Note an object deliberately not read (its reason in `obj.error`); `record` keeps it
        in landing.source_objects (with its digest) so it is not noted again."""
        self.summary.ignored.append(f"{obj.uri}: {obj.error}")
        if record:
            self._record(obj, ObjectResult(uri=obj.uri, format=obj.format, status="ignored",
                                           size=obj.size, error=obj.error), digest=obj.digest)

    def land(self, obj: SourceObject, items: Iterable[RawItem], *,
             payload: Callable[[], bytes | None] = lambda: None) -> None:
        """Land one object's items (whole, or not at all); the result reaches `on_object`.

        Args:
            obj: the listed object.
            items: its raw items, read lazily; any error while reading rejects the object. The
                first BATCH_ITEMS are read; if that is all, the object waits to be landed with
                others, otherwise it streams.
            payload: returns the object's bytes (or their start) if it has to be rejected whole.
        """
        result = ObjectResult(uri=obj.uri, format=obj.format, status="landed", size=obj.size)
        if obj.error:
            self._reject(obj, result, ObjectError(f"{obj.uri}: {obj.error}"), payload)
            return
        guarded = _guarded(items)
        try:
            raws = list(islice(guarded, BATCH_ITEMS + 1))
        except ReadFailed as failure:
            self._reject(obj, result, failure.error, payload)
            return
        if len(raws) <= BATCH_ITEMS:
            self._pending.append(_Pending(obj, result, raws))
            self._pending_items += len(raws)
            if self._pending_items >= BATCH_ITEMS:
                self.flush()
            return
        self.flush()
        self._stream(obj, result, chain(raws, guarded), payload)

    def reject(self, obj: SourceObject, error: ObjectError) -> None:
        """Record an object that could not be read at all (e.g. a Lake query that failed)."""
        result = ObjectResult(uri=obj.uri, format=obj.format, status="rejected", size=obj.size)
        self._reject(obj, result, error, lambda: None)

    def flush(self) -> None:
        """Land the small objects read so far, in one batch, and record each of them."""
        if not self._pending:
            return
        pending, self._pending, self._pending_items = self._pending, [], 0
        pending, flat = self._flatten_pending(pending)
        if not pending:
            return
        counts = land_batch(self.con, flat, load_id=self.summary.load_id, ingested_at=datetime.now(UTC))
        self.summary.conflicts += counts.conflicts
        fill_event_ids(self.con, event_ids(flat))
        _log_rejects(flat)
        rejected = Counter(flat.rejected["source_ref"])
        for p in pending:
            refs = {raw.source_ref for raw in p.raws}
            skipped = Counter({t: n for (ref, t), n in flat.skipped_by_ref.items() if ref in refs})
            p.result.read = len(p.raws)
            p.result.landed = sum(counts.landed_by_ref.get(ref, 0) for ref in refs)
            p.result.duplicate = sum(counts.duplicate_by_ref.get(ref, 0) for ref in refs)
            p.result.rejected = sum(rejected[ref] for ref in refs)
            p.result.skipped, p.result.skipped_types = sum(skipped.values()), dict(skipped)
            self._done(p.obj, p.result)

    def _flatten_pending(self, pending: list[_Pending]) -> tuple[list[_Pending], Flattened]:
        """Flatten the pending objects together; should flatten ever break, find the object
        that breaks it and reject that one alone."""
        try:
            return pending, flatten((raw for p in pending for raw in p.raws), now=self.now)
        except Exception:  # noqa: BLE001 - a flatten bug must not fail the run
            log.exception("flatten failed on a batch of %d objects; retrying them one by one", len(pending))
        kept = []
        for p in pending:
            try:
                flatten(p.raws, now=self.now)
            except Exception as exc:  # noqa: BLE001
                self._reject(p.obj, p.result, exc, lambda: None)
                continue
            kept.append(p)
        return kept, flatten((raw for p in kept for raw in p.raws), now=self.now)

    def _stream(self, obj: SourceObject, result: ObjectResult, items: Iterable[RawItem],
                payload: Callable[[], bytes | None]) -> None:
        skipped: Counter[str] = Counter()
        refs: set[str] = set()
        events = []
        start_object(self.con)
        try:
            for batch in _batches(iter(items), BATCH_ITEMS):
                refs.update(raw.source_ref for raw in batch)
                try:
                    flat = flatten(batch, now=self.now)
                except Exception as exc:  # noqa: BLE001 - a flatten bug must not fail the run
                    raise ReadFailed(exc) from exc
                counts: LandCounts = land_batch(self.con, flat, load_id=self.summary.load_id,
                                                ingested_at=datetime.now(UTC))
                _log_rejects(flat)
                self.summary.conflicts += counts.conflicts
                result.read += len(batch)
                result.landed += counts.landed
                result.duplicate += counts.duplicate
                result.rejected += counts.rejected
                skipped.update(flat.skipped)
                events.append(event_ids(flat))
        except ReadFailed as failure:
            undo_object(self.con, load_id=self.summary.load_id, source_refs=refs)
            self._reject(obj, ObjectResult(uri=result.uri, format=result.format, status="rejected",
                                           size=result.size), failure.error, payload)
            return
        for table in events:
            fill_event_ids(self.con, table)
        result.skipped, result.skipped_types = sum(skipped.values()), dict(skipped)
        self._done(obj, result)

    def _reject(self, obj: SourceObject, result: ObjectResult, exc: BaseException,
                payload: Callable[[], bytes | None]) -> None:
        if isinstance(exc, ObjectUnreadable | OSError):
            retry = True
            message = str(exc) if isinstance(exc, ObjectError) else (
                f"{obj.uri}: unreadable ({exc.strerror or exc}); it will be read again next run")
        elif isinstance(exc, ObjectError):
            retry, message = False, str(exc)
        else:  # a reader or flatten bug: name it, and read the object again next run
            log.error("reading %s failed unexpectedly", obj.uri, exc_info=exc)
            retry = True
            message = (f"{obj.uri}: could not be read ({type(exc).__name__}: {exc}); "
                       "it will be read again next run")
        log.error("rejected %s", message)
        result.status, result.error, result.retry = "rejected", message, retry
        result.read = result.landed = result.duplicate = result.skipped = result.rejected = 0
        result.skipped_types = {}
        record_rejected(self.con, load_id=self.summary.load_id, source=self.source,
                        source_ref=obj.uri, record_ref=None, reason=message,
                        payload=_safe(payload), rejected_at=datetime.now(UTC))
        self._done(obj, result)

    def _done(self, obj: SourceObject, result: ObjectResult) -> None:
        if result.status != "unchanged":
            self._record(obj, result, digest=None if result.retry else obj.digest)
        self.summary.objects.append(result)
        if self.on_object:
            self.on_object(result)

    def _record(self, obj: SourceObject, result: ObjectResult, *, digest: str | None) -> None:
        sha256, etag = (digest, None) if self.source == "file" else (None, digest)
        record_object(self.con, load_id=self.summary.load_id, source=self.source, uri=obj.uri,
                      sha256=sha256, etag=etag, size=obj.size, fmt=obj.format, status=result.status,
                      counts=asdict(result), error=result.error, recorded_at=datetime.now(UTC))

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


def _guarded(items: Iterable[RawItem]) -> Iterator[RawItem]:
    """The items, with any error raised while producing them wrapped in ReadFailed."""
    iterator = iter(items)
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - everything a reader can raise rejects its object
            raise ReadFailed(exc) from exc
        yield item


def _log_rejects(flat: Flattened) -> None:
    for row in flat.rejected.head(LOGGED_REJECTS).itertuples():
        log.warning("rejected %s %s: %s", row.source_ref, row.record_ref, row.reason)
    if len(flat.rejected) > LOGGED_REJECTS:
        log.warning("... %d more records rejected (see landing.rejected_records)",
                    len(flat.rejected) - LOGGED_REJECTS)


def _safe(payload: Callable[[], bytes | None]) -> bytes | None:
    try:
        return payload()
    except Exception:  # noqa: BLE001 - a payload is a courtesy; its absence is never an error
        return None


def _batches(items: Iterator[RawItem], size: int) -> Iterator[list[RawItem]]:
    while batch := list(islice(items, size)):
        yield batch
