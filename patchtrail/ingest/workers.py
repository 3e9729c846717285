"""Read and flatten objects in worker processes, so parsing uses every core while the run lands.

Parsing JSON and flattening it are Python work, bound to one core by the GIL; landing and the
history merge are DuckDB's, which runs in C++ threads. So for a source whose objects another
process can read (local files, what a flow spooled on disk), the pipeline hands groups of objects
to a pool of worker processes. Each worker reads its group's objects and flattens them together
(`flatten_group`), and sends back Arrow tables; the run lands the groups in listing order, so
the warehouse is the same as if one process had done it all.

Memory stays bounded: a group holds at most GROUP_BYTES of listed bytes (or one larger object),
an object in a group at most GROUP_ITEMS items, and at most `workers + 1` groups are in flight
(each worker's, and the one the run lands). An object that turns out to hold more items (a small
gzip can hold a big file) is sent back unread, and the run streams it in its own process, a
batch at a time. A worker ends when the run that started it is gone, even a run killed outright.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from patchtrail.sources.base import ObjectError, ObjectUnreadable, Source, SourceObject

log = logging.getLogger("patchtrail")
#: Most items one object of a group may hold (a larger one is streamed by the run itself, in
#: its own process); one chunk's worth, so AWS Config's six-hourly files of a large account fit.
GROUP_ITEMS = 1000
#: Bytes (as listed, often compressed) of small objects put in one group. A worker holds its
#: group's parsed JSON (~25x the gzip): at 4 MB each worker peaked near 480 MB and the run's own
#: peak at 10,000 items was 1.7x that at 2,000; at 1 MB landing's per-batch cost made 10,000 items
#: ~15% slower. 2 MB keeps the peak ratio under 1.5x at the speed of 4 MB (benchmarks/bench_ingest.py).
GROUP_BYTES = 2 << 20
#: Below this many bytes in all, a run reads in its own process (workers cost ~1 s to start).
PARALLEL_OVER_BYTES = 8 << 20


@dataclass
class ReadError:
    """Why reading an object failed, in a form that crosses processes: `kind` is content (bad
    object, recorded with its digest), unreadable (read again next run) or unexpected (a bug)."""

    kind: str
    message: str

    def error(self) -> BaseException:
        if self.kind == "content":
            return ObjectError(self.message)
        if self.kind == "unreadable":
            return ObjectUnreadable(self.message)
        return RuntimeError(self.message)


@dataclass
class ObjectRead:
    """One object of a group: how many items it held, their source_refs, or why it failed."""

    obj: SourceObject
    read: int = 0
    refs: set[str] = field(default_factory=set)
    error: ReadError | None = None
    oversized: bool = False          # more than a group holds: the run streams it itself


@dataclass
class Group:
    """A group of objects read and flattened together (the flattened frames as Arrow tables)."""

    objects: list[ObjectRead]
    tables: Any = None               # FlatTables, or None when nothing was read


def plan_groups(objects: list[SourceObject]) -> list[list[SourceObject]]:
    """Consecutive objects, grouped until a group holds GROUP_BYTES (an object larger than
    that is a group of its own)."""
    groups: list[list[SourceObject]] = []
    current: list[SourceObject] = []
    size = 0
    for obj in objects:
        if current and (size + obj.size > GROUP_BYTES or len(current) >= GROUP_ITEMS):
            groups.append(current)
            current, size = [], 0
        current.append(obj)
        size += obj.size
    if current:
        groups.append(current)
    return groups


def flatten_group(source: Source, objects: list[SourceObject], now: datetime | None) -> Group:
    """Read the objects and flatten their items together (runs in a worker process)."""
    from patchtrail.transforms.flatten import FlatTables, flatten

    reads: list[ObjectRead] = []
    raws: list[Any] = []
    for obj in objects:
        one = ObjectRead(obj)
        reads.append(one)
        if obj.error:
            continue
        try:
            items = list(islice(source.read(obj), GROUP_ITEMS + 1))
            if len(items) > GROUP_ITEMS:
                one.oversized = True
                continue
        except Exception as exc:  # noqa: BLE001 - every reader failure rejects its object only
            one.error = _read_error(exc, obj)
            continue
        one.read = len(items)
        one.refs = {raw.source_ref for raw in items}
        raws.extend(items)
    tables = FlatTables.of(flatten(raws, now=now)) if raws else None
    return Group(reads, tables)


class WorkerPool:
    """A pool of worker processes flattening groups, their results yielded in order."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = ProcessPoolExecutor(max_workers=workers,
                                         mp_context=multiprocessing.get_context("spawn"),
                                         initializer=exit_with_parent, initargs=(os.getpid(),))

    def groups(self, source: Source, groups: Iterable[list[SourceObject]],
               now: datetime | None) -> Iterator[Group]:
        """Each group's result, in the order given, at most `workers + 1` in flight."""
        pending: deque[Future[Group]] = deque()
        todo = iter(groups)
        for group in islice(todo, self.workers + 1):
            pending.append(self._pool.submit(flatten_group, source, group, now))
        while pending:
            result = pending.popleft().result()
            following = next(todo, None)
            if following is not None:
                pending.append(self._pool.submit(flatten_group, source, following, now))
            yield result

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def exit_with_parent(parent: int, every: float = 0.5) -> None:
    """Run in each worker as it starts: end the worker once the run that started it is gone.

    A run killed outright (SIGKILL, the OOM killer) runs no clean-up, and its idle workers would
    wait on their task queue for ever, each holding its memory. A daemon thread notices the parent
    is gone (the worker is re-parented) and ends the process."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)
    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def worker_count(source: Source, objects: list[SourceObject]) -> int:
    """How many worker processes to read `objects` with (0: read them in this process)."""
    if not getattr(source, "readable_in_workers", False):
        return 0
    if sum(o.size for o in objects) < PARALLEL_OVER_BYTES:
        return 0
    try:
        pickle.dumps(source)
    except Exception:  # noqa: BLE001 - e.g. keys looked up through a live AWS client
        return 0
    return max(1, min(os.cpu_count() or 1, len(objects)))


def _read_error(exc: BaseException, obj: SourceObject) -> ReadError:
    if isinstance(exc, ObjectUnreadable):
        return ReadError("unreadable", str(exc))
    if isinstance(exc, ObjectError):
        return ReadError("content", str(exc))
    if isinstance(exc, OSError):
        return ReadError("unreadable", f"{obj.uri}: unreadable ({exc.strerror or exc}); it will be "
                                       "read again next run")
    log.error("reading %s failed unexpectedly", obj.uri, exc_info=exc)
    return ReadError("unexpected", f"{type(exc).__name__}: {exc}")
