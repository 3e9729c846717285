"""One query's life in the Lake emulator: QUEUED -> RUNNING -> FINISHED|FAILED|CANCELLED|TIMED_OUT."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb

from patchtrail.devkit.lake_emulator.engine import EventTables, QueryOutput, run_query
from patchtrail.devkit.lake_emulator.faults import QueryFault

__all__ = ["TERMINAL_STATUSES", "QueryRun", "execute", "error_message"]

TERMINAL_STATUSES = frozenset({"FINISHED", "FAILED", "CANCELLED", "TIMED_OUT"})


@dataclass(eq=False)
class QueryRun:
    """State of one query; every change goes through `finish` or `request_stop` (thread-safe)."""

    query_id: str
    statement: str
    sql: str
    store_ids: tuple[str, ...]
    account_id: str
    region: str
    events_in_stores: int
    bytes_in_stores: int
    created: float = field(default_factory=time.time)
    delivery_uri: str | None = None
    delivery_status: str | None = None
    status: str = "QUEUED"
    error: str | None = None
    output: QueryOutput | None = None
    events_scanned: int = 0
    bytes_scanned: int = 0
    execution_ms: int = 0
    _stop: str | None = None
    _cursor: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _wake: threading.Event = field(default_factory=threading.Event)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def start(self) -> bool:
        """QUEUED -> RUNNING; False when the query was stopped meanwhile."""
        with self._lock:
            if self.status != "QUEUED":
                return False
            self.status = "RUNNING"
            return True

    def finish(
        self, status: str, error: str | None = None, output: QueryOutput | None = None
    ) -> bool:
        """Move to terminal `status` unless already terminal; True when this call did it."""
        with self._lock:
            if self.terminal:
                return False
            self.status, self.error, self.output = status, error, output
            if output is not None or status == "TIMED_OUT":
                self.events_scanned, self.bytes_scanned = (
                    self.events_in_stores,
                    self.bytes_in_stores,
                )
            return True

    def request_stop(self, reason: str) -> None:
        """Ask the worker to stop (`cancel` or `timeout`), interrupting DuckDB if it is running."""
        with self._lock:
            self._stop = self._stop or reason
            cursor = self._cursor
        self._wake.set()
        if cursor is not None:
            cursor.interrupt()

    def statistics(self) -> dict[str, Any]:
        matched = len(self.output.rows) if self.output else 0
        return {
            "EventsMatched": min(matched, self.events_scanned),
            "EventsScanned": self.events_scanned,
            "BytesScanned": self.bytes_scanned,
            "ExecutionTimeInMillis": self.execution_ms,
            "CreationTime": self.created,
        }


def execute(
    run: QueryRun,
    tables: EventTables,
    *,
    fault: QueryFault,
    timeout: float | None,
    after: Callable[[QueryRun], None],
) -> None:
    """Worker thread body: run the query, honour faults, cancel and timeout, then call `after`."""
    began = time.monotonic()
    timer = threading.Timer(timeout, run.request_stop, args=("timeout",)) if timeout else None
    try:
        if not run.start():
            return
        if timer:
            timer.daemon = True
            timer.start()
        output = None
        if fault.status is None:
            cursor = tables.cursor()
            with run._lock:
                run._cursor = cursor
            try:
                output = run_query(cursor, run.sql)
            finally:
                with run._lock:
                    run._cursor = None
                cursor.close()
        run._wake.wait(fault.delay)
        if run._stop == "timeout":
            run.finish("TIMED_OUT", f"Query exceeded the emulator timeout of {timeout:g} seconds.")
        elif run._stop != "cancel":
            if fault.status is not None:
                run.finish(fault.status, fault.message)
            else:
                run.finish("FINISHED", output=output)
    except duckdb.InterruptException:
        if run._stop == "timeout":
            run.finish("TIMED_OUT", f"Query exceeded the emulator timeout of {timeout:g} seconds.")
        run.finish("CANCELLED")
    except duckdb.Error as exc:
        run.finish("FAILED", error_message(exc))
    except Exception as exc:  # the worker must always reach a terminal state
        run.finish("FAILED", error_message(exc))
    finally:
        if timer:
            timer.cancel()
        run.execution_ms = int((time.monotonic() - began) * 1000)
        after(run)


def error_message(exc: BaseException) -> str:
    """ErrorMessage text (4..1000 characters): the first paragraph of the engine's message."""
    text = str(exc).split("\n\n")[0].replace("\n", " ").strip() or type(exc).__name__
    return text.ljust(4)[:1000]
