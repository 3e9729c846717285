"""Run one task per piece of work (a Lake window, an account and region), a bounded number at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from prefect.futures import PrefectFuture, as_completed


def fan_out(task: Any, pieces: Sequence[dict[str, Any]], *, limit: int,
            on_failure: Callable[[dict[str, Any], BaseException], Any]) -> list[Any]:
    """Submit `task(**piece)` for every piece, at most `limit` running at once.

    Returns the results in the pieces' order. A piece whose task failed for good (its retries
    spent, or a permanent error) gives `on_failure(piece, error)` instead, so one bad piece
    never stops the others.
    """
    futures: list[PrefectFuture] = []
    running: list[PrefectFuture] = []
    for piece in pieces:
        if len(running) >= max(1, limit):
            running.remove(next(as_completed(running)))
        future = task.submit(**piece)
        futures.append(future)
        running.append(future)
    results = []
    for piece, future in zip(pieces, futures, strict=True):
        try:
            results.append(future.result())
        except Exception as exc:  # noqa: BLE001 (recorded by on_failure, the run goes on)
            results.append(on_failure(piece, exc))
    return results
