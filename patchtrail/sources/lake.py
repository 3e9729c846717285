"""CloudTrail Lake as a source: run the extraction query per time window, page the results.

StartQuery -> DescribeQuery (polled with backoff) -> GetQueryResults (paged on NextToken,
1000 rows a page) -> raw items, streamed page by page so a result never sits whole in memory.

Queries for different windows and stores run concurrently in worker threads (below the
service's limit of 10). StartQuery's `MaxConcurrentQueriesException` backs off and retries;
throttling and 5xx are retried by botocore's standard retry mode. A window whose query ends
FAILED or TIMED_OUT is split in two and retried, down to `min_window`; after that it fails
with the service's ErrorMessage. An interrupt or the run timeout cancels running queries.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from patchtrail.errors import PatchtrailError, TransientError
from patchtrail.lake import queries
from patchtrail.sources.formats import ObjectError
from patchtrail.transient import is_transient
from transforms.flatten import RawItem

log = logging.getLogger("patchtrail")
SOURCE = "lake"
EXTRACT_QUERY = "extract_patch_compliance"
TERMINAL = {"FINISHED", "FAILED", "CANCELLED", "TIMED_OUT"}
#: Store-level errors: every window of the store fails the same way, so none is retried.
STORE_ERRORS = {"EventDataStoreNotFoundException", "InactiveEventDataStoreException",
                "EventDataStoreARNInvalidException", "AccessDeniedException",
                "OperationNotPermittedException", "UnsupportedOperationException",
                "NoManagementAccountSLRExistsException"}


class QueryTimeout(TransientError):
    """The run's queries did not finish within `LakeSettings.timeout`; they were cancelled."""


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


def make_client(*, endpoint_url: str | None = None, region: str | None = None,
                role_arn: str | None = None, sts_endpoint_url: str | None = None,
                max_attempts: int = 8) -> Any:
    """A CloudTrail client with botocore's standard retries, assuming `role_arn` if given."""
    config = Config(retries={"mode": "standard", "total_max_attempts": max_attempts},
                    user_agent_extra="patchtrail", connect_timeout=10, read_timeout=60)
    session = boto3.session.Session(region_name=region)
    if session.get_credentials() is None:
        error = PatchtrailError("no AWS credentials found for CloudTrail Lake")
        error.hint = ("Set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (for a local endpoint "
                      "any values do, e.g. testing/testing).")
        raise error
    if role_arn:
        sts = session.client("sts", endpoint_url=sts_endpoint_url, config=config)
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="patchtrail")["Credentials"]
        session = boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"], region_name=region)
    return session.client("cloudtrail", endpoint_url=endpoint_url, config=config)


def windows(store: Store, start: datetime, end: datetime, size: timedelta, *,
            max_windows: int | None = None) -> list[Window]:
    """Consecutive windows of at most `size` covering [start, end).

    Args:
        max_windows: the most windows (Lake queries) allowed; default the `lake_max_windows`
            setting (2000). A range that needs more raises InvalidInput naming the cap, the
            count and what to change, before any window is built.
    """
    from patchtrail.config import settings
    from patchtrail.errors import InvalidInput

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
    """Runs extraction queries for many windows at once; yields each window's outcome."""

    def __init__(self, clients: dict[str, Any], settings: LakeSettings,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.clients = clients              # store id -> cloudtrail client
        self.settings = settings
        self.sleep = sleep
        self.cancelled = threading.Event()
        self._running: dict[str, str] = {}  # query id -> store id
        self._lock = threading.Lock()

    def run(self, windows: list[Window]) -> Iterator[QueryOutcome]:
        """Outcomes in completion order. Interrupts and the timeout cancel running queries."""
        deadline = time.monotonic() + self.settings.timeout if self.settings.timeout else None
        pool = ThreadPoolExecutor(max_workers=max(1, min(self.settings.max_concurrency, 9)),
                                  thread_name_prefix="lake-query")
        futures: set[Future] = {pool.submit(self._window, w) for w in windows}
        try:
            while futures:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                done, futures = wait(futures, timeout=left, return_when=FIRST_COMPLETED)
                if not done:
                    raise QueryTimeout(f"Lake queries did not finish within {self.settings.timeout} s; "
                                         "running queries were cancelled")
                for future in done:
                    yield from future.result()
        except BaseException:
            self.cancel()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def cancel(self) -> None:
        """Stop waiting and cancel every query still running (CancelQuery)."""
        self.cancelled.set()
        with self._lock:
            running = dict(self._running)
        for query_id, store_id in running.items():
            try:
                self.clients[store_id].cancel_query(QueryId=query_id)
                log.warning("cancelled Lake query %s", query_id)
            except ClientError as exc:  # already finished: nothing to cancel
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
            except ClientError as exc:
                raise ObjectError(f"Lake query {outcome.query_id} ({outcome.window}): "
                                      f"GetQueryResults failed: {_error_text(exc)}") from exc
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

    def _window(self, window: Window) -> list[QueryOutcome]:
        outcome = self._query(window)
        if outcome.status in ("FAILED", "TIMED_OUT") and window.end - window.start > self.settings.min_window:
            log.warning("Lake query %s %s for %s: %s; splitting the window", outcome.query_id,
                        outcome.status, window, outcome.error)
            first, second = window.halves()
            outcome.split = True  # still reported: a failed query is billed for what it scanned
            return [outcome, *self._window(first), *self._window(second)]
        return [outcome]

    def _query(self, window: Window) -> QueryOutcome:
        client = self.clients[window.store.id]
        sql = queries.render(EXTRACT_QUERY, event_data_store=window.store.id,
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
                return QueryOutcome(window, query_id, "CANCELLED", error="cancelled by patchtrail")
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
