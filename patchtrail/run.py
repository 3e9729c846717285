"""A run: objects in, history out, committed in chunks (land, merge history, record the load).

A run commits every CHUNK_ITEMS items or so, at an object boundary: each chunk is one
transaction and one row of landing.loads (the chunks of a run share its `run_id`), holding the
chunk's landed items, its objects, and the history merged from them. So memory stays bounded
whatever the input, and the warehouse is always consistent: history is what the landed items
say. A crash or a warehouse error rolls back the chunk in progress only; it is recorded in
landing.loads with status 'failed', and a re-run reads the objects that were not committed
(recorded objects are skipped), so nothing is lost or duplicated. Nothing an object holds can fail a run:
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
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import chain, islice
from typing import TYPE_CHECKING, Any

import duckdb
import orjson

from patchtrail.constants import BATCH_ITEMS, CHUNK_ITEMS
from patchtrail.ingest.workers import Group
from patchtrail.sources.base import ObjectError, ObjectUnreadable, SourceObject
from patchtrail.transforms.raw import RawItem
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

if TYPE_CHECKING:
    from patchtrail.transforms.flatten import FlatTables

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

    load_id: int                # the first chunk's load; every chunk's is in load_ids
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
    phases: dict[str, float] = field(default_factory=dict)   # seconds spent per step of the run
    load_ids: list[int] = field(default_factory=list)
    run_id: str = ""

    def totals(self) -> dict[str, int]:
        return totals_of(self.objects)

    @property
    def rejected_anything(self) -> bool:
        totals = self.totals()
        return bool(totals["objects_rejected"] or totals["items_rejected"])

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["totals"] = self.totals()
        return data


def totals_of(results: list[ObjectResult]) -> dict[str, int]:
    """Objects and items, by what happened to them (the counts of landing.loads)."""
    objects = [o for o in results if o.status != "ignored"]
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


class Phases:
    """Wall seconds per step of a run (list, open, read, flatten, land, merge, commit)."""

    def __init__(self, into: dict[str, float]) -> None:
        self.into = into

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.into[name] = self.into.get(name, 0.0) + time.perf_counter() - t0


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
                 on_chunk: Callable[[duckdb.DuckDBPyConnection, RunSummary, list[ObjectResult]], None]
                 | None = None,
                 now: datetime | None = None, chunk_items: int = CHUNK_ITEMS) -> None:
        """Args:
            on_object: called after each object (progress bars).
            on_chunk: called in each chunk's transaction, before its history is merged, with
                the chunk's object results (a source records its own rows there).
            chunk_items: items per committed chunk (at object boundaries)."""
        self.con = con
        self.source = source
        self.parameters = parameters
        self.on_object = on_object
        self.on_chunk = on_chunk
        self.now = now or datetime.now(UTC)
        self.chunk_items = chunk_items
        self._clock = time.monotonic()
        self._pending: list[_Pending] = []
        self._pending_items = 0
        self._chunk: list[ObjectResult] = []
        self._chunk_read = 0
        self._chunk_affected = 0
        self.load_id = 0
        self.summary = RunSummary(load_id=0, source=source, warehouse=warehouse,
                                  started_at=datetime.now(UTC), run_id=uuid.uuid4().hex)
        self.timed = Phases(self.summary.phases)

    def __enter__(self) -> Run:
        self._begin()
        self.summary.load_id = self.load_id
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self._fail(exc)
            return
        try:
            self._commit(final=True)
        except BaseException as failure:
            self._fail(failure)
            raise
        self.summary.seconds = time.monotonic() - self._clock

    def checkpoint(self) -> None:
        """Commit the chunk so far (when it holds CHUNK_ITEMS items) and start the next one."""
        if self._chunk_read + self._pending_items < self.chunk_items:
            return
        self._commit(final=False)  # a failure here is the run's: __exit__ rolls the chunk back
        self._begin()

    def _begin(self) -> None:
        self.con.execute("begin transaction")
        self.load_id = start_run(self.con)
        self.summary.load_ids.append(self.load_id)

    def _commit(self, *, final: bool) -> None:
        """Land what is pending, let the source record its rows, merge history, record the
        chunk's load and commit. An empty last chunk after others records nothing."""
        self.flush()
        if final and not self._chunk and len(self.summary.load_ids) > 1:
            self.con.execute("rollback")
            self.summary.load_ids.pop()
            return
        if self.on_chunk:
            self.on_chunk(self.con, self.summary, self._chunk)
        with self.timed("merge"):
            resolve_conflicts(self.con, load_id=self.load_id)
            self._chunk_affected = merge_history(self.con)
            self.summary.instances_affected += self._chunk_affected
        with self.timed("commit"):
            self._record_load("succeeded", None)
            self.con.execute("commit")
        self._chunk, self._chunk_read, self._chunk_affected = [], 0, 0

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
            with self.timed("read"):
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
        from patchtrail.transforms.flatten import FlatTables

        with self.timed("flatten"):
            pending, flat = self._flatten_pending(pending)
        if pending:
            self._land_together([(p.obj, p.result, {raw.source_ref for raw in p.raws}, len(p.raws))
                                 for p in pending], FlatTables.of(flat))

    def land_group(self, group: Group, *, payload: Callable[[SourceObject], bytes | None]) -> list[SourceObject]:
        """Land a group of objects a worker read and flattened (see patchtrail.ingest.workers).

        Returns the objects too large for a group, for the caller to land with `land`."""
        self.flush()
        together, oversized = [], []
        for read in group.objects:
            result = ObjectResult(uri=read.obj.uri, format=read.obj.format, status="landed",
                                  size=read.obj.size)
            if read.oversized:
                oversized.append(read.obj)
            elif read.obj.error:
                self._reject(read.obj, result, ObjectError(f"{read.obj.uri}: {read.obj.error}"),
                             lambda obj=read.obj: payload(obj))
            elif read.error:
                self._reject(read.obj, result, read.error.error(), lambda obj=read.obj: payload(obj))
            else:
                together.append((read.obj, result, read.refs, read.read))
        if together and group.tables is not None:
            self._land_together(together, group.tables)
        else:
            for obj, result, _, _ in together:
                self._done(obj, result)
        return oversized

    def _land_together(self, objects: list[tuple[SourceObject, ObjectResult, set[str], int]],
                       flat: FlatTables) -> None:
        """Land one flattened batch holding several objects' items; account each object by
        the source_refs of its items."""
        with self.timed("land"):
            counts = land_batch(self.con, flat, load_id=self.load_id, ingested_at=datetime.now(UTC))
            self.summary.conflicts += counts.conflicts
            fill_event_ids(self.con, event_ids(flat))
        _log_rejects(flat)
        rejected = _by_ref(flat.rejected)
        for obj, result, refs, read in objects:
            skipped = Counter({t: n for (ref, t), n in flat.skipped_by_ref.items() if ref in refs})
            result.read = read
            result.landed = sum(counts.landed_by_ref.get(ref, 0) for ref in refs)
            result.duplicate = sum(counts.duplicate_by_ref.get(ref, 0) for ref in refs)
            result.rejected = sum(rejected.get(ref, 0) for ref in refs)
            result.skipped, result.skipped_types = sum(skipped.values()), dict(skipped)
            self._done(obj, result)

    def _flatten_pending(self, pending: list[_Pending]) -> tuple[list[_Pending], Any]:
        """Flatten the pending objects together; should flatten ever break, find the object
        that breaks it and reject that one alone."""
        from patchtrail.transforms.flatten import flatten
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
        from patchtrail.transforms.flatten import FlatTables, flatten

        skipped: Counter[str] = Counter()
        refs: set[str] = set()
        events = []
        start_object(self.con)
        try:
            for batch in _batches(iter(items), BATCH_ITEMS):
                refs.update(raw.source_ref for raw in batch)
                try:
                    with self.timed("flatten"):
                        flat = FlatTables.of(flatten(batch, now=self.now))
                except Exception as exc:  # noqa: BLE001 - a flatten bug must not fail the run
                    raise ReadFailed(exc) from exc
                with self.timed("land"):
                    counts: LandCounts = land_batch(self.con, flat, load_id=self.load_id,
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
            undo_object(self.con, load_id=self.load_id, source_refs=refs)
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
        record_rejected(self.con, load_id=self.load_id, source=self.source,
                        source_ref=obj.uri, record_ref=None, reason=message,
                        payload=_safe(payload), rejected_at=datetime.now(UTC))
        self._done(obj, result)

    def _done(self, obj: SourceObject, result: ObjectResult) -> None:
        if result.status != "unchanged":
            self._record(obj, result, digest=None if result.retry else obj.digest)
        self.summary.objects.append(result)
        self._chunk.append(result)
        self._chunk_read += result.read
        if self.on_object:
            self.on_object(result)

    def _record(self, obj: SourceObject, result: ObjectResult, *, digest: str | None) -> None:
        sha256, etag = (digest, None) if self.source == "file" else (None, digest)
        record_object(self.con, load_id=self.load_id, source=self.source, uri=obj.uri,
                      sha256=sha256, etag=etag, size=obj.size, fmt=obj.format, status=result.status,
                      counts=asdict(result), error=result.error, recorded_at=datetime.now(UTC))

    def _record_load(self, status: str, error: str | None) -> None:
        """The chunk's row of landing.loads: its own objects' counts, the run's parameters."""
        values: dict[str, Any] = {
            "load_id": self.load_id, "source": self.source,
            "parameters": orjson.dumps(self.parameters, default=str).decode(),
            "started_at": self.summary.started_at, "finished_at": datetime.now(UTC),
            "status": status, "instances_affected": self._chunk_affected, "error": error,
            "run_id": self.summary.run_id,
            "phases": orjson.dumps({k: round(v, 3) for k, v in self.summary.phases.items()}).decode(),
        }
        values.update(totals_of(self._chunk))
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
            log.exception("could not record the failed load %s", self.load_id)


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


def _log_rejects(flat: FlatTables) -> None:
    for row in flat.rejected.slice(0, LOGGED_REJECTS).to_pylist():
        log.warning("rejected %s %s: %s", row["source_ref"], row["record_ref"], row["reason"])
    if flat.rejected.num_rows > LOGGED_REJECTS:
        log.warning("... %d more records rejected (see landing.rejected_records)",
                    flat.rejected.num_rows - LOGGED_REJECTS)


def _by_ref(table: Any) -> dict[str, int]:
    """Rows of an Arrow table per source_ref."""
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return {}
    return {v["values"]: v["counts"] for v in pc.value_counts(table["source_ref"]).to_pylist()}


def _safe(payload: Callable[[], bytes | None]) -> bytes | None:
    try:
        return payload()
    except Exception:  # noqa: BLE001 - a payload is a courtesy; its absence is never an error
        return None


def _batches(items: Iterator[RawItem], size: int) -> Iterator[list[RawItem]]:
    while batch := list(islice(items, size)):
        yield batch
