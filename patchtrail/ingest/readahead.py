"""Read several objects at once in threads while the landing thread consumes them in order.

`read_ahead(objects, read, workers=N)` yields `(obj, items)` in the order of `objects`. With
N > 1, up to N objects are read concurrently (downloads, Lake queries, parsing), each at most
`ahead` chunks of raw items in front of the consumer, so memory stays bounded whatever the
objects' sizes. An error while reading an object is raised from its `items`, where the landing
thread sees it, exactly as if it had read the object itself. With N = 1 nothing is threaded.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any, TypeVar

T = TypeVar("T")
#: Raw items handed over at once, and chunks a worker may hold ready per object.
CHUNK_ITEMS = 50
AHEAD_CHUNKS = 4
#: How long an abandoned reading thread (the run failed) is waited for before moving on.
ABANDON_WAIT_SECONDS = 5.0
_DONE = object()


def read_ahead(objects: Iterable[T], read: Callable[[T], Iterable[Any]], *, workers: int = 1,
               chunk_items: int = CHUNK_ITEMS, ahead: int = AHEAD_CHUNKS) -> Iterator[tuple[T, Iterator[Any]]]:
    """Yield each object with an iterator over what `read(obj)` yields, in order.

    Args:
        workers: objects read at once; 1 reads lazily in the caller's thread.
        chunk_items, ahead: each reading thread hands over `chunk_items` at a time and stops
            when `ahead` chunks wait to be consumed.
    The caller consumes each object's items before asking for the next object (items of an
    object left unconsumed are dropped when it moves on).
    """
    if workers <= 1:
        for obj in objects:
            yield obj, iter(read(obj))
        return
    stop = threading.Event()
    pending: list[tuple[T, _Reader]] = []
    todo = iter(objects)
    try:
        for obj in islice(todo, workers):
            pending.append((obj, _Reader(read, obj, stop, chunk_items, ahead)))
        while pending:
            obj, reader = pending.pop(0)
            yield obj, reader.items()
            reader.close()
            nxt = next(todo, None)
            if nxt is not None:
                pending.append((nxt, _Reader(read, nxt, stop, chunk_items, ahead)))
    finally:
        stop.set()
        for _, reader in pending:
            reader.close(wait=ABANDON_WAIT_SECONDS)


class _Reader:
    """One object read in its own thread into a bounded queue of chunks."""

    def __init__(self, read: Callable[[Any], Iterable[Any]], obj: Any, stop: threading.Event,
                 chunk_items: int, ahead: int) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=ahead)
        self._stop = stop
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(read, obj, chunk_items),
                                        name="read-ahead", daemon=True)
        self._thread.start()

    def _run(self, read: Callable[[Any], Iterable[Any]], obj: Any, chunk_items: int) -> None:
        try:
            iterator = iter(read(obj))
            while chunk := list(islice(iterator, chunk_items)):
                if not self._put(chunk):
                    return
            self._put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            self._put(_Failure(exc))

    def _put(self, value: Any) -> bool:
        while not (self._stop.is_set() or self._closed.is_set()):
            try:
                self._queue.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def items(self) -> Iterator[Any]:
        while True:
            value = self._queue.get()
            if value is _DONE:
                return
            if isinstance(value, _Failure):
                raise value.error
            yield from value

    def close(self, wait: float | None = None) -> None:
        """Stop handing over chunks and wait for the thread (at most `wait` seconds)."""
        self._closed.set()
        self._thread.join(wait)


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error
