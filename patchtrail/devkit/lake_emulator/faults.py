"""Failures the Lake emulator injects on request: throttling, busy slots, failed or slow queries."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

__all__ = ["Faults", "QueryFault"]

_QUERY_OUTCOMES = ("FAILED", "TIMED_OUT")


@dataclass(frozen=True)
class QueryFault:
    """What happens to the next started query: a forced outcome and/or a delay before FINISHED."""

    status: str | None = None
    message: str | None = None
    delay: float = 0.0


class Faults:
    """Thread-safe switchboard; every `*_next` call arms faults consumed by the next requests.

    Use it on the instance (`emulator.faults.throttle_next(2, operation="GetQueryResults")`) or,
    for an emulator in another process, through `POST /_emulator/faults` with a JSON body
    `{"action": "throttle_next", "args": {"count": 2, "operation": "GetQueryResults"}}`.
    """

    _ACTIONS = (
        "throttle_next",
        "max_concurrent_next",
        "fail_next",
        "time_out_next",
        "slow_next",
        "expire",
        "reset",
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Disarm every fault (expired query ids stay expired)."""
        with self._lock:
            self._throttles: list[list[Any]] = []  # [operation or None, remaining]
            self._busy = 0
            self._outcomes: deque[tuple[str, str]] = deque()
            self._delays: deque[float] = deque()
            if not hasattr(self, "_expired"):
                self._expired: set[str] = set()

    def throttle_next(self, count: int = 1, *, operation: str | None = None) -> None:
        """Answer the next `count` calls (of `operation`, or of any operation) with ThrottlingException."""
        with self._lock:
            self._throttles.append([operation, _positive(count)])

    def max_concurrent_next(self, count: int = 1) -> None:
        """Refuse the next `count` StartQuery calls with MaxConcurrentQueriesException."""
        with self._lock:
            self._busy += _positive(count)

    def fail_next(self, message: str = "Query failed (injected fault).", *, count: int = 1) -> None:
        """End the next `count` started queries as FAILED with ErrorMessage `message`."""
        self._arm_outcome("FAILED", message, count)

    def time_out_next(
        self, message: str = "Query timed out (injected fault).", *, count: int = 1
    ) -> None:
        """End the next `count` started queries as TIMED_OUT with ErrorMessage `message`."""
        self._arm_outcome("TIMED_OUT", message, count)

    def slow_next(self, seconds: float, *, count: int = 1) -> None:
        """Keep the next `count` started queries RUNNING for `seconds` before they finish."""
        if not 0 <= float(seconds) <= 3600:
            raise ValueError(f"seconds {seconds!r} is not between 0 and 3600")
        with self._lock:
            self._delays.extend([float(seconds)] * _positive(count))

    def expire(self, query_id: str) -> None:
        """Forget `query_id`: every later call naming it gets QueryIdNotFoundException."""
        with self._lock:
            self._expired.add(query_id)

    def apply(self, action: str, args: dict[str, Any] | None = None) -> None:
        """Run one of the public actions by name (the HTTP control call)."""
        if action not in self._ACTIONS:
            raise ValueError(
                f"unknown fault action {action!r}; expected one of {', '.join(self._ACTIONS)}"
            )
        getattr(self, action)(**(args or {}))

    # Consumed by the service.

    def take_throttle(self, operation: str) -> bool:
        with self._lock:
            for armed in self._throttles:
                if armed[0] in (None, operation) and armed[1] > 0:
                    armed[1] -= 1
                    return True
            return False

    def take_busy(self) -> bool:
        with self._lock:
            if self._busy:
                self._busy -= 1
                return True
            return False

    def take_query_fault(self) -> QueryFault:
        with self._lock:
            status, message = self._outcomes.popleft() if self._outcomes else (None, None)
            delay = self._delays.popleft() if self._delays else 0.0
            return QueryFault(status, message, delay)

    def is_expired(self, query_id: str) -> bool:
        with self._lock:
            return query_id in self._expired

    def _arm_outcome(self, status: str, message: str, count: int) -> None:
        if status not in _QUERY_OUTCOMES or not 4 <= len(message) <= 1000:
            raise ValueError(f"message must be 4..1000 characters, got {len(message)}")
        with self._lock:
            self._outcomes.extend([(status, message)] * _positive(count))


def _positive(count: int) -> int:
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError(f"count {count!r} is not a positive integer")
    return count
