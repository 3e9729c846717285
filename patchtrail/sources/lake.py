"""CloudTrail Lake as a source: each planned time window is an object, read by its queries.

Reading a window: StartQuery (the extraction query for the window) -> DescribeQuery (polled with
backoff) -> GetQueryResults (paged on NextToken, 1000 rows a page) -> raw items, streamed page
by page so a result never sits whole in memory. With delivery to S3, the saved export is read
back instead, through the S3 source's reader (hashes, and signatures with keys, verified).

Windows are read concurrently by the pipeline (below the service's limit of 10 queries).
StartQuery's `MaxConcurrentQueriesException` backs off and retries; throttling and 5xx are
retried by botocore's standard retry mode. A window whose query ends FAILED or TIMED_OUT is
split in two and retried, down to `min_window`; a part that still fails rejects the window,
which is read again next run (its store's watermark does not move past it). The run's timeout
cancels the queries still running (CancelQuery); their windows are rejected the same way.
Every query, its statistics and estimated cost go to landing.lake_queries.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from patchtrail.aws import AwsEndpoints
from patchtrail.errors import PatchtrailError
from patchtrail.sources import lake_queries
from patchtrail.sources.base import ObjectUnreadable
from patchtrail.transforms.raw import RawItem
from patchtrail.transient import is_transient

log = logging.getLogger("patchtrail")
SOURCE = "lake"
EXTRACT_QUERY = "extract_patch_compliance"
TERMINAL = {"FINISHED", "FAILED", "CANCELLED", "TIMED_OUT"}


@dataclass(frozen=True)
class Store:
    """An event data store to read, with the role to assume for it (if any)."""

    id: str
    role_arn: str | None = None


@dataclass(frozen=True)
class Window:
    """The half-open eventTime range [start, end) of one extraction query on one store."""

    store: Store
    start: datetime
    end: datetime

    def __str__(self) -> str:
        return f"{self.store.id} [{self.start:%Y-%m-%dT%H:%M:%SZ}, {self.end:%Y-%m-%dT%H:%M:%SZ})"

    def halves(self) -> tuple[Window, Window]:
        middle = self.start + (self.end - self.start) / 2
        middle = middle.replace(microsecond=0)
        return Window(self.store, self.start, middle), Window(self.store, middle, self.end)


@dataclass
class LakeSettings:
    """Knobs of the Lake source; the defaults suit AWS (tests shorten the waits)."""

    max_concurrency: int = 4              # queries at once, across windows and stores (< 10)
    poll_initial: float = 1.0             # first DescribeQuery wait, seconds; doubles up to poll_max
    poll_max: float = 15.0
    busy_backoff: float = 60.0            # wait after MaxConcurrentQueriesException ("a minute")
    busy_retries: int = 5
    min_window: timedelta = timedelta(hours=1)   # FAILED/TIMED_OUT windows split down to this
    page_size: int = 1000                 # MaxQueryResults
    timeout: float | None = None          # whole-run limit, seconds; then queries are cancelled
    price_per_gb: float = 0.005           # USD per GB scanned (CloudTrail Lake query pricing)
    deliver_to: str | None = None         # s3://bucket/prefix: ask Lake to save results there
    max_attempts: int = 8                 # per API call, botocore's standard retry mode


@dataclass
class QueryOutcome:
    """A window's query once it ended: FINISHED (results to read) or failed for good."""

    window: Window
    query_id: str | None
    status: str
    error: str | None = None
    statistics: dict[str, Any] = field(default_factory=dict)
    delivery_uri: str | None = None
    delivery_status: str | None = None
    split: bool = False                  # failed, and its window was split and retried
    transient: bool = False              # failed for a reason that may pass (throttling, 5xx)

    @property
    def ok(self) -> bool:
        return self.status == "FINISHED" and self.error is None


def make_client(endpoints: AwsEndpoints, *, role_arn: str | None = None, max_attempts: int = 8) -> Any:
    """A CloudTrail client at `endpoints` with botocore's standard retries, assuming `role_arn`
    if given; refused at once when there are no AWS credentials."""
    session = endpoints.session()
    if session.get_credentials() is None:
        error = PatchtrailError("no AWS credentials found for CloudTrail Lake")
        error.hint = ("Set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (for a local endpoint "
                      "any values do, e.g. testing/testing).")
        raise error
    return endpoints.client("cloudtrail", max_attempts=max_attempts, role_arn=role_arn,
                            session=session, user_agent_extra="patchtrail", connect_timeout=10,
                            read_timeout=60)


def windows(store: Store, start: datetime, end: datetime, size: timedelta, *,
            max_windows: int | None = None) -> list[Window]:
    """Consecutive windows of at most `size` covering [start, end).

    Args:
        max_windows: the most windows (Lake queries) allowed; default the `lake_max_windows`
            setting (2000). A range that needs more raises InvalidInput naming the cap, the
            count and what to change, before any window is built.
    """
    from patchtrail.errors import InvalidInput
    from patchtrail.settings import settings

    if size <= timedelta(0):
        raise InvalidInput(f"window {size} must be positive")
    cap = settings().lake_max_windows if max_windows is None else max_windows
    needed = -(-(end - start) // size) if end > start else 0
    if needed > cap:
        raise InvalidInput(
            f"event data store {store.id}: [{start:%Y-%m-%dT%H:%M:%SZ}, {end:%Y-%m-%dT%H:%M:%SZ}) "
            f"in windows of {size} needs {needed:,} Lake queries, more than lake_max_windows = "
            f"{cap:,}; give a larger --window or a later --start, or raise lake_max_windows "
            "(PATCHTRAIL_LAKE_MAX_WINDOWS or patchtrail.toml)")
    out, cursor = [], start
    while cursor < end:
        out.append(Window(store, cursor, min(cursor + size, end)))
        cursor += size
    return out


class LakeRunner:
    """Runs the extraction queries of windows and pages their results (thread-safe: the
    pipeline reads several windows at once, each in its own thread)."""

    def __init__(self, clients: dict[str, Any], settings: LakeSettings,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.clients = clients              # store id -> cloudtrail client
        self.settings = settings
        self.sleep = sleep
        self.cancelled = threading.Event()
        self._running: dict[str, str] = {}  # query id -> store id
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def start_clock(self) -> None:
        """Start the run's timeout: once it passes, every query still running is cancelled."""
        if self.settings.timeout and self._timer is None:
            self._timer = threading.Timer(self.settings.timeout, self.cancel)
            self._timer.daemon = True
            self._timer.start()

    def stop_clock(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def outcomes(self, window: Window) -> Iterator[QueryOutcome]:
        """The queries of one window as they end: the window's own, and when it FAILED or
        TIMED_OUT (and is longer than `min_window`), those of its two halves, recursively."""
        outcome = self._query(window)
        if outcome.status in ("FAILED", "TIMED_OUT") and window.end - window.start > self.settings.min_window:
            log.warning("Lake query %s %s for %s: %s; splitting the window", outcome.query_id,
                        outcome.status, window, outcome.error)
            outcome.split = True  # still reported: a failed query is billed for what it scanned
            yield outcome
            for half in window.halves():
                yield from self.outcomes(half)
            return
        yield outcome

    def cancel(self) -> None:
        """Stop waiting and cancel every query still running (CancelQuery)."""
        self.cancelled.set()
        with self._lock:
            running = dict(self._running)
        for query_id, store_id in running.items():
            try:
                self.clients[store_id].cancel_query(QueryId=query_id)
                log.warning("cancelled Lake query %s", query_id)
            except (ClientError, BotoCoreError) as exc:  # already finished: nothing to cancel
                log.info("could not cancel %s: %s", query_id, exc)

    def rows(self, outcome: QueryOutcome) -> Iterator[RawItem]:
        """The result rows of a finished query as raw items, a page at a time."""
        client = self.clients[outcome.window.store.id]
        token: str | None = None
        number = 0
        first = True
        while True:
            kwargs: dict[str, Any] = {"QueryId": outcome.query_id, "MaxQueryResults": self.settings.page_size}
            if token:
                kwargs["NextToken"] = token
            try:
                page = client.get_query_results(**kwargs)
            except (ClientError, BotoCoreError) as exc:
                text = _error_text(exc) if isinstance(exc, ClientError) else f"{type(exc).__name__}: {exc}"
                raise ObjectUnreadable(f"Lake query {outcome.query_id} ({outcome.window}): "
                                       f"GetQueryResults failed: {text}") from exc
            for row in page.get("QueryResultRows", []):
                record = {k: v for cell in row for k, v in cell.items()}
                if first and record and all(k == v for k, v in record.items()):
                    first = False  # a header row (one third-party report says Lake sends one)
                    continue
                first = False
                number += 1
                yield RawItem(record, SOURCE, outcome.query_id, f"row {number}")
            token = page.get("NextToken")
            if not token:
                return

    def _query(self, window: Window) -> QueryOutcome:
        if self.cancelled.is_set():
            return QueryOutcome(window, None, "CANCELLED", error=_cancelled(self.settings))
        client = self.clients[window.store.id]
        sql = lake_queries.render(EXTRACT_QUERY, event_data_store=window.store.id,
                                  start=window.start, end=window.end)
        try:
            query_id = self._start(client, sql)
        except ClientError as exc:
            return QueryOutcome(window, None, "NOT_STARTED", error=_error_text(exc),
                                transient=is_transient(exc))
        except BotoCoreError as exc:  # connection errors, after botocore's own retries
            return QueryOutcome(window, None, "NOT_STARTED", error=f"{type(exc).__name__}: {exc}",
                                transient=is_transient(exc))
        with self._lock:
            self._running[query_id] = window.store.id
        try:
            return self._wait(client, window, query_id)
        except (ClientError, BotoCoreError) as exc:
            text = _error_text(exc) if isinstance(exc, ClientError) else f"{type(exc).__name__}: {exc}"
            return QueryOutcome(window, query_id, "UNKNOWN", error=f"DescribeQuery failed: {text}",
                                transient=is_transient(exc))
        finally:
            with self._lock:
                self._running.pop(query_id, None)

    def _start(self, client: Any, sql: str) -> str:
        kwargs: dict[str, Any] = {"QueryStatement": sql}
        if self.settings.deliver_to:
            kwargs["DeliveryS3Uri"] = self.settings.deliver_to
        for attempt in range(self.settings.busy_retries + 1):
            try:
                return client.start_query(**kwargs)["QueryId"]
            except ClientError as exc:
                if _code(exc) != "MaxConcurrentQueriesException" or attempt == self.settings.busy_retries:
                    raise
                delay = self.settings.busy_backoff * (attempt + 1)
                log.warning("CloudTrail Lake is running its maximum of queries; retrying in %.0f s", delay)
                self._pause(delay)
        raise AssertionError("unreachable")

    def _wait(self, client: Any, window: Window, query_id: str) -> QueryOutcome:
        delay = self.settings.poll_initial
        while True:
            if self.cancelled.is_set():
                return QueryOutcome(window, query_id, "CANCELLED", error=_cancelled(self.settings))
            described = client.describe_query(QueryId=query_id)
            status = described["QueryStatus"]
            delivery = described.get("DeliveryStatus")
            waiting_delivery = (status == "FINISHED" and self.settings.deliver_to
                                and delivery in (None, "PENDING"))
            if status in TERMINAL and not waiting_delivery:
                error = described.get("ErrorMessage") or (None if status == "FINISHED" else status)
                if status == "FINISHED" and self.settings.deliver_to and delivery != "SUCCESS":
                    error = f"results were not delivered to {self.settings.deliver_to}: {delivery}"
                return QueryOutcome(window, query_id, status, error=error,
                                    statistics=_statistics(described.get("QueryStatistics", {})),
                                    delivery_uri=described.get("DeliveryS3Uri"), delivery_status=delivery)
            self._pause(delay)
            delay = min(delay * 2, self.settings.poll_max)

    def _pause(self, seconds: float) -> None:
        if self.cancelled.wait(0) or seconds <= 0:
            return
        self.cancelled.wait(seconds) if self.sleep is time.sleep else self.sleep(seconds)


def window_uri(window: Window) -> str:
    """The URI a window is recorded under: lake://<store>/<start>/<end>."""
    return f"lake://{window.store.id}/{window.start:%Y-%m-%dT%H:%M:%SZ}/{window.end:%Y-%m-%dT%H:%M:%SZ}"


def query_stats(outcome: QueryOutcome, *, rows_read: int, price_per_gb: float,
                error: str | None = None) -> dict[str, Any]:
    """One landing.lake_queries row (without load_id) for a query that ended."""
    return {**outcome.statistics, "query_id": outcome.query_id,
            "event_data_store": outcome.window.store.id,
            "window_start": outcome.window.start, "window_end": outcome.window.end,
            "status": outcome.status, "error": outcome.error or error, "rows_read": rows_read,
            "delivery_s3_uri": outcome.delivery_uri, "delivery_status": outcome.delivery_status,
            "estimated_cost_usd": (outcome.statistics.get("bytes_scanned") or 0) / 1e9 * price_per_gb}


def failure(outcome: QueryOutcome) -> ObjectUnreadable:
    """The error that rejects a window whose query did not finish (read again next run)."""
    return ObjectUnreadable(f"Lake query {outcome.query_id or '(not started)'} for {outcome.window}: "
                            f"{outcome.status}: {outcome.error}")


def _cancelled(settings: LakeSettings) -> str:
    if settings.timeout:
        return (f"cancelled: the run's queries did not finish within {settings.timeout:g} s; "
                "the window is queried again next run")
    return "cancelled by patchtrail"


def _statistics(stats: dict[str, Any]) -> dict[str, Any]:
    return {
        "events_matched": stats.get("EventsMatched"), "events_scanned": stats.get("EventsScanned"),
        "bytes_scanned": stats.get("BytesScanned"), "execution_ms": stats.get("ExecutionTimeInMillis"),
    }


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _error_text(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', 'Error')}: {error.get('Message', str(exc))}"
