"""An ingest run: read objects, flatten, land, merge history, all in one transaction.

A crash or error mid-run rolls everything back (the warehouse stays as it was) and is then
recorded in landing.loads with status 'failed'. Bad records and bad objects do not fail the
run: they land in landing.rejected_records and the run goes on.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import duckdb
import orjson

from patchtrail.errors import PatchtrailError
from patchtrail.settings import BATCH_ITEMS
from patchtrail.sources import files
from patchtrail.sources.formats import ObjectError
from patchtrail.warehouse import apply_schema, connect
from patchtrail.warehouse.history import merge_history
from patchtrail.warehouse.land import (
    event_ids,
    fill_event_ids,
    land_batch,
    record_load,
    record_object,
    record_rejected,
    recorded_objects,
    start_object,
    start_run,
    undo_object,
)
from transforms.flatten import Flattened, RawItem, flatten

log = logging.getLogger("patchtrail")
#: Rejected records logged one by one per object; the rest are only counted.
LOGGED_REJECTS_PER_OBJECT = 5


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
        self.summary = RunSummary(load_id=0, source=source, warehouse=warehouse,
                                  started_at=datetime.now(UTC))

    def __enter__(self) -> Run:
        self.con.execute("begin transaction")
        self.summary.load_id = start_run(self.con)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                self.summary.instances_affected = merge_history(self.con)
                self._record_load("succeeded", None)
                self.con.execute("commit")
            except BaseException as failure:
                self._fail(failure)
                raise
            self.summary.seconds = time.monotonic() - self._clock
            return
        self._fail(exc)

    def unchanged(self, uri: str, fmt: str, size: int = 0) -> None:
        """Note an object skipped because the same content was read before."""
        self._done(ObjectResult(uri=uri, format=fmt, status="unchanged", size=size))

    def land_object(self, *, uri: str, fmt: str, items: Iterable[RawItem], sha256: str | None = None,
                    etag: str | None = None, size: int = 0,
                    payload: Callable[[], bytes | None] = lambda: None) -> ObjectResult:
        """Stream an object's items into the warehouse a batch at a time (memory stays bounded by
        the batch); if the object turns out bad part-way, undo it: it is rejected whole."""
        now = datetime.now(UTC)
        result = ObjectResult(uri=uri, format=fmt, status="landed", size=size)
        skipped: Counter[str] = Counter()
        refs: set[str] = set()
        events: list = []
        start_object(self.con)
        try:
            for batch in _batches(iter(items), BATCH_ITEMS):
                refs.update(raw.source_ref for raw in batch)
                flat = flatten(batch)
                self._land(result, flat, now)
                skipped.update(flat.skipped)
                events.append(event_ids(flat))
        except (ObjectError, OSError) as exc:
            message = str(exc) if isinstance(exc, ObjectError) else f"{uri}: unreadable ({exc})"
            log.error("rejected %s", message)
            undo_object(self.con, load_id=self.summary.load_id, source_refs=refs)
            result = ObjectResult(uri=uri, format=fmt, status="rejected", size=size, error=message)
            record_rejected(self.con, load_id=self.summary.load_id, source=self.source,
                            source_ref=uri, record_ref=None, reason=message,
                            payload=_safe(payload), rejected_at=now)
        else:
            for table in events:
                fill_event_ids(self.con, table)
            result.skipped = sum(skipped.values())
            result.skipped_types = dict(skipped)
            result.read = result.landed + result.duplicate + result.rejected + result.skipped
            if result.rejected > LOGGED_REJECTS_PER_OBJECT:
                log.warning("%s: %d records rejected in all (see landing.rejected_records)",
                            result.uri, result.rejected)
        record_object(self.con, load_id=self.summary.load_id, source=self.source, uri=uri,
                      sha256=sha256, etag=etag, size=size, fmt=fmt, status=result.status,
                      counts=asdict(result), error=result.error, recorded_at=now)
        self._done(result)
        return result

    def _land(self, result: ObjectResult, flat: Flattened, now: datetime) -> None:
        counts = land_batch(self.con, flat, load_id=self.summary.load_id, ingested_at=now)
        for row in flat.rejected.head(max(LOGGED_REJECTS_PER_OBJECT - result.rejected, 0)).itertuples():
            log.warning("rejected %s %s: %s", row.source_ref, row.record_ref, row.reason)
        result.landed += counts.landed
        result.duplicate += counts.duplicate
        result.rejected += counts.rejected

    def _done(self, result: ObjectResult) -> None:
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


def ingest_files(paths: Iterable[Path | str], *, warehouse: Path | str,
                 on_object: Callable[[ObjectResult], None] | None = None,
                 on_listed: Callable[[int, int], None] | None = None) -> RunSummary:
    """Land AWS Config / CloudTrail Lake files from local disk into the warehouse.

    Args:
        paths: files or folders; folders are walked and formats detected by name.
        warehouse: the DuckDB file (created if missing).
        on_object: called after each object (for progress bars).
        on_listed: called once with (objects found, bytes to read).
    Files already recorded with the same path and SHA-256 are skipped.
    """
    paths = list(paths)
    con = connect(warehouse)
    try:
        apply_schema(con)
        listing = files.list_objects(paths)
        seen = recorded_objects(con, files.SOURCE)
        if on_listed:
            on_listed(len(listing.objects), sum(o.size for o in listing.objects))
        run = Run(con, source=files.SOURCE, warehouse=str(warehouse),
                  parameters={"paths": [str(p) for p in paths]}, on_object=on_object)
        with run:
            for obj in listing.objects:
                if obj.sha256 and (obj.uri, obj.sha256) in seen:
                    run.unchanged(obj.uri, obj.format, obj.size)
                    continue
                run.land_object(uri=obj.uri, fmt=obj.format, items=files.read_object(obj),
                                sha256=obj.sha256, size=obj.size,
                                payload=lambda obj=obj: _head(obj))
        run.summary.ignored = listing.ignored
        run.summary.fleet = fleet_summary(con)
        return run.summary
    finally:
        con.close()


def fleet_summary(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The one-row marts.fleet_summary as a dict."""
    cursor = con.execute("select * from marts.fleet_summary")
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    return dict(zip(names, rows[0], strict=True)) if rows else {}


def _head(obj: files.SourceObject) -> bytes | None:
    """The first bytes of a rejected local file, kept as its payload."""
    path = Path(obj.uri)
    if not path.is_file():
        return None
    try:
        with path.open("rb") as fh:
            return fh.read(1 << 20)
    except OSError:
        return None


def _safe(payload: Callable[[], bytes | None]) -> bytes | None:
    try:
        return payload()
    except (OSError, PatchtrailError):
        return None


def _batches(items: Iterator[RawItem], size: int) -> Iterator[list[RawItem]]:
    while batch := list(islice(items, size)):
        yield batch
